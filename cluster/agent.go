package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Agent defaults, used where AgentConfig leaves a field zero.
const (
	// DefaultReconcileInterval is how often a leading voter re-checks
	// membership against the map even when no membership event arrived.
	DefaultReconcileInterval = 500 * time.Millisecond
	// DefaultMapLongPoll bounds how long the map endpoint holds a request
	// open waiting for a newer map before it answers 204.
	DefaultMapLongPoll = 10 * time.Second
)

// Tuning constants that are not worth a config field.
const (
	// agBackoffMin and agBackoffMax bound the wait between failed map
	// fetches; it doubles on every failure and resets on success.
	agBackoffMin = 50 * time.Millisecond
	agBackoffMax = time.Second
	// agPollSlack is added to the long-poll bound for the client's own
	// timeout, so a slow but healthy answer is not cut off.
	agPollSlack = 5 * time.Second
	// agReconcileTimeout bounds one Reconcile call (it may commit several
	// commands).
	agReconcileTimeout = 5 * time.Second
	// agServerStop bounds the graceful stop of the map server in Close;
	// long-polls end at once because Close cancels them first.
	agServerStop = time.Second
)

// AgentConfig configures StartAgent.
type AgentConfig struct {
	// Membership is the gossip configuration. On voters, StartAgent fills
	// Meta.AdminAddr with the bound map address and Meta.RaftAddr with the
	// controller's Raft address, which is how other agents find the map.
	Membership MembershipConfig
	// Controller makes this node a controller voter; nil on every other
	// node. Its ID must be empty (then Membership.Meta.ID is used) or equal
	// to Membership.Meta.ID, and its Raft address (RaftAddr, or
	// Transport.LocalAddr() when Transport is set) must be host:port.
	Controller *ControllerConfig
	// MapAddr is host:port the map endpoint (GET /map) listens on; it must
	// be set exactly on voters. Port 0 picks a free port (read it back with
	// Agent.MapAddr). An unspecified host (":7000", "0.0.0.0:7000") is
	// advertised as Membership.AdvertiseAddr or BindAddr, which must then
	// name a reachable IP.
	MapAddr string
	// AdminHandler, on voters, serves every path of MapAddr except /map
	// and /report, so a process can put its metrics and admin routes on the
	// port other members know as AdminAddr. Nil answers 404 there.
	AdminHandler http.Handler
	// ReconcileInterval is how often a leading voter reconciles membership
	// with the map besides on every membership event. Zero means
	// DefaultReconcileInterval.
	ReconcileInterval time.Duration
	// MapLongPoll bounds one long-poll of the map endpoint. Zero means
	// DefaultMapLongPoll.
	MapLongPoll time.Duration
	// OnLease, on a shard, makes the agent keep a master lease from the
	// controller leader and hear of the end of every lease it gets (the
	// zero time when the controller runs without leases). It is called
	// from one goroutine and must not block.
	OnLease func(until time.Time)
	// Logger receives the agent's events and is passed to membership and
	// the controller when their configs have none; nil means slog.Default().
	Logger *slog.Logger
}

