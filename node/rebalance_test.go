package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/shard"
)

// balanced reports, for a map with no move left, whether masters and copies
// per node are within one of even over the nodes in placement.
func balanced(st cluster.State) error {
	counts := st.Table().Counts()
	var ids []string
	for id, n := range st.Nodes {
		if !n.Draining {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	lo, hi := len(st.Parts)/len(ids), (len(st.Parts)+len(ids)-1)/len(ids)
	clo, chi := len(st.Parts)*st.RF/len(ids), (len(st.Parts)*st.RF+len(ids)-1)/len(ids)
	for _, id := range ids {
		c := counts[id]
		if c.Masters < lo || c.Masters > hi || c.Copies < clo || c.Copies > chi {
			return fmt.Errorf("node %s masters %d (want %d..%d), holds %d copies (want %d..%d)", id, c.Masters, lo, hi, c.Copies, clo, chi)
		}
	}
	return nil
}

// TestGrowAndShrinkUnderLoad grows a loaded in-process cluster from 3 to 5
// shards and shrinks it back to 3 with decommission, while writers go on
// through a proxy: no acknowledged write is lost, no write fails, and the
// cluster ends balanced with three in-sync copies of every partition.
func TestGrowAndShrinkUnderLoad(t *testing.T) {
	// Acknowledgements get the production timeout's slack and more: under
	// the race detector on two shared cores a follower can be slow, and a
	// NOTACKED here should mean a stuck copy, not a busy machine. A short
	// effect log makes new copies start from snapshots, as they do once a
	// cluster holds more than its logs.
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3, Partitions: testParts,
		Shard: func(_ string, cfg *shard.Config) { cfg.ReplAckTimeout, cfg.ReplLogSize = 5*time.Second, 16 }})
	tc.WaitFull(30 * time.Second)
	px, rdb := tc.StartProxy()
	ctx := context.Background()
	// Tight limits, so moves queue and the limits are exercised.
	if err := rdb.Do(ctx, "SHARDIS.REBALANCE", "SET", "max-moves", "3", "max-incoming", "2").Err(); err != nil {
		t.Fatal(err)
	}
	w := newWriteLog(rdb)
	w.start(ctx, 4)
	defer w.close()
	testcluster.WaitFor(t, 10*time.Second, "writes before the moves", func() bool { return w.ackedCount() > 200 })

	maxMoving := 0
	watch := func(what string) {
		t.Helper()
		tc.WaitState(60*time.Second, what, func(st cluster.State) bool {
			moving := 0
			for p := range st.Parts {
				if !st.Settled(p) {
					moving++
				}
				if n := len(st.Parts[p].InSync); n < 3 {
					t.Errorf("partition %d has %d in-sync copies during the moves", p, n)
				}
			}
			maxMoving = max(maxMoving, moving)
			in, left := st.Migrations()
			return in+left == 0 && st.UnderReplicated() == 0 && len(st.Nodes) == len(tc.IDs())
		})
	}

	start, done0 := time.Now(), tc.State().MovesDone
	s4, s5 := tc.AddShard(), tc.AddShard()
	watch("the two new shards to get their share")
	tc.WaitFull(30 * time.Second)
	if err := balanced(tc.State()); err != nil {
		t.Errorf("after growing to 5: %v", err)
	}
	t.Logf("grew 3 -> 5 in %v, %d moves", time.Since(start).Round(time.Millisecond), tc.State().MovesDone-done0)

	// Status through the proxy, as `shardis status --json` shows it.
	var st proxy.Status
	raw, err := rdb.Do(ctx, "SHARDIS.STATUS").Text()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if st.Rebalance == nil || st.Rebalance.MaxMoves != 3 || st.Rebalance.MaxIncoming != 2 || st.Migrations.Done == 0 ||
		st.Migrations.BytesMoved == 0 || st.Migrations.KeysMoved == 0 {
		t.Errorf("status after growing: rebalance %+v migrations %+v", st.Rebalance, st.Migrations)
	}
	t.Logf("status after growing: %d moves done, %d keys and %d bytes loaded into new copies",
		st.Migrations.Done, st.Migrations.KeysMoved, st.Migrations.BytesMoved)

	start = time.Now()
	for _, id := range []string{s4, s5} {
		if err := rdb.Do(ctx, "SHARDIS.DECOMMISSION", id).Err(); err != nil {
			t.Fatalf("decommission %s: %v", id, err)
		}
	}
	tc.WaitState(60*time.Second, "both new shards drained", func(st cluster.State) bool {
		return st.NodeState(s4) == "drained" && st.NodeState(s5) == "drained"
	})
	// Three left for RF 3: the controller refuses to drain another.
	if err := rdb.Do(ctx, "SHARDIS.DECOMMISSION", "s1").Err(); err == nil || !strings.Contains(err.Error(), "would leave") {
		t.Errorf("decommission of a third shard: %v", err)
	}
	if err := rdb.Do(ctx, "SHARDIS.DECOMMISSION", "nope").Err(); err == nil || !strings.Contains(err.Error(), "no such node") {
		t.Errorf("decommission of an unknown shard: %v", err)
	}
	tc.Stop(s4)
	tc.Stop(s5)
	watch("the drained shards to leave the map")
	tc.WaitFull(30 * time.Second)
	t.Logf("shrank 5 -> 3 in %v; at most %d partitions moving at once (limit 3)", time.Since(start).Round(time.Millisecond), maxMoving)
	if maxMoving > 3 {
		t.Errorf("%d partitions moved at once, limit 3", maxMoving)
	}
	if err := balanced(tc.State()); err != nil {
		t.Errorf("after shrinking to 3: %v", err)
	}

	w.close()
	if len(w.failed) > 0 {
		t.Errorf("writes failed during the moves: %v", w.failed)
	}
	want := map[string]string{}
	for k, a := range w.acked {
		want[k] = a.value
	}
	if bad := readBack(ctx, rdb, want); len(bad) > 0 {
		t.Errorf("%d of %d acknowledged writes lost, first %v", len(bad), len(want), bad[0])
	}
	t.Logf("%d acknowledged writes, all read back", len(want))
	_ = px
}

