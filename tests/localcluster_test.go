package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// lcShards and lcProxies are the size of the scripted cluster.
	lcShards  = 3
	lcProxies = 2
	// lcScriptTimeout bounds one run of the script.
	lcScriptTimeout = time.Minute
	// lcSyncMargin is how long a write must be acknowledged before a kill -9
	// to be durable: the everysec fsync interval plus slack.
	lcSyncMargin = 1500 * time.Millisecond
)

// lcCluster is a cluster run by scripts/local-cluster in its own RUN_DIR.
type lcCluster struct {
	script string
	bin    string
	runDir string
	base   int
	pids   map[int]bool // every node pid seen; the cleanup kills survivors
	// nShards is how many shards status must list; 0 means lcShards.
	nShards int
}

// lcScriptPath is scripts/local-cluster of this repository.
func lcScriptPath(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "scripts", "local-cluster"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the script: %v", err)
	}
	return p
}

// lcPortOffsets are the ports, relative to BASE_PORT, a cluster of
// shards and proxies listens on: script ports at BASE_PORT+i (shards),
// +100+j (proxies), and their metrics ports 200 above.
func lcPortOffsets(shards, proxies int) []int {
	var offs []int
	for i := 1; i <= shards; i++ {
		offs = append(offs, i, 200+i)
	}
	for j := 1; j <= proxies; j++ {
		offs = append(offs, 100+j, 300+j)
	}
	return offs
}

// lcFreeBase finds a BASE_PORT under which every port of a cluster of
// shards and proxies is free right now. Bases are below Linux's ephemeral
// range, so outgoing connections do not take them meanwhile.
func lcFreeBase(t testing.TB, shards, proxies int) int {
	t.Helper()
	for attempt := 0; attempt < 100; attempt++ {
		base := 20000 + rand.IntN(12000)
		var held []net.Listener
		free := true
		for _, off := range lcPortOffsets(shards, proxies) {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+off)))
			if err != nil {
				free = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			_ = l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free range of ports for the local cluster")
	return 0
}

// run runs the script with args in the cluster's RUN_DIR and returns its
// combined output.
func (c *lcCluster) run(extraEnv []string, args ...string) (string, error) {
	return c.runIn(c.runDir, extraEnv, args...)
}

func (c *lcCluster) runIn(runDir string, extraEnv []string, args ...string) (string, error) {
	return c.runFor(lcScriptTimeout, runDir, extraEnv, args...)
}

// runFor is runIn with a time limit of its own, for commands that wait on
// the cluster for longer than lcScriptTimeout (a decommission's drain).
func (c *lcCluster) runFor(limit time.Duration, runDir string, extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.script, args...)
	cmd.Dir = os.TempDir() // RUN_DIR is absolute; the script works from any directory
	cmd.Env = append(os.Environ(),
		"RUN_DIR="+runDir,
		"BASE_PORT="+strconv.Itoa(c.base),
		"BIN="+c.bin,
		"PARTITIONS="+strconv.Itoa(procPartitions),
		"TIMEOUT=20",
		"STOP_TIMEOUT=10",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.WaitDelay = 5 * time.Second // the nodes it starts must not hold its output open
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs the script and fails the test if it fails.
func (c *lcCluster) must(t *testing.T, extraEnv []string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := c.run(extraEnv, args...)
	if err != nil {
		t.Fatalf("local-cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("local-cluster %s (%v):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
	return out
}

// lcNodeStatus is one line of `status`.
type lcNodeStatus struct {
	role, id, addr, state string
	pid                   int
}

// status runs `status` and returns its lines by node name (shard-1, proxy-2).
func (c *lcCluster) status(t *testing.T) map[string]lcNodeStatus {
	t.Helper()
	out, err := c.run(nil, "status")
	if err != nil {
		t.Fatalf("local-cluster status: %v\n%s", err, out)
	}
	nodes := map[string]lcNodeStatus{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("status line %q: want role, id, address, pid, state", line)
		}
		s := lcNodeStatus{role: f[0], id: f[1], addr: f[2], state: f[4]}
		if f[3] != "-" {
			pid, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatalf("status line %q: pid: %v", line, err)
			}
			s.pid = pid
			c.pids[pid] = true
		}
		nodes[s.role+"-"+s.id] = s
	}
	shards := lcShards
	if c.nShards > 0 {
		shards = c.nShards
	}
	if len(nodes) != shards+lcProxies {
		t.Fatalf("status lists %d nodes, want %d:\n%s", len(nodes), shards+lcProxies, out)
	}
	return nodes
}

// lcAlive reports whether pid is a live process; a zombie (killed, not yet
// reaped by its new parent) is not.
func lcAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false
		}
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	state := s[i+2]
	return state != 'Z' && state != 'X'
}