// Agent is what every shard and proxy process runs to be part of the
// cluster: gossip membership, on voters a controller replica that turns
// membership into the cluster map, and everywhere the freshest map.
//
// Voters serve the map at http://AdminAddr/map; every other node long-polls
// a live voter and switches to another when it fails. A map is adopted
// only if its epoch is higher than the one held, so State never goes back,
// whatever order answers arrive in. Epochs are decided once by Raft, so two
// maps with the same epoch are the same map.
type Agent struct {
	log      *slog.Logger
	ml       *Membership
	ctl      *Controller // nil on non-voters
	interval time.Duration
	longPoll time.Duration
	mapAddr  string // advertised map address; "" on non-voters

	srv    *http.Server // nil on non-voters
	ln     net.Listener
	client *http.Client
	hc     *http.Transport

	snap atomic.Pointer[agSnap]

	mu       sync.Mutex // guards watchers
	watchers map[chan struct{}]struct{}

	reconKick  chan struct{}          // capacity 1: "reconcile now"
	memberKick chan struct{}          // capacity 1: "membership changed"
	target     atomic.Pointer[string] // map endpoint a non-voter polls now
	holding    atomic.Int32           // long-polls this voter's endpoint holds open

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// agSnap is an adopted state with its JSON encoding, made once on demand
// so the map endpoint does not encode the same state for every poller.
type agSnap struct {
	s    State
	once sync.Once
	enc  []byte
	err  error
}

func (sn *agSnap) agEncoded() ([]byte, error) {
	sn.once.Do(func() { sn.enc, sn.err = json.Marshal(sn.s) })
	return sn.enc, sn.err
}

// StartAgent joins the cluster, starts the controller replica and map
// endpoint on voters, and starts following the map. It returns once this
// node is a member; the map may still be empty (epoch 0) until a voter
// answers: wait on Watch.
func StartAgent(cfg AgentConfig) (*Agent, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Membership.Logger == nil {
		cfg.Membership.Logger = logger
	}
	voter := cfg.Controller != nil
	if voter != (cfg.MapAddr != "") {
		return nil, errors.New("cluster: AgentConfig.MapAddr must be set exactly when Controller is (voters serve the map)")
	}
	if cfg.ReconcileInterval < 0 || cfg.MapLongPoll < 0 {
		return nil, fmt.Errorf("cluster: negative AgentConfig.ReconcileInterval (%s) or MapLongPoll (%s)", cfg.ReconcileInterval, cfg.MapLongPoll)
	}
	hc := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute,
		DialContext: flDialer(cfg.Membership.Faults)}
	a := &Agent{
		log:        logger.With("component", "agent", "node", cfg.Membership.Meta.ID),
		interval:   cfg.ReconcileInterval,
		longPoll:   cfg.MapLongPoll,
		hc:         hc,
		client:     &http.Client{Transport: hc},
		watchers:   make(map[chan struct{}]struct{}),
		reconKick:  make(chan struct{}, 1),
		memberKick: make(chan struct{}, 1),
	}
	if a.interval == 0 {
		a.interval = DefaultReconcileInterval
	}
	if a.longPoll == 0 {
		a.longPoll = DefaultMapLongPoll
	}
	a.snap.Store(&agSnap{})
	a.ctx, a.cancel = context.WithCancel(context.Background())

	ok := false
	defer func() {
		if !ok {
			a.cancel()
			if a.ln != nil {
				_ = a.ln.Close()
			}
			if a.ctl != nil {
				_ = a.ctl.Close()
			}
		}
	}()

	if voter {
		cc := *cfg.Controller
		switch {
		case cc.ID == "":
			cc.ID = cfg.Membership.Meta.ID
		case cc.ID != cfg.Membership.Meta.ID:
			return nil, fmt.Errorf("cluster: ControllerConfig.ID %q differs from NodeMeta.ID %q", cc.ID, cfg.Membership.Meta.ID)
		}
		if cc.Logger == nil {
			cc.Logger = logger
		}
		raftAddr := cc.RaftAddr
		if cc.Transport != nil {
			raftAddr = string(cc.Transport.LocalAddr())
		}
		if err := mlCheckHostPort(raftAddr); err != nil {
			return nil, fmt.Errorf("cluster: voter Raft address %q must be host:port to be advertised: %v", raftAddr, err)
		}
		ln, err := net.Listen("tcp", cfg.MapAddr)
		if err != nil {
			return nil, fmt.Errorf("cluster: map endpoint: %w", err)
		}
		a.ln = ln
		adv, err := agAdvertised(ln.Addr().(*net.TCPAddr), cfg.Membership)
		if err != nil {
			return nil, err
		}
		a.mapAddr = adv
		cfg.Membership.Meta.AdminAddr = adv
		cfg.Membership.Meta.RaftAddr = raftAddr
		if a.ctl, err = NewController(cc); err != nil {
			return nil, err
		}
	}

	ml, err := Join(cfg.Membership)
	if err != nil {
		return nil, err
	}
	a.ml = ml
	ok = true

	a.wg.Add(1)
	go a.agWatchMembers()
	if voter {
		a.agAdopt(a.ctl.State())
		mux := http.NewServeMux()
		mux.HandleFunc("/map", a.agServeMap)
		mux.HandleFunc("/report", a.agServeReport)
		mux.HandleFunc("/lease", a.agServeLease)
		if cfg.AdminHandler != nil {
			mux.Handle("/", cfg.AdminHandler)
		}
		a.srv = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return a.ctx },
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		}
		a.wg.Add(3)
		go a.agServe()
		go a.agFollowController()
		go a.agReconcileLoop()
	} else {
		a.wg.Add(1)
		go a.agFollowVoters()
	}
	if cfg.OnLease != nil {
		a.wg.Add(1)
		go a.agLeaseLoop(cfg.Membership.Meta.ID, cfg.OnLease)
	}
	a.log.Info("agent started", "voter", voter, "map_addr", a.mapAddr)
	return a, nil
}

