package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/resp"
)

// Limits of the clusters in this file: small, so that refusals are cheap to
// provoke.
const (
	badMaxBulk     = 1 << 20
	badMaxArgs     = 1024
	badMaxInline   = 4 << 10
	badMaxQueryBuf = 16 << 20
)

// badHeapBound is how much the in-process cluster's live heap may grow while
// one client misbehaves.
const badHeapBound = 64 << 20

// badReplyTimeout bounds the wait for one reply or for the server to close.
const badReplyTimeout = 5 * time.Second

func badStart(t testing.TB) *testcluster.Cluster {
	t.Helper()
	return testcluster.Start(t, testcluster.Options{
		InMemory:   true,
		Partitions: 16,
		Limits: resp.Limits{
			MaxBulkLen:     badMaxBulk,
			MaxArgs:        badMaxArgs,
			MaxInlineLen:   badMaxInline,
			MaxQueryBuffer: badMaxQueryBuf,
		},
	})
}

// badConn is a raw client connection.
type badConn struct {
	net.Conn
	r *bufio.Reader
}

func badDial(t testing.TB, addr string) *badConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, badReplyTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &badConn{Conn: c, r: bufio.NewReader(c)}
}

// badBulk encodes args as a RESP multibulk command.
func badBulk(args ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

// readLine reads one reply line (with its CRLF).
func (c *badConn) readLine() (string, error) {
	if err := c.SetReadDeadline(time.Now().Add(badReplyTimeout)); err != nil {
		return "", err
	}
	return c.r.ReadString('\n')
}

// readReply reads one whole reply (simple, error, integer, bulk or a flat
// array of those) and returns its raw bytes.
func (c *badConn) readReply() (string, error) {
	line, err := c.readLine()
	if err != nil || len(line) < 3 {
		return line, err
	}
	switch line[0] {
	case '$':
		var n int
		if _, err := fmt.Sscanf(line, "$%d\r\n", &n); err != nil || n < 0 {
			return line, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return line, err
		}
		return line + string(buf), nil
	case '*':
		var n int
		if _, err := fmt.Sscanf(line, "*%d\r\n", &n); err != nil {
			return line, err
		}
		out := line
		for i := 0; i < n; i++ {
			r, err := c.readReply()
			out += r
			if err != nil {
				return out, err
			}
		}
		return out, nil
	}
	return line, nil
}

// expectClosed waits for the server to close the connection.
func (c *badConn) expectClosed(t testing.TB, what string) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(badReplyTimeout)); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: connection still open %v after a protocol error (Redis closes it); extra bytes %q", what, badReplyTimeout, rest)
		return
	}
	if len(rest) > 0 {
		t.Errorf("%s: unexpected bytes after the protocol error: %q", what, rest)
	}
}

// badPing checks that a fresh connection to addr still answers PING.
func badPing(t testing.TB, addr string) {
	t.Helper()
	c := badDial(t, addr)
	if _, err := c.Write(badBulk("PING")); err != nil {
		t.Fatalf("PING on a new connection: %v", err)
	}
	if got, err := c.readLine(); got != "+PONG\r\n" {
		t.Fatalf("PING on a new connection = %q, %v; the server should still serve", got, err)
	}
	_ = c.Close()
}

