package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/ring"
)

const (
	// bigmovePartitions is the partition count of the cluster: few, so
	// the other moves a join starts are few and small.
	bigmovePartitions = 16
	// bigmoveKeys values of bigmoveValueSize bytes go into the big
	// partition: 7000 × 16 KiB ≈ 115 MB.
	bigmoveKeys      = 7000
	bigmoveValueSize = 16 << 10
	// bigmoveRate is the snapshot bandwidth set for the move, so that the
	// big partition takes a few seconds to copy.
	bigmoveRate      = "32m"
	bigmoveRateBytes = 32 << 20
	// bigmoveMemSlack bounds the memory a move may cost a shard besides
	// what its Go heap may grow to with garbage anyway. The source's RSS
	// may rise above its level before the move by its GC headroom then
	// (the heap's next-GC target less its heap in use, from its metrics:
	// every byte a move sends passes through a reply buffer of its own,
	// so the heap grows to that target before a collection) plus this.
	// The destination, which ends holding what the source holds (the big
	// partition, and copies of small ones), may peak at most this far
	// above the source's RSS before the move, and at most this far above
	// its own RSS once the move is over. A shard that holds the partition
	// whole in memory besides its store (≈110 MiB) goes past these: the
	// old one-bulk snapshot, which held it two or three times over,
	// raised the source's RSS by ≈400 MiB and peaked the destination
	// ≈500 MiB above the source.
	bigmoveMemSlack = 64 << 20
	// bigmoveSampleEvery is how often the shards' RSS is sampled.
	bigmoveSampleEvery = 50 * time.Millisecond
	// bigmoveBaseline is how long the load runs before the move, for the
	// baseline latency.
	bigmoveBaseline = 3 * time.Second
	// bigmoveNewShard is the id scripts/local-cluster gives the first
	// shard added to a cluster of three.
	bigmoveNewShard = "shard-4"
	// bigmoveCLITimeout bounds one run of a shardis admin command.
	bigmoveCLITimeout = 30 * time.Second
)

