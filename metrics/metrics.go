// Package metrics holds every Prometheus metric Shardis exposes, the
// per-process registries they live in, and the HTTP handler that serves them.
//
// Every process (and every component of `shardis dev`) registers on its own
// registry, never the global one, so tests can start many in one process.
package metrics

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "shardis"

// NewRegistry returns a registry holding the Go runtime and process
// collectors, ready for a component's metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves /metrics from g, answers /healthz with 200 OK while the
// process runs, and /readyz with 200 OK when ready reports nil (or is nil)
// and 503 with its error otherwise: orchestrators send traffic, or count
// a node as available, only once it is ready. With profiling it also
// serves Go's profiles under /debug/pprof/; that is opt-in because a
// profile costs CPU while it runs and shows the process's internals to
// whoever can reach the address.
func Handler(g prometheus.Gatherer, profiling bool, ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// latencyBuckets spans 50µs to ~3s: a loopback hop is tens of microseconds,
// a timed-out backend is seconds.
var latencyBuckets = prometheus.ExponentialBuckets(50e-6, 2.5, 13)

// Commands counts commands by name and result and times them. Children are
// cached per command name because WithLabelValues on every call costs more
// than the command itself on the hot path.
type Commands struct {
	total   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	cache   sync.Map // command name -> *commandStats
}

type commandStats struct {
	ok, err prometheus.Counter
	latency prometheus.Observer
}

func newCommands(reg prometheus.Registerer, subsystem string) *Commands {
	c := &Commands{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "commands_total",
			Help: "Commands processed, by command name and result (ok or error).",
		}, []string{"command", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "command_duration_seconds",
			Help:    "Time from reading a command to having its reply, by command name.",
			Buckets: latencyBuckets,
		}, []string{"command"}),
	}
	reg.MustRegister(c.total, c.latency)
	return c
}

func (c *Commands) stats(name string) *commandStats {
	if s, ok := c.cache.Load(name); ok {
		return s.(*commandStats)
	}
	s := &commandStats{
		ok:      c.total.WithLabelValues(name, "ok"),
		err:     c.total.WithLabelValues(name, "error"),
		latency: c.latency.WithLabelValues(name),
	}
	actual, _ := c.cache.LoadOrStore(name, s)
	return actual.(*commandStats)
}

// Observe records one command. name should come from the command table
// (lower case, bounded set) so label cardinality stays bounded.
func (c *Commands) Observe(name string, ok bool, d time.Duration) {
	s := c.stats(name)
	if ok {
		s.ok.Inc()
	} else {
		s.err.Inc()
	}
	s.latency.Observe(d.Seconds())
}

// Conns tracks client connections and bytes.
type Conns struct {
	Open     prometheus.Gauge
	Accepted prometheus.Counter
	BytesIn  prometheus.Counter
	BytesOut prometheus.Counter
}

func newConns(reg prometheus.Registerer, subsystem, who string) *Conns {
	c := &Conns{
		Open: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "connections",
			Help: "Open " + who + " connections.",
		}),
		Accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "connections_accepted_total",
			Help: "Accepted " + who + " connections.",
		}),
		BytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "read_bytes_total",
			Help: "Bytes read from " + who + " connections.",
		}),
		BytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "written_bytes_total",
			Help: "Bytes written to " + who + " connections.",
		}),
	}
	reg.MustRegister(c.Open, c.Accepted, c.BytesIn, c.BytesOut)
	return c
}

// Shard is the set of metrics a shard process exposes.
type Shard struct {
	Commands *Commands
	Conns    *Conns
	// Keys is the number of keys stored (expired keys not yet reaped included).
	Keys prometheus.Gauge
	// Partitions is the number of partition stores open on this shard.
	Partitions prometheus.Gauge
	// StoreBytes is the size of the partition files on disk.
	StoreBytes prometheus.Gauge
	// Expired counts keys removed by active expiry.
	Expired prometheus.Counter
}

