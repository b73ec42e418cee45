package store

import (
	"errors"
	"strings"

	"github.com/tidwall/buntdb"
)

// Op is one store-level mutation of a partition: what replicates.
type Op struct {
	// Del deletes Key; otherwise Key is set to Value. A Del with an empty
	// Key deletes every record of the partition (FLUSH), see Clear.
	Del bool
	// Key is the storage key (see the key spaces in keys.go).
	Key string
	// Value is the stored value exactly: a key record (see Record) or an
	// element's value.
	Value string
}

// Clear reports whether o deletes every record of its partition.
func (o Op) Clear() bool { return o.Del && o.Key == "" }

// ExpChange is an expiry-index update a transaction produced; the owner of
// the partition applies it to its index once the transaction commits.
type ExpChange struct {
	SK       string // storage key of a key record
	Old, New int64  // unix ms; 0 = none
}

// Counters are partition-wide values that write transactions move. The
// partition's writer lock guards them; a transaction changes Version as it
// goes (a gap after a rollback is harmless) and reports the other deltas in
// its fields, which the owner adds once it commits.
type Counters struct {
	// Version is the last version assigned to a write.
	Version uint64
	// Keys counts key records.
	Keys int64
	// Tombstones counts deleted collections whose elements are not swept.
	Tombstones int64
}

// Txn is one command's (or one unit's) view of one partition, inside a
// BuntDB transaction. A Txn is used by one goroutine. When it has no
// BuntDB transaction (a partition never written) every read misses.
type Txn struct {
	tx       *buntdb.Tx
	c        *Counters
	now      int64
	writable bool
	capture  bool

	// Ops are the mutations made, recorded when capture is set; they
	// become the partition's next effect.
	Ops []Op
	// Changes are the expiry-index updates to apply after commit.
	Changes []ExpChange
	// Dirty reports that something was written or deleted.
	Dirty bool
	// Cleared reports that every record was deleted: the expiry index
	// restarts empty.
	Cleared bool
	// Expired counts key records deleted because they were expired.
	Expired int
	// KeysDelta and TombstonesDelta are added to Counters after commit.
	KeysDelta, TombstonesDelta int64

	// lastKey/lastSK cache the storage key of the last user key looked
	// up, since most writes read the key first.
	lastKey []byte
	lastSK  string
}

// ErrReadOnly is returned by a write through a read transaction: a
// command-table bug, never a user error.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// Begin resets t to run over tx (nil: a partition never written, every
// read misses) at command time now (unix ms). A write transaction needs
// the partition's counters; capture records its Ops.
func (t *Txn) Begin(tx *buntdb.Tx, c *Counters, now int64, writable, capture bool) {
	*t = Txn{tx: tx, c: c, now: now, writable: writable, capture: capture, Ops: t.Ops[:0], Changes: t.Changes[:0]}
}

// Reset drops everything t holds, so a pooled Txn keeps no keys alive.
func (t *Txn) Reset() { *t = Txn{} }

// Now is the command's time in unix ms: every key of a command sees the
// same instant, as in Redis.
func (t *Txn) Now() int64 { return t.now }

// Writable reports whether t may write.
func (t *Txn) Writable() bool { return t.writable && t.tx != nil }

// Tx is the underlying BuntDB transaction (nil for a partition never
// written), for the partition owner's own bookkeeping.
func (t *Txn) Tx() *buntdb.Tx { return t.tx }

func (t *Txn) recordKey(key []byte) string {
	if t.lastSK != "" && string(t.lastKey) == string(key) {
		return t.lastSK
	}
	t.lastKey, t.lastSK = key, RecordKey(key)
	return t.lastSK
}

// Get returns the live record of key. A record past its expiry is a miss;
// in a write transaction it is also deleted (with its elements).
func (t *Txn) Get(key []byte) (Record, bool) {
	if t.tx == nil {
		return Record{}, false
	}
	return t.getSK(t.recordKey(key))
}