// TestBadInputProtocolErrors sends malformed RESP and checks Redis's exact
// reply, that the connection is closed as Redis closes it, and that the
// server keeps serving new connections.
func TestBadInputProtocolErrors(t *testing.T) {
	c := badStart(t)
	for _, tc := range []struct {
		name string
		send string
		want string // every reply expected, in order, the last one a protocol error
	}{
		{"bulk length not a number", "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk without dollar", "*2\r\n$3\r\nget\r\nx\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n"},
		{"bare word in multibulk", "*1\r\nget\r\n", "-ERR Protocol error: expected '$', got 'g'\r\n"},
		{"integer in multibulk", "*1\r\n:3\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
		{"empty bulk length", "*1\r\n$\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"huge bulk length", "*1\r\n$99999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk over limit", fmt.Sprintf("*2\r\n$3\r\nGET\r\n$%d\r\n", badMaxBulk+1), "-ERR Protocol error: invalid bulk length\r\n"},
		{"multibulk count not a number", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"empty multibulk count", "*\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"huge multibulk count", "*99999999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk count over limit", fmt.Sprintf("*%d\r\n", badMaxArgs+1), "-ERR Protocol error: invalid multibulk length\r\n"},
		{"unbalanced quotes", "set \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"inline over limit", strings.Repeat("a", 2*badMaxInline), "-ERR Protocol error: too big inline request\r\n"},
		{"error after good commands", "PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$abc\r\n", "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := badDial(t, c.Addr)
			if _, err := conn.Write([]byte(tc.send)); err != nil {
				t.Fatalf("write: %v", err)
			}
			var got string
			for len(got) < len(tc.want) {
				line, err := conn.readLine()
				got += line
				if err != nil {
					break
				}
			}
			if got != tc.want {
				t.Errorf("sent %q: got %q, want %q", itShort(tc.send), got, tc.want)
			}
			conn.expectClosed(t, fmt.Sprintf("sent %q", itShort(tc.send)))
			badPing(t, c.Addr)
		})
	}
}

// TestBadInputCommandErrors sends wrong commands that Redis answers with an
// error while keeping the connection open.
func TestBadInputCommandErrors(t *testing.T) {
	c := badStart(t)
	conn := badDial(t, c.Addr)
	long := strings.Repeat("a", 200)
	for _, tc := range []struct {
		send []byte
		want string
	}{
		{badBulk("foo", "bar"), "-ERR unknown command 'foo', with args beginning with: 'bar' \r\n"},
		{badBulk("foo", "a\r\nb", "c"), "-ERR unknown command 'foo', with args beginning with: 'a  b' 'c' \r\n"},
		{badBulk("foo", long), "-ERR unknown command 'foo', with args beginning with: '" + long[:128] + "' \r\n"},
		{badBulk("foo", long[:60], strings.Repeat("b", 60), strings.Repeat("c", 60)),
			"-ERR unknown command 'foo', with args beginning with: '" + long[:60] + "' '" + strings.Repeat("b", 60) + "' 'cc' \r\n"},
		{badBulk(strings.Repeat("f", 200)), "-ERR unknown command '" + strings.Repeat("f", 128) + "', with args beginning with: \r\n"},
		{badBulk(""), "-ERR unknown command '', with args beginning with: \r\n"},
		{[]byte("foo bar\r\n"), "-ERR unknown command 'foo', with args beginning with: 'bar' \r\n"},
		{badBulk("GET"), "-ERR wrong number of arguments for 'get' command\r\n"},
		{[]byte("GET\r\n"), "-ERR wrong number of arguments for 'get' command\r\n"},
		{badBulk("set", "a"), "-ERR wrong number of arguments for 'set' command\r\n"},
		{badBulk("MGET"), "-ERR wrong number of arguments for 'mget' command\r\n"},
		{badBulk("EXPIRE", "a"), "-ERR wrong number of arguments for 'expire' command\r\n"},
		{badBulk("SET", "a", "b", "EX", "0"), "-ERR invalid expire time in 'set' command\r\n"},
		{badBulk("INCRBY", "a", "x"), "-ERR value is not an integer or out of range\r\n"},
		// Empty multibulks and empty inline lines are skipped without a reply.
		{[]byte("*0\r\n*-1\r\n\r\n   \r\nPING\r\n"), "+PONG\r\n"},
		// Inline commands, as telnet sends them.
		{[]byte("SET bad:inline \"hello world\"\r\nGET bad:inline\r\n"), "+OK\r\n$11\r\nhello world\r\n"},
		// A value of exactly the bulk limit is accepted.
		{badBulk("SET", "bad:max", strings.Repeat("x", badMaxBulk)), "+OK\r\n"},
		{badBulk("STRLEN", "bad:max"), fmt.Sprintf(":%d\r\n", badMaxBulk)},
		{badBulk("PING"), "+PONG\r\n"},
	} {
		if _, err := conn.Write(tc.send); err != nil {
			t.Fatalf("write %q: %v", itShort(string(tc.send)), err)
		}
		var got string
		for len(got) < len(tc.want) {
			r, err := conn.readReply()
			got += r
			if err != nil {
				t.Fatalf("sent %q: got %q then %v; want %q", itShort(string(tc.send)), got, err, tc.want)
			}
		}
		if got != tc.want {
			t.Errorf("sent %q:\n got %q\nwant %q", itShort(string(tc.send)), itShort(got), itShort(tc.want))
		}
	}
}

// badHeap tracks the largest live heap seen while a test misbehaves. Each
// sample follows a forced collection, so it measures memory that is really
// retained, not garbage the collector has not reached yet.
type badHeap struct {
	base uint64
	max  atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func badHeapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func badWatchHeap() *badHeap {
	h := &badHeap{base: badHeapInuse(), stop: make(chan struct{}), done: make(chan struct{})}
	h.max.Store(h.base)
	go func() {
		defer close(h.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				h.sample()
			}
		}
	}()
	return h
}

func (h *badHeap) sample() {
	v := badHeapInuse()
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// finish stops sampling and returns the peak growth over the baseline.
func (h *badHeap) finish() uint64 {
	close(h.stop)
	<-h.done
	h.sample()
	return h.max.Load() - h.base
}

// TestBadInputHugeDeclaredBulk declares a 1 GiB argument: the refusal must
// come before any of the data is sent, so nothing of that size is allocated.
func TestBadInputHugeDeclaredBulk(t *testing.T) {
	c := badStart(t)
	heap := badWatchHeap()
	conn := badDial(t, c.Addr)
	start := time.Now()
	if _, err := conn.Write([]byte("*3\r\n$3\r\nSET\r\n$5\r\nhuge1\r\n$1073741824\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := conn.readLine()
	if got != "-ERR Protocol error: invalid bulk length\r\n" {
		t.Fatalf("declared 1 GiB bulk with a %d-byte limit: got %q, %v (after %v); want the invalid bulk length error before any data is sent",
			badMaxBulk, got, err, time.Since(start))
	}
	conn.expectClosed(t, "1 GiB bulk")
	if grow := heap.finish(); grow > badHeapBound {
		t.Errorf("heap grew by %d MiB after a declared 1 GiB bulk", grow>>20)
	}
	badPing(t, c.Addr)
}

// TestBadInputGarbageStream streams 50 MiB of junk and checks the server's
// memory stays bounded and it keeps serving.
func TestBadInputGarbageStream(t *testing.T) {
	c := badStart(t)
	const total = 50 << 20

	t.Run("InlineJunkOneConnection", func(t *testing.T) {
		// Lines of random words: each is an unknown command, answered with an
		// error while the connection stays open.
		heap := badWatchHeap()
		conn := badDial(t, c.Addr)
		var lines atomic.Int64
		var errReplies atomic.Int64
		drained := make(chan error, 1)
		go func() {
			for {
				line, err := conn.r.ReadString('\n')
				if err != nil {
					drained <- err
					return
				}
				if strings.HasPrefix(line, "-ERR unknown command 'junk") {
					errReplies.Add(1)
				} else if line == "+PONG\r\n" {
					drained <- nil
					return
				} else {
					drained <- fmt.Errorf("unexpected reply %q", itShort(line))
					return
				}
			}
		}()
		rng := rand.New(rand.NewSource(4))
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789     "
		buf := make([]byte, 0, 256<<10)
		sent := 0
		_ = conn.SetWriteDeadline(time.Now().Add(60 * time.Second))
		for sent < total {
			buf = buf[:0]
			for len(buf) < 240<<10 {
				buf = append(buf, "junk"...)
				n := 10 + rng.Intn(badMaxInline-100)
				for i := 0; i < n; i++ {
					buf = append(buf, letters[rng.Intn(len(letters))])
				}
				buf = append(buf, '\r', '\n')
				lines.Add(1)
			}
			if _, err := conn.Write(buf); err != nil {
				t.Fatalf("write after %d MiB: %v", sent>>20, err)
			}
			sent += len(buf)
		}
		if _, err := conn.Write([]byte("PING\r\n")); err != nil {
			t.Fatalf("write PING: %v", err)
		}
		select {
		case err := <-drained:
			if err != nil {
				t.Fatalf("reading replies: %v (after %d of %d error replies)", err, errReplies.Load(), lines.Load())
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("no PONG after streaming %d MiB (%d of %d error replies seen)", sent>>20, errReplies.Load(), lines.Load())
		}
		if errReplies.Load() != lines.Load() {
			t.Errorf("%d junk lines got %d error replies", lines.Load(), errReplies.Load())
		}
		if grow := heap.finish(); grow > badHeapBound {
			t.Errorf("heap grew by %d MiB while streaming %d MiB of junk lines", grow>>20, sent>>20)
		}
		badPing(t, c.Addr)
	})

	t.Run("InlineManyTokens", func(t *testing.T) {
		// Inline lines just under the length limit made of one-letter words:
		// memory must stay proportional to the bytes received, whatever the
		// number of words per line.
		heap := badWatchHeap()
		conn := badDial(t, c.Addr)
		// (Four-byte words keep the count under MaxArgs, which inline
		// commands obey too.)
		line := []byte(strings.Repeat("xyz ", (badMaxInline-8)/4) + "\r\n")
		const lines = 2000
		replies := make(chan error, 1)
		go func() {
			for i := 0; i < lines; i++ {
				got, err := conn.r.ReadString('\n')
				if err != nil {
					replies <- fmt.Errorf("reply %d: %v", i, err)
					return
				}
				if !strings.HasPrefix(got, "-ERR unknown command 'xyz', with args beginning with: 'xyz' ") {
					replies <- fmt.Errorf("reply %d: %q", i, itShort(got))
					return
				}
			}
			replies <- nil
		}()
		_ = conn.SetWriteDeadline(time.Now().Add(60 * time.Second))
		batch := bytes.Repeat(line, 100)
		for i := 0; i < lines/100; i++ {
			if _, err := conn.Write(batch); err != nil {
				t.Fatalf("write: %v", err)
			}
		}
		select {
		case err := <-replies:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no replies to all lines within 60 s")
		}
		if grow := heap.finish(); grow > badHeapBound {
			t.Errorf("heap grew by %d MiB for %d inline lines of %d one-letter words (%d MiB sent)", grow>>20, lines, len(line)/2, lines*len(line)>>20)
		}
		badPing(t, c.Addr)
	})

	t.Run("OversizedCommandOneConnection", func(t *testing.T) {
		// One multibulk of 1 MiB arguments, each within the bulk limit, adding
		// up to 50 MiB: the query buffer limit must stop it.
		heap := badWatchHeap()
		conn := badDial(t, c.Addr)
		go func() { _, _ = io.Copy(io.Discard, conn) }()
		arg := append(bytes.Repeat([]byte("z"), badMaxBulk), '\r', '\n')
		hdr := []byte(fmt.Sprintf("$%d\r\n", badMaxBulk))
		sent := 0
		_ = conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := conn.Write([]byte(fmt.Sprintf("*%d\r\n$3\r\nSET\r\n", badMaxArgs)))
		for err == nil && sent < total {
			if _, err = conn.Write(hdr); err == nil {
				_, err = conn.Write(arg)
				sent += len(arg)
			}
		}
		if err == nil {
			t.Errorf("the server accepted %d MiB of one unfinished command (query buffer limit %d MiB)", sent>>20, badMaxQueryBuf>>20)
		} else {
			t.Logf("connection refused more input after %d MiB: %v", sent>>20, err)
		}
		if grow := heap.finish(); grow > badHeapBound {
			t.Errorf("heap grew by %d MiB while one command of %d MiB was streamed", grow>>20, sent>>20)
		}
		badPing(t, c.Addr)
	})

	t.Run("RandomBytesManyConnections", func(t *testing.T) {
		// Random bytes break the framing quickly; the server refuses and closes,
		// and the client reconnects and goes on.
		heap := badWatchHeap()
		rng := rand.New(rand.NewSource(5))
		buf := make([]byte, 64<<10)
		sent, conns := 0, 0
		deadline := time.Now().Add(20 * time.Second)
		for sent < total/10 && time.Now().Before(deadline) {
			conn := badDial(t, c.Addr)
			conns++
			go func() { _, _ = io.Copy(io.Discard, conn) }()
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			for {
				rng.Read(buf)
				if buf[0] == '*' { // keep the first line from looking like a huge count
					buf[0] = '#'
				}
				n, err := conn.Write(buf)
				sent += n
				if err != nil {
					break
				}
			}
			_ = conn.Close()
		}
		t.Logf("sent %d MiB of random bytes over %d connections", sent>>20, conns)
		if grow := heap.finish(); grow > badHeapBound {
			t.Errorf("heap grew by %d MiB while random bytes were streamed", grow>>20)
		}
		badPing(t, c.Addr)
	})
}

// TestBadInputSlowClient pipelines many GETs of a 512 KiB value and never
// reads the replies: the proxy must stop reading from that client instead of
// buffering its replies without bound, and free everything once it goes.
func TestBadInputSlowClient(t *testing.T) {
	c := badStart(t)
	setup := badDial(t, c.Addr)
	value := strings.Repeat("v", 512<<10)
	if _, err := setup.Write(badBulk("SET", "slow:big", value)); err != nil {
		t.Fatal(err)
	}
	if got, err := setup.readLine(); got != "+OK\r\n" {
		t.Fatalf("SET slow:big = %q, %v", got, err)
	}

	heap := badWatchHeap()
	raw, err := net.DialTimeout("tcp", c.Addr, badReplyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tcp := raw.(*net.TCPConn)
	_ = tcp.SetReadBuffer(4 << 10)
	get := badBulk("GET", "slow:big")
	chunk := bytes.Repeat(get, 20)
	const maxGets = 4000 // 2 GiB of replies if all were served
	sent := 0
	for sent < maxGets {
		_ = tcp.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := tcp.Write(chunk); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("write after %d GETs: %v", sent, err)
			}
			break // back-pressure reached the client: what we want
		}
		sent += 20
	}
	// Give the proxy time to do whatever it does with what it has read.
	settle := time.Now().Add(2 * time.Second)
	for time.Now().Before(settle) {
		heap.sample()
		time.Sleep(100 * time.Millisecond) // sampling interval over a fixed observation window
	}
	grow := heap.finish()
	t.Logf("sent %d pipelined GETs of a 512 KiB value without reading; live heap grew by %d MiB", sent, grow>>20)
	if grow > badHeapBound {
		t.Errorf("proxy memory grew by %d MiB (bound %d MiB) for one client that does not read its replies (%d GETs of 512 KiB sent)",
			grow>>20, badHeapBound>>20, sent)
	}

	// The client goes away: the memory held for it must be released.
	_ = raw.Close()
	base := heap.base
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := badHeapInuse()
		if now < base+16<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("heap still %d MiB above its baseline 10 s after the slow client closed", (now-base)>>20)
			break
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	badPing(t, c.Addr)

	// And other clients were never blocked by it.
	rdb := itClient(t, c.Addr, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := rdb.StrLen(ctx, "slow:big").Result(); err != nil || n != int64(len(value)) {
		t.Errorf("STRLEN slow:big from another client = %d, %v", n, err)
	}
}

// TestBadInputManyConnections opens and abandons connections mid-command and
// checks the server still serves and holds no memory for them.
func TestBadInputManyConnections(t *testing.T) {
	c := badStart(t)
	heap := badWatchHeap()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", c.Addr, badReplyTimeout)
			if err != nil {
				return
			}
			// Half a command, then gone.
			_, _ = conn.Write([]byte(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$4\r\nk%03d\r\n$%d\r\nabc", i, badMaxBulk)))
			_ = conn.Close()
		}(i)
	}
	wg.Wait()
	badPing(t, c.Addr)
	if grow := heap.finish(); grow > badHeapBound {
		t.Errorf("heap grew by %d MiB after 200 abandoned half-commands", grow>>20)
	}
}
