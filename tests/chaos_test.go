package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/ring"
)

const (
	// chaosShards and chaosProxies are the size of the chaos cluster.
	chaosShards  = 5
	chaosProxies = 2
	// chaosWorkers is how many clients run the workload at once.
	chaosWorkers = 8
	// chaosRegistersPerShard register keys are placed on each shard, so a
	// kill always hits some.
	chaosRegistersPerShard = 2
	// chaosCounters is how many INCR counters the workload shares.
	chaosCounters = 4
	// chaosElemTags is how many hash tags each worker's collections use:
	// under each, one collection of every type (chaosElemTypes).
	chaosElemTags = 2
	// chaosOpTimeout bounds one client operation; an operation that takes
	// longer counts as timed out (outcome unknown).
	chaosOpTimeout = 1500 * time.Millisecond
	// chaosDefaultDuration keeps `go test ./...` quick; `make chaos` sets
	// SHARDIS_CHAOS_DURATION to a minute or more.
	chaosDefaultDuration = 20 * time.Second
	// chaosSettleTimeout bounds every wait after the chaos: shards back,
	// proxies reaching them, read-backs.
	chaosSettleTimeout = 30 * time.Second
	// chaosCheckTimeout bounds the linearizability search.
	chaosCheckTimeout = 30 * time.Second
	// chaosFailurePause paces a worker after a failed operation, so a dead
	// shard does not turn the workload into a busy loop of errors.
	chaosFailurePause = 20 * time.Millisecond
	// chaosDrainRate is the snapshot rate per shard during the
	// decommission, low enough for the drain of the workload's data (a
	// few MB after a minute) to take seconds.
	chaosDrainRate = "256k"
)

// chaosKind is a kind of workload operation.
type chaosKind int

const (
	chaosWrite  chaosKind = iota // SET of a unique key
	chaosIncr                    // INCR of a shared counter
	chaosRegSet                  // SET of a register key
	chaosRegGet                  // GET of a register key
	chaosElem                    // SADD, RPUSH, HSET or ZADD of a unique element
	chaosKinds
)

func (k chaosKind) String() string {
	return [...]string{"unique SET", "INCR", "register SET", "register GET", "collection add"}[k]
}

// chaosElemTypes are the collection types whose elements the workload
// adds, one element per operation.
var chaosElemTypes = [...]string{"set", "list", "hash", "zset"}

// chaosElemKey is one collection of the workload.
type chaosElemKey struct{ key, typ string }

// chaosElemKeys returns worker id's collections: one of every type under
// each of its chaosElemTags hash tags, so each tag's collections share a
// partition.
func chaosElemKeys(id int) []chaosElemKey {
	var keys []chaosElemKey
	for i := range chaosElemTags {
		for _, typ := range chaosElemTypes {
			keys = append(keys, chaosElemKey{key: fmt.Sprintf("chaos:{e%d.%d}:%s", id, i, typ), typ: typ})
		}
	}
	return keys
}

// chaosOutcome is how one operation ended.
type chaosOutcome int

const (
	chaosOK       chaosOutcome = iota
	chaosErrReply              // the server answered with an error
	chaosTimedOut              // no answer within chaosOpTimeout
	chaosConnErr               // the connection failed (refused, reset, closed)
	chaosOutcomes
)

// chaosClassify sorts an operation's error into an outcome. redis.Nil (a
// missing key) is a successful read, not an error.
func chaosClassify(err error) chaosOutcome {
	var re redis.Error
	var ne net.Error
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		return chaosOK
	case errors.As(err, &re):
		return chaosErrReply
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return chaosTimedOut
	default:
		return chaosConnErr
	}
}

// chaosAck is an acknowledged write: its partition and when the reply came
// (on the history's clock).
type chaosAck struct {
	part int
	at   int64
}

// chaosWorker is one client of the workload. Each worker owns its records;
// they are merged after every worker stopped.
type chaosWorker struct {
	id        int
	rdb       *redis.Client
	rng       *rand.Rand
	hist      *chaosHistory
	registers []string
	lastAck   []atomic.Int64 // by partition, shared: the latest acknowledged write

	acked     map[string]string // unique writes acknowledged
	ambiguous map[string]string // unique writes not acknowledged
	// elemAcked and elemAmbiguous are the collection elements added, by
	// chaosElemID, with the value they must read back with (see
	// chaosCheckElems).
	elemAcked, elemAmbiguous map[string]string
	elemKeys                 []chaosElemKey
	acks                     []chaosAck
	counters                 [chaosCounters]chaosCounter
	outcomes                 [chaosKinds][chaosOutcomes]int
	firstErr                 [chaosKinds][chaosOutcomes]string
}

func chaosCounterKey(i int) string { return "chaos:c:" + strconv.Itoa(i) }

