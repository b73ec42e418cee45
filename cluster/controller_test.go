package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// ctlTestConfig is a controller config with Raft timeouts small enough for
// elections in a few hundred milliseconds.
func ctlTestConfig(id string) ControllerConfig {
	return ControllerConfig{
		ID:                 id,
		RF:                 3,
		MinInSync:          2,
		Partitions:         16,
		ReplaceAfter:       time.Minute,
		ApplyTimeout:       2 * time.Second,
		HeartbeatTimeout:   80 * time.Millisecond,
		ElectionTimeout:    80 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
		LeaseDuration:      -1, // TestControllerLeaseDefersNodeDown covers leases
		Logger:             slog.New(slog.DiscardHandler),
	}
}

// ctlNet is a group of controllers wired over in-memory transports.
type ctlNet struct {
	t     *testing.T
	ctls  []*Controller
	trans []*raft.InmemTransport
	addrs []raft.ServerAddress
}

func newCtlNet(t *testing.T, n int) *ctlNet {
	t.Helper()
	net := &ctlNet{t: t}
	var voters []Voter
	for i := 0; i < n; i++ {
		addr, tr := raft.NewInmemTransportWithTimeout(raft.ServerAddress(fmt.Sprintf("ctl-%d", i)), 200*time.Millisecond)
		net.trans = append(net.trans, tr)
		net.addrs = append(net.addrs, addr)
		voters = append(voters, Voter{ID: fmt.Sprintf("n%d", i), RaftAddr: string(addr)})
	}
	net.heal()
	for i := 0; i < n; i++ {
		cfg := ctlTestConfig(voters[i].ID)
		cfg.Voters = voters
		cfg.Transport = net.trans[i]
		c, err := NewController(cfg)
		if err != nil {
			t.Fatal(err)
		}
		net.ctls = append(net.ctls, c)
	}
	t.Cleanup(func() {
		for i, c := range net.ctls {
			if err := c.Close(); err != nil {
				t.Errorf("close %d: %v", i, err)
			}
			_ = net.trans[i].Close()
		}
	})
	return net
}

// heal connects every transport to every other.
func (n *ctlNet) heal() {
	for i, a := range n.trans {
		for j, b := range n.trans {
			if i != j {
				a.Connect(n.addrs[j], b)
			}
		}
	}
}

// isolate cuts replica i off from the others in both directions.
func (n *ctlNet) isolate(i int) {
	n.trans[i].DisconnectAll()
	for j, tr := range n.trans {
		if j != i {
			tr.Disconnect(n.addrs[i])
		}
	}
}

// leader waits for exactly one leader among the replicas not excluded.
func (n *ctlNet) leader(exclude ...int) int {
	n.t.Helper()
	found := -1
	ctlWaitFor(n.t, 5*time.Second, "a single leader", func() bool {
		found = -1
		for i, c := range n.ctls {
			if slices.Contains(exclude, i) || !c.IsLeader() {
				continue
			}
			if found >= 0 {
				return false
			}
			found = i
		}
		return found >= 0
	})
	return found
}

// ctlWaitFor polls cond until it holds or the deadline passes.
func ctlWaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctlJSON(t *testing.T, s State) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ctlSame waits until the given replicas hold identical states at epoch at
// least min.
func ctlSame(t *testing.T, ctls []*Controller, minEpoch uint64) State {
	t.Helper()
	var s State
	ctlWaitFor(t, 5*time.Second, fmt.Sprintf("replicas to agree at epoch >= %d", minEpoch), func() bool {
		s = ctls[0].State()
		if s.Epoch < minEpoch {
			return false
		}
		want := ctlJSON(t, s)
		for _, c := range ctls[1:] {
			if ctlJSON(t, c.State()) != want {
				return false
			}
		}
		return true
	})
	return s
}

func ctlCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func ctlNode(id string) NodeUp {
	return NodeUp{Node: NodeInfo{ID: id, RESPAddr: "127.0.0.1:1" + id}}
}

