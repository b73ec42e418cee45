package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// agTestNode is one agent of a test cluster.
type agTestNode struct {
	id    string
	role  string
	voter bool
	a     *Agent
	trans *raft.NetworkTransport // voters only; owned by the test
}

// agTestSpec describes a test cluster: voters are shards; extra shards and
// proxies are non-voters.
type agTestSpec struct {
	voters, shards, proxies int
	partitions              int
	longPoll                time.Duration
}

// agTestAgentConfig is a loopback agent config with fast gossip and Raft.
func agTestAgentConfig(t *testing.T, id, role string, seeds []string) AgentConfig {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	return AgentConfig{
		Membership: MembershipConfig{
			Meta:        NodeMeta{ID: id, Role: role, RESPAddr: "127.0.0.1:7001", Zone: "z-" + id},
			BindAddr:    "127.0.0.1",
			Seeds:       seeds,
			Label:       "agent/" + t.Name(),
			Timing:      DefaultTiming(),
			JoinTimeout: 3 * time.Second,
			Logger:      logger,
		},
		ReconcileInterval: 200 * time.Millisecond,
		Logger:            logger,
	}
}

// agTestCluster starts the agents (voters first, all joining through the
// first) and closes them, then the Raft transports, at the end of the test.
func agTestCluster(t *testing.T, spec agTestSpec) []*agTestNode {
	t.Helper()
	var nodes []*agTestNode
	var voters []Voter
	for i := 0; i < spec.voters; i++ {
		tr, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, time.Second, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		n := &agTestNode{id: fmt.Sprintf("v%d", i), role: RoleShard, voter: true, trans: tr}
		nodes = append(nodes, n)
		voters = append(voters, Voter{ID: n.id, RaftAddr: string(tr.LocalAddr())})
	}
	for i := 0; i < spec.shards; i++ {
		nodes = append(nodes, &agTestNode{id: fmt.Sprintf("s%d", i), role: RoleShard})
	}
	for i := 0; i < spec.proxies; i++ {
		nodes = append(nodes, &agTestNode{id: fmt.Sprintf("p%d", i), role: RoleProxy})
	}
	t.Cleanup(func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			n := nodes[i]
			if n.a != nil {
				if err := n.a.Close(); err != nil {
					t.Errorf("close %s: %v", n.id, err)
				}
			}
			if n.trans != nil {
				_ = n.trans.Close()
			}
		}
	})
	var seeds []string
	for _, n := range nodes {
		cfg := agTestAgentConfig(t, n.id, n.role, seeds)
		cfg.MapLongPoll = spec.longPoll
		if n.voter {
			cc := ctlTestConfig(n.id)
			// Six agents under -race on a shared machine: leave Raft more
			// slack than the controller's own tests so leadership holds.
			cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout = 200*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
			if spec.partitions > 0 {
				cc.Partitions = spec.partitions
			}
			if len(voters) > 1 {
				cc.Voters = voters
			}
			cc.Transport = n.trans
			cfg.Controller = &cc
			cfg.MapAddr = "127.0.0.1:0"
		}
		a, err := StartAgent(cfg)
		if err != nil {
			t.Fatalf("StartAgent(%s): %v", n.id, err)
		}
		n.a = a
		if seeds == nil {
			seeds = []string{a.Membership().LocalMember().Addr}
		}
	}
	return nodes
}

// agKill stops n like a crash: no Leave, Raft transport closed.
func agKill(t *testing.T, n *agTestNode) {
	t.Helper()
	if err := n.a.agStop(false); err != nil {
		t.Errorf("stop %s: %v", n.id, err)
	}
	if n.trans != nil {
		_ = n.trans.Close()
	}
}

// agWaitFor polls cond every few milliseconds until it holds or d passes.
func agWaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// agLeader returns the voter whose controller leads.
func agLeader(t *testing.T, nodes []*agTestNode) *agTestNode {
	t.Helper()
	var lead *agTestNode
	agWaitFor(t, 5*time.Second, "a controller leader", func() bool {
		for _, n := range nodes {
			if n.voter && n.a.ctx.Err() == nil && n.a.Controller().IsLeader() {
				lead = n
				return true
			}
		}
		return false
	})
	return lead
}

// agShards is the number of shard nodes.
func agShards(nodes []*agTestNode) int {
	k := 0
	for _, n := range nodes {
		if n.role == RoleShard {
			k++
		}
	}
	return k
}

