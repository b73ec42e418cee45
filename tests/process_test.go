package tests

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/ring"
)

const (
	// procPartitions is the partition count of the process clusters.
	procPartitions = 64
	// procStartTimeout bounds how long a process may take to accept
	// connections, and a cluster to serve every partition.
	procStartTimeout = 30 * time.Second
	// procStopTimeout bounds a clean shutdown after SIGTERM.
	procStopTimeout = 15 * time.Second
	// procBackendTimeout is the proxy's --backend-timeout in these tests.
	procBackendTimeout = 2 * time.Second
	// procLogTail is how much of each process's log a failed test prints.
	procLogTail = 16 << 10
)

// procNode is one shardis process (shard or proxy) that can be stopped and
// started again on the same port and data directory.
type procNode struct {
	name    string
	bin     string
	port    int
	args    func(port int) []string // the command line for a given port
	logPath string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, valid once exited is closed
}

// addr is the node's listen address.
func (n *procNode) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// procFreePort asks the kernel for a free loopback port. Another process may
// take it before ours binds it; start retries then.
func procFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// start runs the node and waits until it accepts connections. With
// newPort, a port clash makes it retry on another port; otherwise the node
// must come back on the port it had.
func (n *procNode) start(t testing.TB, newPort bool) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if newPort {
			n.port = procFreePort(t)
		}
		err := n.tryStart(t)
		if err == nil {
			return
		}
		clash := strings.Contains(strings.ToLower(err.Error()), "address already in use")
		if !newPort || !clash || attempt >= 4 {
			t.Fatalf("start %s: %v", n.name, err)
		}
	}
}

