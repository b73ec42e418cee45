package shard

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/btree"
	"github.com/tidwall/buntdb"
)

// Expiry design. Every record carries its absolute expiry, and that field
// is the only truth: reads treat an expired record as missing, writes delete
// it lazily, and opening a partition deletes every record already expired.
// BuntDB TTLs are not used at all, because (1) BuntDB resurrects keys whose
// TTL ran out while the process was down, (2) it keeps TTLs in whole seconds
// and its reaper runs on the wall clock once a second, which would make
// expiry inexact and untestable with an injected clock. Instead each
// partition keeps an in-memory index of its keys with an expiry, ordered by
// (expiry, key), rebuilt when the partition opens and updated by every
// committed write; one reaper goroutine walks the index's head every
// Config.ExpiryInterval and deletes what is due. The index costs about what
// BuntDB's own expiry tree would (the key string is shared with BuntDB).

// reapBatch bounds how many keys one reaper transaction deletes, so a burst
// of expiries never holds a partition's write lock for long.
const reapBatch = 128

// reapPerTick bounds the keys one partition reaps per tick; the rest waits
// for the next tick, as Redis's active expiry cycle bounds its effort.
const reapPerTick = 1024

// autoShrinkMinSize lets small per-partition files shrink (BuntDB's default
// of 32 MiB per file would waste that much disk per partition).
const autoShrinkMinSize = 1 << 20

// expEntry is one key of the expiry index.
type expEntry struct {
	at int64  // unix ms
	sk string // storage key
}

func expLess(a, b expEntry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.sk < b.sk
}

// partition is one BuntDB store holding one partition's keys.
type partition struct {
	id   int
	path string // "" when in memory
	db   *buntdb.DB

	// mu serialises write transactions together with the updates of the
	// fields below that must follow their commit.
	mu      sync.Mutex
	version uint64                  // last version assigned; guarded by mu
	exps    *btree.BTreeG[expEntry] // keys with an expiry; guarded by mu

	// Replication state (see effects.go); guarded by mu. seq and follower
	// are also stored in the partition's meta record.
	seq      uint64    // sequence number of the last committed effect
	hash     uint64    // history hash at seq (see historyChain)
	follower bool      // effects come from a master: no local expiry
	log      effectLog // recent effects, for followers catching up (see keepsLog)

	expiring atomic.Int64 // exps.Len(), readable without mu

	// seqNow is seq, readable without mu (see seqMoved), so that a FETCH
	// can pass over the partitions with nothing new without locking each.
	seqNow atomic.Uint64

	// txSeq and txHash are seq and hash as read transactions see them, for
	// a partition in memory (see setPos); written under the store's write
	// lock.
	txSeq, txHash atomic.Uint64
}

// expChange is an expiry-index update produced by a transaction and applied
// once it commits.
type expChange struct {
	sk       string
	old, new int64
}

// txn is one command's view of one partition, inside a BuntDB transaction.
// When p is nil the partition has never been written: every read misses.
type txn struct {
	p        *partition
	tx       *buntdb.Tx
	now      int64 // command time, unix ms
	writable bool
	changes  []expChange
	expired  int // records deleted because they were expired

	// ops are the mutations made, recorded when capture is set; commit
	// turns them into the partition's next effect.
	ops      []Op
	capture  bool
	dirty    bool // something was written or deleted
	forceSeq bool // commit assigns a seq even without ops (applied effects)
	cleared  bool // every record was deleted: the expiry index restarts empty

	// lastKey/lastSK cache the storage key of the last user key looked up,
	// since most writes read the key first.
	lastKey []byte
	lastSK  string
}

// storageKey returns the storage key of key, reusing the last one computed.
func (t *txn) storageKey(key []byte) string {
	if t.lastSK != "" && string(t.lastKey) == string(key) {
		return t.lastSK
	}
	t.lastKey, t.lastSK = key, storageKey(key)
	return t.lastSK
}

// getRaw returns the live record stored under sk. A record past its expiry
// is a miss; in a write transaction it is also deleted.
func (t *txn) getRaw(sk string) (record, bool) {
	if t.tx == nil {
		return record{}, false
	}
	raw, err := t.tx.Get(sk)
	if err != nil {
		return record{}, false
	}
	r, err := decodeRecord(raw)
	if err != nil {
		return record{}, false
	}
	if r.expired(t.now) {
		if t.writable {
			t.deleteSK(sk)
			t.expired++
		}
		return record{}, false
	}
	return r, true
}

// get returns the live record of a user key.
func (t *txn) get(key []byte) (record, bool) {
	if t.tx == nil {
		return record{}, false
	}
	return t.getRaw(t.storageKey(key))
}

// put stores a record under key, with a fresh version.
func (t *txn) put(key []byte, typ byte, exp int64, payload string) error {
	return t.putSK(t.storageKey(key), typ, exp, payload)
}

