package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// stBoot returns a bootstrapped state.
func stBoot(t *testing.T, rf, minInSync, parts int, replaceMS int64) State {
	t.Helper()
	s, err := State{}.Apply(Bootstrap{RF: rf, MinInSync: minInSync, Partitions: parts, ReplaceAfterMS: replaceMS})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stApply applies cmds in order, failing the test on a refusal or an
// invalid result.
func stApply(t *testing.T, s State, cmds ...Command) State {
	t.Helper()
	for _, c := range cmds {
		next, err := s.Apply(c)
		if err != nil {
			t.Fatalf("%T %+v: %v", c, c, err)
		}
		if err := next.Validate(); err != nil {
			t.Fatalf("%T %+v gave an invalid state: %v", c, c, err)
		}
		s = next
	}
	return s
}

func stUp(ids ...string) []Command {
	var cs []Command
	for _, id := range ids {
		cs = append(cs, NodeUp{Node: NodeInfo{ID: id, RESPAddr: "127.0.0.1:" + id}})
	}
	return cs
}

// stCatchUp reports every up, out-of-sync replica as in sync, as masters do
// once a copy has caught up, until nothing changes.
func stCatchUp(t *testing.T, s State) State {
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
				changed = true
			}
			if ps, ok := stHandoff(s, p); ok {
				s = stApply(t, s, ps)
				changed = true
			}
		}
	}
	return s
}

// stHandoff returns the Handoff a master would report for partition p:
// its master-designate is in sync and is not the master.
func stHandoff(s State, p int) (Handoff, bool) {
	ps := s.Parts[p]
	if ps.Master == "" || len(ps.Replicas) == 0 || ps.Replicas[0] == ps.Master ||
		!slices.Contains(ps.InSync, ps.Replicas[0]) || !s.Nodes[ps.Replicas[0]].Up {
		return Handoff{}, false
	}
	return Handoff{Partition: p, To: ps.Replicas[0], PartEpoch: ps.Epoch}, true
}

// stCluster returns a converged cluster of the given nodes.
func stCluster(t *testing.T, rf, minInSync, parts int, ids ...string) State {
	t.Helper()
	s := stApply(t, stBoot(t, rf, minInSync, parts, 60_000), stUp(ids...)...)
	return stCatchUp(t, s)
}

func TestStateBootstrap(t *testing.T) {
	if _, err := (State{}).Apply(stUp("a")[0]); !errors.Is(err, ErrNotBootstrapped) {
		t.Fatalf("NodeUp before Bootstrap: %v", err)
	}
	for _, b := range []Bootstrap{
		{RF: 0, MinInSync: 1, Partitions: 8},
		{RF: 3, MinInSync: 4, Partitions: 8},
		{RF: 3, MinInSync: 0, Partitions: 8},
		{RF: 3, MinInSync: 2, Partitions: 12},
		{RF: 3, MinInSync: 2, Partitions: 0},
		{RF: 3, MinInSync: 2, Partitions: 32768},
		{RF: 3, MinInSync: 2, Partitions: 8, ReplaceAfterMS: -1},
	} {
		if _, err := (State{}).Apply(b); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%+v: %v, want ErrBadCommand", b, err)
		}
	}
	s := stBoot(t, 3, 2, 8, 1000)
	if s.Epoch != 1 || len(s.Parts) != 8 || s.RF != 3 || s.MinInSync != 2 || s.ReplaceAfterMS != 1000 {
		t.Fatalf("bootstrapped state %+v", s)
	}
	again := stApply(t, s, Bootstrap{RF: 3, MinInSync: 2, Partitions: 8, ReplaceAfterMS: 1000})
	if again.Epoch != s.Epoch {
		t.Errorf("repeated Bootstrap bumped the epoch to %d", again.Epoch)
	}
	if _, err := s.Apply(Bootstrap{RF: 3, MinInSync: 2, Partitions: 16, ReplaceAfterMS: 1000}); !errors.Is(err, ErrBootstrapped) {
		t.Errorf("Bootstrap with another shape: %v", err)
	}
}

