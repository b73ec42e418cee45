package shard

import (
	"bytes"
	"errors"
	"github.com/shardis/shardis/store"
	"slices"
	"strconv"
	"testing"
	"time"
)

func snapshotOf(t *testing.T, s *Server, p int) ([]byte, uint64) {
	t.Helper()
	var buf bytes.Buffer
	seq, err := s.WriteSnapshot(p, &buf)
	if err != nil {
		t.Fatalf("WriteSnapshot(%d): %v", p, err)
	}
	return buf.Bytes(), seq
}

func TestSnapshotThenEffects(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig(t)
	cfg.ExpiryInterval = time.Hour
	m := newTestServer(t, cfg, clock.Now)
	cfg.ID = "s2"
	f := newTestServer(t, cfg, clock.Now)
	c := &sinkConn{}
	p := m.pid([]byte("{s}"))
	for i := range 300 {
		k := "{s}" + strconv.Itoa(i)
		switch i % 3 {
		case 0:
			run(m, c, "SET", k, "v"+k)
		case 1:
			run(m, c, "SET", k, "v"+k, "PX", strconv.Itoa(100+i))
		default:
			run(m, c, "INCRBY", k, strconv.Itoa(i))
		}
	}
	clock.Advance(150 * time.Millisecond) // some expired, none reaped
	// The follower holds unrelated data and a later seq: the snapshot
	// replaces all of it.
	run(f, c, "SET", "{s}stale", "x")
	run(f, c, "SET", "{s}0", "other")

	snap, seq := snapshotOf(t, m, p)
	if seq != 300 {
		t.Fatalf("snapshot seq %d, want 300", seq)
	}
	got, err := f.LoadSnapshot(p, bytes.NewReader(snap))
	if err != nil || got != seq {
		t.Fatalf("LoadSnapshot: %d %v", got, err)
	}
	ms, msum, mkeys := mustDigest(t, m, p)
	fs, fsum, fkeys := mustDigest(t, f, p)
	if ms != fs || msum != fsum || mkeys != fkeys || mkeys != 300 {
		t.Fatalf("after load: master seq %d keys %d, follower seq %d keys %d, digests equal %v", ms, mkeys, fs, fkeys, msum == fsum)
	}
	if !f.IsFollower(p) {
		t.Error("a loaded partition must be a follower")
	}
	if _, ok := f.EffectsSince(p, seq-1, 0); ok {
		t.Error("effects before the snapshot cannot be known")
	}
	if mi, fi := expIndex(m, p), expIndex(f, p); len(mi) != 100 || !slices.Equal(mi, fi) {
		t.Fatalf("expiry index: master %d entries, follower %d", len(mi), len(fi))
	}
	// A snapshot at the same seq again is idempotent.
	if _, err := f.LoadSnapshot(p, bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot, reaping included, apply cleanly.
	m.reapAll()
	run(m, c, "DEL", "{s}0", "{s}3")
	run(m, c, "APPEND", "{s}new", "x")
	syncPartition(t, m, f, p)
	ms, msum, mkeys = mustDigest(t, m, p)
	fs, fsum, fkeys = mustDigest(t, f, p)
	if ms != fs || msum != fsum || mkeys != fkeys || ms <= seq {
		t.Fatalf("after effects: master seq %d keys %d, follower seq %d keys %d, digests equal %v", ms, mkeys, fs, fkeys, msum == fsum)
	}
}

// A damaged snapshot is refused and leaves the partition incomplete: it
// takes no effects until a good snapshot loads.
func TestSnapshotRefusesDamage(t *testing.T) {
	m := newTestServer(t, testConfig(t), nil)
	cfg := testConfig(t)
	cfg.ID = "s2"
	f := newTestServer(t, cfg, nil)
	f.repl.snaps.loadBatch = 64 // several transactions even for this one
	c := &sinkConn{}
	p := m.pid([]byte("{d}"))
	for i := range 5 {
		run(m, c, "SET", "{d}"+strconv.Itoa(i), "value")
	}
	snap, seq := snapshotOf(t, m, p)
	run(f, c, "SET", "{d}mine", "x")
	check := func(what string, b []byte) {
		t.Helper()
		if _, err := f.LoadSnapshot(p, bytes.NewReader(b)); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%s: LoadSnapshot error %v, want ErrBadSnapshot", what, err)
		}
		if !f.isIncomplete(p) {
			t.Fatalf("%s: a refused snapshot left the partition complete", what)
		}
		if s, _ := f.Seq(p); s != 0 {
			t.Fatalf("%s: an incomplete partition at seq %d", what, s)
		}
	}
	for i := range snap {
		bad := slices.Clone(snap)
		bad[i] ^= 0x04
		check("byte "+strconv.Itoa(i)+" flipped", bad)
	}
	for n := range len(snap) {
		check("truncated to "+strconv.Itoa(n), snap[:n])
	}
	check("trailing byte", append(slices.Clone(snap), 0))
	effects, _ := m.EffectsSince(p, seq-1, 0)
	if _, err := f.ApplyEffects(p, effects); !errors.Is(err, ErrSeqGap) {
		t.Fatalf("an incomplete partition applied effects: %v", err)
	}
	other := (p + 1) % cfg.Partitions
	if _, err := f.LoadSnapshot(other, bytes.NewReader(snap)); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("snapshot loaded into another partition: %v", err)
	}
	if _, err := f.LoadSnapshot(cfg.Partitions, bytes.NewReader(snap)); err == nil {
		t.Fatal("LoadSnapshot out of range")
	}
	if got, err := f.LoadSnapshot(p, bytes.NewReader(snap)); err != nil || got != seq {
		t.Fatalf("LoadSnapshot after refusals: %d %v", got, err)
	}
	ms, msum, _ := mustDigest(t, m, p)
	fs, fsum, _ := mustDigest(t, f, p)
	if f.isIncomplete(p) || ms != fs || msum != fsum {
		t.Fatalf("after a good load: incomplete %v, seq %d (master %d), same digest %v", f.isIncomplete(p), fs, ms, msum == fsum)
	}
}

