package shard

import (
	"os"
	"testing"
)

// A copy the map places nowhere any more is dropped, records, stored log
// and disk space; one still named anywhere (in sync, being caught up, or
// placed while its shard is down) is kept. After a restart an older map
// than the newest one applied drops nothing: a restarted controller voter
// replays such maps.
func TestDropCopyNoLongerPlaced(t *testing.T) {
	acfg := fileConfig(t, t.TempDir())
	acfg.ID, acfg.CommitLevel, acfg.MinInSync = "a", CommitMaster, 1
	a := startServer(t, acfg, nil)
	bcfg := fileConfig(t, t.TempDir())
	bcfg.ID, bcfg.CommitLevel, bcfg.MinInSync = "b", CommitMaster, 1
	b := startServer(t, bcfg, nil)
	p := fillPartition(t, a, "drop", 200, 1024)
	roles := func(epoch uint64, r PartRole) []PartRole {
		out := make([]PartRole, acfg.Partitions)
		for i := range out {
			out[i] = PartRole{Epoch: 1, Master: "a", MasterAddr: a.Addr(), InSync: []string{"a", "b"}}
		}
		r.Epoch, r.Master, r.MasterAddr = epoch, "a", a.Addr()
		out[p] = r
		return out
	}
	apply := func(epoch uint64, r PartRole) {
		t.Helper()
		for _, s := range []*Server{a, b} {
			if err := s.ApplyRoles(epoch, roles(epoch, r)); err != nil {
				t.Fatalf("%s: ApplyRoles(%d): %v", s.cfg.ID, epoch, err)
			}
		}
	}
	keys := func() int { _, _, k := mustDigest(t, b, p); return k }
	apply(1, PartRole{InSync: []string{"a", "b"}})
	waitAllAcked(t, a, "b")
	if keys() != 200 {
		t.Fatalf("b holds %d keys, want 200", keys())
	}
	fileSize := func() int64 {
		fi, err := os.Stat(b.partitionPath(p))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	full := fileSize()

	for i, r := range []PartRole{
		{InSync: []string{"a"}, Placed: []string{"a", "b"}},                          // b down, in its grace period
		{InSync: []string{"a"}, Replicas: []string{"a", "b"}, Placed: []string{"a"}}, // b being caught up
	} {
		epoch := uint64(2 + i)
		apply(epoch, r)
		if keys() != 200 || b.isIncomplete(p) {
			t.Fatalf("map %d still names b: %d keys left, incomplete %v", epoch, keys(), b.isIncomplete(p))
		}
	}
	waitAllAcked(t, a, "b")

	// After a restart, a replayed map older than the newest applied (3)
	// drops nothing; a newer one does.
	b = reopen(t, b, bcfg, nil)
	if err := b.ApplyRoles(2, roles(2, PartRole{InSync: []string{"a"}})); err != nil {
		t.Fatal(err)
	}
	if keys() != 200 {
		t.Fatalf("a replayed older map dropped the copy: %d keys left", keys())
	}
	if err := b.ApplyRoles(4, roles(4, PartRole{InSync: []string{"a"}, Replicas: []string{"a"}})); err != nil {
		t.Fatal(err)
	}
	seq, _, k := mustDigest(t, b, p)
	if k != 0 || seq != 0 || !b.isIncomplete(p) || !b.IsFollower(p) {
		t.Fatalf("after the drop: %d keys at seq %d, incomplete %v, follower %v", k, seq, b.isIncomplete(p), b.IsFollower(p))
	}
	if got := fileSize(); got*10 > full {
		t.Fatalf("partition file of %d bytes after the drop, %d before", got, full)
	}
	for q := range acfg.Partitions {
		if q != p && mustSeq(t, b, q) != mustSeq(t, a, q) {
			t.Fatalf("partition %d, still placed on b, lost its copy", q)
		}
	}
	// The dropped copy is incomplete on disk too: it needs a snapshot.
	b = reopen(t, b, bcfg, nil)
	if !b.isIncomplete(p) {
		t.Fatal("a dropped copy is complete after a restart")
	}
}
