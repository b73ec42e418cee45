package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readyInfo is what `shardis dev` prints once it serves.
type readyInfo struct {
	clientAddr, metricsURL, dataDir string
}

var (
	clientsRe = regexp.MustCompile(`(?m)^  clients:  (\S+) `)
	metricsRe = regexp.MustCompile(`(?m)^  metrics:  (\S+)$`)
	dataDirRe = regexp.MustCompile(`(?m)^  data dir: (\S+) \(`)
)

func parseReady(out string) (readyInfo, bool) {
	if !strings.Contains(out, "Press Ctrl-C to stop.") {
		return readyInfo{}, false
	}
	var r readyInfo
	if m := clientsRe.FindStringSubmatch(out); m != nil {
		r.clientAddr = m[1]
	}
	if m := metricsRe.FindStringSubmatch(out); m != nil {
		r.metricsURL = m[1]
	}
	if m := dataDirRe.FindStringSubmatch(out); m != nil {
		r.dataDir = m[1]
	}
	return r, true
}

// exerciseCluster writes and reads through the proxy with go-redis (RESP2)
// and scrapes the cluster's metrics.
func exerciseCluster(t *testing.T, r readyInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: r.clientAddr, Protocol: 2})
	defer rdb.Close()
	for _, k := range []string{"a", "b", "{user1}:name", "key:42"} {
		if err := rdb.Set(ctx, k, "v-"+k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	for _, k := range []string{"a", "b", "{user1}:name", "key:42"} {
		got, err := rdb.Get(ctx, k).Result()
		if err != nil || got != "v-"+k {
			t.Errorf("GET %s = %q, %v", k, got, err)
		}
	}

	body := httpGet(t, r.metricsURL)
	for _, w := range []string{`node="proxy"`, `node="shard-1"`, `node="shard-2"`, "go_goroutines "} {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if n := strings.Count(body, "\ngo_goroutines "); n != 1 {
		t.Errorf("go_goroutines appears %d times, want once (Go collector registered once)", n)
	}
	if h := httpGet(t, strings.TrimSuffix(r.metricsURL, "/metrics")+"/healthz"); !strings.Contains(h, "ok") {
		t.Errorf("healthz %q", h)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// devRun is a `shardis dev` running in process.
type devRun struct {
	stdout, stderr syncBuffer
	ready          readyInfo
	startup        time.Duration // from the call to run until the banner
	cancel         context.CancelFunc
	done           chan int
}

// startDev runs `shardis dev args...` in process and waits until it prints
// that it is ready; the test fails if it exits first. It logs how long
// starting took, the wait a newcomer has after `make run`.
func startDev(t *testing.T, timeout time.Duration, args ...string) *devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{cancel: cancel, done: make(chan int, 1)}
	t.Cleanup(func() {
		cancel()
		// A test that failed before stop still waits for the cluster to
		// close, so nothing it started outlives it.
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("dev did not stop within 30s")
		}
	})
	start := time.Now()
	go func() { d.done <- run(ctx, append([]string{"dev"}, args...), &d.stdout, &d.stderr) }()
	waitFor(t, "dev to be ready", timeout, func() bool {
		select {
		case code := <-d.done:
			d.done <- code
			t.Fatalf("dev exited %d early: %s", code, d.stderr.String())
		default:
		}
		var ok bool
		d.ready, ok = parseReady(d.stdout.String())
		return ok
	})
	d.startup = time.Since(start)
	t.Logf("shardis dev %s: ready in %v", strings.Join(args, " "), d.startup.Round(time.Millisecond))
	return d
}

// stop interrupts the dev cluster as Ctrl-C would and checks it exits 0.
func (d *devRun) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		d.done <- code // for the cleanup's wait
		if code != 0 {
			t.Errorf("exit %d: %s", code, d.stderr.String())
		}
	case <-time.After(timeout):
		t.Fatal("dev did not stop")
	}
}

// TestDevInProcess runs `shardis dev` with its defaults but the ports: a
// replicated cluster (three copies of every partition) on a temporary data
// dir, removed at exit.
func TestDevInProcess(t *testing.T) {
	d := startDev(t, 30*time.Second, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--partitions", "16", "--log-level", "warn")
	r := d.ready
	if out := d.stdout.String(); !strings.HasPrefix(out, "Shardis is ready: redis-cli -p ") || !strings.Contains(out, "3 copies of each") {
		t.Errorf("banner: %q", out)
	}
	if r.dataDir == "" {
		t.Fatalf("no data dir in %q", d.stdout.String())
	}
	if _, err := os.Stat(filepath.Join(r.dataDir, "shard-1")); err != nil {
		t.Errorf("shard data dir: %v", err)
	}
	exerciseCluster(t, r)
	d.stop(t, 20*time.Second)
	if _, err := os.Stat(r.dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data dir %s not removed: %v", r.dataDir, err)
	}
}

// TestDevKeepsGivenDataDir runs the static-map cluster of --rf 1 on a
// given data dir, which stays, and which a replicated run then refuses.
func TestDevKeepsGivenDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"--addr", "127.0.0.1:0", "--metrics-addr", "", "--shards", "2",
		"--partitions", "8", "--data-dir", dir, "--log-level", "error"}
	d := startDev(t, 30*time.Second, append(args, "--rf", "1")...)
	if out := d.stdout.String(); !strings.Contains(out, "data dir: "+dir+" (kept on exit)") || strings.Contains(out, "metrics:") ||
		!strings.Contains(out, "1 copy of each") {
		t.Errorf("banner: %q", out)
	}
	d.stop(t, 20*time.Second)
	for _, sub := range []string{"shard-1", "shard-2"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Errorf("%s: %v", sub, err)
		}
	}

	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"dev"}, append(args, "--rf", "2")...), &out, &errb)
	want := "shardis dev: data dir " + dir + " holds a cluster created with --rf 1; start it with --rf 1, or give another --data-dir for --rf 2\n"
	if code != exitFailure || errb.String() != want {
		t.Errorf("--rf 2 on an --rf 1 data dir: exit %d, stderr %q; want %d, %q", code, errb.String(), exitFailure, want)
	}
}

// TestDevBinary builds the binary and runs `shardis dev` as a real process:
// clients reach it, /metrics answers, and SIGTERM stops it with exit 0.
func TestDevBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shardis")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "dev", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--partitions", "16")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var out syncBuffer
	go func() {
		_, _ = io.Copy(&out, bufio.NewReader(stdout))
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	var r readyInfo
	waitFor(t, "shardis dev to print its banner", 30*time.Second, func() bool {
		var ok bool
		r, ok = parseReady(out.String())
		return ok
	})
	exerciseCluster(t, r)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGTERM\nstderr:\n%s", stderr.String())
	}
	if _, err := os.Stat(r.dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data dir %s not removed: %v", r.dataDir, err)
	}
}
