package tests

// Real Redis tools against the proxy: redis-cli, redis-benchmark and
// redis-py. Every test runs first against a real redis-server, which proves
// the expected outputs are Redis's own, then against Shardis.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// toolTimeout bounds one tool run, so a hung server fails the test.
const toolTimeout = 60 * time.Second

// toolTargets starts the servers every tool test runs against.
func toolTargets(t *testing.T) []diffSide {
	t.Helper()
	return []diffSide{
		{Name: "redis", Addr: startRedisServer(t)},
		{Name: "shardis", Addr: diffStartShardis(t)},
	}
}

// toolFind returns a tool's path or fails the test: missing tools are a
// broken environment, never a reason to skip.
func toolFind(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH (%v): run `make deps` to install it", name, err)
	}
	return p
}

// toolPython finds a python3 that can import redis (redis-py). The Debian
// package installs it for /usr/bin/python3, which may not be the first
// python3 in PATH.
func toolPython(t testing.TB) string {
	t.Helper()
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	for _, p := range candidates {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := exec.CommandContext(ctx, p, "-c", "import redis").Run()
		cancel()
		if err == nil {
			return p
		}
	}
	t.Fatalf("no python3 with the redis module (tried %q): run `make deps` to install python3-redis", candidates)
	return ""
}

// toolResult is what one tool run produced.
type toolResult struct {
	Stdout, Stderr string
	Exit           int
}

// toolRun runs a tool with stdin and returns its output and exit code.
func toolRun(t testing.TB, stdin string, bin string, args ...string) toolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := toolResult{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.Exit = exit.ExitCode()
	default:
		t.Fatalf("run %s %q: %v", bin, args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v; output so far:\n%s%s", bin, args, toolTimeout, res.Stdout, res.Stderr)
	}
	return res
}

func toolHostPort(t testing.TB, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// TestToolRedisCLI drives redis-cli in its one-shot, stdin, --pipe and
// --scan modes and asserts its output exactly.
func TestToolRedisCLI(t *testing.T) {
	cliBin := toolFind(t, "redis-cli")
	for _, target := range toolTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			host, port := toolHostPort(t, target.Addr)
			cli := func(stdin string, args ...string) toolResult {
				t.Helper()
				return toolRun(t, stdin, cliBin, append([]string{"-h", host, "-p", port}, args...)...)
			}
			expect := func(want string, args ...string) {
				t.Helper()
				res := cli("", args...)
				if res.Stdout != want || res.Exit != 0 {
					t.Errorf("redis-cli %q: got %q (exit %d, stderr %q), want %q", args, res.Stdout, res.Exit, res.Stderr, want)
				}
			}
			expect("OK\n", "FLUSHALL")
			expect("OK\n", "SET", "tool:k", "v")
			expect("v\n", "GET", "tool:k")
			expect("v\n", "--raw", "GET", "tool:k")
			expect("\"v\"\n", "--no-raw", "GET", "tool:k")
			expect("OK\n", "SET", "tool:sp", "a b\tc ✓")
			expect("a b\tc ✓\n", "--raw", "GET", "tool:sp")
			expect("\"a b\\tc \\xe2\\x9c\\x93\"\n", "--no-raw", "GET", "tool:sp")
			expect("\n", "GET", "tool:missing")
			expect("(nil)\n", "--no-raw", "GET", "tool:missing")
			expect("1\n", "INCR", "tool:n")
			expect("2\n", "INCR", "tool:n")
			expect("(integer) 3\n", "--no-raw", "INCR", "tool:n")
			expect("ERR value is not an integer or out of range\n\n", "INCR", "tool:k")
			expect("(error) ERR value is not an integer or out of range\n", "--no-raw", "INCR", "tool:k")
			expect("1) \"v\"\n2) (nil)\n3) \"3\"\n", "--no-raw", "MGET", "tool:k", "tool:missing", "tool:n")
			expect("v\n\n3\n", "MGET", "tool:k", "tool:missing", "tool:n")

			// Commands piped through stdin, one per line.
			script := "SET tool:p1 a\nSET tool:p2 b\nMGET tool:p1 tool:p2\nINCR tool:pn\nINCRBY tool:pn 10\n" +
				"INCR tool:p1\nDEL tool:p1\nEXISTS tool:p1 tool:p2\nGET tool:p1\nNOSUCHCOMMAND x\nPING\n"
			res := cli(script)
			wantPipe := "OK\nOK\na\nb\n1\n11\nERR value is not an integer or out of range\n\n1\n1\n\n" +
				"ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \n\nPONG\n"
			if res.Stdout != wantPipe || res.Exit != 0 {
				t.Errorf("redis-cli < script: got %q (exit %d, stderr %q), want %q", res.Stdout, res.Exit, res.Stderr, wantPipe)
			}

			// Mass insertion with --pipe (raw RESP on stdin).
			var proto strings.Builder
			for i := 0; i < 500; i++ {
				proto.Write(diffEncode([]string{"SET", fmt.Sprintf("tool:scan:%d", i), strconv.Itoa(i)}))
			}
			res = cli(proto.String(), "--pipe")
			if res.Exit != 0 || !strings.Contains(res.Stdout, "errors: 0, replies: 500") {
				t.Errorf("redis-cli --pipe: exit %d, stdout %q, stderr %q", res.Exit, res.Stdout, res.Stderr)
			}

			// --scan finds exactly the keys written.
			res = cli("", "--scan", "--pattern", "tool:scan:*")
			got := strings.Fields(res.Stdout)
			sort.Strings(got)
			var want []string
			for i := 0; i < 500; i++ {
				want = append(want, fmt.Sprintf("tool:scan:%d", i))
			}
			sort.Strings(want)
			if res.Exit != 0 || strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("redis-cli --scan --pattern tool:scan:*: exit %d, %d keys (stderr %q); want the 500 keys written", res.Exit, len(got), res.Stderr)
			}
			res = cli("", "--scan", "--pattern", "tool:scan:4?9")
			got = strings.Fields(res.Stdout)
			sort.Strings(got)
			wantFew := "tool:scan:409 tool:scan:419 tool:scan:429 tool:scan:439 tool:scan:449 tool:scan:459 tool:scan:469 tool:scan:479 tool:scan:489 tool:scan:499"
			if strings.Join(got, " ") != wantFew {
				t.Errorf("redis-cli --scan --pattern tool:scan:4?9: got %q, want %q", got, wantFew)
			}

			// 500 scan keys + tool:k tool:sp tool:n tool:p2 tool:pn.
			expect("505\n", "DBSIZE")
			expect("(integer) 505\n", "--no-raw", "DBSIZE")

			res = cli("", "INFO", "server")
			if res.Exit != 0 || !strings.HasPrefix(res.Stdout, "# Server\r\n") || !regexp.MustCompile(`(?m)^redis_version:\d+\.\d+\.\d+\r$`).MatchString(res.Stdout) {
				t.Errorf("redis-cli INFO server: exit %d, stdout %q", res.Exit, res.Stdout)
			}
			res = cli("", "COMMAND", "DOCS", "get")
			if res.Exit != 0 || !strings.HasPrefix(res.Stdout, "get\nsummary\n") || strings.Contains(res.Stdout, "ERR") {
				t.Errorf("redis-cli COMMAND DOCS get: exit %d, stdout %q", res.Exit, res.Stdout)
			}
			expect("PONG\n", "PING")
			expect("OK\n", "FLUSHALL")
			expect("0\n", "DBSIZE")
		})
	}
}