func TestStateFirstNodesAndCatchUp(t *testing.T) {
	s := stApply(t, stBoot(t, 3, 2, 16, 0), stUp("a")...)
	for p, ps := range s.Parts {
		if ps.Master != "a" || !slices.Equal(ps.InSync, []string{"a"}) || ps.Epoch != s.Epoch {
			t.Fatalf("partition %d after the first node: %+v", p, ps)
		}
		if s.CanWrite(p) {
			t.Errorf("partition %d writable with one copy and MinInSync 2", p)
		}
	}
	s = stApply(t, s, stUp("b", "c")...)
	for p, ps := range s.Parts {
		if ps.Master != "a" || !slices.Equal(ps.InSync, []string{"a"}) {
			t.Errorf("partition %d: new replicas must start out of sync: %+v", p, ps)
		}
		if len(ps.target()) != 3 {
			t.Errorf("partition %d has target %v", p, ps.target())
		}
	}
	if got := s.UnderReplicated(); got != 16 {
		t.Errorf("UnderReplicated = %d, want 16", got)
	}
	s = stCatchUp(t, s)
	masters := map[string]int{}
	for p, ps := range s.Parts {
		if ps.Master != ps.Replicas[0] || !slices.Equal(ps.InSync, ps.Replicas) || !s.CanWrite(p) {
			t.Errorf("partition %d after catch-up: %+v", p, ps)
		}
		masters[ps.Master]++
	}
	if s.UnderReplicated() != 0 {
		t.Errorf("UnderReplicated = %d after catch-up", s.UnderReplicated())
	}
	for _, id := range []string{"a", "b", "c"} {
		if n := masters[id]; n < 5 || n > 6 {
			t.Errorf("node %s masters %d of 16 partitions, want 5 or 6", id, n)
		}
	}
	if err := s.Table().Validate(); err != nil {
		t.Errorf("Table: %v", err)
	}
}

func TestStateMasterFailurePromotesInSyncFollower(t *testing.T) {
	s := stCluster(t, 3, 2, 16, "a", "b", "c")
	victim := s.Parts[0].Master
	next := stApply(t, s, NodeDown{ID: victim, AtMS: 1000})
	if next.Nodes[victim].Up || next.Nodes[victim].DownSinceMS != 1000 {
		t.Errorf("victim record %+v", next.Nodes[victim])
	}
	for p, ps := range next.Parts {
		old := s.Parts[p]
		if slices.Contains(ps.InSync, victim) {
			t.Errorf("partition %d keeps the failed node in sync: %v", p, ps.InSync)
		}
		if ps.Epoch != next.Epoch || ps.Epoch <= old.Epoch {
			t.Errorf("partition %d epoch %d (was %d, state %d)", p, ps.Epoch, old.Epoch, next.Epoch)
		}
		if old.Master == victim {
			// First in-sync follower in placement order.
			want := old.Replicas[1]
			if ps.Master != want {
				t.Errorf("partition %d promoted %q, want %q", p, ps.Master, want)
			}
		} else if ps.Master != old.Master {
			t.Errorf("partition %d changed master %q -> %q", p, old.Master, ps.Master)
		}
		if !next.CanWrite(p) {
			t.Errorf("partition %d not writable with 2 in-sync copies", p)
		}
	}
	// Repeating the report changes nothing.
	if again := stApply(t, next, NodeDown{ID: victim, AtMS: 5000}); again.Epoch != next.Epoch || again.Nodes[victim].DownSinceMS != 1000 {
		t.Errorf("repeated NodeDown changed the state: epoch %d, %+v", again.Epoch, again.Nodes[victim])
	}
	if _, err := next.Apply(NodeDown{ID: "zz", AtMS: 1}); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("NodeDown of an unknown node: %v", err)
	}
}

