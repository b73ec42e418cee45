package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/ring"
)

const (
	// rbMaxShards is the most shards a rebalance test runs at once; the
	// ports of that many are checked free before the start.
	rbMaxShards = 6
	// rbSettleTimeout bounds the wait for the cluster to settle after a
	// join or a decommission.
	rbSettleTimeout = 2 * time.Minute
	// rbRetryable are the error codes the proxy documents as safe to
	// retry that a client may see while partitions move: a request that
	// did not run (TRYAGAIN), a write refused for want of in-sync copies
	// (NOREPLICAS) and a write whose copies did not answer in time
	// (NOTACKED, outcome unknown).
	rbRetryable = "TRYAGAIN NOREPLICAS NOTACKED"
)

// rbCluster is a cluster of separate processes run by scripts/local-cluster
// with the clients of its proxies.
type rbCluster struct {
	*lcCluster
	rf      int
	shards  []string // the shards the cluster should have now
	proxies []string
	clients []*redis.Client
}

// rbStart starts 3 shards and 2 proxies with extraEnv (on top of the
// script's defaults: RF 3, fsync every second), on ports with room for
// rbMaxShards shards.
func rbStart(t *testing.T, extraEnv []string) *rbCluster {
	t.Helper()
	script, bin := lcScriptPath(t), procBinary(t)
	for attempt := 1; ; attempt++ {
		c := &lcCluster{script: script, bin: bin, runDir: t.TempDir(), base: lcFreeBase(t, rbMaxShards, lcProxies), pids: map[int]bool{}}
		t.Cleanup(func() { c.cleanup(t) })
		start := time.Now()
		out, err := c.run(extraEnv, "start", strconv.Itoa(lcShards), strconv.Itoa(lcProxies))
		if err == nil {
			t.Logf("local-cluster start %d %d with BASE_PORT=%d %v (%v):\n%s", lcShards, lcProxies, c.base, extraEnv,
				time.Since(start).Round(time.Millisecond), out)
			rc := &rbCluster{lcCluster: c, rf: 3}
			for i := 1; i <= lcShards; i++ {
				rc.shards = append(rc.shards, "shard-"+strconv.Itoa(i))
			}
			b, err := os.ReadFile(filepath.Join(c.runDir, "proxies"))
			if err != nil {
				t.Fatalf("the proxies file: %v", err)
			}
			rc.proxies = strings.Fields(string(b))
			for _, addr := range rc.proxies {
				rc.clients = append(rc.clients, rbClient(t, addr))
			}
			return rc
		}
		if attempt == 2 {
			t.Fatalf("local-cluster start %d %d with BASE_PORT=%d: %v\n%s", lcShards, lcProxies, c.base, err, out)
		}
		t.Logf("local-cluster start with BASE_PORT=%d failed, trying other ports: %v\n%s", c.base, err, out)
	}
}

// rbClient is a go-redis client of one proxy that never retries, with a
// connection for every load worker, so no operation waits for another's.
func rbClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  rbOpTimeout,
		WriteTimeout: rbOpTimeout,
		MaxRetries:   -1, // 0 would mean go-redis's default of 3 retries
		PoolSize:     procPartitions + 4,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// rbAddOutput matches the id `add` prints.
var rbAddOutput = regexp.MustCompile(`(?m)^(shard-[0-9]+)$`)

// add runs the script's add and returns the new shard's id.
func (c *rbCluster) add(t *testing.T) string {
	t.Helper()
	out := c.must(t, nil, "add")
	m := rbAddOutput.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("local-cluster add printed %q; want one line with the new shard's id", out)
	}
	id := m[0][1]
	if slices.Contains(c.shards, id) {
		t.Fatalf("local-cluster add handed out %s, which is already a shard", id)
	}
	c.shards = append(c.shards, id)
	return id
}