func TestControllerConfigErrors(t *testing.T) {
	_, tr := raft.NewInmemTransport("")
	for name, cfg := range map[string]ControllerConfig{
		"no ID":        {Transport: tr},
		"no address":   {ID: "a"},
		"bad shape":    {ID: "a", Transport: tr, RF: 2, MinInSync: 3},
		"bad voters":   {ID: "a", Transport: tr, Voters: []Voter{{ID: "a"}}},
		"dup voters":   {ID: "a", Transport: tr, Voters: []Voter{{ID: "a", RaftAddr: "x"}, {ID: "a", RaftAddr: "y"}}},
		"partitions 3": {ID: "a", Transport: tr, Partitions: 3},
	} {
		if c, err := NewController(cfg); err == nil {
			_ = c.Close()
			t.Errorf("%s: no error", name)
		}
	}
}

func TestControllerThreeVotersAgree(t *testing.T) {
	net := newCtlNet(t, 3)
	l := net.leader()
	// The leader bootstraps the state by itself.
	s := ctlSame(t, net.ctls, 1)
	if !s.Bootstrapped() || s.RF != 3 || s.Partitions != 16 || s.MinInSync != 2 || s.ReplaceAfterMS != 60_000 {
		t.Fatalf("bootstrapped state %+v", s)
	}
	follower := net.ctls[(l+1)%3]
	watch, stop := follower.Watch()
	defer stop()

	ctx := ctlCtx(t, 5*time.Second)
	var last State
	for _, id := range []string{"a", "b", "c"} {
		var err error
		last, err = net.ctls[l].Propose(ctx, ctlNode(id))
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(last.Nodes) != 3 || last.Parts[0].Master == "" {
		t.Fatalf("state after proposals %+v", last)
	}
	select {
	case <-watch:
	case <-ctx.Done():
		t.Fatal("no change notification on a follower")
	}
	got := ctlSame(t, net.ctls, last.Epoch)
	if got.Epoch != last.Epoch || ctlJSON(t, got) != ctlJSON(t, last) {
		t.Fatalf("replicas hold epoch %d, leader returned %d", got.Epoch, last.Epoch)
	}
	// A refused command is reported to the proposer and changes nothing.
	p := last.Parts[0]
	if _, err := net.ctls[l].Propose(ctx, InSync{Partition: 0, Node: p.Replicas[1], PartEpoch: p.Epoch + 100}); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("stale InSync: %v", err)
	}
	if net.ctls[l].State().Epoch != last.Epoch {
		t.Fatal("a refused command changed the epoch")
	}
}

func TestControllerFollowerProposeIsNotLeader(t *testing.T) {
	net := newCtlNet(t, 3)
	l := net.leader()
	f := net.ctls[(l+1)%3]
	ctlWaitFor(t, 5*time.Second, "the follower to learn the leader", func() bool { id, _ := f.Leader(); return id != "" })
	_, err := f.Propose(ctlCtx(t, time.Second), ctlNode("a"))
	var nl *NotLeaderError
	if !errors.Is(err, ErrNotLeader) || !errors.As(err, &nl) {
		t.Fatalf("Propose on a follower: %v", err)
	}
	if nl.LeaderID != net.ctls[l].cfg.ID || nl.LeaderAddr != string(net.addrs[l]) {
		t.Errorf("NotLeaderError names %s at %s, leader is %s at %s", nl.LeaderID, nl.LeaderAddr, net.ctls[l].cfg.ID, net.addrs[l])
	}
	if _, err := f.Reconcile(ctlCtx(t, time.Second), map[string]NodeInfo{"a": {}}, time.Now()); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Reconcile on a follower: %v", err)
	}
}

