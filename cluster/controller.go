package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// Controller defaults, used where ControllerConfig leaves a field zero.
const (
	DefaultRF           = 3
	DefaultMinInSync    = 2
	DefaultPartitions   = 256
	DefaultReplaceAfter = 10 * time.Minute
	DefaultApplyTimeout = 5 * time.Second
	// DefaultLeaseDuration is how long a master lease lasts (see Master
	// leases below). It is about failure detection's time, so that a
	// failover rarely waits for a lease to run out.
	DefaultLeaseDuration = 500 * time.Millisecond
)

// ErrNotLeader is what Propose and Reconcile return (as a *NotLeaderError,
// which names the leader) on a controller replica that is not the Raft
// leader: only the leader may decide the cluster map.
var ErrNotLeader = errors.New("cluster: not the controller leader")

// ErrClosed is returned by calls on a closed Controller.
var ErrClosed = errors.New("cluster: controller closed")

// NotLeaderError says who leads instead, so a caller can forward the
// command there. errors.Is(err, ErrNotLeader) holds for it.
type NotLeaderError struct {
	// LeaderID and LeaderAddr (its Raft address) are empty while no leader
	// is known, for example during an election or on a minority side.
	LeaderID, LeaderAddr string
	// Err is the underlying Raft error, if any. raft.ErrLeadershipLost
	// means the command may or may not have been committed: look at the
	// state (every command is safe to repeat; a repeated InSync or
	// OutOfSync may be refused as stale because the first one applied).
	Err error
}

