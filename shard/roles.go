package shard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardis/shardis/resp"
)

// Roles. Until ApplyRoles is first called a shard holds a single copy of
// everything and serves every partition. Once the cluster map's roles are
// applied, the shard serves client commands only for the partitions it
// masters, follows the others it holds a copy of, and acknowledges a write
// only once every other in-sync copy of its partition holds it:
//
//	-NOTMASTER <partition> <epoch>
//	    a data command named a key of a partition this shard does not
//	    master (epoch is the partition's epoch in the applied map): the
//	    proxy refreshes its map and retries elsewhere. Nothing was run.
//	-NOREPLICAS Not enough good replicas to write.
//	    a write on a partition with fewer than Config.MinInSync in-sync
//	    copies (Redis's min-replicas-to-write error). Nothing was run.
//	-NOTACKED <partition> write not acknowledged by every in-sync replica in time; it may or may not survive
//	    the write committed on this master, but some in-sync follower did
//	    not acknowledge it within Config.ReplAckTimeout (or the partition
//	    changed hands meanwhile). Its outcome is unknown: a later failover
//	    may keep or lose it. The reply the command would have given is
//	    replaced by this error. It is not a retry signal: a write such as
//	    INCR must not be resent blindly.
//	-TRYAGAIN the value read is not yet held by every in-sync replica
//	    with commit level all, a read waits until the other in-sync
//	    copies hold every write it could have seen (another connection's
//	    write may still be waiting for them); if they do not within
//	    Config.ReplAckTimeout the read is refused rather than return a
//	    write a failover could lose.
//	-NOLEASE <partition> master lease expired: this shard cannot reach the cluster controller
//	    with Config.RequireLease, the shard masters the partition but holds
//	    no running lease, so another shard may be promoted in its place:
//	    it serves neither reads nor writes. Nothing was run; the proxy
//	    retries shortly or by a newer map.
//
// Internal commands (SHARDIS.*) are not gated: replication, digests and
// snapshots work on any role.
//
// A command learns the seq its writes committed at by reading each of its
// partitions' seq before and after it runs: when a partition's seq moved,
// the command's own effect (if any) is at or below the later seq, so
// waiting for the followers to acknowledge that seq is enough. A write
// that raced with another connection's may wait for that one too, which
// costs time, never correctness. The wait holds no partition lock.
//
// A copy in Replicas but not in InSync joins the in-sync set in two
// steps, so that no acknowledged write is missing from it when it is
// promoted. The master watches each such copy's acknowledged position
// (woken by the followers' fetches, like waitAcked). Once it is within
// joinDistance of the partition's seq, the copy is joining: from then on
// every write waits for it as for an in-sync copy, and the master notes
// its seq at that moment. Once the copy acknowledged that seq it holds
// every write acknowledged before it joined, and every later one waited
// for it: the master reports it with Config.OnCaughtUp, once per copy and
// partition epoch, and the controller may add it to InSync. A joining copy
// that does not acknowledge a write in time is treated as a lagging
// in-sync one (NOTACKED, OnLagging) and stops joining until it is close
// again. A map naming the copy in InSync, or no longer naming it, ends its
// joining; a map with a new partition epoch starts the partition's
// bookkeeping afresh.
//
// With commit level all, a connection's writes are acknowledged one after
// the other (each waits for a follower round trip before the next command
// of that connection runs); callers needing throughput use several
// connections per shard.

// CommitLevel says when a master answers a write.
type CommitLevel string

// Commit levels.
const (
	// CommitAll answers a write once every in-sync follower of its
	// partition acknowledged it: no acknowledged write is lost while one
	// in-sync copy survives.
	CommitAll CommitLevel = "all"
	// CommitMaster answers a write once the master committed it: faster,
	// but a failover may lose the last writes.
	CommitMaster CommitLevel = "master"
)

// Defaults for zero role Config fields.
const (
	DefaultMinInSync      = 2
	DefaultReplAckTimeout = 2 * time.Second
	DefaultCommitLevel    = CommitAll
)

// Errors of the role gate (see the comment above).
const (
	errNoReplicas = "NOREPLICAS Not enough good replicas to write."
	errNotAcked   = " write not acknowledged by every in-sync replica in time; it may or may not survive"
	// errReadNotAcked answers a read that saw a write its copies did not
	// acknowledge in time.
	errReadNotAcked = "TRYAGAIN the value read is not yet held by every in-sync replica"
)

