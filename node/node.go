// Package node runs a shard or a proxy as a member of a replicated cluster:
// the process itself plus its cluster agent (gossip membership, and on
// voters the controller), kept in step with the cluster map — shards take
// their roles from it and report copies in or out of sync; proxies route by
// it.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/shard"
)

// reportTimeout bounds one in-sync report to the controller.
const reportTimeout = 5 * time.Second

// Shard is a shard process that is a cluster member.
type Shard struct {
	Server *shard.Server
	Agent  *cluster.Agent

	log     *slog.Logger
	reports chan cluster.Command
	id      string
	handing map[int]uint64 // partition → the epoch its handoff started at; applyMaps' own
	// ownRate is the shard's configured snapshot rate, mapRate the
	// cluster-wide one last applied (0: none); applyMaps' own.
	ownRate, mapRate int64
	ctx              context.Context
	cancel           context.CancelFunc
	wg               sync.WaitGroup
}

// StartShard starts the shard, then its agent with metadata naming the
// shard's address, and applies every map the agent learns.
func StartShard(scfg shard.Config, acfg cluster.AgentConfig) (*Shard, error) {
	n := &Shard{log: scfg.Logger, reports: make(chan cluster.Command, 1024), handing: map[int]uint64{}, id: scfg.ID, ownRate: scfg.SnapshotRate}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	// The callbacks run on shard goroutines and must not block: reports
	// queue, and a full queue drops (the condition will be seen again).
	scfg.OnCaughtUp = func(p int, follower string, epoch uint64) {
		n.queue(cluster.InSync{Partition: p, Node: follower, PartEpoch: epoch})
	}
	scfg.OnLagging = func(p int, follower string, epoch uint64) {
		n.queue(cluster.OutOfSync{Partition: p, Node: follower, PartEpoch: epoch})
	}
	scfg.RequireLease = true
	s, err := shard.New(scfg)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		_ = s.Close()
		return nil, err
	}
	n.Server = s
	// Masters serve only under a lease from the controller, so one cut off
	// from it goes quiet before its partitions can be given to others.
	acfg.OnLease = s.ExtendLease
	acfg.Membership.Meta.ID = scfg.ID
	acfg.Membership.Meta.Role = cluster.RoleShard
	acfg.Membership.Meta.RESPAddr = s.Addr()
	a, err := cluster.StartAgent(acfg)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	n.Agent = a
	if err := n.startMetrics(scfg.Registerer); err != nil {
		_ = n.Close()
		return nil, err
	}
	n.wg.Add(2)
	go n.applyMaps()
	go n.sendReports()
	return n, nil
}

func (n *Shard) queue(cmd cluster.Command) {
	select {
	case n.reports <- cmd:
	default:
		n.log.Warn("in-sync report dropped: queue full")
	}
}

// applyMaps gives the shard its roles from every newer map.
func (n *Shard) applyMaps() {
	defer n.wg.Done()
	changed, stop := n.Agent.Watch()
	defer stop()
	for {
		st := n.Agent.State()
		if applied, ok := n.Server.RolesEpoch(); st.Bootstrapped() && (!ok || st.Epoch > applied) {
			if err := n.Server.ApplyRoles(st.Epoch, Roles(st)); err != nil {
				n.log.Warn("cluster map not applied", "epoch", st.Epoch, "err", err)
			}
			n.startHandoffs(st)
			if r := st.Rebalance.RateBytes; r != n.mapRate {
				n.mapRate = r
				if r == 0 {
					r = n.ownRate // the cluster-wide limit was lifted
				}
				n.Server.SetSnapshotRate(r)
			}
		}
		select {
		case <-changed:
		case <-n.ctx.Done():
			return
		}
	}
}

// Ready reports whether the shard does its full part: it applied a cluster
// map and every copy the map places on it is in sync. A shard catching up
// is not ready, so an orchestrator waits before disrupting another one.
func (n *Shard) Ready() error {
	if _, ok := n.Server.RolesEpoch(); !ok {
		return errors.New("no cluster map applied yet")
	}
	st := n.Agent.State()
	behind := 0
	for _, ps := range st.Parts {
		if slices.Contains(ps.Replicas, n.id) && !slices.Contains(ps.InSync, n.id) {
			behind++
		}
	}
	if behind > 0 {
		return fmt.Errorf("%d copies on this shard are still catching up", behind)
	}
	return nil
}

