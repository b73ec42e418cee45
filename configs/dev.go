package configs

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/shard"
)

// MaxDevShards bounds `shardis dev --shards`: every shard of a dev cluster
// runs in one process, and a few dozen already exceed what a laptop serves
// better than fewer.
const MaxDevShards = 64

// DevFile is the configuration of `shardis dev`: a whole cluster (shards and
// one proxy) in one process on loopback, the first thing a newcomer runs.
type DevFile struct {
	// Addr is the client address of the dev cluster's proxy.
	Addr string `yaml:"addr"`
	// MetricsAddr serves /metrics (every component, labelled by node) and
	// /healthz. Empty means none.
	MetricsAddr string `yaml:"metrics-addr"`
	// Pprof also serves Go's runtime profiles (/debug/pprof/) on
	// MetricsAddr, for finding where CPU and memory go.
	Pprof bool `yaml:"pprof"`
	// DataDir holds the shards' files, one subdirectory per shard, and
	// with RF above 1 the controller's Raft log and snapshots (under the
	// first shard's, in raft/). It is kept on exit, and a later run on it
	// comes back with its data and its cluster map. Empty means a new
	// temporary directory removed on exit.
	DataDir string `yaml:"data-dir"`
	// Shards is the number of shards.
	Shards int `yaml:"shards"`
	// Memory keeps every partition in memory only.
	Memory bool `yaml:"memory"`
	// Partitions is the cluster's partition count, a power of two.
	Partitions int `yaml:"partitions"`
	// Password, when set, makes clients AUTH first.
	Password string `yaml:"password"`
	// RF is the number of copies of every partition, at most Shards. 1
	// runs the shards with a static map; more runs them as a replicated
	// cluster (gossip membership, a controller on shard-1, failover), as in
	// production. A kept DataDir is bound to the RF it was created with.
	RF int `yaml:"rf"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
}

// DefaultDevFile returns the dev defaults.
func DefaultDevFile() DevFile {
	return DevFile{
		Addr:        "127.0.0.1:6379",
		MetricsAddr: "127.0.0.1:9121",
		Shards:      3,
		Partitions:  DefaultPartitions,
		RF:          cluster.DefaultRF,
		LogLevel:    DefaultLogLevel,
	}
}

// LoadDevFile reads path over the defaults.
func LoadDevFile(path string) (DevFile, error) {
	f := DefaultDevFile()
	err := load(path, &f)
	return f, err
}

// RegisterFlags binds one flag per field of f to fs, with f's current values
// as defaults; see ShardFile.RegisterFlags.
func (f *DevFile) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", f.Addr, "`HOST:PORT` redis-cli and client libraries connect to")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", f.MetricsAddr, "`HOST:PORT` serving /metrics and /healthz of the whole cluster over HTTP (empty: none)")
	fs.BoolVar(&f.Pprof, "pprof", f.Pprof, "also serve Go's profiles under /debug/pprof/ on metrics-addr")
	fs.StringVar(&f.DataDir, "data-dir", f.DataDir, "`DIR` for the shards' files, kept on exit (empty: a temporary directory removed on exit)")
	fs.IntVar(&f.Shards, "shards", f.Shards, "`COUNT` of shards")
	fs.BoolVar(&f.Memory, "memory", f.Memory, "keep partitions in memory only")
	fs.IntVar(&f.Partitions, "partitions", f.Partitions, "`COUNT` of partitions: a power of two")
	fs.StringVar(&f.Password, "password", f.Password, "`PASSWORD` clients must AUTH with (empty: none)")
	fs.IntVar(&f.RF, "rf", f.RF, "`COUNT` of copies of every partition; above 1 the shards replicate and fail over")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "log `LEVEL`: debug, info, warn or error")
}

// Validate reports every problem in f, each naming the field and its value.
func (f DevFile) Validate() error {
	p := &problems{role: "dev"}
	p.addr("addr", f.Addr, false)
	p.addr("metrics-addr", f.MetricsAddr, true)
	if f.Pprof && f.MetricsAddr == "" {
		p.add("pprof", "true", "needs metrics-addr to serve the profiles on")
	}
	if f.Shards < 1 || f.Shards > MaxDevShards {
		p.add("shards", strconv.Itoa(f.Shards), fmt.Sprintf("is out of range (1 to %d)", MaxDevShards))
	}
	p.partitions(f.Partitions)
	switch {
	case f.RF < 1:
		p.add("rf", strconv.Itoa(f.RF), "must be at least 1")
	case f.Shards >= 1 && f.RF > f.Shards:
		p.add("rf", strconv.Itoa(f.RF), fmt.Sprintf("is more than shards (%d): every copy needs a shard of its own; lower --rf or raise --shards", f.Shards))
	}
	p.logLevel(f.LogLevel)
	return p.err()
}

// DevShardID names the i-th (0-based) shard of a dev cluster.
func DevShardID(i int) string { return fmt.Sprintf("shard-%d", i+1) }

// ShardConfig builds the runtime config of the i-th (0-based) shard of the
// dev cluster: a free loopback port, and dataDir/shard-N for its files.
func (f DevFile) ShardConfig(i int, dataDir string) shard.Config {
	c := DefaultShardFile()
	c.ID = DevShardID(i)
	c.Addr = "127.0.0.1:0"
	c.Memory = f.Memory
	if !f.Memory {
		c.DataDir = filepath.Join(dataDir, c.ID)
	}
	c.Partitions = f.Partitions
	return c.ToShardConfig()
}

// MinInSync is the fewest in-sync copies with which a partition of the dev
// cluster takes writes: the production default, or RF when lower.
func (f DevFile) MinInSync() int { return min(cluster.DefaultMinInSync, f.RF) }

// ControllerConfig builds the config of the dev cluster's controller, a
// single voter on raftAddr run by the shard whose files are in shardDir:
// the controller `shardis shard` would run there, so its Raft log and
// snapshots go to shardDir/raft (in memory with Memory).
func (f DevFile) ControllerConfig(raftAddr, shardDir string) *cluster.ControllerConfig {
	s := DefaultShardFile()
	s.RaftAddr, s.DataDir, s.Memory = raftAddr, shardDir, f.Memory
	s.RF, s.MinInSync, s.Partitions = f.RF, f.MinInSync(), f.Partitions
	return s.ControllerConfig()
}

// ProxyConfig builds the runtime config of the dev cluster's proxy, routing
// to the given (already started) shards.
func (f DevFile) ProxyConfig(shards []proxy.Backend) proxy.Config {
	c := DefaultProxyFile()
	c.Addr = f.Addr
	c.Partitions = f.Partitions
	c.Password = f.Password
	pc := c.ToProxyConfig()
	pc.Shards = append([]proxy.Backend(nil), shards...)
	return pc
}
