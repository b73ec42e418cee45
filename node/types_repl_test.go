package node_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
)

// TestTypesReplicate runs a seeded random mix of writes on every data type
// through a proxy of an RF 3 cluster, then checks that every follower holds
// its master's records byte for byte. Replication ships effects (store-level
// puts and deletes), never commands, so every type must replicate with no
// code of its own: this test is what shows it does, for the commands that
// touch many storage keys at once (conversions past the encoding
// thresholds, LINSERT renumbering a list, the …STORE commands), for the
// non-deterministic ones (SPOP, HINCRBYFLOAT, expiry), and for the
// background sweep of deleted collections, whose deletions replicate as
// effects of their own: the copies are compared once the sweep is done,
// when the masters hold exactly the storage keys the live data needs (a
// record per key plus one per element, two per sorted-set member).
//
// Each worker owns the keys of one hash tag, so every multi-key command
// (RENAME, COPY, SMOVE, SINTERSTORE, ZUNIONSTORE) is within one partition,
// and the commands on a worker's keys run in order: the replies of the
// deterministic ones on its model keys are checked against a model kept
// here, and so are the model keys' final contents.
func TestTypesReplicate(t *testing.T) {
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3})
	tc.WaitFull(30 * time.Second)
	_, rdb := tc.StartProxy()
	ctx := context.Background()

	// The mix is seeded; SHARDIS_TYPES_SEED replays a failed run's (the
	// commands of each worker, not their interleaving across workers).
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SHARDIS_TYPES_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SHARDIS_TYPES_SEED=%q: want an unsigned integer", s)
		}
	}
	t.Logf("seed %d (SHARDIS_TYPES_SEED=%d repeats the mix)", seed, seed)
	workers := make([]*typesWorker, typesWorkers)
	var wg sync.WaitGroup
	for i := range workers {
		w := newTypesWorker(t, rdb, i, rand.New(rand.NewPCG(seed, uint64(i))))
		workers[i] = w
		wg.Go(func() { w.run(ctx, typesOpsPerWorker) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Big collections of every type deleted at the end, by DEL, UNLINK and
	// expiry, so the copies are compared only after sweeps of several
	// batches each.
	for _, w := range workers {
		w.deleteBig(ctx)
	}

	var universe []string
	commands, errReplies := 0, map[string]int{}
	for _, w := range workers {
		universe = append(universe, w.universe()...)
		commands += w.commands
		for k, n := range w.errReplies {
			errReplies[k] += n
		}
	}
	waitCopiesAgree(t, tc, rdb, universe, 30*time.Second)
	for _, w := range workers {
		w.checkModel(ctx)
	}
	t.Logf("%d commands by %d workers; error replies (expected: wrong types, missing keys, …): %v", commands, len(workers), errReplies)
}

// Size of the mix: a few thousand commands in all.
const (
	typesWorkers       = 4
	typesOpsPerWorker  = 700
	typesKeysPerKind   = 4
	typesMembers       = 1000 // members, fields and values are drawn from this many
	typesBigMin        = 620  // a "grow" adds typesBigMin..typesBigMax elements in one command,
	typesBigMax        = 720  // past every listpack/intset threshold
	typesMaxErrReports = 20
)

// typesKinds are the kinds of the random keys, by the type their
// commands mostly expect.
var typesKinds = []string{"str", "hash", "list", "set", "zset"}

// typesAllowedErrors are the error replies the random mix may get: a
// command on a key of another type, a RENAME of a missing key, an LSET
// out of range, an INCR of a non-number, … Anything else (a NOTACKED, a
// NOREPLICAS, a CROSSSLOT, an internal error) fails the test.
var typesAllowedErrors = []string{
	"WRONGTYPE ",
	"ERR no such key",
	"ERR index out of range",
	"ERR value is not an integer",
	"ERR hash value is not an integer",
	"ERR hash value is not a float",
	"ERR value is not a valid float",
	"ERR increment or decrement would overflow",
	"ERR string exceeds maximum allowed size",
	"ERR source and destination objects are the same",
	"INVALIDOBJ ",
}

// typesWorker runs the mix on the keys of its own hash tag.
type typesWorker struct {
	t   *testing.T
	rdb *redis.Client
	rng *rand.Rand
	tag string

	commands   int
	errReplies map[string]int
	reported   int

	// The model of the model keys (mKey): the deterministic commands on
	// them are checked reply by reply.
	list  []string
	hash  map[string]string
	set   map[string]bool
	zset  map[string]int64
	str   string
	ctr   int64
	bigID int
}

func newTypesWorker(t *testing.T, rdb *redis.Client, id int, rng *rand.Rand) *typesWorker {
	return &typesWorker{t: t, rdb: rdb, rng: rng, tag: "{tw" + strconv.Itoa(id) + "}",
		errReplies: map[string]int{}, hash: map[string]string{}, set: map[string]bool{}, zset: map[string]int64{}}
}

// key returns random key i of a kind.
func (w *typesWorker) key(kind string, i int) string {
	return w.tag + ":" + kind + ":" + strconv.Itoa(i)
}

// mKey returns the model key of a kind.
func (w *typesWorker) mKey(kind string) string { return w.tag + ":m:" + kind }

// anyKey returns a random key of the worker: mostly of kind, sometimes of
// another, so that WRONGTYPE paths and type changes by RENAME and COPY run.
func (w *typesWorker) anyKey(kind string) string {
	if w.rng.IntN(8) == 0 {
		kind = typesKinds[w.rng.IntN(len(typesKinds))]
	}
	return w.key(kind, w.rng.IntN(typesKeysPerKind))
}

// universe returns every key the worker may have written.
func (w *typesWorker) universe() []string {
	var keys []string
	for _, kind := range typesKinds {
		for i := range typesKeysPerKind {
			keys = append(keys, w.key(kind, i))
		}
		keys = append(keys, w.mKey(kind))
	}
	keys = append(keys, w.mKey("ctr"))
	for i := range w.bigID {
		keys = append(keys, w.tag+":big:"+strconv.Itoa(i))
	}
	return keys
}

func (w *typesWorker) member() string { return "m" + strconv.Itoa(w.rng.IntN(typesMembers)) }

// do sends one command and sorts its outcome: an allowed error reply is
// counted and returned; any other failure is reported. ok reports a
// successful reply (redis.Nil included).
func (w *typesWorker) do(ctx context.Context, args ...any) (*redis.Cmd, bool) {
	w.commands++
	cmd := w.rdb.Do(ctx, args...)
	err := cmd.Err()
	if err == nil || errors.Is(err, redis.Nil) {
		return cmd, true
	}
	var re redis.Error
	if errors.As(err, &re) {
		for _, prefix := range typesAllowedErrors {
			if strings.HasPrefix(err.Error(), prefix) {
				w.errReplies[strings.Fields(err.Error())[0]+" "+strings.ToUpper(fmt.Sprint(args[0]))]++
				return cmd, false
			}
		}
	}
	w.report("%v: %v", args, err)
	return cmd, false
}

// report fails the test, at most typesMaxErrReports times per worker.
func (w *typesWorker) report(format string, args ...any) {
	w.reported++
	if w.reported <= typesMaxErrReports {
		w.t.Errorf(w.tag+": "+format, args...)
	}
}

// members returns n random members (or integers, for intset sets).
func (w *typesWorker) members(n int, ints bool) []any {
	out := make([]any, n)
	for i := range out {
		if ints {
			out[i] = w.rng.IntN(4 * typesMembers)
		} else {
			out[i] = w.member()
		}
	}
	return out
}

// grow adds typesBigMin..typesBigMax elements to a collection in one
// command, converting its encoding.
func (w *typesWorker) grow(ctx context.Context, kind, key string) {
	n := typesBigMin + w.rng.IntN(typesBigMax-typesBigMin+1)
	args := []any{}
	switch kind {
	case "hash":
		args = append(args, "hset", key)
		for i := range n {
			args = append(args, "f"+strconv.Itoa(i), w.member())
		}
	case "list":
		args = append(append(args, "rpush", key), w.members(n, false)...)
	case "set":
		args = append(append(args, "sadd", key), w.members(n, w.rng.IntN(2) == 0)...)
	case "zset":
		args = append(args, "zadd", key)
		for i := range n {
			args = append(args, w.rng.IntN(1000), "z"+strconv.Itoa(i))
		}
	default:
		return
	}
	w.do(ctx, args...)
}

// run sends n random commands, about one in five on the model keys.
func (w *typesWorker) run(ctx context.Context, n int) {
	for range n {
		if w.rng.IntN(5) == 0 {
			w.modelOp(ctx)
		} else {
			w.randomOp(ctx)
		}
	}
}

// randomOp sends one command of the mix on the random keys; only its
// error class is checked.
func (w *typesWorker) randomOp(ctx context.Context) {
	r, m := w.rng, w.member()
	switch r.IntN(44) {
	case 0:
		args := []any{"set", w.anyKey("str"), m}
		if r.IntN(3) == 0 {
			args = append(args, "ex", 100+r.IntN(900))
		}
		w.do(ctx, args...)
	case 1:
		w.do(ctx, "append", w.anyKey("str"), m)
	case 2:
		w.do(ctx, "incr", w.anyKey("str"))
	case 3:
		w.do(ctx, "setbit", w.anyKey("str"), r.IntN(4000), r.IntN(2))
	case 4:
		w.do(ctx, append([]any{"pfadd", w.anyKey("str")}, w.members(1+r.IntN(20), false)...)...)
	case 5, 6:
		w.do(ctx, "hset", w.anyKey("hash"), "f"+strconv.Itoa(r.IntN(800)), m, "g"+strconv.Itoa(r.IntN(50)), m)
	case 7:
		w.do(ctx, "hdel", w.anyKey("hash"), "f"+strconv.Itoa(r.IntN(800)), "f"+strconv.Itoa(r.IntN(800)))
	case 8:
		w.do(ctx, "hincrby", w.anyKey("hash"), "n"+strconv.Itoa(r.IntN(10)), r.IntN(100)-50)
	case 9:
		w.do(ctx, "hincrbyfloat", w.anyKey("hash"), "x"+strconv.Itoa(r.IntN(10)), fmt.Sprintf("%.3f", r.Float64()*10-5))
	case 10:
		w.do(ctx, append([]any{"lpush", w.anyKey("list")}, w.members(1+r.IntN(5), false)...)...)
	case 11:
		w.do(ctx, append([]any{"rpush", w.anyKey("list")}, w.members(1+r.IntN(5), false)...)...)
	case 12:
		w.do(ctx, "lpop", w.anyKey("list"), 1+r.IntN(3))
	case 13:
		w.do(ctx, "rpop", w.anyKey("list"))
	case 14:
		w.do(ctx, "linsert", w.anyKey("list"), []string{"before", "after"}[r.IntN(2)], w.member(), m)
	case 15:
		w.do(ctx, "lrem", w.anyKey("list"), r.IntN(5)-2, m)
	case 16:
		w.do(ctx, "lset", w.anyKey("list"), r.IntN(40)-20, m)
	case 17:
		w.do(ctx, "ltrim", w.anyKey("list"), r.IntN(10), 50+r.IntN(800))
	case 18, 19:
		w.do(ctx, append([]any{"sadd", w.anyKey("set")}, w.members(1+r.IntN(5), r.IntN(2) == 0)...)...)
	case 20:
		w.do(ctx, "srem", w.anyKey("set"), m, strconv.Itoa(r.IntN(4*typesMembers)))
	case 21:
		w.do(ctx, "spop", w.anyKey("set"), 1+r.IntN(3))
	case 22:
		w.do(ctx, "smove", w.anyKey("set"), w.anyKey("set"), m)
	case 23:
		w.do(ctx, "sinterstore", w.anyKey("set"), w.anyKey("set"), w.anyKey("set"))
	case 24, 25:
		w.do(ctx, "zadd", w.anyKey("zset"), r.IntN(1000), m, fmt.Sprintf("%.2f", r.Float64()*100), w.member())
	case 26:
		w.do(ctx, "zincrby", w.anyKey("zset"), r.IntN(20)-10, m)
	case 27:
		w.do(ctx, "zrem", w.anyKey("zset"), m, "z"+strconv.Itoa(r.IntN(700)))
	case 28:
		w.do(ctx, "zpopmin", w.anyKey("zset"), 1+r.IntN(3))
	case 29:
		lo := r.IntN(1000)
		w.do(ctx, "zremrangebyscore", w.anyKey("zset"), lo, lo+r.IntN(30))
	case 30:
		w.do(ctx, "zunionstore", w.anyKey("zset"), 2, w.anyKey("zset"), w.anyKey("zset"))
	case 31:
		w.do(ctx, "expire", w.anyKey(typesKinds[r.IntN(len(typesKinds))]), 100+r.IntN(900))
	case 32:
		// Short enough to expire during the run: the reaper deletes the
		// key (leaving a tombstone for a collection) as an effect.
		w.do(ctx, "pexpire", w.anyKey(typesKinds[r.IntN(len(typesKinds))]), 50+r.IntN(400))
	case 33:
		w.do(ctx, "persist", w.anyKey(typesKinds[r.IntN(len(typesKinds))]))
	case 34:
		w.do(ctx, "del", w.anyKey(typesKinds[r.IntN(len(typesKinds))]))
	case 35:
		w.do(ctx, "unlink", w.anyKey(typesKinds[r.IntN(len(typesKinds))]), w.anyKey(typesKinds[r.IntN(len(typesKinds))]))
	case 36:
		kind := typesKinds[r.IntN(len(typesKinds))]
		w.do(ctx, "rename", w.anyKey(kind), w.anyKey(kind))
	case 37:
		kind := typesKinds[r.IntN(len(typesKinds))]
		args := []any{"copy", w.anyKey(kind), w.anyKey(kind)}
		if r.IntN(2) == 0 {
			args = append(args, "replace")
		}
		w.do(ctx, args...)
	default: // 38..43: grow a collection past its thresholds
		kind := typesKinds[1+r.IntN(len(typesKinds)-1)]
		if r.IntN(3) == 0 { // not too many: each is hundreds of storage keys
			w.grow(ctx, kind, w.anyKey(kind))
		}
	}
}

// deleteBig creates a big collection of every type and deletes it again:
// by DEL, UNLINK or a short expiry, in turn.
func (w *typesWorker) deleteBig(ctx context.Context) {
	for i, kind := range typesKinds[1:] {
		key := w.tag + ":big:" + strconv.Itoa(w.bigID)
		w.bigID++
		w.grow(ctx, kind, key)
		switch (i + w.bigID) % 3 {
		case 0:
			w.do(ctx, "del", key)
		case 1:
			w.do(ctx, "unlink", key)
		default:
			w.do(ctx, "pexpire", key, 20)
		}
	}
}

// modelOp sends one deterministic command on a model key and checks its
// reply against the model, which it updates.
func (w *typesWorker) modelOp(ctx context.Context) {
	r, m := w.rng, w.member()
	check := func(cmd *redis.Cmd, ok bool, want any) {
		if !ok {
			w.report("model command %v failed: %v", cmd.Args(), cmd.Err())
			return
		}
		got, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			got = nil
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			w.report("%v = %v, the model says %v", cmd.Args(), got, want)
		}
	}
	lk, hk, sk, zk := w.mKey("list"), w.mKey("hash"), w.mKey("set"), w.mKey("zset")
	switch r.IntN(24) {
	case 0:
		w.list = append(w.list, m)
		c, ok := w.do(ctx, "rpush", lk, m)
		check(c, ok, len(w.list))
	case 1:
		w.list = append([]string{m}, w.list...)
		c, ok := w.do(ctx, "lpush", lk, m)
		check(c, ok, len(w.list))
	case 2:
		var want any
		if len(w.list) > 0 {
			want, w.list = w.list[0], w.list[1:]
		}
		c, ok := w.do(ctx, "lpop", lk)
		check(c, ok, want)
	case 3:
		var want any
		if n := len(w.list); n > 0 {
			want, w.list = w.list[n-1], w.list[:n-1]
		}
		c, ok := w.do(ctx, "rpop", lk)
		check(c, ok, want)
	case 4:
		if n := len(w.list); n > 0 {
			i := r.IntN(2*n) - n
			w.list[(i+n)%n] = m
			c, ok := w.do(ctx, "lset", lk, i, m)
			check(c, ok, "OK")
		}
	case 5:
		// LINSERT before the first occurrence of a value the list holds
		// (or not: -1, or 0 for a missing key).
		pivot := m
		if len(w.list) > 0 && r.IntN(2) == 0 {
			pivot = w.list[r.IntN(len(w.list))]
		}
		var want int
		switch i := slices.Index(w.list, pivot); {
		case len(w.list) == 0:
			want = 0
		case i < 0:
			want = -1
		default:
			w.list = slices.Insert(w.list, i, "ins"+m)
			want = len(w.list)
		}
		c, ok := w.do(ctx, "linsert", lk, "before", pivot, "ins"+m)
		check(c, ok, want)
	case 6:
		v := m
		if len(w.list) > 0 {
			v = w.list[r.IntN(len(w.list))]
		}
		count := r.IntN(5) - 2
		removed := 0
		keep := func(i int) bool {
			if w.list[i] != v || (count != 0 && removed == max(count, -count)) {
				return true
			}
			removed++
			return false
		}
		var out []string
		if count >= 0 {
			for i := range w.list {
				if keep(i) {
					out = append(out, w.list[i])
				}
			}
		} else {
			for i := len(w.list) - 1; i >= 0; i-- {
				if keep(i) {
					out = append(out, w.list[i])
				}
			}
			slices.Reverse(out)
		}
		w.list = out
		c, ok := w.do(ctx, "lrem", lk, count, v)
		check(c, ok, removed)
	case 7:
		start, stop := r.IntN(3), 100+r.IntN(700)
		if start >= len(w.list) {
			w.list = nil
		} else {
			w.list = w.list[start:min(stop+1, len(w.list))]
		}
		c, ok := w.do(ctx, "ltrim", lk, start, stop)
		check(c, ok, "OK")
	case 8:
		n := typesBigMin + r.IntN(typesBigMax-typesBigMin+1)
		args := []any{"rpush", lk}
		for i := range n {
			v := "b" + strconv.Itoa(i)
			args = append(args, v)
			w.list = append(w.list, v)
		}
		c, ok := w.do(ctx, args...)
		check(c, ok, len(w.list))
	case 9, 10:
		f := "f" + strconv.Itoa(r.IntN(800))
		_, old := w.hash[f]
		w.hash[f] = m
		c, ok := w.do(ctx, "hset", hk, f, m)
		check(c, ok, map[bool]int{false: 1, true: 0}[old])
	case 11:
		f := "f" + strconv.Itoa(r.IntN(800))
		_, old := w.hash[f]
		delete(w.hash, f)
		c, ok := w.do(ctx, "hdel", hk, f)
		check(c, ok, map[bool]int{false: 0, true: 1}[old])
	case 12:
		f, d := "n"+strconv.Itoa(r.IntN(5)), int64(r.IntN(100)-50)
		v, _ := strconv.ParseInt(w.hash[f], 10, 64)
		w.hash[f] = strconv.FormatInt(v+d, 10)
		c, ok := w.do(ctx, "hincrby", hk, f, d)
		check(c, ok, v+d)
	case 13:
		args := []any{"hset", hk}
		added := 0
		for range typesBigMin + r.IntN(typesBigMax-typesBigMin+1) {
			f := "f" + strconv.Itoa(r.IntN(4*typesMembers))
			if _, old := w.hash[f]; !old && !slices.Contains(args, any(f)) {
				added++
			}
			args = append(args, f, m)
		}
		for i := 2; i < len(args); i += 2 {
			w.hash[args[i].(string)] = m
		}
		c, ok := w.do(ctx, args...)
		check(c, ok, added)
	case 14, 15:
		old := w.set[m]
		w.set[m] = true
		c, ok := w.do(ctx, "sadd", sk, m)
		check(c, ok, map[bool]int{false: 1, true: 0}[old])
	case 16:
		old := w.set[m]
		delete(w.set, m)
		c, ok := w.do(ctx, "srem", sk, m)
		check(c, ok, map[bool]int{false: 0, true: 1}[old])
	case 17:
		c, ok := w.do(ctx, "sismember", sk, m)
		check(c, ok, map[bool]int{false: 0, true: 1}[w.set[m]])
	case 18, 19:
		_, old := w.zset[m]
		score := int64(r.IntN(1000))
		w.zset[m] = score
		c, ok := w.do(ctx, "zadd", zk, score, m)
		check(c, ok, map[bool]int{false: 1, true: 0}[old])
	case 20:
		d := int64(r.IntN(20) - 10)
		w.zset[m] += d
		c, ok := w.do(ctx, "zincrby", zk, d, m)
		check(c, ok, strconv.FormatInt(w.zset[m], 10))
	case 21:
		_, old := w.zset[m]
		delete(w.zset, m)
		c, ok := w.do(ctx, "zrem", zk, m)
		check(c, ok, map[bool]int{false: 0, true: 1}[old])
	case 22:
		w.str += m
		c, ok := w.do(ctx, "append", w.mKey("str"), m)
		check(c, ok, len(w.str))
	case 23:
		w.ctr++
		c, ok := w.do(ctx, "incr", w.mKey("ctr"))
		check(c, ok, w.ctr)
	}
	// Now and then a model collection is deleted whole (a tombstone once
	// it has elements) or grown past its thresholds.
	switch r.IntN(60) {
	case 0:
		w.list, w.hash, w.set, w.zset = nil, map[string]string{}, map[string]bool{}, map[string]int64{}
		if c, ok := w.do(ctx, "del", lk, hk, sk, zk); !ok {
			w.report("DEL of the model keys failed: %v", c.Err())
		}
	case 1:
		args := []any{"sadd", sk}
		for range typesBigMin + r.IntN(typesBigMax-typesBigMin+1) {
			v := strconv.Itoa(r.IntN(4 * typesMembers))
			w.set[v] = true
			args = append(args, v)
		}
		if _, ok := w.do(ctx, args...); !ok {
			w.report("big SADD on the model set failed")
		}
	case 2:
		args := []any{"zadd", zk}
		for i := range typesBigMin + r.IntN(typesBigMax-typesBigMin+1) {
			v, s := "z"+strconv.Itoa(i), int64(r.IntN(1000))
			w.zset[v] = s
			args = append(args, s, v)
		}
		if _, ok := w.do(ctx, args...); !ok {
			w.report("big ZADD on the model zset failed")
		}
	}
}

// checkModel reads the model keys whole through the proxy and compares
// them with the model.
func (w *typesWorker) checkModel(ctx context.Context) {
	t := w.t
	if got, err := w.rdb.LRange(ctx, w.mKey("list"), 0, -1).Result(); err != nil || !slices.Equal(got, w.list) {
		t.Errorf("%s: LRANGE = %d elements, %v; the model has %d (first difference at %d)", w.mKey("list"), len(got), err, len(w.list), firstDiff(got, w.list))
	}
	if got, err := w.rdb.HGetAll(ctx, w.mKey("hash")).Result(); err != nil || fmt.Sprint(got) != fmt.Sprint(w.hash) {
		t.Errorf("%s: HGETALL = %d fields, %v; the model has %d", w.mKey("hash"), len(got), err, len(w.hash))
	}
	got, err := w.rdb.SMembers(ctx, w.mKey("set")).Result()
	slices.Sort(got)
	want := make([]string, 0, len(w.set))
	for m := range w.set {
		want = append(want, m)
	}
	slices.Sort(want)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s: SMEMBERS = %d members, %v; the model has %d", w.mKey("set"), len(got), err, len(want))
	}
	type zm struct {
		m string
		s int64
	}
	var zwant []zm
	for m, s := range w.zset {
		zwant = append(zwant, zm{m, s})
	}
	slices.SortFunc(zwant, func(a, b zm) int {
		if a.s != b.s {
			return int(a.s - b.s)
		}
		return strings.Compare(a.m, b.m)
	})
	zgot, err := w.rdb.ZRangeWithScores(ctx, w.mKey("zset"), 0, -1).Result()
	if err != nil || len(zgot) != len(zwant) {
		t.Errorf("%s: ZRANGE = %d members, %v; the model has %d", w.mKey("zset"), len(zgot), err, len(zwant))
	} else {
		for i, z := range zgot {
			if z.Member != zwant[i].m || z.Score != float64(zwant[i].s) {
				t.Errorf("%s: ZRANGE member %d is %v %v; the model says %v %v", w.mKey("zset"), i, z.Member, z.Score, zwant[i].m, zwant[i].s)
				break
			}
		}
	}
	if got, err := w.rdb.Get(ctx, w.mKey("str")).Result(); w.str != "" && (err != nil || got != w.str) {
		t.Errorf("%s: GET = %d bytes, %v; the model has %d", w.mKey("str"), len(got), err, len(w.str))
	}
	if got, err := w.rdb.Get(ctx, w.mKey("ctr")).Int64(); w.ctr != 0 && (err != nil || got != w.ctr) {
		t.Errorf("%s: GET = %d, %v; the model has %d", w.mKey("ctr"), got, err, w.ctr)
	}
}