// toolBenchLine matches one -q result line of redis-benchmark.
var toolBenchLine = regexp.MustCompile(`^([A-Z]+): ([0-9.]+) requests per second`)

// TestToolRedisBenchmark runs redis-benchmark's SET and GET tests pipelined
// and checks that they complete without errors; the rates are only logged.
func TestToolRedisBenchmark(t *testing.T) {
	bin := toolFind(t, "redis-benchmark")
	for _, target := range toolTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			host, port := toolHostPort(t, target.Addr)
			res := toolRun(t, "", bin, "-h", host, "-p", port, "-t", "set,get", "-n", "10000", "-P", "16", "-q")
			out := res.Stdout + res.Stderr
			if res.Exit != 0 {
				t.Fatalf("redis-benchmark exit %d:\n%s", res.Exit, out)
			}
			if strings.Contains(out, "ERR") || strings.Contains(strings.ToLower(out), "error") {
				t.Errorf("redis-benchmark reported errors:\n%s", out)
			}
			rates := map[string]string{}
			for _, line := range strings.FieldsFunc(res.Stdout, func(r rune) bool { return r == '\r' || r == '\n' }) {
				if m := toolBenchLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
					rates[m[1]] = m[2]
				}
			}
			for _, cmd := range []string{"SET", "GET"} {
				r, ok := rates[cmd]
				if !ok {
					t.Errorf("redis-benchmark printed no %s result:\n%q", cmd, res.Stdout)
					continue
				}
				if v, err := strconv.ParseFloat(r, 64); err != nil || v <= 0 {
					t.Errorf("redis-benchmark %s rate %q", cmd, r)
				}
				t.Logf("%s %s: %s requests per second (-n 10000 -P 16)", target.Name, cmd, r)
			}
		})
	}
}

// TestToolRedisPy runs testdata/redispy_smoke.py (redis-py) and expects it
// to print "ok" and exit 0.
func TestToolRedisPy(t *testing.T) {
	py := toolPython(t)
	script, err := filepath.Abs(filepath.Join("testdata", "redispy_smoke.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range toolTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			host, port := toolHostPort(t, target.Addr)
			res := toolRun(t, "", py, script, host, port)
			if res.Exit != 0 || !strings.HasSuffix(res.Stdout, "ok\n") {
				t.Errorf("redispy_smoke.py: exit %d\nstdout:\n%s\nstderr:\n%s", res.Exit, res.Stdout, res.Stderr)
			}
		})
	}
}
