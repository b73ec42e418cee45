package shard

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strconv"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/resp"
)

// Replication commands, sent by other shards (and backup tools) only; p is
// a partition id, seqs are unsigned decimal integers. Effects and snapshots
// travel as bulks in the binary formats of effects.go and snapshot.go.
//
//	SHARDIS.EFFECTS p afterSeq max
//	    *N $effect…  the effects after afterSeq, oldest first, at most max of
//	                 them and about effectsReplyBytes in all (at least one);
//	                 *0 when afterSeq is the partition's seq.
//	    -SNAPSHOTNEEDED partition p seq S
//	                 the log no longer holds the effects after afterSeq (or
//	                 afterSeq is beyond S): load a snapshot.
//	SHARDIS.APPLY p effect [effect …]
//	    :seq         the partition's applied seq afterwards; effects at or
//	                 below it are skipped, so a replay is harmless.
//	    -SEQGAP partition p seq S next N
//	                 effect N does not follow S (effects before it in the
//	                 same call are applied): fetch the missing ones or a
//	                 snapshot.
//	    -ERR invalid effect: …   malformed, or for another partition.
//	SHARDIS.SNAPSHOT p
//	    $snapshot    a consistent copy of the partition (it carries its seq).
//	SHARDIS.LOADSNAPSHOT p snapshot
//	    :seq         the partition now holds the snapshot, at its seq, as a
//	                 follower.
//	    -ERR invalid snapshot: …  the partition is unchanged.
//	SHARDIS.DIGEST p
//	    *3 :seq $digest :keys   digest is the SHA-256 in lower-case hex of
//	                 the partition's records at seq (see Server.Digest).
//	SHARDIS.SEQ p
//	    :seq         the last committed or applied effect's seq (0: none).
//	SHARDIS.ROLE p [MASTER|FOLLOWER]
//	    +master or +follower  the partition's role, after setting it when
//	                 asked (FOLLOWER: only effects and snapshots change it;
//	                 MASTER: local writes and expiry continue its seq).
//
// A partition id out of range answers "-ERR invalid partition"; a seq or
// max that is not a non-negative integer answers Redis's not-an-integer
// error.
var replCommands = []command{
	{name: "shardis.effects", fn: cmdEffects, arity: 4},
	{name: "shardis.apply", fn: cmdApply, arity: -3},
	{name: "shardis.snapshot", fn: cmdSnapshot, arity: 2},
	{name: "shardis.loadsnapshot", fn: cmdLoadSnapshot, arity: 3},
	{name: "shardis.digest", fn: cmdDigest, arity: 2},
	{name: "shardis.seq", fn: cmdSeq, arity: 2},
	{name: "shardis.role", fn: cmdRole, arity: -2},
}

// effectsReplyBytes is the size after which SHARDIS.EFFECTS stops adding
// effects to its reply; the reader asks again for the rest.
const effectsReplyBytes = 4 << 20

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

func writeSnapshotNeeded(s *Server, c *conn, pid int) {
	seq, err := s.Seq(pid)
	if finish(c, err) {
		return
	}
	c.WriteError("SNAPSHOTNEEDED partition " + strconv.Itoa(pid) + " seq " + strconv.FormatUint(seq, 10))
}

func cmdEffects(s *Server, c *conn, args [][]byte, now int64) {
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	after, ok := parseCount(c, args[2])
	if !ok {
		return
	}
	limit, ok := parseCount(c, args[3])
	if !ok {
		return
	}
	if limit == 0 {
		c.WriteError("ERR max must be positive")
		return
	}
	effects, ok := s.EffectsSince(pid, after, int(min(limit, math.MaxInt32)))
	if !ok {
		writeSnapshotNeeded(s, c, pid)
		return
	}
	var buf []byte
	ends := make([]int, 0, len(effects))
	for _, e := range effects {
		if len(ends) > 0 && len(buf) >= effectsReplyBytes {
			break
		}
		buf = AppendEffect(buf, e)
		ends = append(ends, len(buf))
	}
	c.WriteArray(len(ends))
	start := 0
	for _, end := range ends {
		c.WriteBulk(buf[start:end])
		start = end
	}
}

func cmdApply(s *Server, c *conn, args [][]byte, now int64) {
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	effects := make([]Effect, 0, len(args)-2)
	for _, b := range args[2:] {
		e, err := DecodeEffect(b)
		if err != nil {
			c.WriteError(exec.SanitizeLine("ERR invalid effect: " + err.Error()))
			return
		}
		effects = append(effects, e)
	}
	seq, err := s.ApplyEffects(pid, effects)
	switch {
	case err == nil:
		c.WriteInt64(int64(seq))
	case errors.Is(err, ErrSeqGap):
		next := uint64(0)
		for _, e := range effects {
			if e.Seq > seq {
				next = e.Seq
				break
			}
		}
		c.WriteError("SEQGAP partition " + strconv.Itoa(pid) + " seq " + strconv.FormatUint(seq, 10) +
			" next " + strconv.FormatUint(next, 10))
	case errors.Is(err, ErrBadEffect):
		c.WriteError(exec.SanitizeLine("ERR invalid effect: " + err.Error()))
	default:
		writeStoreError(c, err)
	}
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

func cmdLoadSnapshot(s *Server, c *conn, args [][]byte, now int64) {
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	seq, err := s.LoadSnapshot(pid, bytes.NewReader(args[2]))
	switch {
	case err == nil:
		c.WriteInt64(int64(seq))
	case errors.Is(err, ErrBadSnapshot):
		c.WriteError(exec.SanitizeLine("ERR invalid snapshot: " + err.Error()))
	default:
		writeStoreError(c, err)
	}
}

func cmdDigest(s *Server, c *conn, args [][]byte, now int64) {
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	seq, sum, keys, err := s.Digest(pid)
	if finish(c, err) {
		return
	}
	c.WriteArray(3)
	c.WriteInt64(int64(seq))
	c.WriteBulkString(hex.EncodeToString(sum[:]))
	c.WriteInt(keys)
}

func cmdSeq(s *Server, c *conn, args [][]byte, now int64) {
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	seq, err := s.Seq(pid)
	if finish(c, err) {
		return
	}
	c.WriteInt64(int64(seq))
}

func cmdRole(s *Server, c *conn, args [][]byte, now int64) {
	pid, ok := s.parsePartition(c, args[1])
	if !ok {
		return
	}
	switch {
	case len(args) == 2:
	case len(args) == 3 && eqFold(args[2], "master"):
		if finish(c, s.SetFollower(pid, false)) {
			return
		}
	case len(args) == 3 && eqFold(args[2], "follower"):
		if finish(c, s.SetFollower(pid, true)) {
			return
		}
	default:
		c.WriteError(resp.ErrSyntax)
		return
	}
	if s.IsFollower(pid) {
		c.WriteString("follower")
	} else {
		c.WriteString("master")
	}
}
