package shard

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardis/shardis/resp"
)

// fakeClock is an injectable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testConfig(t testing.TB) Config {
	return Config{
		ID:         "s1",
		Addr:       "127.0.0.1:0",
		InMemory:   true,
		Partitions: 16,
	}
}

// startServer starts a shard with cfg (and clock, if not nil) and closes
// it when the test ends.
func startServer(t testing.TB, cfg Config, clock func() time.Time) *Server {
	t.Helper()
	s, err := newServer(cfg, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		_ = s.Close()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawClient speaks RESP2 and returns each reply's exact bytes.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	w    *bufio.Writer
	rr   *resp.ReplyReader
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, conn: conn, w: bufio.NewWriter(conn), rr: resp.NewReplyReader(conn, 0)}
}

func (c *rawClient) send(args ...string) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
}

func (c *rawClient) read() string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := c.rr.Next()
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return string(b)
}

// do sends one command and returns its raw reply.
func (c *rawClient) do(args ...string) string {
	c.t.Helper()
	c.send(args...)
	if err := c.w.Flush(); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	return c.read()
}

// Reply builders, to keep expectations readable.
func okR() string            { return "+OK\r\n" }
func nilR() string           { return "_\r\n" }
func intR(n int64) string    { return ":" + strconv.FormatInt(n, 10) + "\r\n" }
func bulkR(s string) string  { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }
func errR(msg string) string { return "-" + msg + "\r\n" }
func simpleR(s string) string {
	return "+" + s + "\r\n"
}
func arrR(elems ...string) string {
	return "*" + strconv.Itoa(len(elems)) + "\r\n" + strings.Join(elems, "")
}
