package node_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/node"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/shard"
)

// metricValue returns the value of the series name{labels} in g (labels as
// "k=v,…" in sorted order, "" for none): a counter's or gauge's value, a
// histogram's sample count; NaN when g has no such series.
func metricValue(t *testing.T, g prometheus.Gatherer, name, labels string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return seriesValue(mfs, name, labels)
}

// seriesValue is metricValue on the families of one scrape.
func seriesValue(mfs []*dto.MetricFamily, name, labels string) float64 {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(ls, ",") != labels {
				continue
			}
			switch {
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			default:
				return m.GetGauge().GetValue()
			}
		}
	}
	return math.NaN()
}

// histogramSum returns the sum of the unlabelled histogram name in g.
func histogramSum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	return math.NaN()
}

// clusterFigures are the cluster metrics of one member.
type clusterFigures struct {
	epoch, up, down, underRepl, insync3, insync2, failovers, failoverObs float64
}

// readClusterFigures reads the cluster metrics of g in one scrape, so the
// map gauges all come from the same map: the collector reads its member's
// map once per scrape, while a scrape per figure could mix two maps (up
// from the map before a failure, down from the one after).
func readClusterFigures(t *testing.T, g prometheus.Gatherer) clusterFigures {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return clusterFigures{
		epoch:       seriesValue(mfs, "shardis_cluster_map_epoch", ""),
		up:          seriesValue(mfs, "shardis_cluster_members", "state=up"),
		down:        seriesValue(mfs, "shardis_cluster_members", "state=down"),
		underRepl:   seriesValue(mfs, "shardis_cluster_under_replicated_partitions", ""),
		insync3:     seriesValue(mfs, "shardis_cluster_partitions_by_insync", "copies=3"),
		insync2:     seriesValue(mfs, "shardis_cluster_partitions_by_insync", "copies=2"),
		failovers:   seriesValue(mfs, "shardis_cluster_failovers_total", ""),
		failoverObs: seriesValue(mfs, "shardis_cluster_failover_seconds", ""),
	}
}

// TestClusterMetrics runs three shards (three copies of every partition)
// and a proxy as cluster members, each with its own registry, and checks
// their cluster metrics once every partition is in sync — with no failover
// counted for the handovers of the cluster forming — and after the shard
// mastering the most partitions crashes: every partition it mastered
// counts as a failover and the crash is one failover_seconds observation,
// on shards and proxy alike. Members count the map's shards only: proxies
// are not in the map.
func TestClusterMetrics(t *testing.T) {
	regs := map[string]*prometheus.Registry{"s1": metrics.NewRegistry(), "s2": metrics.NewRegistry(), "s3": metrics.NewRegistry()}
	preg := metrics.NewRegistry()
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{
		Shards: 3,
		Shard:  func(id string, cfg *shard.Config) { cfg.Registerer = regs[id] },
		Proxy:  func(cfg *proxy.Config) { cfg.Registerer = preg },
	})

	inSync := func(f clusterFigures) bool {
		return f.epoch > 0 && f.up == 3 && f.down == 0 && f.underRepl == 0 && f.insync3 == testParts
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		testcluster.WaitFor(t, 30*time.Second, id+"'s metrics showing three in-sync copies of every partition", func() bool {
			return inSync(readClusterFigures(t, regs[id]))
		})
	}

	tc.StartProxy()
	regs["p1"] = preg
	testcluster.WaitFor(t, 10*time.Second, "the proxy's metrics showing three in-sync copies of every partition", func() bool {
		return inSync(readClusterFigures(t, preg))
	})
	for id, reg := range regs {
		if f := readClusterFigures(t, reg); f.failovers != 0 || f.failoverObs != 0 {
			t.Errorf("%s counted %v failovers (%v observed) while the cluster formed", id, f.failovers, f.failoverObs)
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("%s: lint: %v %+v", id, err, problems)
		}
	}

	// Crash the shard (not the voter) that masters the most partitions.
	st := tc.State()
	counts := st.Table().Counts()
	victim := "s2"
	if counts["s3"].Masters > counts["s2"].Masters {
		victim = "s3"
	}
	var victimParts int
	for _, ps := range st.Parts {
		if ps.Master == victim {
			victimParts++
		}
	}
	if victimParts == 0 {
		t.Fatalf("%s masters nothing: %+v", victim, counts)
	}
	tc.Crash(victim)

	for _, id := range []string{"s1", map[string]string{"s2": "s3", "s3": "s2"}[victim], "p1"} {
		reg := regs[id]
		testcluster.WaitFor(t, 30*time.Second, id+"'s metrics showing the failover", func() bool {
			f := readClusterFigures(t, reg)
			return f.failoverObs >= 1 && f.down == 1
		})
		// The failover is added to the counter before it is observed in
		// the histogram, but one scrape may still collect the counter just
		// before the addition and the histogram just after: a scrape that
		// starts now sees both.
		f := readClusterFigures(t, reg)
		if f.failovers != float64(victimParts) || f.failoverObs != 1 {
			t.Errorf("%s: %v failovers and %v failover_seconds observations, want %d and 1", id, f.failovers, f.failoverObs, victimParts)
		}
		if f.up != 2 || f.underRepl != testParts || f.insync2 != testParts || f.insync3 != 0 {
			t.Errorf("%s after the crash: %+v", id, f)
		}
		if s := histogramSum(t, reg, "shardis_cluster_failover_seconds"); !(s >= 0 && s < 30) {
			t.Errorf("%s: failover took %vs by the histogram", id, s)
		}
	}
}

