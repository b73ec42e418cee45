package shard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/shardis/shardis/repl"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shardis/shardis/resp"
)

// The replication stream. A follower shard keeps one connection to each
// master it follows and sends, in a loop, one SHARDIS.FETCH naming every
// partition it follows from that master with the seq it has applied. The
// position it sends is its acknowledgement (as in Kafka): the master
// records it, and a write committed at seq S on partition p is held by a
// follower once that follower fetches p after S or later. Commit level
// `all` waits for that with waitAcked.
//
//	SHARDIS.FETCH follower-id wait-ms p1 after1 [p2 after2 …]
//	    afterN is a seq, or seq/hash with the follower's history hash at
//	    that seq (see repl.Chain). With a hash the master first checks
//	    that it has the same history up to that seq; a follower whose
//	    history differs (it holds writes of its own under seqs the master
//	    used for others) acknowledges nothing and is sent a snapshot.
//	    Records that follower-id has applied partition pN through afterN,
//	    then answers as soon as some listed partition has something for
//	    it, or after wait-ms (at most Config.ReplFetchMaxWait) with *0.
//	    *N  one element per partition that has something:
//	        *4 :p :0 *K $effect… :seq   the effects after the follower's
//	                 position, oldest first, in the format of effects.go,
//	                 about Config.ReplFetchMaxBytes in all per reply (a
//	                 partition left out for space comes in the next reply);
//	                 seq is the master's seq of p.
//	        *4 :p :1 *0 :seq   snapshot needed: the effect log no longer
//	                 holds the effects after the follower's position, or
//	                 the position is beyond seq or its history differs
//	                 (the follower holds writes the master does not, and
//	                 counts as having acked nothing). Load a snapshot
//	                 (SHARDIS.SNAPSHOT p, see commands_repl.go), then fetch
//	                 again.
//	    A partition id out of range answers "-ERR invalid partition"; a
//	    wait or position that is not a non-negative integer Redis's
//	    not-an-integer error; an odd number of partition arguments the
//	    wrong-number-of-arguments error; a partition named twice
//	    "-ERR duplicate partition"; an empty or overlong follower id
//	    "-ERR invalid follower id"; a partition already followed by
//	    maxFollowers other ids "-ERR too many followers of partition p".
//
//	SHARDIS.FETCHMORE follower-id wait-ms [p1 after1 …]
//	    FETCH again on the same connection, naming only the partitions
//	    whose position moved since the connection's last FETCH or
//	    FETCHMORE: the others keep theirs. It answers as FETCH does for
//	    every partition of the connection's last FETCH. With no FETCH
//	    before it on the connection, or a different follower id, it
//	    answers "-ERR FETCHMORE without a FETCH"; a partition the FETCH
//	    did not name "-ERR partition p is not in this connection's FETCH".
//	    A follower sends FETCH now and then (see fullFetchEvery) and
//	    FETCHMORE between: a FETCH names every partition it follows, and
//	    parsing and acknowledging all of them on every round was most of
//	    a replicated write's cost.
//
// A waiting FETCH blocks only its own connection (one per follower); it
// ends at once when the master closes.
var replStreamCommands = []command{
	{name: "shardis.fetch", fn: cmdFetch, arity: -5},
	{name: "shardis.fetchmore", fn: cmdFetchMore, arity: -3},
}

// fetchSession is what a connection's last FETCH asked for, which a
// FETCHMORE updates.
type fetchSession struct {
	follower string
	req      []fetchPos
	index    map[int]int // partition → its entry in req
}

// Defaults for zero replication Config fields.
const (
	DefaultReplFetchMaxWait  = time.Second
	DefaultReplFetchMaxBytes = 1 << 20
)

// FETCH reply kinds.
const (
	fetchEffects  = 0
	fetchSnapshot = 1
)

const (
	// maxFollowerID bounds the follower ids a master records.
	maxFollowerID = 256
	// maxFollowers bounds the follower ids recorded per partition, so
	// stray or hostile ids cannot grow a master's memory; a partition has
	// RF-1 followers, a few more while it moves.
	maxFollowers = 16
	// fetchMaxEffects bounds the effects one FETCH takes from one
	// partition's log before the byte bound applies.
	fetchMaxEffects = 1024
)