// NewShard registers the shard metrics on reg.
func NewShard(reg prometheus.Registerer) *Shard {
	m := &Shard{
		Commands: newCommands(reg, "shard"),
		Conns:    newConns(reg, "shard", "internal"),
		Keys: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "shard", Name: "keys",
			Help: "Keys held by this shard, including expired keys not yet reaped.",
		}),
		Partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "shard", Name: "partitions",
			Help: "Partition stores open on this shard.",
		}),
		StoreBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "shard", Name: "store_bytes",
			Help: "Size of this shard's partition files on disk.",
		}),
		Expired: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "shard", Name: "expired_keys_total",
			Help: "Keys removed by active expiry.",
		}),
	}
	reg.MustRegister(m.Keys, m.Partitions, m.StoreBytes, m.Expired)
	return m
}

// Proxy is the set of metrics a proxy process exposes.
type Proxy struct {
	Commands *Commands
	Conns    *Conns
	// BackendErrors counts requests that failed because a shard could not
	// be reached or did not answer in time, by shard id.
	BackendErrors *prometheus.CounterVec
	// BackendPending is the number of requests written to shards and not
	// yet answered.
	BackendPending prometheus.Gauge
	// MapEpoch is the epoch of the cluster map the proxy routes by.
	MapEpoch prometheus.Gauge
	// Rerouted counts requests sent again by a newer map after a shard
	// answered that it no longer masters their partition.
	Rerouted prometheus.Counter
}

// NewProxy registers the proxy metrics on reg.
func NewProxy(reg prometheus.Registerer) *Proxy {
	m := &Proxy{
		Commands: newCommands(reg, "proxy"),
		Conns:    newConns(reg, "proxy", "client"),
		BackendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "proxy", Name: "backend_errors_total",
			Help: "Requests failed because a shard was unreachable or timed out, by shard.",
		}, []string{"shard"}),
		BackendPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "proxy", Name: "backend_pending_requests",
			Help: "Requests written to shards and not yet answered.",
		}),
		MapEpoch: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "proxy", Name: "map_epoch",
			Help: "Epoch of the cluster map this proxy routes by.",
		}),
	}
	m.Rerouted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "proxy", Name: "rerouted_requests_total",
		Help: "Requests sent again by a newer cluster map after a shard no longer mastered their partition.",
	})
	reg.MustRegister(m.BackendErrors, m.BackendPending, m.MapEpoch, m.Rerouted)
	return m
}

// FollowerLag is how far one follower is behind a master, over every
// partition the master holds for it.
type FollowerLag struct {
	// Effects is how many effects (seqs) the follower has not
	// acknowledged, summed over the partitions.
	Effects uint64
	// Oldest is the age of the oldest write the follower has not
	// acknowledged (0 when it acknowledged everything). When that write
	// already left the master's effect log it is the age of the oldest
	// logged one: the true age is larger.
	Oldest time.Duration
	// OldestKnown is false when the follower lags but the master's logs
	// hold nothing to date its writes by (after a restart); Oldest is then
	// not exported.
	OldestKnown bool
}

// ShardReplication is a shard's replication state as its collector exports
// it, read from the shard under its locks at every scrape.
type ShardReplication struct {
	// Masters and Followers count the partitions the shard masters and
	// follows.
	Masters, Followers int
	// Lag is per follower id, over the partitions this shard masters.
	Lag map[string]FollowerLag
	// Snapshot transfers: bytes this shard sent as a master and received
	// as a follower, the sessions open on it now, the sessions abandoned
	// because writes outgrew the effect log kept for them, and the
	// snapshots its followed partitions loaded.
	SnapshotBytesSent, SnapshotBytesReceived uint64
	SnapshotSessions                         int
	SnapshotPinsDropped, SnapshotsLoaded     uint64
}

// replCollector exports a ShardReplication read at scrape time, so the
// write path pays nothing for the lag figures.
type replCollector struct {
	read              func() ShardReplication
	lag, oldest, role *prometheus.Desc

	snapSent, snapReceived, snapSessions, snapDropped, snapLoaded *prometheus.Desc
}

