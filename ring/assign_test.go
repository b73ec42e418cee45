package ring

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func nodes(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("shard-%02d", i)}
	}
	return ms
}

// checkTable fails t unless tab is a complete, valid placement of parts
// partitions on members with min(rf, len(members)) owners per partition,
// whose masters, copies and every succession prefix are balanced within
// one across members.
func checkTable(t *testing.T, tab Table, members []Member, rf, parts int) {
	t.Helper()
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	if tab.Len() != parts || tab.RF != max(rf, 1) {
		t.Fatalf("Len %d RF %d, want %d and %d", tab.Len(), tab.RF, parts, max(rf, 1))
	}
	ids := map[string]bool{}
	for _, m := range members {
		ids[m.ID] = true
	}
	owners := min(max(rf, 1), len(ids))
	prefix := make([]map[string]int, owners) // prefix[k][id]: positions 0..k held
	for k := range prefix {
		prefix[k] = map[string]int{}
	}
	for p := 0; p < parts; p++ {
		o := tab.Owners(p)
		if len(ids) == 0 {
			if tab.Master(p) != "" || len(o) != 0 {
				t.Fatalf("partition %d has owners %v with no members", p, o)
			}
			continue
		}
		if len(o) != owners {
			t.Fatalf("partition %d has owners %v, want %d", p, o, owners)
		}
		for k, id := range o {
			if !ids[id] {
				t.Fatalf("partition %d owned by non-member %q", p, id)
			}
			for j := k; j < owners; j++ {
				prefix[j][id]++
			}
		}
	}
	for k, counts := range prefix {
		lo, hi := parts*owners, 0
		for id := range ids {
			lo, hi = min(lo, counts[id]), max(hi, counts[id])
		}
		if hi-lo > 1 {
			t.Fatalf("first %d owner positions: per-member counts range %d..%d, want within one", k+1, lo, hi)
		}
	}
	// Counts agrees with the prefix counts.
	for id, c := range tab.Counts() {
		if c.Masters != prefix[0][id] || c.Copies != prefix[owners-1][id] {
			t.Fatalf("Counts[%s] = %+v, want masters %d copies %d", id, c, prefix[0][id], prefix[owners-1][id])
		}
	}
}

func TestAssignBalance(t *testing.T) {
	for _, parts := range []int{64, 256, 1024} {
		for n := 1; n <= 12; n++ {
			for rf := 1; rf <= 3; rf++ {
				ms := nodes(n)
				tab := Assign(Table{}, ms, rf, parts)
				checkTable(t, tab, ms, rf, parts)
			}
		}
	}
}

// TestAssignRandomInputs covers odd partition counts (fewer partitions than
// members, non powers of two), random IDs and zones, and checks that the
// greedy pass plus augmenting paths never needs the unbalanced last resort.
func TestAssignRandomInputs(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	augmented := 0
	for i := 0; i < 300; i++ {
		n := 1 + r.Intn(16)
		rf := 1 + r.Intn(5)
		parts := 1 + r.Intn(300)
		ms := make([]Member, n)
		zones := r.Intn(4) // 0: no zones
		for j := range ms {
			ms[j].ID = fmt.Sprintf("%x", r.Uint64())
			if zones > 0 {
				ms[j].Zone = fmt.Sprintf("z%d", r.Intn(zones))
			}
		}
		// Half the time, start from a map of other members and RF.
		var prev Table
		if r.Intn(2) == 0 {
			pm := append(slices.Clone(ms[:1+r.Intn(n)]), Member{ID: "gone"})
			prev = Assign(Table{}, pm, 1+r.Intn(4), parts)
		}
		pl := newPlacer(normalise(ms), min(rf, n), parts)
		pl.run(prev)
		if pl.forced != 0 {
			t.Fatalf("n=%d rf=%d P=%d zones=%d: %d partitions placed without balance", n, rf, parts, zones, pl.forced)
		}
		augmented += pl.augmented
		checkTable(t, Assign(prev, ms, rf, parts), ms, rf, parts)
	}
	t.Logf("partitions completed by augmenting paths over 300 random placements: %d", augmented)
}