// agAdvertised turns the bound map address into one others can dial.
func agAdvertised(bound *net.TCPAddr, mc MembershipConfig) (string, error) {
	host := bound.IP.String()
	if bound.IP.IsUnspecified() {
		host = mc.AdvertiseAddr
		if host == "" {
			host = mc.BindAddr
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return "", fmt.Errorf("cluster: map endpoint bound to %s; give MapAddr a host, or set Membership.AdvertiseAddr or BindAddr", bound)
		}
	}
	return net.JoinHostPort(host, fmt.Sprint(bound.Port)), nil
}

// Membership returns the gossip membership the agent runs, for routing
// decisions that need liveness faster than the map changes.
func (a *Agent) Membership() *Membership { return a.ml }

// Controller returns this voter's controller replica, or nil on a
// non-voter; it is how an admin command or a shard's InSync report reaches
// Raft on this node.
func (a *Agent) Controller() *Controller { return a.ctl }

// MapAddr returns the advertised host:port of this voter's map endpoint
// (the bound port when MapAddr asked for port 0), or "" on a non-voter.
func (a *Agent) MapAddr() string { return a.mapAddr }

// State returns the newest cluster map this agent has adopted (epoch 0
// before the first). It never blocks. The result is shared: do not modify
// its maps or slices (Clone it first).
func (a *Agent) State() State { return a.snap.Load().s }

// Watch returns a channel that receives a value after every adoption of a
// newer state (coalesced: one pending signal at most, so read State after
// it), and a function that stops the notifications.
func (a *Agent) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	a.mu.Lock()
	a.watchers[ch] = struct{}{}
	a.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			a.mu.Lock()
			delete(a.watchers, ch)
			a.mu.Unlock()
		})
	}
}

// agAdopt makes s the held state if its epoch is newer, and reports whether
// it did. It never goes back, however calls interleave.
func (a *Agent) agAdopt(s State) bool {
	next := &agSnap{s: s}
	for {
		cur := a.snap.Load()
		if s.Epoch <= cur.s.Epoch {
			return false
		}
		if a.snap.CompareAndSwap(cur, next) {
			break
		}
	}
	a.mu.Lock()
	for ch := range a.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	a.mu.Unlock()
	a.log.Debug("cluster map adopted", "epoch", s.Epoch)
	return true
}

// Close leaves the cluster gracefully (others see Leave, not Fail), stops
// the map endpoint, the long-polls, the controller and gossip, and waits
// for the agent's goroutines. It is idempotent.
func (a *Agent) Close() error { return a.agStop(true) }

// Abandon stops the agent without leaving: to the other members it looks
// like a crash. For failure tests, and for a process that must stop at once.
func (a *Agent) Abandon() error { return a.agStop(false) }

