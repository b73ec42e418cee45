package ring

import (
	"math/rand"
	"reflect"
	"slices"
	"testing"
)

func TestDiffExample(t *testing.T) {
	a := Table{RF: 3, Partitions: []Assignment{
		{Master: "a", Followers: []string{"b", "c"}}, // unchanged
		{Master: "a", Followers: []string{"b", "c"}}, // c → d
		{Master: "a", Followers: []string{"b", "c"}}, // master a → b, a stays
		{Master: "a", Followers: []string{"b", "c"}}, // a, b → d, e; master to d
		{Master: "a", Followers: []string{"b", "c"}}, // follower order only
		{Master: "a"}, // grows
	}}
	b := Table{RF: 3, Partitions: []Assignment{
		{Master: "a", Followers: []string{"b", "c"}},
		{Master: "a", Followers: []string{"b", "d"}},
		{Master: "b", Followers: []string{"a", "c"}},
		{Master: "d", Followers: []string{"c", "e"}},
		{Master: "a", Followers: []string{"c", "b"}},
		{Master: "a", Followers: []string{"f"}},
		{Master: "g"}, // new partition
	}}
	want := []Move{
		{Partition: 1, From: "c", To: "d", Role: RoleCopy},
		{Partition: 2, From: "a", To: "b", Role: RoleMaster},
		{Partition: 3, From: "a", To: "d", Role: RoleCopy},
		{Partition: 3, From: "b", To: "e", Role: RoleCopy},
		{Partition: 3, From: "a", To: "d", Role: RoleMaster},
		{Partition: 5, To: "f", Role: RoleCopy},
		{Partition: 6, To: "g", Role: RoleCopy},
		{Partition: 6, To: "g", Role: RoleMaster},
	}
	if got := Diff(a, b); !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff =\n%v\nwant\n%v", got, want)
	}
	// And back: losses without gains, and a partition disappearing.
	back := Diff(b, a)
	wantBack := []Move{
		{Partition: 1, From: "d", To: "c", Role: RoleCopy},
		{Partition: 2, From: "b", To: "a", Role: RoleMaster},
		{Partition: 3, From: "d", To: "a", Role: RoleCopy},
		{Partition: 3, From: "e", To: "b", Role: RoleCopy},
		{Partition: 3, From: "d", To: "a", Role: RoleMaster},
		{Partition: 5, From: "f", Role: RoleCopy},
		{Partition: 6, From: "g", Role: RoleCopy},
		{Partition: 6, From: "g", Role: RoleMaster},
	}
	if !reflect.DeepEqual(back, wantBack) {
		t.Fatalf("Diff back =\n%v\nwant\n%v", back, wantBack)
	}
}

// applyMoves carries out moves on a: each copy move must take a copy from a
// node holding it to one that does not, each master move must start at the
// current master. It returns, per partition, the master and the owner set.
func applyMoves(t *testing.T, a Table, moves []Move, parts int) ([]string, []map[string]bool) {
	t.Helper()
	masters := make([]string, parts)
	owners := make([]map[string]bool, parts)
	for p := range owners {
		masters[p] = a.Master(p)
		owners[p] = map[string]bool{}
		for _, o := range a.Owners(p) {
			owners[p][o] = true
		}
	}
	for i, m := range moves {
		if m.From == m.To {
			t.Fatalf("move %d is a no-op: %+v", i, m)
		}
		if i > 0 {
			prev := moves[i-1]
			if prev.Partition > m.Partition || prev.Partition == m.Partition && prev.Role == RoleMaster {
				t.Fatalf("moves out of order at %d: %+v after %+v", i, m, prev)
			}
		}
		switch m.Role {
		case RoleCopy:
			if m.From != "" {
				if !owners[m.Partition][m.From] {
					t.Fatalf("move %+v: %q holds no copy", m, m.From)
				}
				delete(owners[m.Partition], m.From)
			}
			if m.To != "" {
				if owners[m.Partition][m.To] {
					t.Fatalf("move %+v: %q already holds a copy", m, m.To)
				}
				owners[m.Partition][m.To] = true
			}
		case RoleMaster:
			if masters[m.Partition] != m.From {
				t.Fatalf("move %+v: master is %q", m, masters[m.Partition])
			}
			if m.To != "" && !owners[m.Partition][m.To] {
				t.Fatalf("move %+v: new master holds no copy", m)
			}
			masters[m.Partition] = m.To
		default:
			t.Fatalf("move %+v: unknown role", m)
		}
	}
	return masters, owners
}

func randomTable(r *rand.Rand) Table {
	n := 1 + r.Intn(8)
	ms := nodes(n)
	r.Shuffle(n, func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	ms = ms[:1+r.Intn(n)]
	return Assign(Table{}, ms, 1+r.Intn(4), 1+r.Intn(40))
}

func TestDiffExplainsEveryDifference(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for i := 0; i < 300; i++ {
		a, b := randomTable(r), randomTable(r)
		if i%2 == 0 { // a membership change of a, as in production
			ms := nodes(1 + r.Intn(8))
			b = Assign(a, ms[r.Intn(len(ms)):], a.RF, a.Len())
		}
		if moves := Diff(a, a); len(moves) != 0 {
			t.Fatalf("Diff(a, a) = %v", moves)
		}
		parts := max(a.Len(), b.Len())
		masters, owners := applyMoves(t, a, Diff(a, b), parts)
		for p := 0; p < parts; p++ {
			want := map[string]bool{}
			for _, o := range b.Owners(p) {
				want[o] = true
			}
			if masters[p] != b.Master(p) || !reflect.DeepEqual(owners[p], want) {
				t.Fatalf("case %d partition %d: after moves master %q owners %v, want %q %v",
					i, p, masters[p], owners[p], b.Master(p), want)
			}
		}
	}
}

// TestDiffCountsMovement ties Diff to the placement: the copy moves of a
// join are exactly the copies the joiner receives.
func TestDiffCountsMovement(t *testing.T) {
	ms := nodes(6)
	a := Assign(Table{}, ms[:5], 3, 256)
	b := Assign(a, ms, 3, 256)
	moves := Diff(a, b)
	copies, masters := 0, 0
	for _, m := range moves {
		switch m.Role {
		case RoleCopy:
			copies++
			if m.To != ms[5].ID || m.From == "" {
				t.Fatalf("join moved a copy elsewhere than to the joiner: %+v", m)
			}
		case RoleMaster:
			masters++
		}
	}
	got := b.Counts()[ms[5].ID]
	if copies != got.Copies || copies != gainedCopies(a, b) {
		t.Fatalf("%d copy moves, joiner holds %d copies", copies, got.Copies)
	}
	if masters < got.Masters || masters != masterChanges(a, b) {
		t.Fatalf("%d master moves, joiner masters %d", masters, got.Masters)
	}
	t.Logf("join 5→6, P=256 rf=3: %d copy moves (fair share %d), %d master moves", copies, 256*3/6, masters)
	if !slices.IsSortedFunc(moves, func(x, y Move) int { return x.Partition - y.Partition }) {
		t.Fatal("moves not ordered by partition")
	}
}