func TestFailoversBetweenMaps(t *testing.T) {
	up := cluster.NodeInfo{Up: true}
	prev := cluster.State{
		Epoch: 5, RF: 3, Partitions: 8,
		Nodes: map[string]cluster.NodeInfo{"a": up, "b": up, "c": up},
		Parts: []cluster.PartState{
			{Master: "a"}, {Master: "b"}, {Master: "c"}, {Master: "a"}, {LastMaster: "a"}, {Master: "a"}, {Master: "b"}, {Master: "b"},
		},
	}
	cur := cluster.State{
		Epoch: 6, RF: 3, Partitions: 8,
		Nodes: map[string]cluster.NodeInfo{"a": {DownSinceMS: 1000}, "b": up}, // c was replaced
		Parts: []cluster.PartState{
			{Master: "b"},     // a is down: a failover, measured from a's down time
			{Master: "b"},     // unchanged
			{Master: "b"},     // c is gone: a failover, with no down time to measure from
			{LastMaster: "a"}, // no in-sync copy left to promote: not a failover
			{Master: "b"},     // had no master before: not a failover
			{Master: "b"},     // a again: one more failover, not one more observation
			{Master: "a"},     // away from b, which is up: a handover, not a failover
			{Master: "a"},     // the same
		},
	}
	parts, downSince := node.Failovers(prev, cur)
	if parts != 3 || !slices.Equal(downSince, []int64{1000}) {
		t.Fatalf("failovers = %d, %v; want 3, [1000]", parts, downSince)
	}
	if parts, downSince := node.Failovers(cluster.State{}, cur); parts != 0 || downSince != nil {
		t.Fatalf("failovers from the empty map = %d, %v", parts, downSince)
	}

	reg := prometheus.NewRegistry()
	m, err := metrics.NewCluster(reg, func() metrics.ClusterView { return node.ClusterView(cur) })
	if err != nil {
		t.Fatal(err)
	}
	node.ObserveFailovers(m, prev, cur, time.UnixMilli(3500))
	if got := metricValue(t, reg, "shardis_cluster_failovers_total", ""); got != 3 {
		t.Errorf("failovers_total = %v, want 3", got)
	}
	if n, s := metricValue(t, reg, "shardis_cluster_failover_seconds", ""), histogramSum(t, reg, "shardis_cluster_failover_seconds"); n != 1 || s != 2.5 {
		t.Errorf("failover_seconds count %v sum %v, want 1 and 2.5", n, s)
	}
	for labels, want := range map[string]float64{"state=up": 1, "state=down": 1} {
		if got := metricValue(t, reg, "shardis_cluster_members", labels); got != want {
			t.Errorf("members{%s} = %v, want %v", labels, got, want)
		}
	}
	// 8 partitions, none in sync in these hand-made maps; RF 3 exports
	// every count up to 3.
	for labels, want := range map[string]float64{"copies=0": 8, "copies=1": 0, "copies=2": 0, "copies=3": 0} {
		if got := metricValue(t, reg, "shardis_cluster_partitions_by_insync", labels); got != want {
			t.Errorf("partitions_by_insync{%s} = %v, want %v", labels, got, want)
		}
	}
	if got := metricValue(t, reg, "shardis_cluster_under_replicated_partitions", ""); got != 8 {
		t.Errorf("under_replicated_partitions = %v, want 8", got)
	}
	if _, err := metrics.NewCluster(reg, func() metrics.ClusterView { return metrics.ClusterView{} }); err == nil {
		t.Error("a second member's cluster metrics registered on the same registry")
	}
}