func TestAssignDeterministicAndOrderFree(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for _, n := range []int{1, 2, 5, 9} {
		ms := nodes(n)
		for i := range ms {
			ms[i].Zone = fmt.Sprintf("z%d", i%3)
		}
		want := Assign(Table{}, ms, 3, 256)
		again := Assign(Table{}, ms, 3, 256)
		if !reflect.DeepEqual(want, again) {
			t.Fatalf("n=%d: two runs differ", n)
		}
		for i := 0; i < 5; i++ {
			shuffled := slices.Clone(ms)
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			if got := Assign(Table{}, shuffled, 3, 256); !reflect.DeepEqual(got, want) {
				t.Fatalf("n=%d: member order changed the placement", n)
			}
		}
	}
}

// TestAssignGolden pins the placement function: changing weights or the
// balancing pass would move data on every running cluster after an
// upgrade, so it must be a deliberate decision.
func TestAssignGolden(t *testing.T) {
	if got := memberHash(""); got != mix64(fnvOffset64) {
		t.Fatalf("memberHash(\"\") = %#x", got)
	}
	// FNV-1a 64 of "a" and splitmix64's first output for seed 0.
	if h := uint64(fnvOffset64) ^ 'a'; h*fnvPrime64 != 0xaf63dc4c8601ec8c {
		t.Fatalf("FNV-1a(a) = %#x", h*fnvPrime64)
	}
	if got := mix64(0x9e3779b97f4a7c15); got != 0xe220a8397b1dcdaf {
		t.Fatalf("mix64 = %#x", got)
	}
	tab := Assign(Table{}, []Member{{ID: "a"}, {ID: "b"}, {ID: "c"}}, 2, 6)
	var got []string
	for p := 0; p < tab.Len(); p++ {
		got = append(got, strings.Join(tab.Owners(p), ","))
	}
	want := goldenPlacement
	if !slices.Equal(got, want) {
		t.Fatalf("placement = %q, want %q", got, want)
	}
}

var goldenPlacement = []string{"b,c", "a,c", "c,a", "b,a", "c,b", "a,b"}

func TestAssignEdgeCases(t *testing.T) {
	t.Run("no members", func(t *testing.T) {
		tab := Assign(Table{}, nil, 3, 8)
		checkTable(t, tab, nil, 3, 8)
		if tab.Epoch != 1 {
			t.Fatalf("epoch %d, want 1", tab.Epoch)
		}
		for p := 0; p < 8; p++ {
			if tab.Master(p) != "" || tab.Partitions[p].Followers != nil {
				t.Fatalf("partition %d: %+v", p, tab.Partitions[p])
			}
		}
	})
	t.Run("rf above members", func(t *testing.T) {
		ms := nodes(2)
		tab := Assign(Table{}, ms, 5, 16)
		checkTable(t, tab, ms, 5, 16)
		if tab.RF != 5 {
			t.Fatalf("RF %d, want the requested 5", tab.RF)
		}
	})
	t.Run("rf below one", func(t *testing.T) {
		ms := nodes(3)
		tab := Assign(Table{}, ms, 0, 16)
		checkTable(t, tab, ms, 1, 16)
	})
	t.Run("no partitions", func(t *testing.T) {
		for _, parts := range []int{0, -3} {
			if tab := Assign(Table{}, nodes(3), 3, parts); tab.Len() != 0 || tab.Epoch != 1 {
				t.Fatalf("P=%d: Len %d epoch %d", parts, tab.Len(), tab.Epoch)
			}
		}
	})
	t.Run("fewer partitions than members", func(t *testing.T) {
		ms := nodes(10)
		checkTable(t, Assign(Table{}, ms, 3, 4), ms, 3, 4)
	})
	t.Run("empty and duplicate IDs ignored", func(t *testing.T) {
		ms := nodes(4)
		noisy := append(slices.Clone(ms), Member{}, ms[2], Member{ID: ms[1].ID})
		if !Assign(Table{}, noisy, 2, 64).Equal(Assign(Table{}, ms, 2, 64)) {
			t.Fatal("empty or duplicate IDs changed the placement")
		}
	})
}

