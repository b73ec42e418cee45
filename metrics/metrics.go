// Package metrics holds every Prometheus metric Shardis exposes, the
// per-process registries they live in, and the HTTP handler that serves them.
//
// Every process (and every component of `shardis dev`) registers on its own
// registry, never the global one, so tests can start many in one process.
package metrics

import (
	"net/http"
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

// Handler serves /metrics from g and answers /healthz with 200 OK.
func Handler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
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
