package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
)

const testParts = 16

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func agentConfig(label string, seeds []string, voter string) cluster.AgentConfig {
	cfg := cluster.AgentConfig{
		Membership: cluster.MembershipConfig{
			BindAddr: "127.0.0.1", Label: label, Seeds: seeds, Timing: cluster.DefaultTiming(),
			Logger: slog.New(slog.DiscardHandler),
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	if voter != "" {
		cfg.Controller = &cluster.ControllerConfig{
			RaftAddr: voter, RF: 3, MinInSync: 2, Partitions: testParts,
			HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
			LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler),
		}
		cfg.MapAddr = "127.0.0.1:0"
	}
	return cfg
}

func shardConfig(id string) shard.Config {
	return shard.Config{ID: id, Addr: "127.0.0.1:0", InMemory: true, Partitions: testParts,
		MinInSync: 2, ReplAckTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// TestFailoverNoAcknowledgedWriteLost runs three shards with three copies
// of every partition and a proxy, all as cluster members in one process.
// It writes through the proxy, crashes the shard mastering the most
// partitions, keeps writing, and checks that writes resume on every
// partition and that no acknowledged write is lost.
func TestFailoverNoAcknowledgedWriteLost(t *testing.T) {
	label := "node-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	raftAddr := freeAddr(t)
	first, err := StartShard(shardConfig("s1"), agentConfig(label, nil, raftAddr))
	if err != nil {
		t.Fatal(err)
	}
	seeds := []string{first.Agent.Membership().LocalMember().Addr}
	nodes := map[string]*Shard{"s1": first}
	for _, id := range []string{"s2", "s3"} {
		n, err := StartShard(shardConfig(id), agentConfig(label, seeds, ""))
		if err != nil {
			t.Fatal(err)
		}
		nodes[id] = n
	}
	closed := map[string]bool{}
	t.Cleanup(func() {
		for id, n := range nodes {
			if !closed[id] {
				_ = n.Close()
			}
		}
	})
	// Every partition reaches three in-sync copies through the shards' own
	// catch-up reports.
	defer func() {
		if t.Failed() {
			st := first.Agent.State()
			t.Logf("map epoch %d, nodes %+v", st.Epoch, st.Nodes)
			for p, ps := range st.Parts {
				t.Logf("partition %d epoch %d master %q replicas %v in sync %v", p, ps.Epoch, ps.Master, ps.Replicas, ps.InSync)
			}
		}
	}()
	waitUntil(t, 30*time.Second, "three in-sync copies of every partition", func() bool {
		st := first.Agent.State()
		if !st.Bootstrapped() || len(st.Nodes) != 3 {
			return false
		}
		for _, ps := range st.Parts {
			if len(ps.InSync) != 3 || ps.Master == "" {
				return false
			}
		}
		return true
	})

	pacfg := agentConfig(label, seeds, "")
	pacfg.Membership.Meta.ID = "p1"
	px, err := StartProxy(proxy.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), RetryBudget: 3 * time.Second},
		pacfg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: px.Proxy.Addr(), Protocol: 2, MaxRetries: -1,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer rdb.Close()
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
	st := first.Agent.State()
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
	_ = nodes[victim].Agent.Abandon()
	_ = nodes[victim].Server.Close()
	nodes[victim].cancel()
	closed[victim] = true

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
		waitUntil(t, 15*time.Second, fmt.Sprintf("a write on partition %d", p), func() bool {
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
	after := first.Agent.State()
	if after.Nodes[victim].Up {
		t.Errorf("%s still up in the map", victim)
	}
	for _, p := range victimParts {
		if m := after.Parts[p].Master; m == victim || m == "" {
			t.Errorf("partition %d master %q after the crash", p, m)
		}
	}
}
