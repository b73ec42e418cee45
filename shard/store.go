package shard

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shardis/shardis/repl"
	"github.com/shardis/shardis/store"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	mu   sync.Mutex
	ctr  store.Counters          // versions and counts; guarded by mu
	exps *btree.BTreeG[expEntry] // keys with an expiry; guarded by mu

	// Replication state (see effects.go); guarded by mu. seq and follower
	// are also stored in the partition's meta record.
	seq      uint64   // sequence number of the last committed effect
	hash     uint64   // history hash at seq (see repl.Chain)
	follower bool     // effects come from a master: no local expiry
	log      repl.Log // recent effects, for followers catching up (see keepsLog)
	// incomplete marks records that are no state of the partition: a
	// snapshot load that has not finished, or a dropped copy (see
	// metaIncomplete). Stored in the meta record like follower.
	incomplete bool
	// stored is the range of the effect log kept in the store itself
	// (see effect_log.go); logBuf is the buffer its entries are encoded in.
	stored storedLog
	logBuf []byte
	// pins are the open snapshot sessions of the partition, whose
	// followers continue from its log (see snapshot_session.go); pinned
	// is len(pins) > 0, readable without mu.
	pins   []*snapSession
	pinned atomic.Bool

	expiring   atomic.Int64 // exps.Len(), readable without mu
	keysNow    atomic.Int64 // ctr.Keys, readable without mu
	tombstones atomic.Int64 // ctr.Tombstones, readable without mu

	// seqNow is seq, readable without mu (see seqMoved), so that a FETCH
	// can pass over the partitions with nothing new without locking each.
	seqNow atomic.Uint64

	// txSeq and txHash are seq and hash as read transactions see them, for
	// a partition in memory (see setPos); written under the store's write
	// lock.
	txSeq, txHash atomic.Uint64
}

// txn is one command's view of one partition (see store.Txn).
type txn = store.Txn

// apply updates the expiry index and the counters after t committed.
// Caller holds p.mu.
func (p *partition) apply(t *txn) {
	if t.Cleared {
		p.exps = newExpIndex()
		p.ctr.Keys, p.ctr.Tombstones = 0, 0
	}
	for _, c := range t.Changes {
		if c.Old != 0 {
			p.exps.Delete(expEntry{at: c.Old, sk: c.SK})
		}
		if c.New != 0 {
			p.exps.Set(expEntry{at: c.New, sk: c.SK})
		}
	}
	p.ctr.Keys += t.KeysDelta
	p.ctr.Tombstones += t.TombstonesDelta
	p.keysNow.Store(p.ctr.Keys)
	p.tombstones.Store(p.ctr.Tombstones)
	p.expiring.Store(int64(p.exps.Len()))
}

// update runs fn in a write transaction on partition pid, opening (and
// creating) the partition.
func (s *Server) update(pid int, now int64, fn func(t *txn) error) error {
	p, err := s.partitionForWrite(pid)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := txnPool.Get().(*txn)
	defer putTxn(t)
	if err := s.commit(p, t, now, fn); err != nil {
		return err
	}
	if t.Expired > 0 {
		s.metrics.Expired.Add(float64(t.Expired))
	}
	return nil
}

// txnPool recycles the txn of update and view: handed to a command's
// function, it always escaped to the heap, one allocation per command.
var txnPool = sync.Pool{New: func() any { return new(txn) }}

// putTxn returns t to the pool, holding nothing: its ops went to the
// effect log, its keys belong to the command.
func putTxn(t *txn) {
	t.Reset()
	txnPool.Put(t)
}

// view runs fn in a read transaction on partition pid.
func (s *Server) view(pid int, now int64, fn func(t *txn) error) error {
	p := s.parts[pid].Load()
	t := txnPool.Get().(*txn)
	defer putTxn(t)
	if p == nil {
		t.Begin(nil, nil, now, false, false)
		return fn(t)
	}
	return p.db.View(func(tx *buntdb.Tx) error {
		t.Begin(tx, &p.ctr, now, false, false)
		return fn(t)
	})
}

// meta is what DataDir/meta.json records about the data dir.
type meta struct {
	Partitions int `json:"partitions"`
	// Format is the storage layout's version (storageFormat); data dirs
	// written before the layout had a version have none.
	Format int `json:"format"`
}