func (t *txn) putSK(sk string, typ byte, exp int64, payload string) error {
	if t.tx == nil {
		return errNotOpen
	}
	t.p.version++
	raw := encodeRecord(typ, t.p.version, exp, payload)
	prev, replaced, err := t.tx.Set(sk, raw, nil)
	if err != nil {
		return err
	}
	t.dirty = true
	if t.capture {
		t.ops = append(t.ops, Op{Key: sk, Value: raw})
	}
	var old int64
	if replaced {
		old = recordExpiry(prev)
	}
	if old != exp {
		t.changes = append(t.changes, expChange{sk: sk, old: old, new: exp})
	}
	return nil
}

// del deletes key and reports whether a live record was there.
func (t *txn) del(key []byte) bool {
	if t.tx == nil {
		return false
	}
	sk := t.storageKey(key)
	if _, ok := t.getRaw(sk); !ok {
		return false
	}
	t.deleteSK(sk)
	return true
}

// deleteSK removes a storage key whatever its state.
func (t *txn) deleteSK(sk string) {
	prev, err := t.tx.Delete(sk)
	if err != nil {
		return
	}
	t.dirty = true
	if t.capture {
		t.ops = append(t.ops, Op{Del: true, Key: sk})
	}
	if old := recordExpiry(prev); old != 0 {
		t.changes = append(t.changes, expChange{sk: sk, old: old})
	}
}

// apply updates the expiry index after t committed. Caller holds p.mu.
func (p *partition) apply(t *txn) {
	if t.cleared {
		p.exps = newExpIndex()
	}
	for _, c := range t.changes {
		if c.old != 0 {
			p.exps.Delete(expEntry{at: c.old, sk: c.sk})
		}
		if c.new != 0 {
			p.exps.Set(expEntry{at: c.new, sk: c.sk})
		}
	}
	p.expiring.Store(int64(p.exps.Len()))
}

// errNotOpen is returned by txn helpers asked to write to a partition that
// was never opened; it signals a command-table bug, never a user error.
var errNotOpen = errors.New("shard: write to a partition that is not open")