// agFull reports whether s has every shard up and every partition mastered
// with RF replicas.
func agFull(s State, shards int) bool {
	if !s.Bootstrapped() || len(s.Nodes) != shards {
		return false
	}
	for _, n := range s.Nodes {
		if !n.Up {
			return false
		}
	}
	for _, ps := range s.Parts {
		if ps.Master == "" || len(ps.target()) != min(s.RF, shards) {
			return false
		}
	}
	return true
}

// agConverge waits until every agent holds the leader's state and it is
// full, and returns that state.
func agConverge(t *testing.T, nodes []*agTestNode, d time.Duration) State {
	t.Helper()
	var s State
	agWaitFor(t, d, "every agent holding the same full map", func() bool {
		s = State{}
		for _, n := range nodes {
			if n.voter && n.a.Controller().IsLeader() {
				s = n.a.Controller().State()
			}
		}
		if !agFull(s, agShards(nodes)) {
			return false
		}
		for _, n := range nodes {
			if n.a.State().Epoch != s.Epoch {
				return false
			}
		}
		return true
	})
	for _, n := range nodes {
		if got, want := ctlJSON(t, n.a.State()), ctlJSON(t, s); got != want {
			t.Fatalf("%s holds another map at epoch %d:\n%s\nwant\n%s", n.id, s.Epoch, got, want)
		}
	}
	return s
}

// agReportAllInSync plays the shards' part: it reports every placed
// replica in sync, as shards do once they have caught up, so that failover
// has in-sync followers to promote.
func agReportAllInSync(t *testing.T, nodes []*agTestNode) {
	t.Helper()
	lead := agLeader(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		s := lead.a.Controller().State()
		var cmd Command
		for p, ps := range s.Parts {
			for _, r := range ps.Replicas {
				if ps.Master != "" && s.Nodes[r].Up && !slices.Contains(ps.InSync, r) {
					cmd = InSync{Partition: p, Node: r, PartEpoch: ps.Epoch}
					break
				}
			}
			if h, ok := stHandoff(s, p); ok && cmd == nil {
				cmd = h // and the masters' part: hand over to the designate
			}
			if cmd != nil {
				break
			}
		}
		if cmd == nil {
			return
		}
		if _, err := lead.a.Controller().Propose(ctx, cmd); err != nil {
			// Leadership can move under a loaded machine; report to the
			// new leader (a repeated report is refused as stale, harmlessly).
			if errors.Is(err, ErrStaleEpoch) {
				continue // an earlier try committed after all
			}
			if !errors.Is(err, ErrNotLeader) || ctx.Err() != nil {
				t.Fatalf("%T %+v: %v", cmd, cmd, err)
			}
			t.Logf("%T %+v: %v; asking the new leader", cmd, cmd, err)
			lead = agLeader(t, nodes)
		}
	}
}

