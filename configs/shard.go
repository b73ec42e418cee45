package configs

import (
	"flag"
	"strconv"
	"time"

	"github.com/shardis/shardis/shard"
)

// ShardFile is the configuration of `shardis shard`: one shard process.
type ShardFile struct {
	// ID names the shard in the cluster map; proxies refer to it by this
	// name. Required.
	ID string `yaml:"id"`
	// Addr is the internal RESP address proxies connect to.
	Addr string `yaml:"addr"`
	// DataDir holds one file per partition. Required unless Memory.
	DataDir string `yaml:"data-dir"`
	// Memory keeps every partition in memory only; nothing survives a restart.
	Memory bool `yaml:"memory"`
	// Partitions is the cluster's partition count: a power of two, the same
	// on every shard and proxy, fixed when the data dir is created.
	Partitions int `yaml:"partitions"`
	// Sync is when partition files are fsynced: always, everysec or no.
	Sync string `yaml:"sync"`
	// ExpiryInterval is how often expired keys are actively removed.
	ExpiryInterval time.Duration `yaml:"expiry-interval"`
	// MetricsAddr serves /metrics and /healthz over HTTP. Empty means none.
	MetricsAddr string `yaml:"metrics-addr"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
	// Limits bound what one connection may send.
	Limits `yaml:",inline"`
}

// DefaultShardFile returns the shard defaults. ID and DataDir have none:
// Validate asks for them.
func DefaultShardFile() ShardFile {
	return ShardFile{
		Addr:           "127.0.0.1:7001",
		Partitions:     DefaultPartitions,
		Sync:           string(shard.SyncEverySec),
		ExpiryInterval: 100 * time.Millisecond,
		LogLevel:       DefaultLogLevel,
		Limits:         DefaultLimits(),
	}
}

// LoadShardFile reads path over the defaults.
func LoadShardFile(path string) (ShardFile, error) {
	f := DefaultShardFile()
	err := load(path, &f)
	return f, err
}

// RegisterFlags binds one flag per field of f to fs, with f's current
// values as defaults. Parsing then overwrites only the fields whose flags
// are given, which is what lets flags override a file.
func (f *ShardFile) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.ID, "id", f.ID, "`ID` of this shard in the cluster map (required)")
	fs.StringVar(&f.Addr, "addr", f.Addr, "`HOST:PORT` of the internal RESP listener proxies connect to")
	fs.StringVar(&f.DataDir, "data-dir", f.DataDir, "`DIR` of the partition files (required unless --memory)")
	fs.BoolVar(&f.Memory, "memory", f.Memory, "keep partitions in memory only; nothing survives a restart")
	fs.IntVar(&f.Partitions, "partitions", f.Partitions, "`COUNT` of partitions in the cluster: a power of two, the same on every node")
	fs.StringVar(&f.Sync, "sync", f.Sync, "fsync `POLICY` of partition files: always, everysec or no")
	fs.DurationVar(&f.ExpiryInterval, "expiry-interval", f.ExpiryInterval, "`DURATION` between active expiry runs, e.g. 100ms")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", f.MetricsAddr, "`HOST:PORT` serving /metrics and /healthz over HTTP (empty: none)")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "log `LEVEL`: debug, info, warn or error")
	f.Limits.registerFlags(fs)
}

// Validate reports every problem in f, each naming the field and its value.
func (f ShardFile) Validate() error {
	p := &problems{role: "shard"}
	if f.ID == "" {
		p.add("id", `""`, "is required (e.g. --id shard-1)")
	}
	p.addr("addr", f.Addr, false)
	if f.DataDir == "" && !f.Memory {
		p.add("data-dir", `""`, "is required unless memory is set")
	}
	p.partitions(f.Partitions)
	switch shard.SyncPolicy(f.Sync) {
	case shard.SyncAlways, shard.SyncEverySec, shard.SyncNo:
	default:
		p.add("sync", strconv.Quote(f.Sync), "is not a sync policy (always, everysec, no)")
	}
	if f.ExpiryInterval <= 0 {
		p.add("expiry-interval", f.ExpiryInterval.String(), "must be positive")
	}
	p.addr("metrics-addr", f.MetricsAddr, true)
	p.logLevel(f.LogLevel)
	f.Limits.validate(p)
	return p.err()
}

// ToShardConfig builds the runtime config. Registerer and Logger are left
// for the caller, which owns the process's registry and log handler.
func (f ShardFile) ToShardConfig() shard.Config {
	return shard.Config{
		ID:             f.ID,
		Addr:           f.Addr,
		DataDir:        f.DataDir,
		InMemory:       f.Memory,
		Partitions:     f.Partitions,
		Sync:           shard.SyncPolicy(f.Sync),
		ExpiryInterval: f.ExpiryInterval,
		Limits:         f.Limits.ToResp(),
	}
}
