package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/ring"
)

// TestMapUpdateReroutes starts a proxy that knows two of three shards, then
// gives it a map over all three: keys of the partitions that moved must be
// written to their new master, the epoch must advance, and an older map
// must be refused.
func TestMapUpdateReroutes(t *testing.T) {
	const parts = 64
	c := testcluster.Start(t, testcluster.Options{
		Shards: 3, Partitions: parts, InMemory: true,
		Proxy: func(cfg *proxy.Config) { cfg.Shards = cfg.Shards[:2] },
	})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer rdb.Close()

	before := c.Proxy.Status()
	if len(before.Nodes) != 2 {
		t.Fatalf("proxy starts with %d shards, want 2", len(before.Nodes))
	}
	members := []ring.Member{{ID: "shard-1"}, {ID: "shard-2"}, {ID: "shard-3"}}
	prev := ring.Assign(ring.Table{}, members[:2], 1, parts)
	next := ring.Assign(prev, members, 1, parts)
	next.Epoch = before.Epoch + 1
	addrs := map[string]string{}
	for i, s := range c.Shards {
		addrs[fmt.Sprintf("shard-%d", i+1)] = s.Addr()
	}
	if err := c.Proxy.UpdateMap(next, addrs); err != nil {
		t.Fatal(err)
	}
	old := next.Clone()
	old.Epoch = before.Epoch
	if err := c.Proxy.UpdateMap(old, addrs); err == nil || !strings.Contains(err.Error(), "older") {
		t.Fatalf("an older map was not refused: %v", err)
	}
	after := c.Proxy.Status()
	if after.Epoch != next.Epoch || len(after.Nodes) != 3 {
		t.Fatalf("status after update: %+v", after)
	}

	// Write one key per partition; each must land on the master the new
	// map names (read directly from that shard).
	keys := map[int]string{}
	for _, k := range itKeys("map:", parts, 1) {
		keys[ring.Partition([]byte(k), parts)] = k
	}
	for p, k := range keys {
		if err := rdb.Set(ctx, k, p, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	onThree := 0
	for p, k := range keys {
		master := next.Master(p)
		direct := redis.NewClient(&redis.Options{Addr: addrs[master], Protocol: 2})
		got, err := direct.Get(ctx, k).Result()
		direct.Close()
		if err != nil || got != fmt.Sprint(p) {
			t.Fatalf("partition %d: key %q not on its new master %s: %q, %v", p, k, master, got, err)
		}
		if master == "shard-3" {
			onThree++
		}
	}
	if onThree == 0 {
		t.Fatal("no partition moved to shard-3")
	}
	t.Logf("%d of %d partitions now mastered by shard-3", onThree, parts)
}
