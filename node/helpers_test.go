package node

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
)

// testCluster is the shards of one cluster running in the test process, the
// first of them the only controller voter, for tests and benchmarks that
// crash and restart shards by ID. Its methods must be called from the
// test's own goroutine. Every shard still running is closed by the
// cleanup registered by startCluster.
type testCluster struct {
	tb        testing.TB
	label     string
	raftAddr  string
	rf        int
	minInSync int
	shardCfg  func(id string) shard.Config
	ids       []string          // every shard, the voter first
	seeds     []string          // the voter's gossip address
	running   map[string]*Shard // shards not crashed, by ID
	gossip    map[string]int    // gossip port by ID, reused on restart
}

// startCluster starts the shards ids (ids[0] the controller voter, which
// the tests never crash) of a cluster with rf copies of each of testParts
// partitions that takes writes with at least minInSync of them in sync.
// shardCfg gives each shard's config, also on restart.
func startCluster(tb testing.TB, ids []string, rf, minInSync int, shardCfg func(id string) shard.Config) *testCluster {
	tb.Helper()
	c := &testCluster{
		tb:        tb,
		label:     "node-test-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		raftAddr:  freeAddrTB(tb),
		rf:        rf,
		minInSync: minInSync,
		shardCfg:  shardCfg,
		ids:       ids,
		running:   map[string]*Shard{},
		gossip:    map[string]int{},
	}
	tb.Cleanup(func() {
		for _, id := range slices.Backward(c.ids) {
			if n := c.running[id]; n != nil {
				_ = n.Close()
			}
		}
	})
	for _, id := range ids {
		if err := c.start(id); err != nil {
			tb.Fatalf("start %s: %v", id, err)
		}
	}
	return c
}

