package shard

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/resp"
)

// SyncPolicy says when partition files are fsynced.
type SyncPolicy string

// Sync policies, named after Redis's appendfsync values.
const (
	SyncAlways   SyncPolicy = "always"   // fsync after every write: slowest, loses nothing on a crash
	SyncEverySec SyncPolicy = "everysec" // fsync once a second: a crash loses at most ~1 s of writes
	SyncNo       SyncPolicy = "no"       // leave it to the OS
)

// Config configures a shard. The zero value of a field means its default
// (see DefaultConfig) unless its doc says otherwise.
type Config struct {
	// ID names the shard in the cluster map. Required.
	ID string
	// Addr is the internal RESP address proxies connect to, e.g. "127.0.0.1:7001".
	// Port 0 picks a free port (see Server.Addr).
	Addr string
	// DataDir holds one file per partition. Required unless InMemory.
	DataDir string
	// InMemory keeps every partition in memory (BuntDB ":memory:"); nothing
	// survives a restart.
	InMemory bool
	// Partitions is the cluster's fixed partition count (a power of two,
	// at most 16384: a partition is a non-empty range of slots).
	// It is recorded in DataDir on first start; a shard refuses to open a
	// data dir created with a different count.
	Partitions int
	// Sync is the fsync policy of partition files. Default everysec.
	Sync SyncPolicy
	// ExpiryInterval is how often expired keys are actively removed.
	// Default 100ms.
	ExpiryInterval time.Duration
	// SweepBatch is how many storage keys of deleted collections one
	// sweep transaction deletes. The sweep holds the partition's write
	// lock for one batch at a time and then leaves it to writers for at
	// least as long, so a huge UNLINK costs other writes of its partition
	// at most about one batch of delay. Default DefaultSweepBatch.
	SweepBatch int
	// ReplLogSize is how many recent effects each partition keeps in
	// memory for followers catching up without a snapshot (the logs of a
	// shard are also bounded to about 256 MiB in all). Default DefaultReplLogSize.
	ReplLogSize int
	// ReplFetchMaxWait bounds how long a SHARDIS.FETCH waits for new
	// effects before answering an empty array (a follower's request asks
	// for at most this); as a follower, it is the wait this shard asks its
	// master for. It also bounds how stale an idle follower's position can
	// look to its master. Default DefaultReplFetchMaxWait.
	ReplFetchMaxWait time.Duration
	// ReplFetchMaxBytes bounds the encoded effects of one SHARDIS.FETCH
	// reply (one effect larger than this still goes, alone); the follower
	// asks again for the rest. Default DefaultReplFetchMaxBytes.
	ReplFetchMaxBytes int
	// SnapshotRate bounds the snapshot bytes this shard sends to copies
	// being loaded (SHARDIS.SNAPREAD), all transfers together, in bytes
	// per second, so moving a partition leaves the network to clients and
	// replication. Zero means unlimited; SetSnapshotRate changes it at run
	// time. The configs package defaults it to DefaultSnapshotRate.
	SnapshotRate int64
	// SnapshotChunkSize is the most one SHARDIS.SNAPREAD answers, in
	// bytes, and what a follower asks for at a time: each side holds
	// about one chunk per transfer in memory; above 256 KiB each chunk is
	// a new write buffer on the master. Default DefaultSnapshotChunkSize.
	SnapshotChunkSize int
	// SnapshotIdleTimeout is how long a snapshot session may go without a
	// SHARDIS.SNAPREAD before the master removes it, its file and its
	// hold on the effect log. Default DefaultSnapshotIdleTimeout.
	SnapshotIdleTimeout time.Duration
	// SnapshotMaxSessions bounds the snapshot sessions open on this shard
	// at once (each is a file as large as its partition's data); one more
	// is refused with -BUSY and the follower retries later. Default
	// DefaultSnapshotMaxSessions.
	SnapshotMaxSessions int
	// SnapshotPinBytes bounds, per partition, the bytes (as the effect
	// log counts them) its log may hold while a snapshot session of the
	// partition is open: the log then keeps every effect after the
	// snapshot, beyond its usual bounds, for the follower to continue
	// from once loaded. Past it (or past the log's usual byte bound, if
	// larger) the oldest session is abandoned and its follower starts
	// over. Default DefaultSnapshotPinBytes.
	SnapshotPinBytes int
	// MinInSync is the fewest in-sync copies (the master included) a
	// partition needs to take writes once roles are applied (see
	// ApplyRoles); with fewer it answers NOREPLICAS rather than accept a
	// write it could lose. 1 lets a lone master write. Default
	// DefaultMinInSync (2, for RF 3).
	MinInSync int
	// ReplAckTimeout bounds how long a master waits, with commit level
	// all, for the in-sync followers to acknowledge a write before it
	// answers NOTACKED. Default DefaultReplAckTimeout.
	ReplAckTimeout time.Duration
	// CommitLevel says when a master answers a write once roles are
	// applied: CommitAll (default) or CommitMaster.
	CommitLevel CommitLevel
	// Standalone says no other shard ever holds copies of this shard's
	// partitions (a static cluster map with one copy of each): the shard
	// then keeps no effect log, which would only hold every recent write a
	// second time. Once roles are applied they say which partitions have
	// copies, and Standalone no longer matters.
	Standalone bool
	// RequireLease makes the shard serve the partitions it masters only
	// while it holds a master lease from the controller (ExtendLease);
	// without one it answers NOLEASE. A master cut off from the controller
	// then goes quiet before another can be promoted, instead of serving
	// stale reads. It matters once roles are applied.
	RequireLease bool
	// OnLagging, when set, hears of each in-sync follower that did not
	// acknowledge a write within ReplAckTimeout (partition, follower id,
	// the partition's epoch), so the controller can be told it is out of
	// sync. It is called on the command's goroutine: it must not block.
	OnLagging func(partition int, follower string, epoch uint64)
	// OnCaughtUp, when set, hears on a master that a copy listed in a
	// partition's Replicas but not in its InSync (partition, follower id,
	// the partition's epoch) now holds every write the master
	// acknowledged, and that every write acknowledged since waited for it
	// too, so the controller can add it to InSync without losing an
	// acknowledged write (see ApplyRoles). It is called at most once per
	// partition, follower and epoch, on a goroutine of the shard that
	// Close waits for: it must not block nor call Close. A report whose
	// epoch is no longer the partition's, or followed by an OnLagging
	// call for the same copy and epoch, is stale.
	OnCaughtUp func(partition int, follower string, epoch uint64)
	// Limits bound what one connection may send. Zero fields take
	// resp.DefaultLimits.
	Limits resp.Limits
	// Registerer receives the shard's metrics. Nil means a private registry.
	Registerer prometheus.Registerer
	// Logger receives operational events. Nil means slog.Default().
	Logger *slog.Logger
}