// run issues random operations until stop is closed.
func (w *chaosWorker) run(stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		var kind chaosKind
		switch r := w.rng.IntN(100); {
		case r < 35:
			kind = chaosWrite
		case r < 48:
			kind = chaosElem
		case r < 60:
			kind = chaosIncr
		case r < 80:
			kind = chaosRegSet
		default:
			kind = chaosRegGet
		}
		if err := w.do(kind, n); chaosClassify(err) != chaosOK {
			select {
			case <-stop:
				return
			case <-time.After(chaosFailurePause):
			}
		}
	}
}

// do runs one operation of the kind and records its outcome.
func (w *chaosWorker) do(kind chaosKind, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), chaosOpTimeout)
	defer cancel()
	value := fmt.Sprintf("%d.%d", w.id, n) // unique in the run
	var err error
	switch kind {
	case chaosWrite:
		key := fmt.Sprintf("chaos:w:%d:%d", w.id, n)
		err = w.rdb.Set(ctx, key, value, 0).Err()
		if err == nil {
			w.acked[key] = value
			w.ack(key)
		} else {
			w.ambiguous[key] = value
		}
	case chaosIncr:
		i := w.rng.IntN(chaosCounters)
		var v int64
		v, err = w.rdb.Incr(ctx, chaosCounterKey(i)).Result()
		if err == nil {
			w.counters[i].acked++
			w.counters[i].replies = append(w.counters[i].replies, v)
		} else {
			w.counters[i].ambiguous++
		}
	case chaosRegSet:
		key := w.registers[w.rng.IntN(len(w.registers))]
		call := w.hist.now()
		err = w.rdb.Set(ctx, key, value, 0).Err()
		ret := w.hist.now()
		w.hist.addSet(w.id, key, value, call, ret, err == nil)
		if err == nil {
			w.ack(key)
		}
	case chaosRegGet:
		key := w.registers[w.rng.IntN(len(w.registers))]
		call := w.hist.now()
		var v string
		v, err = w.rdb.Get(ctx, key).Result()
		ret := w.hist.now()
		if err == nil || errors.Is(err, redis.Nil) {
			w.hist.addGet(w.id, key, v, call, ret)
		}
	case chaosElem:
		// One unique element per operation: the member is the operation's
		// unique value, so no add is ever a no-op and every element read
		// back names the operation that added it.
		ek := w.elemKeys[w.rng.IntN(len(w.elemKeys))]
		var want string
		switch ek.typ {
		case "set":
			err = w.rdb.SAdd(ctx, ek.key, value).Err()
		case "list":
			err = w.rdb.RPush(ctx, ek.key, value).Err()
		case "hash":
			want = "v" + value
			err = w.rdb.HSet(ctx, ek.key, value, want).Err()
		case "zset":
			want = strconv.Itoa(n)
			err = w.rdb.ZAdd(ctx, ek.key, redis.Z{Score: float64(n), Member: value}).Err()
		}
		if err == nil {
			w.elemAcked[chaosElemID(ek.key, value)] = want
			w.ack(ek.key)
		} else {
			w.elemAmbiguous[chaosElemID(ek.key, value)] = want
		}
	}
	o := chaosClassify(err)
	w.outcomes[kind][o]++
	if o != chaosOK && w.firstErr[kind][o] == "" {
		w.firstErr[kind][o] = err.Error()
	}
	return err
}

// ack notes an acknowledged write of key for the unavailability figures.
func (w *chaosWorker) ack(key string) {
	p := ring.Partition([]byte(key), procPartitions)
	at := w.hist.now()
	w.acks = append(w.acks, chaosAck{part: p, at: at})
	w.lastAck[p].Store(at)
}

// chaosKill is one round of the nemesis, times on the history's clock.
type chaosKill struct {
	shard     int
	mastered  []bool // by partition: the victim mastered it in the map at the kill
	killed    int64  // kill -9 confirmed: the process is gone
	restart   int64  // restart began
	restarted int64  // restart returned: the shard answers and every proxy reaches it (0: it failed)
}

// chaosMembers is the set of shards the kill nemesis picks from: the
// cluster's shards, less one being decommissioned. cycle is held by the
// kill nemesis from a kill to the restart, so a shard is never marked
// leaving while it is down.
type chaosMembers struct {
	cycle   sync.Mutex
	mu      sync.Mutex
	shards  []int
	leaving int // 0: none
	// drainFrom and drainTo bound the decommission on the history's
	// clock (0: not begun, not over).
	drainFrom, drainTo atomic.Int64
}

func chaosNewMembers() *chaosMembers {
	m := &chaosMembers{}
	for i := 1; i <= chaosShards; i++ {
		m.shards = append(m.shards, i)
	}
	return m
}

// pick returns a random shard that is not leaving.
func (m *chaosMembers) pick(rng *rand.Rand) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var can []int
	for _, s := range m.shards {
		if s != m.leaving {
			can = append(can, s)
		}
	}
	return can[rng.IntN(len(can))]
}

// names returns the shards' node IDs.
func (m *chaosMembers) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, s := range m.shards {
		ids = append(ids, "shard-"+strconv.Itoa(s))
	}
	return ids
}