// decommission runs the script's decommission of id, allowing the drain
// rbSettleTimeout.
func (c *rbCluster) decommission(t *testing.T, id string) {
	t.Helper()
	start := time.Now()
	out, err := c.lcCluster.decommission(id)
	if err != nil {
		t.Fatalf("local-cluster decommission %s: %v\n%s", id, err, out)
	}
	t.Logf("local-cluster decommission %s (%v):\n%s", id, time.Since(start).Round(time.Millisecond), out)
	c.shards = slices.DeleteFunc(c.shards, func(s string) bool { return s == id })
}

// decommission runs the script's decommission of id (a number or
// shard-N), allowing the drain rbSettleTimeout.
func (c *lcCluster) decommission(id string) (string, error) {
	return c.runFor(rbSettleTimeout+lcScriptTimeout, c.runDir,
		[]string{"DRAIN_TIMEOUT=" + strconv.Itoa(int(rbSettleTimeout/time.Second))}, "decommission", id)
}

// rbStatus is the part of SHARDIS.STATUS the tests read.
type rbStatus struct {
	Epoch      uint64      `json:"epoch"`
	Partitions int         `json:"partitions"`
	RF         int         `json:"rf"`
	InSync     map[int]int `json:"partitions_by_insync"`
	Nodes      []struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Masters int    `json:"masters"`
		Copies  int    `json:"copies"`
	} `json:"nodes"`
	Migrations map[string]float64 `json:"migrations"`
}

func rbFetchStatus(rdb *redis.Client) (rbStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := rdb.Do(ctx, "SHARDIS.STATUS").Text()
	if err != nil {
		return rbStatus{}, fmt.Errorf("SHARDIS.STATUS: %w", err)
	}
	var st rbStatus
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return rbStatus{}, fmt.Errorf("SHARDIS.STATUS: %v in %s", err, raw)
	}
	return st, nil
}

// rbEven reports whether n is within one of an even share of total over
// nodes: between ⌊total/nodes⌋ and ⌈total/nodes⌉.
func rbEven(n, total, nodes int) bool {
	return n >= total/nodes && n <= (total+nodes-1)/nodes
}

