package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/proxy"
)

func runStatus(t *testing.T, args ...string) (proxy.Status, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"status"}, args...), &out, &errb); code != exitOK {
		t.Fatalf("status %v: exit %d: %s", args, code, errb.String())
	}
	var st proxy.Status
	if strings.Contains(strings.Join(args, " "), "--json") {
		if err := json.Unmarshal(out.Bytes(), &st); err != nil {
			t.Fatalf("status --json: %v: %q", err, out.String())
		}
	}
	return st, out.String()
}

// TestStatus checks `shardis status` against a live cluster: the JSON
// fields scripts rely on, the table, and a shard seen going down.
func TestStatus(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Shards: 3, Partitions: 64, InMemory: true})
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer rdb.Close()
	ctx := context.Background()
	// Touch every shard so the proxy has connected to each.
	for i := 0; i < 200; i++ {
		if err := rdb.Set(ctx, "status:"+string(rune('a'+i%26))+strings.Repeat("x", i%9), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := runStatus(t, "--addr", c.Addr, "--json")
	if st.Epoch == 0 || st.Partitions != 64 || st.RF != 1 || len(st.Nodes) != 3 {
		t.Fatalf("status = %+v", st)
	}
	masters, copies := 0, 0
	for _, n := range st.Nodes {
		if n.State != "up" {
			t.Errorf("node %s state %q, want up", n.ID, n.State)
		}
		masters += n.Masters
		copies += n.Copies
	}
	if masters != 64 || copies != 64 || st.UnderReplicated != 0 {
		t.Errorf("masters %d copies %d under-replicated %d, want 64 64 0", masters, copies, st.UnderReplicated)
	}
	_, table := runStatus(t, "--addr", c.Addr)
	for _, want := range []string{"epoch ", "ID", "shard-1", "shard-2", "shard-3", "up"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	// Stop shard 2: once the proxy has noticed, it is down and its
	// partitions are under-replicated.
	down := st.Nodes[1]
	c.StopShard(1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = rdb.Keys(ctx, "*").Err() // reaches every shard
		st, _ = runStatus(t, "--addr", c.Addr, "--json")
		if st.Nodes[1].State == "down" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard-2 never reported down: %+v", st)
		}
		time.Sleep(20 * time.Millisecond) // polling the proxy's view
	}
	if st.UnderReplicated != down.Masters {
		t.Errorf("under-replicated %d, want shard-2's %d partitions", st.UnderReplicated, down.Masters)
	}

	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"status", "--addr", "127.0.0.1:1", "--timeout", "1s"}, &out, &errb); code != exitFailure ||
		!strings.Contains(errb.String(), "cannot reach the proxy at 127.0.0.1:1") {
		t.Errorf("unreachable proxy: exit %d, stderr %q", code, errb.String())
	}
}