// PartRole is one partition's entry of the cluster map, as a shard needs
// it.
type PartRole struct {
	// Epoch is the partition's epoch: it grows whenever its master or
	// copies change, and is what NOTMASTER answers carry.
	Epoch uint64
	// Master is the shard id of the partition's master ("" for none).
	Master string
	// MasterAddr is the master's internal RESP address, which followers
	// fetch from.
	MasterAddr string
	// InSync are the ids of the copies acknowledging writes, the master
	// included.
	InSync []string
	// Replicas are the ids of the copies being brought up to date; they
	// follow the master but writes do not wait for them.
	Replicas []string
	// Placed are the ids of every shard the map places a copy on, those
	// down included, and of the shard alone known to hold every
	// acknowledged write while the partition has no master. A shard named
	// here keeps its copy even when it neither masters nor follows the
	// partition; one named nowhere in the entry drops it (see dropCopies).
	Placed []string
}

// joinDistance is how many effects behind the master's seq a copy may be
// when it starts joining (see above): close enough that writes waiting for
// it meanwhile wait about one fetch round trip more, far enough that a
// copy fetching under a steady write load gets there.
const joinDistance = 64

// roleManager is the applied roles and the Follow loops they started.
type roleManager struct {
	mu    sync.Mutex                // serialises ApplyRoles; guards loops
	table atomic.Pointer[roleTable] // nil until roles are applied
	loops map[string]*followLoop    // master id → its loop; guarded by mu

	joinMu sync.Mutex
	join   map[int]*joinPart // partition → its joining copies; guarded by joinMu

	// changed is closed (and replaced) each time a table is applied, so
	// writes waiting for acknowledgements look at the new in-sync sets.
	changed atomic.Pointer[chan struct{}]

	// leaseEnd is when the master lease ends, as a monoNow reading; see
	// Config.RequireLease.
	leaseEnd atomic.Int64

	// dropFloor is the newest map epoch the data dir's shard had applied
	// before this process started, and recorded the newest since: only a
	// map at least as new drops copies (see dropCopies). Guarded by mu
	// once the shard runs.
	dropFloor, recorded uint64
}

// monoBase anchors monoNow: durations since it use the monotonic clock, so
// leases are immune to wall-clock steps.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) }

// ExtendLease records a master lease from the controller lasting until
// until (measured from before it was asked for, so it errs short). With
// Config.RequireLease the shard serves its mastered partitions only while a
// lease runs. The zero time means the controller runs without leases:
// serve without one.
func (s *Server) ExtendLease(until time.Time) {
	if until.IsZero() {
		s.roles.leaseEnd.Store(math.MaxInt64)
		return
	}
	end := int64(until.Sub(monoBase))
	for {
		cur := s.roles.leaseEnd.Load()
		if end <= cur || s.roles.leaseEnd.CompareAndSwap(cur, end) {
			return
		}
	}
}

// leaseHeld reports whether the shard may serve as a master now.
func (s *Server) leaseHeld() bool {
	return !s.cfg.RequireLease || monoNow() < s.roles.leaseEnd.Load()
}

// joinPart is one mastered partition's copies in Replicas but not in
// InSync, for one partition epoch. Its fields are guarded by
// roleManager.joinMu.
type joinPart struct {
	epoch      uint64
	candidates []string
	members    map[string]uint64 // joining copy → the master's seq when it joined
	reported   map[string]bool   // copies OnCaughtUp heard of at epoch
	cancel     context.CancelFunc
}

// roleTable is one applied map, read without locks by every command.
type roleTable struct {
	epoch  uint64
	roles  []PartRole
	master []bool // this shard accepts client commands for the partition
}

// followLoop is a running Follow.
type followLoop struct {
	addr  string
	parts []int
	stop  func()
}