func TestStateTwoFailuresBlockWrites(t *testing.T) {
	s := stCluster(t, 3, 2, 16, "a", "b", "c")
	s = stApply(t, s, NodeDown{ID: "a", AtMS: 1}, NodeDown{ID: "b", AtMS: 1})
	for p, ps := range s.Parts {
		if ps.Master != "c" || !slices.Equal(ps.InSync, []string{"c"}) {
			t.Errorf("partition %d: %+v, want master c alone in sync", p, ps)
		}
		if s.CanWrite(p) {
			t.Errorf("partition %d writable with 1 in-sync copy and MinInSync 2", p)
		}
	}
	if got := s.UnderReplicated(); got != 16 {
		t.Errorf("UnderReplicated = %d, want 16", got)
	}
	// With five nodes only partitions that had copies on both failed nodes
	// drop to one copy; the others keep two and stay writable.
	before := stCluster(t, 3, 2, 32, "a", "b", "c", "d", "e")
	s5 := stApply(t, before, NodeDown{ID: "a", AtMS: 1}, NodeDown{ID: "b", AtMS: 1})
	one := 0
	for p, ps := range s5.Parts {
		orig := before.Parts[p].Replicas
		lost := 0
		for _, id := range orig {
			if id == "a" || id == "b" {
				lost++
			}
		}
		if len(ps.InSync) != 3-lost || s5.CanWrite(p) != (3-lost >= 2) || ps.Master == "" {
			t.Errorf("partition %d (replicas %v): %+v, CanWrite %v", p, orig, ps, s5.CanWrite(p))
		}
		if lost == 2 {
			one++
		}
	}
	if one == 0 {
		t.Error("no partition had copies on both failed nodes; the case is not exercised")
	}
}

func TestStateLastCopyReturnsAsMaster(t *testing.T) {
	s := stCluster(t, 3, 2, 8, "a", "b", "c")
	s = stApply(t, s, NodeDown{ID: "a", AtMS: 1}, NodeDown{ID: "b", AtMS: 2}, NodeDown{ID: "c", AtMS: 3})
	for p, ps := range s.Parts {
		if ps.Master != "" || len(ps.InSync) != 0 || ps.LastMaster != "c" || s.CanWrite(p) {
			t.Fatalf("partition %d after losing every copy: %+v", p, ps)
		}
	}
	if tab := s.Table(); tab.Master(0) != "" || len(tab.Partitions[0].Followers) != 0 {
		t.Errorf("Table of a masterless partition: %+v", tab.Partitions[0])
	}
	// a and b missed writes c took: they must not be promoted.
	s = stApply(t, s, stUp("a", "b")...)
	for p, ps := range s.Parts {
		if ps.Master != "" || len(ps.InSync) != 0 {
			t.Fatalf("partition %d promoted an out-of-sync copy: %+v", p, ps)
		}
		if _, err := s.Apply(InSync{Partition: p, Node: "a", PartEpoch: ps.Epoch}); !errors.Is(err, ErrBadCommand) {
			t.Fatalf("InSync without a master: %v", err)
		}
	}
	s = stApply(t, s, stUp("c")...)
	for p, ps := range s.Parts {
		if ps.Master != "c" || !slices.Equal(ps.InSync, []string{"c"}) || ps.LastMaster != "" || ps.Epoch != s.Epoch {
			t.Fatalf("partition %d after the last copy returned: %+v", p, ps)
		}
	}
	s = stCatchUp(t, s)
	if s.UnderReplicated() != 0 {
		t.Errorf("UnderReplicated = %d", s.UnderReplicated())
	}
}