// chaosMembership adds a shard a quarter of the way into the chaos and
// decommissions shard chaosShards (not a controller voter) halfway, while
// the kill nemesis goes on; the leaving shard is spared by the kills. It
// returns when both are done, or early when stop is closed before they
// started.
func chaosMembership(t *testing.T, c *lcCluster, m *chaosMembers, hist *chaosHistory, duration time.Duration, stop <-chan struct{}) {
	wait := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	if !wait(duration / 4) {
		return
	}
	start := time.Now()
	out, err := c.run(nil, "add")
	ids := rbAddOutput.FindAllStringSubmatch(out, -1)
	if err != nil || len(ids) != 1 {
		t.Errorf("membership: local-cluster add: %v\n%s", err, out)
		return
	}
	joined, _ := strconv.Atoi(strings.TrimPrefix(ids[0][1], "shard-"))
	m.mu.Lock()
	m.shards = append(m.shards, joined)
	m.mu.Unlock()
	t.Logf("membership: %s joined (add took %v)", ids[0][1], time.Since(start).Round(time.Millisecond))
	if !wait(duration / 4) {
		return
	}
	// Throttled, the drain lasts long enough for kills to hit it.
	setRate := func(rate string) bool {
		proxy := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.base+101))
		out, err := exec.Command(c.bin, "rebalance", "--addr", proxy, "set", "rate", rate).CombinedOutput()
		if err != nil {
			t.Errorf("membership: shardis rebalance set rate %s: %v\n%s", rate, err, out)
		}
		return err == nil
	}
	if !setRate(chaosDrainRate) {
		return
	}
	defer setRate("0")
	leaving := chaosShards
	m.cycle.Lock()
	m.mu.Lock()
	m.leaving = leaving
	m.mu.Unlock()
	m.cycle.Unlock()
	m.drainFrom.Store(hist.now())
	out, err = c.decommission(strconv.Itoa(leaving))
	m.drainTo.Store(hist.now())
	if err != nil {
		t.Errorf("membership: local-cluster decommission %d: %v\n%s", leaving, err, out)
		return
	}
	m.mu.Lock()
	m.shards = slices.DeleteFunc(m.shards, func(s int) bool { return s == leaving })
	m.leaving = 0
	m.mu.Unlock()
	t.Logf("membership: shard-%d decommissioned in %v", leaving, time.Duration(m.drainTo.Load()-m.drainFrom.Load()).Round(time.Millisecond))
}

// chaosNemesis kill -9s a random shard of m every 2–4 s, restarts it 1–3 s
// later, and stops after maxRounds rounds or when stop is closed; a shard
// it killed is always restarted before it returns.
func chaosNemesis(t *testing.T, c *lcCluster, m *chaosMembers, rng *rand.Rand, hist *chaosHistory, maxRounds int, stop <-chan struct{}) []chaosKill {
	var kills []chaosKill
	pause := func(lo, hi time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(lo + time.Duration(rng.Int64N(int64(hi-lo)))):
			return true
		}
	}
	for round := 0; round < maxRounds; round++ {
		if !pause(2*time.Second, 4*time.Second) {
			break
		}
		m.cycle.Lock()
		shard := m.pick(rng)
		id := strconv.Itoa(shard)
		st, err := chaosMap(c)
		if err != nil {
			m.cycle.Unlock()
			t.Errorf("nemesis: the cluster map before a kill: %v", err)
			break
		}
		if out, err := c.run(nil, "kill", id); err != nil {
			m.cycle.Unlock()
			t.Errorf("nemesis: local-cluster kill %s: %v\n%s", id, err, out)
			break
		}
		k := chaosKill{shard: shard, killed: hist.now(), mastered: make([]bool, len(st.Parts))}
		for p, ps := range st.Parts {
			k.mastered[p] = ps.Master == "shard-"+id
		}
		pause(time.Second, 3*time.Second) // restarts at once if stopped
		k.restart = hist.now()
		out, err := c.run(nil, "restart", id)
		m.cycle.Unlock()
		if err != nil {
			t.Errorf("nemesis: local-cluster restart %s: %v\n%s", id, err, out)
		} else {
			k.restarted = hist.now()
		}
		kills = append(kills, k)
		t.Logf("nemesis: kill -9 shard-%d at %v, restart after %v took %v", shard,
			time.Duration(k.killed).Round(time.Millisecond), chaosSince(k.restart, k.killed), chaosSince(k.restarted, k.restart))
		if err != nil {
			break
		}
	}
	return kills
}

// chaosSince prints b - a, or "never" when b is unset.
func chaosSince(b, a int64) string {
	if b == 0 {
		return "never"
	}
	return time.Duration(b - a).Round(time.Millisecond).String()
}