// ApplyRoles makes the shard take the roles of mapEpoch's cluster map:
// roles[p] is partition p's entry (len(roles) must be Config.Partitions).
// For each partition the shard masters, follows (it is in InSync or
// Replicas) or neither, it starts and stops Follow loops — one per master,
// naming every partition followed from it, a partition never in two loops
// — promotes and demotes partitions, forgets the acknowledgements of
// copies that left, watches the copies of its partitions joining InSync
// (see Config.OnCaughtUp), and drops the copies the map no longer places
// on this shard (see dropCopies). A map older than the last applied one
// is refused; applying the same epoch again is harmless. A partition
// changing hands is refused to clients while it does, so a promoted partition takes writes
// only after it stopped following and a demoted one has stopped taking
// them before it follows. The returned error reports store failures met on
// the way; the roles are applied regardless. Once roles are applied they
// own the shard's Follow loops and follower flags: do not call Follow or
// SetFollower besides.
func (s *Server) ApplyRoles(mapEpoch uint64, roles []PartRole) error {
	if len(roles) != s.cfg.Partitions {
		return fmt.Errorf("shard: %d partition roles given, the cluster has %d partitions", len(roles), s.cfg.Partitions)
	}
	rm := &s.roles
	rm.mu.Lock()
	defer rm.mu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errClosed
	}
	old := rm.table.Load()
	if old != nil && mapEpoch < old.epoch {
		return fmt.Errorf("shard: map epoch %d is older than the applied epoch %d", mapEpoch, old.epoch)
	}

	id := s.cfg.ID
	next := &roleTable{epoch: mapEpoch, roles: make([]PartRole, len(roles)), master: make([]bool, len(roles))}
	type group struct {
		addr  string
		parts []int
	}
	want := make(map[string]*group)
	for p, r := range roles {
		r.InSync = slices.Clone(r.InSync)
		r.Replicas = slices.Clone(r.Replicas)
		r.Placed = slices.Clone(r.Placed)
		next.roles[p] = r
		switch {
		case r.Master == id:
			next.master[p] = true
		case r.Master != "" && r.MasterAddr != "" && (slices.Contains(r.InSync, id) || slices.Contains(r.Replicas, id)):
			g := want[r.Master]
			if g == nil {
				g = &group{addr: r.MasterAddr}
				want[r.Master] = g
			}
			if g.addr != r.MasterAddr {
				s.log.Warn("cluster map names two addresses for one master", "shard", id, "master", r.Master,
					"addr", g.addr, "other", r.MasterAddr, "partition", p)
				continue
			}
			g.parts = append(g.parts, p)
		}
	}

	// While partitions change hands, serve only those mastered before and after.
	trans := &roleTable{epoch: mapEpoch, roles: next.roles, master: make([]bool, len(roles))}
	if old != nil {
		for p := range trans.master {
			trans.master[p] = old.master[p] && next.master[p]
		}
	}
	rm.table.Store(trans)

	// Stop every loop that changes before starting any, so that no
	// partition is ever in two loops.
	for m, l := range rm.loops {
		if g := want[m]; g == nil || g.addr != l.addr || !slices.Equal(g.parts, l.parts) {
			l.stop()
			delete(rm.loops, m)
		}
	}
	var errs []error
	for p := range roles {
		if next.master[p] {
			if err := s.SetFollower(p, false); err != nil {
				errs = append(errs, fmt.Errorf("shard: promote partition %d: %w", p, err))
			}
		}
		if old != nil {
			for _, f := range copies(old.roles[p]) {
				if f != id && !slices.Contains(copies(next.roles[p]), f) {
					s.forgetFollower(p, f)
				}
			}
		}
	}
	if rm.loops == nil {
		rm.loops = make(map[string]*followLoop)
	}
	for m, g := range want {
		if rm.loops[m] == nil {
			rm.loops[m] = &followLoop{addr: g.addr, parts: g.parts, stop: s.Follow(m, g.addr, g.parts)}
		}
	}
	// After the transition table: a write that finds a copy no longer
	// joining finds it in InSync (awaitReplicas reads in the other order).
	s.updateJoining(next)
	rm.table.Store(next)
	ch := make(chan struct{})
	if prev := rm.changed.Swap(&ch); prev != nil {
		close(*prev)
	}
	// A FETCH waiting on a partition this shard now masters skipped it
	// during the transition: wake it, or its followers would hear of the
	// partition's newest effects only when their wait ran out, and writes
	// waiting for them could time out meanwhile.
	s.repl.moved.Notify()
	// No loop follows a partition the map no longer gives this shard, and
	// it serves none of them: their copies can go.
	errs = append(errs, s.dropCopies(mapEpoch, next)...)
	return errors.Join(errs...)
}

// rolesChanged returns a channel closed when the next roles table is
// applied.
func (s *Server) rolesChanged() <-chan struct{} {
	for {
		if ch := s.roles.changed.Load(); ch != nil {
			return *ch
		}
		ch := make(chan struct{})
		s.roles.changed.CompareAndSwap(nil, &ch)
	}
}

