package testcluster

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/node"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
)

// ReplicatedPartitions is the partition count of a replicated cluster
// whose ReplicatedOptions.Partitions is zero.
const ReplicatedPartitions = 16

// ReplicatedOptions shapes a replicated test cluster. Zero fields take the
// defaults noted.
type ReplicatedOptions struct {
	// Shards is the number of shards, named s1, s2, …; s1 is the one
	// controller voter, which is never crashed. Default 3.
	Shards int
	// RF is the number of copies of every partition. Default 3.
	RF int
	// MinInSync is the number of in-sync copies a partition needs to take
	// writes, for the controller and for every shard. Default 2.
	MinInSync int
	// Partitions is the partition count. Default ReplicatedPartitions.
	Partitions int
	// Dir, when set, keeps each shard's data in files under Dir/<id>
	// (fsync every second), so that a restart finds them; by default
	// every store is in memory and a restarted shard starts empty.
	Dir string
	// Shard, when non-nil, adjusts shard id's config before it starts,
	// and again before every restart.
	Shard func(id string, cfg *shard.Config)
	// Proxy, when non-nil, adjusts the config of every proxy StartProxy
	// starts.
	Proxy func(*proxy.Config)
}

// Replicated is a replicated cluster running in the test process: shards
// that are cluster members (gossip, the controller on s1, the cluster map,
// leases, failover), and the proxies StartProxy adds, all on random
// loopback ports. Each shard's cluster traffic goes through its own
// cluster.Faults, for Isolate and Heal. Its methods must be called from
// the test's own goroutine. Everything still running stops at the end of
// the test (tb.Cleanup), and if the test failed the voter's last map is
// logged.
type Replicated struct {
	tb       testing.TB
	opt      ReplicatedOptions
	label    string // gossip label: this cluster's members only
	raftAddr string
	ids      []string                   // every shard, the voter first
	seeds    []string                   // the voter's gossip address
	running  map[string]*node.Shard     // shards not crashed, by ID
	gossip   map[string]int             // gossip port by ID, reused on restart
	faults   map[string]*cluster.Faults // by ID, kept across restarts
	proxies  int
}

// StartReplicated starts the shards of a replicated cluster, s1 (the
// voter) first. It does not wait for the cluster to form: see WaitFull.
func StartReplicated(tb testing.TB, opt ReplicatedOptions) *Replicated {
	tb.Helper()
	if opt.Shards == 0 {
		opt.Shards = 3
	}
	if opt.RF == 0 {
		opt.RF = 3
	}
	if opt.MinInSync == 0 {
		opt.MinInSync = 2
	}
	if opt.Partitions == 0 {
		opt.Partitions = ReplicatedPartitions
	}
	c := &Replicated{
		tb:       tb,
		opt:      opt,
		label:    "testcluster-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		raftAddr: freeAddr(tb),
		running:  map[string]*node.Shard{},
		gossip:   map[string]int{},
		faults:   map[string]*cluster.Faults{},
	}
	for i := range opt.Shards {
		id := "s" + strconv.Itoa(i+1)
		c.ids = append(c.ids, id)
		c.faults[id] = &cluster.Faults{}
	}
	tb.Cleanup(func() {
		for _, id := range slices.Backward(c.ids) {
			if n := c.running[id]; n != nil {
				_ = n.Close()
			}
		}
	})
	for _, id := range c.ids {
		if err := c.start(id); err != nil {
			tb.Fatalf("testcluster: start %s: %v", id, err)
		}
	}
	c.logMapOnFailure()
	return c
}