// Error implements error.
func (e *NotLeaderError) Error() string {
	msg := ErrNotLeader.Error()
	if e.LeaderID != "" || e.LeaderAddr != "" {
		msg += fmt.Sprintf(" (leader %s at %s)", e.LeaderID, e.LeaderAddr)
	} else {
		msg += " (no leader known)"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// Unwrap returns the underlying Raft error.
func (e *NotLeaderError) Unwrap() error { return e.Err }

// Voter is a member of the controller's Raft group.
type Voter struct {
	// ID is the node ID, the same as the shard's NodeInfo.ID.
	ID string
	// RaftAddr is the address the others reach its Raft transport at.
	RaftAddr string
}

// ControllerConfig configures one controller replica.
type ControllerConfig struct {
	// ID names this replica in the Raft group; required.
	ID string
	// RaftAddr is host:port the TCP transport binds and advertises; it must
	// be an address the other voters can reach (not 0.0.0.0). Ignored when
	// Transport is set.
	RaftAddr string
	// Voters is the initial Raft group, used only the first time a replica
	// starts with no Raft state; every voter must be given the same list.
	// Empty means a group of one (this replica), the dev setup. A replica
	// not in a non-empty list starts without bootstrapping and waits to be
	// added by the leader.
	Voters []Voter
	// DataDir holds the Raft log (raft-wal) and snapshots; "" keeps both in
	// memory, so the map is lost when every replica stops (tests, dev).
	DataDir string
	// Transport replaces the TCP transport (tests use raft.InmemTransport).
	// The caller keeps ownership: Close does not close it.
	Transport raft.Transport

	// RF, MinInSync, Partitions and ReplaceAfter shape a new cluster (the
	// Bootstrap command the first leader proposes); once bootstrapped, the
	// replicated state wins over them. Zero means DefaultRF,
	// min(DefaultMinInSync, RF), DefaultPartitions and DefaultReplaceAfter;
	// a negative ReplaceAfter disables replacing down nodes.
	RF, MinInSync, Partitions int
	ReplaceAfter              time.Duration
	// ManualRebalance creates the cluster with partition moves paused
	// (SetRebalance), so copies move only after an operator resumes them;
	// by default a joining or decommissioned shard makes them move by
	// themselves. Like the shape, it only applies at creation.
	ManualRebalance bool

	// LeaseDuration is the master lease (see Controller); zero means
	// DefaultLeaseDuration, negative disables leases (then a master cut
	// off from the controller may serve stale reads until it learns the
	// new map).
	LeaseDuration time.Duration

	// ApplyTimeout bounds a Propose whose context has no deadline; zero
	// means DefaultApplyTimeout.
	ApplyTimeout time.Duration
	// HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout and
	// CommitTimeout tune Raft (see raft.Config); zero keeps Raft's defaults
	// (1 s, 1 s, 500 ms, 50 ms). Tests shrink them to tens of milliseconds.
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout, CommitTimeout time.Duration

	// Logger receives the controller's events; nil means slog.Default().
	Logger *slog.Logger
}

// Controller is one replica of the Raft group that decides the cluster map.
//
// Every replica applies the same committed commands through State.Apply, so
// all hold the same State; only the leader proposes. Because a command is
// applied only once a majority of voters has stored it, a minority side of
// a network partition cannot change the map: it can never promote a second
// master for a partition, and every map epoch is decided exactly once.
//
// # Master leases
//
// The Raft log alone does not stop a master that is cut off from the
// controller from serving stale reads or accepting writes it can no longer
// replicate. The state supports a lease protocol, to be run by the leader
// beside the log (leases are timing, not decisions, so they are not logged):
//
//   - the leader grants each master, at least every L/3, a lease for its
//     partitions naming (partition, PartState.Epoch) and a duration L,
//     counted by the master from when it sent the request (so clock skew
//     only shortens it); the leader grants only while it is leader
//     (raft.VerifyLeader or its own Raft lease);
//   - a master serves partition p at epoch e only while it holds an
//     unexpired lease for (p, e), and stops at once when it learns a higher
//     epoch; followers refuse replication at an epoch below the newest they
//     know, so a deposed master cannot complete a write (it needs every
//     in-sync follower, including the one promoted in its place);
//   - the leader proposes NodeDown (which may promote) for a node only after
//     the last lease it granted that node has expired, and a newly elected
//     leader first waits L from its election, since its predecessor may
//     have granted leases it does not know about.
//
// Since PartState.Epoch changes with every change of master or in-sync set
// and is never reused, a lease for (p, e) can never cover a later master.
//
// A Controller is safe for concurrent use.
type Controller struct {
	cfg     ControllerConfig
	log     *slog.Logger
	raft    *raft.Raft
	trans   raft.Transport
	closers []io.Closer // what NewController opened, closed by Close after Raft, last first

	state atomic.Pointer[State]

	mu       sync.Mutex // guards watchers
	watchers map[chan struct{}]struct{}

	leases ctlLeases

	notify    chan bool
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// ctlResult is what the FSM returns for a command to the proposer.
type ctlResult struct {
	state State
	err   error
}

// NewController starts a controller replica. On first start with no Raft
// state, a voter listed in cfg.Voters (or the only voter, if Voters is
// empty) bootstraps the group; on later starts the Raft log and snapshots
// in DataDir restore the state.
func NewController(cfg ControllerConfig) (*Controller, error) {
	cfg, err := cfg.ctlDefaults()
	if err != nil {
		return nil, err
	}
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "controller", "id", cfg.ID),
		watchers: make(map[chan struct{}]struct{}),
		notify:   make(chan bool, 1),
		done:     make(chan struct{}),
	}
	c.state.Store(&State{})
	ok := false
	defer func() {
		if !ok {
			c.closeAll()
		}
	}()

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = ctlNewHclog(c.log.With("subsystem", "raft"), "raft")
	rc.NotifyCh = c.notify
	for _, d := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&rc.HeartbeatTimeout, cfg.HeartbeatTimeout},
		{&rc.ElectionTimeout, cfg.ElectionTimeout},
		{&rc.LeaderLeaseTimeout, cfg.LeaderLeaseTimeout},
		{&rc.CommitTimeout, cfg.CommitTimeout},
	} {
		if d.v > 0 {
			*d.dst = d.v
		}
	}
	if rc.LeaderLeaseTimeout > rc.HeartbeatTimeout {
		rc.LeaderLeaseTimeout = rc.HeartbeatTimeout
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("cluster: raft config: %w", err)
	}

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		walDir := filepath.Join(cfg.DataDir, "raft-wal")
		if err := os.MkdirAll(walDir, 0o755); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		// The WAL does not close its metadata store; Close must, or the
		// next open of DataDir in this process waits for its file lock.
		meta := &metadb.BoltMetaDB{}
		c.closers = append(c.closers, meta)
		w, err := wal.Open(walDir, wal.WithMetaStore(meta),
			wal.WithLogger(ctlNewHclog(c.log.With("subsystem", "raft-wal"), "raft-wal")))
		if err != nil {
			return nil, fmt.Errorf("cluster: open raft log %s: %w", walDir, err)
		}
		c.closers = append(c.closers, w)
		logs, stable = w, w
		snaps, err = raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, rc.Logger)
		if err != nil {
			return nil, fmt.Errorf("cluster: snapshot store: %w", err)
		}
	}

	c.trans = cfg.Transport
	if c.trans == nil {
		nt, err := raft.NewTCPTransportWithLogger(cfg.RaftAddr, nil, 3, 10*time.Second, rc.Logger)
		if err != nil {
			return nil, fmt.Errorf("cluster: raft transport on %s: %w", cfg.RaftAddr, err)
		}
		c.trans = nt
		c.closers = append(c.closers, nt)
	}

	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return nil, fmt.Errorf("cluster: read raft state: %w", err)
	}
	if !has {
		if servers, ok := c.ctlBootstrapServers(); ok {
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, c.trans, raft.Configuration{Servers: servers}); err != nil {
				return nil, fmt.Errorf("cluster: bootstrap raft: %w", err)
			}
		}
	}

	r, err := raft.NewRaft(rc, (*ctlFSM)(c), logs, stable, snaps, c.trans)
	if err != nil {
		return nil, fmt.Errorf("cluster: start raft: %w", err)
	}
	c.raft = r
	c.wg.Add(1)
	go c.ctlLeaderLoop()
	ok = true
	return c, nil
}