// updateJoining makes the joining bookkeeping follow t: one watcher per
// mastered partition with copies in Replicas but not in InSync, started
// afresh when the partition's epoch changes.
func (s *Server) updateJoining(t *roleTable) {
	rm := &s.roles
	rm.joinMu.Lock()
	defer rm.joinMu.Unlock()
	for p, r := range t.roles {
		var cand []string
		if t.master[p] {
			for _, f := range r.Replicas {
				if f != s.cfg.ID && !slices.Contains(r.InSync, f) && !slices.Contains(cand, f) {
					cand = append(cand, f)
				}
			}
		}
		jp := rm.join[p]
		if jp != nil && jp.epoch == r.Epoch && slices.Equal(jp.candidates, cand) {
			continue
		}
		if jp != nil {
			jp.cancel()
			delete(rm.join, p)
		}
		if len(cand) == 0 {
			continue
		}
		ctx, cancel := context.WithCancel(s.replCtx)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			cancel()
			return
		}
		s.bg.Add(1) // Close waits for the watcher before closing the stores
		s.mu.Unlock()
		jp = &joinPart{epoch: r.Epoch, candidates: cand, members: make(map[string]uint64),
			reported: make(map[string]bool), cancel: cancel}
		if rm.join == nil {
			rm.join = make(map[int]*joinPart)
		}
		rm.join[p] = jp
		go func() {
			defer s.bg.Done()
			s.watchJoining(ctx, p, jp)
		}()
	}
}

