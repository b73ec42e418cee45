package node_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/ring"
)

// testParts is the partition count of the tests' clusters.
const testParts = testcluster.ReplicatedPartitions

// TestFailoverNoAcknowledgedWriteLost runs three shards with three copies
// of every partition and a proxy, all as cluster members in one process.
// It writes through the proxy, crashes the shard mastering the most
// partitions, keeps writing, and checks that writes resume on every
// partition and that no acknowledged write is lost.
func TestFailoverNoAcknowledgedWriteLost(t *testing.T) {
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3})
	// Every partition reaches three in-sync copies through the shards' own
	// catch-up reports.
	tc.WaitFull(30 * time.Second)
	_, rdb := tc.StartProxy()
	ctx := context.Background()

	var mu sync.Mutex
	acked := map[string]string{}
	write := func(k, v string) error {
		err := rdb.Set(ctx, k, v, 0).Err()
		if err == nil {
			mu.Lock()
			acked[k] = v
			mu.Unlock()
		}
		return err
	}
	for i := 0; i < 500; i++ {
		if err := write(fmt.Sprintf("before:%d", i), strconv.Itoa(i)); err != nil {
			t.Fatalf("write before the failure: %v", err)
		}
	}

	// Crash the shard (not the voter) that masters the most partitions.
	st := tc.State()
	counts := st.Table().Counts()
	victim := "s2"
	if counts["s3"].Masters > counts["s2"].Masters {
		victim = "s3"
	}
	var victimParts []int
	for p, ps := range st.Parts {
		if ps.Master == victim {
			victimParts = append(victimParts, p)
		}
	}
	if len(victimParts) == 0 {
		t.Fatalf("%s masters nothing: %+v", victim, counts)
	}
	killed := time.Now()
	tc.Crash(victim)

	// Keep writing to a key of every partition the victim mastered until
	// each accepts a write.
	keyOf := map[int]string{}
	for i := 0; len(keyOf) < testParts; i++ {
		k := "after:" + strconv.Itoa(i)
		if _, ok := keyOf[ring.Partition([]byte(k), testParts)]; !ok {
			keyOf[ring.Partition([]byte(k), testParts)] = k
		}
	}
	var worst time.Duration
	for _, p := range victimParts {
		testcluster.WaitFor(t, 15*time.Second, fmt.Sprintf("a write on partition %d", p), func() bool {
			return write(keyOf[p], "x") == nil
		})
		if d := time.Since(killed); d > worst {
			worst = d
		}
	}
	t.Logf("failover: %d partitions mastered by %s writable again %v after the crash", len(victimParts), victim, worst.Round(time.Millisecond))

	lost := 0
	for k, v := range acked {
		if got, err := rdb.Get(ctx, k).Result(); err != nil || got != v {
			lost++
			t.Errorf("acknowledged %s=%s reads %q, %v", k, v, got, err)
		}
	}
	t.Logf("acknowledged writes lost: %d of %d", lost, len(acked))
	after := tc.State()
	if after.Nodes[victim].Up {
		t.Errorf("%s still up in the map", victim)
	}
	for _, p := range victimParts {
		if m := after.Parts[p].Master; m == victim || m == "" {
			t.Errorf("partition %d master %q after the crash", p, m)
		}
	}
}