// replState is a shard's replication bookkeeping, as master (acks) and as
// follower (what it heard from its masters).
type replState struct {
	acks *repl.Acks

	// masterSeq is, per partition, the highest master seq a Follow loop
	// heard of (see replicationLag).
	masterSeq []atomic.Uint64
	// rotate varies which partition a FETCH reply serves first, so that a
	// busy partition cannot starve the others of the reply's bytes.
	rotate atomic.Uint32
	// waiting counts FETCH handlers waiting for effects.
	waiting atomic.Int64
	// moved wakes the waiting FETCH handlers whenever any partition's
	// seq moves: one channel for the shard instead of one per partition
	// and FETCH, which cost a reflect.Select over every partition a
	// follower fetched, each time, and most of a replicated write's CPU.
	moved repl.Notifier
	// snapshots counts the snapshots Follow loops loaded.
	snapshots atomic.Uint64
	// snaps is the snapshot sessions this shard serves, as a master (see
	// snapshot_session.go).
	snaps snapSessions
}

func (r *replState) init(partitions int) {
	r.acks = repl.NewAcks(partitions, maxFollowers)
	r.masterSeq = make([]atomic.Uint64, partitions)
}

// recordAck stores follower's position for p. A position beyond the
// master's seq acknowledges nothing: that follower holds another history.
func (s *Server) recordAck(p int, follower string, pos uint64) error {
	if seq, err := s.Seq(p); err != nil {
		return err
	} else if pos > seq {
		pos = 0
	}
	if err := s.repl.acks.Record(p, follower, pos); err != nil {
		return errReply("ERR " + err.Error() + " " + strconv.Itoa(p))
	}
	s.ackPins(p, follower, pos)
	return nil
}

// Acked returns the seq through which follower last reported having
// applied partition p (0 if it never fetched p).
func (s *Server) Acked(p int, follower string) uint64 {
	if s.checkPartition(p) != nil {
		return 0
	}
	pos, _ := s.repl.acks.Acked(p, follower)
	return pos
}

// servesCopies reports whether this shard may give partition pid's effects
// and snapshots to other copies: once roles are applied, only while it
// masters it. A shard that does not (a follower, a former master, or a
// restarted voter replaying old maps whose followers come to the wrong
// place) has no authority over the partition's history: a copy reset from
// it could lose acknowledged writes.
func (s *Server) servesCopies(pid int) bool {
	t := s.roles.table.Load()
	return t == nil || t.master[pid]
}

// upToDate reports, without locking the partition, whether a copy at seq
// after has every effect of partition pid: most partitions of a FETCH
// have nothing new when it wakes.
func (s *Server) upToDate(pid int, after uint64) bool {
	p := s.parts[pid].Load()
	if p == nil {
		return after == 0
	}
	return p.seqNow.Load() == after
}

// forgetFollower drops what partition p knows of follower, so a follower
// removed from the partition stops occupying one of its maxFollowers
// places; if it fetches again it is recorded again.
func (s *Server) forgetFollower(p int, follower string) {
	if s.checkPartition(p) == nil {
		s.repl.acks.Forget(p, follower)
	}
}

// errRolesChanged is waitAcked's answer when abort closed first.
var errRolesChanged = repl.ErrAborted

// waitAcked blocks until every named follower has acknowledged partition p
// through seq (its fetch position is at least seq), so that a write
// committed at seq is held by each of them; it returns ctx's error when ctx
// ends first, errRolesChanged when abort is closed (a nil abort never is)
// and an error when the shard closes.
func (s *Server) waitAcked(ctx context.Context, p int, seq uint64, followers []string, abort <-chan struct{}) error {
	if err := s.checkPartition(p); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.replCtx, cancel)()
	err := s.repl.acks.Wait(ctx, p, seq, followers, abort)
	if err != nil && s.replCtx.Err() != nil {
		return errClosed
	}
	return err
}

// fetchPos is one partition of a FETCH request.
type fetchPos struct {
	p        int
	after    uint64
	diverged bool // the follower's history differs: it needs a snapshot
}

func cmdFetch(s *Server, c *conn, args [][]byte, now int64) {
	if (len(args)-3)%2 != 0 {
		c.WriteError(resp.WrongArgs("shardis.fetch"))
		return
	}
	follower := args[1]
	if len(follower) == 0 || len(follower) > maxFollowerID {
		c.WriteError("ERR invalid follower id")
		return
	}
	waitMS, ok := parseCount(c, args[2])
	if !ok {
		return
	}
	c.fetch = nil
	sess := &fetchSession{follower: string(follower), req: make([]fetchPos, 0, (len(args)-3)/2), index: map[int]int{}}
	for i := 3; i < len(args); i += 2 {
		r, ok := s.parseFetchPos(c, args[i], args[i+1])
		if !ok {
			return
		}
		if _, dup := sess.index[r.p]; dup {
			c.WriteError("ERR duplicate partition")
			return
		}
		sess.index[r.p] = len(sess.req)
		sess.req = append(sess.req, r)
	}
	c.fetch = sess
	s.serveFetch(c, sess, sess.req, waitMS)
}