// chaosStart starts chaosShards shards and chaosProxies proxies with
// scripts/local-cluster and its defaults (three copies of every partition,
// fsync every second, three controller voters) in a new RUN_DIR. The
// cluster is stopped (and leftovers killed) when the test ends.
func chaosStart(t *testing.T) *lcCluster {
	t.Helper()
	script, bin := lcScriptPath(t), procBinary(t)
	var env []string
	for attempt := 1; ; attempt++ {
		c := &lcCluster{script: script, bin: bin, runDir: t.TempDir(), base: lcFreeBase(t, chaosShards, chaosProxies), pids: map[int]bool{}}
		t.Cleanup(func() { c.cleanup(t) })
		start := time.Now()
		out, err := c.run(env, "start", strconv.Itoa(chaosShards), strconv.Itoa(chaosProxies))
		if err == nil {
			t.Logf("local-cluster start %d %d with BASE_PORT=%d PARTITIONS=%d (%v):\n%s",
				chaosShards, chaosProxies, c.base, procPartitions, time.Since(start).Round(time.Millisecond), out)
			return c
		}
		if attempt == 2 {
			t.Fatalf("local-cluster start %d %d with BASE_PORT=%d: %v\n%s", chaosShards, chaosProxies, c.base, err, out)
		}
		t.Logf("local-cluster start with BASE_PORT=%d failed, trying other ports: %v\n%s", c.base, err, out)
	}
}

// chaosReadBack reads keys, trying again while the cluster still moves
// partitions (a restarted shard rejoining can hold one pipeline past the
// client's timeout): a read that times out says nothing about the data, a
// wrong value does. Every failed attempt is logged.
func chaosReadBack(ctx context.Context, t *testing.T, rdb *redis.Client, keys []string) ([]*string, error) {
	for {
		vals, err := procGetAll(ctx, rdb, keys)
		if err == nil || ctx.Err() != nil {
			return vals, err
		}
		t.Logf("reading back: %v; trying again", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond): // pause before the retry
		}
	}
}

// chaosReadElems reads every collection of keys whole (SMEMBERS, LRANGE,
// HGETALL, ZRANGE WITHSCORES), pipelined, and returns its elements by
// chaosElemID with their values (see chaosCheckElems) and how many times
// each was read. Like chaosReadBack it tries again while reads fail: a
// failed read says nothing about the data.
func chaosReadElems(ctx context.Context, t *testing.T, rdb *redis.Client, keys []chaosElemKey) (map[string]*string, map[string]int, error) {
	for {
		read, seen, err := chaosReadElemsOnce(ctx, rdb, keys)
		if err == nil || ctx.Err() != nil {
			return read, seen, err
		}
		t.Logf("reading back the collections: %v; trying again", err)
		select {
		case <-ctx.Done():
			return nil, nil, err
		case <-time.After(100 * time.Millisecond): // pause before the retry
		}
	}
}

func chaosReadElemsOnce(ctx context.Context, rdb *redis.Client, keys []chaosElemKey) (map[string]*string, map[string]int, error) {
	pipe := rdb.Pipeline()
	cmds := make([]redis.Cmder, len(keys))
	for i, k := range keys {
		switch k.typ {
		case "set":
			cmds[i] = pipe.SMembers(ctx, k.key)
		case "list":
			cmds[i] = pipe.LRange(ctx, k.key, 0, -1)
		case "hash":
			cmds[i] = pipe.HGetAll(ctx, k.key)
		case "zset":
			cmds[i] = pipe.ZRangeWithScores(ctx, k.key, 0, -1)
		}
	}
	_, _ = pipe.Exec(ctx)
	read, seen := map[string]*string{}, map[string]int{}
	add := func(key, member, value string) {
		id := chaosElemID(key, member)
		read[id] = &value
		seen[id]++
	}
	for i, k := range keys {
		if err := cmds[i].Err(); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", cmds[i].Name(), k.key, err)
		}
		switch c := cmds[i].(type) {
		case *redis.StringSliceCmd:
			for _, m := range c.Val() {
				add(k.key, m, "")
			}
		case *redis.MapStringStringCmd:
			for f, v := range c.Val() {
				add(k.key, f, v)
			}
		case *redis.ZSliceCmd:
			for _, z := range c.Val() {
				m, _ := z.Member.(string)
				add(k.key, m, strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
		}
	}
	return read, seen, nil
}

// chaosStoppedShards runs `status` and returns the shards not running.
func chaosStoppedShards(t *testing.T, c *lcCluster) []int {
	t.Helper()
	out, err := c.run(nil, "status")
	if err != nil {
		t.Fatalf("local-cluster status: %v\n%s", err, out)
	}
	var stopped []int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("status line %q: want role, id, address, pid, state", line)
		}
		if pid, err := strconv.Atoi(f[3]); err == nil {
			c.pids[pid] = true
		}
		if f[0] == "shard" && f[4] != "running" {
			id, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("status line %q: id: %v", line, err)
			}
			stopped = append(stopped, id)
		}
	}
	return stopped
}

