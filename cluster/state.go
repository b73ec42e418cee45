package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/shardis/shardis/ring"
)

// Errors a transition refuses a command with. The state is left unchanged.
var (
	// ErrNotBootstrapped refuses membership and sync commands before the
	// cluster's shape (RF, partitions) is fixed, because placement needs it.
	ErrNotBootstrapped = errors.New("cluster: state not bootstrapped")
	// ErrBootstrapped refuses a second Bootstrap with a different shape:
	// the partition count and RF of a cluster are fixed at creation.
	ErrBootstrapped = errors.New("cluster: state already bootstrapped with another shape")
	// ErrStaleEpoch refuses an InSync or OutOfSync report made at a
	// partition epoch that is no longer current: the master or in-sync set
	// it was based on has changed since, so acting on it could admit a copy
	// that missed writes or drop one the new master relies on.
	ErrStaleEpoch = errors.New("cluster: stale partition epoch")
	// ErrUnknownNode refuses a command about a node the state does not list.
	ErrUnknownNode = errors.New("cluster: unknown node")
	// ErrBadCommand refuses a malformed command (empty ID, partition out of
	// range, a report that makes no sense for the partition's roles).
	ErrBadCommand = errors.New("cluster: invalid command")
)

// NodeInfo is what the cluster map records about a shard: enough for a
// proxy to reach it and for placement to spread copies over zones.
type NodeInfo struct {
	// ID names the shard for good; placement depends on it, not on
	// addresses, so a shard restarting elsewhere keeps its partitions.
	ID string `json:"id"`
	// RESPAddr is host:port of the shard's internal RESP listener.
	RESPAddr string `json:"resp_addr,omitempty"`
	// Zone is the failure domain used to spread copies; empty means none.
	Zone string `json:"zone,omitempty"`
	// Up is false from NodeDown until the next NodeUp.
	Up bool `json:"up"`
	// DownSinceMS is the Unix time in milliseconds of the NodeDown that
	// took the node down (0 while up); Replace measures the grace from it.
	DownSinceMS int64 `json:"down_since_ms,omitempty"`
	// Incarnation names the node's current process (its gossip name, new
	// at every start); empty when unknown. A node seen alive under another
	// incarnation restarted: its copies may miss their last writes, so it
	// is taken down and brought up again like a node that failed.
	Incarnation string `json:"incarnation,omitempty"`
	// Draining is set by Decommission: the node is left out of placement,
	// so its copies move to the others under the move limits; once it
	// holds none it is drained and may be stopped. A drained node that
	// goes down leaves the map at once.
	Draining bool `json:"draining,omitempty"`
}

// PartState is the controller's view of one partition.
//
// Invariants (checked by State.Validate): a master is always in the in-sync
// set; every in-sync copy is on an up node; a partition without a master has
// an empty in-sync set. Replicas is the target placement and may differ from
// the in-sync set in both directions: a new replica is out of sync until it
// has caught up, and a copy that placement moved away stays in sync (and
// keeps counting for acknowledgements) until every placed replica has caught
// up, so rebalancing never lowers the number of in-sync copies.
type PartState struct {
	// Epoch fences the partition's roles. It changes whenever the master or
	// the in-sync set changes, and is then set to the State.Epoch of that
	// change, so partition epochs only grow and are never reused, even
	// across partitions. Requests, replication messages and InSync/OutOfSync
	// reports carry the epoch they were made at; anything older is refused.
	// 0 means the partition never had a master (so it holds no data).
	Epoch uint64 `json:"epoch"`
	// Master serves reads and writes; "" while the partition is unavailable.
	Master string `json:"master,omitempty"`
	// Replicas is the placement being served: the master-designate first,
	// then the followers in promotion order. Once Replicas[0] is in sync,
	// the master hands the partition over to it (Handoff). It becomes Target one move at a
	// time, under the limits of State.Rebalance (see ctlStep).
	Replicas []string `json:"replicas,omitempty"`
	// Target is the placement ring.Assign computed over the current
	// members; nil means the same as Replicas.
	Target []string `json:"target,omitempty"`
	// Moving is set while a move started by ctlStep has copies still
	// catching up or copies not yet dropped.
	Moving bool `json:"moving,omitempty"`
	// InSync lists the copies holding every acknowledged write: placed
	// replicas in placement order, then copies placement has moved away
	// (sorted by ID). Only these may become master, and only these count
	// for MinInSync.
	InSync []string `json:"in_sync,omitempty"`
	// LastMaster is set while the partition has no master because its last
	// in-sync copy failed: that copy alone is known to hold every
	// acknowledged write, so it becomes master again when it returns (and
	// nobody else ever does). Empty whenever Master is set. This trusts the
	// node's disk: a shard that lost its data directory must come back
	// under a new ID.
	LastMaster string `json:"last_master,omitempty"`
}