// ctlDefaults fills in zero fields and checks the rest.
func (cfg ControllerConfig) ctlDefaults() (ControllerConfig, error) {
	if cfg.ID == "" {
		return cfg, errors.New("cluster: controller needs an ID")
	}
	if cfg.Transport == nil && cfg.RaftAddr == "" {
		return cfg, errors.New("cluster: controller needs a RaftAddr or a Transport")
	}
	if cfg.RF == 0 {
		cfg.RF = DefaultRF
	}
	if cfg.MinInSync == 0 {
		cfg.MinInSync = min(DefaultMinInSync, cfg.RF)
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	switch {
	case cfg.ReplaceAfter == 0:
		cfg.ReplaceAfter = DefaultReplaceAfter
	case cfg.ReplaceAfter < 0:
		cfg.ReplaceAfter = 0
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = DefaultApplyTimeout
	}
	switch {
	case cfg.LeaseDuration == 0:
		cfg.LeaseDuration = DefaultLeaseDuration
	case cfg.LeaseDuration < 0:
		cfg.LeaseDuration = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := ctlCheckShape(cfg.RF, cfg.MinInSync, cfg.Partitions, cfg.ReplaceAfter.Milliseconds()); err != nil {
		return cfg, err
	}
	seen := make(map[string]bool)
	for _, v := range cfg.Voters {
		if v.ID == "" || v.RaftAddr == "" || seen[v.ID] {
			return cfg, fmt.Errorf("cluster: bad voter list %v (empty or duplicate entry)", cfg.Voters)
		}
		seen[v.ID] = true
	}
	return cfg, nil
}

// ctlBootstrapServers returns the first Raft configuration, and false when
// this replica is not one of the initial voters.
func (c *Controller) ctlBootstrapServers() ([]raft.Server, bool) {
	if len(c.cfg.Voters) == 0 {
		return []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(c.cfg.ID), Address: c.trans.LocalAddr()}}, true
	}
	servers := make([]raft.Server, 0, len(c.cfg.Voters))
	self := false
	for _, v := range c.cfg.Voters {
		self = self || v.ID == c.cfg.ID
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(v.ID), Address: raft.ServerAddress(v.RaftAddr)})
	}
	return servers, self
}

// ctlBootstrap is the Bootstrap command this replica would propose.
func (c *Controller) ctlBootstrap() Bootstrap {
	return Bootstrap{RF: c.cfg.RF, MinInSync: c.cfg.MinInSync, Partitions: c.cfg.Partitions, ReplaceAfterMS: c.cfg.ReplaceAfter.Milliseconds()}
}

// ctlLeaderLoop follows leadership changes: it logs them and, on gaining
// leadership, bootstraps the state if nobody has yet. It must keep reading
// c.notify, since Raft blocks until it does.
func (c *Controller) ctlLeaderLoop() {
	defer c.wg.Done()
	var (
		cancel context.CancelFunc = func() {}
		work   sync.WaitGroup
	)
	defer func() {
		cancel()
		work.Wait()
	}()
	for {
		select {
		case <-c.done:
			return
		case leader := <-c.notify:
			cancel()
			c.leases.leadership(leader, time.Now())
			if !leader {
				c.log.Info("controller lost leadership")
				continue
			}
			c.log.Info("controller became leader", "epoch", c.State().Epoch)
			ctx, stop := context.WithCancel(context.Background())
			cancel = stop
			work.Add(1)
			go func() {
				defer work.Done()
				if err := c.ctlEnsureBootstrapped(ctx); err != nil && ctx.Err() == nil {
					c.log.Warn("controller could not bootstrap the cluster state", "err", err)
				}
			}()
		}
	}
}