// chaosMap fetches the cluster map from the first controller voter that
// answers (voters serve it on their metrics port, BASE_PORT+200+i).
func chaosMap(c *lcCluster) (cluster.State, error) {
	var last error
	for i := 1; i <= 3; i++ {
		url := fmt.Sprintf("http://127.0.0.1:%d/map", c.base+200+i)
		st, err := func() (cluster.State, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return cluster.State{}, err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return cluster.State{}, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return cluster.State{}, fmt.Errorf("%s: %s", url, resp.Status)
			}
			var st cluster.State
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				return cluster.State{}, fmt.Errorf("%s: %v", url, err)
			}
			if len(st.Parts) != procPartitions {
				return cluster.State{}, fmt.Errorf("%s: map of %d partitions, want %d", url, len(st.Parts), procPartitions)
			}
			return st, nil
		}()
		if err == nil {
			return st, nil
		}
		last = err
	}
	return cluster.State{}, last
}

// chaosMasters returns, by partition, the shard mastering it in the
// current cluster map.
func chaosMasters(t *testing.T, c *lcCluster) []string {
	t.Helper()
	st, err := chaosMap(c)
	if err != nil {
		t.Fatalf("the cluster map: %v", err)
	}
	masters := make([]string, len(st.Parts))
	for p, ps := range st.Parts {
		masters[p] = ps.Master
	}
	return masters
}

// chaosRegisterKeys picks chaosRegistersPerShard register keys on every
// shard, each in a partition of its own.
func chaosRegisterKeys(t *testing.T, masters []string) []string {
	t.Helper()
	per := map[string]int{}
	used := map[int]bool{}
	var keys []string
	for n := 0; len(keys) < chaosShards*chaosRegistersPerShard && n < 100000; n++ {
		k := "chaos:r:" + strconv.Itoa(n)
		p := ring.Partition([]byte(k), procPartitions)
		if used[p] || per[masters[p]] >= chaosRegistersPerShard {
			continue
		}
		used[p] = true
		per[masters[p]]++
		keys = append(keys, k)
	}
	if len(keys) != chaosShards*chaosRegistersPerShard {
		t.Fatalf("found %d register keys, want %d", len(keys), chaosShards*chaosRegistersPerShard)
	}
	return keys
}

// chaosClient is a go-redis client of one proxy with RESP2, short
// timeouts and no retries, so every operation's outcome is observed once.
func chaosClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		Protocol:     2,
		DialTimeout:  time.Second,
		ReadTimeout:  chaosOpTimeout,
		WriteTimeout: chaosOpTimeout,
		MaxRetries:   -1, // 0 would mean go-redis's default of 3 retries
		PoolSize:     2 * chaosWorkers,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// chaosWaitReachable waits until every proxy answers a GET of a key in every
// partition without an error.
func chaosWaitReachable(t *testing.T, clients []*redis.Client, keys []string) {
	t.Helper()
	deadline := time.Now().Add(chaosSettleTimeout)
	for i, rdb := range clients {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := procGetAll(ctx, rdb, keys)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("proxy %d still fails a GET %v after the chaos: %v", i+1, chaosSettleTimeout, err)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
}

// chaosDuration reads SHARDIS_CHAOS_DURATION.
func chaosDuration(t *testing.T) time.Duration {
	s := os.Getenv("SHARDIS_CHAOS_DURATION")
	if s == "" {
		return chaosDefaultDuration
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("SHARDIS_CHAOS_DURATION=%q: want a positive Go duration such as 60s", s)
	}
	return d
}

// chaosSeed reads SHARDIS_CHAOS_SEED, or makes a seed up.
func chaosSeed(t *testing.T) uint64 {
	s := os.Getenv("SHARDIS_CHAOS_SEED")
	if s == "" {
		return rand.Uint64()
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("SHARDIS_CHAOS_SEED=%q: want an unsigned integer", s)
	}
	return seed
}

// chaosOutDir is where evidence of a failure goes: SHARDIS_CHAOS_OUT, or a
// new directory that outlives the test so the file can be opened.
func chaosOutDir(t *testing.T) string {
	if d := os.Getenv("SHARDIS_CHAOS_OUT"); d != "" {
		return d
	}
	d, err := os.MkdirTemp("", "shardis-chaos-")
	if err != nil {
		t.Errorf("a directory for the visualization: %v", err)
		return t.TempDir()
	}
	return d
}

// chaosPercentile returns the q-quantile (0 < q <= 1) of sorted durations
// by nearest rank: the smallest value at least a fraction q of them do not
// exceed.
func chaosPercentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(len(sorted), max(rank, 1))-1]
}

// TestChaosPercentile checks the nearest-rank quantile of the figures.
func TestChaosPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 2}, {0.75, 3}, {0.76, 4}, {1, 4}, {0.01, 1}} {
		if got := chaosPercentile(d, tc.q); got != tc.want {
			t.Errorf("quantile %v of %v = %v, want %v", tc.q, d, got, tc.want)
		}
	}
	if got := chaosPercentile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

