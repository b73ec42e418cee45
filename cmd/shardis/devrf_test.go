package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/proxy"
)

// devStatus is `shardis status --json` of the proxy at addr.
func devStatus(t *testing.T, addr string) proxy.Status {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"status", "--addr", addr, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("status: %d %s", code, errb.String())
	}
	var st proxy.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkFull fails unless st has the given shards up, each partition on rf
// of them, none under-replicated.
func checkFull(t *testing.T, st proxy.Status, shards, rf, partitions int) {
	t.Helper()
	copies := 0
	for _, n := range st.Nodes {
		copies += n.Copies
		if n.State != "up" {
			t.Errorf("node %s is %s", n.ID, n.State)
		}
	}
	if st.RF != rf || len(st.Nodes) != shards || copies != rf*partitions || st.UnderReplicated != 0 {
		t.Errorf("status = %+v, want rf %d, %d nodes, %d copies", st, rf, shards, rf*partitions)
	}
}

// TestDevReplicated runs `shardis dev --rf 3` in process: the cluster
// serves through the proxy, every partition has three copies, and Ctrl-C
// stops it cleanly.
func TestDevReplicated(t *testing.T) {
	d := startDev(t, 60*time.Second, "--rf", "3", "--memory", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--partitions", "16", "--log-level", "error")
	r := d.ready
	if !strings.Contains(d.stdout.String(), "3 copies of each") {
		t.Errorf("banner: %q", d.stdout.String())
	}
	exerciseCluster(t, r)
	checkFull(t, devStatus(t, r.clientAddr), 3, 3, 16)
	d.stop(t, 30*time.Second)
}

// TestDevRestartKeepsDataAndMap stops the default (replicated) dev cluster
// on a given data dir and starts it again there: the controller's Raft log
// is in the data dir, and the second run, on new ports, comes back with the
// same shards, a map epoch no older, and every key.
func TestDevRestartKeepsDataAndMap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"--addr", "127.0.0.1:0", "--metrics-addr", "", "--partitions", "16",
		"--data-dir", dir, "--log-level", "error"}
	d := startDev(t, 30*time.Second, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: d.ready.clientAddr})
	const keys = 100
	for i := range keys {
		if err := rdb.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key:%d: %v", i, err)
		}
	}
	if err := rdb.RPush(ctx, "list", "a", "b", "c").Err(); err != nil {
		t.Fatal(err)
	}
	_ = rdb.Close()
	before := devStatus(t, d.ready.clientAddr)
	checkFull(t, before, 3, 3, 16)
	d.stop(t, 30*time.Second)

	wal, err := os.ReadDir(filepath.Join(dir, "shard-1", "raft", "raft-wal"))
	if err != nil || len(wal) == 0 {
		t.Errorf("the controller's Raft log is not in the data dir: %v, %d files", err, len(wal))
	}

	d = startDev(t, 30*time.Second, args...)
	after := devStatus(t, d.ready.clientAddr)
	checkFull(t, after, 3, 3, 16)
	ids := func(st proxy.Status) (out []string) {
		for _, n := range st.Nodes {
			out = append(out, n.ID)
		}
		return out
	}
	if !slices.Equal(ids(before), ids(after)) {
		t.Errorf("nodes %v after the restart, %v before", ids(after), ids(before))
	}
	if after.Epoch < before.Epoch {
		t.Errorf("map epoch %d after the restart, %d before: the map was not kept", after.Epoch, before.Epoch)
	}
	rdb = redis.NewClient(&redis.Options{Addr: d.ready.clientAddr})
	defer rdb.Close()
	for i := range keys {
		if got, err := rdb.Get(ctx, fmt.Sprintf("key:%d", i)).Int(); err != nil || got != i {
			t.Errorf("GET key:%d after the restart = %d, %v", i, got, err)
		}
	}
	if got, err := rdb.LRange(ctx, "list", 0, -1).Result(); err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("LRANGE list after the restart = %q, %v", got, err)
	}
	if err := rdb.Set(ctx, "new", "v", 0).Err(); err != nil {
		t.Errorf("SET after the restart: %v", err)
	}
	d.stop(t, 30*time.Second)
}
