package shard

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// gauges gathers g and returns every gauge by name{label=value,…}, labels
// in the registry's (sorted) order.
func gauges(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetGauge() == nil {
				continue
			}
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + ","
			}
			out[mf.GetName()+"{"+labels+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// wantGauges fails for every gauge of want that g does not hold with
// that value; a NaN in want asks for the gauge to be absent.
func wantGauges(t *testing.T, g prometheus.Gatherer, want map[string]float64) {
	t.Helper()
	got := gauges(t, g)
	for name, w := range want {
		v, ok := got[name]
		switch {
		case math.IsNaN(w) && ok:
			t.Errorf("%s = %v, want it absent", name, v)
		case !math.IsNaN(w) && (!ok || v != w):
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, w)
		}
	}
}

const (
	lagF1    = "shardis_shard_replication_lag_effects{follower=f1,}"
	oldestF1 = "shardis_shard_replication_oldest_unacked_seconds{follower=f1,}"
)

// TestReplicationLagMetrics applies a map naming f1 as a copy of every
// partition m masters while f1 does not fetch: each write counts once in
// f1's lag, and the oldest one's age is the oldest unacknowledged write's.
// Once f1 fetches everything the lag is 0.
func TestReplicationLagMetrics(t *testing.T) {
	clock := newFakeClock()
	mcfg := testConfig(t)
	mcfg.ID = "m"
	m := startServer(t, mcfg, clock.Now)
	f := startServer(t, followerConfig(t, m, "f1"), nil)
	roles := make([]PartRole, mcfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: 1, Master: "m", MasterAddr: m.Addr(), InSync: []string{"m"}, Replicas: []string{"m", "f1"}}
	}
	if err := m.ApplyRoles(1, roles); err != nil {
		t.Fatal(err)
	}
	wantGauges(t, m.registry, map[string]float64{
		lagF1:    0,
		oldestF1: 0,
		"shardis_shard_partitions_by_role{role=master,}":   16,
		"shardis_shard_partitions_by_role{role=follower,}": 0,
	})

	// One write, 2s later four more on other partitions, read 1s later:
	// the oldest unacknowledged write is 3s old.
	c := &sinkConn{}
	run(m, c, "SET", keyIn(m, 0, 0), "first")
	clock.Advance(2 * time.Second)
	const writes = 5
	for i := 1; i < writes; i++ {
		run(m, c, "SET", keyIn(m, i, 0), strconv.Itoa(i))
	}
	if c.errs != 0 {
		t.Fatalf("%d writes failed", c.errs)
	}
	clock.Advance(time.Second)
	wantGauges(t, m.registry, map[string]float64{lagF1: writes, oldestF1: 3})

	follow(t, m, f)
	waitAllAcked(t, m, "f1")
	wantGauges(t, m.registry, map[string]float64{lagF1: 0, oldestF1: 0})
	// The follower's own figures: Follow flagged every partition follower
	// and nobody follows it.
	wantGauges(t, f.registry, map[string]float64{
		"shardis_shard_partitions_by_role{role=master,}":   0,
		"shardis_shard_partitions_by_role{role=follower,}": 16,
	})
	if problems, err := testutil.GatherAndLint(m.registry); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
}

// TestReplicationLagWithoutRoles checks that a shard without a map counts
// the followers that fetched from it, and that the age of a write that left
// the effect log is bounded by the oldest logged one.
func TestReplicationLagWithoutRoles(t *testing.T) {
	clock := newFakeClock()
	mcfg := testConfig(t)
	mcfg.ID = "m"
	mcfg.ReplLogSize = 4
	m := startServer(t, mcfg, clock.Now)
	f := startServer(t, followerConfig(t, m, "f1"), nil)
	c := &sinkConn{}
	run(m, c, "SET", "k", "0")
	stop := follow(t, m, f)
	waitAllAcked(t, m, "f1")
	stop()
	wantGauges(t, m.registry, map[string]float64{
		lagF1: 0,
		"shardis_shard_partitions_by_role{role=master,}":   16,
		"shardis_shard_partitions_by_role{role=follower,}": 0,
	})

	// Ten writes of one partition a second apart; the log keeps the last
	// four, so the oldest it can date is 4s old when read 1s after the last.
	for i := range 10 {
		run(m, c, "SET", "k", strconv.Itoa(i+1))
		clock.Advance(time.Second)
	}
	wantGauges(t, m.registry, map[string]float64{lagF1: 10, oldestF1: 4})

	// A follower that never fetched is unknown without a map.
	wantGauges(t, m.registry, map[string]float64{"shardis_shard_replication_lag_effects{follower=f2,}": math.NaN()})
}