// State is the replicated cluster state: membership, placement, and who
// masters and holds an in-sync copy of every partition. It is a value with
// a pure, deterministic transition (Apply): no clock, no I/O, no randomness;
// times arrive inside commands. Every controller replica applies the same
// commands in the same order and so holds the same State.
//
// A State may be shared between goroutines as long as nobody modifies it:
// Apply returns a new State and never touches its receiver's maps or slices.
type State struct {
	// Epoch versions the whole state; every change (membership, placement,
	// roles) makes it one higher. 0 is the empty, unbootstrapped state.
	Epoch uint64 `json:"epoch"`
	// RF is the number of copies of each partition asked for.
	RF int `json:"rf"`
	// MinInSync is how many in-sync copies a partition needs to accept
	// writes; below it writes are refused rather than risked.
	MinInSync int `json:"min_in_sync"`
	// Partitions is the partition count, fixed at bootstrap; 0 until then.
	Partitions int `json:"partitions"`
	// ReplaceAfterMS is how long (ms) a node may stay down before Replace
	// drops it from placement and re-places its copies; 0 disables Replace.
	ReplaceAfterMS int64 `json:"replace_after_ms"`
	// Nodes lists every node in placement, up or down, by ID.
	Nodes map[string]NodeInfo `json:"nodes,omitempty"`
	// Parts is indexed by partition number.
	Parts []PartState `json:"parts,omitempty"`
	// Rebalance holds the limits on partition moves, set by SetRebalance.
	Rebalance Rebalance `json:"rebalance"`
	// MovesDone counts the moves finished since the cluster was created.
	MovesDone uint64 `json:"moves_done,omitempty"`
}

// Rebalance holds the cluster-wide settings of partition moves. They live
// in the state, so a change through any proxy applies on every node.
type Rebalance struct {
	// Paused stops new moves from starting (moves in flight finish).
	Paused bool `json:"paused,omitempty"`
	// MaxMoves bounds the partitions moving at once in the cluster; 0
	// means DefaultMaxMoves.
	MaxMoves int `json:"max_moves,omitempty"`
	// MaxIncoming bounds the partitions one node receives copies of at
	// once; 0 means DefaultMaxIncoming.
	MaxIncoming int `json:"max_incoming,omitempty"`
	// RateBytes bounds the snapshot bytes per second each shard sends; 0
	// leaves every shard's own configured rate.
	RateBytes int64 `json:"rate_bytes,omitempty"`
}

// Defaults of the zero Rebalance fields. They are generous: a cluster's
// first members join before it holds data, when each move is a few round
// trips, and the bandwidth limit (RateBytes) is what bounds a move of real
// data.
const (
	DefaultMaxMoves    = 64
	DefaultMaxIncoming = 16
)

// Limits returns MaxMoves and MaxIncoming with defaults applied.
func (r Rebalance) Limits() (maxMoves, maxIncoming int) {
	maxMoves, maxIncoming = r.MaxMoves, r.MaxIncoming
	if maxMoves <= 0 {
		maxMoves = DefaultMaxMoves
	}
	if maxIncoming <= 0 {
		maxIncoming = DefaultMaxIncoming
	}
	return maxMoves, maxIncoming
}

// Command is one transition of the cluster state. Commands are plain
// JSON-encodable values (EncodeCommand, DecodeCommand) so they can travel
// through the Raft log; the set is closed: only this package's types
// implement it.
type Command interface {
	// CommandType names the command in its JSON envelope.
	CommandType() string
	// ctlApply edits s, a private clone, or returns why it refuses.
	ctlApply(s *State) error
}

// Bootstrap fixes the shape of a new cluster. It is the first command of
// every state; repeating it with the same values changes nothing.
type Bootstrap struct {
	RF             int   `json:"rf"`
	MinInSync      int   `json:"min_in_sync"`
	Partitions     int   `json:"partitions"`
	ReplaceAfterMS int64 `json:"replace_after_ms"`
}

// NodeUp reports a node that joined or returned. A new node (or one whose
// zone changed) makes placement be recomputed; every copy it is given starts
// out of sync, and so does every copy of a returning node: it may have
// missed writes while away and must catch up before it counts.
type NodeUp struct {
	Node NodeInfo `json:"node"`
}

// NodeDown reports a failed node. It leaves every in-sync set; each
// partition it mastered is taken over by its first in-sync follower in
// placement order, or, with none left, has no master until that node
// returns (an out-of-sync copy is never promoted).
type NodeDown struct {
	ID   string `json:"id"`
	AtMS int64  `json:"at_ms"`
}

// InSync reports that a replica of a partition has caught up with its
// master, made at partition epoch PartEpoch. It joins the in-sync set; if it
// is the placement's master-designate, mastership moves to it.
type InSync struct {
	Partition int    `json:"partition"`
	Node      string `json:"node"`
	PartEpoch uint64 `json:"part_epoch"`
}