func (n *procNode) tryStart(t testing.TB) error {
	t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	args := n.args(n.port)
	fmt.Fprintf(logf, "==== %s: shardis %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := exec.Command(n.bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd = cmd
	n.exited = make(chan struct{})
	exited := n.exited
	go func() {
		n.waitErr = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(procStartTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("exited before accepting connections on %s (%v):\n%s", n.addr(), n.waitErr, procTail(n.logPath, 4<<10))
		default:
		}
		c, err := net.DialTimeout("tcp", n.addr(), time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			n.kill()
			return fmt.Errorf("not accepting connections on %s after %v", n.addr(), procStartTimeout)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// running reports whether the node's process is alive.
func (n *procNode) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *procNode) kill() {
	if !n.running() {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// signal sends sig to the running process.
func (n *procNode) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if !n.running() {
		t.Fatalf("%s is not running", n.name)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to %s: %v", sig, n.name, err)
	}
}

// stop sends SIGTERM and waits for a clean exit with status 0.
func (n *procNode) stop(t testing.TB) {
	t.Helper()
	n.signal(t, syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(procStopTimeout):
		n.kill()
		t.Fatalf("%s did not exit within %v of SIGTERM", n.name, procStopTimeout)
	}
	if n.waitErr != nil {
		t.Fatalf("%s exited after SIGTERM with %v, want status 0", n.name, n.waitErr)
	}
}

// procTail returns up to the last max bytes of a file.
func procTail(path string, max int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if int64(len(b)) > max {
		return "…" + string(b[int64(len(b))-max:])
	}
	return string(b)
}

// procCluster is three shard processes and a proxy process.
type procCluster struct {
	shards []*procNode
	proxy  *procNode
	rdb    *redis.Client // a client of the proxy
}

// procStart starts 3 file-backed shards (--sync everysec) and a proxy with
// --backend-timeout 2s, and waits until a SET of every partition succeeds
// through the proxy. Every process is killed when the test ends, and their
// logs are printed if it failed.
func procStart(t *testing.T) *procCluster {
	t.Helper()
	bin := procBinary(t)
	dir := t.TempDir()
	logDir := t.TempDir()
	pc := &procCluster{}
	t.Cleanup(func() {
		nodes := append(append([]*procNode(nil), pc.shards...), pc.proxy)
		for _, n := range nodes {
			if n != nil {
				n.kill()
			}
		}
		if t.Failed() {
			for _, n := range nodes {
				if n != nil {
					t.Logf("---- log of %s (%s):\n%s", n.name, n.logPath, procTail(n.logPath, procLogTail))
				}
			}
		}
	})
	var shardFlags []string
	for i := 1; i <= 3; i++ {
		id := "s" + strconv.Itoa(i)
		dataDir := filepath.Join(dir, id)
		n := &procNode{
			name:    "shard " + id,
			bin:     bin,
			logPath: filepath.Join(logDir, id+".log"),
			args: func(port int) []string {
				return []string{"shard", "--id", id, "--addr", "127.0.0.1:" + strconv.Itoa(port),
					"--data-dir", dataDir, "--partitions", strconv.Itoa(procPartitions), "--sync", "everysec"}
			},
		}
		pc.shards = append(pc.shards, n)
		n.start(t, true)
		shardFlags = append(shardFlags, "--shard", id+"="+n.addr())
	}
	pc.proxy = &procNode{
		name:    "proxy",
		bin:     bin,
		logPath: filepath.Join(logDir, "proxy.log"),
		args: func(port int) []string {
			args := []string{"proxy", "--addr", "127.0.0.1:" + strconv.Itoa(port),
				"--partitions", strconv.Itoa(procPartitions), "--backend-timeout", procBackendTimeout.String()}
			return append(args, shardFlags...)
		},
	}
	pc.proxy.start(t, true)
	pc.rdb = redis.NewClient(&redis.Options{
		Addr:         pc.proxy.addr(),
		DialTimeout:  5 * time.Second,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		PoolSize:     100, // so concurrent probes never queue for a connection
		MaxRetries:   -1,
	})
	t.Cleanup(func() { _ = pc.rdb.Close() })

	ready := procOnePerPartition("ready:")
	pc.waitAll(t, "SET of every partition through the proxy", func(ctx context.Context) error {
		for _, k := range ready {
			if err := pc.rdb.Set(ctx, k, "1", 0).Err(); err != nil {
				return fmt.Errorf("SET %s: %w", k, err)
			}
		}
		return nil
	})
	return pc
}

// waitAll polls fn until it succeeds, failing the test after procStartTimeout.
func (pc *procCluster) waitAll(t testing.TB, what string, fn func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(procStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := fn(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still failing after %v: %v", what, procStartTimeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// procGetAll reads keys with pipelined GETs. A nil value means the key is missing.
func procGetAll(ctx context.Context, rdb *redis.Client, keys []string) ([]*string, error) {
	out := make([]*string, 0, len(keys))
	for i := 0; i < len(keys); i += 500 {
		end := min(i+500, len(keys))
		pipe := rdb.Pipeline()
		cmds := make([]*redis.StringCmd, 0, end-i)
		for _, k := range keys[i:end] {
			cmds = append(cmds, pipe.Get(ctx, k))
		}
		_, _ = pipe.Exec(ctx)
		for j, cmd := range cmds {
			v, err := cmd.Result()
			switch {
			case err == redis.Nil:
				out = append(out, nil)
			case err != nil:
				return nil, fmt.Errorf("GET %s: %w", keys[i+j], err)
			default:
				out = append(out, &v)
			}
		}
	}
	return out, nil
}

// TestProcessCleanRestart stops a shard with SIGTERM and checks that after a
// restart on the same data dir every key reads back with its value and TTL.
func TestProcessCleanRestart(t *testing.T) {
	pc := procStart(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const n = 5000
	const ttl = 100000 * time.Second
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "pa:" + strconv.Itoa(i)
	}
	written := time.Now()
	for i := 0; i < n; i += 500 {
		pipe := pc.rdb.Pipeline()
		for j := i; j < i+500; j++ {
			if j%2 == 1 {
				pipe.Set(ctx, keys[j], "value-"+keys[j], ttl)
			} else {
				pipe.Set(ctx, keys[j], "value-"+keys[j], 0)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("writing keys %d..%d: %v", i, i+499, err)
		}
	}

	shard := pc.shards[0]
	shard.stop(t)
	shard.start(t, false)

	var vals []*string
	pc.waitAll(t, "every key readable after the restart", func(ctx context.Context) error {
		var err error
		vals, err = procGetAll(ctx, pc.rdb, keys)
		return err
	})
	missing, wrong := 0, 0
	for i, v := range vals {
		switch {
		case v == nil:
			missing++
			if missing <= 5 {
				t.Errorf("%s missing after a clean restart", keys[i])
			}
		case *v != "value-"+keys[i]:
			wrong++
			if wrong <= 5 {
				t.Errorf("%s = %q after a clean restart, want %q", keys[i], *v, "value-"+keys[i])
			}
		}
	}
	if missing+wrong > 0 {
		t.Fatalf("%d of %d keys missing and %d wrong after a clean restart of %s", missing, n, wrong, shard.name)
	}

	pipe := pc.rdb.Pipeline()
	ttls := make([]*redis.DurationCmd, n)
	for i, k := range keys {
		ttls[i] = pipe.PTTL(ctx, k)
	}
	_, _ = pipe.Exec(ctx)
	elapsed := time.Since(written)
	bad := 0
	for i, cmd := range ttls {
		got, err := cmd.Result()
		var ok bool
		if i%2 == 1 {
			ok = err == nil && got <= ttl && got >= ttl-elapsed-time.Second
		} else {
			ok = err == nil && got == -1
		}
		if !ok {
			bad++
			if bad <= 5 {
				t.Errorf("PTTL %s after restart = %v, %v; want %s", keys[i], got, err, map[bool]string{true: "about 100000s", false: "-1 (no TTL)"}[i%2 == 1])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d TTLs wrong after a clean restart", bad, n)
	}
}

// procWrite is one acknowledged write of the kill -9 test.
type procWrite struct {
	key   string
	acked time.Time
}

// TestProcessKill9 kills a shard with SIGKILL while clients write, restarts
// it on its data dir, and checks that every write acknowledged more than the
// fsync interval (plus margin) before the kill reads back.
func TestProcessKill9(t *testing.T) {
	pc := procStart(t)
	const writers = 4
	const margin = 1500 * time.Millisecond // everysec sync interval plus slack
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	acks := make([][]procWrite, writers)
	failures := make([]int, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("pb:%d:%d", g, i)
				wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
				err := pc.rdb.Set(wctx, k, "v-"+k, 0).Err()
				wcancel()
				if err != nil {
					failures[g]++ // not acknowledged: may or may not be stored
					continue
				}
				acks[g] = append(acks[g], procWrite{key: k, acked: time.Now()})
			}
		}(g)
	}

	victim := pc.shards[1]
	time.Sleep(3500 * time.Millisecond) // let writes accumulate under load before the crash
	victim.signal(t, syscall.SIGKILL)
	killed := time.Now()
	<-victim.exited
	time.Sleep(300 * time.Millisecond) // keep writing against the dead shard for a moment
	close(stop)
	wg.Wait()

	victim.start(t, false)

	var all []procWrite
	for _, a := range acks {
		all = append(all, a...)
	}
	keys := make([]string, len(all))
	for i, w := range all {
		keys[i] = w.key
	}
	var vals []*string
	pc.waitAll(t, "every key readable after the crash restart", func(ctx context.Context) error {
		var err error
		vals, err = procGetAll(ctx, pc.rdb, keys)
		return err
	})
	old, lostOld, recent, lostRecent := 0, 0, 0, 0
	for i, w := range all {
		v := vals[i]
		if v != nil && *v != "v-"+w.key {
			t.Errorf("%s = %q after the crash restart, want %q", w.key, *v, "v-"+w.key)
		}
		if w.acked.Before(killed.Add(-margin)) {
			old++
			if v == nil {
				lostOld++
				if lostOld <= 5 {
					t.Errorf("%s acknowledged %v before the kill -9 is missing after restart", w.key, killed.Sub(w.acked))
				}
			}
		} else {
			recent++
			if v == nil {
				lostRecent++
			}
		}
	}
	nfail := 0
	for _, f := range failures {
		nfail += f
	}
	t.Logf("kill -9 of %s: %d writes acknowledged more than %v before the kill (%d lost), %d later (%d lost); %d writes refused",
		victim.name, old, margin, lostOld, recent, lostRecent, nfail)
	if old < 1000 {
		t.Errorf("only %d writes were acknowledged before the kill; the test needs more to mean anything", old)
	}
	if lostOld > 0 {
		t.Errorf("%d of %d writes acknowledged more than %v before kill -9 were lost", lostOld, old, margin)
	}
}

// procWaitStopped waits until every thread of n's process is stopped (state
// T in /proc), since SIGSTOP takes effect asynchronously.
func procWaitStopped(t testing.TB, n *procNode) {
	t.Helper()
	taskDir := fmt.Sprintf("/proc/%d/task", n.cmd.Process.Pid)
	deadline := time.Now().Add(5 * time.Second)
	for {
		tasks, err := os.ReadDir(taskDir)
		if err != nil {
			t.Fatalf("reading %s: %v", taskDir, err)
		}
		stopped := 0
		for _, task := range tasks {
			stat, err := os.ReadFile(filepath.Join(taskDir, task.Name(), "stat"))
			// The state is the field after the parenthesised command name.
			if i := strings.LastIndexByte(string(stat), ')'); err == nil && i >= 0 && i+2 < len(stat) && stat[i+2] == 'T' {
				stopped++
			}
		}
		if len(tasks) > 0 && stopped == len(tasks) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d threads stopped 5 s after SIGSTOP", n.name, stopped, len(tasks))
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// procOnePerPartition returns one key (prefix + n) for each partition.
func procOnePerPartition(prefix string) []string {
	seen := map[int]bool{}
	var keys []string
	for _, k := range itKeys(prefix, procPartitions, 1) {
		if p := ring.Partition([]byte(k), procPartitions); !seen[p] {
			seen[p] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// procProbe is the outcome of one GET in the dead-shard test.
type procProbe struct {
	key  string
	val  string
	err  error
	took time.Duration
}

// procProbeAll GETs every key at once and returns how each went.
func procProbeAll(rdb *redis.Client, keys []string) []procProbe {
	out := make([]procProbe, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func(i int, k string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			v, err := rdb.Get(ctx, k).Result()
			out[i] = procProbe{key: k, val: v, err: err, took: time.Since(start)}
		}(i, k)
	}
	wg.Wait()
	return out
}

// procCheckDegraded checks one probe round with a shard down: every GET
// answers within the backend timeout plus slack, keys of live shards read
// back, and keys of the dead shard get a Redis error reply. It returns the
// keys that failed.
func procCheckDegraded(t *testing.T, what string, probes []procProbe) []string {
	t.Helper()
	const limit = procBackendTimeout + time.Second
	var failed []string
	ok := 0
	for _, p := range probes {
		if p.took > limit {
			t.Errorf("%s: GET %s took %v (backend timeout %v): a dead shard must not hang a client", what, p.key, p.took, procBackendTimeout)
		}
		if p.err == nil {
			ok++
			if p.val != "v-"+p.key {
				t.Errorf("%s: GET %s = %q, want %q", what, p.key, p.val, "v-"+p.key)
			}
			continue
		}
		failed = append(failed, p.key)
		var re redis.Error
		if !errors.As(p.err, &re) || p.err == redis.Nil {
			t.Errorf("%s: GET %s failed with %v; want an error reply, the connection kept", what, p.key, p.err)
		} else if msg := p.err.Error(); !strings.HasPrefix(msg, "CLUSTERDOWN ") && !strings.HasPrefix(msg, "TRYAGAIN ") {
			t.Errorf("%s: GET %s = error %q; want a CLUSTERDOWN or TRYAGAIN error", what, p.key, msg)
		}
	}
	var slowest time.Duration
	for _, p := range probes {
		slowest = max(slowest, p.took)
	}
	t.Logf("%s: %d GETs answered, %d failed (first error: %v), slowest %v", what, ok, len(failed), procFirstErr(probes), slowest)
	if len(failed) == 0 {
		t.Errorf("%s: no GET failed, yet one shard of three is down", what)
	}
	if ok == 0 {
		t.Errorf("%s: every GET failed, yet two shards of three are up", what)
	}
	return failed
}

func procFirstErr(probes []procProbe) error {
	for _, p := range probes {
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

// TestProcessDeadShard checks that a crashed or frozen shard never hangs a
// client: requests for its keys fail within the backend timeout, other keys
// keep working, and everything works again once it is back.
func TestProcessDeadShard(t *testing.T) {
	pc := procStart(t)
	keys := procOnePerPartition("pc:")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, k := range keys {
		if err := pc.rdb.Set(ctx, k, "v-"+k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	allBack := func(what string) {
		pc.waitAll(t, what, func(ctx context.Context) error {
			for _, p := range procProbeAll(pc.rdb, keys) {
				if p.err != nil {
					return fmt.Errorf("GET %s: %w", p.key, p.err)
				}
				if p.val != "v-"+p.key {
					t.Fatalf("%s: GET %s = %q, want %q", what, p.key, p.val, "v-"+p.key)
				}
			}
			return nil
		})
	}

	t.Run("Kill9", func(t *testing.T) {
		victim := pc.shards[2]
		victim.signal(t, syscall.SIGKILL)
		<-victim.exited
		first := procCheckDegraded(t, "after kill -9", procProbeAll(pc.rdb, keys))
		second := procCheckDegraded(t, "again", procProbeAll(pc.rdb, keys))
		if strings.Join(first, ",") != strings.Join(second, ",") {
			t.Errorf("the failing keys changed between rounds: %v then %v", first, second)
		}
		victim.start(t, false)
		allBack("every key readable after the killed shard restarted")
	})

	t.Run("Frozen", func(t *testing.T) {
		// A stopped process still accepts TCP connections but never answers:
		// only the proxy's timeout protects the client.
		victim := pc.shards[0]
		victim.signal(t, syscall.SIGSTOP)
		procWaitStopped(t, victim)
		resumed := false
		defer func() {
			if !resumed {
				_ = victim.cmd.Process.Signal(syscall.SIGCONT)
			}
		}()
		first := procCheckDegraded(t, "shard frozen with SIGSTOP", procProbeAll(pc.rdb, keys))
		second := procCheckDegraded(t, "still frozen", procProbeAll(pc.rdb, keys))
		if strings.Join(first, ",") != strings.Join(second, ",") {
			t.Errorf("the failing keys changed between rounds: %v then %v", first, second)
		}
		victim.signal(t, syscall.SIGCONT)
		resumed = true
		allBack("every key readable after the frozen shard resumed")
	})
}
