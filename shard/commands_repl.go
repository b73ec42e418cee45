package shard

import (
	"bytes"
	"strconv"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/resp"
)

// The snapshot command, sent by other shards only (effects travel with
// SHARDIS.FETCH, see repl_master.go); p is a partition id. Snapshots travel
// as bulks in the binary format of snapshot.go.
//
//	SHARDIS.SNAPSHOT p
//	    $snapshot    a consistent copy of the partition (it carries its seq).
//
// A partition id out of range answers "-ERR invalid partition".
var replCommands = []command{
	{name: "shardis.snapshot", fn: cmdSnapshot, arity: 2},
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
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
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
	var buf bytes.Buffer
	if _, err := s.WriteSnapshot(pid, &buf); finish(c, err) {
		return
	}
	c.WriteBulk(buf.Bytes())
}