func TestStateStaleReportsRefused(t *testing.T) {
	base := stCluster(t, 3, 2, 8, "a", "b", "c")
	// Take b out of sync in partition 0 at the current epoch, so there is a
	// copy to report on.
	e0 := base.Parts[0].Epoch
	follower := base.Parts[0].Replicas[1]
	s := stApply(t, base, OutOfSync{Partition: 0, Node: follower, PartEpoch: e0})
	if slices.Contains(s.Parts[0].InSync, follower) || s.Parts[0].Epoch == e0 {
		t.Fatalf("OutOfSync did not apply: %+v", s.Parts[0])
	}
	cur := s.Parts[0].Epoch
	master := s.Parts[0].Master
	cases := []struct {
		name string
		cmd  Command
		want error
	}{
		{"stale InSync", InSync{Partition: 0, Node: follower, PartEpoch: e0}, ErrStaleEpoch},
		{"future InSync", InSync{Partition: 0, Node: follower, PartEpoch: cur + 1}, ErrStaleEpoch},
		{"stale OutOfSync", OutOfSync{Partition: 0, Node: s.Parts[0].Replicas[2], PartEpoch: e0}, ErrStaleEpoch},
		{"OutOfSync of the master", OutOfSync{Partition: 0, Node: master, PartEpoch: cur}, ErrBadCommand},
		{"InSync out of range", InSync{Partition: 8, Node: follower, PartEpoch: cur}, ErrBadCommand},
		{"OutOfSync negative partition", OutOfSync{Partition: -1, Node: follower, PartEpoch: cur}, ErrBadCommand},
		{"InSync unknown node", InSync{Partition: 0, Node: "zz", PartEpoch: cur}, ErrUnknownNode},
		{"NodeUp without ID", NodeUp{}, ErrBadCommand},
		{"nil", nil, ErrBadCommand},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, err := s.Apply(c.cmd)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if !reflect.DeepEqual(next, s) {
				t.Fatal("a refused command changed the state")
			}
		})
	}
	// The same report at the current epoch is accepted.
	ok := stApply(t, s, InSync{Partition: 0, Node: follower, PartEpoch: cur})
	if !slices.Contains(ok.Parts[0].InSync, follower) || ok.Parts[0].Epoch <= cur {
		t.Errorf("fresh InSync not applied: %+v", ok.Parts[0])
	}
	// Reports that change nothing are accepted without a new epoch.
	same := stApply(t, ok, InSync{Partition: 0, Node: follower, PartEpoch: ok.Parts[0].Epoch})
	if same.Epoch != ok.Epoch {
		t.Errorf("repeated InSync bumped the epoch")
	}
	down := stApply(t, ok, NodeDown{ID: follower, AtMS: 1})
	if _, err := down.Apply(InSync{Partition: 0, Node: follower, PartEpoch: down.Parts[0].Epoch}); !errors.Is(err, ErrBadCommand) {
		t.Errorf("InSync of a down node: %v", err)
	}
}

func TestStateReturningNodeStartsOutOfSync(t *testing.T) {
	s := stCluster(t, 3, 2, 16, "a", "b", "c")
	down := stApply(t, s, NodeDown{ID: "b", AtMS: 10})
	back := stApply(t, down, NodeUp{Node: NodeInfo{ID: "b", RESPAddr: "127.0.0.1:9999"}})
	if n := back.Nodes["b"]; !n.Up || n.DownSinceMS != 0 || n.RESPAddr != "127.0.0.1:9999" {
		t.Errorf("node record %+v", n)
	}
	for p, ps := range back.Parts {
		if slices.Contains(ps.InSync, "b") || ps.Master == "b" {
			t.Errorf("partition %d: returning node in sync: %+v", p, ps)
		}
		if !slices.Equal(ps.Replicas, s.Parts[p].Replicas) {
			t.Errorf("partition %d: placement changed on return: %v -> %v", p, s.Parts[p].Replicas, ps.Replicas)
		}
	}
	back = stCatchUp(t, back)
	for p, ps := range back.Parts {
		if ps.Master != s.Parts[p].Master || !slices.Equal(ps.InSync, ps.Replicas) {
			t.Errorf("partition %d after catch-up: %+v, master was %s", p, ps, s.Parts[p].Master)
		}
	}
	// NodeUp of an up node with the same info changes nothing.
	if again := stApply(t, back, NodeUp{Node: back.Nodes["b"]}); again.Epoch != back.Epoch {
		t.Errorf("repeated NodeUp bumped the epoch")
	}
}

