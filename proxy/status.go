package proxy

import (
	"encoding/json"

	"github.com/shardis/shardis/resp"
)

// Status is the cluster as this proxy sees it: the map it routes by and the
// state of its connections to each shard. It is what SHARDIS.STATUS and
// `shardis status` report; the JSON field names are stable for scripts.
type Status struct {
	// Cluster is the cluster's name, on a proxy that is a cluster member;
	// empty otherwise.
	Cluster string `json:"cluster,omitempty"`
	// Epoch is the version of the cluster map.
	Epoch uint64 `json:"epoch"`
	// Partitions is the cluster's partition count.
	Partitions int `json:"partitions"`
	// RF is the number of copies of each partition.
	RF int `json:"rf"`
	// UnderReplicated counts partitions with fewer live copies than RF.
	UnderReplicated int `json:"under_replicated"`
	// InSync counts partitions by the size of their in-sync set (keys are
	// copy counts), on a proxy that is a cluster member.
	InSync map[int]int `json:"partitions_by_insync,omitempty"`
	// Nodes lists the shards, sorted by id.
	Nodes []NodeStatus `json:"nodes"`
	// Migrations reports partition moves, on a proxy that is a cluster
	// member.
	Migrations Migrations `json:"migrations"`
	// Rebalance holds the move settings in force, on a cluster member.
	Rebalance *RebalanceStatus `json:"rebalance,omitempty"`
}

// RebalanceStatus is the rebalance settings of the cluster map, with
// defaults applied.
type RebalanceStatus struct {
	Paused      bool  `json:"paused"`
	MaxMoves    int   `json:"max_moves"`
	MaxIncoming int   `json:"max_incoming"`
	RateBytes   int64 `json:"rate_bytes"`
}

// NodeStatus is one shard in Status.
type NodeStatus struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	// State is, on a cluster member, "up" or "down" as the cluster map
	// has it; otherwise "up" when the proxy has a working connection to
	// the shard, "down" when its last attempt failed, "unknown" before any
	// attempt.
	State string `json:"state"`
	// Masters is the number of partitions the shard masters; Copies the
	// number it holds in any role (masters included).
	Masters int `json:"masters"`
	Copies  int `json:"copies"`
}

// Migrations counts partition moves: a move fills a partition's new
// copies (snapshot, then the writes since) and then drops the copies it
// replaces.
type Migrations struct {
	// InFlight is the partitions with a move under way.
	InFlight int `json:"in_flight"`
	// Remaining is the partitions whose placement still has to change,
	// not started yet (limits, or paused).
	Remaining int `json:"remaining"`
	// Done counts the moves finished since the cluster was created.
	Done uint64 `json:"done"`
	// ETASeconds estimates the time left from the pace of the moves this
	// proxy saw finish; 0 when nothing is left or no pace is known yet.
	ETASeconds float64 `json:"eta_seconds,omitempty"`
	// BytesMoved and KeysMoved sum, over the shards that answered, the
	// snapshot bytes and keys they loaded into new copies (moves, and
	// copies catching up after a failure) since each shard started.
	BytesMoved uint64 `json:"bytes_moved"`
	KeysMoved  uint64 `json:"keys_moved"`
}

// addMoved adds the shards' SHARDIS.MOVED answers; a shard that is down
// or did not answer counts for nothing.
func (m *Migrations) addMoved(reqs []*request) {
	for _, q := range reqs {
		if q.err != nil {
			continue
		}
		v, _, err := resp.ParseValue(q.reply)
		if err != nil || v.Kind != resp.KindArray || len(v.Elems) != 3 {
			continue
		}
		m.BytesMoved += uint64(max(0, v.Elems[1].Int))
		m.KeysMoved += uint64(max(0, v.Elems[2].Int))
	}
}

// Status reports the cluster as this proxy sees it.
func (p *Proxy) Status() Status {
	rt := p.route.Load()
	st := Status{Epoch: rt.table.Epoch, Partitions: p.cfg.Partitions, RF: rt.table.RF}
	counts := rt.table.Counts()
	state := map[string]string{}
	for _, pool := range rt.pools {
		s := pool.state()
		state[pool.id] = s
		c := counts[pool.id]
		st.Nodes = append(st.Nodes, NodeStatus{ID: pool.id, Addr: pool.addr, State: s, Masters: c.Masters, Copies: c.Copies})
	}
	for part := 0; part < rt.table.Len(); part++ {
		live := 0
		for _, id := range rt.table.Owners(part) {
			if state[id] == stateUp {
				live++
			}
		}
		if live < rt.table.RF {
			st.UnderReplicated++
		}
	}
	if p.cfg.ClusterStatus != nil {
		p.cfg.ClusterStatus(&st)
	}
	return st
}

// cmdStatus answers SHARDIS.STATUS with Status as a JSON bulk string. On
// a cluster member it also asks every shard what snapshots carried.
func cmdStatus(p *Proxy, _ *client, _ [][]byte, earlier []*reply) *reply {
	st := p.Status()
	if p.cfg.ClusterStatus != nil {
		st.Migrations.addMoved(p.broadcast(earlier, []byte("SHARDIS.MOVED")))
	}
	b, err := json.Marshal(st)
	if err != nil {
		return errReply("ERR " + err.Error())
	}
	return done(resp.AppendBulk(nil, b))
}
