package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
)

// writeLog writes through a client and records the outcome of every write:
// the acknowledged ones (OK reply) with when they started and ended, and
// the others counted by their error's code.
type writeLog struct {
	rdb *redis.Client

	mu     sync.Mutex            // guards acked and failed
	acked  map[string]ackedWrite // key → its acknowledged write
	failed map[string]int        // error code (first word) → count

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// ackedWrite is one acknowledged SET.
type ackedWrite struct {
	part       int
	value      string
	start, end time.Time
}

func newWriteLog(rdb *redis.Client) *writeLog {
	return &writeLog{rdb: rdb, acked: map[string]ackedWrite{}, failed: map[string]int{}, stop: make(chan struct{})}
}

// write sets key to a value derived from it and records the outcome.
func (w *writeLog) write(ctx context.Context, key string) error {
	v := "v-" + key
	start := time.Now()
	err := w.rdb.Set(ctx, key, v, 0).Err()
	end := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.acked[key] = ackedWrite{part: ring.Partition([]byte(key), testParts), value: v, start: start, end: end}
	} else {
		w.failed[errorCode(err)]++
	}
	return err
}

// errorCode is the first word of a Redis error reply ("NOREPLICAS",
// "NOTACKED", …), or "network" for an error that is not a reply.
func errorCode(err error) string {
	word, _, _ := strings.Cut(err.Error(), " ")
	if word == "" || strings.ToUpper(word) != word || strings.ContainsAny(word, ":.") {
		return "network"
	}
	return word
}

// start runs n goroutines writing distinct keys until close.
func (w *writeLog) start(ctx context.Context, n int) {
	for g := range n {
		w.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				_ = w.write(ctx, "w"+strconv.Itoa(g)+":"+strconv.Itoa(i))
			}
		})
	}
}