// NewShardReplication registers on reg the shard's replication metrics,
// computed by read at every scrape: lag per follower in effects and in
// seconds, and partitions by role. read runs on the scraping goroutine and
// must be safe for concurrent use.
func NewShardReplication(reg prometheus.Registerer, read func() ShardReplication) {
	reg.MustRegister(&replCollector{
		read: read,
		lag: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "replication_lag_effects"),
			"Effects (seqs) a follower has not acknowledged, summed over the partitions this shard masters, by follower id.",
			[]string{"follower"}, nil),
		oldest: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "replication_oldest_unacked_seconds"),
			"Age of the oldest write a follower has not acknowledged on the partitions this shard masters (0 when none), by follower id.",
			[]string{"follower"}, nil),
		role: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "partitions_by_role"),
			"Partitions this shard masters or follows in the applied cluster map (before any map: follower-flagged partitions, the rest as master).",
			[]string{"role"}, nil),
		snapSent: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "snapshot_sent_bytes_total"),
			"Snapshot bytes this shard sent to copies being loaded.", nil, nil),
		snapReceived: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "snapshot_received_bytes_total"),
			"Snapshot bytes this shard received for the partitions it loads.", nil, nil),
		snapSessions: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "snapshot_sessions"),
			"Snapshot sessions open on this shard.", nil, nil),
		snapDropped: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "snapshot_pins_dropped_total"),
			"Snapshot sessions abandoned because the partition's writes outgrew the effect log kept for them.", nil, nil),
		snapLoaded: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "shard", "snapshots_loaded_total"),
			"Snapshots this shard's followed partitions loaded.", nil, nil),
	})
}

// Describe implements prometheus.Collector.
func (c *replCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.oldest
	ch <- c.role
	ch <- c.snapSent
	ch <- c.snapReceived
	ch <- c.snapSessions
	ch <- c.snapDropped
	ch <- c.snapLoaded
}

// Collect implements prometheus.Collector.
func (c *replCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.read()
	ch <- prometheus.MustNewConstMetric(c.role, prometheus.GaugeValue, float64(r.Masters), "master")
	ch <- prometheus.MustNewConstMetric(c.role, prometheus.GaugeValue, float64(r.Followers), "follower")
	ch <- prometheus.MustNewConstMetric(c.snapSent, prometheus.CounterValue, float64(r.SnapshotBytesSent))
	ch <- prometheus.MustNewConstMetric(c.snapReceived, prometheus.CounterValue, float64(r.SnapshotBytesReceived))
	ch <- prometheus.MustNewConstMetric(c.snapSessions, prometheus.GaugeValue, float64(r.SnapshotSessions))
	ch <- prometheus.MustNewConstMetric(c.snapDropped, prometheus.CounterValue, float64(r.SnapshotPinsDropped))
	ch <- prometheus.MustNewConstMetric(c.snapLoaded, prometheus.CounterValue, float64(r.SnapshotsLoaded))
	for id, l := range r.Lag {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(l.Effects), id)
		if l.OldestKnown {
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, l.Oldest.Seconds(), id)
		}
	}
}

// ClusterView is one member's view of the cluster map it last adopted, as
// its cluster collector exports it.
type ClusterView struct {
	// Epoch is the map's epoch (0 before the first map).
	Epoch uint64
	// Up and Down count the shards the map lists by state. Proxies are
	// gossip members but not in the map, so they are not counted.
	Up, Down int
	// UnderReplicated counts the partitions with fewer in-sync copies than
	// the replication factor.
	UnderReplicated int
	// ByInSync[n] is the number of partitions with n in-sync copies; its
	// length is at least RF+1 so every count up to RF is exported, zeros
	// included.
	ByInSync []int
	// MovesInFlight and MovesRemaining count the partitions with a move
	// under way and those still to move; MovesDone counts the moves
	// finished since the cluster was created.
	MovesInFlight, MovesRemaining int
	MovesDone                     uint64
	// Draining counts the shards being decommissioned that still hold
	// copies.
	Draining int
}