func TestSnapshotOfEmptyPartition(t *testing.T) {
	m := newTestServer(t, testConfig(t), nil)
	cfg := testConfig(t)
	cfg.ID = "s2"
	f := newTestServer(t, cfg, nil)
	run(f, &sinkConn{}, "SET", "k", "v")
	p := f.pid([]byte("k"))
	snap, seq := snapshotOf(t, m, p)
	if seq != 0 || m.parts[p].Load() != nil {
		t.Fatalf("snapshot of a partition never written: seq %d, opened %v", seq, m.parts[p].Load() != nil)
	}
	if got, err := f.LoadSnapshot(p, bytes.NewReader(snap)); err != nil || got != 0 {
		t.Fatalf("LoadSnapshot: %d %v", got, err)
	}
	if seq, _, keys := mustDigest(t, f, p); seq != 0 || keys != 0 {
		t.Fatalf("after loading an empty snapshot: seq %d keys %d", seq, keys)
	}
	_, a, _ := mustDigest(t, m, p)
	_, b, _ := mustDigest(t, f, p)
	if a != b {
		t.Fatal("empty partitions have different digests")
	}
}

func FuzzReadSnapshot(f *testing.F) {
	s, err := newServer(testConfig(f), nil)
	if err != nil {
		f.Fatal(err)
	}
	run(s, &sinkConn{}, "SET", "k", "v", "EX", "100")
	run(s, &sinkConn{}, "SET", "k2", "v")
	p := s.pid([]byte("k"))
	var buf bytes.Buffer
	if _, err := s.WriteSnapshot(p, &buf); err != nil {
		f.Fatal(err)
	}
	_ = s.Close()
	f.Add(buf.Bytes(), p)
	f.Add([]byte(snapshotMagic+"\x00\x00\x00\x00"), 0)
	f.Fuzz(func(t *testing.T, b []byte, pid int) {
		var keys []string
		_, _, err := readSnapshot(bytes.NewReader(b), pid, 1<<20, func(key, value string) error {
			// What is handed on is in order and well formed, whether or
			// not the whole snapshot turns out valid.
			if !store.IsUserKey(key) || (key[0] == store.SpaceKey && !store.ValidRecord(value)) || (len(keys) > 0 && keys[len(keys)-1] >= key) {
				t.Fatalf("record %d handed on: %q", len(keys), key)
			}
			keys = append(keys, key)
			return nil
		})
		_ = err
	})
}