// TestChaos runs a workload of real clients through both proxies while a
// nemesis kill -9s and restarts shards, and a shard joins and another is
// decommissioned meanwhile, then checks that no acknowledged write or
// increment was lost, that every register history is linearizable and
// that the cluster settles on its new membership. Every partition has three copies and files are fsynced
// once a second: a killed shard's files may miss its last writes, so what
// keeps acknowledged writes is replication (commit level all) and failover
// to an in-sync follower.
func TestChaos(t *testing.T) {
	begin := time.Now()
	duration := chaosDuration(t)
	seed := chaosSeed(t)
	t.Logf("chaos: duration %v, seed %d (SHARDIS_CHAOS_SEED=%d repeats the nemesis schedule)", duration, seed, seed)

	c := chaosStart(t)
	b, err := os.ReadFile(filepath.Join(c.runDir, "proxies"))
	if err != nil {
		t.Fatalf("the proxies file: %v", err)
	}
	proxies := strings.Fields(string(b))
	if len(proxies) != chaosProxies {
		t.Fatalf("proxies file lists %q, want %d proxies", proxies, chaosProxies)
	}
	clients := make([]*redis.Client, len(proxies))
	for i, addr := range proxies {
		clients[i] = chaosClient(t, addr)
	}
	masters := chaosMasters(t, c)
	registers := chaosRegisterKeys(t, masters)
	hist := chaosNewHistory()
	lastAck := make([]atomic.Int64, procPartitions)

	workers := make([]*chaosWorker, chaosWorkers)
	for i := range workers {
		workers[i] = &chaosWorker{
			id: i, rdb: clients[i%len(clients)], rng: rand.New(rand.NewPCG(seed, uint64(i)+1)),
			hist: hist, registers: registers, lastAck: lastAck,
			acked: map[string]string{}, ambiguous: map[string]string{},
			elemAcked: map[string]string{}, elemAmbiguous: map[string]string{}, elemKeys: chaosElemKeys(i),
		}
	}

	// Goroutines stop on every path out of the test, Fatal included; this
	// cleanup runs before the cluster's (cleanups run last-in first-out).
	stopWork, stopNemesis := make(chan struct{}), make(chan struct{})
	var stopWorkOnce, stopNemesisOnce sync.Once
	var workWG, nemesisWG sync.WaitGroup
	halt := func() {
		stopNemesisOnce.Do(func() { close(stopNemesis) })
		nemesisWG.Wait()
		stopWorkOnce.Do(func() { close(stopWork) })
		workWG.Wait()
	}
	t.Cleanup(halt)

	for _, w := range workers {
		workWG.Add(1)
		go func() {
			defer workWG.Done()
			w.run(stopWork)
		}()
	}
	var kills []chaosKill
	// The kills go on until the membership changes are over, which may
	// outlast the duration by up to a drain.
	maxRounds := int((duration+rbSettleTimeout)/(2*time.Second)) + 1
	members := chaosNewMembers()
	membershipDone := make(chan struct{})
	nemesisWG.Add(2)
	go func() {
		defer nemesisWG.Done()
		kills = chaosNemesis(t, c, members, rand.New(rand.NewPCG(seed, 0)), hist, maxRounds, stopNemesis)
	}()
	go func() {
		defer nemesisWG.Done()
		defer close(membershipDone)
		chaosMembership(t, c, members, hist, duration, stopNemesis)
	}()

	select {
	case <-time.After(duration):
	case <-t.Context().Done():
	}
	select {
	case <-membershipDone:
	case <-t.Context().Done():
	}
	stopNemesisOnce.Do(func() { close(stopNemesis) })
	nemesisWG.Wait()
	// Keep the workload running until a write on the last victim's keys was
	// acknowledged after its kill, so every kill's unavailability is measured.
	if n := len(kills); n > 0 && kills[n-1].restarted != 0 {
		last := kills[n-1]
		deadline := time.Now().Add(10 * time.Second)
		for !chaosWrittenSince(lastAck, last) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	}
	stopWorkOnce.Do(func() { close(stopWork) })
	workWG.Wait()
	chaosLoad := time.Since(begin)

	// Settle: every shard running, every proxy reaching every partition.
	for _, id := range chaosStoppedShards(t, c) {
		c.must(t, nil, "restart", strconv.Itoa(id))
	}
	if stopped := chaosStoppedShards(t, c); len(stopped) > 0 {
		t.Fatalf("shards %v still stopped after restart", stopped)
	}
	chaosWaitReachable(t, clients, procOnePerPartition("chaos:ready:"))
	rc := &rbCluster{lcCluster: c, rf: 3, shards: members.names(), proxies: proxies, clients: clients}
	rc.waitSettled(t, "after the chaos")

	// Merge what the workers saw.
	acked, ambiguous := map[string]string{}, map[string]string{}
	elemAcked, elemAmbiguous := map[string]string{}, map[string]string{}
	var elemKeys []chaosElemKey
	var counters [chaosCounters]chaosCounter
	var outcomes [chaosKinds][chaosOutcomes]int
	var firstErr [chaosKinds][chaosOutcomes]string
	var acks []chaosAck
	for _, w := range workers {
		for k, v := range w.acked {
			acked[k] = v
		}
		for k, v := range w.ambiguous {
			ambiguous[k] = v
		}
		maps.Copy(elemAcked, w.elemAcked)
		maps.Copy(elemAmbiguous, w.elemAmbiguous)
		elemKeys = append(elemKeys, w.elemKeys...)
		for i := range counters {
			counters[i].acked += w.counters[i].acked
			counters[i].ambiguous += w.counters[i].ambiguous
			counters[i].replies = append(counters[i].replies, w.counters[i].replies...)
		}
		for k := range outcomes {
			for o := range outcomes[k] {
				outcomes[k][o] += w.outcomes[k][o]
				if firstErr[k][o] == "" {
					firstErr[k][o] = w.firstErr[k][o]
				}
			}
		}
		acks = append(acks, w.acks...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), chaosSettleTimeout)
	defer cancel()

	// 1. Every acknowledged unique write reads back, through both proxies.
	keys := make([]string, 0, len(acked)+len(ambiguous))
	for k := range acked {
		keys = append(keys, k)
	}
	for k := range ambiguous {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, rdb := range clients {
		vals, err := chaosReadBack(ctx, t, rdb, keys)
		if err != nil {
			t.Fatalf("reading back the unique writes through proxy %d: %v", i+1, err)
		}
		read := make(map[string]*string, len(keys))
		for j, k := range keys {
			read[k] = vals[j]
		}
		wc := chaosCheckWrites(acked, ambiguous, read)
		t.Logf("acknowledged writes lost (read through proxy %d): %d of %d (%d missing, %d with another value)",
			i+1, wc.lost(), wc.acked, len(wc.missing), len(wc.wrong))
		if i == 0 {
			t.Logf("unacknowledged writes applied anyway: %d of %d (allowed: outcome unknown)", wc.ambiguousPresent, wc.ambiguous)
		}
		if wc.lost() > 0 {
			for _, k := range append(wc.missing, wc.wrong...)[:min(10, wc.lost())] {
				t.Errorf("proxy %d: %s (written %q) reads back %s", i+1, k, chaosPick(acked, ambiguous, k), lcShow(read[k]))
			}
			t.Errorf("%d of %d acknowledged writes lost or changed after kill -9", wc.lost(), wc.acked)
		}
	}

	// 1b. Every acknowledged collection element reads back, through both
	// proxies, each collection read whole once.
	for i, rdb := range clients {
		read, seen, err := chaosReadElems(ctx, t, rdb, elemKeys)
		if err != nil {
			t.Fatalf("reading back the collections through proxy %d: %v", i+1, err)
		}
		ec := chaosCheckElems(elemAcked, elemAmbiguous, read, seen)
		t.Logf("acknowledged collection elements lost (read through proxy %d): %d of %d in %d collections (%d missing, %d with another value); %d added by nobody, %d list elements twice",
			i+1, ec.lost(), ec.acked, len(elemKeys), len(ec.missing), len(ec.wrong), len(ec.foreign), len(ec.dups))
		if i == 0 {
			t.Logf("unacknowledged collection adds applied anyway: %d of %d (allowed: outcome unknown)", ec.ambiguousPresent, ec.ambiguous)
		}
		if ec.failed() > 0 {
			bad := append(append(append(ec.missing, ec.wrong...), ec.foreign...), ec.dups...)
			for _, id := range bad[:min(10, len(bad))] {
				want, ok := elemAcked[id]
				if !ok {
					want = elemAmbiguous[id]
				}
				t.Errorf("proxy %d: element %q (written %q, acknowledged %v) reads back %s, %d times", i+1, id, want, ok, lcShow(read[id]), seen[id])
			}
			t.Errorf("%d of %d acknowledged collection elements lost or changed after kill -9; %d elements nobody added, %d twice",
				ec.lost(), ec.acked, len(ec.foreign), len(ec.dups))
		}
	}

	// 2. Every acknowledged INCR counted, none twice.
	var totalAcked, totalAmb, totalExcess int64
	for i := range counters {
		key := chaosCounterKey(i)
		final, err := clients[0].Get(ctx, key).Int64()
		if errors.Is(err, redis.Nil) {
			final, err = 0, nil
		}
		if err != nil {
			t.Fatalf("GET %s: %v", key, err)
		}
		r := chaosCheckCounter(counters[i], final)
		totalAcked += r.acked
		totalAmb += r.ambiguous
		totalExcess += r.excess
		if !r.ok() {
			t.Errorf("counter %s: final %d, %d INCRs acknowledged, %d unknown: %d acknowledged increments lost, %d counted twice, replies repeated %v, largest acknowledged reply above the final value %d",
				key, final, r.acked, r.ambiguous, r.lost, r.extra, r.repeated[:min(10, len(r.repeated))], r.beyond)
		}
	}
	t.Logf("acknowledged INCRs lost: %d counters, %d acknowledged increments, %d of %d unknown ones counted anyway",
		chaosCounters, totalAcked, totalExcess, totalAmb)

	// 3. The registers, with a final read of each through every proxy.
	for i, rdb := range clients {
		for _, k := range registers {
			call := hist.now()
			v, err := rdb.Get(ctx, k).Result()
			ret := hist.now()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatalf("final GET %s through proxy %d: %v", k, i+1, err)
			}
			hist.addGet(chaosWorkers+i, k, v, call, ret)
		}
	}
	lin := chaosCheckRegisters(hist.operations(), chaosCheckTimeout)
	most := ""
	if lin.unknown > 0 {
		most = fmt.Sprintf(", up to %d on %s", lin.maxUnknownPerKey, lin.maxUnknownPerKeyName)
	}
	t.Logf("linearizability of %d register keys: %v (%d acknowledged SETs, %d GETs, %d SETs of unknown outcome kept%s, %d unread ones dropped; checked in %v)",
		lin.keys, lin.result, lin.sets, lin.gets, lin.unknown, most, lin.pruned, lin.took.Round(time.Millisecond))
	if lin.result != porcupine.Ok {
		path, err := chaosVisualize(chaosOutDir(t), lin)
		if err != nil {
			t.Errorf("writing the visualization: %v", err)
		}
		t.Errorf("register histories are %v (not proven linearizable); porcupine's visualization: %s", lin.result, path)
	}

	// 4. Operation counts.
	total := 0
	for k := chaosKind(0); k < chaosKinds; k++ {
		o := outcomes[k]
		total += o[chaosOK] + o[chaosErrReply] + o[chaosTimedOut] + o[chaosConnErr]
		t.Logf("ops %s: %d ok, %d error replies, %d timed out, %d connection errors%s",
			k, o[chaosOK], o[chaosErrReply], o[chaosTimedOut], o[chaosConnErr], chaosErrSamples(firstErr[k]))
	}
	t.Logf("ops total: %d in %v of load (%.0f/s)", total, chaosLoad.Round(time.Millisecond), float64(total)/chaosLoad.Seconds())

	// 5. Failover time per kill: from the kill to the first acknowledged
	// write on a partition the victim mastered when it was killed.
	var downs []time.Duration
	for _, k := range kills {
		first := chaosFirstAckAfter(acks, k)
		t.Logf("kill -9 shard-%d at %v (master of %d partitions): first acknowledged write on one of them %s after the kill; restarted %s after the kill (restart took %s)",
			k.shard, time.Duration(k.killed).Round(time.Millisecond), chaosCount(k.mastered), chaosSince(first, k.killed),
			chaosSince(k.restart, k.killed), chaosSince(k.restarted, k.restart))
		if first != 0 {
			downs = append(downs, time.Duration(first-k.killed))
		} else {
			t.Errorf("no write on a partition shard-%d mastered was acknowledged after its kill -9", k.shard)
		}
	}
	during := 0
	for _, k := range kills {
		if from, to := members.drainFrom.Load(), members.drainTo.Load(); from != 0 && k.killed >= from && (to == 0 || k.killed <= to) {
			during++
		}
	}
	t.Logf("kills during the decommission's drain: %d of %d", during, len(kills))
	slices.Sort(downs)
	t.Logf("failover time (kill -9 to the first acknowledged write on a partition the victim mastered): %d kills, p50 %v, max %v",
		len(kills), chaosPercentile(downs, 0.5).Round(time.Millisecond), chaosPercentile(downs, 1).Round(time.Millisecond))

	if len(kills) == 0 {
		t.Errorf("the nemesis killed nothing in %v", duration)
	}
	if len(acked) < 100 || lin.sets+lin.gets < 100 || len(elemAcked) < 50 {
		t.Errorf("only %d unique writes, %d collection adds and %d register operations succeeded: too few to mean anything",
			len(acked), len(elemAcked), lin.sets+lin.gets)
	}
	t.Logf("chaos test took %v", time.Since(begin).Round(time.Millisecond))
}