// TestAgentFailoverReachesEveryAgent starts 3 voters and 2 more shards (5
// shards) and a proxy, and crashes a shard that masters partitions: every
// other agent must adopt a map where it is down and each of its partitions
// is mastered by a copy that was in sync.
//
// The controller marks a partition's first replicas in sync only when the
// partition gets its first master, i.e. at the first NodeUp, when the
// cluster has one node; the nodes that join later start out of sync and
// count only after an InSync report. No data is replicated here, so the
// test sends those reports itself (agReportAllInSync) before the crash.
func TestAgentFailoverReachesEveryAgent(t *testing.T) {
	nodes := agTestCluster(t, agTestSpec{voters: 3, shards: 2, proxies: 1, partitions: 16})
	start := time.Now()
	s0 := agConverge(t, nodes, 10*time.Second)
	t.Logf("6 agents converged on epoch %d (5 shards, RF %d) in %s", s0.Epoch, s0.RF, time.Since(start).Round(time.Millisecond))

	// Before the reports, only the first shard is in sync anywhere.
	for p, ps := range s0.Parts {
		if len(ps.InSync) != 1 {
			t.Fatalf("partition %d: in-sync set %v before any InSync report, want only the first shard", p, ps.InSync)
		}
	}
	// A member stalled by a loaded machine can be declared dead and come
	// back, out of sync again; report until a converged map is all in sync.
	var before State
	deadline := time.Now().Add(10 * time.Second)
	for {
		agReportAllInSync(t, nodes)
		before = agConverge(t, nodes, 5*time.Second)
		bad := slices.IndexFunc(before.Parts, func(ps PartState) bool {
			return len(ps.InSync) != 3 || ps.Master != ps.Replicas[0]
		})
		if bad < 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition %d after InSync reports: %+v", bad, before.Parts[bad])
		}
		t.Logf("partition %d not all in sync after the reports (a member flapped?): %+v; reporting again", bad, before.Parts[bad])
	}
	lead := agLeader(t, nodes)

	// Crash the non-voter shard that masters the most partitions.
	var victim *agTestNode
	var mastered []int
	for _, n := range nodes {
		if n.voter || n.role != RoleShard {
			continue
		}
		var ps []int
		for p, part := range before.Parts {
			if part.Master == n.id {
				ps = append(ps, p)
			}
		}
		if len(ps) > len(mastered) {
			victim, mastered = n, ps
		}
	}
	if victim == nil {
		t.Fatalf("no non-voter shard masters a partition: %s", ctlJSON(t, before))
	}
	var rest []*agTestNode
	for _, n := range nodes {
		if n != victim {
			rest = append(rest, n)
		}
	}
	t.Logf("crashing %s, master of partitions %v", victim.id, mastered)
	killed := time.Now()
	agKill(t, victim)

	var detected, everywhere time.Time
	agWaitFor(t, 5*time.Second, "every agent holding a map with "+victim.id+" down", func() bool {
		now := time.Now()
		if detected.IsZero() && !slices.ContainsFunc(lead.a.Membership().Members(), func(m Member) bool { return m.ID == victim.id }) {
			detected = now
		}
		for _, n := range rest {
			if n.a.State().Nodes[victim.id].Up {
				return false
			}
		}
		everywhere = now
		return true
	})
	if detected.IsZero() {
		detected = everywhere
	}
	total := everywhere.Sub(killed)
	t.Logf("crash → failure detected by leader %s: %s; detected → new map on all %d agents: %s; total %s",
		lead.id, detected.Sub(killed).Round(time.Millisecond), len(rest),
		everywhere.Sub(detected).Round(time.Millisecond), total.Round(time.Millisecond))
	if total > 3*time.Second {
		t.Errorf("new map reached every agent %s after the crash, want < 3s", total)
	}

	for _, n := range rest {
		s := n.a.State()
		if s.Epoch <= before.Epoch {
			t.Errorf("%s: epoch %d, want > %d", n.id, s.Epoch, before.Epoch)
		}
		for _, p := range mastered {
			ps, was := s.Parts[p], before.Parts[p]
			if ps.Master == "" || ps.Master == victim.id || !slices.Contains(was.InSync, ps.Master) {
				t.Errorf("%s: partition %d master %q, want a member of its former in-sync set %v other than %s",
					n.id, p, ps.Master, was.InSync, victim.id)
			}
			if ps.Epoch <= was.Epoch {
				t.Errorf("%s: partition %d epoch %d did not move past %d", n.id, p, ps.Epoch, was.Epoch)
			}
		}
		for p, ps := range s.Parts {
			if slices.Contains(ps.InSync, victim.id) {
				t.Errorf("%s: partition %d still counts %s in sync", n.id, p, victim.id)
			}
		}
	}
}

