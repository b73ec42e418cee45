// Package shard serves one shard's partitions to proxies over an internal
// RESP port: it runs exec's commands in store transactions behind the role
// and lease checks, streams their effects to follower shards through repl,
// and answers each command once its copies hold what it did.
package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/buntdb"
	"github.com/tidwall/redcon"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// Defaults for zero Config fields.
const (
	DefaultSync           = SyncEverySec
	DefaultExpiryInterval = 100 * time.Millisecond
	DefaultSweepBatch     = 128
)

// metricsInterval is how often the key, partition and size gauges are refreshed.
const metricsInterval = time.Second

var errClosed = errors.New("shard: server closed")

// Server is one shard process's store and RESP endpoint. Its methods are
// safe for concurrent use.
type Server struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	realClock  bool // now is time.Now: command timing and command time can share one reading
	syncPolicy buntdb.SyncPolicy
	limits     resp.Limits
	execCfg    exec.Config // encoding thresholds and limits of data commands
	metrics    *metrics.Shard
	registry   *prometheus.Registry // nil when cfg.Registerer was given

	parts     []atomic.Pointer[partition] // index = partition id; nil until opened
	openMu    sync.Mutex                  // serialises opening partitions
	openCount atomic.Int64
	closing   atomic.Bool

	// effectsOff turns effect capture off, only so benchmarks can measure
	// its cost; a shard never runs with it.
	effectsOff bool

	mu      sync.Mutex // guards srv, ln, addr, started, closed
	srv     *redcon.Server
	ln      net.Listener
	addr    string
	started bool
	closed  bool

	serveDone chan struct{}  // closed when the accept loop returned
	conns     sync.WaitGroup // one per open connection
	stop      chan struct{}  // closed by Close to stop background loops
	bg        sync.WaitGroup // background loops

	// replCtx ends when Close begins, so that long-polling SHARDIS.FETCH
	// handlers, WaitAcked callers and Follow loops return before Close
	// waits for them.
	replCtx    context.Context
	replCancel context.CancelFunc
	repl       replState    // see repl_master.go and repl_follower.go
	roles      roleManager  // see roles.go
	handoff    handoffState // see handoff.go
}

// New validates cfg, opens the data dir (recording or checking its partition
// count) and the partition files already in it, and starts active expiry.
// Call Start to serve.
func New(cfg Config) (*Server, error) {
	return newServer(cfg, nil)
}

// newServer is New with an injected clock, for tests.
func newServer(cfg Config, now func() time.Time) (*Server, error) {
	realClock := now == nil
	if realClock {
		now = time.Now
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		now:       now,
		realClock: realClock,
		limits:    cfg.Limits.WithDefaults(),
		execCfg:   exec.Config{MaxStringLen: cfg.Limits.WithDefaults().MaxBulkLen}.WithDefaults(),
		parts:     make([]atomic.Pointer[partition], cfg.Partitions),
		stop:      make(chan struct{}),
	}
	s.replCtx, s.replCancel = context.WithCancel(context.Background())
	s.repl.init(cfg.Partitions)
	s.handoff.init(cfg.Partitions)
	s.SetSnapshotRate(cfg.SnapshotRate)
	switch cfg.Sync {
	case SyncAlways:
		s.syncPolicy = buntdb.Always
	case SyncEverySec:
		s.syncPolicy = buntdb.EverySecond
	case SyncNo:
		s.syncPolicy = buntdb.Never
	}
	reg := cfg.Registerer
	if reg == nil {
		s.registry = metrics.NewRegistry()
		reg = s.registry
	}
	s.metrics = metrics.NewShard(reg)
	metrics.NewShardReplication(reg, s.replicationStats)
	if !cfg.InMemory {
		if err := s.prepareDataDir(); err != nil {
			s.replCancel()
			s.closeStores()
			return nil, err
		}
	}
	s.bg.Add(3)
	go s.expiryLoop()
	go s.sweepLoop()
	go s.metricsLoop()
	return s, nil
}

