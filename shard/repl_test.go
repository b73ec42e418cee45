package shard

import (
	"context"
	"errors"
	"github.com/shardis/shardis/repl"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardis/shardis/resp"
)

func allPartitions(s *Server) []int {
	ps := make([]int, s.cfg.Partitions)
	for i := range ps {
		ps[i] = i
	}
	return ps
}

// follow starts f following every partition of m and stops it at the end
// of the test; the returned stop may be called earlier.
func follow(t testing.TB, m, f *Server) func() {
	stop := f.Follow(m.cfg.ID, m.Addr(), allPartitions(m))
	t.Cleanup(stop)
	return stop
}

// waitAllAcked waits until every follower has acked every partition of m
// through its current seq.
func waitAllAcked(t testing.TB, m *Server, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for p := range m.cfg.Partitions {
		seq, err := m.Seq(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.waitAcked(ctx, p, seq, ids, nil); err != nil {
			t.Fatalf("partition %d: WaitAcked(%d, %v): %v (acked %d, %d)", p, seq, ids, err,
				m.Acked(p, ids[0]), m.Acked(p, ids[len(ids)-1]))
		}
	}
}

// sameDigests checks that every follower holds exactly the master's
// records of every partition, at the master's seq. The master must not be
// written meanwhile.
func sameDigests(t testing.TB, m *Server, fs ...*Server) {
	t.Helper()
	for p := range m.cfg.Partitions {
		mseq, msum, mkeys, err := m.Digest(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			fseq, fsum, fkeys, err := f.Digest(p)
			if err != nil {
				t.Fatal(err)
			}
			if fseq != mseq || fsum != msum || fkeys != mkeys {
				t.Fatalf("partition %d: follower %s at seq %d with %d keys, master at seq %d with %d keys, same digest %v",
					p, f.cfg.ID, fseq, fkeys, mseq, mkeys, fsum == msum)
			}
		}
	}
}

func followerConfig(t testing.TB, m *Server, id string) Config {
	cfg := testConfig(t)
	cfg.ID = id
	cfg.Partitions = m.cfg.Partitions
	return cfg
}

// mixedWrite returns a random write over keys spread across partitions.
func mixedWrite(rng *rand.Rand) []string {
	key := func() string { return "k" + strconv.Itoa(rng.IntN(300)) }
	val := func() string { return "v" + strconv.Itoa(rng.IntN(1000)) }
	switch rng.IntN(12) {
	case 0, 1, 2:
		return []string{"SET", key(), val()}
	case 3:
		return []string{"SET", key(), val(), "PX", strconv.Itoa(1 + rng.IntN(500))}
	case 4, 5:
		return []string{"INCR", key()}
	case 6:
		return []string{"DEL", key(), key(), key()}
	case 7:
		return []string{"EXPIRE", key(), strconv.Itoa(rng.IntN(3))}
	case 8:
		return []string{"PEXPIRE", key(), strconv.Itoa(1 + rng.IntN(800))}
	case 9, 10:
		return []string{"MSET", key(), val(), key(), val(), key(), val()}
	default:
		return []string{"INCRBYFLOAT", key(), "1.5"}
	}
}

func TestFollowersConverge(t *testing.T) {
	clock := newFakeClock()
	mcfg := testConfig(t)
	mcfg.ID = "m"
	mcfg.ExpiryInterval = time.Hour // the test reaps, so the master's seq moves only when it says
	m := startServer(t, mcfg, clock.Now)
	f1 := startServer(t, followerConfig(t, m, "f1"), nil)
	f2 := startServer(t, followerConfig(t, m, "f2"), nil)
	follow(t, m, f1)
	follow(t, m, f2)
	for p := range m.cfg.Partitions {
		if !f1.IsFollower(p) || !f2.IsFollower(p) {
			t.Fatalf("partition %d is not a follower after Follow", p)
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	c := &sinkConn{}
	var reaped int
	for i := range 5000 {
		run(m, c, mixedWrite(rng)...)
		clock.Advance(time.Millisecond)
		if i%250 == 249 {
			reaped += m.reapAll()
		}
	}
	if reaped == 0 {
		t.Fatal("no key was reaped: the writes do not exercise expiry")
	}
	// The last write: once both followers acked its seq, they hold what
	// the master holds.
	run(m, c, "SET", "last", "write")
	p := m.pid([]byte("last"))
	seq := mustSeq(t, m, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.waitAcked(ctx, p, seq, []string{"f1", "f2"}, nil); err != nil {
		t.Fatalf("WaitAcked(last write): %v", err)
	}
	for _, f := range []*Server{f1, f2} {
		if got := mustSeq(t, f, p); got < seq {
			t.Fatalf("%s acked seq %d but has applied %d", f.cfg.ID, seq, got)
		}
	}
	waitAllAcked(t, m, "f1", "f2")
	sameDigests(t, m, f1, f2)
	total := 0
	for p := range m.cfg.Partitions {
		_, _, keys := mustDigest(t, m, p)
		total += keys
		mseq := mustSeq(t, m, p)
		for _, f := range []*Server{f1, f2} {
			if ms, applied := f.replicationLag(p); ms != mseq || applied != mseq {
				t.Errorf("%s partition %d: replicationLag = %d, %d; master seq %d", f.cfg.ID, p, ms, applied, mseq)
			}
			if a := m.Acked(p, f.cfg.ID); a != mseq {
				t.Errorf("partition %d: Acked(%s) = %d, want %d", p, f.cfg.ID, a, mseq)
			}
		}
	}
	if total == 0 {
		t.Fatal("the master holds no keys")
	}
	if n := f1.repl.snapshots.Load() + f2.repl.snapshots.Load(); n != 0 {
		t.Errorf("followers that kept up loaded %d snapshots", n)
	}
}

func TestWaitAckedStoppedFollower(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	m := startServer(t, mcfg, nil)
	f1 := startServer(t, followerConfig(t, m, "f1"), nil)
	f2 := startServer(t, followerConfig(t, m, "f2"), nil)
	follow(t, m, f1)
	stop2 := follow(t, m, f2)
	c := &sinkConn{}
	run(m, c, "SET", "a", "1")
	p := m.pid([]byte("a"))
	waitAllAcked(t, m, "f1", "f2")

	stop2()
	run(m, c, "SET", "a", "2")
	seq := mustSeq(t, m, p)
	short := func(followers ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return m.waitAcked(ctx, p, seq, followers, nil)
	}
	if err := short("f1", "f2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAcked with a stopped follower: %v, want a deadline error", err)
	}
	if err := short("f1"); err != nil {
		t.Fatalf("WaitAcked for the running follower: %v", err)
	}
	if got := m.Acked(p, "f2"); got != seq-1 {
		t.Fatalf("Acked(f2) = %d, want %d", got, seq-1)
	}

	// A closed follower stops acking too.
	if err := f1.Close(); err != nil {
		t.Fatal(err)
	}
	run(m, c, "SET", "a", "3")
	seq = mustSeq(t, m, p)
	if err := short("f1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAcked with a closed follower: %v, want a deadline error", err)
	}
	if err := m.waitAcked(context.Background(), p, 0, []string{"nobody"}, nil); err != nil {
		t.Fatalf("WaitAcked through seq 0: %v", err)
	}
	if err := m.waitAcked(context.Background(), p, seq, nil, nil); err != nil {
		t.Fatalf("WaitAcked without followers: %v", err)
	}
	if err := m.waitAcked(context.Background(), 99, 1, []string{"f1"}, nil); err == nil {
		t.Fatal("WaitAcked of an invalid partition succeeded")
	}
}

func TestFollowerResumesFromPersistedSeq(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	m := startServer(t, mcfg, nil)
	fcfg := fileConfig(t, t.TempDir())
	fcfg.ID = "f1"
	f := startServer(t, fcfg, nil)
	stop := follow(t, m, f)
	rng := rand.New(rand.NewPCG(3, 4))
	c := &sinkConn{}
	for range 300 {
		run(m, c, mixedWrite(rng)...)
	}
	waitAllAcked(t, m, "f1")
	stop()
	seqs := make([]uint64, m.cfg.Partitions)
	for p := range seqs {
		seqs[p] = mustSeq(t, f, p)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for range 300 { // within the master's log
		run(m, c, mixedWrite(rng)...)
	}

	f = startServer(t, fcfg, nil)
	for p, want := range seqs {
		if got := mustSeq(t, f, p); got != want {
			t.Fatalf("partition %d: seq %d after restart, want %d", p, got, want)
		}
		if !f.IsFollower(p) {
			t.Fatalf("partition %d is not a follower after restart", p)
		}
	}
	follow(t, m, f)
	waitAllAcked(t, m, "f1")
	sameDigests(t, m, f)
	if n := f.repl.snapshots.Load(); n != 0 {
		t.Fatalf("the restarted follower loaded %d snapshots; the log covered its gap", n)
	}
}

func TestFollowerCatchesUpBySnapshot(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	mcfg.ReplLogSize = 4
	m := startServer(t, mcfg, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	c := &sinkConn{}
	for range 500 {
		run(m, c, mixedWrite(rng)...)
	}
	// A follower holding writes the master does not is reset too.
	fcfg := followerConfig(t, m, "f1")
	f := startServer(t, fcfg, nil)
	diverged := f.pid([]byte("only-here"))
	for range 200 {
		run(f, c, "SET", "only-here", "x")
	}
	if mustSeq(t, f, diverged) <= mustSeq(t, m, diverged) {
		t.Fatal("the follower's partition should be ahead of the master's")
	}

	follow(t, m, f)
	waitAllAcked(t, m, "f1")
	sameDigests(t, m, f)
	loaded := f.repl.snapshots.Load()
	if loaded == 0 {
		t.Fatal("no snapshot loaded")
	}
	// Then it keeps up through effects.
	for i := range 20 {
		run(m, c, "SET", "k"+strconv.Itoa(i), "after")
		waitAllAcked(t, m, "f1")
	}
	sameDigests(t, m, f)
	if got := f.repl.snapshots.Load(); got != loaded {
		t.Fatalf("%d more snapshots for a follower that kept up", got-loaded)
	}
}

func TestFetchReply(t *testing.T) {
	cfg := testConfig(t)
	m := startServer(t, cfg, nil)
	cl := dial(t, m.Addr())
	other := dial(t, m.Addr())
	p := m.pid([]byte("a"))
	ps := strconv.Itoa(p)
	q := (p + 1) % cfg.Partitions
	qs := strconv.Itoa(q)

	if got := cl.do("SHARDIS.FETCH", "f1", "0", ps, "0"); got != arrR() {
		t.Fatalf("FETCH of an empty partition = %q", got)
	}
	if got := other.do("SET", "a", "1"); got != okR() {
		t.Fatal(got)
	}
	effects, ok := m.EffectsSince(p, 0, 0)
	if !ok || len(effects) != 1 {
		t.Fatalf("EffectsSince: %v %v", effects, ok)
	}
	want := arrR(arrR(intR(int64(p)), intR(0), arrR(bulkR(string(repl.AppendEffect(nil, effects[0])))), intR(1)))
	if got := cl.do("SHARDIS.FETCH", "f1", "1000", qs, "0", ps, "0"); got != want {
		t.Fatalf("FETCH with an effect = %q, want %q", got, want)
	}
	if got := m.Acked(p, "f1"); got != 0 {
		t.Fatalf("Acked = %d, want 0", got)
	}
	// Up to date: *0 once the wait (short here) is over.
	start := time.Now()
	if got := cl.do("SHARDIS.FETCH", "f1", "30", ps, "1"); got != arrR() {
		t.Fatalf("FETCH when up to date = %q", got)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("FETCH answered after %s, before its wait", d)
	}
	if got := m.Acked(p, "f1"); got != 1 {
		t.Fatalf("Acked = %d, want 1", got)
	}
	// Ahead of the master: snapshot needed, and nothing acked.
	want = arrR(arrR(intR(int64(p)), intR(1), arrR(), intR(1)))
	if got := cl.do("SHARDIS.FETCH", "f1", "0", ps, "7"); got != want {
		t.Fatalf("FETCH ahead of the master = %q, want %q", got, want)
	}
	if got := m.Acked(p, "f1"); got != 0 {
		t.Fatalf("Acked after a position beyond the master = %d, want 0", got)
	}

	// A long poll is answered when a write comes from another connection,
	// which the waiting one does not block.
	cl.send("SHARDIS.FETCH", "f1", "60000", qs, "0", ps, "1")
	if err := cl.w.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return m.repl.waiting.Load() == 1 })
	if got := other.do("SET", "a", "2"); got != okR() {
		t.Fatal(got)
	}
	reply := cl.read()
	effects, _ = m.EffectsSince(p, 1, 0)
	want = arrR(arrR(intR(int64(p)), intR(0), arrR(bulkR(string(repl.AppendEffect(nil, effects[0])))), intR(2)))
	if reply != want {
		t.Fatalf("long poll woken by a write = %q, want %q", reply, want)
	}
	if got := cl.do("PING"); got != simpleR("PONG") {
		t.Fatalf("connection after FETCH: %q", got)
	}
}

func TestFetchReplyBounded(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReplFetchMaxBytes = 1000
	m := startServer(t, cfg, nil)
	c := &sinkConn{}
	big := string(make([]byte, 600))
	for i := range 10 {
		run(m, c, "SET", "{x}"+strconv.Itoa(i), big)
	}
	p := m.pid([]byte("{x}"))
	fc := startServer(t, followerConfig(t, m, "f1"), nil)
	cl := dial(t, m.Addr())
	after := uint64(0)
	for rounds := 1; ; rounds++ {
		reply := cl.do("SHARDIS.FETCH", "f1", "0", strconv.Itoa(p), strconv.FormatUint(after, 10))
		got, err := decodeFetchReplyRaw(reply, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			if rounds != 6 || after != 10 {
				t.Fatalf("%d rounds to seq %d; want 2 effects of 600 bytes a round", rounds, after)
			}
			break
		}
		if n := len(got[0].effects); n != 2 {
			t.Fatalf("round %d: %d effects, want 2 (at least one, then until 1000 bytes)", rounds, n)
		}
		if after, err = fc.ApplyEffects(p, got[0].effects); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFetchArgumentErrors(t *testing.T) {
	m := startServer(t, testConfig(t), nil)
	cl := dial(t, m.Addr())
	wrong := errR("ERR wrong number of arguments for 'shardis.fetch' command")
	long := string(make([]byte, maxFollowerID+1))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SHARDIS.FETCH"}, wrong},
		{[]string{"SHARDIS.FETCH", "f"}, wrong},
		{[]string{"SHARDIS.FETCH", "f", "0", "1"}, wrong},
		{[]string{"SHARDIS.FETCH", "f", "0", "1", "0", "2"}, wrong},
		{[]string{"SHARDIS.FETCH", "", "0", "1", "0"}, errR("ERR invalid follower id")},
		{[]string{"SHARDIS.FETCH", long, "0", "1", "0"}, errR("ERR invalid follower id")},
		{[]string{"SHARDIS.FETCH", "f", "x", "1", "0"}, errR("ERR value is not an integer or out of range")},
		{[]string{"SHARDIS.FETCH", "f", "-1", "1", "0"}, errR("ERR value is not an integer or out of range")},
		{[]string{"SHARDIS.FETCH", "f", "99999999999999999999", "1", "0"}, errR("ERR value is not an integer or out of range")},
		{[]string{"SHARDIS.FETCH", "f", "0", "16", "0"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.FETCH", "f", "0", "-1", "0"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.FETCH", "f", "0", "p", "0"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.FETCH", "f", "0", "1", "-5"}, errR("ERR value is not an integer or out of range")},
		{[]string{"SHARDIS.FETCH", "f", "0", "1", "1.5"}, errR("ERR value is not an integer or out of range")},
		{[]string{"SHARDIS.FETCH", "f", "0", "1", "0", "1", "0"}, errR("ERR duplicate partition")},
		// A huge wait is capped by ReplFetchMaxWait; with nothing to
		// wait for (beyond the master: snapshot needed) it answers at once.
		{[]string{"SHARDIS.FETCH", "f", "9223372036854775807", "1", "3"},
			arrR(arrR(intR(1), intR(1), arrR(), intR(0)))},
	} {
		if got := cl.do(tc.args...); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.args, got, tc.want)
		}
	}
	// No FETCH above recorded anything but the valid one.
	if got := m.Acked(1, "f"); got != 0 {
		t.Errorf("Acked = %d", got)
	}
	for i := range maxFollowers {
		if got := cl.do("SHARDIS.FETCH", "f"+strconv.Itoa(i), "0", "2", "0"); got != arrR() {
			t.Fatalf("follower %d: %q", i, got)
		}
	}
	if got := cl.do("SHARDIS.FETCH", "one-too-many", "0", "2", "0"); got != errR("ERR too many followers of partition 2") {
		t.Fatalf("FETCH beyond maxFollowers = %q", got)
	}
	m.forgetFollower(2, "f0")
	if got := cl.do("SHARDIS.FETCH", "one-too-many", "0", "2", "0"); got != arrR() {
		t.Fatalf("FETCH after ForgetFollower = %q", got)
	}
	if got := cl.do("PING"); got != simpleR("PONG") {
		t.Fatalf("connection after errors: %q", got)
	}
}

func TestCloseDuringLongPoll(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	mcfg.ReplFetchMaxWait = time.Minute
	m := startServer(t, mcfg, nil)
	fcfg := followerConfig(t, m, "f1")
	fcfg.ReplFetchMaxWait = time.Minute
	f := startServer(t, fcfg, nil)
	follow(t, m, f)
	c := &sinkConn{}
	run(m, c, "SET", "a", "1")
	p := m.pid([]byte("a"))
	waitAllAcked(t, m, "f1")
	waitFor(t, 10*time.Second, func() bool { return m.repl.waiting.Load() == 1 })

	waitErr := make(chan error, 1)
	go func() { waitErr <- m.waitAcked(context.Background(), p, 99, []string{"f1"}, nil) }()
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s with a follower long-polling", d)
	}
	select {
	case err := <-waitErr:
		if err == nil {
			t.Fatal("WaitAcked succeeded on a closed master")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitAcked still waiting after Close")
	}
	// The follower retries against the closed master until it is closed,
	// which is prompt as well.
	start = time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("follower Close took %s", d)
	}
	if stop := m.Follow("x", "127.0.0.1:1", []int{-1, 99}); stop == nil {
		t.Fatal("Follow of no valid partition returned no stop")
	} else {
		stop()
	}
	if stop := f.Follow("m", m.Addr(), []int{p}); stop == nil {
		t.Fatal("Follow on a closed shard returned no stop")
	} else {
		stop()
	}
}

func TestFollowerCloseDuringLongPoll(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	mcfg.ReplFetchMaxWait = time.Minute
	m := startServer(t, mcfg, nil)
	fcfg := followerConfig(t, m, "f1")
	fcfg.ReplFetchMaxWait = time.Minute
	f := startServer(t, fcfg, nil)
	follow(t, m, f)
	waitFor(t, 10*time.Second, func() bool { return m.repl.waiting.Load() == 1 })
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("follower Close took %s during a long poll", d)
	}
}

// decodeFetchReplyRaw decodes a raw FETCH reply that may name p.
func decodeFetchReplyRaw(raw string, p int) ([]fetched, error) {
	v, _, err := resp.ParseValue([]byte(raw))
	if err != nil {
		return nil, err
	}
	return decodeFetchReply(v, map[int]bool{p: true})
}

// BenchmarkReplicatedSet measures SET over loopback, pipelined in batches
// of 64, acknowledged to the client after the master committed it
// (followers=0) or after it also waited for both followers to have
// applied every partition the batch wrote (followers=2, commit level all).
func BenchmarkReplicatedSet(b *testing.B) {
	for _, n := range []int{0, 2} {
		b.Run("followers="+strconv.Itoa(n), func(b *testing.B) { benchmarkReplicatedSet(b, n) })
	}
}

func benchmarkReplicatedSet(b *testing.B, followers int) {
	const batch = 64
	cfg := testConfig(b)
	cfg.ID = "m"
	m := startServer(b, cfg, nil)
	var ids []string
	for i := range followers {
		id := "f" + strconv.Itoa(i)
		follow(b, m, startServer(b, followerConfig(b, m, id), nil))
		ids = append(ids, id)
	}
	cl := dial(b, m.Addr())
	keys := make([]string, 1024)
	pids := make([]int, len(keys))
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
		pids[i] = m.pid([]byte(keys[i]))
	}
	val := "0123456789abcdef0123456789abcdef"
	touched := make([]bool, cfg.Partitions)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		for j := range n {
			k := (i + j) % len(keys)
			cl.send("SET", keys[k], val)
			touched[pids[k]] = true
		}
		if err := cl.w.Flush(); err != nil {
			b.Fatal(err)
		}
		for range n {
			if r := cl.read(); r != okR() {
				b.Fatalf("SET: %q", r)
			}
		}
		for p, t := range touched {
			if !t {
				continue
			}
			touched[p] = false
			if followers == 0 {
				continue
			}
			seq, err := m.Seq(p)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.waitAcked(ctx, p, seq, ids, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func TestFollowerReconnectsToRestartedMaster(t *testing.T) {
	mcfg := fileConfig(t, t.TempDir())
	mcfg.ID = "m"
	m := startServer(t, mcfg, nil)
	f := startServer(t, followerConfig(t, m, "f1"), nil)
	follow(t, m, f)
	c := &sinkConn{}
	run(m, c, "SET", "a", "1")
	waitAllAcked(t, m, "f1")

	mcfg.Addr = m.Addr() // the follower keeps dialling this address
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = startServer(t, mcfg, nil)
	run(m, c, "SET", "a", "2")
	run(m, c, "SET", "b", "3")
	waitAllAcked(t, m, "f1")
	sameDigests(t, m, f)
	if n := f.repl.snapshots.Load(); n != 0 {
		// It was up to date when the master stopped, so the restarted
		// master's log continues from its position.
		t.Fatalf("%d snapshots loaded", n)
	}
}

// TestDivergedFollowerGetsSnapshot: a copy that holds a write of its own
// under a seq the master used for another (it was master, committed a write
// nobody fetched, crashed, and came back as a follower of the master
// promoted in its place) must not resume after that seq: its history hash
// differs, so the master sends a snapshot, and it never counts as having
// acknowledged the master's write.
func TestDivergedFollowerGetsSnapshot(t *testing.T) {
	mcfg := testConfig(t)
	mcfg.ID = "m"
	m := startServer(t, mcfg, nil)
	fcfg := testConfig(t)
	fcfg.ID = "f"
	f := startServer(t, fcfg, nil)
	const p = 3
	cm, cf := dial(t, m.Addr()), dial(t, f.Addr())
	if got := cm.do("SET", keyIn(m, p, 0), "shared"); got != okR() {
		t.Fatal(got)
	}
	effects, ok := m.EffectsSince(p, 0, 0)
	if !ok || len(effects) != 1 {
		t.Fatalf("EffectsSince = %v, %v", effects, ok)
	}
	if _, err := f.ApplyEffects(p, effects); err != nil {
		t.Fatal(err)
	}
	// f, master for a moment, writes seq 2 on its own; m writes another seq 2.
	if err := f.SetFollower(p, false); err != nil {
		t.Fatal(err)
	}
	if got := cf.do("SET", keyIn(f, p, 1), "only-on-f"); got != okR() {
		t.Fatal(got)
	}
	if got := cm.do("SET", keyIn(m, p, 2), "acknowledged-on-m"); got != okR() {
		t.Fatal(got)
	}
	if a, b := mustSeq(t, m, p), mustSeq(t, f, p); a != 2 || b != 2 {
		t.Fatalf("seqs m %d f %d, want 2 and 2", a, b)
	}

	stop := f.Follow("m", m.Addr(), []int{p})
	defer stop()
	waitFor(t, 10*time.Second, func() bool {
		_, ms, _, err1 := m.Digest(p)
		_, fs, _, err2 := f.Digest(p)
		return err1 == nil && err2 == nil && ms == fs
	})
	if got := cf.do("SHARDIS.KEYS", "*"); strings.Contains(got, keyIn(f, p, 1)) {
		t.Fatalf("the follower kept its own write: %q", got)
	}
	if n := f.repl.snapshots.Load(); n == 0 {
		t.Fatal("the follower caught up without a snapshot")
	}
}

// TestFetchMore checks SHARDIS.FETCHMORE: it updates only the positions it
// names, answers for every partition of the connection's last FETCH, and is
// refused without one.
func TestFetchMore(t *testing.T) {
	m := startServer(t, testConfig(t), nil)
	cl := dial(t, m.Addr())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SHARDIS.FETCHMORE", "f", "0"}, errR("ERR FETCHMORE without a FETCH")},
		{[]string{"SHARDIS.FETCHMORE", "f", "0", "1"}, errR("ERR wrong number of arguments for 'shardis.fetchmore' command")},
		{[]string{"SHARDIS.FETCH", "f", "0", "1", "0", "2", "0"}, arrR()},
		{[]string{"SHARDIS.FETCHMORE", "g", "0"}, errR("ERR FETCHMORE without a FETCH")},
		{[]string{"SHARDIS.FETCHMORE", "f", "0", "3", "0"}, errR("ERR partition 3 is not in this connection's FETCH")},
		{[]string{"SHARDIS.FETCHMORE", "f", "0"}, arrR()},
	} {
		if got := cl.do(tc.args...); got != tc.want {
			t.Fatalf("%q = %q, want %q", tc.args, got, tc.want)
		}
	}
	// Writes to partition 2: a FETCHMORE naming nothing still answers for
	// it, from the position the FETCH gave.
	key := keyIn(m, 2, 0)
	c := &sinkConn{}
	run(m, c, "SET", key, "v1")
	run(m, c, "SET", key, "v2")
	if got := cl.do("SHARDIS.FETCHMORE", "f", "0"); !strings.HasPrefix(got, "*1\r\n*4\r\n:2\r\n:0\r\n*2\r\n") {
		t.Fatalf("FETCHMORE after two writes = %q, want partition 2's two effects", got)
	}
	if got := m.Acked(2, "f"); got != 0 {
		t.Fatalf("Acked before the follower moved = %d", got)
	}
	// The follower applied one: only partition 2's position is sent.
	_, hash, err := m.position(2)
	if err != nil {
		t.Fatal(err)
	}
	pos1 := "1/" + strconv.FormatUint(historyAtOrZero(m, 2, 1), 10)
	if got := cl.do("SHARDIS.FETCHMORE", "f", "0", "2", pos1); !strings.HasPrefix(got, "*1\r\n*4\r\n:2\r\n:0\r\n*1\r\n") {
		t.Fatalf("FETCHMORE at seq 1 = %q, want one effect", got)
	}
	if got := m.Acked(2, "f"); got != 1 {
		t.Fatalf("Acked after FETCHMORE at seq 1 = %d", got)
	}
	pos2 := "2/" + strconv.FormatUint(hash, 10)
	if got := cl.do("SHARDIS.FETCHMORE", "f", "0", "2", pos2); got != arrR() {
		t.Fatalf("FETCHMORE up to date = %q", got)
	}
	if got := m.Acked(2, "f"); got != 2 {
		t.Fatalf("Acked after FETCHMORE at seq 2 = %d", got)
	}
	if got := m.Acked(1, "f"); got != 0 {
		t.Fatalf("partition 1 never moved, yet Acked = %d", got)
	}
}

// historyAtOrZero is partition p's history hash at seq on s.
func historyAtOrZero(s *Server, p int, seq uint64) uint64 {
	part := s.parts[p].Load()
	part.mu.Lock()
	defer part.mu.Unlock()
	h, _ := part.historyAt(seq)
	return h
}

// TestOnlyTheMasterServesCopies checks a shard gives a partition's effects
// and snapshots to other copies only while it masters the partition and
// holds its lease. A restarted voter replaying old maps once fetched from a
// shard that did not master the partition any more, loaded its nearly empty
// snapshot, and handed it on: every copy lost the partition's writes.
func TestOnlyTheMasterServesCopies(t *testing.T) {
	cfg := testConfig(t)
	cfg.CommitLevel, cfg.MinInSync = CommitMaster, 1
	s := startServer(t, cfg, nil)
	c := &sinkConn{}
	mine, other := 1, 2
	run(s, c, "SET", keyIn(s, mine, 0), "v")
	run(s, c, "SET", keyIn(s, other, 0), "v")
	roles := make([]PartRole, cfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: 1, Master: "elsewhere", MasterAddr: "127.0.0.1:1", InSync: []string{"elsewhere", cfg.ID}}
	}
	roles[mine] = PartRole{Epoch: 1, Master: cfg.ID, MasterAddr: s.Addr(), InSync: []string{cfg.ID, "f"}}
	if err := s.ApplyRoles(1, roles); err != nil {
		t.Fatal(err)
	}
	cl := dial(t, s.Addr())
	// A copy ahead of this shard on both partitions would be told to load
	// a snapshot of each; only the mastered one may answer.
	got := cl.do("SHARDIS.FETCH", "f", "0", strconv.Itoa(mine), "5", strconv.Itoa(other), "5")
	if want := arrR(arrR(intR(int64(mine)), intR(1), arrR(), intR(1))); got != want {
		t.Fatalf("FETCH of a mastered and a followed partition = %q, want only the mastered one: %q", got, want)
	}
	if got := cl.do("SHARDIS.SNAPSHOT", strconv.Itoa(other)); got != errR("ERR this shard does not master partition "+strconv.Itoa(other)) {
		t.Fatalf("SNAPSHOT of a partition this shard does not master = %q", got)
	}
	if got := cl.do("SHARDIS.SNAPSHOT", strconv.Itoa(mine)); !strings.HasPrefix(got, "*3\r\n") {
		t.Fatalf("SNAPSHOT of a mastered partition = %q", got)
	}

	// With leases required, a shard without one serves nothing, even
	// before it has roles (a restarted master, asked by its followers).
	lcfg := testConfig(t)
	lcfg.ID, lcfg.RequireLease = "l", true
	l := startServer(t, lcfg, nil)
	run(l, c, "SET", keyIn(l, mine, 0), "v")
	lc := dial(t, l.Addr())
	if got := lc.do("SHARDIS.FETCH", "f", "0", strconv.Itoa(mine), "5"); got != arrR() {
		t.Fatalf("FETCH from a shard without a lease = %q, want nothing", got)
	}
	if got := lc.do("SHARDIS.SNAPSHOT", strconv.Itoa(mine)); !strings.HasPrefix(got, "-NOLEASE") {
		t.Fatalf("SNAPSHOT from a shard without a lease = %q", got)
	}
}