// update runs fn in a write transaction on partition pid. When the partition
// has never been written and create is false, fn runs with a txn whose reads
// all miss (a command that only changes existing keys then changes nothing,
// and no file is created for it).
func (s *Server) update(pid int, create bool, now int64, fn func(t *txn) error) error {
	p := s.parts[pid].Load()
	if p == nil {
		if !create {
			return fn(&txn{now: now, writable: true})
		}
		var err error
		if p, err = s.openPartition(pid); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := getTxn(now)
	defer putTxn(t)
	if err := s.commit(p, t, fn); err != nil {
		return err
	}
	if t.expired > 0 {
		s.metrics.Expired.Add(float64(t.expired))
	}
	return nil
}

// txnPool recycles the txn of update and view: handed to a command's
// function, it always escaped to the heap, one allocation per command.
var txnPool = sync.Pool{New: func() any { return new(txn) }}

func getTxn(now int64) *txn {
	t := txnPool.Get().(*txn)
	t.now = now
	return t
}

// putTxn returns t to the pool, holding nothing: its ops went to the
// effect log, its keys belong to the command.
func putTxn(t *txn) {
	*t = txn{}
	txnPool.Put(t)
}

// view runs fn in a read transaction on partition pid.
func (s *Server) view(pid int, now int64, fn func(t *txn) error) error {
	p := s.parts[pid].Load()
	t := getTxn(now)
	defer putTxn(t)
	t.p = p
	if p == nil {
		return fn(t)
	}
	return p.db.View(func(tx *buntdb.Tx) error {
		t.tx = tx
		return fn(t)
	})
}

// meta is what DataDir/meta.json records about the data dir.
type meta struct {
	Partitions int `json:"partitions"`
}

func (s *Server) partitionsDir() string { return filepath.Join(s.cfg.DataDir, "partitions") }

func (s *Server) partitionPath(pid int) string {
	return filepath.Join(s.partitionsDir(), fmt.Sprintf("%04d.db", pid))
}

// prepareDataDir creates the data dir, checks or records its partition
// count, and opens every partition file already there.
func (s *Server) prepareDataDir() error {
	if err := os.MkdirAll(s.partitionsDir(), 0o755); err != nil {
		return fmt.Errorf("shard: create data dir: %w", err)
	}
	metaPath := filepath.Join(s.cfg.DataDir, "meta.json")
	b, err := os.ReadFile(metaPath)
	switch {
	case err == nil:
		var m meta
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("shard: read %s: %w", metaPath, err)
		}
		if m.Partitions != s.cfg.Partitions {
			return fmt.Errorf("shard: data dir %s was created with %d partitions, config says Partitions=%d; the partition count is fixed for the life of a cluster",
				s.cfg.DataDir, m.Partitions, s.cfg.Partitions)
		}
	case errors.Is(err, os.ErrNotExist):
		b, _ := json.Marshal(meta{Partitions: s.cfg.Partitions})
		tmp := metaPath + ".tmp"
		if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("shard: write %s: %w", metaPath, err)
		}
		if err := syncFile(tmp); err != nil {
			return fmt.Errorf("shard: write %s: %w", metaPath, err)
		}
		if err := os.Rename(tmp, metaPath); err != nil {
			return fmt.Errorf("shard: write %s: %w", metaPath, err)
		}
	default:
		return fmt.Errorf("shard: read %s: %w", metaPath, err)
	}
	entries, err := os.ReadDir(s.partitionsDir())
	if err != nil {
		return fmt.Errorf("shard: list partitions: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		num, ok := strings.CutSuffix(name, ".db")
		if !ok || e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(num)
		if err != nil || pid < 0 {
			continue
		}
		if pid >= s.cfg.Partitions {
			return fmt.Errorf("shard: partition file %s is outside Partitions=%d",
				filepath.Join(s.partitionsDir(), name), s.cfg.Partitions)
		}
		if _, err := s.openPartition(pid); err != nil {
			return err
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openPartition opens (creating if needed) the store of partition pid, or
// returns it if it is already open.
func (s *Server) openPartition(pid int) (*partition, error) {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	if p := s.parts[pid].Load(); p != nil {
		return p, nil
	}
	if s.closing.Load() {
		return nil, errClosed
	}
	path := ":memory:"
	p := &partition{id: pid}
	if !s.cfg.InMemory {
		path = s.partitionPath(pid)
		p.path = path
	}
	db, err := buntdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("shard: open partition %d (%s): %w", pid, path, err)
	}
	err = db.SetConfig(buntdb.Config{
		SyncPolicy:           s.syncPolicy,
		AutoShrinkPercentage: 100,
		AutoShrinkMinSize:    autoShrinkMinSize,
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("shard: configure partition %d: %w", pid, err)
	}
	p.db = db
	p.exps = btree.NewBTreeGOptions(expLess, btree.Options{NoLocks: true})
	if err := s.loadPartition(p); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("shard: load partition %d (%s): %w", pid, path, err)
	}
	s.parts[pid].Store(p)
	s.openCount.Add(1)
	return p, nil
}

// loadPartition restores the version counter and the expiry index of a
// freshly opened store and deletes the records that expired while it was
// closed.
func (s *Server) loadPartition(p *partition) error {
	now := s.nowMS()
	var dead []string
	bad := 0
	err := p.db.View(func(tx *buntdb.Tx) error {
		if err := readMeta(tx, p); err != nil {
			return err
		}
		return tx.Ascend("", func(sk, raw string) bool {
			if isMetaKey(sk) {
				return true
			}
			r, err := decodeRecord(raw)
			if err != nil {
				bad++
				return true
			}
			if r.ver > p.version {
				p.version = r.ver
			}
			if r.exp != 0 {
				// A follower keeps what its master has not deleted yet:
				// the master's deletions arrive as effects.
				if r.exp <= now && !p.follower {
					dead = append(dead, sk)
				} else {
					p.exps.Set(expEntry{at: r.exp, sk: sk})
				}
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		s.log.Warn("partition holds malformed records; they are ignored", "partition", p.id, "count", bad)
	}
	// The deletions are effects like any other, so followers drop the
	// same records.
	for len(dead) > 0 {
		n := min(len(dead), 1024)
		p.mu.Lock()
		err := s.commit(p, &txn{now: now}, func(t *txn) error {
			for _, sk := range dead[:n] {
				t.deleteSK(sk)
			}
			return nil
		})
		p.mu.Unlock()
		if err != nil {
			return err
		}
		s.metrics.Expired.Add(float64(n))
		dead = dead[n:]
	}
	p.expiring.Store(int64(p.exps.Len()))
	return nil
}

// reap deletes the keys of p whose expiry is at or before now, at most
// reapPerTick of them. It returns how many it deleted.
func (s *Server) reap(p *partition, now int64) (int, error) {
	total := 0
	for total < reapPerTick {
		p.mu.Lock()
		if p.follower {
			// Its master reaps; the deletions arrive as effects.
			p.mu.Unlock()
			return total, nil
		}
		var due []expEntry
		p.exps.Scan(func(e expEntry) bool {
			if e.at > now || len(due) == reapBatch {
				return false
			}
			due = append(due, e)
			return true
		})
		if len(due) == 0 {
			p.mu.Unlock()
			return total, nil
		}
		err := s.commit(p, &txn{now: now}, func(t *txn) error {
			for _, e := range due {
				t.deleteSK(e.sk)
			}
			return nil
		})
		p.mu.Unlock()
		if err != nil {
			return total, err
		}
		total += len(due)
		s.metrics.Expired.Add(float64(len(due)))
	}
	return total, nil
}

// partitionKeys returns the number of records in p, expired ones not yet
// reaped included (as Redis's DBSIZE counts them).
func (p *partition) keys() int {
	n := 0
	_ = p.db.View(func(tx *buntdb.Tx) error {
		n, _ = tx.Len()
		if _, err := tx.Get(metaKey); err == nil {
			n-- // the meta record is not a key
		}
		return nil
	})
	return n
}