func (c Config) validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("shard: ID is required"))
	}
	if err := ring.ValidPartitions(c.Partitions); err != nil {
		errs = append(errs, fmt.Errorf("shard: Partitions: %d %v", c.Partitions, err))
	}
	if !c.InMemory && c.DataDir == "" {
		errs = append(errs, errors.New("shard: DataDir is required unless InMemory is set"))
	}
	switch c.Sync {
	case "", SyncAlways, SyncEverySec, SyncNo:
	default:
		errs = append(errs, fmt.Errorf("shard: Sync (%q) must be %q, %q or %q", c.Sync, SyncAlways, SyncEverySec, SyncNo))
	}
	if c.ReplLogSize < 0 {
		errs = append(errs, fmt.Errorf("shard: ReplLogSize (%d) must not be negative", c.ReplLogSize))
	}
	if c.ReplFetchMaxWait < 0 {
		errs = append(errs, fmt.Errorf("shard: ReplFetchMaxWait (%s) must not be negative", c.ReplFetchMaxWait))
	}
	if c.ReplFetchMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("shard: ReplFetchMaxBytes (%d) must not be negative", c.ReplFetchMaxBytes))
	}
	if c.MinInSync < 0 {
		errs = append(errs, fmt.Errorf("shard: MinInSync (%d) must not be negative", c.MinInSync))
	}
	if c.ReplAckTimeout < 0 {
		errs = append(errs, fmt.Errorf("shard: ReplAckTimeout (%s) must not be negative", c.ReplAckTimeout))
	}
	switch c.CommitLevel {
	case "", CommitAll, CommitMaster:
	default:
		errs = append(errs, fmt.Errorf("shard: CommitLevel (%q) must be %q or %q", c.CommitLevel, CommitAll, CommitMaster))
	}
	if c.ExpiryInterval < 0 {
		errs = append(errs, fmt.Errorf("shard: ExpiryInterval (%s) must not be negative", c.ExpiryInterval))
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateSnapshots()...)
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Sync == "" {
		c.Sync = DefaultSync
	}
	if c.SweepBatch <= 0 {
		c.SweepBatch = DefaultSweepBatch
	}
	if c.ExpiryInterval == 0 {
		c.ExpiryInterval = DefaultExpiryInterval
	}
	if c.ReplFetchMaxWait == 0 {
		c.ReplFetchMaxWait = DefaultReplFetchMaxWait
	}
	if c.ReplFetchMaxBytes == 0 {
		c.ReplFetchMaxBytes = DefaultReplFetchMaxBytes
	}
	if c.MinInSync == 0 {
		c.MinInSync = DefaultMinInSync
	}
	if c.ReplAckTimeout == 0 {
		c.ReplAckTimeout = DefaultReplAckTimeout
	}
	if c.CommitLevel == "" {
		c.CommitLevel = DefaultCommitLevel
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c.withSnapshotDefaults()
}

// Addr returns the address the shard listens on (with the real port when
// Config.Addr asked for port 0), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Start listens on Config.Addr and serves proxies in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if s.started {
		return errors.New("shard: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("shard %s: address %s is already in use: %w", s.cfg.ID, s.cfg.Addr, err)
		}
		return fmt.Errorf("shard %s: listen on %s: %w", s.cfg.ID, s.cfg.Addr, err)
	}
	s.started = true
	s.addr = ln.Addr().String()
	s.ln = ln
	s.srv = redcon.NewServer(s.addr, s.handle, s.accept, s.closedConn)
	s.srv.AcceptError = func(err error) {
		s.log.Warn("shard accept failed", "shard", s.cfg.ID, "err", err)
		time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: do not spin
	}
	s.serveDone = make(chan struct{})
	limited := resp.LimitListener(countingListener{ln, s.metrics.Conns}, s.limits)
	go func() {
		defer close(s.serveDone)
		if err := s.srv.Serve(limited); err != nil {
			s.log.Error("shard serve stopped", "shard", s.cfg.ID, "err", err)
		}
	}()
	s.log.Info("shard listening", "shard", s.cfg.ID, "addr", s.addr, "partitions", s.cfg.Partitions)
	return nil
}

// Close stops accepting, closes every connection, waits for the shard's
// goroutines and closes every store with a final fsync, so a clean stop
// loses no acknowledged write. Later calls return nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv, ln, done := s.srv, s.ln, s.serveDone
	s.mu.Unlock()
	s.replCancel()

	if srv != nil {
		_ = srv.Close() // marks the server done (fails if Serve has not begun yet)
		_ = ln.Close()  // makes Accept fail with net.ErrClosed in any case
		<-done          // the accept loop has closed every connection
		s.conns.Wait()  // every handler has returned
	}
	close(s.stop)
	s.bg.Wait()
	return s.closeStores()
}

