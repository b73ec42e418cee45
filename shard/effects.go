package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/shardis/shardis/repl"
	"github.com/shardis/shardis/store"

	"github.com/tidwall/btree"
	"github.com/tidwall/buntdb"

	"github.com/shardis/shardis/ring"
)

// Effects. What replication, catch-up and backup carry is never a command
// but what a command's transaction did to the store: the records it set
// (their exact stored bytes: type, version, absolute expiry, payload) and
// the records it deleted, expired records deleted lazily or by the reaper
// included. Every committed write transaction that changed anything on a
// partition becomes one Effect with the partition's next sequence number;
// the number is stored in the same BuntDB transaction, so it survives a
// restart exactly as far as the data does. A follower applies effects in
// sequence order and so holds the master's records byte for byte, without
// ever running command logic or its own expiry.
//
// The sequence number lives in the partition's meta record, stored under
// metaKey. User records are stored under 4-byte hash + user key, so every
// user storage key is at least storageKeyLen bytes long; storage keys
// shorter than that are reserved for partition metadata and every
// iteration over user records skips them (splitStorageKey refuses them).
// metaKey ("\x00") also sorts before every user storage key.

// metaKey is the BuntDB key of a partition's meta record: seq (8 bytes,
// big endian), history hash (8 bytes, big endian) then flags (1 byte,
// metaFollower, metaIncomplete). A 9-byte record (no hash) is read with
// hash 0.
const metaKey = store.MetaKey

// metaLen is the length of the meta record's value; metaLenNoHash that of
// the older form without the history hash.
const (
	metaLen       = 17
	metaLenNoHash = 9
)

// Meta flags.
const (
	// metaFollower marks a follower partition.
	metaFollower = 1
	// metaIncomplete marks a partition whose snapshot load has not
	// finished (or that was dropped): its records are not a state of the
	// partition, and a snapshot must replace them before it serves or
	// follows (see loadSnapshot).
	metaIncomplete = 2
)

// isMetaKey reports whether sk is reserved for metadata rather than user
// data.
func isMetaKey(sk string) bool { return !store.IsUserKey(sk) }

func encodeMeta(seq, hash uint64, flags byte) string {
	var b [metaLen]byte
	binary.BigEndian.PutUint64(b[:], seq)
	binary.BigEndian.PutUint64(b[8:], hash)
	b[16] = flags
	return string(b[:])
}

// setPos records in tx the partition's seq, history hash and follower flag
// as of tx, with the incomplete flag p holds. A file-backed partition
// stores them in its meta record, in the same transaction as the data, so
// they survive a restart exactly as far as the data does. A partition in
// memory, which no restart reads, keeps them in fields instead (a B-tree
// write less per transaction): they are written under the store's write
// lock, so a read transaction sees them exactly as it sees tx's data (see
// pos).
func (p *partition) setPos(tx *buntdb.Tx, seq, hash uint64, follower bool) error {
	if p.path == "" {
		p.txSeq.Store(seq)
		p.txHash.Store(hash)
		return nil
	}
	var flags byte
	if follower {
		flags |= metaFollower
	}
	if p.incomplete {
		flags |= metaIncomplete
	}
	_, _, err := tx.Set(metaKey, encodeMeta(seq, hash, flags), nil)
	return err
}

// pos is the seq and history hash as of tx (0, 0 for a partition never
// written); see setPos.
func (p *partition) pos(tx *buntdb.Tx) (seq, hash uint64, err error) {
	if p.path == "" {
		return p.txSeq.Load(), p.txHash.Load(), nil
	}
	return metaPos(tx)
}

// readMeta loads seq, history hash and the flags of p from tx; a
// partition never written has none.
func readMeta(tx *buntdb.Tx, p *partition) error {
	v, err := tx.Get(metaKey)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	seq, hash, flags, ok := decodeMeta(v)
	if !ok {
		// Guessing a sequence number could make a follower skip writes.
		return fmt.Errorf("shard: partition %d: malformed meta record %q", p.id, v)
	}
	p.seq, p.hash = seq, hash
	p.follower, p.incomplete = flags&metaFollower != 0, flags&metaIncomplete != 0
	p.seqNow.Store(seq)
	return nil
}