// TestRebalancePause: a paused cluster starts no move when a shard joins;
// resuming lets the moves run. The proxy's metrics count them.
func TestRebalancePause(t *testing.T) {
	preg := metrics.NewRegistry()
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3, Partitions: testParts,
		Proxy: func(cfg *proxy.Config) { cfg.Registerer = preg }})
	tc.WaitFull(30 * time.Second)
	_, rdb := tc.StartProxy()
	moves := func() (inFlight, remaining, done float64) {
		mfs, err := preg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		return seriesValue(mfs, "shardis_cluster_migrations", "state=in_flight"),
			seriesValue(mfs, "shardis_cluster_migrations", "state=remaining"),
			seriesValue(mfs, "shardis_cluster_migrations_done_total", "")
	}
	ctx := context.Background()
	if err := rdb.Do(ctx, "SHARDIS.REBALANCE", "PAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	s4 := tc.AddShard()
	tc.WaitState(30*time.Second, "the new shard in the map with moves pending", func(st cluster.State) bool {
		_, left := st.Migrations()
		return st.Nodes[s4].Up && left > 0
	})
	if c := tc.State().Table().Counts()[s4]; c.Copies != 0 {
		t.Fatalf("paused, yet %s got %d copies", s4, c.Copies)
	}
	// The proxy's status lists the new shard although nothing routes to it.
	var st proxy.Status
	testcluster.WaitFor(t, 10*time.Second, "the proxy's status to list "+s4+" up with no copies", func() bool {
		raw, err := rdb.Do(ctx, "SHARDIS.STATUS").Text()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(st.Nodes, func(n proxy.NodeStatus) bool { return n.ID == s4 })
		return i >= 0 && st.Nodes[i].State == "up" && st.Nodes[i].Copies == 0
	})
	var done0 float64
	testcluster.WaitFor(t, 10*time.Second, "the proxy's metrics to show the moves waiting", func() bool {
		in, left, done := moves()
		done0 = done
		return in == 0 && left > 0
	})
	if err := rdb.Do(ctx, "SHARDIS.REBALANCE", "bogus").Err(); err == nil {
		t.Error("SHARDIS.REBALANCE bogus answered OK")
	}
	if err := rdb.Do(ctx, "SHARDIS.REBALANCE", "RESUME").Err(); err != nil {
		t.Fatal(err)
	}
	tc.WaitFull(60 * time.Second)
	if err := balanced(tc.State()); err != nil {
		t.Error(err)
	}
	testcluster.WaitFor(t, 10*time.Second, "the proxy's metrics to show the moves done", func() bool {
		in, left, done := moves()
		return in == 0 && left == 0 && done > done0
	})
}