// freeAddrTB is freeAddr for benchmarks too.
func freeAddrTB(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start starts shard id, on the gossip port it had if it ran before.
func (c *testCluster) start(id string) error {
	voter := ""
	if id == c.ids[0] {
		voter = c.raftAddr
	}
	acfg := agentConfig(c.label, c.seeds, voter)
	if acfg.Controller != nil {
		acfg.Controller.RF, acfg.Controller.MinInSync = c.rf, c.minInSync
	}
	acfg.Membership.BindPort = c.gossip[id]
	n, err := StartShard(c.shardCfg(id), acfg)
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

// restart starts a crashed shard again under its ID, on its gossip port.
func (c *testCluster) restart(id string) {
	c.tb.Helper()
	if c.running[id] != nil {
		c.tb.Fatalf("restart %s: it is running", id)
	}
	if err := c.start(id); err != nil {
		c.tb.Fatalf("restart %s: %v", id, err)
	}
}

// crash stops the shards ids at the same moment the way a crash would:
// their agents stop without leaving (the others find out by probing) and
// their servers close. It returns when all have stopped.
func (c *testCluster) crash(ids ...string) {
	c.tb.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		n := c.running[id]
		if n == nil || id == c.ids[0] {
			c.tb.Fatalf("crash %s: not running, or the voter", id)
		}
		delete(c.running, id)
		wg.Go(func() {
			// A crashed process tells nobody anything: its reports stop
			// first, then gossip (without leaving), then the server.
			n.cancel()
			n.wg.Wait()
			_ = n.Agent.Abandon()
			_ = n.Server.Close()
		})
	}
	wg.Wait()
}

// voter returns the voter shard.
func (c *testCluster) voter() *Shard { return c.running[c.ids[0]] }

// state returns the voter's cluster map.
func (c *testCluster) state() cluster.State { return c.voter().Agent.State() }

// full reports whether st lists every shard up and gives every partition a
// master and rf in-sync copies.
func (c *testCluster) full(st cluster.State) bool {
	if !st.Bootstrapped() || len(st.Nodes) != len(c.ids) {
		return false
	}
	for _, id := range c.ids {
		if !st.Nodes[id].Up {
			return false
		}
	}
	for _, ps := range st.Parts {
		if ps.Master == "" || len(ps.InSync) != c.rf {
			return false
		}
	}
	return true
}

// waitFull waits at most d for a map in which c is full.
func (c *testCluster) waitFull(d time.Duration) {
	c.tb.Helper()
	waitFor(c.tb, d, fmt.Sprintf("every shard up and %d in-sync copies of every partition", c.rf), func() bool {
		return c.full(c.state())
	})
}

// logMapOnFailure logs the voter's map when the test has failed by the
// time the cleanups run; register it after startCluster.
func (c *testCluster) logMapOnFailure() {
	c.tb.Cleanup(func() {
		if !c.tb.Failed() || c.voter() == nil {
			return
		}
		st := c.state()
		c.tb.Logf("map epoch %d, nodes %+v", st.Epoch, st.Nodes)
		for p, ps := range st.Parts {
			c.tb.Logf("partition %d epoch %d master %q replicas %v in sync %v last master %q",
				p, ps.Epoch, ps.Master, ps.Replicas, ps.InSync, ps.LastMaster)
		}
	})
}

// recordMaps records, from now until the test ends, every change the
// voter's map makes to a node's liveness or to a partition's master and
// in-sync copies, and logs the record if the test failed: a shard declared
// down by mistake, or a copy leaving the in-sync set, shows there.
func (c *testCluster) recordMaps() {
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

// startProxy starts a proxy following c's map and returns a client of it
// that never retries on its own; both stop at cleanup.
func (c *testCluster) startProxy() (*Proxy, *redis.Client) {
	c.tb.Helper()
	pacfg := agentConfig(c.label, c.seeds, "")
	pacfg.Membership.Meta.ID = "p1"
	px, err := StartProxy(proxy.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), RetryBudget: 3 * time.Second},
		pacfg, 10*time.Second)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { _ = px.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: px.Proxy.Addr(), Protocol: 2, MaxRetries: -1,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	c.tb.Cleanup(func() { _ = rdb.Close() })
	return px, rdb
}

// waitFor is waitUntil for benchmarks too.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// fileShardConfig returns shardConfig(id) backed by files in a directory of
// dir named after id, so a restart under the same ID finds its data.
func fileShardConfig(dir string) func(id string) shard.Config {
	return func(id string) shard.Config {
		cfg := shardConfig(id)
		cfg.InMemory, cfg.DataDir, cfg.Sync = false, filepath.Join(dir, id), shard.SyncEverySec
		return cfg
	}
}

// keyIn returns the first key prefix+strconv.Itoa(i), i = *next, *next+1,
// …, of partition p, and leaves *next after it, so successive calls give
// distinct keys.
func keyIn(p int, prefix string, next *int) string {
	for {
		k := prefix + strconv.Itoa(*next)
		*next++
		if ring.Partition([]byte(k), testParts) == p {
			return k
		}
	}
}

// copyDigest is one copy of a partition as shard.Server.Digest sums it up.
type copyDigest struct {
	seq  uint64
	sum  [32]byte
	keys int
}

// digestOf returns s's digest of partition p.
func digestOf(s *shard.Server, p int) (copyDigest, error) {
	seq, sum, keys, err := s.Digest(p)
	return copyDigest{seq: seq, sum: sum, keys: keys}, err
}

// digestDiff describes how got differs from want, or returns "" when they
// sum up the same records at the same seq.
func digestDiff(got, want copyDigest) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("seq %d, %d keys, sum %x; want seq %d, %d keys, sum %x",
		got.seq, got.keys, got.sum[:6], want.seq, want.keys, want.sum[:6])
}

// countingHandler is a log handler that counts the records at Info and
// above whose message is msg, and discards every record.
type countingHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}

func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h countingHandler) WithGroup(string) slog.Handler { return h }

// readFailure is a key that did not read back as written.
type readFailure struct {
	key, want, got string
	err            error
}

func (f readFailure) String() string {
	return fmt.Sprintf("%s=%s reads %q, %v", f.key, f.want, f.got, f.err)
}

// readBack reads every key of want through rdb, pipelined, and returns
// those whose value differs, in key order.
func readBack(ctx context.Context, rdb *redis.Client, want map[string]string) []readFailure {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var bad []readFailure
	for len(keys) > 0 {
		batch := keys[:min(200, len(keys))]
		keys = keys[len(batch):]
		pipe := rdb.Pipeline()
		gets := make([]*redis.StringCmd, len(batch))
		for i, k := range batch {
			gets[i] = pipe.Get(ctx, k)
		}
		_, _ = pipe.Exec(ctx)
		for i, k := range batch {
			if got, err := gets[i].Result(); err != nil || got != want[k] {
				bad = append(bad, readFailure{key: k, want: want[k], got: got, err: err})
			}
		}
	}
	return bad
}