// unsettled says why the cluster is not yet settled on exactly c.shards,
// or returns "" once it is: in the map every partition has RF placed
// copies, all on c.shards and all in sync, its master is the placement's
// first; masters and copies per shard are within one of even; and every
// proxy routes by that map or a newer one and reports no migration in
// flight or remaining, every partition at RF in-sync copies and every
// shard of c.shards up with the map's counts.
func (c *rbCluster) unsettled() (string, cluster.State) {
	st, err := chaosMap(c.lcCluster)
	if err != nil {
		return "the map: " + err.Error(), st
	}
	for _, id := range c.shards {
		if n, ok := st.Nodes[id]; !ok || !n.Up {
			return fmt.Sprintf("map epoch %d: %s is not listed up", st.Epoch, id), st
		}
	}
	masters, copies := map[string]int{}, map[string]int{}
	moving := 0
	first := ""
	for p, ps := range st.Parts {
		why := ""
		switch {
		case len(ps.Replicas) != st.RF:
			why = fmt.Sprintf("placed on %v, not %d shards", ps.Replicas, st.RF)
		case ps.Master != ps.Replicas[0]:
			why = fmt.Sprintf("master %q, placement's first %s", ps.Master, ps.Replicas[0])
		case !ctlSameIDs(ps.InSync, ps.Replicas):
			why = fmt.Sprintf("in sync %v, placed %v", ps.InSync, ps.Replicas)
		}
		for _, id := range ps.Replicas {
			if why == "" && !slices.Contains(c.shards, id) {
				why = fmt.Sprintf("placed on %s, which is leaving", id)
			}
			copies[id]++
		}
		masters[ps.Master]++
		if why != "" {
			moving++
			if first == "" {
				first = fmt.Sprintf("partition %d %s", p, why)
			}
		}
	}
	if moving > 0 {
		return fmt.Sprintf("map epoch %d: %d partitions not settled, e.g. %s", st.Epoch, moving, first), st
	}
	for _, id := range c.shards {
		if !rbEven(masters[id], len(st.Parts), len(c.shards)) || !rbEven(copies[id], len(st.Parts)*st.RF, len(c.shards)) {
			return fmt.Sprintf("map epoch %d: %s masters %d and holds %d copies, not within one of even over %d shards",
				st.Epoch, id, masters[id], copies[id], len(c.shards)), st
		}
	}
	for i, rdb := range c.clients {
		ps, err := rbFetchStatus(rdb)
		if err != nil {
			return fmt.Sprintf("proxy %d: %v", i+1, err), st
		}
		if ps.Epoch < st.Epoch {
			return fmt.Sprintf("proxy %d routes by epoch %d, the map is at %d", i+1, ps.Epoch, st.Epoch), st
		}
		if ps.Migrations["in_flight"] != 0 || ps.Migrations["remaining"] != 0 {
			return fmt.Sprintf("proxy %d: migrations %v", i+1, ps.Migrations), st
		}
		if len(ps.InSync) != 1 || ps.InSync[st.RF] != len(st.Parts) {
			return fmt.Sprintf("proxy %d: partitions by in-sync copies %v, want all %d at %d", i+1, ps.InSync, len(st.Parts), st.RF), st
		}
		listed := 0
		for _, n := range ps.Nodes {
			if !slices.Contains(c.shards, n.ID) {
				if n.Masters != 0 || n.Copies != 0 {
					return fmt.Sprintf("proxy %d: %s (leaving) still masters %d and holds %d copies", i+1, n.ID, n.Masters, n.Copies), st
				}
				continue
			}
			listed++
			if n.State != "up" || n.Masters != masters[n.ID] || n.Copies != copies[n.ID] {
				return fmt.Sprintf("proxy %d: %s is %s with %d masters and %d copies; the map has %d and %d",
					i+1, n.ID, n.State, n.Masters, n.Copies, masters[n.ID], copies[n.ID]), st
			}
		}
		if listed != len(c.shards) {
			return fmt.Sprintf("proxy %d lists %d of the %d shards", i+1, listed, len(c.shards)), st
		}
	}
	return "", st
}

// ctlSameIDs reports whether a and b hold the same IDs in any order.
func ctlSameIDs(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(id string) bool { return !slices.Contains(b, id) })
}

