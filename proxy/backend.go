package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/resp"
)

// request is one command sent to a shard and, once done is signalled, its
// raw reply (or err): RESP3 with *-1 for null arrays from a shard, which the
// client's connection converts (see appendForwarded). A request is written at most once: a request
// that failed after being written is answered with an error, never resent,
// because the shard may have executed it.
type request struct {
	cmd   []byte
	reply []byte
	err   error
	done  chan struct{} // closed once reply or err is set
	// plain is set when the reply has no RESP3-only type, so a RESP2 client
	// can get it as it is; false (unknown) makes the reply be converted.
	plain bool
	// small holds a short reply (most are: OK, integers, values of a
	// hundred bytes or so) without an allocation of its own.
	small [smallReply]byte
}

// smallReply is the longest reply a request holds inline.
const smallReply = 128

func newRequest(cmd []byte) *request {
	return &request{cmd: cmd, done: make(chan struct{})}
}

func (r *request) finish(reply []byte, err error) {
	if err == nil {
		if r.reply == nil && len(reply) <= smallReply {
			r.reply = r.small[:0]
		}
		r.reply = append(r.reply[:0], reply...)
	}
	r.err = err
	close(r.done)
}

// wait blocks until the request is answered. The backend bounds the wait:
// every written request gets its reply, or an error when the read deadline
// (BackendTimeout) passes or the connection breaks.
func (r *request) wait() { <-r.done }

// errShardDown and errShardTimeout wrap the shard's id and cause; the client
// sees them as Redis-style errors (see backendError).
var (
	errShardDown = errors.New("unavailable")
	// errShardUnsent is errShardDown for a request that was never
	// written to the shard, so sending it elsewhere cannot run it twice.
	errShardUnsent  = fmt.Errorf("%w", errShardDown)
	errShardTimeout = errors.New("timed out")
)

// backendConn is one pipelined connection to a shard, shared by every client
// of the proxy. Requests queue on in; a writer goroutine batches whatever is
// queued into one write and hands each request to pending; a reader
// goroutine reads exactly one reply per pending request, in FIFO order.
// All methods are safe for concurrent use.
type backendConn struct {
	shardID    string
	addr       string
	partitions int
	timeout    time.Duration
	logger     *slog.Logger
	errors     prometheus.Counter
	inflight   prometheus.Gauge

	in      chan *request
	pending chan *request
	quit    chan struct{}
	wg      sync.WaitGroup

	// state is stateUnknown until the first connection attempt, then
	// stateUp or stateDown; read by Status.
	state atomic.Value // string

	// mu makes close wait for sends in progress, so that no request is
	// queued after the last drain and left unanswered. closed is guarded
	// by mu.
	mu     sync.RWMutex
	closed bool
}

func newBackendConn(b Backend, partitions int, cfg *Config, errs prometheus.Counter, inflight prometheus.Gauge) *backendConn {
	c := &backendConn{
		shardID:    b.ID,
		addr:       b.Addr,
		partitions: partitions,
		timeout:    cfg.BackendTimeout,
		logger:     cfg.Logger,
		errors:     errs,
		inflight:   inflight,
		in:         make(chan *request, cfg.MaxPipeline),
		pending:    make(chan *request, cfg.MaxPipeline),
		quit:       make(chan struct{}),
	}
	c.wg.Add(1)
	go c.run()
	return c
}

// send queues r. It never blocks past the backend timeout: when the queue
// stays full that long the request fails.
func (c *backendConn) send(r *request) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		c.fail(r, errShardUnsent)
		return
	}
	select {
	case c.in <- r:
		return
	default:
	}
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case c.in <- r:
	case <-t.C:
		c.fail(r, errShardTimeout)
	case <-c.quit:
		c.fail(r, errShardUnsent)
	}
}

func (c *backendConn) fail(r *request, cause error) {
	c.errors.Inc()
	r.finish(nil, fmt.Errorf("shard %s (%s) %w", c.shardID, c.addr, cause))
}

func (c *backendConn) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.quit)
	c.wg.Wait()
	c.drain(errShardUnsent)
}