// OutOfSync is the master's report that a follower lags or is lost, made at
// partition epoch PartEpoch. The follower leaves the in-sync set so the
// master can go on acknowledging writes without it.
type OutOfSync struct {
	Partition int    `json:"partition"`
	Node      string `json:"node"`
	PartEpoch uint64 `json:"part_epoch"`
}

// Replace drops the nodes that have been down for at least ReplaceAfterMS
// at AtMS from placement, so their copies are re-placed on the others.
type Replace struct {
	AtMS int64 `json:"at_ms"`
}

// Decommission drains node ID: it leaves placement, its copies move to
// the other nodes (every move fills the new copy before the old one is
// dropped), and once it holds none it is drained. It is refused when fewer
// than RF up nodes would remain in placement. With Cancel the node takes
// part in placement again.
type Decommission struct {
	ID     string `json:"id"`
	Cancel bool   `json:"cancel,omitempty"`
}

// Handoff is a master's report that partition Partition, which it
// masters at partition epoch PartEpoch, stopped serving and that To, the
// placement's master-designate and an in-sync copy, acknowledged all of
// its writes: To becomes master. This is how mastership moves to a new
// copy without a failover (see shard.Server.HandOff).
type Handoff struct {
	Partition int    `json:"partition"`
	To        string `json:"to"`
	PartEpoch uint64 `json:"part_epoch"`
}

// SetRebalance changes the move settings; nil fields are left as they are.
type SetRebalance struct {
	Paused      *bool  `json:"paused,omitempty"`
	MaxMoves    *int   `json:"max_moves,omitempty"`
	MaxIncoming *int   `json:"max_incoming,omitempty"`
	RateBytes   *int64 `json:"rate_bytes,omitempty"`
}

// Command type names, as they appear in the JSON envelope.
const (
	TypeBootstrap = "bootstrap"
	TypeNodeUp    = "node_up"
	TypeNodeDown  = "node_down"
	TypeInSync    = "in_sync"
	TypeOutOfSync = "out_of_sync"
	TypeReplace   = "replace"
	// TypeDecommission and TypeSetRebalance are operator commands.
	TypeDecommission = "decommission"
	TypeSetRebalance = "set_rebalance"
	TypeHandoff      = "handoff"
)

// CommandType implements Command.
func (Bootstrap) CommandType() string { return TypeBootstrap }

// CommandType implements Command.
func (NodeUp) CommandType() string { return TypeNodeUp }

// CommandType implements Command.
func (NodeDown) CommandType() string { return TypeNodeDown }

// CommandType implements Command.
func (InSync) CommandType() string { return TypeInSync }

// CommandType implements Command.
func (OutOfSync) CommandType() string { return TypeOutOfSync }

// CommandType implements Command.
func (Replace) CommandType() string { return TypeReplace }

// CommandType implements Command.
func (Decommission) CommandType() string { return TypeDecommission }

// CommandType implements Command.
func (SetRebalance) CommandType() string { return TypeSetRebalance }

// CommandType implements Command.
func (Handoff) CommandType() string { return TypeHandoff }

// Bootstrapped reports whether the cluster's shape is fixed.
func (s State) Bootstrapped() bool { return s.Partitions > 0 }

// Apply returns the state after cmd, or s unchanged and the reason cmd is
// refused. A command that changes nothing (a repeated report, NodeUp of a
// node already up with the same info) returns an equal state with the same
// epoch and no error, so callers can retry freely. Apply never modifies s.
func (s State) Apply(cmd Command) (State, error) {
	if cmd == nil {
		return s, fmt.Errorf("%w: nil command", ErrBadCommand)
	}
	if _, ok := cmd.(Bootstrap); !ok && !s.Bootstrapped() {
		return s, ErrNotBootstrapped
	}
	next := s.Clone()
	if err := cmd.ctlApply(&next); err != nil {
		return s, err
	}
	for p := range next.Parts {
		next.ctlNormalise(p)
	}
	next.ctlStep()
	next.ctlStamp(s)
	return next, nil
}

// Clone returns a deep copy, safe to edit while readers hold s.
func (s State) Clone() State {
	c := s
	if s.Nodes != nil {
		c.Nodes = maps.Clone(s.Nodes)
	}
	if s.Parts != nil {
		c.Parts = make([]PartState, len(s.Parts))
		for i, p := range s.Parts {
			c.Parts[i] = PartState{
				Epoch:      p.Epoch,
				Master:     p.Master,
				Replicas:   slices.Clone(p.Replicas),
				Target:     slices.Clone(p.Target),
				Moving:     p.Moving,
				InSync:     slices.Clone(p.InSync),
				LastMaster: p.LastMaster,
			}
		}
	}
	return c
}