func TestStateJoinKeepsInSyncCopies(t *testing.T) {
	s := stCluster(t, 3, 2, 32, "a", "b", "c")
	j := stApply(t, s, stUp("d")...)
	moved := 0
	for p, ps := range j.Parts {
		old := s.Parts[p]
		if ps.Master != old.Master || !slices.Equal(ps.InSync, old.InSync) || ps.Epoch != old.Epoch {
			t.Errorf("partition %d: a join changed its roles: %+v -> %+v", p, old, ps)
		}
		if !j.CanWrite(p) {
			t.Errorf("partition %d unwritable during a join", p)
		}
		if slices.Contains(ps.target(), "d") {
			moved++
			// A move in flight: the leaving copy is still a follower in
			// the map; a move not started yet leaves the owners as they were.
			if got, want := len(j.Table().Owners(p)), map[bool]int{true: 4, false: 3}[ps.Moving]; got != want {
				t.Errorf("partition %d (moving %v) owners %v", p, ps.Moving, j.Table().Owners(p))
			}
		}
	}
	if moved < 20 || moved > 28 {
		t.Errorf("the joiner got %d of 32 partitions, want its share (24)", moved)
	}
	if err := j.Table().Validate(); err != nil {
		t.Fatal(err)
	}
	j = stCatchUp(t, j)
	counts := map[string]int{}
	for p, ps := range j.Parts {
		if ps.Master != ps.Replicas[0] || !slices.Equal(ps.InSync, ps.Replicas) {
			t.Errorf("partition %d after the joiner caught up: %+v", p, ps)
		}
		for _, id := range ps.InSync {
			counts[id]++
		}
	}
	for id, n := range counts {
		if n != 24 {
			t.Errorf("node %s holds %d copies, want 24", id, n)
		}
	}
}

func TestStateReplace(t *testing.T) {
	const grace = 60_000
	s := stCluster(t, 3, 2, 32, "a", "b", "c", "d")
	down := stApply(t, s, NodeDown{ID: "d", AtMS: 1000})
	early := stApply(t, down, Replace{AtMS: 1000 + grace - 1})
	if early.Epoch != down.Epoch {
		t.Fatal("Replace before the grace period changed the state")
	}
	alive := map[string]NodeInfo{"a": down.Nodes["a"], "b": down.Nodes["b"], "c": down.Nodes["c"]}
	if got := down.Plan(alive, 1000+grace-1); len(got) != 0 {
		t.Errorf("Plan before the grace period: %v", got)
	}
	if got := down.Plan(alive, 1000+grace); len(got) != 1 || got[0] != (Replace{AtMS: 1000 + grace}) {
		t.Errorf("Plan after the grace period: %v", got)
	}
	r := stApply(t, down, Replace{AtMS: 1000 + grace})
	if _, ok := r.Nodes["d"]; ok {
		t.Fatal("replaced node still listed")
	}
	for p, ps := range r.Parts {
		if slices.Contains(ps.Replicas, "d") || len(ps.Replicas) != 3 {
			t.Errorf("partition %d replicas %v", p, ps.Replicas)
		}
		if !slices.Equal(ps.InSync, down.Parts[p].InSync) || ps.Master != down.Parts[p].Master {
			t.Errorf("partition %d: Replace changed roles: %+v -> %+v", p, down.Parts[p], ps)
		}
	}
	if r.UnderReplicated() == 0 {
		t.Error("re-placed copies must start out of sync")
	}
	r = stCatchUp(t, r)
	if r.UnderReplicated() != 0 {
		t.Errorf("UnderReplicated = %d after catch-up", r.UnderReplicated())
	}
	// ReplaceAfterMS 0 disables Replace.
	off := stApply(t, stBoot(t, 3, 2, 8, 0), stUp("a", "b", "c", "d")...)
	off = stApply(t, off, NodeDown{ID: "d", AtMS: 1})
	if again := stApply(t, off, Replace{AtMS: 1 << 50}); again.Epoch != off.Epoch {
		t.Error("Replace acted with ReplaceAfterMS 0")
	}
}

