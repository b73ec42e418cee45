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
