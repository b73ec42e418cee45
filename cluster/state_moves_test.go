package cluster

import (
	"errors"
	"slices"
	"testing"
)

// stCatchUpChecked is stCatchUp one report at a time, calling check after
// every state the reports make.
func stCatchUpChecked(t *testing.T, s State, check func(State)) State {
	t.Helper()
	for changed := true; changed; {
		changed = false
		for p := range s.Parts {
			for _, id := range s.Parts[p].Replicas {
				ps := s.Parts[p]
				if ps.Master == "" || !s.Nodes[id].Up || slices.Contains(ps.InSync, id) {
					continue
				}
				s = stApply(t, s, InSync{Partition: p, Node: id, PartEpoch: ps.Epoch})
				check(s)
				changed = true
			}
			if h, ok := stHandoff(s, p); ok {
				s = stApply(t, s, h)
				check(s)
				changed = true
			}
		}
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// TestStateMovesRespectLimits grows a cluster under tight move limits and
// checks every intermediate state: never more partitions unsettled than
// MaxMoves, never more copies filling on one node than MaxIncoming, never
// fewer than RF in-sync copies, and in the end the placement reached.
func TestStateMovesRespectLimits(t *testing.T) {
	s := stCluster(t, 3, 2, 64, "a", "b", "c")
	s = stApply(t, s, SetRebalance{MaxMoves: ptr(4), MaxIncoming: ptr(2)})
	done0 := s.MovesDone
	check := func(s State) {
		t.Helper()
		unsettled, incoming := 0, map[string]int{}
		for p, ps := range s.Parts {
			if len(ps.InSync) < 3 {
				t.Fatalf("partition %d has %d in-sync copies during a move: %+v", p, len(ps.InSync), ps)
			}
			if !s.Settled(p) {
				unsettled++
				for _, id := range s.incoming(p) {
					incoming[id]++
				}
			}
		}
		if unsettled > 4 {
			t.Fatalf("%d partitions moving at once, limit 4", unsettled)
		}
		for id, n := range incoming {
			if n > 2 {
				t.Fatalf("node %s fills %d copies at once, limit 2", id, n)
			}
		}
	}
	s = stApply(t, s, stUp("d", "e")...)
	check(s)
	if in, rem := s.Migrations(); in == 0 || in > 4 || rem == 0 {
		t.Fatalf("after the joins: %d moves in flight, %d remaining", in, rem)
	}
	s = stCatchUpChecked(t, s, check)
	if in, rem := s.Migrations(); in != 0 || rem != 0 {
		t.Fatalf("after catching up: %d moves in flight, %d remaining", in, rem)
	}
	counts := s.Table().Counts()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		// 64 partitions × 3 copies over 5 nodes: 38 or 39 each.
		if c := counts[id]; c.Copies < 38 || c.Copies > 39 || c.Masters < 12 || c.Masters > 13 {
			t.Errorf("node %s: %+v after the moves", id, c)
		}
	}
	for p, ps := range s.Parts {
		if !slices.Equal(ps.Replicas, ps.Target) || !slices.Equal(ps.InSync, ps.Replicas) || ps.Master != ps.Replicas[0] {
			t.Errorf("partition %d did not reach its target: %+v", p, ps)
		}
	}
	if s.MovesDone == done0 {
		t.Error("MovesDone did not count the moves")
	}
}

func TestStatePauseHoldsMoves(t *testing.T) {
	s := stCluster(t, 3, 2, 32, "a", "b", "c")
	s = stApply(t, s, SetRebalance{Paused: ptr(true)})
	before := s.Clone()
	s = stApply(t, s, stUp("d")...)
	for p, ps := range s.Parts {
		if !slices.Equal(ps.Replicas, before.Parts[p].Replicas) {
			t.Fatalf("partition %d moved while paused: %v -> %v", p, before.Parts[p].Replicas, ps.Replicas)
		}
	}
	if in, rem := s.Migrations(); in != 0 || rem == 0 {
		t.Fatalf("paused: %d in flight, %d remaining", in, rem)
	}
	s = stApply(t, s, SetRebalance{Paused: ptr(false)})
	if in, _ := s.Migrations(); in == 0 {
		t.Fatal("no move started after resuming")
	}
	s = stCatchUp(t, s)
	if c := s.Table().Counts()["d"]; c.Copies != 24 {
		t.Errorf("d holds %d copies after the resumed moves, want 24", c.Copies)
	}
	if _, err := s.Apply(SetRebalance{MaxMoves: ptr(-1)}); !errors.Is(err, ErrBadCommand) {
		t.Errorf("a negative limit: %v", err)
	}
}

// TestStateDecommission drains a node: its copies move away (filled before
// they are dropped), it reports drained, and once it goes down it leaves
// the map without a replace grace period.
func TestStateDecommission(t *testing.T) {
	s := stCluster(t, 3, 2, 32, "a", "b", "c", "d")
	s = stApply(t, s, SetRebalance{MaxMoves: ptr(3)})
	s = stApply(t, s, Decommission{ID: "d"})
	if got := s.NodeState("d"); got != "draining" {
		t.Fatalf("d is %q after Decommission", got)
	}
	for p := range s.Parts {
		if slices.Contains(s.Parts[p].Target, "d") {
			t.Fatalf("partition %d still targets d", p)
		}
	}
	// Membership still sees d alive: Plan must not undo the drain.
	alive := map[string]NodeInfo{}
	for id, n := range s.Nodes {
		alive[id] = NodeInfo{ID: id, RESPAddr: n.RESPAddr, Zone: n.Zone, Incarnation: n.Incarnation}
	}
	if cmds := s.Plan(alive, 1); len(cmds) != 0 {
		t.Fatalf("Plan for a draining node alive: %v", cmds)
	}
	s = stCatchUpChecked(t, s, func(s State) {
		for p, ps := range s.Parts {
			if len(ps.InSync) < 3 {
				t.Fatalf("partition %d has %d in-sync copies while d drains", p, len(ps.InSync))
			}
		}
	})
	if got := s.NodeState("d"); got != "drained" {
		t.Fatalf("d is %q after the moves", got)
	}
	if c := s.Table().Counts()["d"]; c.Copies != 0 {
		t.Fatalf("drained d holds %+v", c)
	}
	// Three nodes for RF 3: none of them may go.
	if _, err := s.Apply(Decommission{ID: "a"}); !errors.Is(err, ErrBadCommand) {
		t.Errorf("Decommission leaving 2 nodes for RF 3: %v", err)
	}
	s = stApply(t, s, NodeDown{ID: "d", AtMS: 5})
	if _, ok := s.Nodes["d"]; ok {
		t.Errorf("drained d stays in the map after going down")
	}
	if _, err := s.Apply(Decommission{ID: "zz"}); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("Decommission of an unknown node: %v", err)
	}
}

func TestStateDecommissionCancel(t *testing.T) {
	s := stCluster(t, 3, 2, 16, "a", "b", "c", "d")
	s = stApply(t, s, SetRebalance{Paused: ptr(true)}, Decommission{ID: "d"})
	s = stApply(t, s, Decommission{ID: "d", Cancel: true})
	if got := s.NodeState("d"); got != "up" {
		t.Fatalf("d is %q after cancelling", got)
	}
	if _, rem := s.Migrations(); rem != 0 {
		t.Errorf("%d moves remaining after cancelling the only change", rem)
	}
}

func TestStateCommandsRoundTrip(t *testing.T) {
	for _, c := range []Command{Decommission{ID: "x", Cancel: true}, SetRebalance{Paused: ptr(true), RateBytes: ptr(int64(5))}} {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := EncodeCommand(got)
		if string(b) != string(b2) {
			t.Errorf("%s round trip: %s", b, b2)
		}
	}
}