func TestStatePlan(t *testing.T) {
	s := stBoot(t, 3, 2, 16, 5000)
	alive := map[string]NodeInfo{
		"a": {RESPAddr: "h:1"}, "b": {RESPAddr: "h:2"}, "c": {RESPAddr: "h:3", Zone: "z"},
	}
	plan := s.Plan(alive, 100)
	if len(plan) != 3 {
		t.Fatalf("plan %v", plan)
	}
	s = stApply(t, s, plan...)
	if got := s.Plan(alive, 100); len(got) != 0 {
		t.Fatalf("second plan %v", got)
	}
	if n := s.Nodes["c"]; n.ID != "c" || n.Zone != "z" || n.RESPAddr != "h:3" || !n.Up {
		t.Errorf("node c %+v", n)
	}
	delete(alive, "b")
	alive["a"] = NodeInfo{RESPAddr: "h:9"}
	plan = s.Plan(alive, 200)
	want := []Command{NodeDown{ID: "b", AtMS: 200}, NodeUp{Node: NodeInfo{ID: "a", RESPAddr: "h:9", Up: true}}}
	if !reflect.DeepEqual(plan, want) {
		t.Fatalf("plan %v, want %v", plan, want)
	}
	s = stApply(t, s, plan...)
	if got := s.Plan(alive, 300); len(got) != 0 {
		t.Fatalf("plan after applying %v", got)
	}
	if got := s.Plan(alive, 5200); len(got) != 1 {
		t.Fatalf("plan after the grace period %v", got)
	}
}

func TestStateCodecRoundTrip(t *testing.T) {
	cmds := []Command{
		Bootstrap{RF: 3, MinInSync: 2, Partitions: 64, ReplaceAfterMS: 9},
		NodeUp{Node: NodeInfo{ID: "a", RESPAddr: "h:1", Zone: "z1"}},
		NodeDown{ID: "a", AtMS: 42},
		InSync{Partition: 3, Node: "b", PartEpoch: 7},
		OutOfSync{Partition: 4, Node: "c", PartEpoch: 8},
		Replace{AtMS: 99},
	}
	for _, c := range cmds {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s decoded as %#v", b, got)
		}
	}
	for _, bad := range []string{`{"type":"nope","cmd":{}}`, `not json`, `{"type":"node_down","cmd":[1]}`} {
		if _, err := DecodeCommand([]byte(bad)); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// A state survives JSON (the snapshot format) unchanged.
	s := stCluster(t, 3, 2, 8, "a", "b", "c")
	s = stApply(t, s, NodeDown{ID: "a", AtMS: 5})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) || back.Table().Epoch != s.Epoch || !back.Table().Equal(s.Table()) {
		t.Errorf("state changed through JSON:\n%s\n%s", b, b2)
	}
}