// freeAddr returns a loopback address free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// agentConfig is the agent config of a member of c; a non-empty voter is
// the Raft address of a controller voter.
func (c *Replicated) agentConfig(voter string) cluster.AgentConfig {
	cfg := cluster.AgentConfig{
		Membership: cluster.MembershipConfig{
			BindAddr: "127.0.0.1", Label: c.label, Seeds: c.seeds, Timing: cluster.DefaultTiming(),
			Logger: slog.New(slog.DiscardHandler),
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	if voter != "" {
		cfg.Controller = &cluster.ControllerConfig{
			RaftAddr: voter, RF: c.opt.RF, MinInSync: c.opt.MinInSync, Partitions: c.opt.Partitions,
			HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
			LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler),
		}
		cfg.MapAddr = "127.0.0.1:0"
	}
	return cfg
}

// ShardConfig returns the config shard id starts (and restarts) with.
func (c *Replicated) ShardConfig(id string) shard.Config {
	cfg := shard.Config{ID: id, Addr: "127.0.0.1:0", InMemory: true, Partitions: c.opt.Partitions,
		MinInSync: c.opt.MinInSync, ReplAckTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)}
	if c.opt.Dir != "" {
		cfg.InMemory, cfg.DataDir, cfg.Sync = false, filepath.Join(c.opt.Dir, id), shard.SyncEverySec
	}
	if c.opt.Shard != nil {
		c.opt.Shard(id, &cfg)
	}
	return cfg
}

// start starts shard id, on the gossip port it had if it ran before.
func (c *Replicated) start(id string) error {
	voter := ""
	if id == c.ids[0] {
		voter = c.raftAddr
	}
	acfg := c.agentConfig(voter)
	acfg.Membership.BindPort = c.gossip[id]
	acfg.Membership.Faults = c.faults[id]
	n, err := node.StartShard(c.ShardConfig(id), acfg)
	if err != nil {
		return err
	}
	c.running[id] = n
	addr := n.Agent.Membership().LocalMember().Addr
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("gossip address %q: %w", addr, err)
	}
	if c.gossip[id], err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("gossip address %q: %w", addr, err)
	}
	if voter != "" {
		c.seeds = []string{addr}
	}
	return nil
}

// AddShard starts one more shard, which joins the running cluster, and
// returns its ID.
func (c *Replicated) AddShard() string {
	c.tb.Helper()
	id := "s" + strconv.Itoa(len(c.faults)+1) // faults keeps every ID ever used
	c.ids = append(c.ids, id)
	c.faults[id] = &cluster.Faults{}
	if err := c.start(id); err != nil {
		c.tb.Fatalf("testcluster: add %s: %v", id, err)
	}
	return id
}

// Stop stops shard id cleanly (it leaves the gossip) and forgets it, as
// an operator does with a drained shard.
func (c *Replicated) Stop(id string) {
	c.tb.Helper()
	n := c.running[id]
	if n == nil || id == c.ids[0] {
		c.tb.Fatalf("testcluster: stop %s: not running, or the voter", id)
	}
	delete(c.running, id)
	c.ids = slices.DeleteFunc(c.ids, func(s string) bool { return s == id })
	if err := n.Close(); err != nil {
		c.tb.Logf("testcluster: stop %s: %v", id, err)
	}
}

// IDs returns the shards' IDs, the voter first.
func (c *Replicated) IDs() []string { return slices.Clone(c.ids) }

// Shard returns shard id, or nil while it is crashed.
func (c *Replicated) Shard(id string) *node.Shard { return c.running[id] }

// voter returns the voter shard, s1.
func (c *Replicated) voter() *node.Shard { return c.running[c.ids[0]] }

// State returns the voter's cluster map.
func (c *Replicated) State() cluster.State { return c.voter().Agent.State() }

// Restart starts a crashed shard again under its ID, on its gossip port
// (and, with ReplicatedOptions.Dir, its data dir).
func (c *Replicated) Restart(id string) {
	c.tb.Helper()
	if c.running[id] != nil {
		c.tb.Fatalf("testcluster: restart %s: it is running", id)
	}
	if err := c.start(id); err != nil {
		c.tb.Fatalf("testcluster: restart %s: %v", id, err)
	}
}

// Crash stops the shards ids at the same moment the way a crash would
// (node.Shard.Abandon): they stop without leaving, and the others find
// out by probing. It returns when all have stopped.
func (c *Replicated) Crash(ids ...string) {
	c.tb.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		n := c.running[id]
		if n == nil || id == c.ids[0] {
			c.tb.Fatalf("testcluster: crash %s: not running, or the voter", id)
		}
		delete(c.running, id)
		wg.Go(func() { _ = n.Abandon() })
	}
	wg.Wait()
}

