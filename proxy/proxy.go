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
	"sort"
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

	// changed is closed (and replaced) whenever the routing map changes.
	changed atomic.Pointer[chan struct{}]
	// waiting counts requests refused with NOTMASTER that wait for a newer map.
	waiting atomic.Int64

	// mapMu serialises map updates; pools and retired are guarded by it.
	mapMu   sync.Mutex
	pools   map[string]*shardPool // by shard id, every pool in use
	retired []*shardPool          // pools of shards no longer in the map, closed at Close

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
	pools  []*shardPool // every shard in the map, sorted by id
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
	addrs := map[string]string{}
	for i, b := range cfg.Shards {
		members[i] = ring.Member{ID: b.ID}
		addrs[b.ID] = b.Addr
	}
	p.pools = map[string]*shardPool{}
	if err := p.UpdateMap(ring.Assign(ring.Table{}, members, 1, cfg.Partitions), addrs); err != nil {
		p.closePools()
		return nil, err
	}
	return p, nil
}

// UpdateMap makes the proxy route by table from now on. addrs gives the
// internal address of every shard the table names. Requests already sent
// complete on the connections they used; connections to shards that left
// the map are closed when the proxy closes. A table whose epoch is older
// than the current one is refused, so a late update never undoes a newer.
func (p *Proxy) UpdateMap(table ring.Table, addrs map[string]string) error {
	if table.Len() != p.cfg.Partitions {
		return fmt.Errorf("proxy: map has %d partitions, the proxy %d", table.Len(), p.cfg.Partitions)
	}
	p.mapMu.Lock()
	defer p.mapMu.Unlock()
	if cur := p.route.Load(); cur != nil && table.Epoch < cur.table.Epoch {
		return fmt.Errorf("proxy: map epoch %d is older than the current %d", table.Epoch, cur.table.Epoch)
	}
	rt := &routing{table: table, byID: map[string]*shardPool{}, master: make([]*shardPool, table.Len())}
	for part := 0; part < table.Len(); part++ {
		for _, id := range table.Owners(part) {
			if rt.byID[id] != nil {
				continue
			}
			addr, ok := addrs[id]
			if !ok {
				return fmt.Errorf("proxy: map names shard %q but gives no address for it", id)
			}
			pool := p.pools[id]
			if pool == nil || pool.addr != addr {
				if pool != nil {
					p.retired = append(p.retired, pool)
				}
				pool = p.newPool(Backend{ID: id, Addr: addr})
				p.pools[id] = pool
			}
			rt.byID[id] = pool
			rt.pools = append(rt.pools, pool)
		}
		if m := table.Master(part); m != "" {
			rt.master[part] = rt.byID[m]
		}
	}
	sort.Slice(rt.pools, func(i, j int) bool { return rt.pools[i].id < rt.pools[j].id })
	for id, pool := range p.pools {
		if rt.byID[id] == nil {
			p.retired = append(p.retired, pool)
			delete(p.pools, id)
		}
	}
	p.route.Store(rt)
	p.metrics.MapEpoch.Set(float64(table.Epoch))
	next := make(chan struct{})
	if old := p.changed.Swap(&next); old != nil {
		close(*old)
	}
	return nil
}

// WaitingForMap returns how many requests are waiting for a newer cluster
// map because a shard no longer masters their partition.
func (p *Proxy) WaitingForMap() int { return int(p.waiting.Load()) }

// mapChanged returns a channel closed at the next map change.
func (p *Proxy) mapChanged() <-chan struct{} {
	return *p.changed.Load()
}

func (p *Proxy) newPool(b Backend) *shardPool {
	pool := &shardPool{id: b.ID, addr: b.Addr}
	errs := p.metrics.BackendErrors.WithLabelValues(b.ID)
	for j := 0; j < p.cfg.ConnsPerShard; j++ {
		pool.conns = append(pool.conns, newBackendConn(b, p.cfg.Partitions, &p.cfg, errs, p.metrics.BackendPending))
	}
	return pool
}

func (p *Proxy) closePools() {
	p.mapMu.Lock()
	defer p.mapMu.Unlock()
	for _, pool := range p.pools {
		pool.close()
	}
	for _, pool := range p.retired {
		pool.close()
	}
	p.pools, p.retired = map[string]*shardPool{}, nil
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
	if c.RetryBudget <= 0 {
		c.RetryBudget = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Limits = c.Limits.WithDefaults()
	var errs []error
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := ring.ValidPartitions(c.Partitions); err != nil {
		errs = append(errs, fmt.Errorf("proxy: partitions: %d %v", c.Partitions, err))
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
	server, done := p.server, p.done // Close clears p.server under p.mu
	go func() {
		defer close(done)
		if err := server.Serve(lln); err != nil {
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
	p.closePools()
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

	free []*reply // answered replies to reuse (see newReply)

	// cmds and replies are handle's buffers for one batch.
	cmds    []redcon.Command
	replies []*reply
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