// ctlEnsureBootstrapped proposes Bootstrap unless the applied state already
// is bootstrapped. A Barrier first makes sure a new leader has applied
// everything its predecessors committed, so it does not propose for
// nothing (a repeated Bootstrap would be harmless anyway).
func (c *Controller) ctlEnsureBootstrapped(ctx context.Context) error {
	if c.State().Bootstrapped() {
		return nil
	}
	if err := c.ctlWait(ctx, c.raft.Barrier(c.ctlTimeout(ctx))); err != nil {
		return c.ctlLeaderErr(err)
	}
	s := c.State()
	if s.Bootstrapped() {
		if b := c.ctlBootstrap(); s.RF != b.RF || s.MinInSync != b.MinInSync || s.Partitions != b.Partitions {
			c.log.Warn("cluster state has another shape than this controller's config; the state wins",
				"rf", s.RF, "min_in_sync", s.MinInSync, "partitions", s.Partitions)
		}
		return nil
	}
	if _, err := c.ctlPropose(ctx, c.ctlBootstrap()); err != nil {
		return err
	}
	if c.cfg.ManualRebalance {
		paused := true
		_, err := c.ctlPropose(ctx, SetRebalance{Paused: &paused})
		return err
	}
	return nil
}

// IsLeader reports whether this replica currently leads the Raft group and
// so may propose. Leadership can end at any moment after the answer.
func (c *Controller) IsLeader() bool { return c.raft.State() == raft.Leader }

// Leader returns the current leader's ID and Raft address, empty when
// unknown.
func (c *Controller) Leader() (id, raftAddr string) {
	addr, sid := c.raft.LeaderWithID()
	return string(sid), string(addr)
}

// State returns the latest state this replica applied. It never blocks and
// may lag the leader slightly on a follower. The result is shared: do not
// modify its maps or slices (Clone it first).
func (c *Controller) State() State { return *c.state.Load() }

// Watch returns a channel that receives a value after every applied change
// of the state (coalesced: one pending signal at most, so a slow reader
// never blocks the controller and just reads State() once), and a function
// that stops the notifications.
func (c *Controller) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	c.watchers[ch] = struct{}{}
	c.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.watchers, ch)
			c.mu.Unlock()
		})
	}
}

// ctlPublish stores a new state and wakes the watchers.
func (c *Controller) ctlPublish(s *State) {
	c.state.Store(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Propose commits cmd through Raft and returns the state right after it was
// applied. Only the leader may propose; elsewhere it returns a
// *NotLeaderError naming the leader. A command the state refuses (stale
// epoch, unknown node) is still committed, as a no-op, and its reason is
// returned. The wait is bounded by ctx, or by ApplyTimeout if ctx has no
// deadline; on a timeout the command may still commit later.
func (c *Controller) Propose(ctx context.Context, cmd Command) (State, error) {
	if _, ok := cmd.(Bootstrap); !ok {
		if err := c.ctlEnsureBootstrapped(ctx); err != nil {
			return State{}, err
		}
	}
	return c.ctlPropose(ctx, cmd)
}

func (c *Controller) ctlPropose(ctx context.Context, cmd Command) (State, error) {
	select {
	case <-c.done:
		return State{}, ErrClosed
	default:
	}
	if !c.IsLeader() {
		return State{}, c.ctlLeaderErr(nil)
	}
	data, err := EncodeCommand(cmd)
	if err != nil {
		return State{}, err
	}
	f := c.raft.Apply(data, c.ctlTimeout(ctx))
	if err := c.ctlWait(ctx, f); err != nil {
		return State{}, c.ctlLeaderErr(err)
	}
	res, ok := f.Response().(ctlResult)
	if !ok {
		return State{}, fmt.Errorf("cluster: unexpected apply response %T", f.Response())
	}
	return res.state, res.err
}

// ctlTimeout is how long Raft may take to accept a request.
func (c *Controller) ctlTimeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return c.cfg.ApplyTimeout
}

// ctlWait waits for a Raft future, ctx, or ApplyTimeout when ctx has no
// deadline. The goroutine left behind on a timeout ends when Raft resolves
// the future (commit, loss of leadership, or shutdown).
func (c *Controller) ctlWait(ctx context.Context, f raft.Future) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.ApplyTimeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("cluster: waiting for raft: %w", ctx.Err())
	case <-c.done:
		return ErrClosed
	}
}

// ctlLeaderErr turns Raft's leadership errors into a *NotLeaderError.
func (c *Controller) ctlLeaderErr(err error) error {
	if err != nil && !errors.Is(err, raft.ErrNotLeader) && !errors.Is(err, raft.ErrLeadershipLost) {
		if errors.Is(err, raft.ErrRaftShutdown) {
			return ErrClosed
		}
		return err
	}
	id, addr := c.Leader()
	return &NotLeaderError{LeaderID: id, LeaderAddr: addr, Err: err}
}