// Isolate cuts shard id off from the cluster (cluster.Faults.Isolate):
// its gossip and its requests to the controller fail, while its RESP
// port (clients, proxies, replication) still answers. It stays cut off
// across a restart until Heal.
func (c *Replicated) Isolate(id string) { c.faultsOf(id).Isolate() }

// Heal restores shard id's cluster traffic.
func (c *Replicated) Heal(id string) { c.faultsOf(id).Heal() }

func (c *Replicated) faultsOf(id string) *cluster.Faults {
	c.tb.Helper()
	f := c.faults[id]
	if f == nil {
		c.tb.Fatalf("testcluster: no shard %s", id)
	}
	return f
}

// full reports whether st lists every shard up and gives every partition a
// master and RF in-sync copies, with no partition move left.
func (c *Replicated) full(st cluster.State) bool {
	if in, left := st.Migrations(); in+left > 0 {
		return false
	}
	if !st.Bootstrapped() || len(st.Nodes) != len(c.ids) {
		return false
	}
	for _, id := range c.ids {
		if !st.Nodes[id].Up {
			return false
		}
	}
	for _, ps := range st.Parts {
		if ps.Master == "" || len(ps.InSync) != c.opt.RF {
			return false
		}
	}
	return true
}

// WaitFull waits at most d for a map in which every shard is up and every
// partition has a master and RF in-sync copies.
func (c *Replicated) WaitFull(d time.Duration) {
	c.tb.Helper()
	c.WaitState(d, fmt.Sprintf("every shard up and %d in-sync copies of every partition", c.opt.RF), c.full)
}