// Table returns the cluster map as ring sees it, with Epoch = s.Epoch: per
// partition the master, then as followers the other placed replicas in
// placement order (in sync or catching up — the master streams to all of
// them) and then in-sync copies placement has moved away. A partition
// without a master has no followers. Routers need only Master; the
// partition epochs are in s.Parts.
func (s State) Table() ring.Table {
	t := ring.Table{Epoch: s.Epoch, RF: s.RF, Partitions: make([]ring.Assignment, len(s.Parts))}
	for p, ps := range s.Parts {
		if ps.Master == "" {
			continue
		}
		a := ring.Assignment{Master: ps.Master}
		for _, n := range ps.Replicas {
			if n != ps.Master {
				a.Followers = append(a.Followers, n)
			}
		}
		for _, n := range ps.InSync {
			if n != ps.Master && !slices.Contains(ps.Replicas, n) {
				a.Followers = append(a.Followers, n)
			}
		}
		t.Partitions[p] = a
	}
	return t
}

// UnderReplicated counts the partitions with fewer in-sync copies than RF:
// the number an operator watches fall to zero after a failure or a join.
func (s State) UnderReplicated() int {
	n := 0
	for _, ps := range s.Parts {
		if len(ps.InSync) < s.RF {
			n++
		}
	}
	return n
}

// CanWrite reports whether partition p may accept writes: it has a master
// and at least MinInSync in-sync copies, so an acknowledged write survives
// the loss of any MinInSync-1 of them.
func (s State) CanWrite(p int) bool {
	if p < 0 || p >= len(s.Parts) {
		return false
	}
	ps := s.Parts[p]
	return ps.Master != "" && len(ps.InSync) >= s.MinInSync
}

// Validate reports the first broken invariant of a state received from
// elsewhere (a snapshot, a file). States made by Apply from a valid state
// are always valid.
func (s State) Validate() error {
	if !s.Bootstrapped() {
		if s.Partitions < 0 || len(s.Parts) != 0 || len(s.Nodes) != 0 {
			return errors.New("cluster: unbootstrapped state has partitions or nodes")
		}
		return nil
	}
	if err := ctlCheckShape(s.RF, s.MinInSync, s.Partitions, s.ReplaceAfterMS); err != nil {
		return err
	}
	if len(s.Parts) != s.Partitions {
		return fmt.Errorf("cluster: %d partition states for %d partitions", len(s.Parts), s.Partitions)
	}
	for id, n := range s.Nodes {
		if id == "" || n.ID != id {
			return fmt.Errorf("cluster: node %q listed under %q", n.ID, id)
		}
		if n.Up && n.DownSinceMS != 0 {
			return fmt.Errorf("cluster: node %q is up with a down time", id)
		}
	}
	for p, ps := range s.Parts {
		if ps.Epoch > s.Epoch {
			return fmt.Errorf("cluster: partition %d epoch %d is ahead of state epoch %d", p, ps.Epoch, s.Epoch)
		}
		if len(ps.Replicas) > s.RF {
			return fmt.Errorf("cluster: partition %d has %d replicas for RF %d", p, len(ps.Replicas), s.RF)
		}
		if err := ctlCheckList(s, p, "replica", ps.Replicas, false); err != nil {
			return err
		}
		if len(ps.Target) > s.RF {
			return fmt.Errorf("cluster: partition %d has %d target replicas for RF %d", p, len(ps.Target), s.RF)
		}
		if err := ctlCheckList(s, p, "target replica", ps.Target, false); err != nil {
			return err
		}
		if err := ctlCheckList(s, p, "in-sync copy", ps.InSync, true); err != nil {
			return err
		}
		switch {
		case ps.Master == "" && len(ps.InSync) > 0:
			return fmt.Errorf("cluster: partition %d has in-sync copies but no master", p)
		case ps.Master != "" && !slices.Contains(ps.InSync, ps.Master):
			return fmt.Errorf("cluster: partition %d master %q is not in sync", p, ps.Master)
		case ps.Master != "" && ps.LastMaster != "":
			return fmt.Errorf("cluster: partition %d has a master and a last master", p)
		case ps.Master == "" && ps.Epoch > 0 && ps.LastMaster == "":
			return fmt.Errorf("cluster: partition %d lost its master without a last master", p)
		}
	}
	return nil
}

// ctlCheckList checks that a partition's node list has no duplicates and
// names known nodes (up ones when up is set).
func ctlCheckList(s State, p int, what string, ids []string, up bool) error {
	for i, id := range ids {
		n, ok := s.Nodes[id]
		if !ok {
			return fmt.Errorf("cluster: partition %d %s %q is not a node", p, what, id)
		}
		if up && !n.Up {
			return fmt.Errorf("cluster: partition %d %s %q is down", p, what, id)
		}
		if slices.Contains(ids[:i], id) {
			return fmt.Errorf("cluster: partition %d lists %s %q twice", p, what, id)
		}
	}
	return nil
}

