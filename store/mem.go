package store

import "github.com/tidwall/buntdb"

// Mem is a partition in memory with no replication: a BuntDB store and its
// counters. It is how commands are run without a shard (unit tests, tools).
// Its methods are safe for concurrent use: BuntDB serialises writers.
type Mem struct {
	db *buntdb.DB
	c  Counters
}

// OpenMem opens an empty partition in memory.
func OpenMem() (*Mem, error) {
	db, err := buntdb.Open(":memory:")
	if err != nil {
		return nil, err
	}
	return &Mem{db: db}, nil
}

// Close releases the store.
func (m *Mem) Close() error { return m.db.Close() }

// Update runs fn in a write transaction at time now (unix ms); an error
// from fn rolls everything back.
func (m *Mem) Update(now int64, fn func(t *Txn) error) error {
	var t Txn
	return m.db.Update(func(tx *buntdb.Tx) error {
		t.Begin(tx, &m.c, now, true, false)
		if err := fn(&t); err != nil {
			return err
		}
		m.c.Keys += t.KeysDelta
		m.c.Tombstones += t.TombstonesDelta
		return nil
	})
}

// View runs fn in a read transaction at time now (unix ms).
func (m *Mem) View(now int64, fn func(t *Txn) error) error {
	var t Txn
	return m.db.View(func(tx *buntdb.Tx) error {
		t.Begin(tx, &m.c, now, false, false)
		return fn(&t)
	})
}

// Keys is the number of key records.
func (m *Mem) Keys() int64 { return m.c.Keys }

// StorageKeys is the number of storage keys of every space, for checking
// that deleted collections get swept.
func (m *Mem) StorageKeys() int {
	n := 0
	_ = m.db.View(func(tx *buntdb.Tx) error {
		n, _ = tx.Len()
		return nil
	})
	return n
}
