package tests

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/ring"
)

const (
	// rbKeysPerPartition is how many keys the load worker of a partition
	// owns in it.
	rbKeysPerPartition = 4
	// rbOpInterval paces each worker: one operation at most this often,
	// so a write pause of a partition shows to within about this much
	// and the load stays moderate on a small machine.
	rbOpInterval = 15 * time.Millisecond
	// rbOpTimeout bounds one load operation.
	rbOpTimeout = 5 * time.Second
)

// rbOp is one operation the load ran: when it started (since the load
// began), how long it took and whether it succeeded.
type rbOp struct {
	at, took time.Duration
	ok       bool
}

// rbKeyState is what a worker knows of one of its keys: the value of its
// last acknowledged SET and the values of the SETs since then whose
// outcome is unknown (any of them may have been applied).
type rbKeyState struct {
	acked   string
	hasAck  bool
	pending []string
}

// allows reports whether a read of v (nil: missing) is consistent with
// what was acknowledged.
func (s *rbKeyState) allows(v *string) bool {
	if v == nil {
		return !s.hasAck
	}
	return (s.hasAck && *v == s.acked) || slices.Contains(s.pending, *v)
}

func (s *rbKeyState) want() string {
	w := "(nil)"
	if s.hasAck {
		w = strconv.Quote(s.acked)
	}
	if len(s.pending) > 0 {
		w += fmt.Sprintf(" or one of %d unacknowledged values", len(s.pending))
	}
	return w
}

// rbWorker is the client of one partition in the load. It alone writes
// its keys and runs one operation at a time, so the last acknowledged SET
// of a key is the value every later read must see, and a pause of its
// partition cannot hide behind another's. Its records are read after it
// stopped.
type rbWorker struct {
	part  int
	rdb   *redis.Client
	keys  []string // in part
	begin time.Time
	okOps *atomic.Int64 // shared: successful operations so far

	state    map[string]*rbKeyState
	writes   []time.Duration // when acknowledged SETs returned
	ops      []rbOp
	errs     map[string]int    // by class (rbErrClass)
	samples  map[string]string // a message of each class, with its key and time
	badReads []string
}

// rbErrClass names an error by its Redis error code (the first word of
// the reply), or as "timeout" or "connection" for client-side failures.
func rbErrClass(err error) string {
	var re redis.Error
	var ne net.Error
	switch {
	case errors.As(err, &re):
		code, _, _ := strings.Cut(err.Error(), " ")
		return code
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return "connection"
	}
}

// run alternates SETs and GETs (two of three operations write) over the
// worker's keys, one operation per tick, until stop is closed.
func (w *rbWorker) run(stop <-chan struct{}) {
	tick := time.NewTicker(rbOpInterval)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		w.do(n, w.keys[(n/3)%len(w.keys)])
	}
}

func (w *rbWorker) do(n int, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), rbOpTimeout)
	defer cancel()
	st := w.state[key]
	if st == nil {
		st = &rbKeyState{}
		w.state[key] = st
	}
	start := time.Now()
	var err error
	if n%3 == 2 {
		var v string
		v, err = w.rdb.Get(ctx, key).Result()
		var got *string
		switch {
		case err == nil:
			got = &v
		case errors.Is(err, redis.Nil):
			err = nil
		}
		if err == nil && !st.allows(got) {
			w.badReads = append(w.badReads, fmt.Sprintf("GET %s at %v = %s, want %s", key,
				start.Sub(w.begin).Round(time.Millisecond), lcShow(got), st.want()))
		}
	} else {
		value := fmt.Sprintf("%d.%d", w.part, n)
		err = w.rdb.Set(ctx, key, value, 0).Err()
		if err == nil {
			st.acked, st.hasAck, st.pending = value, true, st.pending[:0]
			w.writes = append(w.writes, time.Since(w.begin))
		} else {
			st.pending = append(st.pending, value)
		}
	}
	w.ops = append(w.ops, rbOp{at: start.Sub(w.begin), took: time.Since(start), ok: err == nil})
	if err == nil {
		w.okOps.Add(1)
	} else {
		c := rbErrClass(err)
		w.errs[c]++
		if _, ok := w.samples[c]; !ok {
			w.samples[c] = fmt.Sprintf("%s at %v: %v", key, start.Sub(w.begin).Round(time.Millisecond), err)
		}
	}
}

// rbLoad is the client load of a rebalance test: a worker per partition,
// spread over the proxies, each owning rbKeysPerPartition keys.
type rbLoad struct {
	workers []*rbWorker
	begin   time.Time
	ended   time.Duration // when Stop returned, since begin
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// rbStartLoad starts a worker for every partition, partition p's on
// clients[p%len(clients)], counting successful operations in okOps. The
// test's cleanup stops them if the test does not.
func rbStartLoad(t *testing.T, clients []*redis.Client, partitions int, okOps *atomic.Int64) *rbLoad {
	l := &rbLoad{begin: time.Now(), stop: make(chan struct{})}
	keys := rbPartitionKeys("rb:", partitions, rbKeysPerPartition)
	for p := range partitions {
		w := &rbWorker{
			part: p, rdb: clients[p%len(clients)], keys: keys[p], begin: l.begin, okOps: okOps,
			state: map[string]*rbKeyState{}, errs: map[string]int{}, samples: map[string]string{},
		}
		l.workers = append(l.workers, w)
	}
	for _, w := range l.workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			w.run(l.stop)
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

// Stop stops the workers and waits for them.
func (l *rbLoad) Stop() {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.ended = time.Since(l.begin)
	})
}

