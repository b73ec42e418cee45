package ring

import (
	"cmp"
	"slices"
)

// Assign places partitions partitions on members with rf copies each and
// returns the next cluster map, moving as little as possible from prev.
//
// Placement is rendezvous hashing made balanced. Every (partition, member)
// pair has a weight, a 64-bit hash of the two; a member's preference for a
// partition is its weight. The owners of a partition are chosen in rf
// rounds (master, first follower, second follower, …). In round k every
// partition takes one more member: the pairs are visited in order and a
// pair is taken while the partition still needs its k-th owner, the member
// does not hold the partition yet, and the member is below its fair share
// of the first k+1 owner positions (⌈P(k+1)/N⌉ for as many members as the
// remainder allows, ⌊P(k+1)/N⌋ for the rest). Now and then this greedy pass
// strands a partition whose only possible owners are full; an
// augmenting-path search (a full member takes it and hands one of its own
// positions to a member with room) then completes the round without
// breaking the shares.
//
// The order of the pairs is what keeps data in place. Pairs whose member
// already held the partition in prev come first (those where it was master
// first, then first follower, and so on), then all others; within each
// group the heavier pair first. So a member keeps what it held up to its
// new share, shedding the copies it holds in the lowest succession position
// and of least weight; freed positions go to the members with room, in
// rendezvous order; masters change only where the master left or must shed
// load. Without a usable prev (the zero Table, or a different partition
// count) the placement is plain capped rendezvous, a function of the
// membership alone.
//
// Hence:
//
//   - masters per member differ by at most one, and so do copies per member
//     (and so does every prefix of the succession, so promoting the first
//     followers of a failed node keeps the load even);
//   - a partition never lists a member twice;
//   - adding or removing one member moves close to the minimum number of
//     copies (the joiner's fair share, or the leaver's copies);
//   - when members carry zones, each round fills the positions it does not
//     keep from prev first with members in zones the partition does not use
//     yet, then with the rest; at the end, owners in the same position are
//     swapped between two partitions wherever that adds a zone to one and
//     takes none from the other; so copies spread over zones wherever the
//     shares allow (best effort).
//
// Recomputing the map of an unchanged membership from a map Assign made
// returns that map, epoch included, so a controller may recompute freely.
// The order of members in the slice does not matter; members with an empty
// ID are ignored, and of duplicate IDs only the one with the smallest zone
// counts. The result has Epoch prev.Epoch+1 when it differs from prev (see
// Table.Equal), else prev.Epoch. The cost is O(PN log PN) time and O(PN)
// memory: about a millisecond for 10 members and 1024 partitions.
//
// rf below 1 counts as 1; with fewer than rf members every partition is
// held by all members. With no members every partition has an empty
// Master. partitions below 0 counts as 0. Table.RF is the rf asked for.
func Assign(prev Table, members []Member, rf, partitions int) Table {
	if rf < 1 {
		rf = 1
	}
	if partitions < 0 {
		partitions = 0
	}
	next := Table{RF: rf, Partitions: place(prev, normalise(members), rf, partitions)}
	next.Epoch = prev.Epoch
	if !next.Equal(prev) {
		next.Epoch++
	}
	return next
}

// normalise returns the members sorted by ID, without empty or duplicate
// IDs, so the input order cannot influence placement.
func normalise(members []Member) []Member {
	ms := make([]Member, 0, len(members))
	for _, m := range members {
		if m.ID != "" {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b Member) int {
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.Zone, b.Zone)
	})
	return slices.CompactFunc(ms, func(a, b Member) bool { return a.ID == b.ID })
}

// FNV-1a 64-bit parameters.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// memberHash hashes a member ID once; weight then combines it with each
// partition number.
func memberHash(id string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= fnvPrime64
	}
	return mix64(h)
}

// mix64 is the splitmix64 finaliser: a bijection whose every output bit
// depends on every input bit, so weights of similar IDs ("n1", "n2") and
// neighbouring partitions are unrelated.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// weight is the rendezvous weight of the member whose memberHash is mh for
// partition p. It is defined by integer arithmetic only, so every platform
// computes the same placement.
func weight(p int, mh uint64) uint64 {
	return mix64(mh ^ mix64(uint64(p)+0x9e3779b97f4a7c15))
}

// pair is one (partition, member) candidate with its weight.
type pair struct {
	w   uint64
	p   int32
	n   int32
	pos int32 // position of the member in the partition's previous succession; noPos if none
}

// noPos marks a pair whose member did not hold the partition before.
const noPos = 1<<31 - 1

// placer holds the state of one placement run.
type placer struct {
	nodes, parts, levels int
	ids                  []string // member IDs, sorted
	mh                   []uint64 // memberHash per member
	zone                 []int    // zone index per member; distinct for empty zones
	zones                int      // number of distinct zones
	zoned                bool     // some zone holds two or more members, and there are two zones or more
	owner                []int32  // owner[p*levels+k]: k-th owner of p, -1 while unset
	cum                  []int    // owner positions held so far, per member
	q, r, big            int      // current round: share floor, members allowed one more, members at q+1
	fresh                int      // pairs before this index kept a position from prev
	augmented, forced    int      // partitions placed by augment, and by the unbalanced last resort
}