// TestAgentFollowerSwitchesVoter crashes the voter a proxy fetches the map
// from; the proxy must move to another voter and still learn the map that
// records the crash.
func TestAgentFollowerSwitchesVoter(t *testing.T) {
	nodes := agTestCluster(t, agTestSpec{voters: 3, proxies: 1})
	agConverge(t, nodes, 10*time.Second)
	proxy := nodes[len(nodes)-1]
	var old string
	agWaitFor(t, time.Second, "the proxy choosing a voter", func() bool {
		if p := proxy.a.target.Load(); p != nil {
			old = *p
		}
		return old != ""
	})
	var victim *agTestNode
	for _, n := range nodes {
		if n.voter && n.a.MapAddr() == old {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("proxy polls %q, which is no voter's map address", old)
	}
	t.Logf("crashing %s, whose map endpoint the proxy polls", victim.id)
	killed := time.Now()
	agKill(t, victim)
	agWaitFor(t, 5*time.Second, "the proxy's map showing "+victim.id+" down", func() bool {
		n, ok := proxy.a.State().Nodes[victim.id]
		return ok && !n.Up
	})
	t.Logf("proxy learnt of the crash through another voter after %s", time.Since(killed).Round(time.Millisecond))
	if now := *proxy.a.target.Load(); now == old {
		t.Errorf("proxy still targets the dead voter %s", old)
	}
}

// TestAgentMapEndpoint checks the HTTP contract of GET /map on a
// one-voter cluster, and that a held long-poll returns as soon as a newer
// map exists.
func TestAgentMapEndpoint(t *testing.T) {
	nodes := agTestCluster(t, agTestSpec{voters: 1, longPoll: 300 * time.Millisecond})
	s := agConverge(t, nodes, 5*time.Second)
	base := "http://" + nodes[0].a.MapAddr() + "/map"

	get := func(url string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	resp, body := get(base)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(MapEpochHeader) != strconv.FormatUint(s.Epoch, 10) {
		t.Fatalf("GET /map: %s, epoch header %q, want 200 and %d", resp.Status, resp.Header.Get(MapEpochHeader), s.Epoch)
	}
	var got State
	if err := json.Unmarshal(body, &got); err != nil || ctlJSON(t, got) != ctlJSON(t, s) {
		t.Fatalf("GET /map body %s (err %v), want %s", body, err, ctlJSON(t, s))
	}

	t0 := time.Now()
	resp, _ = get(base + "?after=" + strconv.FormatUint(s.Epoch, 10))
	if d := time.Since(t0); resp.StatusCode != http.StatusNoContent || d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("GET /map?after=current: %s after %s, want 204 after the 300ms long-poll", resp.Status, d)
	}
	if resp, _ = get(base + "?after=x"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /map?after=x: %s, want 400", resp.Status)
	}
	pr, err := http.Post(base, "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /map: %s, want 405", pr.Status)
	}

	// A long-poll held open returns the next map as soon as it exists:
	// here a shard joining (a non-voter agent, which must pick it up too).
	type answer struct {
		epoch string
		err   error
		at    time.Time
	}
	ch := make(chan answer, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &http.Client{Timeout: 5 * time.Second}
		for {
			resp, err := c.Get(base + "?after=" + strconv.FormatUint(s.Epoch, 10))
			if err != nil {
				ch <- answer{err: err}
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ch <- answer{epoch: resp.Header.Get(MapEpochHeader), at: time.Now()}
				return
			}
		}
	}()
	t.Cleanup(wg.Wait)
	cfg := agTestAgentConfig(t, "s9", RoleShard, []string{nodes[0].a.Membership().LocalMember().Addr})
	shard, err := StartAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shard.Close() })
	var newer uint64
	agWaitFor(t, 5*time.Second, "the new shard in the voter's map", func() bool {
		st := nodes[0].a.State()
		newer = st.Epoch
		return st.Nodes["s9"].Up
	})
	changed := time.Now()
	select {
	case ans := <-ch:
		if ans.err != nil {
			t.Fatal(ans.err)
		}
		if e, _ := strconv.ParseUint(ans.epoch, 10, 64); e <= s.Epoch {
			t.Errorf("held long-poll answered epoch %s, want > %d", ans.epoch, s.Epoch)
		}
		t.Logf("held long-poll answered %s after the map changed", ans.at.Sub(changed).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatal("held long-poll did not answer the newer map")
	}
	agWaitFor(t, 3*time.Second, "the new shard's own agent adopting the map", func() bool {
		return shard.State().Epoch >= newer
	})
}

// TestAgentAdminHandler checks that paths other than /map go to the
// configured admin handler and that the map address is advertised.
func TestAgentAdminHandler(t *testing.T) {
	tr, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	cfg := agTestAgentConfig(t, "v0", RoleShard, nil)
	cc := ctlTestConfig("")
	cc.Transport = tr
	cfg.Controller, cfg.MapAddr = &cc, "127.0.0.1:0"
	cfg.AdminHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "admin "+r.URL.Path)
	})
	a, err := StartAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	meta := a.Membership().LocalMember().Meta
	if meta.AdminAddr != a.MapAddr() || meta.RaftAddr != string(tr.LocalAddr()) || strings.HasSuffix(a.MapAddr(), ":0") {
		t.Errorf("advertised AdminAddr %q RaftAddr %q, want map address %q and Raft address %q", meta.AdminAddr, meta.RaftAddr, a.MapAddr(), tr.LocalAddr())
	}
	resp, err := http.Get("http://" + a.MapAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "admin /metrics" {
		t.Errorf("GET /metrics = %q, want the admin handler's answer", b)
	}
}

// TestAgentClosePrompt closes agents while long-polls are held open, on
// both sides of the connection, with the default 10 s long-poll.
func TestAgentClosePrompt(t *testing.T) {
	nodes := agTestCluster(t, agTestSpec{voters: 1, proxies: 1})
	s := agConverge(t, nodes, 5*time.Second)
	voter, proxy := nodes[0], nodes[1]
	agWaitFor(t, 3*time.Second, "the proxy's long-poll held by the voter", func() bool {
		return voter.a.holding.Load() >= 1
	})
	t0 := time.Now()
	if err := proxy.a.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("closing the polling proxy took %s", d)
	}
	agWaitFor(t, 3*time.Second, "the voter noticing the proxy's poll ended", func() bool {
		return voter.a.holding.Load() == 0
	})

	// A poll held by the voter when it closes ends at once.
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + voter.a.MapAddr() + "/map?after=" + strconv.FormatUint(s.Epoch, 10))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	agWaitFor(t, 3*time.Second, "a long-poll held by the voter", func() bool {
		return voter.a.holding.Load() >= 1
	})
	t0 = time.Now()
	if err := voter.a.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("closing the voter with a held long-poll took %s", d)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("the held long-poll did not end when the voter closed")
	}
	if err := voter.a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestAgentAdoptNeverGoesBack checks the adoption rule: only newer epochs,