func TestStateValidateCatchesBrokenInvariants(t *testing.T) {
	good := stCluster(t, 3, 2, 4, "a", "b", "c")
	breakers := map[string]func(s *State){
		"master not in sync":      func(s *State) { s.Parts[0].InSync = s.Parts[0].InSync[1:] },
		"in sync without master":  func(s *State) { s.Parts[0].Master = "" },
		"down node in sync":       func(s *State) { n := s.Nodes["a"]; n.Up = false; n.DownSinceMS = 1; s.Nodes["a"] = n },
		"unknown replica":         func(s *State) { s.Parts[1].Replicas[0] = "zz" },
		"duplicate in sync":       func(s *State) { s.Parts[1].InSync[1] = s.Parts[1].InSync[0] },
		"partition epoch ahead":   func(s *State) { s.Parts[2].Epoch = s.Epoch + 1 },
		"wrong partition count":   func(s *State) { s.Parts = s.Parts[:3] },
		"min in sync above rf":    func(s *State) { s.MinInSync = 4 },
		"node under another name": func(s *State) { n := s.Nodes["a"]; n.ID = "x"; s.Nodes["a"] = n },
	}
	for name, br := range breakers {
		s := good.Clone()
		br(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate passed", name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (State{}).Validate(); err != nil {
		t.Errorf("zero state: %v", err)
	}
}

func TestStateApplyDoesNotModifyReceiver(t *testing.T) {
	s := stCluster(t, 3, 2, 8, "a", "b", "c")
	snap := s.Clone()
	_ = stApply(t, s, NodeDown{ID: "a", AtMS: 1}, NodeUp{Node: NodeInfo{ID: "d"}})
	if _, err := s.Apply(OutOfSync{Partition: 0, Node: s.Parts[0].Replicas[1], PartEpoch: s.Parts[0].Epoch}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, snap) {
		t.Fatal("Apply modified its receiver")
	}
}

// TestStateNeverTwoMasters drives random command sequences and checks after
// every step that each (partition, epoch) names one master for good, that
// epochs only grow, and that a new master was in sync (or was the last
// in-sync copy, or the partition never held data).
func TestStateNeverTwoMasters(t *testing.T) {
	ids := []string{"a", "b", "c", "d", "e"}
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			rf := 1 + rng.IntN(3)
			s := stBoot(t, rf, 1+rng.IntN(rf), 8, 500)
			owner := map[[2]uint64]string{}
			now := int64(0)
			for step := 0; step < 400; step++ {
				now += int64(rng.IntN(200))
				var cmd Command
				switch k := rng.IntN(12); {
				case k == 10:
					cmd = Decommission{ID: ids[rng.IntN(len(ids))], Cancel: rng.IntN(3) == 0}
				case k == 11:
					cmd = SetRebalance{Paused: ptr(rng.IntN(4) == 0), MaxMoves: ptr(rng.IntN(4)), MaxIncoming: ptr(rng.IntN(3))}
				case k < 3:
					cmd = NodeUp{Node: NodeInfo{ID: ids[rng.IntN(len(ids))]}}
				case k < 5:
					cmd = NodeDown{ID: ids[rng.IntN(len(ids))], AtMS: now}
				case k < 8:
					p := rng.IntN(len(s.Parts))
					ps := s.Parts[p]
					if len(ps.Replicas) == 0 {
						continue
					}
					epoch := ps.Epoch
					if rng.IntN(5) == 0 && epoch > 0 {
						epoch-- // a stale report
					}
					cmd = InSync{Partition: p, Node: ps.Replicas[rng.IntN(len(ps.Replicas))], PartEpoch: epoch}
				case k < 9:
					p := rng.IntN(len(s.Parts))
					ps := s.Parts[p]
					if len(ps.InSync) < 2 {
						continue
					}
					cmd = OutOfSync{Partition: p, Node: ps.InSync[1+rng.IntN(len(ps.InSync)-1)], PartEpoch: ps.Epoch}
				case k == 9 && rng.IntN(2) == 0:
					cmd = Replace{AtMS: now}
				case k == 9:
					p := rng.IntN(len(s.Parts))
					h, ok := stHandoff(s, p)
					if !ok {
						continue
					}
					cmd = h
				}
				next, err := s.Apply(cmd)
				if err != nil {
					if errors.Is(err, ErrUnknownNode) || errors.Is(err, ErrStaleEpoch) || errors.Is(err, ErrBadCommand) {
						continue
					}
					t.Fatalf("step %d %+v: %v", step, cmd, err)
				}
				if err := next.Validate(); err != nil {
					t.Fatalf("step %d %+v: %v", step, cmd, err)
				}
				if next.Epoch != s.Epoch && next.Epoch != s.Epoch+1 {
					t.Fatalf("step %d: epoch %d -> %d", step, s.Epoch, next.Epoch)
				}
				for p, ps := range next.Parts {
					old := s.Parts[p]
					if ps.Epoch < old.Epoch {
						t.Fatalf("step %d partition %d: epoch went back %d -> %d", step, p, old.Epoch, ps.Epoch)
					}
					if ps.Master != old.Master {
						if ps.Epoch == old.Epoch {
							t.Fatalf("step %d partition %d: master changed without a new epoch", step, p)
						}
						// Allowed: a copy in sync before, or the one this
						// command reports in sync (a planned handover).
						ok := slices.Contains(old.InSync, ps.Master)
						if r, isReport := cmd.(InSync); isReport && r.Partition == p && r.Node == ps.Master {
							ok = true
						}
						if ps.Master != "" && !ok && old.LastMaster != ps.Master && old.Epoch != 0 {
							t.Fatalf("step %d partition %d: promoted out-of-sync %q (was %+v)", step, p, ps.Master, old)
						}
					}
					key := [2]uint64{uint64(p), ps.Epoch}
					if m, ok := owner[key]; ok && m != ps.Master {
						t.Fatalf("step %d partition %d epoch %d: masters %q and %q", step, p, ps.Epoch, m, ps.Master)
					}
					owner[key] = ps.Master
					if next.CanWrite(p) && len(ps.InSync) < next.MinInSync {
						t.Fatalf("step %d partition %d writable below MinInSync", step, p)
					}
				}
				s = next
			}
		})
	}
}