func (s *Server) closeStores() error {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	s.closing.Store(true)
	var errs []error
	for i := range s.parts {
		p := s.parts[i].Load()
		if p == nil {
			continue
		}
		p.mu.Lock()
		if err := p.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("shard: close partition %d: %w", p.id, err))
		}
		p.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (s *Server) nowMS() int64 { return s.now().UnixMilli() }

// conn is the per-connection state kept in the redcon context. It records
// whether the current command answered with an error, for metrics.
type conn struct {
	redcon.Conn
	failed bool
	quit   bool
	// out holds the replies of the current pipeline, as values, until
	// the copies acknowledge what their commands did (see release); only
	// then are they handed to redcon.
	out   exec.Reply
	held  []heldReply   // replies in out waiting for copies
	fetch *fetchSession // the last SHARDIS.FETCH, for SHARDIS.FETCHMORE
	gate  roleGate      // the current command's (see handle)
}

// The reply writers of the shard's own commands append to out, so that
// every reply keeps its place in the pipeline.

// WriteError records the failure and writes the error reply.
func (c *conn) WriteError(msg string) {
	c.failed = true
	c.out.Error(msg)
}

func (c *conn) WriteString(s string)     { c.out.Simple(s) }
func (c *conn) WriteBulk(b []byte)       { c.out.Bulk(b) }
func (c *conn) WriteBulkString(s string) { c.out.BulkString(s) }
func (c *conn) WriteInt(n int)           { c.out.Int(int64(n)) }
func (c *conn) WriteInt64(n int64)       { c.out.Int(n) }
func (c *conn) WriteArray(n int)         { c.out.Array(n) }
func (c *conn) WriteNull()               { c.out.Null() }

func (s *Server) accept(rc redcon.Conn) bool {
	s.conns.Add(1)
	rc.SetContext(&conn{Conn: rc})
	s.metrics.Conns.Open.Inc()
	s.metrics.Conns.Accepted.Inc()
	return true
}

func (s *Server) closedConn(rc redcon.Conn, err error) {
	s.metrics.Conns.Open.Dec()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		var le *resp.LimitError
		if errors.As(err, &le) || errors.Is(err, resp.ErrQueryBufferLimit) {
			s.log.Warn("proxy connection closed for a protocol violation", "shard", s.cfg.ID, "remote", rc.RemoteAddr(), "err", err)
		}
	}
	s.conns.Done()
}

// expiryLoop reaps expired keys every ExpiryInterval.
func (s *Server) expiryLoop() {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.reapAll()
		}
	}
}

// reapAll runs one active-expiry pass over every open partition.
func (s *Server) reapAll() int {
	now := s.nowMS()
	total := 0
	for i := range s.parts {
		p := s.parts[i].Load()
		if p == nil {
			continue
		}
		if p.expiring.Load() > 0 {
			n, err := s.reap(p, now)
			total += n
			if err != nil {
				s.log.Error("active expiry failed", "shard", s.cfg.ID, "partition", p.id, "err", err)
			}
		}
	}
	return total
}

// metricsLoop refreshes the store gauges.
func (s *Server) metricsLoop() {
	defer s.bg.Done()
	t := time.NewTicker(metricsInterval)
	defer t.Stop()
	s.updateGauges()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.updateGauges()
		}
	}
}

func (s *Server) updateGauges() {
	keys, bytes := 0, int64(0)
	for i := range s.parts {
		p := s.parts[i].Load()
		if p == nil {
			continue
		}
		keys += p.keys()
		if p.path != "" {
			if fi, err := os.Stat(p.path); err == nil {
				bytes += fi.Size()
			}
		}
	}
	s.metrics.Keys.Set(float64(keys))
	s.metrics.Partitions.Set(float64(s.openCount.Load()))
	s.metrics.StoreBytes.Set(float64(bytes))
}

// countingListener counts the bytes of every connection it accepts.
type countingListener struct {
	net.Listener
	m *metrics.Conns
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.m}, nil
}

type countingConn struct {
	net.Conn
	m *metrics.Conns
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.m.BytesIn.Add(float64(n))
	}
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.m.BytesOut.Add(float64(n))
	}
	return n, err
}