// firstDiff returns the first index where a and b differ.
func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// liveStorageKeys counts, through the proxy, the storage keys the live
// data of keys needs: a key record per key, plus one per element (two per
// sorted-set member: by member and by score). Once every deleted
// collection is swept, the masters hold exactly this many.
func liveStorageKeys(ctx context.Context, rdb *redis.Client, keys []string) (int, error) {
	pipe := rdb.Pipeline()
	types := make([]*redis.StatusCmd, len(keys))
	for i, k := range keys {
		types[i] = pipe.Type(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	pipe = rdb.Pipeline()
	type card struct {
		cmd *redis.IntCmd
		per int
	}
	var cards []card
	total := 0
	for i, k := range keys {
		switch types[i].Val() {
		case "string":
			total++
		case "hash":
			cards = append(cards, card{pipe.HLen(ctx, k), 1})
		case "list":
			cards = append(cards, card{pipe.LLen(ctx, k), 1})
		case "set":
			cards = append(cards, card{pipe.SCard(ctx, k), 1})
		case "zset":
			cards = append(cards, card{pipe.ZCard(ctx, k), 2})
		case "none":
		default:
			return 0, fmt.Errorf("TYPE %s = %q", k, types[i].Val())
		}
	}
	if len(cards) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	for _, c := range cards {
		if n := int(c.cmd.Val()); n > 0 { // the key may have expired since TYPE
			total += 1 + c.per*n
		}
	}
	return total, nil
}

// waitCopiesAgree waits at most d, with no write in flight, until every
// in-sync follower of every partition is at its master's seq with the
// master's digest, and the masters hold exactly the storage keys the live
// data of keys needs (so every sweep and every expiry is done and
// replicated). It fails the test with the last differences otherwise.
func waitCopiesAgree(t *testing.T, tc *testcluster.Replicated, rdb *redis.Client, keys []string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	deadline := start.Add(d)
	for polls := 1; ; polls++ {
		var diffs []string
		total := 0
		st := tc.State()
		for p, ps := range st.Parts {
			want, err := testcluster.DigestOf(tc.Shard(ps.Master).Server, p)
			if err != nil {
				t.Fatal(err)
			}
			total += want.Keys
			if len(ps.InSync) != 3 {
				diffs = append(diffs, fmt.Sprintf("partition %d: in sync %v", p, ps.InSync))
			}
			for _, id := range ps.InSync {
				if id == ps.Master {
					continue
				}
				got, err := testcluster.DigestOf(tc.Shard(id).Server, p)
				if err != nil {
					t.Fatal(err)
				}
				if diff := got.Diff(want); diff != "" {
					diffs = append(diffs, fmt.Sprintf("partition %d: %s's copy has %s (master %s)", p, id, diff, ps.Master))
				}
			}
		}
		live, err := liveStorageKeys(ctx, rdb, keys)
		var netErr net.Error
		if err != nil && !errors.As(err, &netErr) {
			t.Fatalf("counting the live storage keys: %v", err)
		}
		if err == nil && len(diffs) == 0 && total == live {
			t.Logf("every copy of every partition agrees, %d storage keys on the masters (%v, %d polls)",
				total, time.Since(start).Round(time.Millisecond), polls)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the copies still differ or the sweep is not done: masters hold %d storage keys, the live data needs %d (%v); %d differences:\n%s",
				d, total, live, err, len(diffs), strings.Join(diffs, "\n"))
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}