// ctlCheckShape validates the bootstrap parameters.
func ctlCheckShape(rf, minInSync, partitions int, replaceAfterMS int64) error {
	switch {
	case rf < 1:
		return fmt.Errorf("%w: RF %d is below 1", ErrBadCommand, rf)
	case minInSync < 1 || minInSync > rf:
		return fmt.Errorf("%w: MinInSync %d is not between 1 and RF %d", ErrBadCommand, minInSync, rf)
	case ring.ValidPartitions(partitions) != nil:
		return fmt.Errorf("%w: %d partitions %v", ErrBadCommand, partitions, ring.ValidPartitions(partitions))
	case replaceAfterMS < 0:
		return fmt.Errorf("%w: negative ReplaceAfterMS %d", ErrBadCommand, replaceAfterMS)
	}
	return nil
}

func (c Bootstrap) ctlApply(s *State) error {
	if err := ctlCheckShape(c.RF, c.MinInSync, c.Partitions, c.ReplaceAfterMS); err != nil {
		return err
	}
	if s.Bootstrapped() {
		if s.RF == c.RF && s.MinInSync == c.MinInSync && s.Partitions == c.Partitions && s.ReplaceAfterMS == c.ReplaceAfterMS {
			return nil
		}
		return fmt.Errorf("%w: have RF %d, MinInSync %d, %d partitions, ReplaceAfterMS %d",
			ErrBootstrapped, s.RF, s.MinInSync, s.Partitions, s.ReplaceAfterMS)
	}
	s.RF, s.MinInSync, s.Partitions, s.ReplaceAfterMS = c.RF, c.MinInSync, c.Partitions, c.ReplaceAfterMS
	s.Nodes = make(map[string]NodeInfo)
	s.Parts = make([]PartState, c.Partitions)
	return nil
}

func (c NodeUp) ctlApply(s *State) error {
	n := c.Node
	if n.ID == "" {
		return fmt.Errorf("%w: NodeUp without an ID", ErrBadCommand)
	}
	n.Up, n.DownSinceMS = true, 0
	old, known := s.Nodes[n.ID]
	n.Draining = old.Draining // only Decommission changes it
	s.Nodes[n.ID] = n
	if !known || old.Zone != n.Zone {
		s.ctlPlace()
	}
	return nil
}

func (c NodeDown) ctlApply(s *State) error {
	n, ok := s.Nodes[c.ID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNode, c.ID)
	}
	if !n.Up {
		return nil
	}
	if n.Draining && !s.Holds(c.ID) {
		delete(s.Nodes, c.ID) // drained and stopped: it holds nothing
		return nil
	}
	n.Up, n.DownSinceMS = false, c.AtMS
	s.Nodes[c.ID] = n
	for p := range s.Parts {
		ps := &s.Parts[p]
		ps.InSync = slices.DeleteFunc(ps.InSync, func(id string) bool { return id == c.ID })
		if ps.Master != c.ID {
			continue
		}
		// InSync is in placement order, so its head is the first in-sync
		// follower in succession order.
		if len(ps.InSync) > 0 {
			ps.Master = ps.InSync[0]
		} else {
			ps.Master, ps.LastMaster = "", c.ID
		}
	}
	return nil
}

// ctlCheckReport validates the common part of InSync and OutOfSync.
func ctlCheckReport(s *State, what string, p int, node string, epoch uint64) (*PartState, error) {
	if p < 0 || p >= len(s.Parts) {
		return nil, fmt.Errorf("%w: %s for partition %d of %d", ErrBadCommand, what, p, len(s.Parts))
	}
	ps := &s.Parts[p]
	if epoch != ps.Epoch {
		return nil, fmt.Errorf("%w: %s for partition %d at epoch %d, current %d", ErrStaleEpoch, what, p, epoch, ps.Epoch)
	}
	if _, ok := s.Nodes[node]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, node)
	}
	return ps, nil
}

func (c InSync) ctlApply(s *State) error {
	ps, err := ctlCheckReport(s, "InSync", c.Partition, c.Node, c.PartEpoch)
	if err != nil {
		return err
	}
	switch {
	case slices.Contains(ps.InSync, c.Node):
		return nil
	case !s.Nodes[c.Node].Up:
		return fmt.Errorf("%w: InSync for partition %d: node %q is down", ErrBadCommand, c.Partition, c.Node)
	case ps.Master == "":
		return fmt.Errorf("%w: InSync for partition %d: no master to be in sync with", ErrBadCommand, c.Partition)
	case !slices.Contains(ps.Replicas, c.Node):
		return fmt.Errorf("%w: InSync for partition %d: %q is not a replica", ErrBadCommand, c.Partition, c.Node)
	}
	ps.InSync = append(ps.InSync, c.Node)
	return nil
}

func (c OutOfSync) ctlApply(s *State) error {
	ps, err := ctlCheckReport(s, "OutOfSync", c.Partition, c.Node, c.PartEpoch)
	if err != nil {
		return err
	}
	if c.Node == ps.Master {
		return fmt.Errorf("%w: OutOfSync for partition %d names its master %q", ErrBadCommand, c.Partition, c.Node)
	}
	ps.InSync = slices.DeleteFunc(ps.InSync, func(id string) bool { return id == c.Node })
	return nil
}