// Reconcile, on the leader, proposes the commands that make the state
// match alive, the nodes membership currently sees alive (keyed by ID;
// their Up and DownSinceMS are ignored), at time now: NodeDown for nodes
// gone, NodeUp for nodes new, returned or changed, and Replace once nodes
// have been down for the grace period. It returns how many commands it
// committed; calling it again with the same input commits none. On a
// follower it returns a *NotLeaderError.
func (c *Controller) Reconcile(ctx context.Context, alive map[string]NodeInfo, now time.Time) (int, error) {
	if !c.IsLeader() {
		return 0, c.ctlLeaderErr(nil)
	}
	if err := c.ctlEnsureBootstrapped(ctx); err != nil {
		return 0, err
	}
	n := 0
	var deferred time.Time
	held := map[string]bool{}
	for _, cmd := range c.State().Plan(alive, now.UnixMilli()) {
		switch cmd := cmd.(type) {
		case NodeDown:
			// A node marked down loses its partitions to their
			// followers: wait until it can no longer serve them.
			if until := c.leases.heldUntil(cmd.ID, c.cfg.LeaseDuration); time.Now().Before(until) {
				if deferred.IsZero() || until.Before(deferred) {
					deferred = until
				}
				held[cmd.ID] = true
				continue
			}
		case NodeUp:
			if held[cmd.Node.ID] {
				continue // a restarted node comes up only after its old self went down
			}
		}
		before := c.State().Epoch
		next, err := c.ctlPropose(ctx, cmd)
		if err != nil {
			return n, fmt.Errorf("cluster: reconcile %s: %w", cmd.CommandType(), err)
		}
		if next.Epoch != before {
			n++
		}
	}
	c.leases.deferDown(deferred)
	return n, nil
}

// Close stops this replica: Raft shuts down (a leader steps down, the
// others elect a new one), background work ends, and the stores and the
// transport it opened are closed. It is safe to call more than once.
func (c *Controller) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.closeErr = c.closeAll()
		c.wg.Wait()
	})
	return c.closeErr
}

// closeAll shuts Raft down and closes what NewController opened.
func (c *Controller) closeAll() error {
	var errs []error
	if c.raft != nil {
		if err := c.raft.Shutdown().Error(); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(c.closers) - 1; i >= 0; i-- {
		if err := c.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ctlFSM is the Controller seen as a raft.FSM. Raft calls Apply, Snapshot
// and Restore from one goroutine; readers use the atomic pointer.
type ctlFSM Controller

// Apply implements raft.FSM: decode, run the pure transition, publish.
func (f *ctlFSM) Apply(l *raft.Log) any {
	c := (*Controller)(f)
	cur := c.state.Load()
	cmd, err := DecodeCommand(l.Data)
	if err != nil {
		c.log.Error("controller skipped an undecodable command", "index", l.Index, "err", err)
		return ctlResult{state: *cur, err: err}
	}
	next, err := cur.Apply(cmd)
	if err != nil {
		c.log.Debug("controller refused a command", "type", cmd.CommandType(), "index", l.Index, "err", err)
		return ctlResult{state: *cur, err: err}
	}
	if next.Epoch != cur.Epoch {
		c.ctlPublish(&next)
		// A copy coming into sync is routine (hundreds at start-up);
		// everything else changes who serves what and is worth a line.
		level := slog.LevelInfo
		if cmd.CommandType() == TypeInSync {
			level = slog.LevelDebug
		}
		c.log.Log(context.Background(), level, "cluster map changed", "epoch", next.Epoch, "command", cmd.CommandType(),
			"under_replicated", next.UnderReplicated(), "index", l.Index)
	}
	return ctlResult{state: next}
}

// Snapshot implements raft.FSM; the state is immutable, so holding the
// pointer is enough and Persist may run while Apply goes on.
func (f *ctlFSM) Snapshot() (raft.FSMSnapshot, error) {
	return ctlSnapshot{s: (*Controller)(f).state.Load()}, nil
}

// Restore implements raft.FSM, replacing the state with a snapshot's.
func (f *ctlFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var s State
	if err := json.NewDecoder(rc).Decode(&s); err != nil {
		return fmt.Errorf("cluster: decode snapshot: %w", err)
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	c := (*Controller)(f)
	c.ctlPublish(&s)
	c.log.Info("cluster map restored from snapshot", "epoch", s.Epoch)
	return nil
}

// ctlSnapshot is a State being written to a Raft snapshot, as JSON.
type ctlSnapshot struct{ s *State }

// Persist implements raft.FSMSnapshot.
func (s ctlSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("cluster: write snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (ctlSnapshot) Release() {}