func TestAssignEpoch(t *testing.T) {
	ms := nodes(4)
	a := Assign(Table{Epoch: 41}, ms, 3, 64)
	if a.Epoch != 42 {
		t.Fatalf("epoch %d, want 42", a.Epoch)
	}
	if b := Assign(a, slices.Clone(ms), 3, 64); b.Epoch != 42 || !b.Equal(a) {
		t.Fatalf("unchanged placement got epoch %d, want 42", b.Epoch)
	}
	if c := Assign(a, ms[:3], 3, 64); c.Epoch != 43 {
		t.Fatalf("changed placement got epoch %d, want 43", c.Epoch)
	}
	if d := Assign(a, ms, 2, 64); d.Epoch != 43 {
		t.Fatalf("changed RF got epoch %d, want 43", d.Epoch)
	}
}

func TestAssignZones(t *testing.T) {
	for _, c := range []struct {
		zones   []int // members per zone
		minFrac float64
	}{
		// 768 copies over 9 members: three hold 86, the rest 85. Unless
		// the three sit in different zones, one zone holds fewer than 256
		// copies and a partition or two must skip it.
		{[]int{3, 3, 3}, 0.99},
		{[]int{4, 4, 4}, 1},
		{[]int{2, 2, 2, 2}, 1},
		// The two members of the small zone hold at most 2×86 copies, so
		// at most 172/256 = 0.67 of partitions can reach it.
		{[]int{4, 3, 2}, 0.65},
		{[]int{5, 5}, 1}, // two zones: every partition spans both
	} {
		var ms []Member
		for z, count := range c.zones {
			for i := 0; i < count; i++ {
				ms = append(ms, Member{ID: fmt.Sprintf("z%d-n%d", z, i), Zone: fmt.Sprintf("zone-%d", z)})
			}
		}
		zoneOf := map[string]string{}
		for _, m := range ms {
			zoneOf[m.ID] = m.Zone
		}
		spread := func(tab Table) float64 {
			want := min(3, len(c.zones))
			ok := 0
			for p := 0; p < tab.Len(); p++ {
				zs := map[string]bool{}
				for _, o := range tab.Owners(p) {
					zs[zoneOf[o]] = true
				}
				if len(zs) == want {
					ok++
				}
			}
			return float64(ok) / float64(tab.Len())
		}
		tab := Assign(Table{}, ms, 3, 256)
		checkTable(t, tab, ms, 3, 256)
		plain := make([]Member, len(ms))
		for i, m := range ms {
			plain[i] = Member{ID: m.ID}
		}
		got, without := spread(tab), spread(Assign(Table{}, plain, 3, 256))
		t.Logf("zones %v: %.3f of partitions span all zones (%.3f without zone labels)", c.zones, got, without)
		if got < c.minFrac {
			t.Errorf("zones %v: only %.3f of partitions span all zones, want >= %.2f", c.zones, got, c.minFrac)
		}
	}
}

// gainedCopies counts the copies b places on nodes that did not hold them in
// a: the data a rebalance has to stream.
func gainedCopies(a, b Table) int {
	moved := 0
	for p := 0; p < b.Len(); p++ {
		before := a.Owners(p)
		for _, o := range b.Owners(p) {
			if !slices.Contains(before, o) {
				moved++
			}
		}
	}
	return moved
}

func masterChanges(a, b Table) int {
	changed := 0
	for p := 0; p < b.Len(); p++ {
		if a.Master(p) != b.Master(p) {
			changed++
		}
	}
	return changed
}