// isNode reports whether pid runs the test's shardis binary, so a reused
// pid is never killed.
func (c *lcCluster) isNode(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.HasPrefix(string(b), c.bin+"\x00")
}

// cleanup stops the cluster with the script, then kills any node still
// alive, and prints the logs if the test failed.
func (c *lcCluster) cleanup(t *testing.T) {
	if files, _ := filepath.Glob(filepath.Join(c.runDir, "*.pid")); len(files) > 0 {
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					c.pids[pid] = true
				}
			}
		}
	}
	tail := int64(8 << 10)
	if t.Failed() {
		// Every node still running writes its goroutines' stacks to its
		// log as it exits (Go's SIGQUIT), so that a request stuck somewhere
		// shows where; the logs below are then printed at more length.
		dumped := false
		for pid := range c.pids {
			if lcAlive(pid) && c.isNode(pid) && syscall.Kill(pid, syscall.SIGQUIT) == nil {
				dumped = true
			}
		}
		if dumped {
			tail = 256 << 10
			deadline := time.Now().Add(5 * time.Second)
			for pid := range c.pids {
				for lcAlive(pid) && c.isNode(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond) // polling for the dump to finish
				}
			}
		}
	}
	if out, err := c.run(nil, "stop"); err != nil && !strings.Contains(out, "no cluster") && !t.Failed() {
		t.Errorf("cleanup: local-cluster stop: %v\n%s", err, out)
	}
	for pid := range c.pids {
		if lcAlive(pid) && c.isNode(pid) {
			t.Errorf("cleanup: pid %d still running after stop; killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(c.runDir, "*.log"))
		for _, l := range logs {
			t.Logf("---- %s:\n%s", l, procTail(l, tail))
		}
	}
}

// lcStart runs `start 3 2` on free ports in a new RUN_DIR with extraEnv,
// trying a second range of ports if the first fails (another process may
// take a port between the probe and the start).
func lcStart(t *testing.T, extraEnv []string) *lcCluster {
	t.Helper()
	script, bin := lcScriptPath(t), procBinary(t)
	for attempt := 1; ; attempt++ {
		c := &lcCluster{script: script, bin: bin, runDir: t.TempDir(), base: lcFreeBase(t, lcShards, lcProxies), pids: map[int]bool{}}
		t.Cleanup(func() { c.cleanup(t) })
		start := time.Now()
		out, err := c.run(extraEnv, "start", strconv.Itoa(lcShards), strconv.Itoa(lcProxies))
		if err == nil {
			t.Logf("local-cluster start %d %d with BASE_PORT=%d (%v):\n%s", lcShards, lcProxies, c.base, time.Since(start).Round(time.Millisecond), out)
			return c
		}
		if attempt == 2 {
			t.Fatalf("local-cluster start %d %d with BASE_PORT=%d: %v\n%s", lcShards, lcProxies, c.base, err, out)
		}
		t.Logf("local-cluster start with BASE_PORT=%d failed, trying other ports: %v\n%s", c.base, err, out)
	}
}

// lcClient is a go-redis client of one proxy that never retries, so an
// error reply reaches the test as is.
func lcClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  5 * time.Second,
		WriteTimeout: 5 * time.Second,
		MaxRetries:   -1,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// lcCheckAll reads every key through rdb and fails the test for any error,
// missing key or wrong value.
func lcCheckAll(t *testing.T, what string, rdb *redis.Client, keys []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vals, err := procGetAll(ctx, rdb, keys)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	bad := 0
	for i, v := range vals {
		if v == nil || *v != "v-"+keys[i] {
			bad++
			if bad <= 5 {
				t.Errorf("%s: GET %s = %v, want %q", what, keys[i], lcShow(v), "v-"+keys[i])
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d keys missing or wrong", what, bad, len(keys))
	}
}

func lcShow(v *string) string {
	if v == nil {
		return "(nil)"
	}
	return strconv.Quote(*v)
}

// wantStates checks every node's state in `status` and that the pids of
// running nodes are alive.
func (c *lcCluster) wantStates(t *testing.T, what string, want func(name string) string) map[string]lcNodeStatus {
	t.Helper()
	nodes := c.status(t)
	for name, s := range nodes {
		if s.state != want(name) {
			t.Errorf("%s: status of %s is %q, want %q", what, name, s.state, want(name))
		}
		if s.state == "running" && !lcAlive(s.pid) {
			t.Errorf("%s: status says %s runs as pid %d, which is not alive", what, name, s.pid)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return nodes
}

// wantAllStopped checks that no node process seen so far is alive.
func (c *lcCluster) wantAllStopped(t *testing.T, what string) {
	t.Helper()
	for pid := range c.pids {
		if lcAlive(pid) && c.isNode(pid) {
			t.Errorf("%s: pid %d is still running", what, pid)
		}
	}
	c.wantStates(t, what, func(string) string { return "stopped" })
}

// TestLocalCluster drives scripts/local-cluster through a cluster's life:
// start 3 shards and 2 proxies, write through one proxy and read through the
// other, kill -9 a shard (its partitions fail over, every key still reads),
// restart it (nothing acknowledged before the last fsync is lost), stop,
// and start the stopped cluster again on its data.
func TestLocalCluster(t *testing.T) {
	begin := time.Now()
	// The first start uses the script's built-in bash client for its
	// readiness check; later commands use redis-cli when it is installed.
	c := lcStart(t, []string{"REDIS_CLI="})

	if out, err := c.run(nil, "start", "3", "2"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("a second start in the same RUN_DIR: %v, output %q; want a refusal saying a cluster is already running", err, out)
	}
	if out, err := c.runIn(t.TempDir(), nil, "start", "3", "2"); err == nil || !strings.Contains(out, "in use") {
		t.Errorf("a start in another RUN_DIR on the same ports: %v, output %q; want a refusal naming the ports in use", err, out)
	}

	b, err := os.ReadFile(filepath.Join(c.runDir, "proxies"))
	if err != nil {
		t.Fatalf("the proxies file: %v", err)
	}
	proxies := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	wantProxies := []string{
		net.JoinHostPort("127.0.0.1", strconv.Itoa(c.base+101)),
		net.JoinHostPort("127.0.0.1", strconv.Itoa(c.base+102)),
	}
	if strings.Join(proxies, ",") != strings.Join(wantProxies, ",") {
		t.Fatalf("proxies file lists %q, want %q", proxies, wantProxies)
	}
	nodes := c.wantStates(t, "after start", func(string) string { return "running" })
	shard2Addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.base+2))
	if nodes["shard-2"].addr != shard2Addr {
		t.Fatalf("status gives shard 2 the address %s, want %s", nodes["shard-2"].addr, shard2Addr)
	}

	p1, p2 := lcClient(t, proxies[0]), lcClient(t, proxies[1])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys := make([]string, 1000)
	pipe := p1.Pipeline()
	for i := range keys {
		keys[i] = "lc:" + strconv.Itoa(i)
		pipe.Set(ctx, keys[i], "v-"+keys[i], 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("writing %d keys through %s: %v", len(keys), proxies[0], err)
	}
	lastWrite := time.Now()
	lcCheckAll(t, "read through proxy 2", p2, keys)

	// Writes acknowledged more than one fsync interval ago survive kill -9.
	if d := time.Until(lastWrite.Add(lcSyncMargin)); d > 0 {
		time.Sleep(d)
	}
	c.must(t, nil, "kill", "2")
	if pid := nodes["shard-2"].pid; lcAlive(pid) {
		t.Fatalf("shard 2 (pid %d) is alive after kill 2", pid)
	}
	c.wantStates(t, "after kill 2", func(name string) string {
		if name == "shard-2" {
			return "stopped"
		}
		return "running"
	})

	failed, worked := 0, 0
	var slowest time.Duration
	for _, k := range keys {
		start := time.Now()
		v, err := p2.Get(ctx, k).Result()
		took := time.Since(start)
		slowest = max(slowest, took)
		if took > 3*time.Second {
			t.Errorf("GET %s with shard 2 down took %v: beyond the proxy's retry budget", k, took)
		}
		var re redis.Error
		switch {
		case err == nil:
			worked++
			if v != "v-"+k {
				t.Errorf("GET %s with shard 2 down = %q, want %q", k, v, "v-"+k)
			}
		case errors.As(err, &re) && err != redis.Nil:
			failed++
			// CLUSTERDOWN for a request already sent to the dying shard;
			// TRYAGAIN when the failover outlasted the retry budget (the
			// dead shard led the controller: an election comes first).
			if msg := err.Error(); !(strings.HasPrefix(msg, "CLUSTERDOWN ") && strings.Contains(msg, shard2Addr)) && !strings.HasPrefix(msg, "TRYAGAIN ") {
				t.Errorf("GET %s with shard 2 down: error %q, want CLUSTERDOWN naming %s or TRYAGAIN", k, msg, shard2Addr)
			}
		default:
			t.Fatalf("GET %s with shard 2 down: %v; want a value or an error reply", k, err)
		}
	}
	t.Logf("shard 2 down: %d GETs answered, %d failed, slowest %v", worked, failed, slowest)
	// Every partition has three copies: shard 2's partitions fail over and
	// the proxy holds requests for them until they do. Only a request
	// already sent when the shard died may fail.
	if failed > 2 {
		t.Fatalf("shard 2 down: %d GETs answered and %d failed; want every GET answered by the failover", worked, failed)
	}

	c.must(t, nil, "restart", "2")
	c.wantStates(t, "after restart 2", func(string) string { return "running" })
	// restart returns once every proxy reaches the shard again.
	lcCheckAll(t, "read through proxy 1 after restart 2", p1, keys)
	lcCheckAll(t, "read through proxy 2 after restart 2", p2, keys)

	_ = p1.Close()
	_ = p2.Close()
	if out := c.must(t, nil, "stop"); strings.Contains(out, "SIGKILL") {
		t.Errorf("stop needed SIGKILL; every node should exit on SIGTERM:\n%s", out)
	}
	c.wantAllStopped(t, "after stop")
	if _, err := os.Stat(filepath.Join(c.runDir, "proxies")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("proxies file after stop: %v; want it removed", err)
	}

	// start without arguments resumes the stopped cluster on its data.
	c.must(t, nil, "start")
	c.wantStates(t, "after resuming", func(string) string { return "running" })
	p2 = lcClient(t, proxies[1])
	lcCheckAll(t, "read through proxy 2 after stop and start", p2, keys)
	if n, err := p2.DBSize(ctx).Result(); err != nil || n != int64(len(keys)) {
		t.Errorf("DBSIZE after start = %d, %v; want %d (readiness keys must be deleted)", n, err, len(keys))
	}
	_ = p2.Close()
	c.must(t, nil, "stop")
	c.wantAllStopped(t, "after the final stop")
	t.Logf("local cluster test took %v", time.Since(begin).Round(time.Millisecond))
}

// lcMustFail runs the script, expecting it to refuse with a message
// containing want.
func (c *lcCluster) mustFail(t *testing.T, want string, args ...string) {
	t.Helper()
	out, err := c.run(nil, args...)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("local-cluster %s: %v, output %q; want a refusal saying %q", strings.Join(args, " "), err, out, want)
	}
}

// TestLocalClusterAddDecommission drives the script's add and decommission
// on a cluster whose only controller voter is shard 1: a shard joins and
// gets its share of the partitions while keys written before keep reading
// through both proxies; stop and start keep it; a decommissioned shard is
// drained, stopped and forgotten, and its id is not handed out again.
func TestLocalClusterAddDecommission(t *testing.T) {
	begin := time.Now()
	c := rbStart(t, []string{"VOTERS=1"})
	c.mustFail(t, "runs the controller", "decommission", "1")
	c.mustFail(t, "fewer than RF=3", "decommission", "3")
	c.mustFail(t, "only shards", "decommission", "proxy-1")
	c.mustFail(t, "no node '4'", "decommission", "4")
	c.mustFail(t, "usage: add", "add", "5")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys := make([]string, 1000)
	pipe := c.clients[0].Pipeline()
	for i := range keys {
		keys[i] = "lcad:" + strconv.Itoa(i)
		pipe.Set(ctx, keys[i], "v-"+keys[i], 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("writing %d keys: %v", len(keys), err)
	}

	if id := c.add(t); id != "shard-4" {
		t.Fatalf("add started %s, want shard-4", id)
	}
	c.nShards = 4
	nodes := c.wantStates(t, "after add", func(string) string { return "running" })
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.base+4)); nodes["shard-4"].addr != want {
		t.Errorf("status gives shard 4 the address %s, want %s", nodes["shard-4"].addr, want)
	}
	c.waitSettled(t, "after add")
	lcCheckAll(t, "read through proxy 1 after add", c.clients[0], keys)
	lcCheckAll(t, "read through proxy 2 after add", c.clients[1], keys)

	// The added shard is part of the cluster for stop and start too.
	c.must(t, nil, "stop")
	c.wantAllStopped(t, "after stop")
	c.must(t, nil, "start")
	nodes = c.wantStates(t, "after resuming", func(string) string { return "running" })
	c.waitSettled(t, "after resuming")
	lcCheckAll(t, "read through proxy 2 after stop and start", c.clients[1], keys)

	pid := nodes["shard-4"].pid
	out, err := c.lcCluster.decommission("4")
	if err != nil {
		t.Fatalf("local-cluster decommission 4: %v\n%s", err, out)
	}
	if !strings.Contains(out, "decommissioned shard-4: drained and stopped") {
		t.Errorf("decommission 4 printed %q; want it to say shard-4 was drained and stopped", out)
	}
	c.shards = slices.DeleteFunc(c.shards, func(s string) bool { return s == "shard-4" })
	c.nShards = 3
	c.wantStates(t, "after decommission 4", func(string) string { return "running" })
	if lcAlive(pid) && c.isNode(pid) {
		t.Errorf("shard 4 (pid %d) still runs after decommission", pid)
	}
	c.mustFail(t, "no node '4'", "kill", "4")
	c.waitSettled(t, "after decommission 4")
	lcCheckAll(t, "read through proxy 1 after decommission 4", c.clients[0], keys)
	if id := c.add(t); id != "shard-5" {
		t.Errorf("add after decommissioning shard-4 started %s, want shard-5 (ids are never reused)", id)
	}
	c.nShards = 4
	for _, rdb := range c.clients {
		_ = rdb.Close()
	}
	c.must(t, nil, "stop")
	c.wantAllStopped(t, "after the final stop")
	t.Logf("add and decommission test took %v", time.Since(begin).Round(time.Millisecond))
}