// handoffTimeout bounds how long a handoff waits for the copies to
// acknowledge the old master's last writes — the partition's writes wait
// that long at worst; past it the copies that lag are reported out of
// sync, which ends the handoff with a new partition epoch.
const handoffTimeout = time.Second

// startHandoffs hands over every partition this shard masters whose
// placement now puts an in-sync copy first (see shard.Server.HandOff).
func (n *Shard) startHandoffs(st cluster.State) {
	me := n.id
	for p, ps := range st.Parts {
		if ps.Master != me || len(ps.Replicas) == 0 || ps.Replicas[0] == me || n.handing[p] == ps.Epoch {
			continue
		}
		to := ps.Replicas[0]
		if !st.Nodes[to].Up || !slices.Contains(ps.InSync, to) {
			continue
		}
		n.handing[p] = ps.Epoch
		n.wg.Go(func() { n.handOff(p, to, ps.Epoch) })
	}
}

func (n *Shard) handOff(p int, to string, epoch uint64) {
	ctx, cancel := context.WithTimeout(n.ctx, handoffTimeout)
	d, lagging, err := n.Server.HandOff(ctx, p, to, epoch)
	cancel()
	if n.ctx.Err() != nil {
		return
	}
	cmd := cluster.Command(cluster.Handoff{Partition: p, To: to, PartEpoch: epoch})
	if err != nil {
		if len(lagging) == 0 {
			n.log.Warn("handoff not made", "partition", p, "to", to, "err", err)
			return
		}
		// One report is enough: it moves the partition to a new epoch,
		// which ends the stop; the others lagging are seen again there.
		n.log.Warn("handoff: copies did not catch up; reporting one out of sync", "partition", p, "to", to, "lagging", lagging, "err", err)
		cmd = cluster.OutOfSync{Partition: p, Node: lagging[0], PartEpoch: epoch}
	}
	// The partition stays stopped until a newer map: report until the
	// controller decided (a refusal means the epoch moved on anyway).
	for {
		ctx, cancel := context.WithTimeout(n.ctx, reportTimeout)
		_, err := n.Agent.Report(ctx, cmd)
		cancel()
		if err == nil || errors.Is(err, cluster.ErrReportRefused) || n.ctx.Err() != nil {
			if err == nil {
				n.log.Info("partition handed over", "partition", p, "to", to, "epoch", epoch, "caught_up_in", d)
			}
			return
		}
	}
}

func (n *Shard) sendReports() {
	defer n.wg.Done()
	for {
		select {
		case cmd := <-n.reports:
			ctx, cancel := context.WithTimeout(n.ctx, reportTimeout)
			if _, err := n.Agent.Report(ctx, cmd); err != nil && n.ctx.Err() == nil {
				n.log.Debug("in-sync report not applied", "report", fmt.Sprintf("%+v", cmd), "err", err)
			}
			cancel()
		case <-n.ctx.Done():
			return
		}
	}
}

// Roles turns a cluster state into the shard's per-partition roles. Copies
// on nodes that are down stay in the map's placement (until replaced) but
// are left out of Replicas: a master must not wait for, or count as
// catching up, a copy that cannot answer. Placed still names them, so that
// such a copy is not dropped when its shard returns to a map marking it
// down.
func Roles(st cluster.State) []shard.PartRole {
	roles := make([]shard.PartRole, len(st.Parts))
	for p, ps := range st.Parts {
		var replicas []string
		for _, id := range ps.Replicas {
			if st.Nodes[id].Up {
				replicas = append(replicas, id)
			}
		}
		// Every copy placed, down ones included, keeps its data; so does
		// the one copy known to hold every acknowledged write.
		placed := ps.Replicas
		if ps.LastMaster != "" && !slices.Contains(placed, ps.LastMaster) {
			placed = append(slices.Clone(placed), ps.LastMaster)
		}
		roles[p] = shard.PartRole{
			Epoch:      ps.Epoch,
			Master:     ps.Master,
			MasterAddr: st.Nodes[ps.Master].RESPAddr,
			InSync:     ps.InSync,
			Replicas:   replicas,
			Placed:     placed,
		}
	}
	return roles
}

