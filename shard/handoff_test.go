package shard

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNoMapServesNothing: a cluster member (leases required) that has not
// applied a cluster map yet — a process just restarted — refuses data
// commands with NOLEASE, since the old map may still name it master of
// partitions another copy now serves. A shard outside a cluster serves.
func TestNoMapServesNothing(t *testing.T) {
	for _, member := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.RequireLease = member
		s := startServer(t, cfg, nil)
		c := dial(t, s.Addr())
		got := c.do("SET", "k", "v")
		if member && !strings.HasPrefix(got, "-NOLEASE ") {
			t.Errorf("member without a map: SET = %q, want NOLEASE", got)
		}
		if !member && got != okR() {
			t.Errorf("standalone shard: SET = %q", got)
		}
	}
}

// TestHandOffStopsThePartition: once HandOff starts, the partition answers
// HANDOFF to reads and writes at that partition epoch whether or not the
// new master catches up, the other partitions go on, and a map with a new
// epoch for the partition serves it again.
func TestHandOffStopsThePartition(t *testing.T) {
	cfg := testConfig(t)
	cfg.MinInSync = 1
	s := startServer(t, cfg, nil)
	roles := make([]PartRole, cfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: 5, Master: "s1", InSync: []string{"s1"}, Replicas: []string{"s2", "s1"}}
	}
	if err := s.ApplyRoles(5, roles); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr())
	k, other := keyIn(s, 3, 0), keyIn(s, 4, 0)
	if got := c.do("SET", k, "v"); got != okR() {
		t.Fatalf("SET before the handoff = %q", got)
	}
	if _, _, err := s.HandOff(context.Background(), 3, "s2", 4); err == nil {
		t.Fatal("HandOff at an epoch the shard does not master at succeeded")
	}
	// s2 never fetches: the wait times out, the partition stays stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, lagging, err := s.HandOff(ctx, 3, "s2", 5); err == nil || !slices.Equal(lagging, []string{"s2"}) {
		t.Fatalf("HandOff without s2 acknowledging anything: %v, lagging %v", err, lagging)
	}
	for _, cmd := range [][]string{{"SET", k, "w"}, {"GET", k}} {
		if got := c.do(cmd...); got != errR("HANDOFF 3"+" partition being handed over to its new master") {
			t.Errorf("%v during the handoff = %q", cmd, got)
		}
	}
	if got := c.do("SET", other, "v"); got != okR() {
		t.Errorf("SET on another partition during the handoff = %q", got)
	}
	roles[3].Epoch = 6
	if err := s.ApplyRoles(6, roles); err != nil {
		t.Fatal(err)
	}
	if got := c.do("GET", k); got != bulkR("v") {
		t.Errorf("GET at the next partition epoch = %q", got)
	}
}

// TestMovedCounts: SHARDIS.MOVED counts the snapshot bytes a master sent
// and a copy loaded, and the keys (not their elements) of what it loaded.
func TestMovedCounts(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	mcfg.ReplLogSize = 4 // a new copy needs a snapshot
	m := startServer(t, mcfg, nil)
	p := fillPartition(t, m, "mv", 40, 100)
	run(m, &sinkConn{}, "HSET", "{mv}h", "a", "1", "b", "2", "c", "3")
	f := startServer(t, followerConfig(t, m, "f"), nil)
	stop := f.Follow(m.cfg.ID, m.Addr(), []int{p})
	defer stop()
	waitFor(t, 10*time.Second, func() bool { return f.repl.snapshots.Load() == 1 })
	mc, fc := dial(t, m.Addr()), dial(t, f.Addr())
	sent := m.repl.snaps.sent.Load()
	if got, want := mc.do("SHARDIS.MOVED"), arrR(intR(int64(sent)), intR(0), intR(0)); sent == 0 || got != want {
		t.Errorf("master: SHARDIS.MOVED = %q, want %q (sent %d)", got, want, sent)
	}
	if got, want := fc.do("SHARDIS.MOVED"), arrR(intR(0), intR(int64(sent)), intR(41)); got != want {
		t.Errorf("copy: SHARDIS.MOVED = %q, want %q", got, want)
	}
}
