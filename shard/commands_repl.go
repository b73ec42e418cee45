package shard

import (
	"strconv"
	"sync"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/resp"
)

// The snapshot commands, sent by other shards only (effects travel with
// SHARDIS.FETCH, see repl_master.go); p is a partition id. A snapshot, in
// the binary format of snapshot.go, travels in chunks of a session the
// master keeps open on a file (see snapshot_session.go).
//
//	SHARDIS.SNAPSHOT p [follower-id]
//	    *3 $id :seq :size   a session on a consistent copy of the
//	        partition taken at seq, size bytes long. Only the partition's
//	        master, holding its lease, answers it. -BUSY when
//	        Config.SnapshotMaxSessions sessions hold files: retry later.
//	        With follower-id (the id its FETCHes give) the partition's
//	        effect log keeps every effect after seq, through SNAPDONE and
//	        until that follower caught up; without one (a backup) it keeps
//	        nothing extra. An empty or overlong id answers "-ERR invalid
//	        follower id".
//	SHARDIS.SNAPREAD id offset count
//	    $chunk   up to count bytes of the snapshot at offset (at most
//	        Config.SnapshotChunkSize, and less under a low
//	        Config.SnapshotRate); an empty bulk at or past the end. It
//	        waits for the shard's snapshot bandwidth. "-ERR no such
//	        snapshot …" for an id unknown, finished or idle for longer than
//	        Config.SnapshotIdleTimeout; "-ERR snapshot abandoned …" once the
//	        partition's writes outgrew what its log keeps for the session
//	        (Config.SnapshotPinBytes): take a new snapshot.
//	SHARDIS.SNAPDONE id
//	    +OK, and the session and its file are gone; "-ERR no such
//	    snapshot …" for an id not open.
//	SHARDIS.MOVED
//	    *3 :sent :received :keys   since the shard started: snapshot
//	        bytes it sent to copies, snapshot bytes it loaded, and the
//	        keys of the snapshots it loaded completely (what partition
//	        moves, and copies catching up, carried into it).
//
// A partition id out of range answers "-ERR invalid partition"; an offset
// or count that is not a non-negative integer Redis's not-an-integer error.
var replCommands = []command{
	{name: "shardis.snapshot", fn: cmdSnapshot, arity: -2},
	{name: "shardis.snapread", fn: cmdSnapRead, arity: 4},
	{name: "shardis.snapdone", fn: cmdSnapDone, arity: 2},
	{name: "shardis.moved", fn: cmdMoved, arity: 1},
}

func cmdMoved(s *Server, c *conn, _ [][]byte, _ int64) {
	c.WriteArray(3)
	c.WriteInt64(int64(s.repl.snaps.sent.Load()))
	c.WriteInt64(int64(s.repl.snaps.received.Load()))
	c.WriteInt64(int64(s.repl.snaps.keysLoaded.Load()))
}

// parsePartition reads a partition id argument.
func (s *Server) parsePartition(c *conn, arg []byte) (int, bool) {
	p, ok := exec.ParseInt(arg)
	if !ok || p < 0 || p >= int64(s.cfg.Partitions) {
		c.WriteError(errInvalidPartition)
		return 0, false
	}
	return int(p), true
}

// parseCount reads a non-negative integer argument.
func parseCount(c *conn, arg []byte) (uint64, bool) {
	v, ok := exec.ParseInt(arg)
	if !ok || v < 0 {
		c.WriteError(resp.ErrNotInteger)
		return 0, false
	}
	return uint64(v), true
}

func cmdSnapshot(s *Server, c *conn, args [][]byte, now int64) {
	if len(args) > 3 {
		c.WriteError(resp.WrongArgs("shardis.snapshot"))
		return
	}
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	var follower string
	if len(args) == 3 {
		if len(args[2]) == 0 || len(args[2]) > maxFollowerID {
			c.WriteError("ERR invalid follower id")
			return
		}
		follower = string(args[2])
	}
	// As for FETCH: only the partition's master, holding its lease, is an
	// authority a copy may be reset from.
	if s.cfg.RequireLease && !s.leaseHeld() {
		c.WriteError(resp.NoLeaseError{Partition: pid}.Error())
		return
	}
	if !s.servesCopies(pid) {
		c.WriteError("ERR this shard does not master partition " + strconv.Itoa(pid))
		return
	}
	ss, err := s.openSnapshot(pid, follower)
	if finish(c, err) {
		return
	}
	c.WriteArray(3)
	c.WriteBulkString(ss.id)
	c.WriteInt64(int64(ss.seq))
	c.WriteInt64(ss.size)
}

// chunkPool recycles SNAPREAD's read buffers (the reply copies the chunk).
var chunkPool = sync.Pool{New: func() any { return new([]byte) }}

func cmdSnapRead(s *Server, c *conn, args [][]byte, now int64) {
	offset, ok := parseCount(c, args[2])
	if !ok {
		return
	}
	count, ok := parseCount(c, args[3])
	if !ok {
		return
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	chunk, err := s.readSnapshotChunk(s.replCtx, string(args[1]), int64(offset), int64(count), *bp)
	if finish(c, err) {
		return
	}
	*bp = chunk
	c.WriteBulk(chunk)
}

func cmdSnapDone(s *Server, c *conn, args [][]byte, now int64) {
	if !s.closeSession(string(args[1])) {
		c.WriteError(errNoSnapshot)
		return
	}
	c.WriteString("OK")
}
