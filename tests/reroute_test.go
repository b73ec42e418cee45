package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
)

// TestRerouteOnNotMaster moves every partition's mastership to shard-1 on
// the shards first, so the proxy's map is out of date and shards answer
// NOTMASTER. Requests must then wait for the newer map and be answered from
// the new masters — single-key commands and split multi-key ones alike —
// and without a newer map a client gets TRYAGAIN within the retry budget.
func TestRerouteOnNotMaster(t *testing.T) {
	const parts = 16
	c := testcluster.Start(t, testcluster.Options{
		Shards: 3, Partitions: parts, InMemory: true,
		Shard: func(cfg *shard.Config) { cfg.MinInSync = 1 },
		Proxy: func(cfg *proxy.Config) { cfg.RetryBudget = 500 * time.Millisecond },
	})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2, MaxRetries: -1})
	defer rdb.Close()

	keys := itKeys("reroute:", parts, 1)
	one := map[int]string{} // one key per partition
	for _, k := range keys {
		one[ring.Partition([]byte(k), parts)] = k
	}
	addrs := map[string]string{}
	for i, s := range c.Shards {
		addrs[fmt.Sprintf("shard-%d", i+1)] = s.Addr()
	}
	// Shards: shard-1 masters every partition, alone in sync.
	roles := make([]shard.PartRole, parts)
	table := ring.Table{Epoch: 2, RF: 1, Partitions: make([]ring.Assignment, parts)}
	for p := range roles {
		roles[p] = shard.PartRole{Epoch: 2, Master: "shard-1", MasterAddr: addrs["shard-1"], InSync: []string{"shard-1"}}
		table.Partitions[p] = ring.Assignment{Master: "shard-1"}
	}
	for _, s := range c.Shards {
		if err := s.ApplyRoles(2, roles); err != nil {
			t.Fatal(err)
		}
	}
	// The proxy still routes by its first map, where shard-1 masters only
	// some partitions.
	initial := ring.Assign(ring.Table{}, []ring.Member{{ID: "shard-1"}, {ID: "shard-2"}, {ID: "shard-3"}}, 1, parts)
	var stale string
	for p, k := range one {
		if initial.Master(p) != "shard-1" {
			stale = k
			break
		}
	}
	if stale == "" {
		t.Fatal("no partition changes master: the test would prove nothing")
	}

	// Without a newer map: TRYAGAIN after the budget.
	start := time.Now()
	err := rdb.Set(ctx, stale, "v", 0).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN ") {
		t.Fatalf("SET with a stale map: %v, want TRYAGAIN", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 3*time.Second {
		t.Errorf("TRYAGAIN after %v, want about the 500ms budget", d)
	}

	// With the newer map arriving while requests wait: every command is
	// answered by shard-1.
	done := make(chan error, 1)
	go func() {
		pipe := rdb.Pipeline()
		sets := map[string]*redis.StatusCmd{}
		for _, k := range one {
			sets[k] = pipe.Set(ctx, k, "val:"+k, 0)
		}
		var ks []string
		for _, k := range one {
			ks = append(ks, k)
		}
		mset := pipe.MSet(ctx, "reroute:{m}a", "1", "reroute:{m}b", "2")
		mget := pipe.MGet(ctx, ks...)
		if _, err := pipe.Exec(ctx); err != nil {
			done <- fmt.Errorf("pipeline: %v", err)
			return
		}
		if err := mset.Err(); err != nil {
			done <- fmt.Errorf("MSET: %v", err)
			return
		}
		for i, v := range mget.Val() {
			if v != "val:"+ks[i] {
				done <- fmt.Errorf("MGET %s = %v", ks[i], v)
				return
			}
		}
		done <- nil
	}()
	// Let the pipeline hit the stale map first, then publish the new one.
	waitCounter(t, c, 1)
	if err := c.Proxy.UpdateMap(table, addrs); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Everything is on shard-1.
	direct := redis.NewClient(&redis.Options{Addr: addrs["shard-1"], Protocol: 2})
	defer direct.Close()
	for _, k := range one {
		if v, err := direct.Get(ctx, k).Result(); err != nil || v != "val:"+k {
			t.Fatalf("shard-1 %s = %q, %v", k, v, err)
		}
	}
}