func (t *Txn) getSK(sk string) (Record, bool) {
	raw, err := t.tx.Get(sk)
	if err != nil {
		return Record{}, false
	}
	r, err := DecodeRecord(raw)
	if err != nil {
		return Record{}, false
	}
	if r.Expired(t.now) {
		if t.writable {
			t.deleteRecord(sk, &r)
			t.Expired++
		}
		return Record{}, false
	}
	return r, true
}

// NextVersion takes the partition's next version, for a new collection's
// generation.
// In a transaction that cannot write it is 0: the write that follows
// fails with ErrReadOnly anyway.
func (t *Txn) NextVersion() uint64 {
	if !t.Writable() {
		return 0
	}
	t.c.Version++
	return t.c.Version
}

// Put stores r under key with a fresh version, replacing whatever key
// held: a collection it replaces (by another type or another generation)
// has its elements swept, like a deleted one. A collection without a
// generation gets one; a collection with no elements is deleted, since
// Redis never keeps an empty one.
func (t *Txn) Put(key []byte, r *Record) error {
	if !t.Writable() {
		return ErrReadOnly
	}
	sk := t.recordKey(key)
	if IsCollection(r.Type) {
		if r.Count <= 0 {
			t.delSK(sk)
			return nil
		}
		if r.Gen == 0 {
			r.Gen = t.NextVersion()
		}
	}
	prev, replaced, err := t.putSK(sk, r.Encode(t.NextVersion()))
	if err == nil && replaced && len(prev) > 0 && IsCollection(prev[0]) {
		if old, derr := DecodeRecord(prev); derr == nil && old.Count > 0 && (!IsCollection(r.Type) || old.Gen != r.Gen) {
			t.tombstone(sk, &old)
		}
	}
	return err
}

// PutString stores a string record: the hot path of SET.
func (t *Txn) PutString(key []byte, exp int64, val string) error {
	return t.Put(key, &Record{Type: TypeString, Exp: exp, Val: val})
}

func (t *Txn) putSK(sk, raw string) (prev string, replaced bool, err error) {
	prev, replaced, err = t.tx.Set(sk, raw, nil)
	if err != nil {
		return "", false, err
	}
	t.Dirty = true
	if t.capture {
		t.Ops = append(t.Ops, Op{Key: sk, Value: raw})
	}
	var old int64
	if replaced {
		old = RecordExpiry(prev)
	} else {
		t.KeysDelta++
	}
	if exp := RecordExpiry(raw); old != exp {
		t.Changes = append(t.Changes, ExpChange{SK: sk, Old: old, New: exp})
	}
	return prev, replaced, nil
}

// Delete deletes key and reports whether a live record was there. A
// collection's elements become invisible at once and are swept later.
func (t *Txn) Delete(key []byte) bool {
	if !t.Writable() {
		return false
	}
	sk := t.recordKey(key)
	r, ok := t.getSK(sk)
	if !ok {
		return false
	}
	t.deleteRecord(sk, &r)
	return true
}

// deleteRecord deletes the key record sk holding r, leaving a tombstone
// for the sweep when r is a collection with elements.
func (t *Txn) deleteRecord(sk string, r *Record) {
	t.delSK(sk)
	if IsCollection(r.Type) && r.Count > 0 {
		t.tombstone(sk, r)
	}
}

// tombstone records that the elements of collection r, once stored under
// key record sk, are dead and must be swept.
func (t *Txn) tombstone(sk string, r *Record) {
	_, key, _ := SplitRecordKey(sk)
	ts := ElemKey(SpaceTombstone, []byte(key), r.Gen, nil)
	if _, _, err := t.tx.Set(ts, string(r.Type), nil); err == nil {
		t.TombstonesDelta++
		if t.capture {
			t.Ops = append(t.Ops, Op{Key: ts, Value: string(r.Type)})
		}
	}
}

// delSK removes a storage key whatever its state.
func (t *Txn) delSK(sk string) {
	prev, err := t.tx.Delete(sk)
	if err != nil {
		return
	}
	t.Dirty = true
	if t.capture {
		t.Ops = append(t.Ops, Op{Del: true, Key: sk})
	}
	switch sk[0] {
	case SpaceKey:
		t.KeysDelta--
		if old := RecordExpiry(prev); old != 0 {
			t.Changes = append(t.Changes, ExpChange{SK: sk, Old: old})
		}
	case SpaceTombstone:
		t.TombstonesDelta--
	}
}