// chaosPick returns the value written to key, acknowledged or not.
func chaosPick(acked, ambiguous map[string]string, key string) string {
	if v, ok := acked[key]; ok {
		return v
	}
	return ambiguous[key]
}

// chaosErrSamples prints the first error of each failed outcome.
func chaosErrSamples(first [chaosOutcomes]string) string {
	var parts []string
	for o, msg := range first {
		if msg != "" {
			parts = append(parts, fmt.Sprintf("%s %q", [...]string{"ok", "error reply", "timeout", "connection error"}[o], msg))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; first " + strings.Join(parts, ", ")
}

// chaosWrittenSince reports whether a write on a partition k's victim
// mastered was acknowledged after k's kill.
func chaosWrittenSince(lastAck []atomic.Int64, k chaosKill) bool {
	for p := range lastAck {
		if k.mastered[p] && lastAck[p].Load() > k.killed {
			return true
		}
	}
	return false
}

// chaosFirstAckAfter returns when the first write on a partition k's victim
// mastered was acknowledged after its kill, or 0.
func chaosFirstAckAfter(acks []chaosAck, k chaosKill) int64 {
	var first int64
	for _, a := range acks {
		if a.at > k.killed && k.mastered[a.part] && (first == 0 || a.at < first) {
			first = a.at
		}
	}
	return first
}

// chaosCount counts the true values.
func chaosCount(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
