package configs

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/shardis/shardis/cluster"
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
	// SweepBatch is how many elements of deleted collections one
	// background sweep transaction deletes (each batch is followed by at
	// least as long a pause for the partition's writers).
	SweepBatch int `yaml:"sweep-batch"`
	// MetricsAddr serves /metrics and /healthz over HTTP. Empty means none.
	MetricsAddr string `yaml:"metrics-addr"`
	// Pprof also serves Go's runtime profiles (/debug/pprof/) on
	// MetricsAddr, for finding where CPU and memory go.
	Pprof bool `yaml:"pprof"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
	// Limits bound what one connection may send.
	Limits `yaml:",inline"`

	// Gossip makes the shard a cluster member: it then takes its roles
	// (master or follower of each partition) from the cluster map.
	Gossip `yaml:",inline"`
	// Advertise is what the other members dial, when Addr or GossipAddr
	// binds a wildcard or sits behind NAT.
	Advertise `yaml:",inline"`
	// RaftAddr, on the few shards that run the controller (3 or 5 in a
	// production cluster), is the IP:PORT of its Raft transport. A voter
	// also serves the cluster map on MetricsAddr, which it then needs.
	RaftAddr string `yaml:"raft-addr"`
	// AdvertiseRaftAddr is HOST:PORT the other voters dial RaftAddr at,
	// and this voter's address in their Raft configuration; HOST may be a
	// DNS name, which keeps a voter that comes back with another IP (a
	// rescheduled pod) in the group. PORT 0 means the port RaftAddr bound.
	// Empty means RaftAddr itself, which must then name one host.
	AdvertiseRaftAddr string `yaml:"advertise-raft-addr"`
	// Voters is the initial controller group, every voter as ID=IP:PORT
	// (its raft-addr), the same list on every voter; used only the first
	// time a voter starts. Empty on a voter means a group of one. A shard
	// with RaftAddr that the list does not name is no voter and runs no
	// controller (a running group takes no new voters), so one command
	// line serves every shard, as in a Kubernetes StatefulSet whose first
	// pods are the voters.
	Voters []Backend `yaml:"voter"`
	// ElectionTimeout is how long controller voters go without hearing
	// from their leader before electing another; a failover whose leader
	// died waits for it. Raft's 1 s default is tuned for WANs.
	ElectionTimeout time.Duration `yaml:"election-timeout"`
	// RF is the number of copies of every partition in a new cluster.
	RF int `yaml:"rf"`
	// MinInSync is the fewest in-sync copies with which a partition still
	// takes writes; with fewer it refuses them rather than risk losing one.
	MinInSync int `yaml:"min-insync"`
	// CommitLevel is when a write is acknowledged: all (every in-sync copy
	// has it) or master (the master has it: faster, and a failover can lose
	// the newest acknowledged writes).
	CommitLevel string `yaml:"commit-level"`
	// ReplAckTimeout bounds the wait for followers' acknowledgements before
	// a lagging follower is reported out of sync.
	ReplAckTimeout time.Duration `yaml:"repl-ack-timeout"`
	// ReplaceAfter is how long a shard may stay down before its copies are
	// placed on other shards (a negative value never replaces).
	ReplaceAfter time.Duration `yaml:"replace-after"`
	// AutoRebalance lets partitions move by themselves when shards join or
	// are decommissioned; false creates the cluster with moves paused
	// (`shardis rebalance resume` starts them). Read by the voters when
	// they create the cluster only.
	AutoRebalance bool `yaml:"auto-rebalance"`
	// SnapshotRate bounds the snapshot bytes per second this shard sends
	// to copies being loaded, all transfers together; 0 is unlimited.
	SnapshotRate Size `yaml:"snapshot-rate"`
	// SnapshotChunkSize is the most one snapshot read sends (and a
	// follower asks for), in bytes.
	SnapshotChunkSize Size `yaml:"snapshot-chunk-size"`
	// SnapshotIdleTimeout is how long a snapshot session may go unused
	// before it is removed with its file.
	SnapshotIdleTimeout time.Duration `yaml:"snapshot-idle-timeout"`
	// SnapshotMaxSessions bounds the snapshot sessions (each a file as
	// large as its partition) open on this shard at once.
	SnapshotMaxSessions int `yaml:"snapshot-max-sessions"`
	// SnapshotPinBytes bounds, per partition, the effect log kept for a
	// copy loading a snapshot, so it continues from the log once loaded.
	SnapshotPinBytes Size `yaml:"snapshot-pin-bytes"`
}

// DefaultShardFile returns the shard defaults. ID and DataDir have none:
// Validate asks for them.
func DefaultShardFile() ShardFile {
	return ShardFile{
		Addr:            "127.0.0.1:7001",
		Partitions:      DefaultPartitions,
		Sync:            string(shard.SyncEverySec),
		ExpiryInterval:  100 * time.Millisecond,
		SweepBatch:      128,
		LogLevel:        DefaultLogLevel,
		Limits:          DefaultLimits(),
		Gossip:          DefaultGossip(),
		ElectionTimeout: 300 * time.Millisecond,
		RF:              cluster.DefaultRF,
		MinInSync:       cluster.DefaultMinInSync,
		CommitLevel:     string(shard.CommitAll),
		ReplAckTimeout:  shard.DefaultReplAckTimeout,
		ReplaceAfter:    cluster.DefaultReplaceAfter,
		AutoRebalance:   true,

		SnapshotRate:        shard.DefaultSnapshotRate,
		SnapshotChunkSize:   shard.DefaultSnapshotChunkSize,
		SnapshotIdleTimeout: shard.DefaultSnapshotIdleTimeout,
		SnapshotMaxSessions: shard.DefaultSnapshotMaxSessions,
		SnapshotPinBytes:    shard.DefaultSnapshotPinBytes,
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
	fs.IntVar(&f.SweepBatch, "sweep-batch", f.SweepBatch, "`COUNT` of deleted collections' elements one background sweep transaction deletes")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", f.MetricsAddr, "`HOST:PORT` serving /metrics and /healthz over HTTP (empty: none)")
	fs.BoolVar(&f.Pprof, "pprof", f.Pprof, "also serve Go's profiles under /debug/pprof/ on metrics-addr")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "log `LEVEL`: debug, info, warn or error")
	f.Limits.registerFlags(fs)
	f.Gossip.registerFlags(fs)
	f.Advertise.registerFlags(fs)
	fs.StringVar(&f.RaftAddr, "raft-addr", f.RaftAddr, "`IP:PORT` of the controller's Raft transport; makes this shard a controller voter")
	fs.StringVar(&f.AdvertiseRaftAddr, "advertise-raft-addr", f.AdvertiseRaftAddr, "`HOST:PORT` the other voters dial --raft-addr at, a DNS name allowed (empty: --raft-addr itself; required when it is 0.0.0.0 or [::]; port 0: the bound port)")
	fs.Var(&backendList{list: &f.Voters}, "voter", "initial controller voter as `ID=IP:PORT` (its raft-addr); repeat or comma-separate, the same list on every voter")
	fs.DurationVar(&f.ElectionTimeout, "election-timeout", f.ElectionTimeout, "`DURATION` controller voters wait for their leader before electing another")
	fs.IntVar(&f.RF, "rf", f.RF, "`COUNT` of copies of every partition (used when the cluster is created)")
	fs.IntVar(&f.MinInSync, "min-insync", f.MinInSync, "fewest in-sync copies (`COUNT`) with which a partition takes writes")
	fs.StringVar(&f.CommitLevel, "commit-level", f.CommitLevel, "when a write is acknowledged: `LEVEL` all (every in-sync copy has it) or master (faster, weaker)")
	fs.DurationVar(&f.ReplAckTimeout, "repl-ack-timeout", f.ReplAckTimeout, "longest wait (`DURATION`) for followers to acknowledge a write before a lagging one is reported")
	fs.DurationVar(&f.ReplaceAfter, "replace-after", f.ReplaceAfter, "`DURATION` a shard may be down before its copies are placed elsewhere (negative: never)")
	fs.BoolVar(&f.AutoRebalance, "auto-rebalance", f.AutoRebalance, "move partitions by themselves when shards join or leave (false: a new cluster starts with moves paused; voters read it at creation)")
	fs.Var(&f.SnapshotRate, "snapshot-rate", "snapshot bytes per second (a `SIZE`, e.g. 64mb) this shard sends to copies being loaded, all together (0: unlimited)")
	fs.Var(&f.SnapshotChunkSize, "snapshot-chunk-size", "most of a snapshot (`SIZE`) one read sends")
	fs.DurationVar(&f.SnapshotIdleTimeout, "snapshot-idle-timeout", f.SnapshotIdleTimeout, "`DURATION` an unused snapshot session lives before it is removed with its file")
	fs.IntVar(&f.SnapshotMaxSessions, "snapshot-max-sessions", f.SnapshotMaxSessions, "most snapshot sessions (`COUNT`) open on this shard at once")
	fs.Var(&f.SnapshotPinBytes, "snapshot-pin-bytes", "most effect log (`SIZE`) a partition keeps for a copy loading its snapshot")
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
	p.positive("sweep-batch", int64(f.SweepBatch), strconv.Itoa(f.SweepBatch))
	if f.ExpiryInterval <= 0 {
		p.add("expiry-interval", f.ExpiryInterval.String(), "must be positive")
	}
	p.addr("metrics-addr", f.MetricsAddr, true)
	if f.Pprof && f.MetricsAddr == "" {
		p.add("pprof", "true", "needs metrics-addr to serve the profiles on")
	}
	p.logLevel(f.LogLevel)
	f.Limits.validate(p)
	f.Gossip.validate(p)
	f.Advertise.validate(p, f.Addr, f.Gossip)
	f.validateCluster(p)
	return p.err()
}

func (f ShardFile) validateCluster(p *problems) {
	if f.RaftAddr != "" || len(f.Voters) > 0 {
		if !f.Member() {
			p.add("raft-addr", strconv.Quote(f.RaftAddr), "needs gossip-addr: a controller voter is a cluster member")
		}
		if f.MetricsAddr == "" {
			p.add("metrics-addr", `""`, "is required on a controller voter: the cluster map is served there")
		}
	}
	if len(f.Voters) > 0 && f.RaftAddr == "" {
		p.add("voter", strconv.Quote((&backendList{list: &f.Voters}).String()), "is set but raft-addr is not")
	}
	if f.RaftAddr != "" {
		p.addr("raft-addr", f.RaftAddr, false)
		p.advertised("advertise-raft-addr", f.AdvertiseRaftAddr)
		p.needAdvertised("raft-addr", f.RaftAddr, "advertise-raft-addr", f.AdvertiseRaftAddr)
	} else if f.AdvertiseRaftAddr != "" {
		p.add("advertise-raft-addr", strconv.Quote(f.AdvertiseRaftAddr), "is set but raft-addr is not")
	}
	if f.Member() && !f.Voter() && len(f.Join) == 0 {
		p.add("join", "[]", "is empty: a shard that is not a controller voter must join one (--join IP:PORT)")
	}
	if f.RF < 1 || f.RF > 7 {
		p.add("rf", strconv.Itoa(f.RF), "is out of range (1 to 7)")
	}
	if f.MinInSync < 1 || f.MinInSync > f.RF {
		p.add("min-insync", strconv.Itoa(f.MinInSync), fmt.Sprintf("is out of range (1 to rf, %d)", f.RF))
	}
	switch shard.CommitLevel(f.CommitLevel) {
	case shard.CommitAll, shard.CommitMaster:
	default:
		p.add("commit-level", strconv.Quote(f.CommitLevel), "is not a commit level (all, master)")
	}
	p.positive("repl-ack-timeout", int64(f.ReplAckTimeout), f.ReplAckTimeout.String())
	p.positive("snapshot-chunk-size", int64(f.SnapshotChunkSize), f.SnapshotChunkSize.String())
	if f.SnapshotChunkSize > 256<<20 {
		p.add("snapshot-chunk-size", f.SnapshotChunkSize.String(), "is above 256mb")
	}
	p.positive("snapshot-idle-timeout", int64(f.SnapshotIdleTimeout), f.SnapshotIdleTimeout.String())
	p.positive("snapshot-max-sessions", int64(f.SnapshotMaxSessions), strconv.Itoa(f.SnapshotMaxSessions))
	p.positive("snapshot-pin-bytes", int64(f.SnapshotPinBytes), f.SnapshotPinBytes.String())
	if f.ElectionTimeout < 50*time.Millisecond {
		p.add("election-timeout", f.ElectionTimeout.String(), "is below 50ms")
	}
}

// Voter reports whether the shard runs a controller replica: it has a
// RaftAddr, and the voter list is empty (a group of one) or names it.
func (f ShardFile) Voter() bool {
	if f.RaftAddr == "" {
		return false
	}
	return len(f.Voters) == 0 || slices.ContainsFunc(f.Voters, func(v Backend) bool { return v.ID == f.ID })
}

// ControllerConfig builds the controller config of a voter, keeping its
// Raft log under the data dir (in memory with Memory). Nil when the shard
// is not a voter.
func (f ShardFile) ControllerConfig() *cluster.ControllerConfig {
	if !f.Voter() {
		return nil
	}
	c := &cluster.ControllerConfig{
		RaftAddr: f.RaftAddr, RF: f.RF, MinInSync: f.MinInSync, Partitions: f.Partitions,
		ReplaceAfter: f.ReplaceAfter, ManualRebalance: !f.AutoRebalance,
		HeartbeatTimeout: f.ElectionTimeout, ElectionTimeout: f.ElectionTimeout,
		LeaderLeaseTimeout: f.ElectionTimeout / 2, CommitTimeout: 10 * time.Millisecond,
	}
	if f.ReplaceAfter < 0 {
		c.ReplaceAfter = -1
	}
	if !f.Memory {
		c.DataDir = filepath.Join(f.DataDir, "raft")
	}
	for _, v := range f.Voters {
		c.Voters = append(c.Voters, cluster.Voter{ID: v.ID, RaftAddr: v.Addr})
	}
	return c
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
		SweepBatch:     f.SweepBatch,
		Limits:         f.Limits.ToResp(),
		MinInSync:      f.MinInSync,
		CommitLevel:    shard.CommitLevel(f.CommitLevel),
		ReplAckTimeout: f.ReplAckTimeout,
		Standalone:     !f.Member(),

		SnapshotRate:        int64(f.SnapshotRate),
		SnapshotChunkSize:   int(f.SnapshotChunkSize),
		SnapshotIdleTimeout: f.SnapshotIdleTimeout,
		SnapshotMaxSessions: f.SnapshotMaxSessions,
		SnapshotPinBytes:    int(f.SnapshotPinBytes),
	}
}