func cmdFetchMore(s *Server, c *conn, args [][]byte, now int64) {
	if (len(args)-3)%2 != 0 {
		c.WriteError(resp.WrongArgs("shardis.fetchmore"))
		return
	}
	sess := c.fetch
	if sess == nil || sess.follower != string(args[1]) {
		c.WriteError("ERR FETCHMORE without a FETCH")
		return
	}
	waitMS, ok := parseCount(c, args[2])
	if !ok {
		return
	}
	moved := make([]fetchPos, 0, (len(args)-3)/2)
	for i := 3; i < len(args); i += 2 {
		r, ok := s.parseFetchPos(c, args[i], args[i+1])
		if !ok {
			return
		}
		k, in := sess.index[r.p]
		if !in {
			c.WriteError("ERR partition " + strconv.Itoa(r.p) + " is not in this connection's FETCH")
			return
		}
		sess.req[k] = r
		moved = append(moved, r)
	}
	s.serveFetch(c, sess, moved, waitMS)
}

// parseFetchPos parses one partition and position of a FETCH, checking the
// follower's history hash when it gives one.
func (s *Server) parseFetchPos(c *conn, part, arg []byte) (fetchPos, bool) {
	p, ok := s.parsePartition(c, part)
	if !ok {
		return fetchPos{}, false
	}
	pos, hashArg, hasHash := bytes.Cut(arg, []byte("/"))
	after, ok := parseCount(c, pos)
	if !ok {
		return fetchPos{}, false
	}
	diverged := false
	if hasHash {
		h, err := strconv.ParseUint(string(hashArg), 10, 64)
		if err != nil {
			c.WriteError(resp.ErrNotInteger)
			return fetchPos{}, false
		}
		diverged = !s.historyMatches(p, after, h)
	}
	return fetchPos{p, after, diverged}, true
}

// serveFetch records the acknowledgements of the positions in acks and
// answers for every partition of sess.
func (s *Server) serveFetch(c *conn, sess *fetchSession, acks []fetchPos, waitMS uint64) {
	// Positions are recorded whatever the lease: a position matching this
	// shard's history proves what the follower holds, and serves nothing.
	// A follower names a position once (FETCHMORE leaves unmoved ones
	// out), so one dropped here would be missing until its next full
	// FETCH — a master just given a partition, before its lease came,
	// would make writes wait that long for acknowledgements.
	for _, r := range acks {
		if r.diverged {
			continue // its position proves nothing
		}
		if finish(c, s.recordAck(r.p, sess.follower, r.after)) {
			return
		}
	}
	if s.cfg.RequireLease && !s.leaseHeld() {
		// Without a lease this shard may be a restarted or cut-off master
		// whose data is behind its followers': serving (a snapshot above
		// all) could overwrite their newer, acknowledged writes. That holds
		// before its first map too: a restarted shard is asked by the
		// followers of its former self before it knows its roles.
		s.idleFetch(c, waitMS)
		return
	}
	wait := s.cfg.ReplFetchMaxWait
	if waitMS < uint64(wait/time.Millisecond) {
		wait = time.Duration(waitMS) * time.Millisecond
	}
	s.fetch(c, sess.req, wait)
}

// idleFetch answers a FETCH with nothing (*0) after a short pause, so the
// follower asks again soon without spinning.
func (s *Server) idleFetch(c *conn, waitMS uint64) {
	d := min(time.Duration(waitMS)*time.Millisecond, noLeaseFetchPause)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.replCtx.Done():
	}
	c.WriteArray(0)
}

// noLeaseFetchPause is how long a FETCH to a master without a lease waits
// before its empty answer.
const noLeaseFetchPause = 50 * time.Millisecond

