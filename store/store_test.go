package store

import (
	"fmt"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []Record{
		{Type: TypeString, Exp: 0, Val: ""},
		{Type: TypeString, Exp: 1_700_000_000_123, Val: "\x00\xff binary \r\n"},
		{Type: TypeHash, Exp: 5, Enc: 'p', Gen: 7, Count: 3},
		{Type: TypeList, Enc: 'q', Gen: 1 << 40, Count: 2, Head: -1, Tail: 1},
	} {
		raw := r.Encode(42)
		got, err := DecodeRecord(raw)
		want := r
		want.Ver = 42
		if err != nil || got != want {
			t.Errorf("round trip of %+v gave %+v, %v", r, got, err)
		}
		if RecordExpiry(raw) != r.Exp || RecordVersion(raw) != 42 {
			t.Errorf("expiry/version of %+v read as %d/%d", r, RecordExpiry(raw), RecordVersion(raw))
		}
	}
	for _, bad := range []string{"", "short", (&Record{Type: TypeHash, Count: 1}).Encode(1)[:20]} {
		if _, err := DecodeRecord(bad); err == nil {
			t.Errorf("DecodeRecord(%q) accepted", bad)
		}
	}
}

func TestStorageKeys(t *testing.T) {
	a, b := []byte("alpha"), []byte("beta")
	ska, skb := RecordKey(a), RecordKey(b)
	ha, ka, ok := SplitRecordKey(ska)
	if !ok || ka != "alpha" || ha != KeyHash(a) {
		t.Fatalf("SplitRecordKey(%q) = %d %q %v", ska, ha, ka, ok)
	}
	if (ska < skb) != (ha < KeyHash(b)) {
		t.Error("key records do not sort in hash order")
	}
	// FNV-1a 32 reference values.
	if KeyHash(nil) != 2166136261 || KeyHash([]byte("a")) != 0xe40c292c {
		t.Errorf("KeyHash is not FNV-1a 32: %#x %#x", KeyHash(nil), KeyHash([]byte("a")))
	}
	for _, sk := range []string{ska, ElemKey(SpaceElem, a, 9, []byte("f")), ElemKey(SpaceScore, a, 9, nil), ElemKey(SpaceTombstone, a, 9, nil)} {
		if k, ok := UserKey(sk); !ok || k != "alpha" {
			t.Errorf("UserKey(%q) = %q %v", sk, k, ok)
		}
	}
	for _, sk := range []string{MetaKey, "", "k\x00", "e\x00\x00\x00\x00\x09ab"} {
		if IsUserKey(sk) {
			t.Errorf("IsUserKey(%q) = true", sk)
		}
	}
	// The length prefix keeps "a"+"bc" apart from "ab"+"c".
	if ElemKey(SpaceElem, []byte("a"), 1, []byte("bc")) == ElemKey(SpaceElem, []byte("ab"), 1, []byte("c")) {
		t.Error("element keys of different keys collide")
	}
}