// whatever order concurrent adoptions run in, with a watcher notified.
func TestAgentAdoptNeverGoesBack(t *testing.T) {
	a := &Agent{log: slog.New(slog.DiscardHandler), watchers: make(map[chan struct{}]struct{})}
	a.snap.Store(&agSnap{})
	ch, stop := a.Watch()
	defer stop()
	if !a.agAdopt(State{Epoch: 5}) {
		t.Fatal("epoch 5 over 0 not adopted")
	}
	select {
	case <-ch:
	default:
		t.Error("watcher not notified of a newer state")
	}
	for _, e := range []uint64{5, 3, 0} {
		if a.agAdopt(State{Epoch: e, RF: 9}) {
			t.Errorf("epoch %d adopted over 5", e)
		}
	}
	select {
	case <-ch:
		t.Error("watcher notified of a refused state")
	default:
	}
	if s := a.State(); s.Epoch != 5 || s.RF != 0 {
		t.Errorf("state %+v, want epoch 5 unchanged", s)
	}

	var wg sync.WaitGroup
	stopRead := make(chan struct{})
	backwards := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := uint64(0)
		for {
			select {
			case <-stopRead:
				return
			default:
			}
			if e := a.State().Epoch; e < last {
				select {
				case backwards <- fmt.Sprintf("%d after %d", e, last):
				default:
				}
			} else {
				last = e
			}
		}
	}()
	var writers sync.WaitGroup
	for w := 0; w < 4; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for e := uint64(200); e > 0; e-- {
				a.agAdopt(State{Epoch: e + uint64(w)})
			}
		}()
	}
	writers.Wait()
	close(stopRead)
	wg.Wait()
	select {
	case msg := <-backwards:
		t.Errorf("State went back: epoch %s", msg)
	default:
	}
	if e := a.State().Epoch; e != 203 {
		t.Errorf("final epoch %d, want 203", e)
	}
}

// TestAgentDecodeMap checks what a follower refuses from a map endpoint.
func TestAgentDecodeMap(t *testing.T) {
	good, err := State{}.Apply(Bootstrap{RF: 1, MinInSync: 1, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	good, err = good.Apply(NodeUp{Node: NodeInfo{ID: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := json.Marshal(good)
	epoch := strconv.FormatUint(good.Epoch, 10)
	if s, err := agDecodeMap(enc, epoch); err != nil || s.Epoch != good.Epoch {
		t.Fatalf("good map: %+v, %v", s, err)
	}
	broken := good.Clone()
	broken.Parts[0].Master = "nobody"
	brokenEnc, _ := json.Marshal(broken)
	empty, _ := json.Marshal(State{})
	for _, c := range []struct {
		name   string
		body   []byte
		header string
	}{
		{"header mismatch", enc, "1"},
		{"no header", enc, ""},
		{"not json", []byte("{"), epoch},
		{"invalid state", brokenEnc, epoch},
		{"unbootstrapped", empty, "0"},
	} {
		if _, err := agDecodeMap(c.body, c.header); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// TestAgentConfigErrors checks that the voter-only fields go together.
func TestAgentConfigErrors(t *testing.T) {
	cfg := agTestAgentConfig(t, "x", RoleShard, nil)
	cfg.MapAddr = "127.0.0.1:0"
	if _, err := StartAgent(cfg); err == nil || !strings.Contains(err.Error(), "MapAddr") {
		t.Errorf("MapAddr without Controller: %v", err)
	}
	cfg = agTestAgentConfig(t, "x", RoleShard, nil)
	cc := ctlTestConfig("x")
	cc.RaftAddr = "127.0.0.1:1"
	cfg.Controller = &cc
	if _, err := StartAgent(cfg); err == nil || !strings.Contains(err.Error(), "MapAddr") {
		t.Errorf("Controller without MapAddr: %v", err)
	}
	cfg.MapAddr = "127.0.0.1:0"
	cc.ID = "y"
	if _, err := StartAgent(cfg); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("controller ID differing from node ID: %v", err)
	}
}
