package ring

import "fmt"

// Member is a node that can hold partitions. Placement depends only on ID
// and Zone, never on addresses, so a node that restarts on a new address
// keeps its partitions.
type Member struct {
	// ID names the node for good. It must be non-empty and unique.
	ID string
	// Zone is the failure domain (rack, availability zone). Empty means the
	// node shares a failure domain with nobody.
	Zone string
}

// Assignment is the succession list of one partition: the master serves
// reads and writes, followers hold copies in order of promotion.
type Assignment struct {
	// Master is the node that serves the partition; empty when no node can.
	Master string
	// Followers hold replicas; Followers[0] is promoted first.
	Followers []string
}

// Table is the cluster map: for every partition, who is master and who
// follows. It is a value: treat it as immutable once published, and Clone it
// before editing, so readers holding an older Table never see a change.
type Table struct {
	// Epoch versions the map; a map that differs from its predecessor has a
	// higher epoch, so a node can refuse requests routed by an older map.
	Epoch uint64
	// RF is the replication factor asked for. A partition has fewer owners
	// while the cluster has fewer than RF members.
	RF int
	// Partitions is indexed by partition number.
	Partitions []Assignment
}

// NodeCounts is how much of the data one node holds, for balance checks,
// metrics and operator views.
type NodeCounts struct {
	// Masters is the number of partitions the node serves as master.
	Masters int
	// Copies is the number of partitions the node holds, masters included.
	Copies int
}

// Len returns the number of partitions.
func (t Table) Len() int { return len(t.Partitions) }

// Master returns the master of partition p, or "" when p is out of range or
// has no master, so a router can treat both as "unavailable" without a
// bounds check of its own.
func (t Table) Master(p int) string {
	if p < 0 || p >= len(t.Partitions) {
		return ""
	}
	return t.Partitions[p].Master
}

// Owners returns every node holding partition p, master first, in a new
// slice the caller may keep or modify. It returns nil when p is out of range.
func (t Table) Owners(p int) []string {
	if p < 0 || p >= len(t.Partitions) {
		return nil
	}
	a := t.Partitions[p]
	out := make([]string, 0, 1+len(a.Followers))
	if a.Master != "" {
		out = append(out, a.Master)
	}
	return append(out, a.Followers...)
}

// Clone returns a deep copy, the starting point for editing a map (for
// example promoting a follower) without disturbing readers of t.
func (t Table) Clone() Table {
	c := Table{Epoch: t.Epoch, RF: t.RF}
	if t.Partitions == nil {
		return c
	}
	c.Partitions = make([]Assignment, len(t.Partitions))
	for i, a := range t.Partitions {
		c.Partitions[i].Master = a.Master
		if a.Followers != nil {
			c.Partitions[i].Followers = append([]string(nil), a.Followers...)
		}
	}
	return c
}

// Counts returns, per node, the masters and copies it holds. Nodes holding
// nothing are absent.
func (t Table) Counts() map[string]NodeCounts {
	m := make(map[string]NodeCounts)
	for _, a := range t.Partitions {
		if a.Master != "" {
			c := m[a.Master]
			c.Masters++
			c.Copies++
			m[a.Master] = c
		}
		for _, f := range a.Followers {
			c := m[f]
			c.Copies++
			m[f] = c
		}
	}
	return m
}

// Equal reports whether t and u place every partition the same way: same
// RF, same number of partitions, same master and same followers in the same
// order (order is the succession). The epoch is ignored, so Equal answers
// "would publishing u change anything" — exactly what deciding whether to
// bump the epoch needs. A nil and an empty follower list are equal.
func (t Table) Equal(u Table) bool {
	if t.RF != u.RF || len(t.Partitions) != len(u.Partitions) {
		return false
	}
	for i, a := range t.Partitions {
		b := u.Partitions[i]
		if a.Master != b.Master || len(a.Followers) != len(b.Followers) {
			return false
		}
		for j, f := range a.Followers {
			if f != b.Followers[j] {
				return false
			}
		}
	}
	return true
}

// Validate reports the first structural problem of a table received from
// elsewhere (a peer, a file): an empty follower, a follower without a
// master, or a node appearing twice in one partition. Tables made by Assign
// are always valid.
func (t Table) Validate() error {
	if t.RF < 0 {
		return fmt.Errorf("ring: negative RF %d", t.RF)
	}
	for p, a := range t.Partitions {
		if a.Master == "" && len(a.Followers) > 0 {
			return fmt.Errorf("ring: partition %d has followers but no master", p)
		}
		for i, f := range a.Followers {
			if f == "" {
				return fmt.Errorf("ring: partition %d has an empty follower", p)
			}
			if f == a.Master {
				return fmt.Errorf("ring: partition %d lists %q as master and follower", p, f)
			}
			for _, g := range a.Followers[:i] {
				if g == f {
					return fmt.Errorf("ring: partition %d lists follower %q twice", p, f)
				}
			}
		}
	}
	return nil
}