func TestControllerLeaderFailover(t *testing.T) {
	net := newCtlNet(t, 3)
	l := net.leader()
	ctx := ctlCtx(t, 10*time.Second)
	var before State
	for _, id := range []string{"a", "b", "c"} {
		var err error
		if before, err = net.ctls[l].Propose(ctx, ctlNode(id)); err != nil {
			t.Fatal(err)
		}
	}
	var rest []*Controller
	for i, c := range net.ctls {
		if i != l {
			rest = append(rest, c)
		}
	}
	ctlSame(t, rest, before.Epoch)

	if err := net.ctls[l].Close(); err != nil {
		t.Fatal(err)
	}
	net.isolate(l)
	nl := net.leader(l)
	if got := net.ctls[nl].State(); ctlJSON(t, got) != ctlJSON(t, before) {
		t.Fatalf("new leader's state differs: epoch %d, want %d", got.Epoch, before.Epoch)
	}
	// The new leader promotes: the old node "a" fails over.
	after, err := net.ctls[nl].Propose(ctx, NodeDown{ID: "a", AtMS: 1})
	if err != nil {
		t.Fatal(err)
	}
	if after.Epoch != before.Epoch+1 || after.Nodes["a"].Up {
		t.Fatalf("after failover epoch %d, node a %+v", after.Epoch, after.Nodes["a"])
	}
	ctlSame(t, rest, after.Epoch)
	if _, err := net.ctls[l].Propose(ctx, ctlNode("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Propose on a closed controller: %v", err)
	}
}

