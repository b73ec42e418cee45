package node_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
)

// BenchmarkSetThroughProxy measures SETs sent by one client connection
// through a proxy to in-memory shards in this process, all cluster
// members: with one copy of every partition (rf=1, a single shard) and with
// three (rf=3, three shards, each write acknowledged once every in-sync
// copy holds it — shard.Config's default commit level), one command at a
// time and 16 pipelined. Allocations are the whole process's: client,
// proxy and shards.
func BenchmarkSetThroughProxy(b *testing.B) {
	for _, c := range []struct {
		name                  string
		shards, rf, minInSync int
	}{
		{"rf=1", 1, 1, 1},
		{"rf=3", 3, 3, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			tc := testcluster.StartReplicated(b, testcluster.ReplicatedOptions{Shards: c.shards, RF: c.rf, MinInSync: c.minInSync})
			tc.WaitFull(30 * time.Second)
			_, rdb := tc.StartProxy()
			ctx := context.Background()
			next := 0
			for p := range testParts {
				testcluster.WaitFor(b, 10*time.Second, fmt.Sprintf("a write on partition %d", p), func() bool {
					return rdb.Set(ctx, tc.KeyIn(p, "warm:", &next), "x", 0).Err() == nil
				})
			}
			for _, depth := range []int{1, 16} {
				b.Run("pipeline="+strconv.Itoa(depth), func(b *testing.B) { benchmarkSet(b, rdb, depth) })
			}
		})
	}
}

// benchmarkSet sends b.N SETs through rdb, depth at a time.
func benchmarkSet(b *testing.B, rdb *redis.Client, depth int) {
	ctx := context.Background()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
	}
	const value = "0123456789abcdef"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if depth == 1 {
			if err := rdb.Set(ctx, keys[i%len(keys)], value, 0).Err(); err != nil {
				b.Fatal(err)
			}
			continue
		}
		pipe := rdb.Pipeline()
		for j := i; j < min(i+depth, b.N); j++ {
			pipe.Set(ctx, keys[j%len(keys)], value, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