// TestPlanRestartedNode: a node alive under a new incarnation restarted;
// its copies may miss their last writes (fsync once a second), so the plan
// takes it down first — its partitions move to in-sync followers and it
// leaves every in-sync set — and only then brings it up again.
func TestPlanRestartedNode(t *testing.T) {
	s := stBoot(t, 3, 2, 8, 60000)
	alive := map[string]NodeInfo{}
	for _, id := range []string{"a", "b", "c"} {
		alive[id] = NodeInfo{ID: id, RESPAddr: id + ":1", Incarnation: id + "/1"}
		s = stApply(t, s, NodeUp{Node: alive[id]})
	}
	for p := range s.Parts {
		for _, id := range s.Parts[p].Replicas {
			if !slices.Contains(s.Parts[p].InSync, id) {
				s = stApply(t, s, InSync{Partition: p, Node: id, PartEpoch: s.Parts[p].Epoch})
			}
		}
	}
	if cmds := s.Plan(alive, 10); len(cmds) != 0 {
		t.Fatalf("plan for an unchanged cluster: %v", cmds)
	}
	alive["b"] = NodeInfo{ID: "b", RESPAddr: "b:1", Incarnation: "b/2"}
	cmds := s.Plan(alive, 20)
	if len(cmds) != 2 {
		t.Fatalf("plan after b restarted: %+v, want NodeDown then NodeUp", cmds)
	}
	if d, ok := cmds[0].(NodeDown); !ok || d.ID != "b" {
		t.Fatalf("first command %+v, want NodeDown of b", cmds[0])
	}
	for _, cmd := range cmds {
		s = stApply(t, s, cmd)
	}
	if n := s.Nodes["b"]; !n.Up || n.Incarnation != "b/2" {
		t.Fatalf("b after the plan: %+v", n)
	}
	for p, ps := range s.Parts {
		if ps.Master == "b" || slices.Contains(ps.InSync, "b") {
			t.Fatalf("partition %d: restarted b is master or in sync before catching up: %+v", p, ps)
		}
	}
}