// WaitState waits at most d for the voter to hold a map for which cond
// holds, checking each map the voter adopts (no polling), and fails the
// test naming what when none does in time.
func (c *Replicated) WaitState(d time.Duration, what string, cond func(cluster.State) bool) {
	c.tb.Helper()
	agent := c.voter().Agent
	changed, stop := agent.Watch() // before the first read: no map is missed
	defer stop()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for !cond(agent.State()) {
		select {
		case <-changed:
		case <-timeout.C:
			c.tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// logMapOnFailure logs the voter's map when the test has failed by the
// time the cleanups run.
func (c *Replicated) logMapOnFailure() {
	c.tb.Cleanup(func() {
		if !c.tb.Failed() || c.voter() == nil {
			return
		}
		st := c.State()
		c.tb.Logf("map epoch %d, nodes %+v", st.Epoch, st.Nodes)
		for p, ps := range st.Parts {
			c.tb.Logf("partition %d epoch %d master %q replicas %v in sync %v last master %q",
				p, ps.Epoch, ps.Master, ps.Replicas, ps.InSync, ps.LastMaster)
		}
	})
}

// RecordMaps records, from now until the test ends, every change the
// voter's map makes to a node's liveness or to a partition's master and
// in-sync copies, and logs the record if the test failed: a shard declared
// down by mistake, or a copy leaving the in-sync set, shows there.
func (c *Replicated) RecordMaps() {
	agent := c.voter().Agent
	changed, stopWatch := agent.Watch()
	var (
		lines []string
		done  = make(chan struct{})
		quit  = make(chan struct{})
	)
	go func() {
		defer close(done)
		defer stopWatch()
		prev := agent.State()
		for {
			select {
			case <-changed:
			case <-quit:
				return
			}
			st := agent.State()
			at := time.Now().Format("15:04:05.000")
			for _, id := range slices.Sorted(maps.Keys(st.Nodes)) {
				if old, ok := prev.Nodes[id]; !ok || old.Up != st.Nodes[id].Up {
					lines = append(lines, fmt.Sprintf("%s epoch %d: %s up %v", at, st.Epoch, id, st.Nodes[id].Up))
				}
			}
			for p, ps := range st.Parts {
				if p < len(prev.Parts) && (ps.Master != prev.Parts[p].Master || !slices.Equal(ps.InSync, prev.Parts[p].InSync)) {
					lines = append(lines, fmt.Sprintf("%s epoch %d: partition %d master %q in sync %v", at, st.Epoch, p, ps.Master, ps.InSync))
				}
			}
			prev = st
		}
	}()
	c.tb.Cleanup(func() {
		close(quit)
		<-done
		if c.tb.Failed() {
			c.tb.Logf("map changes:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// StartProxy starts a proxy following the cluster map (waiting at most
// 10 s for a map with a master for every partition; proxies are named p1,
// p2, …) and returns it with a client of it that never retries on its
// own; both stop at cleanup. The proxy retries a refused request for up
// to 3 s (proxy.Config.RetryBudget) unless ReplicatedOptions.Proxy says
// otherwise.
func (c *Replicated) StartProxy() (*node.Proxy, *redis.Client) {
	c.tb.Helper()
	c.proxies++
	acfg := c.agentConfig("")
	acfg.Membership.Meta.ID = "p" + strconv.Itoa(c.proxies)
	pcfg := proxy.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), RetryBudget: 3 * time.Second}
	if c.opt.Proxy != nil {
		c.opt.Proxy(&pcfg)
	}
	px, err := node.StartProxy(pcfg, acfg, 10*time.Second)
	if err != nil {
		c.tb.Fatalf("testcluster: proxy: %v", err)
	}
	c.tb.Cleanup(func() { _ = px.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: px.Proxy.Addr(), Protocol: 2, MaxRetries: -1,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	c.tb.Cleanup(func() { _ = rdb.Close() })
	return px, rdb
}

// KeyIn returns the first key prefix+strconv.Itoa(i), i = *next, *next+1,
// …, of partition p, and leaves *next after it, so successive calls give
// distinct keys.
func (c *Replicated) KeyIn(p int, prefix string, next *int) string {
	for {
		k := prefix + strconv.Itoa(*next)
		*next++
		if ring.Partition([]byte(k), c.opt.Partitions) == p {
			return k
		}
	}
}

// Digest is one copy of a partition as shard.Server.Digest sums it up.
type Digest struct {
	Seq  uint64
	Sum  [32]byte
	Keys int
}

// DigestOf returns s's digest of partition p.
func DigestOf(s *shard.Server, p int) (Digest, error) {
	seq, sum, keys, err := s.Digest(p)
	return Digest{Seq: seq, Sum: sum, Keys: keys}, err
}

// Diff describes how d differs from want, or returns "" when they sum up
// the same records at the same seq.
func (d Digest) Diff(want Digest) string {
	if d == want {
		return ""
	}
	return fmt.Sprintf("seq %d, %d keys, sum %x; want seq %d, %d keys, sum %x",
		d.Seq, d.Keys, d.Sum[:6], want.Seq, want.Keys, want.Sum[:6])
}

// SettledDiffs waits at most d, with no write in flight, for every in-sync
// copy of every partition to reach its master's seq, and describes each
// copy whose records then differ from its master's (or whose seq never
// got there).
func (c *Replicated) SettledDiffs(d time.Duration) []string {
	c.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		diffs, settled := c.compareCopies(c.State())
		if settled || time.Now().After(deadline) {
			return diffs
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// compareCopies compares every in-sync copy of every partition in st with
// its master's. It reports settled once every copy is at its master's
// seq, and describes each copy that differs.
func (c *Replicated) compareCopies(st cluster.State) (diffs []string, settled bool) {
	c.tb.Helper()
	settled = true
	for p, ps := range st.Parts {
		want, err := DigestOf(c.running[ps.Master].Server, p)
		if err != nil {
			c.tb.Fatal(err)
		}
		for _, id := range ps.InSync {
			n := c.running[id]
			if id == ps.Master {
				continue
			}
			if n == nil {
				diffs = append(diffs, fmt.Sprintf("partition %d: in-sync copy %s is not running", p, id))
				continue
			}
			got, err := DigestOf(n.Server, p)
			if err != nil {
				c.tb.Fatal(err)
			}
			if got.Seq != want.Seq {
				settled = false
			}
			if diff := got.Diff(want); diff != "" {
				diffs = append(diffs, fmt.Sprintf("partition %d: %s's copy has %s (master %s)", p, id, diff, ps.Master))
			}
		}
	}
	return diffs, settled
}