func TestControllerMinorityCannotCommit(t *testing.T) {
	net := newCtlNet(t, 3)
	l := net.leader()
	ctx := ctlCtx(t, 10*time.Second)
	base, err := net.ctls[l].Propose(ctx, ctlNode("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctlSame(t, net.ctls, base.Epoch)

	// Cut the leader off: it is a minority of one.
	net.isolate(l)
	short, cancel := context.WithTimeout(ctx, time.Second)
	_, err = net.ctls[l].Propose(short, ctlNode("minority"))
	cancel()
	if err == nil {
		t.Fatal("an isolated leader committed a command")
	}
	t.Logf("isolated leader's Propose: %v", err)
	if !errors.Is(err, ErrNotLeader) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("isolated Propose: unexpected error %v", err)
	}
	if _, ok := net.ctls[l].State().Nodes["minority"]; ok {
		t.Fatal("the minority side applied its command")
	}

	// The majority elects a leader of its own and goes on deciding.
	nl := net.leader(l)
	maj, err := net.ctls[nl].Propose(ctx, ctlNode("majority"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := maj.Nodes["minority"]; ok {
		t.Fatal("the minority's command reached the majority")
	}

	// Once healed, the old leader follows the majority's log; the command it
	// never committed is gone for good.
	net.heal()
	s := ctlSame(t, net.ctls, maj.Epoch)
	if _, ok := s.Nodes["majority"]; !ok {
		t.Fatal("majority command lost")
	}
	if _, ok := s.Nodes["minority"]; ok {
		t.Fatal("minority command applied after healing")
	}
}

func TestControllerSingleVoterDev(t *testing.T) {
	cfg := ctlTestConfig("dev")
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.RF, cfg.MinInSync = 1, 1
	c, err := NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctlWaitFor(t, 5*time.Second, "leadership", c.IsLeader)
	ctx := ctlCtx(t, 5*time.Second)
	s, err := c.Propose(ctx, ctlNode("a"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Bootstrapped() || s.RF != 1 || len(s.Nodes) != 1 {
		t.Fatalf("state %+v", s)
	}
	for p := range s.Parts {
		if !s.CanWrite(p) || s.Parts[p].Master != "a" {
			t.Fatalf("partition %d: %+v", p, s.Parts[p])
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestControllerRestartRecoversFromDisk(t *testing.T) {
	dir := t.TempDir()
	start := func() *Controller {
		cfg := ctlTestConfig("solo")
		cfg.DataDir = dir
		_, tr := raft.NewInmemTransport("solo-addr")
		cfg.Transport = tr
		c, err := NewController(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := start()
	ctlWaitFor(t, 5*time.Second, "leadership", c.IsLeader)
	ctx := ctlCtx(t, 10*time.Second)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := c.Propose(ctx, ctlNode(id)); err != nil {
			t.Fatal(err)
		}
	}
	// Part of the state comes back from a snapshot, the rest from the log.
	if err := c.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	s := c.State()
	p := s.Parts[0]
	want, err := c.Propose(ctx, InSync{Partition: 0, Node: p.Replicas[1], PartEpoch: p.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	if want, err = c.Propose(ctx, NodeDown{ID: "c", AtMS: 77}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c = start()
	defer c.Close()
	ctlWaitFor(t, 5*time.Second, "the state to be recovered", func() bool { return c.State().Epoch == want.Epoch })
	if got := c.State(); ctlJSON(t, got) != ctlJSON(t, want) {
		t.Fatalf("recovered state differs:\n%s\n%s", ctlJSON(t, got), ctlJSON(t, want))
	}
	ctlWaitFor(t, 5*time.Second, "leadership", c.IsLeader)
	next, err := c.Propose(ctx, NodeUp{Node: want.Nodes["c"]})
	if err != nil {
		t.Fatal(err)
	}
	if next.Epoch != want.Epoch+1 || !next.Nodes["c"].Up {
		t.Fatalf("after restart: epoch %d, c %+v", next.Epoch, next.Nodes["c"])
	}
}

func TestControllerReconcileIdempotent(t *testing.T) {
	cfg := ctlTestConfig("solo")
	_, tr := raft.NewInmemTransport("")
	cfg.Transport = tr
	c, err := NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctlWaitFor(t, 5*time.Second, "leadership", c.IsLeader)
	ctx := ctlCtx(t, 10*time.Second)
	now := time.UnixMilli(1_000_000)
	alive := map[string]NodeInfo{
		"a": {RESPAddr: "127.0.0.1:1"}, "b": {RESPAddr: "127.0.0.1:2"}, "c": {RESPAddr: "127.0.0.1:3"},
	}
	steps := []struct {
		name  string
		edit  func()
		at    time.Duration
		want  int
		check func(State) error
	}{
		{"join", func() {}, 0, 3, func(s State) error {
			if len(s.Nodes) != 3 {
				return fmt.Errorf("nodes %v", s.Nodes)
			}
			return nil
		}},
		{"b fails", func() { delete(alive, "b") }, time.Second, 1, func(s State) error {
			if n := s.Nodes["b"]; n.Up || n.DownSinceMS != now.Add(time.Second).UnixMilli() {
				return fmt.Errorf("b %+v", n)
			}
			return nil
		}},
		{"grace not over", func() {}, 30 * time.Second, 0, nil},
		{"grace over", func() {}, 61 * time.Second, 1, func(s State) error {
			if _, ok := s.Nodes["b"]; ok {
				return errors.New("b still placed")
			}
			return nil
		}},
		{"b returns as new", func() { alive["b"] = NodeInfo{RESPAddr: "127.0.0.1:2"} }, 62 * time.Second, 1, nil},
	}
	for _, st := range steps {
		st.edit()
		n, err := c.Reconcile(ctx, alive, now.Add(st.at))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n != st.want {
			t.Fatalf("%s: %d commands, want %d", st.name, n, st.want)
		}
		if st.check != nil {
			if err := st.check(c.State()); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		epoch := c.State().Epoch
		if n, err := c.Reconcile(ctx, alive, now.Add(st.at)); err != nil || n != 0 || c.State().Epoch != epoch {
			t.Fatalf("%s: repeated Reconcile committed %d (err %v), epoch %d -> %d", st.name, n, err, epoch, c.State().Epoch)
		}
	}
}

func TestControllerRaftLogsGoToSlog(t *testing.T) {
	var buf strings.Builder
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := ctlNewHclog(l, "raft").Named("peer").With("term", 3)
	if h.Name() != "raft.peer" || !h.IsWarn() || h.IsInfo() || h.IsDebug() {
		t.Fatalf("name %q, levels warn=%v info=%v", h.Name(), h.IsWarn(), h.IsInfo())
	}
	h.Info("chatty election detail")
	h.Warn("heartbeat failed", "peer", "n2")
	out := buf.String()
	if strings.Contains(out, "chatty") {
		t.Errorf("Raft's Info lines must go out at Debug: %q", out)
	}
	for _, want := range []string{"heartbeat failed", "logger=raft.peer", "term=3", "peer=n2", "level=WARN"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	h.StandardLogger(nil).Print("via log.Logger")
	if strings.Contains(buf.String(), "via log.Logger") {
		t.Error("standard logger output must be Debug")
	}
}

// TestControllerLeaseDefersNodeDown: a node's partitions are not given to
// others while a lease the leader granted it may still run, nor within a
// lease duration of the leader's election (its predecessor's grants are
// unknown to it); a lease is granted only to nodes up in the map, and only
// by the leader.
func TestControllerLeaseDefersNodeDown(t *testing.T) {
	const lease = 400 * time.Millisecond
	cfg := ctlTestConfig("solo")
	cfg.LeaseDuration = lease
	_, tr := raft.NewInmemTransport("")
	cfg.Transport = tr
	c, err := NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctlWaitFor(t, 5*time.Second, "leadership", c.IsLeader)
	elected := time.Now()
	ctx := ctlCtx(t, 10*time.Second)
	alive := map[string]NodeInfo{
		"a": {RESPAddr: "127.0.0.1:1"}, "b": {RESPAddr: "127.0.0.1:2"}, "c": {RESPAddr: "127.0.0.1:3"},
	}
	if _, err := c.Reconcile(ctx, alive, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GrantLease("nobody", ""); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("lease for a node not in the map: %v", err)
	}
	// Past the election wait, b's own lease is what holds its NodeDown.
	ctlWaitFor(t, 5*time.Second, "the election's lease wait", func() bool { return time.Since(elected) > lease })
	granted := time.Now()
	d, err := c.GrantLease("b", "")
	if err != nil || d != lease {
		t.Fatalf("GrantLease(b) = %v, %v", d, err)
	}
	delete(alive, "b")
	n, err := c.Reconcile(ctx, alive, time.Now())
	if err != nil || n != 0 {
		t.Fatalf("Reconcile while b's lease runs committed %d (err %v), want 0", n, err)
	}
	if until := c.DeferredDownUntil(); until.Before(granted.Add(lease)) || until.After(granted.Add(lease+time.Second)) {
		t.Fatalf("NodeDown deferred until %v, want about %v", until, granted.Add(lease))
	}
	if !c.State().Nodes["b"].Up {
		t.Fatal("b marked down while its lease ran")
	}
	ctlWaitFor(t, 5*time.Second, "b's lease to end", func() bool { return time.Now().After(c.DeferredDownUntil()) })
	if n, err := c.Reconcile(ctx, alive, time.Now()); err != nil || n != 1 || c.State().Nodes["b"].Up {
		t.Fatalf("Reconcile after b's lease ended committed %d (err %v), b up %v", n, err, c.State().Nodes["b"].Up)
	}
	if _, err := c.GrantLease("b", ""); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("lease for a node marked down: %v", err)
	}
}

// TestControllerManualRebalance: a cluster created with ManualRebalance
// starts with moves paused; by default it does not.
func TestControllerManualRebalance(t *testing.T) {
	for _, manual := range []bool{false, true} {
		cfg := ctlTestConfig("dev")
		cfg.RaftAddr = "127.0.0.1:0"
		cfg.RF, cfg.MinInSync = 1, 1
		cfg.ManualRebalance = manual
		c, err := NewController(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctlWaitFor(t, 5*time.Second, "the cluster created", func() bool {
			s := c.State()
			return s.Bootstrapped() && (!manual || s.Rebalance.Paused)
		})
		if got := c.State().Rebalance.Paused; got != manual {
			t.Errorf("ManualRebalance %v: paused %v", manual, got)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