// GetElem returns the value of element sub of the collection generation
// gen of key, in space (SpaceElem or SpaceScore).
func (t *Txn) GetElem(space byte, key []byte, gen uint64, sub []byte) (string, bool) {
	if t.tx == nil {
		return "", false
	}
	v, err := t.tx.Get(ElemKey(space, key, gen, sub))
	return v, err == nil
}

// PutElem sets element sub of a collection generation and reports whether
// it replaced one.
func (t *Txn) PutElem(space byte, key []byte, gen uint64, sub []byte, val string) (bool, error) {
	if !t.Writable() {
		return false, ErrReadOnly
	}
	sk := ElemKey(space, key, gen, sub)
	_, replaced, err := t.tx.Set(sk, val, nil)
	if err != nil {
		return false, err
	}
	t.Dirty = true
	if t.capture {
		t.Ops = append(t.Ops, Op{Key: sk, Value: val})
	}
	return replaced, nil
}

// DelElem deletes element sub of a collection generation and reports
// whether it was there.
func (t *Txn) DelElem(space byte, key []byte, gen uint64, sub []byte) bool {
	if !t.Writable() {
		return false
	}
	sk := ElemKey(space, key, gen, sub)
	if _, err := t.tx.Delete(sk); err != nil {
		return false
	}
	t.Dirty = true
	if t.capture {
		t.Ops = append(t.Ops, Op{Del: true, Key: sk})
	}
	return true
}

// Ascend calls fn for the elements of a collection generation in byte
// order of sub, from sub >= from (nil: the first) to sub < to (nil: the
// last), until fn returns false. fn must not write through t; sub and val
// are valid only during the call.
func (t *Txn) Ascend(space byte, key []byte, gen uint64, from, to []byte, fn func(sub, val string) bool) error {
	if t.tx == nil {
		return nil
	}
	prefix := ElemKey(space, key, gen, nil)
	lo := prefix + string(from)
	hi := ElemKey(space, key, gen+1, nil)
	if to != nil {
		hi = prefix + string(to)
	}
	return t.tx.AscendRange("", lo, hi, func(k, v string) bool {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		return fn(k[len(prefix):], v)
	})
}

// Descend calls fn for the elements of a collection generation in reverse
// byte order of sub, from sub <= from (nil: the last) down to sub > to
// (nil: the first), until fn returns false. The same rules as Ascend hold.
func (t *Txn) Descend(space byte, key []byte, gen uint64, from, to []byte, fn func(sub, val string) bool) error {
	if t.tx == nil {
		return nil
	}
	prefix := ElemKey(space, key, gen, nil)
	var hi string
	if from != nil {
		hi = prefix + string(from)
	} else {
		hi = ElemKey(space, key, gen+1, nil)
	}
	iter := func(k, v string) bool {
		if !strings.HasPrefix(k, prefix) {
			// Only the first generation-after key can sit between hi and
			// the elements; anything else ends the range.
			return k == hi && from == nil
		}
		if to != nil && k[len(prefix):] <= string(to) {
			return false
		}
		return fn(k[len(prefix):], v)
	}
	return t.tx.DescendLessOrEqual("", hi, iter)
}

// ScanKeys calls fn for every key record with hash >= from, in hash order,
// until fn returns false. Expired records not yet deleted are included
// (fn gets the decoded record and decides). fn must not write through t.
func (t *Txn) ScanKeys(from uint32, fn func(h uint32, key string, r Record) bool) error {
	if t.tx == nil {
		return nil
	}
	return t.tx.AscendRange("", HashPivot(from), keySpaceEnd, func(sk, raw string) bool {
		h, key, ok := SplitRecordKey(sk)
		if !ok {
			return true
		}
		r, err := DecodeRecord(raw)
		if err != nil {
			return true
		}
		return fn(h, key, r)
	})
}