// run owns the connection: it dials, runs a session until the connection
// breaks, fails what was in flight, and dials again. While the shard cannot
// be reached, queued requests fail at once instead of waiting.
func (c *backendConn) run() {
	defer c.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		conn, err := c.dial()
		if err != nil {
			c.state.Store(stateDown)
			c.logger.Warn("shard unreachable", "shard", c.shardID, "addr", c.addr, "err", err)
			if !c.failQueued(backoff) {
				return
			}
			backoff = min(backoff*2, 500*time.Millisecond)
			continue
		}
		backoff = 50 * time.Millisecond
		c.state.Store(stateUp)
		ok := c.session(conn)
		c.state.Store(stateDown)
		if !ok {
			return
		}
	}
}

// failQueued fails every request that arrives during d. It returns false
// when the proxy is closing.
func (c *backendConn) failQueued(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case r := <-c.in:
			c.fail(r, errShardUnsent)
		case <-t.C:
			return true
		case <-c.quit:
			c.drain(errShardUnsent)
			return false
		}
	}
}

func (c *backendConn) drain(cause error) {
	for {
		select {
		case r := <-c.in:
			c.fail(r, cause)
		default:
			return
		}
	}
}

// dial connects and checks that the shard is the one the map names and
// was created with the same partition count.
func (c *backendConn) dial() (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
	if err != nil {
		return nil, err
	}
	if err := c.handshake(conn); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (c *backendConn) handshake(conn net.Conn) error {
	_ = conn.SetDeadline(time.Now().Add(c.timeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(resp.AppendCommand(nil, []byte("SHARDIS.HELLO"))); err != nil {
		return err
	}
	raw, err := resp.NewReplyReader(conn, 1<<16).Next()
	if err != nil {
		return err
	}
	v, _, err := resp.ParseValue(raw)
	if err != nil {
		return err
	}
	if v.Kind == resp.KindError {
		return fmt.Errorf("handshake: %s", v.Str)
	}
	if v.Kind != resp.KindArray || len(v.Elems) != 2 {
		return fmt.Errorf("handshake: unexpected reply %q", raw)
	}
	id, parts := string(v.Elems[0].Str), v.Elems[1].Int
	if id != c.shardID {
		return fmt.Errorf("address %s is shard %q, not %q", c.addr, id, c.shardID)
	}
	if int(parts) != c.partitions {
		return fmt.Errorf("shard %s has %d partitions, the proxy %d", id, parts, c.partitions)
	}
	return nil
}

// session pipelines requests over conn until it breaks. It returns false
// when the proxy is closing.
func (c *backendConn) session(conn net.Conn) bool {
	readerDone := make(chan struct{})
	broken := make(chan struct{})
	var once sync.Once
	breakConn := func() { once.Do(func() { close(broken); conn.Close() }) }

	go func() {
		defer close(readerDone)
		c.readLoop(conn, breakConn, broken)
	}()

	closing := c.writeLoop(conn, breakConn, broken)
	breakConn()
	<-readerDone
	// The reader has stopped: whatever is still pending was written and
	// will never be answered on this connection.
	for {
		select {
		case r := <-c.pending:
			c.inflight.Dec()
			c.fail(r, errShardDown)
			continue
		default:
		}
		break
	}
	if closing {
		c.drain(errShardUnsent)
		return false
	}
	return true
}

// writeLoop takes queued requests, writes them in batches (one write per
// batch: it flushes only when nothing more is queued) and moves each to
// pending. It returns true when the proxy is closing.
func (c *backendConn) writeLoop(conn net.Conn, breakConn func(), broken <-chan struct{}) bool {
	w := bufio.NewWriterSize(conn, 64<<10)
	for {
		var r *request
		select {
		case r = <-c.in:
		case <-broken:
			return false
		case <-c.quit:
			return true
		}
		yielded := false
		for {
			// pending has room for MaxPipeline requests: a full pending
			// queue is the back-pressure that stops us writing more. What
			// is buffered must reach the shard first, or its replies (the
			// only thing that drains pending) would never come.
			select {
			case c.pending <- r:
			default:
				if !c.flush(conn, w, breakConn) {
					c.fail(r, errShardUnsent)
					return false
				}
				select {
				case c.pending <- r:
				case <-broken:
					c.fail(r, errShardUnsent)
					return false
				case <-c.quit:
					c.fail(r, errShardUnsent)
					return true
				}
			}
			c.inflight.Inc()
			if _, err := w.Write(r.cmd); err != nil {
				breakConn()
				return false
			}
			select {
			case r = <-c.in:
				continue
			default:
			}
			if !yielded {
				// Let the clients that are ready to run queue their
				// requests before this batch is written: one write
				// then carries many of them. Without this, the writer
				// (woken by the first request) runs before the other
				// clients and writes one request per syscall.
				yielded = true
				runtime.Gosched()
				select {
				case r = <-c.in:
					continue
				default:
				}
			}
			break
		}
		if !c.flush(conn, w, breakConn) {
			return false
		}
	}
}

func (c *backendConn) flush(conn net.Conn, w *bufio.Writer, breakConn func()) bool {
	if w.Buffered() == 0 {
		return true
	}
	_ = conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if err := w.Flush(); err != nil {
		c.logger.Warn("shard write failed", "shard", c.shardID, "err", err)
		breakConn()
		return false
	}
	return true
}

// readLoop reads one reply per pending request. A reply must arrive within
// the backend timeout of the reader starting to wait for it; otherwise the
// connection is broken and every pending request fails.
//
// While nothing is pending the reader still waits on the socket, so that a
// shard that closed the connection (it stopped or crashed) is noticed at
// once and the connection redialled, instead of failing the next request
// sent on it.
func (c *backendConn) readLoop(conn net.Conn, breakConn func(), broken <-chan struct{}) {
	br := bufio.NewReaderSize(conn, 16<<10)
	rr := resp.NewReplyReader(br, maxReplySize)
	for {
		var r *request
		select {
		case r = <-c.pending:
		case <-broken:
			return
		default:
			_ = conn.SetReadDeadline(time.Now().Add(idleReadCheck))
			if _, err := br.Peek(1); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue // idle and healthy: look at pending again
				}
				breakConn()
				return
			}
			// A reply is arriving; its request was queued on pending
			// before it was written.
			select {
			case r = <-c.pending:
			default:
				c.logger.Warn("shard sent a reply nobody asked for", "shard", c.shardID)
				breakConn()
				return
			}
		}
		_ = conn.SetReadDeadline(time.Now().Add(c.timeout))
		raw, err := rr.Next()
		c.inflight.Dec()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.logger.Warn("shard did not answer in time", "shard", c.shardID, "timeout", c.timeout)
				c.fail(r, errShardTimeout)
			} else {
				c.fail(r, errShardDown)
			}
			breakConn()
			return
		}
		r.plain = !rr.HasRESP3()
		r.finish(raw, nil)
	}
}

