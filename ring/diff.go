package ring

import "slices"

// Roles of a Move.
const (
	// RoleCopy: To gains a copy of the partition and From gives up its
	// copy, once To has caught up. From is empty when the partition only
	// gains a copy (a new partition, a cluster growing to RF members); To
	// is empty when it only loses one.
	RoleCopy = "copy"
	// RoleMaster: mastership of the partition passes from From to To. From
	// is empty when the partition had no master, To when it has none now.
	RoleMaster = "master"
)

// Move is one step of turning one cluster map into another, the unit a
// rebalancer schedules and throttles.
type Move struct {
	Partition int
	From, To  string
	// Role is RoleCopy or RoleMaster.
	Role string
}

// Diff returns the moves that turn a into b: for every partition, the copy
// moves (each node that gains a copy paired with one that loses a copy, in
// name order, then the unpaired rest), then the master
// change if any. Moves are ordered by partition, copies before master —
// also an order in which they can be carried out, since a new master must
// hold a copy before it takes over. A partition present in only one of the
// tables counts as empty in the other. Changes in the order of followers
// alone move no data and produce no move. Diff(a, a) is empty.
func Diff(a, b Table) []Move {
	var moves []Move
	n := max(a.Len(), b.Len())
	for p := 0; p < n; p++ {
		before, after := a.Owners(p), b.Owners(p)
		var lost, gained []string
		for _, o := range before {
			if !slices.Contains(after, o) {
				lost = append(lost, o)
			}
		}
		for _, o := range after {
			if !slices.Contains(before, o) {
				gained = append(gained, o)
			}
		}
		slices.Sort(lost)
		slices.Sort(gained)
		for i := 0; i < max(len(lost), len(gained)); i++ {
			m := Move{Partition: p, Role: RoleCopy}
			if i < len(lost) {
				m.From = lost[i]
			}
			if i < len(gained) {
				m.To = gained[i]
			}
			moves = append(moves, m)
		}
		if from, to := a.Master(p), b.Master(p); from != to {
			moves = append(moves, Move{Partition: p, From: from, To: to, Role: RoleMaster})
		}
	}
	return moves
}