func newMem(t *testing.T) *Mem {
	m, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// A collection's elements are visible through its generation only, so
// deleting it is O(1) and a new collection of the same name starts empty;
// the sweep then deletes the old elements and the tombstone.
func TestDeleteSweepsElements(t *testing.T) {
	m := newMem(t)
	key := []byte("h")
	var gen uint64
	err := m.Update(1, func(tx *Txn) error {
		gen = tx.NextVersion()
		for i := range 3000 {
			if _, err := tx.PutElem(SpaceElem, key, gen, fmt.Appendf(nil, "f%d", i), "v"); err != nil {
				return err
			}
		}
		return tx.Put(key, &Record{Type: TypeHash, Gen: gen, Count: 3000})
	})
	if err != nil {
		t.Fatal(err)
	}
	var ops int
	if err := m.Update(2, func(tx *Txn) error {
		tx.capture = true
		if !tx.Delete(key) {
			t.Error("Delete found nothing")
		}
		ops = len(tx.Ops)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ops != 2 || m.c.Tombstones != 1 || m.Keys() != 0 {
		t.Fatalf("delete of a 3000-element hash: %d ops, %d tombstones, %d keys (want 2, 1, 0)", ops, m.c.Tombstones, m.Keys())
	}
	_ = m.View(3, func(tx *Txn) error {
		if _, ok := tx.Get(key); ok {
			t.Error("deleted key still visible")
		}
		return nil
	})
	for i := 0; m.c.Tombstones > 0; i++ {
		if i > 10 {
			t.Fatal("sweep does not finish")
		}
		var n int
		if err := m.Update(4, func(tx *Txn) (err error) {
			n, err = tx.Sweep(1000)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n > 1000 {
			t.Fatalf("sweep deleted %d keys, bound 1000", n)
		}
	}
	if n := m.StorageKeys(); n != 0 {
		t.Fatalf("%d storage keys left after the sweep", n)
	}
}

func TestAscendDescendBounds(t *testing.T) {
	m := newMem(t)
	keyA, keyAB := []byte("a"), []byte("ab")
	if err := m.Update(1, func(tx *Txn) error {
		for _, k := range [][]byte{keyA, keyAB} {
			for _, sub := range []string{"", "b", "c", "d"} {
				if _, err := tx.PutElem(SpaceElem, k, 5, []byte(sub), string(k)+sub); err != nil {
					return err
				}
			}
			// The next generation's empty element sits right after.
			if _, err := tx.PutElem(SpaceElem, k, 6, nil, "next"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	collect := func(desc bool, from, to []byte) string {
		out := ""
		_ = m.View(1, func(tx *Txn) error {
			fn := func(sub, val string) bool { out += "[" + val + "]"; return true }
			if desc {
				return tx.Descend(SpaceElem, keyA, 5, from, to, fn)
			}
			return tx.Ascend(SpaceElem, keyA, 5, from, to, fn)
		})
		return out
	}
	for _, c := range []struct {
		desc     bool
		from, to []byte
		want     string
	}{
		{false, nil, nil, "[a][ab][ac][ad]"},
		{false, []byte("b"), []byte("d"), "[ab][ac]"},
		{true, nil, nil, "[ad][ac][ab][a]"},
		{true, []byte("c"), []byte("b"), "[ac]"},
		{true, []byte("c"), nil, "[ac][ab][a]"},
	} {
		if got := collect(c.desc, c.from, c.to); got != c.want {
			t.Errorf("desc=%v from=%q to=%q: %s, want %s", c.desc, c.from, c.to, got, c.want)
		}
	}
}

// Expired records are misses; a write transaction deletes them, with a
// tombstone for a collection's elements.
func TestExpiredRecords(t *testing.T) {
	m := newMem(t)
	if err := m.Update(1, func(tx *Txn) error {
		if err := tx.PutString([]byte("s"), 10, "v"); err != nil {
			return err
		}
		gen := tx.NextVersion()
		if _, err := tx.PutElem(SpaceElem, []byte("l"), gen, []byte{1}, "x"); err != nil {
			return err
		}
		return tx.Put([]byte("l"), &Record{Type: TypeList, Gen: gen, Count: 1, Exp: 10})
	}); err != nil {
		t.Fatal(err)
	}
	_ = m.View(10, func(tx *Txn) error {
		if _, ok := tx.Get([]byte("s")); ok {
			t.Error("expired string visible")
		}
		return nil
	})
	if err := m.Update(10, func(tx *Txn) error {
		tx.Get([]byte("s"))
		tx.Get([]byte("l"))
		if tx.Expired != 2 {
			t.Errorf("Expired = %d, want 2", tx.Expired)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if m.Keys() != 0 || m.c.Tombstones != 1 {
		t.Errorf("keys %d tombstones %d after lazy expiry, want 0 and 1", m.Keys(), m.c.Tombstones)
	}
}

// A string written over a collection (SET over a hash) leaves its elements
// to the sweep, without the writer reading the old record first.
func TestPutOverCollectionSweeps(t *testing.T) {
	m := newMem(t)
	key := []byte("k")
	if err := m.Update(1, func(tx *Txn) error {
		gen := tx.NextVersion()
		if _, err := tx.PutElem(SpaceElem, key, gen, []byte("f"), "v"); err != nil {
			return err
		}
		if err := tx.Put(key, &Record{Type: TypeHash, Gen: gen, Count: 1}); err != nil {
			return err
		}
		// Updating the collection itself (same generation) is no overwrite.
		return tx.Put(key, &Record{Type: TypeHash, Gen: gen, Count: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if m.c.Tombstones != 0 {
		t.Fatalf("updating a hash left %d tombstones", m.c.Tombstones)
	}
	if err := m.Update(2, func(tx *Txn) error { return tx.PutString(key, 0, "s") }); err != nil {
		t.Fatal(err)
	}
	if m.c.Tombstones != 1 || m.Keys() != 1 {
		t.Fatalf("SET over a hash: %d tombstones, %d keys (want 1, 1)", m.c.Tombstones, m.Keys())
	}
	if err := m.Update(3, func(tx *Txn) error { _, err := tx.Sweep(100); return err }); err != nil {
		t.Fatal(err)
	}
	if n := m.StorageKeys(); n != 1 {
		t.Fatalf("%d storage keys after the sweep, want the string's 1", n)
	}
}