// close stops the writers and waits for them; it is idempotent.
func (w *writeLog) close() {
	w.stopOnce.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// ackedCount returns the number of acknowledged writes so far.
func (w *writeLog) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// isRefusal reports whether err is the refusal of a write on a partition
// with fewer than MinInSync in-sync copies (shard/roles.go).
func isRefusal(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOREPLICAS ")
}

// TestTwoSimultaneousFailures runs five file-backed shards with three copies
// of every partition, at least two in sync to write, and a proxy, all as
// cluster members in one process. Under a steady write load it crashes two
// shards at the same moment, keeps writing, then restarts them. It checks
// that the partitions left with one in-sync copy refuse writes with
// NOREPLICAS until then while the others go on taking writes, that every
// partition is back to three in-sync copies and takes writes after the
// restart, and that no acknowledged write is lost.
func TestTwoSimultaneousFailures(t *testing.T) {
	const rf, minInSync = 3, 2
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 5, RF: rf, MinInSync: minInSync, Dir: t.TempDir()})
	ids := tc.IDs()
	tc.RecordMaps()
	tc.WaitFull(30 * time.Second)
	_, rdb := tc.StartProxy()
	ctx := context.Background()

	w := newWriteLog(rdb)
	t.Cleanup(w.close)
	w.start(ctx, 4)
	testcluster.WaitFor(t, 15*time.Second, "300 acknowledged writes", func() bool { return w.ackedCount() >= 300 })

	// Crash the two shards (the voter aside) whose loss leaves the most
	// partitions with fewer than MinInSync in-sync copies.
	st := tc.State()
	doomedBy := func(a, b string) []int {
		var out []int
		for p, ps := range st.Parts {
			left := 0
			for _, id := range ps.InSync {
				if id != a && id != b {
					left++
				}
			}
			if left < minInSync {
				out = append(out, p)
			}
		}
		return out
	}
	var victims [2]string
	var doomed []int
	for i, a := range ids[1:] {
		for _, b := range ids[2+i:] {
			if d := doomedBy(a, b); len(d) > len(doomed) {
				victims, doomed = [2]string{a, b}, d
			}
		}
	}
	if len(doomed) == 0 || len(doomed) == testParts {
		t.Fatalf("no pair of shards to crash leaves some but not all partitions under MinInSync: %v", doomed)
	}
	t.Logf("crashing %s and %s: partitions %v keep one in-sync copy", victims[0], victims[1], doomed)
	ackedBefore := w.ackedCount()
	killed := time.Now()
	tc.Crash(victims[0], victims[1])

	tc.WaitState(10*time.Second, "both crashed shards down in the map", func(st cluster.State) bool {
		return !st.Nodes[victims[0]].Up && !st.Nodes[victims[1]].Up
	})
	down := time.Now()
	st = tc.State()
	for _, p := range doomed {
		if st.CanWrite(p) {
			t.Errorf("partition %d lost two of three in-sync copies but the map lets it write: %+v", p, st.Parts[p])
		}
	}

	// Each partition left with one in-sync copy refuses writes, naming the
	// condition, once its master has the new map.
	next := 0
	var refusing time.Duration
	for _, p := range doomed {
		var last error
		deadline := time.Now().Add(10 * time.Second)
		for last = w.write(ctx, tc.KeyIn(p, "probe:", &next)); !isRefusal(last); last = w.write(ctx, tc.KeyIn(p, "probe:", &next)) {
			if time.Now().After(deadline) {
				t.Fatalf("partition %d with one in-sync copy: a write answers %v, want NOREPLICAS", p, last)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition
		}
		refusing = max(refusing, time.Since(killed))
	}
	t.Logf("every partition with one in-sync copy refuses writes with NOREPLICAS %v after the crash (map shows both down after %v)",
		refusing.Round(time.Millisecond), down.Sub(killed).Round(time.Millisecond))

	// The others take writes meanwhile, and the load goes on for a while.
	for p := range testParts {
		if slices.Contains(doomed, p) {
			continue
		}
		testcluster.WaitFor(t, 10*time.Second, fmt.Sprintf("a write on partition %d, which kept two in-sync copies", p), func() bool {
			return w.write(ctx, tc.KeyIn(p, "probe:", &next)) == nil
		})
	}
	ackedRefusing := w.ackedCount()
	testcluster.WaitFor(t, 15*time.Second, "300 more acknowledged writes with two shards down", func() bool {
		return w.ackedCount() >= ackedRefusing+300
	})
	for _, p := range doomed {
		if err := w.write(ctx, tc.KeyIn(p, "probe:", &next)); !isRefusal(err) {
			t.Errorf("partition %d with one in-sync copy, just before the restart: a write answers %v, want NOREPLICAS", p, err)
		}
	}

	// Restart both under their IDs, on their data dirs: every partition
	// returns to three in-sync copies and takes writes.
	ackedDown := w.ackedCount()
	restarted := time.Now()
	tc.Restart(victims[0])
	tc.Restart(victims[1])
	tc.WaitFull(20 * time.Second)
	replicated := time.Since(restarted)
	for p := range testParts {
		testcluster.WaitFor(t, 10*time.Second, fmt.Sprintf("a write on partition %d after the restart", p), func() bool {
			return w.write(ctx, tc.KeyIn(p, "probe:", &next)) == nil
		})
	}
	writable := time.Since(restarted)
	ackedWritable := w.ackedCount()
	testcluster.WaitFor(t, 10*time.Second, "100 more acknowledged writes after the restart", func() bool {
		return w.ackedCount() >= ackedWritable+100
	})
	w.close()

	// No write on a partition with one in-sync copy was acknowledged between
	// the map showing both shards down and the restart.
	for k, a := range w.acked {
		if slices.Contains(doomed, a.part) && a.start.After(down) && a.end.Before(restarted) {
			t.Errorf("partition %d had one in-sync copy, yet %s was acknowledged %v after the map showed both shards down",
				a.part, k, a.end.Sub(down).Round(time.Millisecond))
		}
	}
	want := make(map[string]string, len(w.acked))
	for k, a := range w.acked {
		want[k] = a.value
	}
	lost := readBack(ctx, rdb, want)
	for _, l := range lost[:min(len(lost), 20)] {
		a := w.acked[l.key]
		t.Errorf("acknowledged write lost: %s (partition %d, acknowledged %v after the crash)",
			l, a.part, a.end.Sub(killed).Round(time.Millisecond))
	}
	// Every copy holds what its master holds.
	for _, d := range tc.SettledDiffs(10 * time.Second) {
		t.Error(d)
	}
	t.Logf("acknowledged writes: %d (%d before the crash, %d while two shards were down, %d after the restart); lost: %d",
		len(w.acked), ackedBefore, ackedDown-ackedBefore, len(w.acked)-ackedDown, len(lost))
	t.Logf("writes refused: %d NOREPLICAS; other failures by code: %v", w.failed["NOREPLICAS"], w.failed)
	t.Logf("after the restart: %d in-sync copies of every partition in %v, every partition writable in %v",
		rf, replicated.Round(time.Millisecond), writable.Round(time.Millisecond))
}