// DescendKeys is ScanKeys backwards, from hash < below (inclusive of every
// hash below it), for picking a random key by wrapping around.
func (t *Txn) DescendKeys(below uint32, fn func(h uint32, key string, r Record) bool) error {
	if t.tx == nil {
		return nil
	}
	return t.tx.DescendRange("", HashPivot(below), string(SpaceKey), func(sk, raw string) bool {
		if sk == HashPivot(below) {
			return true
		}
		h, key, ok := SplitRecordKey(sk)
		if !ok {
			return true
		}
		r, err := DecodeRecord(raw)
		if err != nil {
			return true
		}
		return fn(h, key, r)
	})
}

// PutRaw stores a storage key's exact value (from an effect or a
// snapshot), keeping the counters and the expiry index as a local write
// would.
func (t *Txn) PutRaw(sk, raw string) error {
	prev, replaced, err := t.tx.Set(sk, raw, nil)
	if err != nil {
		return err
	}
	t.Dirty = true
	if t.capture {
		t.Ops = append(t.Ops, Op{Key: sk, Value: raw})
	}
	switch sk[0] {
	case SpaceKey:
		var old int64
		if replaced {
			old = RecordExpiry(prev)
		} else {
			t.KeysDelta++
		}
		if exp := RecordExpiry(raw); old != exp {
			t.Changes = append(t.Changes, ExpChange{SK: sk, Old: old, New: exp})
		}
		if v := RecordVersion(raw); v > t.c.Version {
			t.c.Version = v // a promoted follower continues the versions
		}
	case SpaceTombstone:
		if !replaced {
			t.TombstonesDelta++
		}
		if _, gen, ok := splitPrefixed(sk); ok && gen > t.c.Version {
			t.c.Version = gen
		}
	}
	return nil
}

// DeleteRaw removes a storage key as an effect says.
func (t *Txn) DeleteRaw(sk string) { t.delSK(sk) }

// Reap deletes the key record sk because it expired (the reaper's path),
// leaving a tombstone for a collection's elements.
func (t *Txn) Reap(sk string) {
	raw, err := t.tx.Get(sk)
	if err != nil {
		return
	}
	r, err := DecodeRecord(raw)
	if err != nil {
		t.delSK(sk)
		return
	}
	t.deleteRecord(sk, &r)
	t.Expired++
}

// Clear deletes every record of the partition. The owner rewrites its
// metadata afterwards.
func (t *Txn) Clear() error {
	if err := t.tx.DeleteAll(); err != nil {
		return err
	}
	t.Changes = t.Changes[:0]
	t.Cleared, t.Dirty = true, true
	if t.capture {
		t.Ops = append(t.Ops, Op{Del: true})
	}
	return nil
}

// Sweep deletes up to max elements of deleted collections (those their
// tombstones name), and each tombstone whose elements are all gone. It
// returns how many storage keys it deleted. Called on a master only: its
// deletions replicate like any other.
func (t *Txn) Sweep(max int) (int, error) {
	var tombs []string
	err := t.tx.AscendRange("", string(SpaceTombstone), string(SpaceTombstone+1), func(k, _ string) bool {
		tombs = append(tombs, k)
		return len(tombs) < 16
	})
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, ts := range tombs {
		if deleted >= max {
			break
		}
		plen, _, ok := splitPrefixed(ts)
		if !ok {
			t.delSK(ts)
			continue
		}
		done := true
		for _, space := range []byte{SpaceElem, SpaceScore} {
			prefix := string(space) + ts[1:plen]
			var doomed []string
			err := t.tx.AscendGreaterOrEqual("", prefix, func(k, _ string) bool {
				if !strings.HasPrefix(k, prefix) {
					return false
				}
				doomed = append(doomed, k)
				return deleted+len(doomed) < max
			})
			if err != nil {
				return deleted, err
			}
			for _, k := range doomed {
				t.delSK(k)
			}
			deleted += len(doomed)
			if deleted >= max {
				done = false
				break
			}
		}
		if done {
			t.delSK(ts)
			deleted++
		}
	}
	return deleted, nil
}