// fetch answers a FETCH as soon as some partition of req has something
// for the follower, or with *0 after wait or when the shard closes.
func (s *Server) fetch(c *conn, req []fetchPos, wait time.Duration) {
	var timer *time.Timer
	for {
		moved := s.repl.moved.Wait()
		if s.writeFetchReply(c, req) {
			return
		}
		if wait <= 0 {
			c.WriteArray(0)
			return
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		s.repl.waiting.Add(1)
		select {
		case <-moved:
			s.repl.waiting.Add(-1)
			// Let the other writes that are ready to run commit first:
			// the reply then carries them all, and the follower applies
			// and acknowledges them in one round trip instead of one each.
			runtime.Gosched()
			continue
		case <-timer.C:
		case <-s.replCtx.Done():
		}
		s.repl.waiting.Add(-1)
		c.WriteArray(0) // closing, or the wait is over
		return
	}
}

// fetchEntry is one partition of a FETCH reply; its effects are
// buf[ends[i-1]:ends[i]] of the reply's buffer.
type fetchEntry struct {
	p    int
	kind int
	seq  uint64
	ends []int
}

// writeFetchReply writes the reply to req when some partition has
// something for the follower, and reports whether it did.
func (s *Server) writeFetchReply(c *conn, req []fetchPos) bool {
	var (
		entries []fetchEntry
		buf     []byte
	)
	budget := s.cfg.ReplFetchMaxBytes
	start := int(s.repl.rotate.Add(1)) % len(req)
	for k := range req {
		if len(buf) >= budget {
			break
		}
		r := req[(start+k)%len(req)]
		if !s.servesCopies(r.p) {
			continue
		}
		if !r.diverged && s.upToDate(r.p, r.after) {
			continue
		}
		effects, ok := s.EffectsSince(r.p, r.after, fetchMaxEffects)
		seq, err := s.Seq(r.p)
		if finish(c, err) {
			return true
		}
		if !ok || r.diverged {
			entries = append(entries, fetchEntry{p: r.p, kind: fetchSnapshot, seq: seq})
			continue
		}
		if len(effects) == 0 {
			continue
		}
		e := fetchEntry{p: r.p, kind: fetchEffects, seq: seq}
		for _, ef := range effects {
			if len(e.ends) > 0 && len(buf) >= budget {
				break
			}
			buf = repl.AppendEffect(buf, ef)
			e.ends = append(e.ends, len(buf))
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return false
	}
	c.WriteArray(len(entries))
	from := 0
	for _, e := range entries {
		c.WriteArray(4)
		c.WriteInt(e.p)
		c.WriteInt(e.kind)
		c.WriteArray(len(e.ends))
		for _, end := range e.ends {
			c.WriteBulk(buf[from:end])
			from = end
		}
		c.WriteInt64(int64(e.seq))
	}
	return true
}

// errFetchReply means a master's FETCH reply does not have the documented
// shape.
var errFetchReply = errors.New("shard: malformed SHARDIS.FETCH reply")

// fetched is one partition of a decoded FETCH reply.
type fetched struct {
	p        int
	snapshot bool
	seq      uint64
	effects  []Effect
}

// decodeFetchReply decodes a FETCH reply, refusing partitions not in
// want. The result does not alias v.
func decodeFetchReply(v resp.Value, want map[int]bool) ([]fetched, error) {
	if v.Kind == resp.KindError {
		return nil, fmt.Errorf("shard: master answered SHARDIS.FETCH with %q", v.Str)
	}
	if v.Kind != resp.KindArray || v.Null {
		return nil, fmt.Errorf("%w: not an array", errFetchReply)
	}
	out := make([]fetched, 0, len(v.Elems))
	for _, e := range v.Elems {
		if e.Kind != resp.KindArray || len(e.Elems) != 4 || e.Elems[0].Kind != resp.KindInt ||
			e.Elems[1].Kind != resp.KindInt || e.Elems[2].Kind != resp.KindArray || e.Elems[3].Kind != resp.KindInt {
			return nil, fmt.Errorf("%w: bad entry", errFetchReply)
		}
		p := int(e.Elems[0].Int)
		if !want[p] || e.Elems[3].Int < 0 {
			return nil, fmt.Errorf("%w: partition %d was not asked for", errFetchReply, p)
		}
		f := fetched{p: p, seq: uint64(e.Elems[3].Int)}
		switch e.Elems[1].Int {
		case fetchEffects:
			f.effects = make([]Effect, 0, len(e.Elems[2].Elems))
			for _, b := range e.Elems[2].Elems {
				if b.Kind != resp.KindBulk || b.Null {
					return nil, fmt.Errorf("%w: effect is not a bulk", errFetchReply)
				}
				ef, err := repl.DecodeEffect(b.Str)
				if err != nil {
					return nil, err
				}
				f.effects = append(f.effects, ef)
			}
		case fetchSnapshot:
			f.snapshot = true
		default:
			return nil, fmt.Errorf("%w: unknown kind %d", errFetchReply, e.Elems[1].Int)
		}
		out = append(out, f)
	}
	return out, nil
}