// storageFormat is the version of store's layout: key spaces with
// length-prefixed keys and collection elements (2); 1 was strings only,
// under hash|key.
const storageFormat = 2

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
	if err := s.clearSnapshotFiles(); err != nil {
		return err
	}
	if err := s.readMapEpoch(); err != nil {
		return err
	}
	metaPath := filepath.Join(s.cfg.DataDir, "meta.json")
	b, err := os.ReadFile(metaPath)
	switch {
	case err == nil:
		var m meta
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("shard: read %s: %w", metaPath, err)
		}
		if m.Format != storageFormat {
			return fmt.Errorf("shard: data dir %s holds storage format %d, this version reads format %d; start with an empty data dir and restore the data from another copy or a backup",
				s.cfg.DataDir, max(m.Format, 1), storageFormat)
		}
		if m.Partitions != s.cfg.Partitions {
			return fmt.Errorf("shard: data dir %s was created with %d partitions, config says Partitions=%d; the partition count is fixed for the life of a cluster",
				s.cfg.DataDir, m.Partitions, s.cfg.Partitions)
		}
	case errors.Is(err, os.ErrNotExist):
		b, _ := json.Marshal(meta{Partitions: s.cfg.Partitions, Format: storageFormat})
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
	var logged []loggedEntry
	var logFirst uint64
	err := p.db.View(func(tx *buntdb.Tx) error {
		if err := readMeta(tx, p); err != nil {
			return err
		}
		var err error
		if logged, logFirst, err = readStoredLog(tx); err != nil {
			return err
		}
		return tx.Ascend("", func(sk, raw string) bool {
			switch {
			case sk == store.MetaKey:
				return true
			case sk[0] == store.SpaceTombstone:
				p.ctr.Tombstones++
				return true
			case sk[0] != store.SpaceKey:
				return true
			}
			r, err := store.DecodeRecord(raw)
			if err != nil {
				bad++
				return true
			}
			p.ctr.Keys++
			p.ctr.Version = max(p.ctr.Version, r.Ver, r.Gen)
			if r.Exp != 0 {
				// A follower keeps what its master has not deleted yet:
				// the master's deletions arrive as effects.
				if r.Exp <= now && !p.follower {
					dead = append(dead, sk)
				} else {
					p.exps.Set(expEntry{at: r.Exp, sk: sk})
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
	if n := s.reloadLog(p, logged, logFirst); n < len(logged) {
		s.log.Warn("stored effect log does not end at the partition's position; only its last consistent run is used",
			"partition", p.id, "stored", len(logged), "used", n, "seq", p.seq)
	}
	// The deletions are effects like any other, so followers drop the
	// same records.
	for len(dead) > 0 {
		n := min(len(dead), 1024)
		p.mu.Lock()
		var t txn
		err := s.commit(p, &t, now, func(t *txn) error {
			for _, sk := range dead[:n] {
				t.Reap(sk)
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
	p.keysNow.Store(p.ctr.Keys)
	p.tombstones.Store(p.ctr.Tombstones)
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
		var t txn
		err := s.commit(p, &t, now, func(t *txn) error {
			for _, e := range due {
				t.Reap(e.sk)
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

// keys returns the number of keys in p, expired ones not yet reaped
// included (as Redis's DBSIZE counts them).
func (p *partition) keys() int { return int(p.keysNow.Load()) }

// sweepLoop deletes, in the background, the elements of the collections
// deleted on the partitions this shard masters (see store.Txn.Sweep).
// Each batch holds its partition's write lock; after it the partition is
// left to its writers for at least as long as the batch took, so the sweep
// takes at most about half of a partition's write time and a write waits
// for at most one batch. The deletions replicate like any other effect.
func (s *Server) sweepLoop() {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		for i := range s.parts {
			p := s.parts[i].Load()
			for p != nil && p.tombstones.Load() > 0 {
				start := time.Now()
				n, err := s.sweepBatch(p)
				if err != nil {
					s.log.Error("sweeping deleted collections failed", "shard", s.cfg.ID, "partition", p.id, "err", err)
				}
				if err != nil || n == 0 {
					break
				}
				select {
				case <-s.stop:
					return
				case <-time.After(max(time.Since(start), time.Millisecond)):
				}
			}
		}
	}
}

// sweepBatch runs one sweep transaction on p and returns how many storage
// keys it deleted: none on a follower, whose master sweeps.
func (s *Server) sweepBatch(p *partition) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.follower {
		return 0, nil
	}
	n := 0
	var t txn
	err := s.commit(p, &t, s.nowMS(), func(t *txn) (err error) {
		n, err = t.Sweep(s.cfg.SweepBatch)
		return err
	})
	return n, err
}