// TestAssignMovement checks that one member joining or leaving moves close
// to the minimum number of copies: a joiner must receive its fair share
// P*rf/(N+1); a leaver's copies must be re-created elsewhere.
func TestAssignMovement(t *testing.T) {
	const slack = 1.3
	var report strings.Builder
	worst := 0.0
	for _, parts := range []int{64, 256, 1024} {
		for rf := 1; rf <= 3; rf++ {
			fmt.Fprintf(&report, "\nP=%4d rf=%d  join N→N+1 copies moved/ideal (masters changed/ideal):", parts, rf)
			for n := 1; n <= 11; n++ {
				before := Assign(Table{}, nodes(n), rf, parts)
				after := Assign(before, nodes(n+1), rf, parts)
				ideal := float64(parts*min(rf, n+1)) / float64(n+1)
				moved := gainedCopies(before, after)
				if float64(moved) > slack*ideal+4 {
					t.Errorf("P=%d rf=%d join %d→%d: moved %d copies, ideal %.1f", parts, rf, n, n+1, moved, ideal)
				}
				mi := float64(parts) / float64(n+1)
				worst = max(worst, float64(moved)/ideal)
				fmt.Fprintf(&report, " %d:%.2f(%.2f)", n, float64(moved)/ideal, float64(masterChanges(before, after))/mi)
			}
			fmt.Fprintf(&report, "\nP=%4d rf=%d  leave N→N-1 copies moved/ideal:", parts, rf)
			for n := 2; n <= 12; n++ {
				ms := nodes(n)
				before := Assign(Table{}, ms, rf, parts)
				gone := ms[n/2].ID
				rest := slices.DeleteFunc(slices.Clone(ms), func(m Member) bool { return m.ID == gone })
				after := Assign(before, rest, rf, parts)
				// Copies of the leaver that must be re-created: the total
				// b needs minus what survives from a.
				ideal := float64(parts*min(rf, n-1) - (parts*min(rf, n) - before.Counts()[gone].Copies))
				moved := gainedCopies(before, after)
				if float64(moved) > slack*ideal+4 {
					t.Errorf("P=%d rf=%d leave %d→%d: moved %d copies, ideal %.1f", parts, rf, n, n-1, moved, ideal)
				}
				if ideal > 0 {
					worst = max(worst, float64(moved)/ideal)
					fmt.Fprintf(&report, " %d:%.2f", n, float64(moved)/ideal)
				} else {
					fmt.Fprintf(&report, " %d:%d/0", n, moved)
				}
			}
		}
	}
	t.Logf("movement (N:ratio), worst %.2f:%s", worst, report.String())
}

// TestAssignFromScratchMovement measures plain capped rendezvous (no prev,
// as after losing the map): balance costs extra moves, bounded here.
func TestAssignFromScratchMovement(t *testing.T) {
	var report strings.Builder
	worst := 0.0
	for _, parts := range []int{64, 256, 1024} {
		fmt.Fprintf(&report, "\nP=%4d rf=3 join N→N+1 copies moved/ideal:", parts)
		for n := 3; n <= 11; n++ {
			before := Assign(Table{}, nodes(n), 3, parts)
			after := Assign(Table{}, nodes(n+1), 3, parts)
			ideal := float64(parts*3) / float64(n+1)
			ratio := float64(gainedCopies(before, after)) / ideal
			worst = max(worst, ratio)
			fmt.Fprintf(&report, " %d:%.2f", n, ratio)
			if ratio > 2.5 {
				t.Errorf("P=%d join %d→%d: moved %.2f× the ideal", parts, n, n+1, ratio)
			}
		}
	}
	t.Logf("from scratch, worst %.2f:%s", worst, report.String())
}

// TestAssignHistory walks a membership through joins and leaves, feeding
// each map into the next, and checks every map for balance and idempotence
// and every step for movement.
func TestAssignHistory(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, zoned := range []bool{false, true} {
		const parts, rf = 256, 3
		var ms []Member
		next := 0
		add := func() {
			m := Member{ID: fmt.Sprintf("node-%d", next)}
			if zoned {
				m.Zone = fmt.Sprintf("zone-%d", next%3)
			}
			next++
			ms = append(ms, m)
		}
		for i := 0; i < 4; i++ {
			add()
		}
		tab := Assign(Table{}, ms, rf, parts)
		worst := 0.0
		for step := 0; step < 40; step++ {
			before := tab
			n := len(ms)
			var ideal float64
			if n > 3 && (n >= 12 || r.Intn(2) == 0) {
				gone := ms[r.Intn(n)]
				ms = slices.DeleteFunc(ms, func(m Member) bool { return m.ID == gone.ID })
				ideal = float64(before.Counts()[gone.ID].Copies)
			} else {
				add()
				ideal = float64(parts*rf) / float64(n+1)
			}
			tab = Assign(before, ms, rf, parts)
			checkTable(t, tab, ms, rf, parts)
			if tab.Epoch != before.Epoch+1 {
				t.Fatalf("step %d: epoch %d after %d", step, tab.Epoch, before.Epoch)
			}
			if again := Assign(tab, ms, rf, parts); !reflect.DeepEqual(again, tab) {
				t.Fatalf("zoned=%v step %d: recomputing the same membership changed the map", zoned, step)
			}
			moved := float64(gainedCopies(before, tab))
			worst = max(worst, moved/ideal)
			// With zones, a step may also move copies into a zone that
			// became available, which the ideal does not count.
			slack := 1.3
			if zoned {
				slack = 2
			}
			if moved > slack*ideal+4 {
				t.Fatalf("zoned=%v step %d (%d→%d members): moved %.0f copies, ideal %.1f", zoned, step, n, len(ms), moved, ideal)
			}
		}
		t.Logf("zoned=%v: worst step moved %.2f× the ideal", zoned, worst)
	}
}