func (c Replace) ctlApply(s *State) error {
	gone := s.ctlReplaceable(c.AtMS)
	if len(gone) == 0 {
		return nil
	}
	for _, id := range gone {
		delete(s.Nodes, id)
	}
	s.ctlPlace()
	return nil
}

func (c Decommission) ctlApply(s *State) error {
	n, ok := s.Nodes[c.ID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNode, c.ID)
	}
	if n.Draining == !c.Cancel {
		return nil
	}
	if !c.Cancel {
		left := 0
		for id, o := range s.Nodes {
			if id != c.ID && o.Up && !o.Draining {
				left++
			}
		}
		if left < s.RF {
			return fmt.Errorf("%w: decommissioning %q would leave %d up nodes in placement for %d copies of each partition",
				ErrBadCommand, c.ID, left, s.RF)
		}
	}
	n.Draining = !c.Cancel
	s.Nodes[c.ID] = n
	s.ctlPlace()
	return nil
}

func (c Handoff) ctlApply(s *State) error {
	ps, err := ctlCheckReport(s, "Handoff", c.Partition, c.To, c.PartEpoch)
	if err != nil {
		return err
	}
	switch {
	case ps.Master == c.To:
		return nil
	case ps.Master == "" || len(ps.Replicas) == 0 || ps.Replicas[0] != c.To:
		return fmt.Errorf("%w: Handoff of partition %d to %q, which is not its master-designate", ErrBadCommand, c.Partition, c.To)
	case !s.Nodes[c.To].Up || !slices.Contains(ps.InSync, c.To):
		return fmt.Errorf("%w: Handoff of partition %d to %q, which is not an up in-sync copy", ErrBadCommand, c.Partition, c.To)
	}
	ps.Master = c.To
	return nil
}

func (c SetRebalance) ctlApply(s *State) error {
	r := s.Rebalance
	if c.Paused != nil {
		r.Paused = *c.Paused
	}
	if c.MaxMoves != nil {
		r.MaxMoves = *c.MaxMoves
	}
	if c.MaxIncoming != nil {
		r.MaxIncoming = *c.MaxIncoming
	}
	if c.RateBytes != nil {
		r.RateBytes = *c.RateBytes
	}
	if r.MaxMoves < 0 || r.MaxIncoming < 0 || r.RateBytes < 0 {
		return fmt.Errorf("%w: negative rebalance limit", ErrBadCommand)
	}
	s.Rebalance = r
	return nil
}