// Close leaves the cluster and stops the shard cleanly.
func (n *Shard) Close() error {
	n.cancel()
	n.wg.Wait()
	return errors.Join(n.Agent.Close(), n.Server.Close())
}

// Abandon stops the shard without leaving the cluster: to the other
// members it looks like a crash (they find out by probing). Its reports
// stop first, then its agent (cluster.Agent.Abandon), then its server, so
// that it tells nobody anything on the way down. For failure tests, and
// for a process that must stop at once. Close after Abandon does nothing
// more.
func (n *Shard) Abandon() error {
	n.cancel()
	n.wg.Wait()
	return errors.Join(n.Agent.Abandon(), n.Server.Close())
}

// Proxy is a proxy process that routes by the cluster map.
type Proxy struct {
	Proxy *proxy.Proxy
	Agent *cluster.Agent

	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartProxy starts the agent, waits (at most wait) for a map naming a
// master for every partition, then starts the proxy routing by it and by
// every newer map.
func StartProxy(pcfg proxy.Config, acfg cluster.AgentConfig, wait time.Duration) (*Proxy, error) {
	n := &Proxy{log: pcfg.Logger}
	if n.log == nil {
		n.log = slog.Default()
	}
	acfg.Membership.Meta.Role = cluster.RoleProxy
	if acfg.Membership.Meta.ID == "" {
		return nil, errors.New("node: the proxy's agent needs Membership.Meta.ID")
	}
	if _, port, err := net.SplitHostPort(pcfg.Addr); err == nil && port != "0" && acfg.Membership.Meta.RESPAddr == "" {
		acfg.Membership.Meta.RESPAddr = pcfg.Addr
	}
	a, err := cluster.StartAgent(acfg)
	if err != nil {
		return nil, err
	}
	n.Agent = a
	st, err := waitForMap(a, wait)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	pcfg.Shards = nil
	for id, info := range st.Nodes {
		pcfg.Shards = append(pcfg.Shards, proxy.Backend{ID: id, Addr: info.RESPAddr})
	}
	pcfg.Partitions = st.Partitions
	pace := &movePace{}
	pcfg.Admin = admin(a)
	pcfg.ClusterStatus = func(ps *proxy.Status) {
		clusterStatus(n.Agent.State(), ps, pace)
		ps.Cluster = acfg.Membership.Label
	}
	pcfg.WaitForFailover = true
	p, err := proxy.New(pcfg)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	n.Proxy = p
	if err := n.update(st); err != nil {
		_ = a.Close()
		_ = p.Close()
		return nil, err
	}
	if err := p.Start(); err != nil {
		_ = a.Close()
		_ = p.Close()
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(1)
	go n.follow()
	if err := n.startMetrics(pcfg.Registerer); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

func waitForMap(a *cluster.Agent, wait time.Duration) (cluster.State, error) {
	changed, stop := a.Watch()
	defer stop()
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		st := a.State()
		if st.Bootstrapped() && len(st.Nodes) > 0 {
			ok := true
			for _, ps := range st.Parts {
				ok = ok && ps.Master != ""
			}
			if ok {
				return st, nil
			}
		}
		select {
		case <-changed:
		case <-t.C:
			return cluster.State{}, fmt.Errorf("node: no cluster map with a master for every partition within %v", wait)
		}
	}
}

func (n *Proxy) update(st cluster.State) error {
	addrs := map[string]string{}
	for id, info := range st.Nodes {
		addrs[id] = info.RESPAddr
	}
	return n.Proxy.UpdateMap(st.Table(), addrs)
}

func (n *Proxy) follow() {
	defer n.wg.Done()
	changed, stop := n.Agent.Watch()
	defer stop()
	for {
		select {
		case <-changed:
			if err := n.update(n.Agent.State()); err != nil {
				n.log.Warn("cluster map not applied", "err", err)
			}
		case <-n.ctx.Done():
			return
		}
	}
}

// Close leaves the cluster and stops the proxy.
func (n *Proxy) Close() error {
	n.cancel()
	n.wg.Wait()
	return errors.Join(n.Agent.Close(), n.Proxy.Close())
}

// clusterStatus completes a proxy's status from the cluster map; pace
// gives the migration ETA.
func clusterStatus(st cluster.State, ps *proxy.Status, pace *movePace) {
	ps.UnderReplicated = st.UnderReplicated()
	ps.InSync = map[int]int{}
	for _, part := range st.Parts {
		ps.InSync[len(part.InSync)]++
	}
	listed := map[string]bool{}
	for i, n := range ps.Nodes {
		listed[n.ID] = true
		if _, ok := st.Nodes[n.ID]; ok {
			ps.Nodes[i].State = st.NodeState(n.ID)
		}
	}
	// Shards the map lists but the proxy routes nothing to yet (a shard
	// that joined while moves are paused) are shown too.
	for id, info := range st.Nodes {
		if !listed[id] {
			ps.Nodes = append(ps.Nodes, proxy.NodeStatus{ID: id, Addr: info.RESPAddr, State: st.NodeState(id)})
		}
	}
	slices.SortFunc(ps.Nodes, func(a, b proxy.NodeStatus) int { return strings.Compare(a.ID, b.ID) })
	inFlight, remaining := st.Migrations()
	ps.Migrations = proxy.Migrations{InFlight: inFlight, Remaining: remaining, Done: st.MovesDone}
	if pace != nil {
		ps.Migrations.ETASeconds = pace.eta(st.MovesDone, inFlight+remaining, time.Now())
	}
	maxMoves, maxIncoming := st.Rebalance.Limits()
	ps.Rebalance = &proxy.RebalanceStatus{
		Paused: st.Rebalance.Paused, MaxMoves: maxMoves, MaxIncoming: maxIncoming, RateBytes: st.Rebalance.RateBytes,
	}
}

// movePace estimates how long the moves left take from the pace of those
// that finished since moves were last seen idle.
type movePace struct {
	mu        sync.Mutex
	since     time.Time // when moves were first seen pending
	doneSince uint64    // MovesDone then
}

func (m *movePace) eta(done uint64, left int, now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if left == 0 {
		m.since = time.Time{}
		return 0
	}
	if m.since.IsZero() || done < m.doneSince {
		m.since, m.doneSince = now, done
		return 0
	}
	finished := done - m.doneSince
	if finished == 0 {
		return 0
	}
	per := now.Sub(m.since).Seconds() / float64(finished)
	return per * float64(left)
}

// admin carries out an operator's request through the controller.
func admin(a *cluster.Agent) func(context.Context, proxy.AdminRequest) error {
	return func(ctx context.Context, req proxy.AdminRequest) error {
		var cmd cluster.Command
		if req.Decommission != "" {
			if _, ok := a.State().Nodes[req.Decommission]; !ok {
				return fmt.Errorf("no such node '%s' in the cluster map", req.Decommission)
			}
			cmd = cluster.Decommission{ID: req.Decommission, Cancel: req.Cancel}
		} else {
			r := req.Rebalance
			cmd = cluster.SetRebalance{Paused: r.Paused, MaxMoves: r.MaxMoves, MaxIncoming: r.MaxIncoming, RateBytes: r.RateBytes}
		}
		if _, err := a.Report(ctx, cmd); err != nil {
			if errors.Is(err, cluster.ErrNoLeader) {
				return fmt.Errorf("CLUSTERDOWN no cluster controller reachable: %v", err)
			}
			return adminRefusal(err)
		}
		return nil
	}
}

// adminRefusal turns a controller's refusal into the text an operator
// reads: the reason without the package prefixes.
func adminRefusal(err error) error {
	msg := err.Error()
	for _, p := range []string{"cluster: report refused by the controller: ", "cluster: invalid command: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return errors.New(msg)
}