// TestAssignIdempotent: recomputing the map for an unchanged membership
// changes nothing, even when the map came from a history of changes.
func TestAssignIdempotent(t *testing.T) {
	for _, zones := range []int{0, 3} {
		ms := nodes(7)
		for i := range ms {
			if zones > 0 {
				ms[i].Zone = fmt.Sprintf("z%d", i%zones)
			}
		}
		tab := Assign(Table{}, ms[:5], 3, 256)
		tab = Assign(tab, ms, 3, 256)
		tab = Assign(tab, append(slices.Clone(ms[:2]), ms[3:]...), 3, 256)
		again := Assign(tab, append(slices.Clone(ms[:2]), ms[3:]...), 3, 256)
		if !reflect.DeepEqual(again, tab) {
			t.Fatalf("zones=%d: recomputing an unchanged membership changed the map (epoch %d→%d)", zones, tab.Epoch, again.Epoch)
		}
	}
}

// TestAssignKeepsPromotedMasters: a controller that promoted followers
// (here two partitions trading master and first follower, so no count
// changes) gets its promotions back from Assign instead of a master flip.
func TestAssignKeepsPromotedMasters(t *testing.T) {
	ms := nodes(4)
	tab := Assign(Table{}, ms, 2, 64)
	edited := tab.Clone()
	swapped := false
	for p1 := 0; p1 < edited.Len() && !swapped; p1++ {
		a1 := &edited.Partitions[p1]
		for p2 := p1 + 1; p2 < edited.Len(); p2++ {
			a2 := &edited.Partitions[p2]
			if a1.Master == a2.Followers[0] && a2.Master == a1.Followers[0] {
				a1.Master, a1.Followers[0] = a1.Followers[0], a1.Master
				a2.Master, a2.Followers[0] = a2.Followers[0], a2.Master
				swapped = true
				break
			}
		}
	}
	if !swapped {
		t.Fatal("no pair of partitions to swap")
	}
	edited.Epoch++
	if got := Assign(edited, ms, 2, 64); !reflect.DeepEqual(got, edited) {
		t.Fatal("Assign undid promotions that kept the balance")
	}
}

func BenchmarkAssign(b *testing.B) {
	for _, n := range []int{3, 10} {
		for _, parts := range []int{256, 1024} {
			b.Run(fmt.Sprintf("N=%d/P=%d", n, parts), func(b *testing.B) {
				ms := nodes(n)
				b.ReportAllocs()
				for b.Loop() {
					Assign(Table{}, ms, 3, parts)
				}
			})
		}
	}
}

// TestAssignZonesAfterGrowth grows a zoned cluster one member at a time;
// whenever the zones are even again, copies must still span all zones.
func TestAssignZonesAfterGrowth(t *testing.T) {
	const parts, rf = 256, 3
	var ms []Member
	var tab Table
	for i := 0; i < 15; i++ {
		ms = append(ms, Member{ID: fmt.Sprintf("node-%d", i), Zone: fmt.Sprintf("zone-%d", i%3)})
		tab = Assign(tab, ms, rf, parts)
		checkTable(t, tab, ms, rf, parts)
		if len(ms)%3 != 0 {
			continue
		}
		zoneOf := map[string]string{}
		for _, m := range ms {
			zoneOf[m.ID] = m.Zone
		}
		spread := 0
		for p := 0; p < parts; p++ {
			zs := map[string]bool{}
			for _, o := range tab.Owners(p) {
				zs[zoneOf[o]] = true
			}
			if len(zs) == rf {
				spread++
			}
		}
		frac := float64(spread) / parts
		t.Logf("%d members: %.3f of partitions span all zones", len(ms), frac)
		if frac < 0.95 {
			t.Errorf("%d members in even zones: only %.3f of partitions span all zones", len(ms), frac)
		}
	}
}