// watchJoining moves partition p's candidate copies through joining and
// reports them, woken by the followers' acknowledgements, until ctx ends.
func (s *Server) watchJoining(ctx context.Context, p int, jp *joinPart) {
	for {
		ch := s.ackChanged(p) // before looking: a later ack closes it
		report, live := s.checkJoining(ctx, p, jp)
		if !live {
			return
		}
		if s.cfg.OnCaughtUp != nil {
			for _, f := range report {
				s.cfg.OnCaughtUp(p, f, jp.epoch)
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// ackChanged returns a channel closed when some follower's acknowledged
// position of p grows (the one waitAcked waits on).
func (s *Server) ackChanged(p int) <-chan struct{} { return s.repl.acks.Changed(p) }

// ackedPos returns follower's acknowledged position of p and whether it
// fetched p at all.
func (s *Server) ackedPos(p int, follower string) (uint64, bool) {
	return s.repl.acks.Acked(p, follower)
}

// checkJoining starts the joining of p's candidates that came close and
// returns those to report now. It reports false once jp is no longer
// current.
func (s *Server) checkJoining(ctx context.Context, p int, jp *joinPart) ([]string, bool) {
	rm := &s.roles
	rm.joinMu.Lock()
	defer rm.joinMu.Unlock()
	if ctx.Err() != nil || rm.join[p] != jp {
		return nil, false
	}
	var report []string
	for _, f := range jp.candidates {
		at, joining := jp.members[f]
		if !joining {
			seq, err := s.Seq(p)
			pos, fetched := s.ackedPos(p, f)
			if err != nil || !fetched || pos+joinDistance < seq {
				continue
			}
			// Join first, then read the seq: a write that did not see
			// f joining committed at or below it.
			jp.members[f] = 0
			if at, err = s.Seq(p); err != nil {
				delete(jp.members, f)
				continue
			}
			jp.members[f] = at
		}
		if pos, _ := s.ackedPos(p, f); pos >= at && !jp.reported[f] {
			jp.reported[f] = true
			report = append(report, f)
		}
	}
	return report, true
}

// joining returns p's joining copies (nil for none).
func (s *Server) joining(p int) []string {
	rm := &s.roles
	rm.joinMu.Lock()
	defer rm.joinMu.Unlock()
	jp := rm.join[p]
	if jp == nil || len(jp.members) == 0 {
		return nil
	}
	out := make([]string, 0, len(jp.members))
	for f := range jp.members {
		out = append(out, f)
	}
	return out
}

// stopJoining ends follower's joining of p after it lagged; it joins
// again once it is close.
func (s *Server) stopJoining(p int, follower string) {
	rm := &s.roles
	rm.joinMu.Lock()
	defer rm.joinMu.Unlock()
	if jp := rm.join[p]; jp != nil {
		delete(jp.members, follower)
	}
}

// copies returns every shard id holding a copy of r's partition.
func copies(r PartRole) []string {
	out := make([]string, 0, 1+len(r.InSync)+len(r.Replicas))
	if r.Master != "" {
		out = append(out, r.Master)
	}
	out = append(out, r.InSync...)
	return append(out, r.Replicas...)
}

// RolesEpoch returns the epoch of the last map applied by ApplyRoles (0,
// false before any).
func (s *Server) RolesEpoch() (uint64, bool) {
	t := s.roles.table.Load()
	if t == nil {
		return 0, false
	}
	return t.epoch, true
}

// roleGate is what the role checks learnt about one command before it ran.
type roleGate struct {
	table  *roleTable // nil: no wait after the command
	parts  []int
	before []uint64
	mark   int // length of the connection's reply buffer before the command
	buf    [4]int
	bufSeq [4]uint64
	read   bool // a read: wait for the copies to hold what it saw
}

// readMark stands in roleGate.before for a read: no seq equals it, so the
// partition's seq after the read is always waited for.
const readMark = math.MaxUint64

// gate applies the roles to a client command before it runs. It reports
// false when it refused the command (the error is written).
func (s *Server) gate(c *conn, spec *resp.Command, parts []int, g *roleGate) bool {
	t := s.roles.table.Load()
	if len(parts) == 0 {
		return true
	}
	if t == nil {
		if s.cfg.RequireLease {
			// A cluster member that has not applied a map yet (a process
			// just restarted) masters nothing: the map may still name it
			// master, but its old self's copies may already be someone
			// else's to serve.
			c.WriteError(resp.NoLeaseError{Partition: parts[0]}.Error())
			return false
		}
		return true
	}
	for _, p := range parts {
		if !t.master[p] {
			c.WriteError(resp.NotMasterError{Partition: p, Epoch: t.roles[p].Epoch}.Error())
			return false
		}
		if s.handoff.stopped(p, t.roles[p].Epoch) {
			c.WriteError(resp.HandoffError{Partition: p}.Error())
			return false
		}
	}
	if !s.leaseHeld() {
		// Cut off from the controller: another shard may be promoted in
		// its place at any moment, so neither reads nor writes are served.
		c.WriteError(resp.NoLeaseError{Partition: parts[0]}.Error())
		return false
	}
	if !spec.IsWrite() {
		if s.cfg.CommitLevel == CommitMaster {
			return true
		}
		// A read must not return a write that is not acknowledged yet
		// (another connection's, still waiting for its copies): that
		// write could be lost in a failover after the read saw it. The
		// read waits, after it ran, until the copies hold everything it
		// could have seen.
		g.table, g.parts, g.before, g.read = t, parts, g.bufSeq[:0], true
		for range parts {
			g.before = append(g.before, readMark)
		}
		g.mark = c.out.Len()
		return true
	}
	for _, p := range parts {
		if len(t.roles[p].InSync) < s.cfg.MinInSync {
			c.WriteError(errNoReplicas)
			return false
		}
	}
	if s.cfg.CommitLevel == CommitMaster {
		return true
	}
	g.table, g.parts, g.before = t, parts, g.bufSeq[:0]
	for _, p := range parts {
		seq, _ := s.Seq(p)
		g.before = append(g.before, seq)
	}
	g.mark = c.out.Len()
	return true
}

// replicated waits until the copies hold what g's command did or saw. It
// reports false, with the partition that failed, when they do not in time.
func (s *Server) replicated(g *roleGate) (int, bool) {
	if g.table == nil {
		return 0, true
	}
	var ctx context.Context
	var cancel context.CancelFunc
	for i, p := range g.parts {
		seq, err := s.Seq(p)
		if err != nil || seq == g.before[i] {
			continue
		}
		if others, _, ok := s.copiesToWaitFor(p, g.read); ok && s.repl.acks.Hold(p, seq, others) {
			continue // the common case: nothing to wait for
		}
		if ctx == nil {
			ctx, cancel = context.WithTimeout(s.replCtx, s.cfg.ReplAckTimeout)
			defer cancel()
		}
		if !s.copiesHold(ctx, p, seq, g.read) {
			return p, false
		}
	}
	return 0, true
}

// copiesHold waits until the other in-sync and joining copies of p hold
// seq. The copies are looked up again whenever a new map is applied: a copy
// the controller took out of the in-sync set (it failed, or lagged) is no
// longer waited for, which is what lets writes resume as soon as the map
// says so rather than at the timeout. It reports false when they do not
// hold it in time, when the partition changed hands, when (for a write)
// the in-sync set shrank below MinInSync, or when the shard closes.
func (s *Server) copiesHold(ctx context.Context, p int, seq uint64, read bool) bool {
	var prev []string
	for {
		changed := s.rolesChanged()
		others, epoch, ok := s.copiesToWaitFor(p, read)
		if !ok {
			// A handoff waits for every copy before the map moves the
			// partition (see handoff.go): if the partition changed hands
			// and the copies of the map the command ran under hold seq,
			// it is acknowledged.
			moved := !s.roles.table.Load().master[p]
			return moved && prev != nil && s.repl.acks.Hold(p, seq, prev)
		}
		prev = others
		if len(others) == 0 {
			return true
		}
		err := s.waitAcked(ctx, p, seq, others, changed)
		if err == nil {
			return true
		}
		if errors.Is(err, errRolesChanged) {
			continue
		}
		if s.replCtx.Err() != nil {
			return false // the shard is closing: its followers did nothing wrong
		}
		joining := s.joining(p)
		for _, f := range others {
			if s.Acked(p, f) >= seq {
				continue
			}
			if slices.Contains(joining, f) {
				s.stopJoining(p, f)
			}
			if s.cfg.OnLagging != nil {
				s.cfg.OnLagging(p, f, epoch)
			}
		}
		s.log.Warn("not acknowledged by every in-sync follower in time", "shard", s.cfg.ID, "partition", p, "seq", seq, "read", read)
		return false
	}
}

// copiesToWaitFor returns the copies of p other than this shard that must
// hold a command's effects (for a read, what it saw) before its reply goes
// out: the in-sync ones and, for a write, the joining ones. It reports
// false when the partition changed hands while the command ran or, for a
// write, when the in-sync set shrank below MinInSync: acknowledging the
// write then would rest it on too few copies, so its outcome is left
// unknown.
func (s *Server) copiesToWaitFor(p int, read bool) ([]string, uint64, bool) {
	// Joining copies before the table: see ApplyRoles. A read waits only
	// for the in-sync copies, the ones a failover promotes from: a
	// joining copy gets what the read saw before it may join them.
	var joining []string
	if !read {
		joining = s.joining(p)
	}
	t := s.roles.table.Load()
	if !t.master[p] {
		return nil, 0, false
	}
	role := &t.roles[p]
	if len(role.InSync) < s.cfg.MinInSync && !read {
		return nil, 0, false
	}
	var others []string
	for _, list := range [2][]string{role.InSync, joining} {
		for _, f := range list {
			if f != s.cfg.ID && !slices.Contains(others, f) {
				others = append(others, f)
			}
		}
	}
	return others, role.Epoch, true
}

// heldReply is a reply written before the copies acknowledged what its
// command did or saw: it goes out with the rest of its pipeline once they
// have (see handle).
type heldReply struct {
	start, end int // the reply's bytes in the connection's output buffer
	read       bool
	parts      []int
	before     []uint64
}

// hold records g's command, whose reply was just written, as waiting for
// its copies.
func (c *conn) hold(g *roleGate, end int) {
	c.held = append(c.held, heldReply{start: g.mark, end: end, read: g.read,
		parts: slices.Clone(g.parts), before: slices.Clone(g.before)})
}

// release waits, once for a whole pipeline, until the copies hold what
// every held command did or saw; from the first that fails on, each held
// reply is replaced by its error (the commands ran: their outcome is
// unknown), and the replies between them, of commands that needed no
// copies, are kept. Group commit: a pipeline of writes waits for one
// replication round trip instead of one each.
func (s *Server) release(c *conn) {
	if len(c.held) == 0 {
		return
	}
	held := c.held
	c.held = c.held[:0]
	failedAt, failedPart := -1, 0
	for i := range held {
		g := roleGate{table: s.roles.table.Load(), parts: held[i].parts, before: held[i].before, read: held[i].read}
		if p, ok := s.replicated(&g); !ok {
			failedAt, failedPart = i, p
			break
		}
	}
	if failedAt < 0 {
		return
	}
	buf := c.out.Bytes()
	out := append([]byte(nil), buf[:held[failedAt].start]...)
	for i := failedAt; i < len(held); i++ {
		h := held[i]
		if i > failedAt {
			out = append(out, buf[held[i-1].end:h.start]...)
		}
		part := h.parts[0]
		if i == failedAt {
			part = failedPart
		}
		if h.read {
			out = resp.AppendError(out, errReadNotAcked)
		} else {
			out = resp.AppendError(out, "NOTACKED "+strconv.Itoa(part)+errNotAcked)
		}
	}
	out = append(out, buf[held[len(held)-1].end:]...)
	c.out.Reset()
	c.out.Raw(out)
	c.failed = true
}