// place computes the assignments for sorted, distinct members.
func place(prev Table, ms []Member, rf, parts int) []Assignment {
	out := make([]Assignment, parts)
	if len(ms) == 0 || parts == 0 {
		return out
	}
	pl := newPlacer(ms, min(rf, len(ms)), parts)
	pl.run(prev)
	var followers []string
	if pl.levels > 1 {
		followers = make([]string, parts*(pl.levels-1))
	}
	for p := range out {
		o := pl.owner[p*pl.levels : (p+1)*pl.levels]
		out[p].Master = ms[o[0]].ID
		if pl.levels > 1 {
			f := followers[p*(pl.levels-1) : (p+1)*(pl.levels-1) : (p+1)*(pl.levels-1)]
			for i, n := range o[1:] {
				f[i] = ms[n].ID
			}
			out[p].Followers = f
		}
	}
	return out
}

// run fills every owner position, round by round.
func (pl *placer) run(prev Table) {
	pairs := pl.pairs(prev)
	for k := 0; k < pl.levels; k++ {
		pl.round(k, pairs)
	}
	if pl.zoned && pl.levels > 1 {
		pl.spreadZones()
	}
}

func newPlacer(ms []Member, levels, parts int) *placer {
	pl := &placer{
		nodes:  len(ms),
		parts:  parts,
		levels: levels,
		ids:    make([]string, len(ms)),
		mh:     make([]uint64, len(ms)),
		zone:   make([]int, len(ms)),
		owner:  make([]int32, parts*levels),
		cum:    make([]int, len(ms)),
	}
	for i := range pl.owner {
		pl.owner[i] = -1
	}
	zones := make(map[string]int)
	shared := false
	for i, m := range ms {
		pl.ids[i] = m.ID
		pl.mh[i] = memberHash(m.ID)
		if m.Zone == "" {
			pl.zone[i] = -1 - i // a zone of its own
			continue
		}
		z, ok := zones[m.Zone]
		if !ok {
			z = len(zones)
			zones[m.Zone] = z
		} else {
			shared = true
		}
		pl.zone[i] = z
	}
	distinct := len(zones)
	for _, z := range pl.zone {
		if z < 0 {
			distinct++
		}
	}
	pl.zones = distinct
	pl.zoned = shared && distinct > 1
	return pl
}

// pairs returns every (partition, member) pair in the order rounds visit
// them: pairs already in prev by succession position, then the rest; within
// each, heaviest first; ties (a 64-bit collision) by partition then member.
func (pl *placer) pairs(prev Table) []pair {
	var was map[string]int
	if prev.Len() == pl.parts {
		was = make(map[string]int, pl.nodes)
		for n, id := range pl.ids {
			was[id] = n
		}
	}
	ps := make([]pair, 0, pl.parts*pl.nodes)
	pos := make([]int32, pl.nodes)
	for p := 0; p < pl.parts; p++ {
		for n := range pos {
			pos[n] = noPos
		}
		if was != nil {
			a := prev.Partitions[p]
			if n, ok := was[a.Master]; ok {
				pos[n] = 0
			}
			for i, f := range a.Followers {
				if n, ok := was[f]; ok && pos[n] == noPos {
					pos[n] = int32(i + 1)
				}
			}
		}
		for n, mh := range pl.mh {
			ps = append(ps, pair{w: weight(p, mh), p: int32(p), n: int32(n), pos: pos[n]})
		}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if a.pos != b.pos {
			return cmp.Compare(a.pos, b.pos)
		}
		if a.w != b.w {
			if a.w > b.w {
				return -1
			}
			return 1
		}
		if a.p != b.p {
			return cmp.Compare(a.p, b.p)
		}
		return cmp.Compare(a.n, b.n)
	})
	pl.fresh, _ = slices.BinarySearchFunc(ps, int32(noPos), func(c pair, pos int32) int { return cmp.Compare(c.pos, pos) })
	return ps
}

// round gives every partition its k-th owner.
func (pl *placer) round(k int, pairs []pair) {
	total := pl.parts * (k + 1)
	pl.q, pl.r = total/pl.nodes, total%pl.nodes
	pl.big = 0
	for _, c := range pl.cum {
		if c > pl.q {
			pl.big++
		}
	}
	left := pl.parts
	visit := func(pairs []pair, spread bool) {
		for _, c := range pairs {
			if left == 0 {
				return
			}
			p, n := int(c.p), int(c.n)
			if pl.owner[p*pl.levels+k] >= 0 || pl.holds(p, k, n) {
				continue
			}
			if spread && pl.zoneUsed(p, k, n) {
				continue
			}
			if pl.take(n) {
				pl.owner[p*pl.levels+k] = int32(n)
				left--
			}
		}
	}
	zoned := pl.zoned && k > 0
	if !zoned {
		visit(pairs, false)
	} else {
		// Kept positions first whatever their zones, then new positions in
		// new zones, then the rest; spreadZones improves zones at the end.
		// Keeping first makes Assign idempotent: a map recomputed for the
		// same members is reproduced, not churned between zone choices.
		fresh := pl.fresh
		visit(pairs[:fresh], false)
		visit(pairs[fresh:], true)
		visit(pairs[fresh:], false)
	}
	if left > 0 {
		pl.complete(k)
	}
}