// since is the time since the load began: the clock of every record.
func (l *rbLoad) since() time.Duration { return time.Since(l.begin) }

// rbPartitionKeys returns, by partition, n keys (prefix and a number)
// in each.
func rbPartitionKeys(prefix string, partitions, n int) [][]string {
	keys := make([][]string, partitions)
	left := partitions * n
	for i := 0; left > 0; i++ {
		k := prefix + strconv.Itoa(i)
		p := ring.Partition([]byte(k), partitions)
		if len(keys[p]) < n {
			keys[p] = append(keys[p], k)
			left--
		}
	}
	return keys
}

// rbErrors sums the workers' errors by class, with a sample of each.
func (l *rbLoad) errors() (map[string]int, map[string]string) {
	counts, samples := map[string]int{}, map[string]string{}
	for _, w := range l.workers {
		for c, n := range w.errs {
			counts[c] += n
			if _, ok := samples[c]; !ok {
				samples[c] = w.samples[c]
			}
		}
	}
	return counts, samples
}

// checkErrors logs every class of error the clients saw and fails the
// test for any class not in allowed.
func (l *rbLoad) checkErrors(t *testing.T, allowed ...string) {
	t.Helper()
	counts, samples := l.errors()
	ops := 0
	for _, w := range l.workers {
		ops += len(w.ops)
	}
	t.Logf("load: %d operations, errors by class: %v", ops, counts)
	for _, c := range slices.Sorted(maps.Keys(counts)) {
		if slices.Contains(allowed, c) {
			t.Logf("  %d × %s (retryable), e.g. %q", counts[c], c, samples[c])
		} else {
			t.Errorf("  %d × %s: not a retryable error, e.g. %q", counts[c], c, samples[c])
		}
	}
}

// checkReads fails the test for every read during the load that did not
// see the last acknowledged write.
func (l *rbLoad) checkReads(t *testing.T) {
	t.Helper()
	var bad []string
	for _, w := range l.workers {
		bad = append(bad, w.badReads...)
	}
	for _, b := range bad[:min(len(bad), 10)] {
		t.Errorf("stale or lost read during the load: %s", b)
	}
	if len(bad) > 0 {
		t.Errorf("%d reads during the load did not see the last acknowledged write", len(bad))
	}
}

// checkFinal reads every key of the load back through rdb and fails the
// test for each that lost its last acknowledged write. It returns the
// number of keys read.
func (l *rbLoad) checkFinal(ctx context.Context, t *testing.T, what string, rdb *redis.Client) int {
	t.Helper()
	var keys []string
	var states []*rbKeyState
	for _, w := range l.workers {
		for _, k := range slices.Sorted(maps.Keys(w.state)) {
			keys = append(keys, k)
			states = append(states, w.state[k])
		}
	}
	vals, err := chaosReadBack(ctx, t, rdb, keys)
	if err != nil {
		t.Fatalf("%s: reading back %d keys: %v", what, len(keys), err)
	}
	lost, acked := 0, 0
	for i, v := range vals {
		if states[i].hasAck {
			acked++
		}
		if !states[i].allows(v) {
			lost++
			if lost <= 10 {
				t.Errorf("%s: GET %s = %s, want %s", what, keys[i], lcShow(v), states[i].want())
			}
		}
	}
	t.Logf("%s: %d keys read back (%d with an acknowledged write), %d lost their last acknowledged write", what, len(keys), acked, lost)
	if lost > 0 {
		t.Errorf("%s: %d of %d acknowledged writes lost", what, lost, acked)
	}
	return len(keys)
}

// rbPause is the longest stretch without an acknowledged write on one
// partition while the load ran.
type rbPause struct {
	part     int
	from, to time.Duration
}

// longestPauses returns the worst pause of every partition, the longest
// first. A partition's pause runs from one acknowledged write to the next
// (or to the end of the load).
func (l *rbLoad) longestPauses() []rbPause {
	var out []rbPause
	for _, w := range l.workers {
		at := w.writes
		worst := rbPause{part: w.part, to: l.ended}
		if len(at) > 0 {
			worst.to = at[0]
		}
		for i := 1; i <= len(at); i++ {
			to := l.ended
			if i < len(at) {
				to = at[i]
			}
			if to-at[i-1] > worst.to-worst.from {
				worst.from, worst.to = at[i-1], to
			}
		}
		out = append(out, worst)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].to-out[i].from > out[j].to-out[j].from })
	return out
}

// p99 returns the 99th percentile latency of the successful operations
// that started in [from, to), and how many there were.
func (l *rbLoad) p99(from, to time.Duration) (time.Duration, int) {
	var d []time.Duration
	for _, w := range l.workers {
		for _, op := range w.ops {
			if op.ok && op.at >= from && op.at < to {
				d = append(d, op.took)
			}
		}
	}
	slices.Sort(d)
	return chaosPercentile(d, 0.99), len(d)
}
