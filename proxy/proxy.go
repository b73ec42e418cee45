// Package proxy is the client-facing side of Shardis: it speaks RESP to
// ordinary Redis clients, routes every command by key to the shard that owns
// the key's partition, splits multi-key commands, and sends each client its
// replies in the order it asked, over connections to the shards that all
// clients share.
package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/redcon"

	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// Proxy serves Redis clients on one address. It is safe for concurrent use.
type Proxy struct {
	cfg     Config
	logger  *slog.Logger
	metrics *metrics.Proxy
	reg     *prometheus.Registry // non-nil when the proxy made its own

	route atomic.Pointer[routing]
	pools []*shardPool

	started time.Time
	nextID  atomic.Int64
	clients atomic.Int64
	cmds    atomic.Int64

	mu     sync.Mutex
	ln     net.Listener
	server *redcon.Server
	done   chan struct{}
}

// routing is an immutable snapshot of the cluster map and the pool that
// serves each partition's master. It is swapped whole when the map changes.
type routing struct {
	table  ring.Table
	master []*shardPool // by partition
	pools  []*shardPool
	byID   map[string]*shardPool
}

// New validates cfg and prepares a proxy; Start begins serving.
func New(cfg Config) (*Proxy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, logger: cfg.Logger, started: time.Now()}
	reg := cfg.Registerer
	if reg == nil {
		p.reg = metrics.NewRegistry()
		reg = p.reg
	}
	p.metrics = metrics.NewProxy(reg)

	members := make([]ring.Member, len(cfg.Shards))
	byID := map[string]*shardPool{}
	for i, b := range cfg.Shards {
		members[i] = ring.Member{ID: b.ID}
		pool := &shardPool{id: b.ID}
		errs := p.metrics.BackendErrors.WithLabelValues(b.ID)
		for j := 0; j < cfg.ConnsPerShard; j++ {
			pool.conns = append(pool.conns, newBackendConn(b, cfg.Partitions, &cfg, errs, p.metrics.BackendPending))
		}
		byID[b.ID] = pool
		p.pools = append(p.pools, pool)
	}
	table := ring.Assign(ring.Table{}, members, 1, cfg.Partitions)
	rt := &routing{table: table, pools: p.pools, byID: byID, master: make([]*shardPool, cfg.Partitions)}
	for part := range rt.master {
		rt.master[part] = byID[table.Master(part)]
	}
	p.route.Store(rt)
	p.metrics.MapEpoch.Set(float64(table.Epoch))
	return p, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if c.ConnsPerShard <= 0 {
		c.ConnsPerShard = 2
	}
	if c.BackendTimeout <= 0 {
		c.BackendTimeout = 5 * time.Second
	}
	if c.MaxPipeline <= 0 {
		c.MaxPipeline = 4096
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Limits = c.Limits.WithDefaults()
	var errs []error
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Partitions <= 0 || c.Partitions > ring.Slots || c.Partitions&(c.Partitions-1) != 0 {
		errs = append(errs, fmt.Errorf("proxy: partitions: %d is not a power of two between 1 and %d", c.Partitions, ring.Slots))
	}
	if len(c.Shards) == 0 {
		errs = append(errs, errors.New("proxy: shards: at least one shard is required"))
	}
	seen := map[string]bool{}
	for i, b := range c.Shards {
		if b.ID == "" {
			errs = append(errs, fmt.Errorf("proxy: shards[%d].id: empty", i))
		}
		if seen[b.ID] {
			errs = append(errs, fmt.Errorf("proxy: shards[%d].id: %q is listed twice", i, b.ID))
		}
		seen[b.ID] = true
		if _, _, err := net.SplitHostPort(b.Addr); err != nil {
			errs = append(errs, fmt.Errorf("proxy: shards[%d].addr: %q: %v", i, b.Addr, err))
		}
	}
	return c, errors.Join(errs...)
}

// Registry returns the registry the proxy created for its metrics, or nil
// when Config.Registerer was given.
func (p *Proxy) Registry() *prometheus.Registry { return p.reg }

// Start listens on Config.Addr and serves clients in the background.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", p.cfg.Addr)
	if err != nil {
		return fmt.Errorf("proxy: listen on %s: %w", p.cfg.Addr, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln = ln
	p.done = make(chan struct{})
	p.server = redcon.NewServerNetwork("tcp", "", p.handle, p.accept, p.closed)
	lln := &countingListener{Listener: resp.LimitListener(ln, p.cfg.Limits), in: p.metrics.Conns.BytesIn, out: p.metrics.Conns.BytesOut}
	go func() {
		defer close(p.done)
		if err := p.server.Serve(lln); err != nil {
			p.logger.Error("proxy stopped serving", "err", err)
		}
	}()
	p.logger.Info("proxy listening", "addr", ln.Addr().String(), "shards", len(p.cfg.Shards), "partitions", p.cfg.Partitions)
	return nil
}

// Addr returns the address the proxy listens on (after Start).
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return p.cfg.Addr
	}
	return p.ln.Addr().String()
}

// Close stops accepting clients, closes client connections and the
// connections to the shards, and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	server, done := p.server, p.done
	p.server = nil
	p.mu.Unlock()
	if server != nil {
		_ = server.Close()
		<-done
	}
	for _, pool := range p.pools {
		pool.close()
	}
	return nil
}

// client is the per-connection state.
type client struct {
	id      int64
	addr    string
	laddr   string
	created time.Time
	last    time.Time
	proto   int
	authed  bool
	name    string
	libName string
	libVer  string
}

func (p *Proxy) accept(conn redcon.Conn) bool {
	if p.clients.Load() >= int64(p.cfg.MaxClients) {
		conn.WriteError("ERR max number of clients reached")
		return false
	}
	now := time.Now()
	cl := &client{
		id:      p.nextID.Add(1),
		addr:    conn.RemoteAddr(),
		created: now,
		last:    now,
		proto:   resp.RESP2,
		authed:  p.cfg.Password == "",
	}
	if nc := conn.NetConn(); nc != nil {
		cl.laddr = nc.LocalAddr().String()
	}
	conn.SetContext(cl)
	p.clients.Add(1)
	p.metrics.Conns.Open.Inc()
	p.metrics.Conns.Accepted.Inc()
	return true
}

func (p *Proxy) closed(conn redcon.Conn, err error) {
	if _, ok := conn.Context().(*client); !ok {
		return
	}
	p.clients.Add(-1)
	p.metrics.Conns.Open.Dec()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		p.logger.Debug("client connection closed", "addr", conn.RemoteAddr(), "err", err)
	}
}

// countingListener counts the bytes read from and written to clients.
type countingListener struct {
	net.Listener
	in, out prometheus.Counter
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, in: l.in, out: l.out}, nil
}

type countingConn struct {
	net.Conn
	in, out prometheus.Counter
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(float64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(float64(n))
	return n, err
}

// pid is reported by INFO.
var pid = os.Getpid()