// idleReadCheck is how often an idle reader looks for newly pending
// requests between waits on the socket.
const idleReadCheck = 100 * time.Millisecond

// maxReplySize bounds one shard reply. It is above the largest string a
// shard stores (512 MiB) plus framing, so a legitimate reply never fails.
const maxReplySize = 1<<30 + 1<<20

// backendError turns a request's error into the client's error text.
func backendError(err error) string {
	switch {
	case errors.Is(err, errShardTimeout):
		return "TRYAGAIN " + err.Error()
	default:
		return "CLUSTERDOWN " + err.Error()
	}
}

// shardPool is the set of connections to one shard. Requests for a
// partition always use the same connection, so commands on one key are
// executed by the shard in the order the proxy sent them.
type shardPool struct {
	id    string
	addr  string
	conns []*backendConn
}

// Connection states reported by Status.
const (
	stateUnknown = "unknown"
	stateUp      = "up"
	stateDown    = "down"
)

// state is "down" when a connection to the shard has failed (and not yet
// been re-established; failed connections are redialled every few hundred
// milliseconds), "up" when connections work, "unknown" before any attempt.
func (p *shardPool) state() string {
	s := stateUnknown
	for _, c := range p.conns {
		switch v, _ := c.state.Load().(string); v {
		case stateDown:
			return stateDown
		case stateUp:
			s = stateUp
		}
	}
	return s
}

func (p *shardPool) connFor(partition int) *backendConn {
	return p.conns[partition%len(p.conns)]
}

func (p *shardPool) close() {
	for _, c := range p.conns {
		c.close()
	}
}
