package proxy

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shardis/shardis/resp"
)

// fakeShard is a RESP server below the proxy's network boundary: it answers
// the handshake, then request number i with the integer i, optionally
// stalling (to test timeouts). While down is set it drops every connection.
type fakeShard struct {
	ln    net.Listener
	stall chan struct{} // when non-nil, replies wait until it is closed
	down  atomic.Bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startFakeShard(tb testing.TB, stall chan struct{}) *fakeShard {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f := &fakeShard{ln: ln, stall: stall}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if f.down.Load() {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(c)
			}()
		}
	}()
	tb.Cleanup(f.close)
	return f
}

func (f *fakeShard) close() {
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeShard) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	n := 0
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		if string(args[0]) == "SHARDIS.HELLO" {
			w.Write(resp.AppendInt(resp.AppendBulkString(resp.AppendArrayHeader(nil, 2), "s1"), 16))
		} else {
			if f.stall != nil {
				<-f.stall
			}
			w.Write(resp.AppendInt(nil, int64(n)))
			n++
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([][]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[0] != '*' {
		return nil, errors.New("bad command")
	}
	n, err := strconv.Atoi(line[1 : len(line)-2])
	if err != nil {
		return nil, err
	}
	args := make([][]byte, n)
	for i := range args {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l, err := strconv.Atoi(line[1 : len(line)-2])
		if err != nil {
			return nil, err
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = b[:l]
	}
	return args, nil
}

func testBackend(t testing.TB, addr string, timeout time.Duration) *backendConn {
	t.Helper()
	cfg := Config{BackendTimeout: timeout, MaxPipeline: 1024, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c := newBackendConn(Backend{ID: "s1", Addr: addr}, 16, &cfg,
		prometheus.NewCounter(prometheus.CounterOpts{Name: "e"}), prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}))
	t.Cleanup(c.close)
	return c
}

// TestBackendPipelineOrder sends many requests at once over one connection
// and checks that request i gets reply i: replies are matched FIFO.
func TestBackendPipelineOrder(t *testing.T) {
	f := startFakeShard(t, nil)
	c := testBackend(t, f.ln.Addr().String(), 5*time.Second)
	const n = 16384
	reqs := make([]*request, n)
	for i := range reqs {
		reqs[i] = newRequest(resp.AppendCommand(nil, []byte("GET"), []byte("k")))
		c.send(reqs[i])
	}
	for i, q := range reqs {
		q.wait()
		if q.err != nil {
			t.Fatalf("request %d: %v", i, q.err)
		}
		if want := ":" + strconv.Itoa(i) + "\r\n"; string(q.reply) != want {
			t.Fatalf("request %d: reply %q, want %q", i, q.reply, want)
		}
	}
}

// TestBackendTimeout: a shard that stops answering fails the requests in
// flight within the timeout instead of hanging the client.
func TestBackendTimeout(t *testing.T) {
	stall := make(chan struct{})
	f := startFakeShard(t, stall)
	defer close(stall)
	c := testBackend(t, f.ln.Addr().String(), 200*time.Millisecond)
	q := newRequest(resp.AppendCommand(nil, []byte("GET"), []byte("k")))
	start := time.Now()
	c.send(q)
	q.wait()
	if !errors.Is(q.err, errShardTimeout) {
		t.Fatalf("err = %v, want a timeout", q.err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	if got := backendError(q.err); got[:9] != "TRYAGAIN " {
		t.Fatalf("client error %q", got)
	}
}

// TestBackendDown: while the shard drops connections, requests fail fast
// with CLUSTERDOWN; once it is back they succeed again.
func TestBackendDown(t *testing.T) {
	f := startFakeShard(t, nil)
	f.down.Store(true)
	c := testBackend(t, f.ln.Addr().String(), time.Second)
	q := newRequest(resp.AppendCommand(nil, []byte("GET"), []byte("k")))
	c.send(q)
	q.wait()
	if !errors.Is(q.err, errShardDown) {
		t.Fatalf("err = %v, want shard down", q.err)
	}
	if got := backendError(q.err); got[:12] != "CLUSTERDOWN " {
		t.Fatalf("client error %q", got)
	}

	f.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := newRequest(resp.AppendCommand(nil, []byte("GET"), []byte("k")))
		c.send(q)
		q.wait()
		if q.err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend did not recover: %v", q.err)
		}
		time.Sleep(20 * time.Millisecond) // polling past the reconnect backoff
	}
}

// TestBackendRedialsIdleConnection: a shard that closes an idle connection
// (it restarted) is noticed at once: the backend redials before the next
// request, which then succeeds instead of failing on the dead connection.
func TestBackendRedialsIdleConnection(t *testing.T) {
	f := startFakeShard(t, nil)
	c := testBackend(t, f.ln.Addr().String(), time.Second)
	get := func() *request {
		q := newRequest(resp.AppendCommand(nil, []byte("GET"), []byte("k")))
		c.send(q)
		q.wait()
		return q
	}
	if q := get(); q.err != nil {
		t.Fatal(q.err)
	}
	accepted := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.conns)
	}
	f.mu.Lock()
	f.conns[0].Close()
	f.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for accepted() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the backend did not redial after the shard closed its idle connection")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
	if q := get(); q.err != nil {
		t.Fatalf("first request after the shard closed the connection: %v", q.err)
	}
}

func BenchmarkBackendPipeline(b *testing.B) {
	for _, depth := range []int{1, 16, 128} {
		b.Run("depth="+strconv.Itoa(depth), func(b *testing.B) {
			f := startFakeShard(b, nil)
			c := testBackend(b, f.ln.Addr().String(), 5*time.Second)
			cmd := resp.AppendCommand(nil, []byte("GET"), []byte("k"))
			reqs := make([]*request, depth)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += depth {
				for j := range reqs {
					reqs[j] = newRequest(cmd)
					c.send(reqs[j])
				}
				for _, q := range reqs {
					q.wait()
				}
			}
		})
	}
}

// TestCloseWithRequestsInFlight: closing the proxy while a shard is
// stalled answers the waiting client instead of leaving it hanging, and
// Close itself returns promptly.
func TestCloseWithRequestsInFlight(t *testing.T) {
	stall := make(chan struct{})
	f := startFakeShard(t, stall)
	defer close(stall)
	p, err := New(Config{
		Addr:           "127.0.0.1:0",
		Shards:         []Backend{{ID: "s1", Addr: f.ln.Addr().String()}},
		Partitions:     16,
		BackendTimeout: time.Minute,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(resp.AppendCommand(nil, []byte("GET"), []byte("k"))); err != nil {
		t.Fatal(err)
	}
	// Wait until the request is in flight to the stalled shard.
	deadline := time.Now().Add(5 * time.Second)
	for testutilGauge(p) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the shard")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() {
		_ = p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with a request in flight")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err == nil && n > 0 && buf[0] != '-' {
		t.Fatalf("client got %q, want an error or a closed connection", buf[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("client still waiting after Close")
	}
}

func testutilGauge(p *Proxy) float64 {
	m := &dto.Metric{}
	if err := p.metrics.BackendPending.Write(m); err != nil {
		return 0
	}
	return m.GetGauge().GetValue()
}