// TestRerouteShardBehind: the proxy already routes by a map in which
// shard-1 masters every partition, but the shards have not applied it yet
// and shard-1 answers NOTMASTER. No newer map is coming to the proxy: the
// request must be sent again by the same map until shard-1 catches up.
func TestRerouteShardBehind(t *testing.T) {
	const parts = 16
	c := testcluster.Start(t, testcluster.Options{
		Shards: 3, Partitions: parts, InMemory: true,
		Shard: func(cfg *shard.Config) { cfg.MinInSync = 1 },
		Proxy: func(cfg *proxy.Config) { cfg.RetryBudget = 5 * time.Second },
	})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2, MaxRetries: -1})
	defer rdb.Close()

	addrs := map[string]string{}
	for i, s := range c.Shards {
		addrs[fmt.Sprintf("shard-%d", i+1)] = s.Addr()
	}
	// The shards' map (epoch 2): the proxy's first placement.
	initial := ring.Assign(ring.Table{}, []ring.Member{{ID: "shard-1"}, {ID: "shard-2"}, {ID: "shard-3"}}, 1, parts)
	old := make([]shard.PartRole, parts)
	next := make([]shard.PartRole, parts)
	table := ring.Table{Epoch: 3, RF: 1, Partitions: make([]ring.Assignment, parts)}
	for p := range old {
		m := initial.Master(p)
		old[p] = shard.PartRole{Epoch: 2, Master: m, MasterAddr: addrs[m], InSync: []string{m}}
		next[p] = shard.PartRole{Epoch: 3, Master: "shard-1", MasterAddr: addrs["shard-1"], InSync: []string{"shard-1"}}
		table.Partitions[p] = ring.Assignment{Master: "shard-1"}
	}
	for _, s := range c.Shards {
		if err := s.ApplyRoles(2, old); err != nil {
			t.Fatal(err)
		}
	}
	var stale string
	for _, k := range itKeys("behind:", parts, 1) {
		if initial.Master(ring.Partition([]byte(k), parts)) != "shard-1" {
			stale = k
			break
		}
	}
	if stale == "" {
		t.Fatal("no partition changes master: the test would prove nothing")
	}
	// The proxy is ahead: it routes by epoch 3.
	if err := c.Proxy.UpdateMap(table, addrs); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rdb.Set(ctx, stale, "v", 0).Err() }()
	// Let shard-1 refuse at least once, then let the shards catch up.
	testcluster.WaitFor(t, 5*time.Second, "shard-1 to refuse the stale request", func() bool {
		return c.Proxy.WaitingForMap() > 0
	})
	for _, s := range c.Shards {
		if err := s.ApplyRoles(3, next); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("SET while the shard was behind the proxy's map: %v", err)
	}
	direct := redis.NewClient(&redis.Options{Addr: addrs["shard-1"], Protocol: 2})
	defer direct.Close()
	if v, err := direct.Get(ctx, stale).Result(); err != nil || v != "v" {
		t.Fatalf("shard-1 %s = %q, %v", stale, v, err)
	}
}

// waitCounter waits until at least n requests are waiting for a newer map.
func waitCounter(t *testing.T, c *testcluster.Cluster, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Proxy.WaitingForMap() < n {
		if time.Now().After(deadline) {
			t.Fatal("no request ever waited for a newer map")
		}
		time.Sleep(2 * time.Millisecond) // polling a counter
	}
}

// TestWaitForFailover: on a proxy that follows a cluster map, a command for
// a shard that is down waits for the map that gives the partition to
// another shard and is answered there, instead of failing with CLUSTERDOWN;
// without a newer map it still gets CLUSTERDOWN once the budget is spent.
func TestWaitForFailover(t *testing.T) {
	const parts = 16
	c := testcluster.Start(t, testcluster.Options{
		Shards: 2, Partitions: parts, InMemory: true,
		Proxy: func(cfg *proxy.Config) {
			cfg.RetryBudget = 3 * time.Second
			cfg.WaitForFailover = true
		},
	})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2, MaxRetries: -1, ReadTimeout: 10 * time.Second})
	defer rdb.Close()
	addrs := map[string]string{"shard-1": c.Shards[0].Addr(), "shard-2": c.Shards[1].Addr()}
	initial := ring.Assign(ring.Table{}, []ring.Member{{ID: "shard-1"}, {ID: "shard-2"}}, 1, parts)
	var key string
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("failover:%d", i)
		if initial.Master(ring.Partition([]byte(k), parts)) == "shard-2" {
			key = k
		}
	}
	if err := rdb.Set(ctx, key, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c.StopShard(1)
	// Wait until the proxy knows the shard is down, so requests for it are
	// held rather than sent on a connection about to break.
	deadline := time.Now().Add(5 * time.Second)
	for {
		down := false
		for _, n := range c.Proxy.Status().Nodes {
			down = down || (n.ID == "shard-2" && n.State == "down")
		}
		if down {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxy never saw shard-2 down")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}

	// No newer map: CLUSTERDOWN after the budget.
	start := time.Now()
	err := rdb.Get(ctx, key).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "CLUSTERDOWN ") {
		t.Fatalf("GET on a dead shard without a newer map: %v, want CLUSTERDOWN", err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("CLUSTERDOWN after %v, want it after the 3s budget", d)
	}

	// The map moving every partition to shard-1 arrives while the SET waits.
	table := ring.Table{Epoch: 2, RF: 1, Partitions: make([]ring.Assignment, parts)}
	for p := range table.Partitions {
		table.Partitions[p] = ring.Assignment{Master: "shard-1"}
	}
	done := make(chan error, 1)
	go func() { done <- rdb.Set(ctx, key, "after", 0).Err() }()
	waitCounter(t, c, 1)
	if err := c.Proxy.UpdateMap(table, addrs); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("SET during the failover: %v, want it answered by the new master", err)
	}
	if v, err := rdb.Get(ctx, key).Result(); err != nil || v != "after" {
		t.Fatalf("GET after the failover: %q, %v", v, err)
	}
}
