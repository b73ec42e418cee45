package shard

import (
	"errors"
	"fmt"
	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/store"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

// sinkConn discards replies but, unlike nullConn, tolerates errors, which
// random command sequences produce (INCR on text, …).
type sinkConn struct {
	nullConn
	errs int
}

func (c *sinkConn) WriteError(string) { c.errs++ }

// newTestServer creates a shard that is not listening, closed at the end.
func newTestServer(t testing.TB, cfg Config, clock func() time.Time) *Server {
	t.Helper()
	s, err := newServer(cfg, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// run executes one command on s without the network.
func run(s *Server, c *sinkConn, args ...string) {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	dispatch(s, c, b)
}

// dispatch runs a command as handle does, minus the metrics, the wait for
// the copies and the network writer (which a redcon.Conn of a test does
// not have).
func dispatch(s *Server, rc redcon.Conn, args [][]byte) {
	c := &conn{Conn: rc}
	now := s.nowMS()
	if e := lookupCommand(args[0]); e != nil && e.arityOK(len(args)) {
		e.fn(s, c, args, now)
	} else if x := exec.Lookup(args[0]); x != nil && x.Spec.ArityOK(len(args)) {
		s.runData(c, x, args, now, false)
	} else {
		c.WriteError("ERR unknown command or wrong arity")
	}
	if c.failed {
		rc.WriteError("ERR") // what a sinkConn counts
	}
}

// syncPartition copies the effects the follower lacks from m to f.
func syncPartition(t *testing.T, m, f *Server, p int) {
	t.Helper()
	from, err := f.Seq(p)
	if err != nil {
		t.Fatal(err)
	}
	effects, ok := m.EffectsSince(p, from, 0)
	if !ok {
		t.Fatalf("partition %d: master cannot continue from seq %d", p, from)
	}
	seq, err := f.ApplyEffects(p, effects)
	if err != nil {
		t.Fatalf("partition %d: apply: %v", p, err)
	}
	if want, _ := m.Seq(p); seq != want {
		t.Fatalf("partition %d: follower at seq %d after apply, master at %d", p, seq, want)
	}
}

func mustDigest(t *testing.T, s *Server, p int) (uint64, [32]byte, int) {
	t.Helper()
	seq, sum, keys, err := s.Digest(p)
	if err != nil {
		t.Fatalf("Digest(%d): %v", p, err)
	}
	return seq, sum, keys
}

func expIndex(s *Server, p int) []expEntry {
	pt := s.parts[p].Load()
	if pt == nil {
		return nil
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var out []expEntry
	pt.exps.Scan(func(e expEntry) bool { out = append(out, e); return true })
	return out
}

// randomCommand returns one write (or read) command over a few keys that
// share hash tags, so multi-key commands stay in one partition.
func randomCommand(rng *rand.Rand) []string {
	tags := []string{"a", "b", "c", "d", "e", "f", "g"}
	tag := tags[rng.IntN(len(tags))]
	key := func() string {
		if rng.IntN(50) == 0 {
			return "" // the empty key is a key too
		}
		return "{" + tag + "}" + strconv.Itoa(rng.IntN(5))
	}
	n := func(lo, hi int) string { return strconv.Itoa(lo + rng.IntN(hi-lo+1)) }
	val := func() string {
		if rng.IntN(3) == 0 {
			return n(-100, 100)
		}
		return "v" + n(0, 1000)
	}
	switch rng.IntN(26) {
	case 0, 1:
		return []string{"SET", key(), val()}
	case 2:
		return []string{"SET", key(), val(), "EX", n(1, 4)}
	case 3:
		return []string{"SET", key(), val(), "PX", n(1, 3000)}
	case 4:
		opts := [][]string{{"NX"}, {"XX"}, {"KEEPTTL"}, {"GET"}, {"XX", "KEEPTTL", "GET"}}
		return append([]string{"SET", key(), val()}, opts[rng.IntN(len(opts))]...)
	case 5:
		return []string{"INCR", key()}
	case 6:
		return []string{"INCRBY", key(), n(-50, 50)}
	case 7:
		return []string{"INCRBYFLOAT", key(), "0.5"}
	case 8:
		return []string{"APPEND", key(), val()}
	case 9:
		return []string{"SETRANGE", key(), n(0, 20), val()}
	case 10:
		return []string{"DEL", key(), key(), key()}
	case 11:
		return []string{"EXPIRE", key(), n(-1, 4)}
	case 12:
		return []string{"PEXPIRE", key(), n(1, 3000), []string{"NX", "XX", "GT", "LT"}[rng.IntN(4)]}
	case 13:
		return []string{"PERSIST", key()}
	case 14:
		return []string{"RENAME", key(), key()}
	case 15:
		return []string{"COPY", key(), key(), "REPLACE"}
	case 16:
		return []string{"MSET", key(), val(), key(), val(), "{z}" + n(0, 3), val()}
	case 17:
		return []string{"GETDEL", key()}
	case 18:
		opts := [][]string{{"EX", n(1, 4)}, {"PERSIST"}, {"PXAT", "1"}, {}}
		return append([]string{"GETEX", key()}, opts[rng.IntN(len(opts))]...)
	case 19:
		return []string{"SETEX", key(), n(1, 4), val()}
	case 20:
		return []string{"MSETNX", key(), val(), key(), val()}
	case 21:
		return []string{"RENAMENX", key(), key()}
	case 22:
		return []string{"GET", key()}
	case 23:
		return []string{"EXPIREAT", key(), n(1_700_000_000, 1_700_000_010)}
	case 24:
		return []string{"DECRBY", key(), n(0, 9)}
	default:
		return []string{"SET", key(), val(), "PXAT", n(1_700_000_000_000, 1_700_000_009_000)}
	}
}

// TestEffectsReplicateEveryWrite runs random writes (expiry, lazy and
// active, and FLUSH included) on a master, ships its effects to a second,
// empty shard now and then (replaying some twice), and checks that every
// partition ends with the same records, seq, effect log and expiry index;
// then both reap at the same instant and still agree.
func TestEffectsReplicateEveryWrite(t *testing.T) {
	const partitions = 4
	cfg := testConfig(t)
	cfg.Partitions = partitions
	cfg.ExpiryInterval = time.Hour // reaping is driven by the test
	cfg.ReplLogSize = 1 << 20
	mclock, fclock := newFakeClock(), newFakeClock()
	m := newTestServer(t, cfg, mclock.Now)
	cfg.ID = "s2"
	f := newTestServer(t, cfg, fclock.Now)

	compare := func(stage string) {
		t.Helper()
		total := 0
		for p := range partitions {
			syncPartition(t, m, f, p)
			ms, msum, mkeys := mustDigest(t, m, p)
			fs, fsum, fkeys := mustDigest(t, f, p)
			if ms != fs || msum != fsum || mkeys != fkeys {
				t.Fatalf("%s: partition %d: master seq %d keys %d digest %x, follower seq %d keys %d digest %x",
					stage, p, ms, mkeys, msum[:6], fs, fkeys, fsum[:6])
			}
			if mi, fi := expIndex(m, p), expIndex(f, p); !reflect.DeepEqual(mi, fi) {
				t.Fatalf("%s: partition %d: expiry index differs: master %d entries, follower %d", stage, p, len(mi), len(fi))
			}
			me, _ := m.EffectsSince(p, 0, 0)
			fe, _ := f.EffectsSince(p, 0, 0)
			if !reflect.DeepEqual(me, fe) {
				t.Fatalf("%s: partition %d: effect logs differ", stage, p)
			}
			total += mkeys
		}
		if total == 0 && stage == "after the run" {
			t.Fatalf("%s: no keys left to compare", stage)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	c := &sinkConn{}
	var advanced time.Duration
	flushes, reaped := 0, 0
	const steps = 4000
	for i := range steps {
		switch r := rng.IntN(100); {
		case r < 4:
			d := time.Duration(rng.IntN(1500)) * time.Millisecond
			mclock.Advance(d)
			advanced += d
		case r < 6:
			reaped += m.reapAll()
		case r == 6 && rng.IntN(8) == 0:
			run(m, c, "SHARDIS.FLUSH")
			flushes++
			compare("after FLUSH")
		default:
			run(m, c, randomCommand(rng)...)
		}
		if i%250 == 249 {
			for p := range partitions {
				before, _ := f.Seq(p)
				syncPartition(t, m, f, p)
				if rng.IntN(2) == 0 { // replay what was just applied
					again, _ := m.EffectsSince(p, before/2, 0)
					if seq, err := f.ApplyEffects(p, again); err != nil || seq != mustSeq(t, m, p) {
						t.Fatalf("replay on partition %d: seq %d err %v", p, seq, err)
					}
				}
			}
			compare("step " + strconv.Itoa(i))
		}
	}
	// Leave some records expired but not reaped on both sides.
	mclock.Advance(2 * time.Second)
	advanced += 2 * time.Second
	run(m, c, "SET", "{a}late", "x", "PX", "10")
	mclock.Advance(time.Second)
	advanced += time.Second

	if reaped == 0 || flushes == 0 || c.errs == 0 {
		t.Fatalf("the sequence did not exercise enough: reaped %d, flushes %d, error replies %d", reaped, flushes, c.errs)
	}
	compare("after the run")

	// A stale follower clock must not matter, and the follower has not
	// reaped on its own: the same expired records are stored on both.
	if reaped := f.reapAll(); reaped != 0 {
		t.Fatalf("a follower reaped %d records on its own", reaped)
	}
	// Promote the follower; both reap at the same instant and continue with
	// the same sequence.
	fclock.Advance(advanced)
	for p := range partitions {
		if err := f.SetFollower(p, false); err != nil {
			t.Fatal(err)
		}
	}
	mn, fn := m.reapAll(), f.reapAll()
	if mn == 0 || mn != fn {
		t.Fatalf("reaped %d on the master, %d on the promoted follower", mn, fn)
	}
	for p := range partitions {
		ms, msum, _ := mustDigest(t, m, p)
		fs, fsum, _ := mustDigest(t, f, p)
		if ms != fs || msum != fsum {
			t.Fatalf("after promotion and reaping: partition %d: master seq %d, follower seq %d, digests equal %v", p, ms, fs, msum == fsum)
		}
	}
}

func mustSeq(t *testing.T, s *Server, p int) uint64 {
	t.Helper()
	seq, err := s.Seq(p)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// Every kind of write names its effect precisely: the stored bytes set,
// the storage keys deleted, one effect per transaction.
func TestEffectContents(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig(t)
	cfg.ExpiryInterval = time.Hour
	s := newTestServer(t, cfg, clock.Now)
	c := &sinkConn{}
	p := s.pid([]byte("{t}a"))
	last := func() Effect {
		t.Helper()
		seq := mustSeq(t, s, p)
		es, ok := s.EffectsSince(p, seq-1, 0)
		if !ok || len(es) != 1 || es[0].Seq != seq || es[0].Partition != p {
			t.Fatalf("last effect: %+v %v", es, ok)
		}
		return es[0]
	}
	setOp := func(key string, exp int64, val string) Op {
		t.Helper()
		var raw string
		_ = s.view(p, clock.Now().UnixMilli(), func(tx *txn) error {
			raw, _ = tx.Tx().Get(store.RecordKey([]byte(key)))
			return nil
		})
		r, err := store.DecodeRecord(raw)
		if err != nil || r.Exp != exp || r.Val != val {
			t.Fatalf("stored %q: %+v %v, want exp %d val %q", key, r, err, exp, val)
		}
		return Op{Key: store.RecordKey([]byte(key)), Value: raw}
	}
	delOp := func(key string) Op { return Op{Del: true, Key: store.RecordKey([]byte(key))} }
	now := clock.Now().UnixMilli()

	run(s, c, "SET", "{t}a", "1", "EX", "10")
	if e := last(); !reflect.DeepEqual(e.Ops, []Op{setOp("{t}a", now+10_000, "1")}) {
		t.Fatalf("SET EX: %+v", e.Ops)
	}
	seq := mustSeq(t, s, p)
	run(s, c, "SET", "{t}a", "2", "NX") // no change: no effect
	run(s, c, "GET", "{t}a")
	if mustSeq(t, s, p) != seq {
		t.Fatal("a command that changed nothing produced an effect")
	}
	run(s, c, "INCR", "{t}a")
	if e := last(); !reflect.DeepEqual(e.Ops, []Op{setOp("{t}a", now+10_000, "2")}) {
		t.Fatalf("INCR: %+v", e.Ops)
	}
	run(s, c, "RENAME", "{t}a", "{t}b")
	if e := last(); !reflect.DeepEqual(e.Ops, []Op{setOp("{t}b", now+10_000, "2"), delOp("{t}a")}) {
		t.Fatalf("RENAME: %+v", e.Ops)
	}
	run(s, c, "SET", "{t}c", "x", "PX", "5")
	clock.Advance(10 * time.Millisecond)
	run(s, c, "APPEND", "{t}c", "y") // finds the expired record: deletes it, then writes
	if e := last(); !reflect.DeepEqual(e.Ops, []Op{delOp("{t}c"), setOp("{t}c", 0, "y")}) {
		t.Fatalf("APPEND over an expired key: %+v", e.Ops)
	}
	run(s, c, "PEXPIRE", "{t}c", "5")
	clock.Advance(10 * time.Millisecond)
	if n := s.reapAll(); n != 1 {
		t.Fatalf("reaped %d", n)
	}
	if e := last(); !reflect.DeepEqual(e.Ops, []Op{delOp("{t}c")}) {
		t.Fatalf("active expiry: %+v", e.Ops)
	}
	run(s, c, "SHARDIS.FLUSH")
	if e := last(); !reflect.DeepEqual(e.Ops, []Op{{Del: true}}) || !e.Ops[0].Clear() {
		t.Fatalf("FLUSH: %+v", e.Ops)
	}
	if _, _, keys := mustDigest(t, s, p); keys != 0 {
		t.Fatalf("%d keys after FLUSH", keys)
	}
	// FLUSH keeps the sequence going.
	before := mustSeq(t, s, p)
	run(s, c, "SET", "{t}a", "1")
	if mustSeq(t, s, p) != before+1 {
		t.Fatal("seq did not continue after FLUSH")
	}
}

func TestApplyReplayAndGap(t *testing.T) {
	m := newTestServer(t, testConfig(t), nil)
	cfg := testConfig(t)
	cfg.ID = "s2"
	f := newTestServer(t, cfg, nil)
	c := &sinkConn{}
	p := m.pid([]byte("{g}x"))
	for i := range 5 {
		run(m, c, "SET", "{g}"+strconv.Itoa(i), "v")
	}
	all, ok := m.EffectsSince(p, 0, 0)
	if !ok || len(all) != 5 {
		t.Fatalf("EffectsSince: %d effects, %v", len(all), ok)
	}
	if seq, err := f.ApplyEffects(p, all[:2]); err != nil || seq != 2 {
		t.Fatalf("apply 1-2: %d %v", seq, err)
	}
	_, sum2, _ := mustDigest(t, f, p)
	// A gap: nothing applied, the seq says where the follower stands.
	seq, err := f.ApplyEffects(p, all[3:])
	if !errors.Is(err, ErrSeqGap) || seq != 2 {
		t.Fatalf("apply 4-5 after 2: seq %d err %v", seq, err)
	}
	if _, sum, _ := mustDigest(t, f, p); sum != sum2 {
		t.Fatal("a refused gap changed the data")
	}
	// Replays, overlaps and duplicates are harmless.
	if seq, err := f.ApplyEffects(p, append(append([]Effect{}, all...), all...)); err != nil || seq != 5 {
		t.Fatalf("apply with replays: %d %v", seq, err)
	}
	if seq, err := f.ApplyEffects(p, all); err != nil || seq != 5 {
		t.Fatalf("apply everything again: %d %v", seq, err)
	}
	ms, msum, _ := mustDigest(t, m, p)
	fs, fsum, _ := mustDigest(t, f, p)
	if ms != fs || msum != fsum {
		t.Fatal("digests differ after replays")
	}
	// Malformed effects are refused before anything is stored.
	other := (p + 1) % testConfig(t).Partitions
	bad := []Effect{
		{Partition: other, Seq: 6},
		{Partition: p, Seq: 6, Ops: []Op{{Key: "abc", Value: strRecord(1, 0, "v")}}},
		{Partition: p, Seq: 6, Ops: []Op{{Key: store.RecordKey([]byte("{g}x")), Value: "short"}}},
	}
	for k := 0; ; k++ { // a key of another partition
		if key := []byte("x" + strconv.Itoa(k)); f.pid(key) != p {
			bad = append(bad, Effect{Partition: p, Seq: 6, Ops: []Op{{Del: true, Key: store.RecordKey(key)}}})
			break
		}
	}
	for i, e := range bad {
		if seq, err := f.ApplyEffects(p, []Effect{e}); !errors.Is(err, ErrBadEffect) || seq != 5 {
			t.Errorf("bad effect %d: seq %d err %v", i, seq, err)
		}
	}
	if !f.IsFollower(p) || m.IsFollower(p) {
		t.Error("applying effects must make the partition a follower, and only there")
	}
}

// A promoted follower continues the master's sequence and versions.
func TestPromotedFollowerContinues(t *testing.T) {
	m := newTestServer(t, testConfig(t), nil)
	cfg := testConfig(t)
	cfg.ID = "s2"
	f := newTestServer(t, cfg, nil)
	c := &sinkConn{}
	p := m.pid([]byte("{h}a"))
	run(m, c, "SET", "{h}a", "1")
	run(m, c, "INCR", "{h}a")
	syncPartition(t, m, f, p)
	if err := f.SetFollower(p, false); err != nil {
		t.Fatal(err)
	}
	run(f, c, "INCR", "{h}a")
	es, ok := f.EffectsSince(p, 2, 0)
	if !ok || len(es) != 1 || es[0].Seq != 3 {
		t.Fatalf("after promotion: %+v %v", es, ok)
	}
	r, err := store.DecodeRecord(es[0].Ops[0].Value)
	if err != nil || r.Val != "3" || r.Ver != 3 {
		t.Fatalf("record written after promotion: %+v %v (version must continue)", r, err)
	}
	// The old master, now demoted, follows its successor.
	if err := m.SetFollower(p, true); err != nil {
		t.Fatal(err)
	}
	syncPartition(t, f, m, p)
	_, msum, _ := mustDigest(t, m, p)
	_, fsum, _ := mustDigest(t, f, p)
	if msum != fsum {
		t.Fatal("digests differ after failing back")
	}
}

func TestEffectsSinceBeyondLog(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReplLogSize = 8
	s := newTestServer(t, cfg, nil)
	c := &sinkConn{}
	p := s.pid([]byte("k"))
	for i := range 20 {
		run(s, c, "SET", "k", strconv.Itoa(i))
	}
	if es, ok := s.EffectsSince(p, 11, 0); ok || es != nil {
		t.Errorf("EffectsSince(11) with effects 13-20 logged: %d effects, %v", len(es), ok)
	}
	es, ok := s.EffectsSince(p, 12, 0)
	if !ok || len(es) != 8 || es[0].Seq != 13 || es[7].Seq != 20 {
		t.Fatalf("EffectsSince(12): %d effects, %v", len(es), ok)
	}
	if es, ok := s.EffectsSince(p, 15, 2); !ok || len(es) != 2 || es[0].Seq != 16 || es[1].Seq != 17 {
		t.Errorf("EffectsSince(15, max 2): %+v %v", es, ok)
	}
	if es, ok := s.EffectsSince(p, 20, 0); !ok || len(es) != 0 {
		t.Errorf("EffectsSince(seq): %d effects, %v", len(es), ok)
	}
	if _, ok := s.EffectsSince(p, 21, 0); ok {
		t.Error("EffectsSince beyond the partition's seq must ask for a snapshot")
	}
	q := (p + 1) % cfg.Partitions // never written
	if _, ok := s.EffectsSince(q, 0, 0); !ok {
		t.Error("an empty partition is trivially up to date at seq 0")
	}
	if _, ok := s.EffectsSince(q, 1, 0); ok {
		t.Error("EffectsSince(1) on an empty partition")
	}
	if _, ok := s.EffectsSince(-1, 0, 0); ok {
		t.Error("EffectsSince on a partition out of range")
	}
	// The byte bound holds too.
	big := string(make([]byte, s.replLogBytes()/3))
	for range 5 {
		run(s, c, "SET", "k", big)
	}
	if es, ok := s.EffectsSince(p, 22, 0); ok {
		t.Errorf("%d large effects kept beyond the log's byte bound", len(es))
	}
	if es, ok := s.EffectsSince(p, 23, 0); !ok || len(es) != 2 {
		t.Errorf("latest large effects: %d, %v", len(es), ok)
	}
}

// TestSeqMovedWakesFetches checks a write wakes whoever waits for a seq to
// move (the FETCHes), and publishes the partition's seq to upToDate.
func TestSeqMovedWakesFetches(t *testing.T) {
	s := newTestServer(t, testConfig(t), nil)
	p := s.pid([]byte("w"))
	ch := s.repl.moved.Wait()
	if isClosed(ch) {
		t.Fatal("woken before any write")
	}
	if !s.upToDate(p, 0) {
		t.Fatal("a partition never written is up to date at seq 0")
	}
	run(s, &sinkConn{}, "SET", "w", "1")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by a write")
	}
	if s.upToDate(p, 0) || !s.upToDate(p, 1) {
		t.Fatal("upToDate does not follow the partition's seq")
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestSeqSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	clock := newFakeClock()
	s := startServer(t, cfg, clock.Now)
	c := &sinkConn{}
	p := s.pid([]byte("{r}a"))
	run(s, c, "SET", "{r}a", "1")
	run(s, c, "SET", "{r}b", "2", "PX", "1000")
	run(s, c, "SET", "{r}c", "3")
	if seq := mustSeq(t, s, p); seq != 3 {
		t.Fatalf("seq %d", seq)
	}
	before, _ := s.EffectsSince(p, 0, 0)
	s = reopen(t, s, cfg, clock.Now)
	if seq := mustSeq(t, s, p); seq != 3 {
		t.Fatalf("seq after restart %d, want 3", seq)
	}
	// The effect log is stored with the data: it is served after a restart.
	if es, ok := s.EffectsSince(p, 0, 0); !ok || len(before) != 3 || !reflect.DeepEqual(es, before) {
		t.Errorf("effects after restart: %+v %v, before: %+v", es, ok, before)
	}
	if es, ok := s.EffectsSince(p, 3, 0); !ok || len(es) != 0 {
		t.Errorf("EffectsSince(seq) after restart: %v %v", es, ok)
	}
	// A record that expired while the shard was down is deleted at open,
	// as an effect followers receive.
	clock.Advance(2 * time.Second)
	s = reopen(t, s, cfg, clock.Now)
	es, ok := s.EffectsSince(p, 3, 0)
	want := []Effect{{Partition: p, Seq: 4, Ops: []Op{{Del: true, Key: store.RecordKey([]byte("{r}b"))}}}}
	if !ok || !reflect.DeepEqual(es, want) {
		t.Fatalf("effects of the deletion at open: %+v %v", es, ok)
	}
	run(s, c, "DEL", "{r}c")
	if seq := mustSeq(t, s, p); seq != 5 {
		t.Fatalf("seq %d, want 5", seq)
	}
	_, sum, keys := mustDigest(t, s, p)
	s = reopen(t, s, cfg, clock.Now)
	if seq, sum2, keys2 := mustDigest(t, s, p); seq != 5 || sum2 != sum || keys2 != keys || keys != 1 {
		t.Fatalf("after restart: seq %d keys %d (want 5, %d), digest equal %v", seq, keys2, keys, sum == sum2)
	}
}

// A follower restarted after a record's expiry keeps the record (its master
// deletes it with an effect), and stays a follower.
func TestFollowerRestartKeepsExpired(t *testing.T) {
	clock := newFakeClock()
	m := newTestServer(t, testConfig(t), clock.Now)
	c := &sinkConn{}
	p := m.pid([]byte("{f}a"))
	run(m, c, "SET", "{f}a", "1", "PX", "1000")
	run(m, c, "SET", "{f}b", "2")

	cfg := fileConfig(t, t.TempDir())
	cfg.ID = "s2"
	f := startServer(t, cfg, clock.Now)
	syncPartition(t, m, f, p)
	clock.Advance(2 * time.Second)
	f = reopen(t, f, cfg, clock.Now)
	if !f.IsFollower(p) {
		t.Fatal("the follower flag did not survive a restart")
	}
	if n := f.reapAll(); n != 0 {
		t.Fatalf("a restarted follower reaped %d records", n)
	}
	fs, fsum, fkeys := mustDigest(t, f, p)
	ms, msum, _ := mustDigest(t, m, p)
	if fs != ms || fsum != msum || fkeys != 2 {
		t.Fatalf("follower seq %d keys %d, master seq %d; digests equal %v", fs, fkeys, ms, fsum == msum)
	}
	if n := m.reapAll(); n != 1 {
		t.Fatalf("master reaped %d", n)
	}
	syncPartition(t, m, f, p)
	if _, _, keys := mustDigest(t, f, p); keys != 1 {
		t.Fatalf("follower holds %d keys after the master's deletion", keys)
	}
}

func BenchmarkEffectOverhead(b *testing.B) {
	val := []byte("some value of a few bytes")
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	for _, store := range []string{"memory", "file"} {
		for _, mode := range []string{"effects", "standalone", "no-effects"} {
			b.Run(store+"/"+mode, func(b *testing.B) {
				cfg := testConfig(b)
				if store == "file" {
					cfg = fileConfig(b, b.TempDir())
				}
				cfg.Standalone = mode == "standalone"
				s, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.effectsOff = mode == "no-effects"
				nc := &nullConn{}
				set := [][]byte{[]byte("SET"), nil, val}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					set[1] = keys[i&1023]
					dispatch(s, nc, set)
				}
				b.StopTimer()
				var seqs uint64
				for p := range cfg.Partitions {
					seqs += mustSeqB(b, s, p)
				}
				if want := uint64(b.N); mode != "no-effects" && seqs != want {
					b.Fatalf("%d effects for %d writes", seqs, want)
				}
			})
		}
	}
}

func mustSeqB(b *testing.B, s *Server, p int) uint64 {
	seq, err := s.Seq(p)
	if err != nil {
		b.Fatal(fmt.Sprint(err))
	}
	return seq
}

// TestEffectLogOnlyWithCopies checks a partition logs its effects only
// while another copy may fetch them: never on a standalone shard, and once
// roles are applied only for partitions the map gives other copies.
func TestEffectLogOnlyWithCopies(t *testing.T) {
	cfg := testConfig(t)
	cfg.Standalone = true
	cfg.CommitLevel = CommitMaster // no follower runs here to acknowledge
	cfg.MinInSync = 1
	s := startServer(t, cfg, nil)
	c := &sinkConn{}
	p := s.pid([]byte("k"))
	logged := func() int {
		part := s.parts[p].Load()
		part.mu.Lock()
		defer part.mu.Unlock()
		return part.log.Len()
	}
	for i := range 5 {
		run(s, c, "SET", "k", strconv.Itoa(i))
	}
	if n := logged(); n != 0 {
		t.Fatalf("standalone shard logged %d effects", n)
	}
	if seq, err := s.Seq(p); err != nil || seq != 5 {
		t.Fatalf("standalone shard's seq after 5 writes: %d %v", seq, err)
	}
	if _, ok := s.EffectsSince(p, 2, 0); ok {
		t.Fatal("a standalone shard offered effects it did not log")
	}
	if _, ok := s.EffectsSince(p, 5, 0); !ok {
		t.Fatal("a reader at the partition's seq is up to date")
	}

	roles := make([]PartRole, cfg.Partitions)
	apply := func(epoch uint64, copies ...string) {
		for q := range roles {
			roles[q] = PartRole{Epoch: epoch, Master: cfg.ID, MasterAddr: s.Addr(), InSync: append([]string{cfg.ID}, copies...)}
		}
		if err := s.ApplyRoles(epoch, roles); err != nil {
			t.Fatal(err)
		}
	}
	apply(1, "other")
	run(s, c, "SET", "k", "a")
	run(s, c, "SET", "k", "b")
	if es, ok := s.EffectsSince(p, 6, 0); !ok || len(es) != 1 || es[0].Seq != 7 {
		t.Fatalf("with a copy in the map: EffectsSince(6) = %d effects, %v", len(es), ok)
	}
	apply(2)
	run(s, c, "SET", "k", "c")
	if n := logged(); n != 0 {
		t.Fatalf("with no other copy in the map the log holds %d effects", n)
	}
}

// BenchmarkApplyEffects measures a follower applying a master's effects,
// in batches of 1 and 16 effects per partition (what one fetch carries),
// in memory and file-backed (which also stores each effect in the
// partition's effect log). ns/op is per effect.
func BenchmarkApplyEffects(b *testing.B) {
	for _, where := range []string{"memory", "file"} {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/batch=%d", where, batch), func(b *testing.B) {
				m := newTestServer(b, testConfig(b), nil)
				fcfg := testConfig(b)
				if where == "file" {
					fcfg = fileConfig(b, b.TempDir())
				}
				fcfg.ID = "f"
				f := newTestServer(b, fcfg, nil)
				nc := &nullConn{}
				p := m.pid([]byte("k"))
				key := func(i int) []byte { return []byte(keyIn(m, p, i%1024)) }
				val := []byte("a value of about a hundred bytes, as redis-benchmark -d 100 writes ............")
				// The master's effects, made once and applied over and over
				// with fresh seqs.
				for i := range batch {
					dispatch(m, nc, [][]byte{[]byte("SET"), key(i), val})
				}
				effects, ok := m.EffectsSince(p, 0, 0)
				if !ok || len(effects) != batch {
					b.Fatalf("%d effects logged, want %d", len(effects), batch)
				}
				b.ReportAllocs()
				b.ResetTimer()
				seq := uint64(0)
				for i := 0; i < b.N; i += batch {
					for j := range effects {
						seq++
						effects[j].Seq = seq
					}
					if _, err := f.ApplyEffects(p, effects); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// strRecord is a stored string record with version ver.
func strRecord(ver uint64, exp int64, val string) string {
	return (&store.Record{Type: store.TypeString, Exp: exp, Val: val}).Encode(ver)
}