// TestRestartedShardRejoinsWithSameData runs three file-backed shards with
// three copies of every partition and a proxy. It writes, crashes a shard,
// writes more, restarts the shard on its data dir under its ID and gossip
// port, and checks that once the map has three in-sync copies of every
// partition again, every copy holds exactly the records its master holds.
func TestRestartedShardRejoinsWithSameData(t *testing.T) {
	var snapshots atomic.Int64
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3, Dir: t.TempDir(),
		Shard: func(_ string, cfg *shard.Config) {
			cfg.Logger = slog.New(countingHandler{msg: "partition loaded from a snapshot", n: &snapshots})
		}})
	tc.RecordMaps()
	tc.WaitFull(30 * time.Second)
	_, rdb := tc.StartProxy()
	ctx := context.Background()

	// set writes until acknowledged (SET is idempotent; a write refused or
	// not acknowledged during the failover is sent again).
	written := map[string]string{}
	retried := 0
	set := func(k, v string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			err := rdb.Set(ctx, k, v, 0).Err()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("write %s: %v", k, err)
			}
			retried++
			time.Sleep(10 * time.Millisecond) // polling a condition
		}
		written[k] = v
	}
	const before, during = 300, 300
	for i := range before {
		set("before:"+strconv.Itoa(i), strconv.Itoa(i))
	}

	for _, d := range tc.SettledDiffs(10 * time.Second) {
		t.Errorf("before the crash: %s", d)
	}

	// Crash the shard (not the voter) that masters the most partitions,
	// with no write in flight, noting what it holds.
	counts := tc.State().Table().Counts()
	victim := "s2"
	if counts["s3"].Masters > counts["s2"].Masters {
		victim = "s3"
	}
	atCrash := make([]testcluster.Digest, testParts)
	for p := range atCrash {
		var err error
		if atCrash[p], err = testcluster.DigestOf(tc.Shard(victim).Server, p); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	tc.Crash(victim)

	duringIn := make([]int, testParts)
	for i := range during {
		k := "during:" + strconv.Itoa(i)
		set(k, strconv.Itoa(i))
		duringIn[ring.Partition([]byte(k), testParts)]++
	}
	tc.WaitState(10*time.Second, victim+" down in the map", func(st cluster.State) bool { return !st.Nodes[victim].Up })
	wrote := time.Since(killed)

	// The victim's data dir holds what it held when it crashed; it misses
	// the writes made since, and comparing digests tells (so the check
	// after the restart would catch a copy missing writes).
	offline, err := shard.New(tc.ShardConfig(victim))
	if err != nil {
		t.Fatal(err)
	}
	st := tc.State()
	for p := range testParts {
		d, err := testcluster.DigestOf(offline, p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := d.Diff(atCrash[p]); diff != "" {
			t.Errorf("partition %d in %s's data dir after the crash: %s", p, victim, diff)
		}
		m, err := testcluster.DigestOf(tc.Shard(st.Parts[p].Master).Server, p)
		if err != nil {
			t.Fatal(err)
		}
		if duringIn[p] > 0 && (d.Diff(m) == "" || d.Keys+duringIn[p] != m.Keys) {
			t.Errorf("partition %d: %s's copy misses %d writes, yet it has %d keys and the master %d (%s)",
				p, victim, duringIn[p], d.Keys, m.Keys, d.Diff(m))
		}
	}
	if err := offline.Close(); err != nil {
		t.Fatal(err)
	}

	restarted := time.Now()
	tc.Restart(victim)
	tc.WaitFull(20 * time.Second)
	rejoined := time.Since(restarted)

	// With no write in flight every copy reaches its master's seq; then
	// each must hold the master's records.
	diffs := tc.SettledDiffs(10 * time.Second)
	for _, d := range diffs {
		t.Error(d)
	}
	st = tc.State()
	keys := 0
	for p, ps := range st.Parts {
		d, err := testcluster.DigestOf(tc.Shard(ps.Master).Server, p)
		if err != nil {
			t.Fatal(err)
		}
		keys += d.Keys
	}
	if keys != len(written) {
		t.Errorf("the masters hold %d keys, %d were written", keys, len(written))
	}
	lost := readBack(ctx, rdb, written)
	for _, l := range lost[:min(len(lost), 20)] {
		t.Errorf("acknowledged write lost: %s (partition %d)", l, ring.Partition([]byte(l.key), testParts))
	}
	t.Logf("%d writes before and %d while %s was down (%v, %d sent again); it rejoined with every copy in sync %v after its restart; "+
		"%d copies of %d partitions compared, %d differ; snapshot loads %d; lost %d",
		before, during, victim, wrote.Round(time.Millisecond), retried, rejoined.Round(time.Millisecond),
		3*testParts, testParts, len(diffs), snapshots.Load(), len(lost))
}

// countingHandler is a log handler that counts the records at Info and
// above whose message is msg, and discards every record.
type countingHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}

func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h countingHandler) WithGroup(string) slog.Handler { return h }

// readFailure is a key that did not read back as written.
type readFailure struct {
	key, want, got string
	err            error
}

func (f readFailure) String() string {
	return fmt.Sprintf("%s=%s reads %q, %v", f.key, f.want, f.got, f.err)
}

// readBack reads every key of want through rdb, pipelined, and returns
// those whose value differs, in key order.
func readBack(ctx context.Context, rdb *redis.Client, want map[string]string) []readFailure {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var bad []readFailure
	for len(keys) > 0 {
		batch := keys[:min(200, len(keys))]
		keys = keys[len(batch):]
		pipe := rdb.Pipeline()
		gets := make([]*redis.StringCmd, len(batch))
		for i, k := range batch {
			gets[i] = pipe.Get(ctx, k)
		}
		_, _ = pipe.Exec(ctx)
		for i, k := range batch {
			if got, err := gets[i].Result(); err != nil || got != want[k] {
				bad = append(bad, readFailure{key: k, want: want[k], got: got, err: err})
			}
		}
	}
	return bad
}