func decodeMeta(v string) (seq, hash uint64, flags byte, ok bool) {
	switch len(v) {
	case metaLen:
		return binary.BigEndian.Uint64([]byte(v[:8])), binary.BigEndian.Uint64([]byte(v[8:16])), v[16], true
	case metaLenNoHash:
		return binary.BigEndian.Uint64([]byte(v[:8])), 0, v[8], true
	}
	return 0, 0, 0, false
}

// metaPos is the seq and history hash stored in tx (0, 0 for a partition
// never written).
func metaPos(tx *buntdb.Tx) (seq, hash uint64, err error) {
	v, err := tx.Get(metaKey)
	if errors.Is(err, buntdb.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	seq, hash, _, ok := decodeMeta(v)
	if !ok {
		return 0, 0, fmt.Errorf("shard: malformed meta record %q", v)
	}
	return seq, hash, nil
}

// Op is one store-level mutation of a partition (see store.Op).
type Op = store.Op

// Effect is what one committed write transaction did to one partition
// (see repl.Effect).
type Effect = repl.Effect

// Errors of ApplyEffects, matched with errors.Is.
var (
	// ErrSeqGap means an effect does not follow the partition's applied
	// seq: effects are missing and the follower needs a snapshot (or the
	// missing effects).
	ErrSeqGap = errors.New("shard: effect sequence gap")
	// ErrBadEffect means an effect is malformed or belongs elsewhere.
	ErrBadEffect = repl.ErrBadEffect
)

// DefaultReplLogSize is how many recent effects each partition keeps in
// memory when Config.ReplLogSize is zero.
const DefaultReplLogSize = 4096

// The effect logs of a shard hold at most about replLogBudget bytes in
// all, split evenly between partitions (never less than replLogMinBytes
// each), so a burst of large values cannot make them huge whatever the
// partition count; the newest effect of a partition is kept whatever its
// size.
const (
	replLogBudget   = 256 << 20
	replLogMinBytes = 64 << 10
)

func (s *Server) replLogSize() int {
	if s.cfg.ReplLogSize > 0 {
		return s.cfg.ReplLogSize
	}
	return DefaultReplLogSize
}

// replLogBytes is the byte bound of one partition's effect log.
func (s *Server) replLogBytes() int {
	return max(replLogMinBytes, replLogBudget/s.cfg.Partitions)
}

// keepsLog reports whether p logs its effects: when it is a follower (it
// may be promoted, and its followers then continue from its log) or may
// have followers, a copy placed on a shard that is down included (it
// catches up from the log when it returns). A partition with no other copy would only hold its
// recent writes a second time; a copy added later catches up from a
// snapshot. Caller holds p.mu.
func (s *Server) keepsLog(p *partition) bool {
	if p.follower {
		return true
	}
	t := s.roles.table.Load()
	if t == nil {
		return !s.cfg.Standalone
	}
	r := &t.roles[p.id]
	for _, id := range r.InSync {
		if id != r.Master {
			return true
		}
	}
	for _, list := range [2][]string{r.Replicas, r.Placed} {
		for _, id := range list {
			if id != r.Master {
				return true
			}
		}
	}
	return false
}

// commit runs fn in a write transaction of p. When fn changed anything (or
// t.forceSeq is set), the transaction also stores the partition's next seq,
// and once it commits the change becomes that effect: logged, and waiters
// woken. Caller holds p.mu.
//
// A partition that keeps no log (no other copy may fetch it) captures no
// effect and leaves its history hash as it is: the hash only tells copies'
// histories apart, and a copy added later starts from a snapshot carrying
// the hash, so the chain goes on from there. That spares a standalone
// shard recording and hashing every write.
func (s *Server) commit(p *partition, t *txn, now int64, fn func(t *txn) error) error {
	if err := s.handoffRefusal(p); err != nil {
		return err
	}
	logged := s.keepsLog(p)
	capture := logged && !s.effectsOff
	var seq, hash uint64
	var lw logWriter
	err := p.db.Update(func(tx *buntdb.Tx) error {
		t.Begin(tx, &p.ctr, now, true, capture)
		if err := fn(t); err != nil {
			return err
		}
		if !t.Dirty || s.effectsOff {
			return nil
		}
		seq, hash = p.seq+1, p.hash
		if capture {
			hash = repl.Chain(p.hash, seq, t.Ops)
		}
		if err := p.setPos(tx, seq, hash, p.follower); err != nil {
			return err
		}
		lw = p.logWriter(tx, capture)
		if t.Cleared {
			lw.cleared()
		}
		lw.add(Effect{Partition: p.id, Seq: seq, Ops: t.Ops}, now, hash, p.hash)
		return lw.finish(p.memFirst())
	})
	if err != nil {
		return err
	}
	p.apply(t)
	if seq != 0 {
		lw.done(p)
		var ops []Op
		if capture {
			ops = t.Ops
			t.Ops = nil // the log keeps them; the pooled txn must not reuse them
		}
		s.advance(p, Effect{Partition: p.id, Seq: seq, Ops: ops}, hash, now, logged)
		s.seqMoved(p)
	}
	return nil
}

// advance moves p to effect e's seq and history hash once e committed,
// logging e when p keeps a log (see keepsLog); without one, the log is
// dropped, since a log must end at p.seq. Snapshot sessions pinning the
// log past their bound are given up (see checkPins). Caller holds p.mu.
func (s *Server) advance(p *partition, e Effect, hash uint64, atMS int64, logged bool) {
	prev := p.hash
	p.seq, p.hash = e.Seq, hash
	if logged {
		p.log.Push(e, atMS, hash, prev, s.replLogSize(), s.replLogBytes())
		if len(p.pins) > 0 {
			s.checkPins(p)
		}
	} else if p.log.Len() > 0 || len(p.pins) > 0 {
		s.dropPins(p, "the partition no longer keeps an effect log")
		p.log.Reset()
	}
}

func newExpIndex() *btree.BTreeG[expEntry] {
	return btree.NewBTreeGOptions(expLess, btree.Options{NoLocks: true})
}

// seqMoved publishes p's new seq and wakes the FETCHes waiting for any
// partition's. Caller holds p.mu.
func (s *Server) seqMoved(p *partition) {
	p.seqNow.Store(p.seq)
	s.repl.moved.Notify()
}

// flushPartition deletes every record of partition pid as one effect.
func (s *Server) flushPartition(pid int) error {
	p := s.parts[pid].Load()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var t txn
	return s.commit(p, &t, s.nowMS(), (*txn).Clear)
}

// checkPartition validates a partition id given by a caller.
func (s *Server) checkPartition(pid int) error {
	if pid < 0 || pid >= s.cfg.Partitions {
		return fmt.Errorf("shard: partition %d out of range [0, %d)", pid, s.cfg.Partitions)
	}
	return nil
}

// Seq returns the sequence number of the last effect committed (or applied)
// on partition pid; 0 for a partition never written.
func (s *Server) Seq(pid int) (uint64, error) {
	if err := s.checkPartition(pid); err != nil {
		return 0, err
	}
	p := s.parts[pid].Load()
	if p == nil {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq, nil
}

// EffectsSince returns up to max effects of partition pid that follow
// afterSeq, oldest first (max <= 0: all the log holds). The effects share
// their Ops with the log: treat them as read-only. It reports false when
// the log cannot continue from afterSeq — the effects after it were
// dropped from the log (or were never in it, after a restart or a snapshot
// load), or afterSeq is beyond the partition's seq, which means the reader
// holds writes this partition does not — and the reader then needs a
// snapshot. A reader that is up to date gets no effects and true.
func (s *Server) EffectsSince(pid int, afterSeq uint64, max int) ([]Effect, bool) {
	if s.checkPartition(pid) != nil {
		return nil, false
	}
	p := s.parts[pid].Load()
	if p == nil {
		return nil, afterSeq == 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case afterSeq > p.seq:
		return nil, false
	case afterSeq == p.seq:
		return nil, true
	}
	live, ok := p.log.Since(afterSeq, p.seq, max)
	return append([]Effect(nil), live...), ok
}

// historyAt returns p's history hash at seq when p knows it: at its own
// seq, or at any seq its effect log covers (from the one before its oldest
// logged effect on). Caller holds p.mu.
func (p *partition) historyAt(seq uint64) (uint64, bool) {
	if seq == p.seq {
		return p.hash, true
	}
	return p.log.HistoryAt(seq, p.seq)
}

// historyMatches reports whether a copy of partition pid at seq with
// history hash hash holds this shard's history up to seq. It reports true
// when this shard cannot tell (seq beyond its own or older than its effect
// log): such a copy is sent a snapshot anyway.
func (s *Server) historyMatches(pid int, seq, hash uint64) bool {
	p := s.parts[pid].Load()
	if p == nil {
		return seq != 0 || hash == 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h, known := p.historyAt(seq)
	return !known || h == hash
}

// position returns partition pid's seq and history hash.
func (s *Server) position(pid int) (seq, hash uint64, err error) {
	if err := s.checkPartition(pid); err != nil {
		return 0, 0, err
	}
	p := s.parts[pid].Load()
	if p == nil {
		return 0, 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq, p.hash, nil
}

// partitionForWrite returns partition pid, opening (and creating) it.
func (s *Server) partitionForWrite(pid int) (*partition, error) {
	if err := s.checkPartition(pid); err != nil {
		return nil, err
	}
	if p := s.parts[pid].Load(); p != nil {
		return p, nil
	}
	return s.openPartition(pid)
}

// SetFollower makes partition pid a follower (its records change only by
// applied effects and snapshots: no active expiry, no deletion of expired
// records at open) or a master again. The flag is stored with the
// partition, so it survives a restart. ApplyEffects and LoadSnapshot set it
// themselves; promotion is SetFollower(pid, false), after which local
// writes continue the applied sequence.
func (s *Server) SetFollower(pid int, follower bool) error {
	if err := s.checkPartition(pid); err != nil {
		return err
	}
	if !follower && s.parts[pid].Load() == nil {
		return nil
	}
	p, err := s.partitionForWrite(pid)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return s.setFollowerLocked(p, follower)
}

func (s *Server) setFollowerLocked(p *partition, follower bool) error {
	if !follower && p.incomplete {
		// Its records are no state of the partition; the map should never
		// have promoted it (a loading copy is not in sync).
		s.log.Error("partition promoted while its snapshot load was unfinished: it starts empty",
			"shard", s.cfg.ID, "partition", p.id)
		return s.resetPartition(p, false, false)
	}
	if p.follower == follower {
		return nil
	}
	err := p.db.Update(func(tx *buntdb.Tx) error { return p.setPos(tx, p.seq, p.hash, follower) })
	if err == nil {
		p.follower = follower
	}
	return err
}

// IsFollower reports whether partition pid is a follower (see SetFollower).
func (s *Server) IsFollower(pid int) bool {
	if s.checkPartition(pid) != nil {
		return false
	}
	p := s.parts[pid].Load()
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.follower
}

// isIncomplete reports whether partition pid's last snapshot load did not
// finish (see metaIncomplete).
func (s *Server) isIncomplete(pid int) bool {
	p := s.parts[pid].Load()
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.incomplete
}

// ApplyEffects applies effects of partition pid in order, one transaction
// per effect, and returns the partition's seq afterwards. An effect at or
// below the applied seq is skipped, so replaying is harmless; one beyond
// seq+1 stops the batch with ErrSeqGap; a malformed one with ErrBadEffect
// (the effects before it stay applied). Applying makes the partition a
// follower, and the partition logs each applied effect exactly as received,
// so it can itself serve catch-up and, once promoted, continue the sequence.
func (s *Server) ApplyEffects(pid int, effects []Effect) (uint64, error) {
	p, err := s.partitionForWrite(pid)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.incomplete {
		return p.seq, errIncomplete(pid)
	}
	// The effects that are new and valid, in order, are applied in one
	// transaction (one meta record write, one commit) rather than one
	// each: a follower's apply was most of the cost of a replicated write.
	// Effects already applied (replays) are skipped; an effect that is
	// refused ends the batch before it.
	var batch []*Effect
	var batchErr error
	for i, next := 0, p.seq+1; i < len(effects); i++ {
		e := &effects[i]
		if e.Seq < next {
			continue
		}
		if e.Seq != next {
			batchErr = fmt.Errorf("%w: partition %d has applied seq %d, next effect has seq %d", ErrSeqGap, pid, next-1, e.Seq)
			break
		}
		if err := s.checkEffect(pid, e); err != nil {
			batchErr = err
			break
		}
		batch = append(batch, e)
		next++
	}
	if len(batch) == 0 {
		return p.seq, batchErr
	}
	if !p.follower {
		if err := s.setFollowerLocked(p, true); err != nil {
			return p.seq, err
		}
	}
	var t txn
	now := s.nowMS()
	hashes := make([]uint64, len(batch))
	logged := s.keepsLog(p)
	var lw logWriter
	err = p.db.Update(func(tx *buntdb.Tx) error {
		t.Begin(tx, &p.ctr, now, true, false)
		lw = p.logWriter(tx, logged)
		h := p.hash
		for i, e := range batch {
			for _, op := range e.Ops {
				var err error
				switch {
				case op.Clear():
					err = t.Clear()
					lw.cleared()
				case op.Del:
					t.DeleteRaw(op.Key)
				default:
					err = t.PutRaw(op.Key, op.Value)
				}
				if err != nil {
					return err
				}
			}
			prev := h
			h = repl.Chain(h, e.Seq, e.Ops)
			hashes[i] = h
			lw.add(*e, now, h, prev)
		}
		if err := p.setPos(tx, batch[len(batch)-1].Seq, h, true); err != nil {
			return err
		}
		return lw.finish(p.memFirst())
	})
	if err != nil {
		return p.seq, err
	}
	p.apply(&t)
	lw.done(p)
	for i, e := range batch {
		s.advance(p, Effect{Partition: pid, Seq: e.Seq, Ops: e.Ops}, hashes[i], now, logged)
	}
	s.seqMoved(p)
	return p.seq, batchErr
}

// checkEffect refuses an effect that does not belong to partition pid or
// holds something no master writes.
func (s *Server) checkEffect(pid int, e *Effect) error {
	if e.Partition != pid {
		return fmt.Errorf("%w: effect of partition %d applied to partition %d", ErrBadEffect, e.Partition, pid)
	}
	for i, op := range e.Ops {
		if op.Clear() {
			continue
		}
		key, ok := store.UserKey(op.Key)
		if !ok {
			return fmt.Errorf("%w: op %d: storage key %q is not a user key", ErrBadEffect, i, op.Key)
		}
		if got := ring.Partition([]byte(key), s.cfg.Partitions); got != pid {
			return fmt.Errorf("%w: op %d: key belongs to partition %d, not %d", ErrBadEffect, i, got, pid)
		}
		if !op.Del && op.Key[0] == store.SpaceKey && !store.ValidRecord(op.Value) {
			return fmt.Errorf("%w: op %d: malformed record of %d bytes", ErrBadEffect, i, len(op.Value))
		}
	}
	return nil
}