// waitSettled waits until the cluster settles on c.shards (see unsettled)
// and returns the map it settled on.
func (c *rbCluster) waitSettled(t *testing.T, what string) cluster.State {
	t.Helper()
	start := time.Now()
	deadline := start.Add(rbSettleTimeout)
	last := ""
	for {
		why, st := c.unsettled()
		if why == "" {
			t.Logf("%s: settled on %v at map epoch %d after %v", what, c.shards, st.Epoch, time.Since(start).Round(time.Millisecond))
			return st
		}
		if why != last {
			t.Logf("%s: waiting: %s", what, why)
			last = why
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the cluster did not settle on %v within %v: %s", what, c.shards, rbSettleTimeout, why)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// rbMetrics scrapes shard id's /metrics (on BASE_PORT+200+i) and returns
// every sample summed over its labels, by metric name.
func (c *rbCluster) rbMetrics(id string) (map[string]float64, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "shard-"))
	if err != nil {
		return nil, fmt.Errorf("shard id %q", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", c.base+200+i)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = line[:i]
			_, rest, ok = strings.Cut(line[strings.LastIndexByte(line, '}'):], " ")
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64); err == nil {
			out[name] += v
		}
	}
	return out, sc.Err()
}

// rbData is what the test wrote to one partition.
type rbData struct{ keys, bytes int }

// rbDataByPartition counts the preloaded keys and their bytes (key and
// value) by partition.
func rbDataByPartition(keys []string, size int) []rbData {
	data := make([]rbData, procPartitions)
	for _, k := range keys {
		p := ring.Partition([]byte(k), procPartitions)
		data[p].keys++
		data[p].bytes += len(k) + size
	}
	return data
}

// logMoved logs the copies that moved between two maps and the preloaded
// keys and bytes they carried, with the migration counts of a proxy's
// status and the move metrics the shards ids export, if any (their names
// hold "migrat" or "snapshot"; counters since each shard started).
func (c *rbCluster) logMoved(t *testing.T, what string, before, after cluster.State, data []rbData, ids []string) {
	copies, parts, keys, bytes := 0, 0, 0, 0
	for p := range after.Parts {
		n := 0
		for _, id := range after.Parts[p].Replicas {
			if !slices.Contains(before.Parts[p].Replicas, id) {
				n++
			}
		}
		copies += n
		keys += n * data[p].keys
		bytes += n * data[p].bytes
		if n > 0 {
			parts++
		}
	}
	moves := map[string]float64{}
	if st, err := rbFetchStatus(c.clients[0]); err == nil {
		for k, v := range st.Migrations {
			moves["status migrations."+k] = v
		}
	}
	for _, id := range ids {
		m, err := c.rbMetrics(id)
		if err != nil {
			t.Logf("metrics of %s: %v", id, err)
			continue
		}
		for name, v := range m {
			if strings.Contains(name, "migrat") || strings.Contains(name, "snapshot") {
				moves[name] += v
			}
		}
	}
	t.Logf("%s moved %d copies of %d partitions, carrying %d preloaded keys (%.1f MB) and the load's keys; status and the move metrics of %v: %v",
		what, copies, parts, keys, float64(bytes)/1e6, ids, moves)
}

// rbPreload writes n keys of size bytes through rdb, pipelined, and
// returns them; each value is its key repeated to the size.
func rbPreload(t *testing.T, rdb *redis.Client, prefix string, n, size int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys := make([]string, n)
	for i := 0; i < n; i += 200 {
		pipe := rdb.Pipeline()
		for j := i; j < min(n, i+200); j++ {
			keys[j] = prefix + strconv.Itoa(j)
			pipe.Set(ctx, keys[j], rbValue(keys[j], size), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("preloading %d keys of %d bytes: %v", n, size, err)
		}
	}
	return keys
}

// rbValue is the preloaded value of key: the key repeated to size bytes.
func rbValue(key string, size int) string {
	return strings.Repeat(key+";", size/(len(key)+1)+1)[:size]
}

// rbCheckPreload reads the preloaded keys back through rdb and fails the
// test for each missing or changed.
func rbCheckPreload(t *testing.T, what string, rdb *redis.Client, keys []string, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vals, err := chaosReadBack(ctx, t, rdb, keys)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	bad := 0
	for i, v := range vals {
		if v == nil || *v != rbValue(keys[i], size) {
			bad++
			if bad <= 5 {
				got := "(nil)"
				if v != nil {
					got = fmt.Sprintf("%d bytes %.40q…", len(*v), *v)
				}
				t.Errorf("%s: GET %s = %s, want its %d-byte value", what, keys[i], got, size)
			}
		}
	}
	t.Logf("%s: %d preloaded keys read back, %d missing or changed", what, len(keys), bad)
	if bad > 0 {
		t.Errorf("%s: %d of %d preloaded keys lost", what, bad, len(keys))
	}
}

// rbWaitOps waits until the load has acknowledged n more operations than
// it had at the call, so a measurement window holds enough of them.
func rbWaitOps(t *testing.T, ok *atomic.Int64, n int64) {
	t.Helper()
	want := ok.Load() + n
	deadline := time.Now().Add(time.Minute)
	for ok.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("the load acknowledged %d operations in a minute, want %d", ok.Load()-want+n, n)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// rbPhase is a stretch of a rebalance test, on the load's clock.
type rbPhase struct {
	name     string
	from, to time.Duration
}

// rbReport logs the figures of a rebalance test: time per phase, p99
// latency of successful operations per phase, and the longest write
// pauses per partition.
func rbReport(t *testing.T, l *rbLoad, phases []rbPhase) {
	for _, ph := range phases {
		p99, n := l.p99(ph.from, ph.to)
		t.Logf("phase %-8s %8v (at %v–%v of the load): %d successful operations, p99 latency %v",
			ph.name, (ph.to - ph.from).Round(time.Millisecond), ph.from.Round(time.Millisecond), ph.to.Round(time.Millisecond), n, p99)
	}
	pauses := l.longestPauses()
	for i, p := range pauses[:min(3, len(pauses))] {
		in := ""
		for _, ph := range phases {
			if p.from < ph.to && p.to > ph.from {
				in += " " + ph.name
			}
		}
		t.Logf("longest write pause #%d: partition %d, %v (from %v to %v; during%s)", i+1, p.part,
			(p.to - p.from).Round(time.Millisecond), p.from.Round(time.Millisecond), p.to.Round(time.Millisecond), in)
	}
}

// TestRebalanceGrowShrink grows a cluster of separate processes from 3 to
// 5 shards and shrinks it back to 3 under a steady load of reads and
// writes through both proxies: every partition moves online, no
// acknowledged write is lost, reads always see the last acknowledged
// write, clients see no error but the retryable ones, and the cluster
// ends balanced with every partition fully in sync. Shard 1 is the only
// controller voter, so the two original shards 2 and 3 can be the ones
// decommissioned and their data must move to the joiners.
// SHARDIS_REBALANCE_LONG=1 runs it with ten times the data.
func TestRebalanceGrowShrink(t *testing.T) {
	begin := time.Now()
	preload, size := 10000, 1024
	if os.Getenv("SHARDIS_REBALANCE_LONG") == "1" {
		preload, size = 50000, 2048
	}
	c := rbStart(t, []string{"VOTERS=1"})
	initial := c.waitSettled(t, "after start")

	t0 := time.Now()
	pre := rbPreload(t, c.clients[0], "rb:pre:", preload, size)
	t.Logf("preloaded %d keys of %d bytes (%.1f MB, %d copies) in %v", preload, size,
		float64(preload*size)/1e6, c.rf, time.Since(t0).Round(time.Millisecond))

	var okOps atomic.Int64
	l := rbStartLoad(t, c.clients, procPartitions, &okOps)
	rbWaitOps(t, &okOps, 3000)
	var phases []rbPhase
	mark := l.since()
	phases = append(phases, rbPhase{name: "before", from: 0, to: mark})

	// Grow: two shards join, the second while the first's copies move.
	added := []string{c.add(t), c.add(t)}
	grown := c.waitSettled(t, "after adding "+strings.Join(added, " and "))
	phases = append(phases, rbPhase{name: "grow", from: mark, to: l.since()})
	mark = l.since()
	data := rbDataByPartition(pre, size)
	c.logMoved(t, "grow", initial, grown, data, added)

	rbWaitOps(t, &okOps, 1000)
	phases = append(phases, rbPhase{name: "between", from: mark, to: l.since()})
	mark = l.since()

	// Shrink: two of the original shards leave.
	leaving := []string{"shard-2", "shard-3"}
	for _, id := range leaving {
		c.decommission(t, id)
	}
	shrunk := c.waitSettled(t, "after decommissioning "+strings.Join(leaving, " and "))
	phases = append(phases, rbPhase{name: "shrink", from: mark, to: l.since()})
	c.logMoved(t, "shrink", grown, shrunk, data, c.shards)
	mark = l.since()
	rbWaitOps(t, &okOps, 1000)
	l.Stop()
	phases = append(phases, rbPhase{name: "after", from: mark, to: l.ended})

	rbReport(t, l, phases)
	l.checkErrors(t, strings.Fields(rbRetryable)...)
	l.checkReads(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, rdb := range c.clients {
		l.checkFinal(ctx, t, fmt.Sprintf("through proxy %d", i+1), rdb)
		rbCheckPreload(t, fmt.Sprintf("through proxy %d", i+1), rdb, pre, size)
	}
	if why, _ := c.unsettled(); why != "" {
		t.Errorf("at the end: %s", why)
	}
	t.Logf("rebalance test took %v", time.Since(begin).Round(time.Millisecond))
}