// agStop stops the agent; without leave it is a crash as far as the
// others can tell (they detect the failure by probing).
func (a *Agent) agStop(leave bool) error {
	a.closeOnce.Do(func() {
		a.cancel()
		var errs []error
		if a.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), agServerStop)
			if err := a.srv.Shutdown(ctx); err != nil {
				_ = a.srv.Close()
			}
			cancel()
		}
		if leave {
			if err := a.ml.Leave(0); err != nil {
				errs = append(errs, err)
			}
		}
		a.wg.Wait()
		a.hc.CloseIdleConnections()
		if a.ctl != nil {
			if err := a.ctl.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := a.ml.Shutdown(); err != nil {
			errs = append(errs, err)
		}
		a.closeErr = errors.Join(errs...)
		a.log.Info("agent stopped", "left", leave)
	})
	return a.closeErr
}

// agKick signals ch without blocking.
func agKick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// agWatchMembers turns membership events into kicks for the reconcile loop
// and the map follower.
func (a *Agent) agWatchMembers() {
	defer a.wg.Done()
	events := a.ml.Events()
	for {
		select {
		case <-a.ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			agKick(a.reconKick)
			agKick(a.memberKick)
		}
	}
}

// agFollowController adopts every state this voter's controller applies and
// asks for a reconcile after each (a new leader's bootstrap, for one).
func (a *Agent) agFollowController() {
	defer a.wg.Done()
	ch, stop := a.ctl.Watch()
	defer stop()
	for {
		a.agAdopt(a.ctl.State())
		agKick(a.reconKick)
		select {
		case <-a.ctx.Done():
			return
		case <-ch:
		}
	}
}

// agAlive is the Reconcile input: the live shard members by ID. A member
// that announced it is leaving is left out so failover starts before it is
// gone; for one ID seen twice (a restart) the later incarnation wins, as
// Members sorts it last.
func agAlive(members []Member) map[string]NodeInfo {
	alive := make(map[string]NodeInfo)
	for _, m := range members {
		if m.Meta.Role != RoleShard || m.Leaving || m.State != MemberAlive {
			continue
		}
		alive[m.ID] = NodeInfo{ID: m.ID, RESPAddr: m.Meta.RESPAddr, Zone: m.Meta.Zone, Incarnation: m.Name}
	}
	return alive
}

// agReconcileLoop, while this voter leads, reconciles the map with
// membership on every membership event, state change and tick.
func (a *Agent) agReconcileLoop() {
	defer a.wg.Done()
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.reconKick:
		case <-tick.C:
		}
		if !a.ctl.IsLeader() {
			continue
		}
		alive := agAlive(a.ml.Members())
		ctx, cancel := context.WithTimeout(a.ctx, agReconcileTimeout)
		n, err := a.ctl.Reconcile(ctx, alive, time.Now())
		cancel()
		switch {
		case a.ctx.Err() != nil:
			return
		case errors.Is(err, ErrNotLeader):
			a.log.Debug("reconcile skipped: leadership moved", "err", err)
		case err != nil:
			a.log.Warn("reconcile failed; retrying", "err", err, "committed", n)
		case n > 0:
			a.log.Info("reconciled membership into the map", "commands", n, "epoch", a.ctl.State().Epoch, "shards_alive", len(alive))
		}
		// A node marking down that waits for its lease to end is retried
		// the moment it can go, not at the next tick.
		if at := a.ctl.DeferredDownUntil(); !at.IsZero() {
			if d := time.Until(at); d < a.interval {
				time.AfterFunc(max(d, 0)+time.Millisecond, func() {
					select {
					case a.reconKick <- struct{}{}:
					default:
					}
				})
			}
		}
	}
}

// agMapSources returns the map endpoints of the live voters, sorted by
// node ID.
func (a *Agent) agMapSources() []string {
	var out []string
	for _, m := range a.ml.Members() {
		if m.Meta.RaftAddr != "" && m.Meta.AdminAddr != "" && !m.Leaving && m.State == MemberAlive {
			out = append(out, m.Meta.AdminAddr)
		}
	}
	return out
}

// agSleep waits d or until the agent stops; it reports whether to go on.
func (a *Agent) agSleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-a.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
