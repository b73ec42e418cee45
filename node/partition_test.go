package node_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/ring"
)

// ptOp is one command sent straight to the isolated shard, with when it
// was sent and when its answer came.
type ptOp struct {
	sent, recv time.Time
	write      bool
	reply      string
	err        error
}

// TestNetworkPartitionIsolatedMasterGoesQuiet cuts a shard that masters
// partitions off from gossip and from the controller while clients can
// still reach it directly, as a proxy with an old map would. The shard
// must stop serving reads and writes once its lease ends; its partitions
// fail over; no command succeeds on it after the new master accepted a
// write (no two masters, no stale read); after healing it rejoins, and no
// acknowledged write is lost.
func TestNetworkPartitionIsolatedMasterGoesQuiet(t *testing.T) {
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 4})
	tc.WaitFull(30 * time.Second)
	px, rdb := tc.StartProxy()
	opts := func(addr string) *redis.Options {
		return &redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	}
	direct := redis.NewClient(opts(tc.Shard("s4").Server.Addr()))
	defer direct.Close()
	ctx := context.Background()

	// A partition the isolated shard masters, and a key in it.
	st := tc.State()
	part := -1
	for p, ps := range st.Parts {
		if ps.Master == "s4" {
			part = p
			break
		}
	}
	if part < 0 {
		t.Fatal("s4 masters no partition")
	}
	key := ""
	for i := 0; key == ""; i++ {
		if k := "pt:" + strconv.Itoa(i); ring.Partition([]byte(k), testParts) == part {
			key = k
		}
	}
	acked := map[string]string{}
	for i := range 200 {
		k, v := fmt.Sprintf("pt:before:%d", i), strconv.Itoa(i)
		if err := rdb.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatalf("write before the partition: %v", err)
		}
		acked[k] = v
	}
	if err := rdb.Set(ctx, key, "old", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := direct.Get(ctx, key).Result(); err != nil || got != "old" {
		t.Fatalf("GET on s4 before the partition: %q, %v", got, err)
	}

	// Cut s4 off. Keep reading and writing straight on s4 while the proxy
	// (which follows the map) writes a new value through the new master.
	cut := time.Now()
	tc.Isolate("s4")
	var mu sync.Mutex
	var ops []ptOp
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			op := ptOp{sent: time.Now(), write: i%2 == 1}
			if op.write {
				op.err = direct.Set(ctx, key, "stale-"+strconv.Itoa(i), 0).Err()
			} else {
				op.reply, op.err = direct.Get(ctx, key).Result()
			}
			op.recv = time.Now()
			mu.Lock()
			ops = append(ops, op)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond) // pacing, not waiting for a condition
		}
	}()
	var failedOver time.Time
	tc.WaitState(20*time.Second, "a new master for the partition in the map", func(st cluster.State) bool {
		m := st.Parts[part].Master
		failedOver = time.Now()
		return m != "s4" && m != ""
	})
	var newAcked time.Time // when the first write through the new master was answered
	testcluster.WaitFor(t, 20*time.Second, "a write through the new master", func() bool {
		if err := rdb.Set(ctx, key, "new", 0).Err(); err != nil {
			return false
		}
		newAcked = time.Now()
		return true
	})
	acked[key] = "new"
	// Keep probing s4 a little after the new master took over.
	testcluster.WaitFor(t, 10*time.Second, "probes of s4 after the failover", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ops) > 0 && ops[len(ops)-1].sent.After(newAcked.Add(200*time.Millisecond))
	})
	close(stop)
	wg.Wait()
	after := tc.State()
	if m := after.Parts[part].Master; m == "s4" || m == "" {
		t.Fatalf("partition %d master %q after s4 was cut off", part, m)
	}

	var lastOK, firstRefused time.Time
	refusals := map[string]int{}
	for _, op := range ops {
		if op.err == nil || (!op.write && op.err == redis.Nil) {
			lastOK = op.recv
			if op.sent.After(newAcked) {
				t.Errorf("s4 answered a %s sent %v after the new master acknowledged a write (reply %q): two masters",
					map[bool]string{true: "SET", false: "GET"}[op.write], op.sent.Sub(newAcked), op.reply)
			}
			continue
		}
		if firstRefused.IsZero() {
			firstRefused = op.sent
		}
		refusals[strings.SplitN(op.err.Error(), " ", 2)[0]]++
	}
	t.Logf("s4 cut off: %d direct commands; last served %v after the cut, first refused %v after it (%v); new master in the map %v and its first write acknowledged %v after the cut",
		len(ops), lastOK.Sub(cut).Round(time.Millisecond), firstRefused.Sub(cut).Round(time.Millisecond), refusals,
		failedOver.Sub(cut).Round(time.Millisecond), newAcked.Sub(cut).Round(time.Millisecond))
	if refusals["NOLEASE"] == 0 {
		t.Errorf("s4 never answered NOLEASE while cut off: %v", refusals)
	}

	// The proxy's status shows the map's view: s4 down, partitions with
	// two in-sync copies counted as under-replicated.
	testcluster.WaitFor(t, 10*time.Second, "the proxy's status to show s4 down", func() bool {
		ps := px.Proxy.Status()
		for _, n := range ps.Nodes {
			if n.ID == "s4" {
				return n.State == "down" && ps.UnderReplicated > 0 && ps.InSync[2] == ps.UnderReplicated
			}
		}
		return false
	})

	// Heal: s4 rejoins, catches up and the cluster is whole again.
	tc.Heal("s4")
	healed := time.Now()
	tc.WaitFull(30 * time.Second)
	t.Logf("after healing: every partition has three in-sync copies again after %v", time.Since(healed).Round(time.Millisecond))
	testcluster.WaitFor(t, 10*time.Second, "the proxy's status to show the cluster whole", func() bool {
		ps := px.Proxy.Status()
		for _, n := range ps.Nodes {
			if n.State != "up" {
				return false
			}
		}
		return ps.UnderReplicated == 0 && ps.InSync[3] == testParts && len(ps.Nodes) == 4
	})
	for k, v := range acked {
		if got, err := rdb.Get(ctx, k).Result(); err != nil || got != v {
			t.Errorf("acknowledged %s=%s reads %q, %v after healing", k, v, got, err)
		}
	}
}