// TestBigPartitionMoves moves a copy of a ≈115 MB partition to a joining
// shard, the 4th of a cluster of separate processes (RF 3, 16
// partitions), under a snapshot rate that makes the move last seconds,
// while clients read and write the other partitions. The moved partition
// reads back whole from its new master, the move costs the source and the
// destination a bounded amount of memory (not the partition's size), and
// the other partitions' clients see no error. Their latency before and
// during the move is printed, not checked: the machine is shared.
func TestBigPartitionMoves(t *testing.T) {
	begin := time.Now()
	t.Logf("this build streams snapshots in chunks (shard --snapshot-rate): %v", bigmoveChunked(procBinary(t)))
	c := rbStart(t, []string{"PARTITIONS=" + strconv.Itoa(bigmovePartitions)})
	rdb := c.clients[0]
	initial := bigmoveWaitSettled(t, c, "after start")

	// The map is a pure function of its commands: the join's placement can
	// be worked out before the shard exists. The big partition is one
	// whose master-to-be is the new shard, so the read-back after the
	// move reads the destination's copy.
	joined, err := initial.Apply(cluster.NodeUp{Node: cluster.NodeInfo{ID: bigmoveNewShard}})
	if err != nil {
		t.Fatalf("applying NodeUp %s to the map: %v", bigmoveNewShard, err)
	}
	big := -1
	for p, ps := range joined.Parts {
		if tg := ps.Target; len(tg) > 0 && tg[0] == bigmoveNewShard && !slices.Contains(initial.Parts[p].Replicas, bigmoveNewShard) {
			big = p
			break
		}
	}
	if big < 0 {
		t.Fatalf("the map after %s joins makes it master of no partition: %+v", bigmoveNewShard, joined.Parts)
	}
	source := initial.Parts[big].Master
	tag := bigmoveTag(big)
	t.Logf("big partition %d (hash tag {%s}): on %v, mastered by %s; after the join it goes to %v",
		big, tag, initial.Parts[big].Replicas, source, joined.Parts[big].Target)

	t0 := time.Now()
	bigKeys := bigmoveLoad(t, rdb, tag)
	loadTook := time.Since(t0)
	t.Logf("loaded %d keys of %d bytes (%.1f MB) into partition %d in %v (%.1f MB/s through the proxy)",
		len(bigKeys), bigmoveValueSize, float64(len(bigKeys)*bigmoveValueSize)/1e6, big, loadTook.Round(time.Millisecond),
		float64(len(bigKeys)*bigmoveValueSize)/1e6/loadTook.Seconds())
	small := rbPreload(t, rdb, "bm:small:", 2000, 512)

	// The clients of the other partitions, and their baseline.
	var okOps atomic.Int64
	l := bigmoveStartLoad(t, rdb, big, &okOps)
	baselineEnd := time.Now().Add(bigmoveBaseline)
	rbWaitOps(t, &okOps, 200)
	time.Sleep(time.Until(baselineEnd)) // a fixed measurement window, not a wait for a condition

	// The move. The shard is added in the background, so that the
	// sampling covers the move from its first byte: the source's from
	// before the join, the destination's from the moment its process runs.
	bigmoveCLI(t, c, "rebalance", "set", "rate", bigmoveRate)
	srcPid := c.status(t)[source].pid
	srcHeap := bigmoveHeap(c, source)
	sampler := bigmoveStartSampler(t, map[string]func() int{
		"source":      func() int { return srcPid },
		"destination": func() int { return bigmovePid(c, bigmoveNewShard) },
	})
	moveStart := l.since()
	addStart := time.Now()
	add := bigmoveStartAdd(t, c)
	placed, moved := bigmoveWatchMove(t, add, c, big, bigmoveNewShard)
	<-add.done
	if add.err != nil {
		t.Fatalf("local-cluster add: %v\n%s", add.err, add.out)
	}
	t.Logf("local-cluster add (%v):\n%s", add.took.Round(time.Millisecond), add.out)
	if m := rbAddOutput.FindAllStringSubmatch(add.out, -1); len(m) != 1 || m[0][1] != bigmoveNewShard {
		t.Fatalf("local-cluster add printed %q; want one line naming %s", add.out, bigmoveNewShard)
	}
	c.shards = append(c.shards, bigmoveNewShard)
	c.nShards = len(c.shards)
	final := bigmoveWaitSettled(t, c, "after the join")
	moveEnd := l.since()
	settleTook := time.Since(addStart)
	rss := sampler.stop()
	received := bigmoveMetric(t, c, bigmoveNewShard, "shardis_shard_snapshot_received_bytes_total")
	rbWaitOps(t, &okOps, 200) // the load goes on after the move
	l.Stop()

	if got, want := final.Parts[big].Replicas, joined.Parts[big].Target; !slices.Equal(got, want) {
		t.Errorf("partition %d is placed on %v after the move; the map predicted %v", big, got, want)
	}
	if final.Parts[big].Master != bigmoveNewShard {
		t.Errorf("partition %d is mastered by %s after the move, want %s", big, final.Parts[big].Master, bigmoveNewShard)
	}
	rbCheckPreload(t, "the big partition from its new master", rdb, bigKeys, bigmoveValueSize)
	rbCheckPreload(t, "the other partitions' preload", rdb, small, 512)

	// Figures.
	bytes := float64(len(bigKeys) * bigmoveValueSize)
	copyTook := moved.at.Sub(placed)
	t.Logf("move of partition %d (%.1f MB of values) from %s to %s: in sync %v after the map placed the copy (map epoch %d), "+
		"%.1f MB/s, at rate %s (%.1f MB/s); %s received %.1f MB of snapshots in all; the join settled %v after add began",
		big, bytes/1e6, source, bigmoveNewShard, copyTook.Round(time.Millisecond), moved.st.Epoch, bytes/1e6/copyTook.Seconds(),
		bigmoveRate, float64(bigmoveRateBytes)/1e6, bigmoveNewShard, received/1e6, settleTook.Round(time.Millisecond))
	before := bigmoveLatency(l, 0, moveStart)
	during := bigmoveLatency(l, moveStart, moveEnd)
	t.Logf("latency of the other partitions' operations before the move: %s", before)
	t.Logf("latency of the other partitions' operations during the move: %s", during)
	if before.p50 > 0 && before.p99 > 0 && before.max > 0 {
		t.Logf("during/before: p50 ×%.2f, p99 ×%.2f, max ×%.2f", float64(during.p50)/float64(before.p50),
			float64(during.p99)/float64(before.p99), float64(during.max)/float64(before.max))
	}
	for i, op := range bigmoveSlowest(l, moveStart, moveEnd, 3) {
		moving := "its copies did not move"
		if !slices.Equal(initial.Parts[op.part].Replicas, final.Parts[op.part].Replicas) {
			moving = fmt.Sprintf("it moved from %v to %v", initial.Parts[op.part].Replicas, final.Parts[op.part].Replicas)
		}
		t.Logf("slowest operation #%d during the move: %v on partition %d, %v into the move; %s",
			i+1, op.took.Round(time.Millisecond), op.part, (op.at - moveStart).Round(time.Millisecond), moving)
	}
	src, dst := rss["source"], rss["destination"]
	t.Logf("RSS of the source %s: %s", source, src)
	t.Logf("RSS of the destination %s: %s", bigmoveNewShard, dst)
	t.Logf("Go heap of the source before the move: %s; after: %s", srcHeap, bigmoveHeap(c, source))
	t.Logf("Go heap of the destination after the move: %s", bigmoveHeap(c, bigmoveNewShard))

	// Checks.
	if src.samples < 10 || dst.samples < 10 {
		t.Errorf("only %d and %d RSS samples of the source and destination during the move: too few to bound their memory", src.samples, dst.samples)
	}
	headroom := srcHeap.headroom()
	if rise := src.peak - src.before; rise > headroom+bigmoveMemSlack {
		t.Errorf("the source's RSS rose by %.1f MiB during the move (%.1f → %.1f MiB), more than its GC headroom (%.1f MiB) and %d MiB: it held the partition in memory",
			bigmoveMiB(rise), bigmoveMiB(src.before), bigmoveMiB(src.peak), bigmoveMiB(headroom), bigmoveMemSlack>>20)
	}
	if over := dst.peak - src.before; over > bigmoveMemSlack {
		t.Errorf("the destination's RSS peaked at %.1f MiB, %.1f MiB above the source's before the move (%.1f MiB), more than %d MiB: it held the partition in memory besides its store",
			bigmoveMiB(dst.peak), bigmoveMiB(over), bigmoveMiB(src.before), bigmoveMemSlack>>20)
	}
	if extra := dst.peak - dst.last; extra > bigmoveMemSlack {
		t.Errorf("the destination's RSS peaked at %.1f MiB, %.1f MiB above its RSS after the move (%.1f MiB), more than %d MiB: a transient cost of the transfer",
			bigmoveMiB(dst.peak), bigmoveMiB(extra), bigmoveMiB(dst.last), bigmoveMemSlack>>20)
	}
	l.checkErrors(t) // no error is allowed: these partitions' clients must not notice the move
	l.checkReads(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l.checkFinal(ctx, t, "the other partitions' load", rdb)
	t.Logf("big partition move test took %v", time.Since(begin).Round(time.Millisecond))
}

// bigmoveChunked reports whether the binary's shard takes --snapshot-rate,
// which came with snapshots streamed in chunks.
func bigmoveChunked(bin string) bool {
	out, _ := exec.Command(bin, "shard", "--help").CombinedOutput() // --help may exit non-zero
	return strings.Contains(string(out), "snapshot-rate")
}

// bigmoveTag returns a hash tag whose keys fall in partition p.
func bigmoveTag(p int) string {
	for i := 0; ; i++ {
		tag := "big" + strconv.Itoa(i)
		if ring.Partition([]byte("{"+tag+"}"), bigmovePartitions) == p {
			return tag
		}
	}
}

// bigmoveLoad writes bigmoveKeys values of bigmoveValueSize bytes, all
// under the hash tag, through rdb: four pipelines of 32 SETs (512 KiB)
// at a time. It returns the keys; each value is rbValue of its key.
func bigmoveLoad(t *testing.T, rdb *redis.Client, tag string) []string {
	t.Helper()
	const writers, batch = 4, 32
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys := make([]string, bigmoveKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("{%s}:%05d", tag, i)
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * batch; i < len(keys); i += writers * batch {
				if err := bigmoveSetAll(ctx, rdb, keys[i:min(len(keys), i+batch)]); err != nil {
					errs[w] = fmt.Errorf("a pipeline of SETs from %s: %w", keys[i], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("loading the big partition: %v", err)
		}
	}
	return keys
}

// bigmoveSetAll sets keys to their rbValue in one pipeline, again while
// it fails with an error the proxy documents as retryable (rbRetryable):
// on a busy machine a write may miss its acknowledgement deadline, and a
// SET runs twice safely.
func bigmoveSetAll(ctx context.Context, rdb *redis.Client, keys []string) error {
	for attempt := 1; ; attempt++ {
		pipe := rdb.Pipeline()
		for _, k := range keys {
			pipe.Set(ctx, k, rbValue(k, bigmoveValueSize), 0)
		}
		_, err := pipe.Exec(ctx)
		code, _, _ := strings.Cut(fmt.Sprint(err), " ")
		if err == nil || attempt == 5 || !slices.Contains(strings.Fields(rbRetryable), code) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond): // back off before the retry
		}
	}
}

// bigmoveStartLoad starts a load worker (see rbWorker) for every
// partition but skip, all on rdb. The test's cleanup stops them if the
// test does not.
func bigmoveStartLoad(t *testing.T, rdb *redis.Client, skip int, okOps *atomic.Int64) *rbLoad {
	l := &rbLoad{begin: time.Now(), stop: make(chan struct{})}
	keys := rbPartitionKeys("bm:load:", bigmovePartitions, rbKeysPerPartition)
	for p := range bigmovePartitions {
		if p == skip {
			continue
		}
		l.workers = append(l.workers, &rbWorker{
			part: p, rdb: rdb, keys: keys[p], begin: l.begin, okOps: okOps,
			state: map[string]*rbKeyState{}, errs: map[string]int{}, samples: map[string]string{},
		})
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

// bigmoveLatencies are the latency figures of a stretch of the load.
type bigmoveLatencies struct {
	ops, failed   int
	p50, p99, max time.Duration
}

func (b bigmoveLatencies) String() string {
	return fmt.Sprintf("%d operations (%d failed), p50 %v, p99 %v, max %v", b.ops, b.failed,
		b.p50.Round(10*time.Microsecond), b.p99.Round(10*time.Microsecond), b.max.Round(10*time.Microsecond))
}

// bigmoveLatency sums up the operations that started in [from, to).
func bigmoveLatency(l *rbLoad, from, to time.Duration) bigmoveLatencies {
	var d []time.Duration
	var b bigmoveLatencies
	for _, w := range l.workers {
		for _, op := range w.ops {
			if op.at < from || op.at >= to {
				continue
			}
			b.ops++
			if !op.ok {
				b.failed++
				continue
			}
			d = append(d, op.took)
		}
	}
	slices.Sort(d)
	b.p50, b.p99 = chaosPercentile(d, 0.50), chaosPercentile(d, 0.99)
	if len(d) > 0 {
		b.max = d[len(d)-1]
	}
	return b
}

// bigmoveSlowOp is one operation of the load and its partition.
type bigmoveSlowOp struct {
	rbOp
	part int
}

// bigmoveSlowest returns the n slowest successful operations that started
// in [from, to), the slowest first.
func bigmoveSlowest(l *rbLoad, from, to time.Duration, n int) []bigmoveSlowOp {
	var ops []bigmoveSlowOp
	for _, w := range l.workers {
		for _, op := range w.ops {
			if op.ok && op.at >= from && op.at < to {
				ops = append(ops, bigmoveSlowOp{rbOp: op, part: w.part})
			}
		}
	}
	slices.SortFunc(ops, func(a, b bigmoveSlowOp) int { return int(b.took - a.took) })
	return ops[:min(n, len(ops))]
}

// bigmoveCLI runs a shardis admin command against the cluster's first
// proxy and fails the test if it fails.
func bigmoveCLI(t *testing.T, c *rbCluster, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bigmoveCLITimeout)
	defer cancel()
	args = append([]string{args[0], "--addr", c.proxies[0]}, args[1:]...)
	out, err := exec.CommandContext(ctx, c.bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("shardis %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// bigmoveMap fetches the cluster map from the first controller voter that
// answers (GET /map on its metrics port).
func bigmoveMap(c *rbCluster) (cluster.State, error) {
	var last error
	for i := 1; i <= 3; i++ {
		st, err := bigmoveMapOf(fmt.Sprintf("http://127.0.0.1:%d/map", c.base+200+i))
		if err == nil {
			return st, nil
		}
		last = err
	}
	return cluster.State{}, fmt.Errorf("no voter serves the map: %w", last)
}

func bigmoveMapOf(url string) (cluster.State, error) {
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
	if len(st.Parts) != bigmovePartitions {
		return cluster.State{}, fmt.Errorf("%s: map of %d partitions, want %d", url, len(st.Parts), bigmovePartitions)
	}
	return st, nil
}

// bigmoveUnsettled says why the cluster is not settled on c.shards, or
// returns "": in the map every partition has RF copies, all in sync and
// placed where its target says, mastered by the first; and `shardis
// status --json` through the first proxy shows no migration in flight or
// left, every partition at RF in-sync copies and every shard up.
func bigmoveUnsettled(t *testing.T, c *rbCluster) (string, cluster.State) {
	st, err := bigmoveMap(c)
	if err != nil {
		return err.Error(), st
	}
	for _, id := range c.shards {
		if n, ok := st.Nodes[id]; !ok || !n.Up {
			return fmt.Sprintf("map epoch %d: %s is not listed up", st.Epoch, id), st
		}
	}
	for p, ps := range st.Parts {
		switch {
		case len(ps.Replicas) != st.RF || ps.Moving || (ps.Target != nil && !slices.Equal(ps.Target, ps.Replicas)):
			return fmt.Sprintf("map epoch %d: partition %d on %v moving to %v", st.Epoch, p, ps.Replicas, ps.Target), st
		case ps.Master != ps.Replicas[0] || !ctlSameIDs(ps.InSync, ps.Replicas):
			return fmt.Sprintf("map epoch %d: partition %d mastered by %q, in sync %v, placed %v", st.Epoch, p, ps.Master, ps.InSync, ps.Replicas), st
		}
	}
	out := bigmoveCLI(t, c, "status", "--json")
	var ps rbStatus
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("shardis status --json: %v in %q", err, out)
	}
	switch {
	case ps.Epoch < st.Epoch:
		return fmt.Sprintf("the proxy routes by epoch %d, the map is at %d", ps.Epoch, st.Epoch), st
	case ps.Migrations["in_flight"] != 0 || ps.Migrations["remaining"] != 0:
		return fmt.Sprintf("status: migrations %v", ps.Migrations), st
	case len(ps.InSync) != 1 || ps.InSync[st.RF] != bigmovePartitions:
		return fmt.Sprintf("status: partitions by in-sync copies %v", ps.InSync), st
	case len(ps.Nodes) != len(c.shards):
		return fmt.Sprintf("status lists %d shards, want %d", len(ps.Nodes), len(c.shards)), st
	}
	for _, n := range ps.Nodes {
		if n.State != "up" {
			return fmt.Sprintf("status: %s is %s", n.ID, n.State), st
		}
	}
	return "", st
}

// bigmoveWaitSettled waits until the cluster settles (bigmoveUnsettled)
// and returns its map.
func bigmoveWaitSettled(t *testing.T, c *rbCluster, what string) cluster.State {
	t.Helper()
	start := time.Now()
	last := ""
	for {
		why, st := bigmoveUnsettled(t, c)
		if why == "" {
			t.Logf("%s: settled on %v at map epoch %d after %v", what, c.shards, st.Epoch, time.Since(start).Round(time.Millisecond))
			return st
		}
		if why != last {
			t.Logf("%s: waiting: %s", what, why)
			last = why
		}
		if time.Since(start) > rbSettleTimeout {
			t.Fatalf("%s: the cluster did not settle within %v: %s", what, rbSettleTimeout, why)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// bigmoveAddRun is a run of the script's add in the background.
type bigmoveAddRun struct {
	done chan struct{} // closed when the script has exited
	out  string        // its output, set before done is closed
	err  error
	took time.Duration
}

// bigmoveStartAdd starts the script's add. The test's cleanup waits for it
// (the script's own time limit bounds the wait).
func bigmoveStartAdd(t *testing.T, c *rbCluster) *bigmoveAddRun {
	r := &bigmoveAddRun{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		start := time.Now()
		r.out, r.err = c.run(nil, "add")
		r.took = time.Since(start)
	}()
	t.Cleanup(func() { <-r.done })
	return r
}

// bigmoveMoved is the map that first listed a copy in sync, and when it
// was read.
type bigmoveMoved struct {
	st cluster.State
	at time.Time
}

// bigmoveWatchMove polls the map while the shard id joins, and returns
// when it first saw id placed for partition p and the map that first
// listed id's copy of p in sync. A failed add fails the test.
func bigmoveWatchMove(t *testing.T, add *bigmoveAddRun, c *rbCluster, p int, id string) (time.Time, bigmoveMoved) {
	t.Helper()
	deadline := time.Now().Add(rbSettleTimeout)
	var placed time.Time
	addDone := add.done
	tick := time.NewTicker(20 * time.Millisecond) // polling interval: the move's duration is measured to about this
	defer tick.Stop()
	for {
		select {
		case <-addDone:
			if add.err != nil {
				t.Fatalf("local-cluster add: %v\n%s", add.err, add.out)
			}
			addDone = nil
			continue
		case <-tick.C:
		}
		st, err := bigmoveMap(c)
		now := time.Now()
		if err == nil {
			ps := st.Parts[p]
			if placed.IsZero() && slices.Contains(ps.Replicas, id) {
				placed = now
			}
			if slices.Contains(ps.InSync, id) {
				if placed.IsZero() {
					placed = now
				}
				return placed, bigmoveMoved{st: st, at: now}
			}
		}
		if now.After(deadline) {
			t.Fatalf("%s is not in sync for partition %d after %v: %+v, %v", id, p, rbSettleTimeout, st.Parts, err)
		}
	}
}

// bigmovePid returns the pid of the cluster's node name from its pid
// file, or 0 while it has none or the process there does not yet run the
// shardis binary (the script's shell forks before it execs).
func bigmovePid(c *rbCluster, name string) int {
	b, err := os.ReadFile(filepath.Join(c.runDir, name+".pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !c.isNode(pid) {
		return 0
	}
	return pid
}

// bigmoveMetric returns a shard's metric summed over its labels; 0 when
// the shard does not export it.
func bigmoveMetric(t *testing.T, c *rbCluster, id, name string) float64 {
	t.Helper()
	m, err := c.rbMetrics(id)
	if err != nil {
		t.Fatalf("metrics of %s: %v", id, err)
	}
	return m[name]
}

// bigmoveHeapStats is a shard's Go heap as its metrics give it, in bytes:
// what it uses, what it keeps unused (idle, of which some is released to
// the system) and the size at which the next GC runs.
type bigmoveHeapStats struct {
	inUse, idle, released, nextGC int64
	err                           error
}

// bigmoveHeap reads a shard's heap figures, to read its RSS by.
func bigmoveHeap(c *rbCluster, id string) bigmoveHeapStats {
	m, err := c.rbMetrics(id)
	if err != nil {
		return bigmoveHeapStats{err: err}
	}
	return bigmoveHeapStats{
		inUse: int64(m["go_memstats_heap_inuse_bytes"]), idle: int64(m["go_memstats_heap_idle_bytes"]),
		released: int64(m["go_memstats_heap_released_bytes"]), nextGC: int64(m["go_memstats_next_gc_bytes"]),
	}
}

// headroom is how far garbage may grow the heap before the next GC; 0
// when the figures are missing.
func (h bigmoveHeapStats) headroom() int64 { return max(0, h.nextGC-h.inUse) }

func (h bigmoveHeapStats) String() string {
	if h.err != nil {
		return h.err.Error()
	}
	return fmt.Sprintf("in use %.1f MiB, idle %.1f MiB (%.1f released), next GC at %.1f MiB",
		bigmoveMiB(h.inUse), bigmoveMiB(h.idle), bigmoveMiB(h.released), bigmoveMiB(h.nextGC))
}

// bigmoveRSSFigures is what the sampler saw of one process, in bytes.
type bigmoveRSSFigures struct {
	before, peak, last int64
	peakAt             time.Duration // since the sampling began
	samples            int
	err                error   // the first failed read, if any
	every500ms         []int64 // a sample every 10th tick, for the log
}

func (f bigmoveRSSFigures) String() string {
	s := fmt.Sprintf("%.1f MiB before, peak %.1f MiB (+%.1f, at %v), %.1f MiB after (%d samples)",
		bigmoveMiB(f.before), bigmoveMiB(f.peak), bigmoveMiB(f.peak-f.before), f.peakAt.Round(time.Millisecond), bigmoveMiB(f.last), f.samples)
	var mibs []string
	for _, b := range f.every500ms {
		mibs = append(mibs, strconv.Itoa(int(b>>20)))
	}
	s += "; every 500 ms (MiB): " + strings.Join(mibs, " ")
	if f.err != nil {
		s += fmt.Sprintf("; sampling failed: %v", f.err)
	}
	return s
}

func bigmoveMiB(b int64) float64 { return float64(b) / (1 << 20) }

// bigmoveSampler samples the RSS of processes every bigmoveSampleEvery.
type bigmoveSampler struct {
	pids    map[string]func() int         // a process's pid, or 0 while it has none
	figures map[string]*bigmoveRSSFigures // owned by the sampling goroutine until done
	halt    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// bigmoveStartSampler samples the processes until stop, from a first
// sample of each known now; a process's before is its first sample. The
// test's cleanup stops it if the test does not.
func bigmoveStartSampler(t *testing.T, pids map[string]func() int) *bigmoveSampler {
	s := &bigmoveSampler{pids: pids, figures: map[string]*bigmoveRSSFigures{}, halt: make(chan struct{}), done: make(chan struct{})}
	for name := range pids {
		s.figures[name] = &bigmoveRSSFigures{}
	}
	start := time.Now()
	s.sample(start)
	go func() {
		defer close(s.done)
		tick := time.NewTicker(bigmoveSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-s.halt:
				return
			case <-tick.C:
			}
			s.sample(start)
		}
	}()
	t.Cleanup(func() { s.stop() })
	return s
}

// sample reads every known process's RSS once.
func (s *bigmoveSampler) sample(start time.Time) {
	for name, pidOf := range s.pids {
		pid := pidOf()
		if pid == 0 {
			continue
		}
		f := s.figures[name]
		rss, err := bigmoveRSS(pid)
		if err != nil {
			if f.err == nil {
				f.err = err
			}
			continue
		}
		if f.samples == 0 {
			f.before, f.peak = rss, rss
		}
		if f.samples%10 == 0 {
			f.every500ms = append(f.every500ms, rss)
		}
		f.samples++
		f.last = rss
		if rss > f.peak {
			f.peak, f.peakAt = rss, time.Since(start)
		}
	}
}

// stop ends the sampling and returns the figures by process name.
func (s *bigmoveSampler) stop() map[string]bigmoveRSSFigures {
	s.once.Do(func() { close(s.halt) })
	<-s.done
	out := map[string]bigmoveRSSFigures{}
	for name, f := range s.figures {
		out[name] = *f
	}
	return out
}

// bigmoveRSS reads a process's resident set size from /proc.
func bigmoveRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %v", rest, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS (a zombie?)", pid)
}