// failoverBuckets span 1ms to ~24s: the time from the controller marking a
// node down to a member adopting the map that promoted its partitions'
// followers is a Raft commit plus a map long-poll when all is well, seconds
// when members cannot reach a voter.
var failoverBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 12)

// Cluster is the set of metrics every cluster member (shard or proxy)
// exposes about the cluster map it holds, so any one member's /metrics
// shows the cluster's health.
type Cluster struct {
	// Failovers counts partitions whose master changed, between two maps
	// this member adopted, because the old master went down (planned
	// handovers to a live master are not failovers).
	Failovers prometheus.Counter
	// FailoverSeconds observes, once per failed node and adopted map that
	// promoted new masters for its partitions, the time from the
	// controller marking that node down to this member adopting the map.
	FailoverSeconds prometheus.Histogram

	read                                func() ClusterView
	epoch, members, underRepl, byInSync *prometheus.Desc
	moves, movesDone                    *prometheus.Desc
}

// NewCluster registers on reg the cluster metrics of one member; the map
// gauges are computed by read at every scrape (it must be safe for
// concurrent use). Unlike the other sets it returns an error rather than
// panic: two members sharing one registry unlabelled would collide here
// only, and the caller can refuse to start instead.
func NewCluster(reg prometheus.Registerer, read func() ClusterView) (*Cluster, error) {
	c := &Cluster{
		Failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "cluster", Name: "failovers_total",
			Help: "Partitions whose master changed between two adopted cluster maps because the old master went down.",
		}),
		FailoverSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "cluster", Name: "failover_seconds",
			Help:    "Time from the controller marking a node down to this member adopting the map that promoted new masters for its partitions.",
			Buckets: failoverBuckets,
		}),
		read: read,
		epoch: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cluster", "map_epoch"),
			"Epoch of the cluster map this member holds.", nil, nil),
		members: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cluster", "members"),
			"Shards listed in the cluster map, by state (up or down; draining counts the decommissioned ones still holding copies, also counted as up or down); proxies are not in the map.", []string{"state"}, nil),
		underRepl: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cluster", "under_replicated_partitions"),
			"Partitions with fewer in-sync copies than the replication factor.", nil, nil),
		byInSync: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cluster", "partitions_by_insync"),
			"Partitions by number of in-sync copies (0 means no master).", []string{"copies"}, nil),
		moves: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cluster", "migrations"),
			"Partition moves by state: in_flight (copies filling or handing over) or remaining (not started: limits or paused).", []string{"state"}, nil),
		movesDone: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "cluster", "migrations_done_total"),
			"Partition moves finished since the cluster was created, as the cluster map counts them.", nil, nil),
	}
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *Cluster) Describe(ch chan<- *prometheus.Desc) {
	c.Failovers.Describe(ch)
	c.FailoverSeconds.Describe(ch)
	ch <- c.epoch
	ch <- c.members
	ch <- c.underRepl
	ch <- c.byInSync
	ch <- c.moves
	ch <- c.movesDone
}

// Collect implements prometheus.Collector.
func (c *Cluster) Collect(ch chan<- prometheus.Metric) {
	c.Failovers.Collect(ch)
	c.FailoverSeconds.Collect(ch)
	v := c.read()
	ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(v.Epoch))
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(v.Up), "up")
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(v.Down), "down")
	ch <- prometheus.MustNewConstMetric(c.underRepl, prometheus.GaugeValue, float64(v.UnderReplicated))
	for n, parts := range v.ByInSync {
		ch <- prometheus.MustNewConstMetric(c.byInSync, prometheus.GaugeValue, float64(parts), strconv.Itoa(n))
	}
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(v.Draining), "draining")
	ch <- prometheus.MustNewConstMetric(c.moves, prometheus.GaugeValue, float64(v.MovesInFlight), "in_flight")
	ch <- prometheus.MustNewConstMetric(c.moves, prometheus.GaugeValue, float64(v.MovesRemaining), "remaining")
	ch <- prometheus.MustNewConstMetric(c.movesDone, prometheus.CounterValue, float64(v.MovesDone))
}
