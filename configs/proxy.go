package configs

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shardis/shardis/proxy"
)

// Backend is one shard a proxy routes to.
type Backend struct {
	// ID is the shard's id (its --id).
	ID string `yaml:"id"`
	// Addr is the shard's internal RESP address (its --addr).
	Addr string `yaml:"addr"`
}

// ProxyFile is the configuration of `shardis proxy`.
type ProxyFile struct {
	// Addr is the client address (RESP).
	Addr string `yaml:"addr"`
	// Shards lists every shard of the cluster. Required.
	Shards []Backend `yaml:"shard"`
	// Partitions is the cluster's partition count; it must match the shards'.
	Partitions int `yaml:"partitions"`
	// Password, when set, makes clients AUTH first.
	Password string `yaml:"password"`
	// ConnsPerShard is the number of pipelined connections to each shard.
	ConnsPerShard int `yaml:"conns-per-shard"`
	// BackendTimeout bounds a connect to, or a reply from, a shard.
	BackendTimeout time.Duration `yaml:"backend-timeout"`
	// RetryBudget bounds how long a request a shard refused because the
	// cluster map moved waits for a newer map before the client gets
	// TRYAGAIN.
	RetryBudget time.Duration `yaml:"retry-budget"`
	// MaxPipeline bounds requests in flight on one shard connection.
	MaxPipeline int `yaml:"max-pipeline"`
	// MaxClients caps client connections.
	MaxClients int `yaml:"max-clients"`
	// MetricsAddr serves /metrics and /healthz over HTTP. Empty means none.
	MetricsAddr string `yaml:"metrics-addr"`
	// Pprof also serves Go's runtime profiles (/debug/pprof/) on
	// MetricsAddr, for finding where CPU and memory go.
	Pprof bool `yaml:"pprof"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
	// Limits bound what one client may send.
	Limits `yaml:",inline"`

	// Gossip makes the proxy a cluster member: it then finds the shards
	// and routes by the cluster map, and Shards must be empty.
	Gossip `yaml:",inline"`
	// Advertise is where the proxy is published to the other members
	// (and `shardis status`), when Addr or GossipAddr binds a wildcard or
	// sits behind NAT or a load balancer.
	Advertise `yaml:",inline"`
	// ID names the proxy among cluster members. Empty means proxy@ADDR,
	// ADDR being AdvertiseAddr when set (proxies binding the same wildcard
	// address on many machines must not share a name), else Addr.
	ID string `yaml:"id"`
	// MapWait bounds how long a starting member proxy waits for a cluster
	// map that names a master for every partition.
	MapWait time.Duration `yaml:"map-wait"`
}

// DefaultProxyFile returns the proxy defaults. Shards has none: Validate asks
// for at least one.
func DefaultProxyFile() ProxyFile {
	return ProxyFile{
		Addr:           "127.0.0.1:6379",
		Partitions:     DefaultPartitions,
		ConnsPerShard:  2,
		BackendTimeout: 5 * time.Second,
		RetryBudget:    2 * time.Second,
		MaxPipeline:    4096,
		MaxClients:     10000,
		LogLevel:       DefaultLogLevel,
		Limits:         DefaultLimits(),
		Gossip:         DefaultGossip(),
		MapWait:        30 * time.Second,
	}
}

// LoadProxyFile reads path over the defaults.
func LoadProxyFile(path string) (ProxyFile, error) {
	f := DefaultProxyFile()
	err := load(path, &f)
	return f, err
}

// RegisterFlags binds one flag per field of f to fs, with f's current values
// as defaults; see ShardFile.RegisterFlags.
func (f *ProxyFile) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", f.Addr, "`HOST:PORT` clients connect to")
	fs.Var(&backendList{list: &f.Shards}, "shard", "a shard as `ID=HOST:PORT`; repeat the flag or give a comma-separated list (required)")
	fs.IntVar(&f.Partitions, "partitions", f.Partitions, "`COUNT` of partitions in the cluster: a power of two, the same on every node")
	fs.StringVar(&f.Password, "password", f.Password, "`PASSWORD` clients must AUTH with (empty: none)")
	fs.IntVar(&f.ConnsPerShard, "conns-per-shard", f.ConnsPerShard, "`COUNT` of pipelined connections to each shard, shared by all clients")
	fs.DurationVar(&f.BackendTimeout, "backend-timeout", f.BackendTimeout, "longest wait (`DURATION`, e.g. 5s) for a shard to connect or reply")
	fs.DurationVar(&f.RetryBudget, "retry-budget", f.RetryBudget, "longest wait (`DURATION`) for a newer cluster map when a shard no longer masters a key's partition")
	fs.IntVar(&f.MaxPipeline, "max-pipeline", f.MaxPipeline, "`COUNT` of requests in flight on one shard connection")
	fs.IntVar(&f.MaxClients, "max-clients", f.MaxClients, "`COUNT` of client connections allowed at once")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", f.MetricsAddr, "`HOST:PORT` serving /metrics and /healthz over HTTP (empty: none)")
	fs.BoolVar(&f.Pprof, "pprof", f.Pprof, "also serve Go's profiles under /debug/pprof/ on metrics-addr")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "log `LEVEL`: debug, info, warn or error")
	f.Limits.registerFlags(fs)
	f.Gossip.registerFlags(fs)
	f.Advertise.registerFlags(fs)
	fs.StringVar(&f.ID, "id", f.ID, "`ID` of this proxy among cluster members (empty: proxy@ADDR)")
	fs.DurationVar(&f.MapWait, "map-wait", f.MapWait, "longest wait (`DURATION`) at start for a cluster map")
}

// MemberID is the proxy's id among cluster members.
func (f ProxyFile) MemberID() string {
	if f.ID != "" {
		return f.ID
	}
	if f.AdvertiseAddr != "" {
		return "proxy@" + f.AdvertiseAddr
	}
	return "proxy@" + f.Addr
}

// Validate reports every problem in f, each naming the field and its value.
func (f ProxyFile) Validate() error {
	p := &problems{role: "proxy"}
	p.addr("addr", f.Addr, false)
	switch {
	case f.Member() && len(f.Shards) > 0:
		p.add("shard", strconv.Quote((&backendList{list: &f.Shards}).String()), "must be empty on a cluster member (gossip-addr set): shards are found by gossip")
	case f.Member() && len(f.Join) == 0:
		p.add("join", "[]", "is empty: a proxy must join the cluster (--join IP:PORT of a shard)")
	case !f.Member() && len(f.Shards) == 0:
		p.add("shard", "[]", "is empty: give at least one shard (--shard ID=HOST:PORT), or join a cluster (--gossip-addr, --join)")
	}
	ids := map[string]int{}
	addrs := map[string]int{}
	for i, b := range f.Shards {
		field := fmt.Sprintf("shard[%d]", i)
		if b.ID == "" {
			p.add(field+".id", `""`, "is required")
		} else if j, dup := ids[b.ID]; dup {
			p.add(field+".id", strconv.Quote(b.ID), fmt.Sprintf("is also the id of shard[%d]", j))
		} else {
			ids[b.ID] = i
		}
		p.addr(field+".addr", b.Addr, false)
		if j, dup := addrs[b.Addr]; dup && b.Addr != "" {
			p.add(field+".addr", strconv.Quote(b.Addr), fmt.Sprintf("is also the address of shard[%d]", j))
		} else {
			addrs[b.Addr] = i
		}
	}
	p.partitions(f.Partitions)
	p.positive("conns-per-shard", int64(f.ConnsPerShard), strconv.Itoa(f.ConnsPerShard))
	p.positive("backend-timeout", int64(f.BackendTimeout), f.BackendTimeout.String())
	p.positive("retry-budget", int64(f.RetryBudget), f.RetryBudget.String())
	p.positive("max-pipeline", int64(f.MaxPipeline), strconv.Itoa(f.MaxPipeline))
	p.positive("max-clients", int64(f.MaxClients), strconv.Itoa(f.MaxClients))
	p.addr("metrics-addr", f.MetricsAddr, true)
	if f.Pprof && f.MetricsAddr == "" {
		p.add("pprof", "true", "needs metrics-addr to serve the profiles on")
	}
	p.logLevel(f.LogLevel)
	f.Limits.validate(p)
	f.Gossip.validate(p)
	f.Advertise.validate(p, f.Addr, f.Gossip)
	p.positive("map-wait", int64(f.MapWait), f.MapWait.String())
	return p.err()
}

// ToProxyConfig builds the runtime config. Registerer and Logger are left
// for the caller.
func (f ProxyFile) ToProxyConfig() proxy.Config {
	shards := make([]proxy.Backend, len(f.Shards))
	for i, b := range f.Shards {
		shards[i] = proxy.Backend{ID: b.ID, Addr: b.Addr}
	}
	return proxy.Config{
		Addr:           f.Addr,
		Shards:         shards,
		Partitions:     f.Partitions,
		Password:       f.Password,
		ConnsPerShard:  f.ConnsPerShard,
		BackendTimeout: f.BackendTimeout,
		RetryBudget:    f.RetryBudget,
		MaxPipeline:    f.MaxPipeline,
		MaxClients:     f.MaxClients,
		Limits:         f.Limits.ToResp(),
	}
}

// backendList is the --shard flag. The first Set replaces the list (which
// may hold the file's shards); later ones append, so repeating the flag
// builds the list and flags still override the file.
type backendList struct {
	list    *[]Backend
	touched bool
}

func (b *backendList) String() string {
	if b == nil || b.list == nil {
		return ""
	}
	parts := make([]string, len(*b.list))
	for i, s := range *b.list {
		parts[i] = s.ID + "=" + s.Addr
	}
	return strings.Join(parts, ",")
}

func (b *backendList) Set(v string) error {
	var add []Backend
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, addr, ok := strings.Cut(item, "=")
		if !ok || id == "" || addr == "" {
			return fmt.Errorf("%q is not ID=HOST:PORT", item)
		}
		if msg := checkAddr(addr); msg != "" {
			return fmt.Errorf("%q: address %s", item, msg)
		}
		add = append(add, Backend{ID: id, Addr: addr})
	}
	if len(add) == 0 {
		return fmt.Errorf("%q names no shard (want ID=HOST:PORT)", v)
	}
	if !b.touched {
		*b.list = nil
		b.touched = true
	}
	*b.list = append(*b.list, add...)
	return nil
}