// complete gives a k-th owner to the partitions the greedy pass stranded.
func (pl *placer) complete(k int) {
	seen := make([]bool, pl.nodes)
	for p := 0; p < pl.parts; p++ {
		if pl.owner[p*pl.levels+k] >= 0 {
			continue
		}
		clear(seen)
		if pl.augment(p, k, seen) {
			pl.augmented++
			continue
		}
		// Unreachable for any input tried; kept so that a placement is
		// always complete and valid even if it were not balanced.
		pl.forced++
		for _, n := range pl.rank(p) {
			if !pl.holds(p, k, n) {
				pl.cum[n]++
				pl.owner[p*pl.levels+k] = int32(n)
				break
			}
		}
	}
}

// spreadZones swaps owners in the same succession position between two
// partitions wherever that adds a zone to one partition and takes none from
// the other. Position counts per member do not change, so balance holds;
// the total of distinct zones per partition grows with every swap, so this
// ends, and a map it has finished has no swap left: recomputing it changes
// nothing.
func (pl *placer) spreadZones() {
	best := min(pl.zones, pl.levels) // most zones a partition can span
	for swapped := true; swapped; {
		swapped = false
		for p := 0; p < pl.parts; p++ {
			if pl.zonesOf(p) == best {
				continue
			}
			for k := 0; k < pl.levels; k++ {
				n := int(pl.owner[p*pl.levels+k])
				if !pl.zoneElsewhere(p, k, pl.zone[n]) {
					continue
				}
				for p2 := 0; p2 < pl.parts; p2++ {
					m := int(pl.owner[p2*pl.levels+k])
					// A member holding the other partition elsewhere
					// would bring its zone there, so these checks also
					// keep members unique within each partition.
					if pl.zone[m] == pl.zone[n] || pl.zoneElsewhere(p, k, pl.zone[m]) ||
						pl.zoneElsewhere(p2, k, pl.zone[n]) {
						continue
					}
					pl.owner[p*pl.levels+k], pl.owner[p2*pl.levels+k] = int32(m), int32(n)
					swapped = true
					break
				}
			}
		}
	}
}

// zonesOf returns the number of zones the owners of p span.
func (pl *placer) zonesOf(p int) int {
	o := pl.owner[p*pl.levels : (p+1)*pl.levels]
	count := 0
	for i, n := range o {
		if !slices.ContainsFunc(o[:i], func(m int32) bool { return pl.zone[m] == pl.zone[n] }) {
			count++
		}
	}
	return count
}

// zoneElsewhere reports whether an owner of p other than its k-th is in
// zone z.
func (pl *placer) zoneElsewhere(p, k, z int) bool {
	for i, o := range pl.owner[p*pl.levels : (p+1)*pl.levels] {
		if i != k && pl.zone[o] == z {
			return true
		}
	}
	return false
}

// holds reports whether member n is among the first k owners of p.
func (pl *placer) holds(p, k, n int) bool {
	for _, o := range pl.owner[p*pl.levels : p*pl.levels+k] {
		if int(o) == n {
			return true
		}
	}
	return false
}

// zoneUsed reports whether one of the first k owners of p shares n's zone.
func (pl *placer) zoneUsed(p, k, n int) bool {
	z := pl.zone[n]
	for _, o := range pl.owner[p*pl.levels : p*pl.levels+k] {
		if pl.zone[o] == z {
			return true
		}
	}
	return false
}

// take counts one more owner position for n if n is below its share.
func (pl *placer) take(n int) bool {
	switch c := pl.cum[n]; {
	case c < pl.q:
	case c == pl.q && pl.big < pl.r:
		pl.big++
	default:
		return false
	}
	pl.cum[n]++
	return true
}

// augment finds p a k-th owner along an augmenting path: a member with room
// takes p, or a full member takes p and hands one of its own k-th positions
// to another member the same way. Members are tried in p's preference order.
func (pl *placer) augment(p, k int, seen []bool) bool {
	for _, n := range pl.rank(p) {
		if seen[n] || pl.holds(p, k, n) {
			continue
		}
		seen[n] = true
		if pl.take(n) {
			pl.owner[p*pl.levels+k] = int32(n)
			return true
		}
		for p2 := 0; p2 < pl.parts; p2++ {
			if p2 != p && int(pl.owner[p2*pl.levels+k]) == n && pl.augment(p2, k, seen) {
				pl.owner[p*pl.levels+k] = int32(n)
				return true
			}
		}
	}
	return false
}

// rank returns the members ordered by their weight for p, heaviest first.
func (pl *placer) rank(p int) []int {
	idx := make([]int, pl.nodes)
	ws := make([]uint64, pl.nodes)
	for n := range idx {
		idx[n] = n
		ws[n] = weight(p, pl.mh[n])
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(ws[b], ws[a]) })
	return idx
}