// ctlReplaceable returns, sorted, the nodes Replace{AtMS: atMS} would drop.
func (s State) ctlReplaceable(atMS int64) []string {
	if s.ReplaceAfterMS <= 0 {
		return nil
	}
	var gone []string
	for id, n := range s.Nodes {
		if !n.Up && atMS-n.DownSinceMS >= s.ReplaceAfterMS {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	return gone
}

// ctlPlace recomputes Target from the current placement and the listed
// nodes that are not draining. Down nodes stay in placement until Replace
// drops them, so a node that returns within the grace period finds its own
// copies again and only needs the writes it missed, not a full copy. A
// partition that never had a master takes its target at once (it holds no
// data); the others get there through ctlStep's moves, and meanwhile lose
// only the copies of nodes no longer listed.
func (s *State) ctlPlace() {
	members := make([]ring.Member, 0, len(s.Nodes))
	for _, n := range s.Nodes {
		if !n.Draining {
			members = append(members, ring.Member{ID: n.ID, Zone: n.Zone})
		}
	}
	prev := ring.Table{RF: s.RF, Partitions: make([]ring.Assignment, len(s.Parts))}
	for p := range s.Parts {
		if t := s.Parts[p].target(); len(t) > 0 {
			prev.Partitions[p] = ring.Assignment{Master: t[0], Followers: t[1:]}
		}
	}
	next := ring.Assign(prev, members, s.RF, s.Partitions)
	for p := range s.Parts {
		ps := &s.Parts[p]
		ps.Target = next.Owners(p)
		if ps.Master == "" && ps.Epoch == 0 && ps.LastMaster == "" {
			ps.Replicas = slices.Clone(ps.Target)
			continue
		}
		ps.Replicas = slices.DeleteFunc(ps.Replicas, func(id string) bool { _, ok := s.Nodes[id]; return !ok })
	}
}

// target returns the placement the partition moves towards.
func (ps *PartState) target() []string {
	if ps.Target == nil {
		return ps.Replicas
	}
	return ps.Target
}

// Settled reports whether partition p has no copy to fill or drop and no
// handoff to make: every placed replica on an up node is in sync, every
// in-sync copy is placed, and the master is the master-designate (unless
// that one is down). A partition without a master is settled (nothing can
// move).
func (s State) Settled(p int) bool {
	ps := &s.Parts[p]
	if ps.Master == "" {
		return true
	}
	if d := ps.Replicas; len(d) > 0 && d[0] != ps.Master && s.Nodes[d[0]].Up {
		return false
	}
	for _, id := range ps.Replicas {
		if n, ok := s.Nodes[id]; ok && n.Up && !slices.Contains(ps.InSync, id) {
			return false
		}
	}
	for _, id := range ps.InSync {
		if !slices.Contains(ps.Replicas, id) {
			return false
		}
	}
	return true
}

// incoming returns the up replicas of p still catching up.
func (s State) incoming(p int) []string {
	ps := &s.Parts[p]
	var in []string
	for _, id := range ps.Replicas {
		if n, ok := s.Nodes[id]; ok && n.Up && !slices.Contains(ps.InSync, id) {
			in = append(in, id)
		}
	}
	return in
}

// ctlStep finishes the moves whose partitions settled and starts new
// ones, setting Replicas to Target, while fewer than MaxMoves partitions
// are unsettled in the cluster and fewer than MaxIncoming per node receive
// copies (unless Paused). Partitions short of copies go first, then the
// rest in partition order. A move adds the new copies as catching-up
// replicas; the old copies stay in sync, and count for acknowledgements,
// until every placed copy caught up (ctlNormalise), so a move never lowers
// the number of in-sync copies.
func (s *State) ctlStep() {
	for p := range s.Parts {
		if ps := &s.Parts[p]; ps.Moving && s.Settled(p) {
			ps.Moving = false
			s.MovesDone++
		}
	}
	if s.Rebalance.Paused {
		return
	}
	maxMoves, maxIncoming := s.Rebalance.Limits()
	inFlight, incoming := 0, map[string]int{}
	for p := range s.Parts {
		if !s.Settled(p) {
			inFlight++
			for _, id := range s.incoming(p) {
				incoming[id]++
			}
		}
	}
	for _, short := range []bool{true, false} {
		for p := range s.Parts {
			if inFlight >= maxMoves {
				return
			}
			ps := &s.Parts[p]
			target := ps.target()
			if ps.Master == "" || slices.Equal(ps.Replicas, target) || !s.Settled(p) || (len(ps.Replicas) < len(target)) != short {
				continue
			}
			fits := true
			for _, id := range target {
				if !slices.Contains(ps.InSync, id) && incoming[id] >= maxIncoming {
					fits = false
				}
			}
			if !fits {
				continue
			}
			ps.Replicas = slices.Clone(target)
			s.ctlNormalise(p)
			if !s.Settled(p) {
				ps.Moving = true
				inFlight++
				for _, id := range s.incoming(p) {
					incoming[id]++
				}
			}
		}
	}
}

// Holds reports whether node id is placed for, targeted by or in sync
// for any partition.
func (s State) Holds(id string) bool {
	for _, ps := range s.Parts {
		if slices.Contains(ps.Replicas, id) || slices.Contains(ps.Target, id) || slices.Contains(ps.InSync, id) {
			return true
		}
	}
	return false
}

// NodeState names a node's state for operators: "up", "down",
// "draining" (decommissioned, still holding copies) or "drained"
// (holding none: safe to stop).
func (s State) NodeState(id string) string {
	n, ok := s.Nodes[id]
	switch {
	case !ok:
		return "unknown"
	case n.Draining && !s.Holds(id):
		return "drained"
	case n.Draining:
		return "draining"
	case n.Up:
		return "up"
	}
	return "down"
}

// Migrations counts the partitions with a move in flight and those whose
// placement still differs from their target without one.
func (s State) Migrations() (inFlight, remaining int) {
	for p := range s.Parts {
		ps := &s.Parts[p]
		switch {
		case ps.Moving:
			inFlight++
		case !slices.Equal(ps.Replicas, ps.target()):
			remaining++
		}
	}
	return inFlight, remaining
}

// ctlNormalise applies the rules that follow from the partition's lists
// after any command, in this order:
//   - a partition that never had a master takes its up replicas as in sync
//     (it holds no data, so nothing can be missing) and the first as master;
//   - a partition that lost its last in-sync copy gets it back as master
//     when that node is up again;
//   - once the master is placed and every placed replica is in sync, copies
//     placement moved away leave the in-sync set;
//   - the in-sync set is put in canonical order (placement order, then the
//     rest by ID), which makes "first in-sync follower" placement order.
func (s *State) ctlNormalise(p int) {
	ps := &s.Parts[p]
	up := func(id string) bool { n, ok := s.Nodes[id]; return ok && n.Up }
	ps.InSync = slices.DeleteFunc(ps.InSync, func(id string) bool { return !up(id) })
	switch {
	case ps.Master == "" && ps.Epoch == 0 && ps.LastMaster == "":
		for _, id := range ps.Replicas {
			if up(id) {
				ps.InSync = append(ps.InSync, id)
			}
		}
		if len(ps.InSync) > 0 {
			ps.Master = ps.InSync[0]
		}
	case ps.Master == "" && ps.LastMaster != "" && up(ps.LastMaster):
		ps.Master, ps.InSync, ps.LastMaster = ps.LastMaster, []string{ps.LastMaster}, ""
	}
	if ps.Master != "" && slices.Contains(ps.Replicas, ps.Master) {
		all := true
		for _, id := range ps.Replicas {
			if !slices.Contains(ps.InSync, id) {
				all = false
				break
			}
		}
		if all {
			ps.InSync = slices.DeleteFunc(ps.InSync, func(id string) bool { return !slices.Contains(ps.Replicas, id) })
		}
	}
	ctlCanonical(ps)
}

// ctlCanonical orders ps.InSync: placed replicas in placement order, then
// the others by ID.
func ctlCanonical(ps *PartState) {
	rank := func(id string) int {
		if i := slices.Index(ps.Replicas, id); i >= 0 {
			return i
		}
		return len(ps.Replicas)
	}
	slices.SortStableFunc(ps.InSync, func(a, b string) int {
		ra, rb := rank(a), rank(b)
		switch {
		case ra != rb:
			return ra - rb
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
}

// ctlSameSet reports whether a and b, lists without duplicates, hold the
// same IDs in any order.
func ctlSameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, id := range a {
		if !slices.Contains(b, id) {
			return false
		}
	}
	return true
}

// ctlStamp sets the epochs of s, the result of a command applied to old:
// one more than old's if anything changed, and that new epoch on every
// partition whose master or in-sync set (as a set: a reordering caused by
// new placement is not a change of roles) changed.
func (s *State) ctlStamp(old State) {
	changed := s.RF != old.RF || s.MinInSync != old.MinInSync || s.Partitions != old.Partitions ||
		s.ReplaceAfterMS != old.ReplaceAfterMS || len(s.Parts) != len(old.Parts) || !maps.Equal(s.Nodes, old.Nodes) ||
		s.Rebalance != old.Rebalance || s.MovesDone != old.MovesDone
	var roles []int
	for p := range s.Parts {
		var o PartState
		if p < len(old.Parts) {
			o = old.Parts[p]
		}
		n := s.Parts[p]
		if n.Master != o.Master || !ctlSameSet(n.InSync, o.InSync) {
			roles = append(roles, p)
		} else if !slices.Equal(n.InSync, o.InSync) || !slices.Equal(n.Replicas, o.Replicas) || n.LastMaster != o.LastMaster ||
			!slices.Equal(n.Target, o.Target) || n.Moving != o.Moving {
			changed = true
		}
	}
	if !changed && len(roles) == 0 {
		s.Epoch = old.Epoch
		return
	}
	s.Epoch = old.Epoch + 1
	for _, p := range roles {
		s.Parts[p].Epoch = s.Epoch
	}
}

// Plan returns the commands that make s match alive, the nodes membership
// currently sees alive (keyed by ID; Up and DownSinceMS are ignored), at
// nowMS: NodeDown for listed nodes that are up but not alive (first, since
// failover is the urgent part), NodeUp for alive nodes that are new,
// returning or changed, then Replace if some node's grace period is over.
// Each command is kept only if it changes the state left by the ones
// before, so a state that already matches yields no commands.
func (s State) Plan(alive map[string]NodeInfo, nowMS int64) []Command {
	if !s.Bootstrapped() {
		return nil
	}
	var cands []Command
	for _, id := range slices.Sorted(maps.Keys(s.Nodes)) {
		if _, ok := alive[id]; !ok && s.Nodes[id].Up {
			cands = append(cands, NodeDown{ID: id, AtMS: nowMS})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(alive)) {
		if old, ok := s.Nodes[id]; ok && old.Up && old.Incarnation != "" && alive[id].Incarnation != "" &&
			old.Incarnation != alive[id].Incarnation {
			cands = append(cands, NodeDown{ID: id, AtMS: nowMS}) // it restarted
		}
	}
	for _, id := range slices.Sorted(maps.Keys(alive)) {
		n := alive[id]
		if id == "" || (n.ID != "" && n.ID != id) {
			continue
		}
		n.ID, n.Up, n.DownSinceMS = id, true, 0
		n.Draining = s.Nodes[id].Draining // not membership's to say
		if old, ok := s.Nodes[id]; !ok || old != n {
			cands = append(cands, NodeUp{Node: n})
		}
	}
	cands = append(cands, Replace{AtMS: nowMS})
	var out []Command
	cur := s
	for _, cmd := range cands {
		next, err := cur.Apply(cmd)
		if err == nil && next.Epoch != cur.Epoch {
			out = append(out, cmd)
			cur = next
		}
	}
	return out
}
