package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/metrics"
)

// Cluster metrics. Every member, shard or proxy, exports the cluster map
// it holds (metrics.Cluster) on the Registerer of its shard.Config or
// proxy.Config; a nil Registerer means none. The map gauges are read from
// Agent.State at scrape time. Failovers are counted from the maps the
// agent adopts, compared two by two as this member sees them: the agent
// coalesces adoptions, so a member may skip a map, and a master that went
// down and came back up within maps it skipped is not seen as a failover.

// startMetrics registers n's cluster metrics and follows its agent until
// n closes.
func (n *Shard) startMetrics(reg prometheus.Registerer) error {
	return startClusterMetrics(n.ctx, &n.wg, reg, n.Agent)
}

// startMetrics registers n's cluster metrics and follows its agent until
// n closes.
func (n *Proxy) startMetrics(reg prometheus.Registerer) error {
	return startClusterMetrics(n.ctx, &n.wg, reg, n.Agent)
}

// startClusterMetrics registers the cluster metrics of a on reg (nothing
// when reg is nil) and starts, under wg, the goroutine that counts
// failovers in the maps a adopts until ctx ends.
func startClusterMetrics(ctx context.Context, wg *sync.WaitGroup, reg prometheus.Registerer, a *cluster.Agent) error {
	if reg == nil {
		return nil
	}
	m, err := metrics.NewCluster(reg, func() metrics.ClusterView { return clusterView(a.State()) })
	if err != nil {
		return fmt.Errorf("node: cluster metrics: %w", err)
	}
	changed, stop := a.Watch() // before reading the first state: no adoption is missed
	prev := a.State()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stop()
		for {
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
			cur := a.State()
			observeFailovers(m, prev, cur, time.Now())
			prev = cur
		}
	}()
	return nil
}

// clusterView is what the cluster gauges show of st.
func clusterView(st cluster.State) metrics.ClusterView {
	v := metrics.ClusterView{Epoch: st.Epoch, UnderReplicated: st.UnderReplicated(), MovesDone: st.MovesDone}
	v.MovesInFlight, v.MovesRemaining = st.Migrations()
	for id, n := range st.Nodes {
		if st.NodeState(id) == "draining" {
			v.Draining++
		}
		if n.Up {
			v.Up++
		} else {
			v.Down++
		}
	}
	if st.Bootstrapped() {
		v.ByInSync = make([]int, st.RF+1)
		for _, ps := range st.Parts {
			for len(v.ByInSync) <= len(ps.InSync) {
				v.ByInSync = append(v.ByInSync, 0)
			}
			v.ByInSync[len(ps.InSync)]++
		}
	}
	return v
}

// observeFailovers records the failovers from prev to cur, adopted at now.
func observeFailovers(m *metrics.Cluster, prev, cur cluster.State, now time.Time) {
	parts, downSince := failovers(prev, cur)
	m.Failovers.Add(float64(parts))
	for _, ms := range downSince {
		m.FailoverSeconds.Observe(max(0, now.Sub(time.UnixMilli(ms)).Seconds()))
	}
}

// failovers compares two consecutive maps: parts is the number of
// partitions whose master changed from one that is down (or gone) in cur
// to another, and downSince holds, once per such old master still listed
// with its down time, when it was marked down (unix ms). A master moving
// away from a live node (a planned handover), a partition losing its last
// in-sync copy (no new master) and its last master returning are not
// failovers.
func failovers(prev, cur cluster.State) (parts int, downSince []int64) {
	seen := map[string]bool{}
	for p, ps := range cur.Parts {
		if p >= len(prev.Parts) {
			break
		}
		old := prev.Parts[p].Master
		if old == "" || ps.Master == "" || ps.Master == old {
			continue
		}
		info, listed := cur.Nodes[old]
		if listed && info.Up {
			continue
		}
		parts++
		if !seen[old] {
			seen[old] = true
			if listed && info.DownSinceMS != 0 {
				downSince = append(downSince, info.DownSinceMS)
			}
		}
	}
	return parts, downSince
}
