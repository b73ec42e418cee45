package shard

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// lagReport is one OnLagging call.
type lagReport struct {
	p        int
	follower string
	epoch    uint64
}

// caughtReport is one OnCaughtUp call, with what the test had learnt
// when it was made.
type caughtReport struct {
	p        int
	follower string
	epoch    uint64
	okSeq    uint64 // rc.okSeq when the call began
	acked    uint64 // the follower's acknowledged position, read after okSeq
}

// roleCluster is three in-memory shards a, b, c over 16 partitions.
type roleCluster struct {
	t      *testing.T
	shards []*Server
	lag    chan lagReport
	caught chan caughtReport
	// okSeq is the highest seq a test saw acknowledged to a client.
	okSeq atomic.Uint64
}

func newRoleCluster(t *testing.T, ackTimeout time.Duration) *roleCluster {
	rc := &roleCluster{t: t, lag: make(chan lagReport, 64), caught: make(chan caughtReport, 64)}
	for i, id := range []string{"a", "b", "c"} {
		cfg := testConfig(t)
		cfg.OnCaughtUp = func(p int, f string, epoch uint64) {
			r := caughtReport{p: p, follower: f, epoch: epoch, okSeq: rc.okSeq.Load()}
			r.acked = rc.shards[i].Acked(p, f)
			select {
			case rc.caught <- r:
			default:
			}
		}
		cfg.ID = id
		cfg.ReplAckTimeout = ackTimeout
		cfg.OnLagging = func(p int, f string, epoch uint64) {
			select {
			case rc.lag <- lagReport{p, f, epoch}:
			default:
			}
		}
		rc.shards = append(rc.shards, startServer(t, cfg, nil))
	}
	return rc
}

// spread returns roles with partition p mastered by shard p%3, every
// shard in sync, at epoch.
func (rc *roleCluster) spread(epoch uint64) []PartRole {
	roles := make([]PartRole, rc.shards[0].cfg.Partitions)
	for p := range roles {
		m := rc.shards[p%3]
		var in []string
		for k := range 3 {
			in = append(in, rc.shards[(p+k)%3].cfg.ID)
		}
		roles[p] = PartRole{Epoch: epoch, Master: m.cfg.ID, MasterAddr: m.Addr(), InSync: in}
	}
	return roles
}

func (rc *roleCluster) apply(epoch uint64, roles []PartRole, shards ...*Server) {
	rc.t.Helper()
	if len(shards) == 0 {
		shards = rc.shards
	}
	for _, s := range shards {
		if err := s.ApplyRoles(epoch, roles); err != nil {
			rc.t.Fatalf("%s: ApplyRoles(%d): %v", s.cfg.ID, epoch, err)
		}
	}
}

// keyIn returns a key of partition p (the n-th such key).
func keyIn(s *Server, p, n int) string {
	for i := 0; ; i++ {
		k := "key" + strconv.Itoa(i)
		if s.pid([]byte(k)) == p {
			if n == 0 {
				return k
			}
			n--
		}
	}
}

// checkAcked fails unless every other in-sync copy of p acked m's seq.
func checkAcked(t *testing.T, m *Server, p int, followers ...string) {
	t.Helper()
	seq := mustSeq(t, m, p)
	if seq == 0 {
		t.Fatalf("partition %d has seq 0 after a write", p)
	}
	for _, f := range followers {
		if a := m.Acked(p, f); a < seq {
			t.Fatalf("partition %d: the write's reply came before %s acked seq %d (acked %d)", p, f, seq, a)
		}
	}
}

func TestRolesReplicateAndGate(t *testing.T) {
	rc := newRoleCluster(t, 10*time.Second)
	rc.apply(1, rc.spread(1))
	a, b, c := rc.shards[0], rc.shards[1], rc.shards[2]
	clients := map[*Server]*rawClient{a: dial(t, a.Addr()), b: dial(t, b.Addr()), c: dial(t, c.Addr())}
	for p := range 16 {
		m := rc.shards[p%3]
		key := keyIn(a, p, 0)
		if got := clients[m].do("SET", key, "v"+strconv.Itoa(p)); got != okR() {
			t.Fatalf("SET on the master of %d: %q", p, got)
		}
		var others []string
		for _, s := range rc.shards {
			if s != m {
				others = append(others, s.cfg.ID)
				want := errR("NOTMASTER " + strconv.Itoa(p) + " 1")
				if got := clients[s].do("SET", key, "x"); got != want {
					t.Fatalf("SET on non-master %s of %d: %q, want %q", s.cfg.ID, p, got, want)
				}
				if got := clients[s].do("GET", key); got != want {
					t.Fatalf("GET on non-master %s of %d: %q, want %q", s.cfg.ID, p, got, want)
				}
			}
		}
		checkAcked(t, m, p, others...)
		if got := clients[m].do("GET", key); got != bulkR("v"+strconv.Itoa(p)) {
			t.Fatalf("GET on the master of %d: %q", p, got)
		}
	}
	// A multi-key write over two partitions of one master waits for both;
	// one naming another master's partition is refused whole.
	k0, k3, k1 := keyIn(a, 0, 1), keyIn(a, 3, 1), keyIn(a, 1, 1)
	if got := clients[a].do("MSET", k0, "x", k3, "y"); got != okR() {
		t.Fatalf("MSET on two partitions of a: %q", got)
	}
	checkAcked(t, a, 0, "b", "c")
	checkAcked(t, a, 3, "b", "c")
	if got := clients[a].do("MSET", k0, "z", k1, "z"); got != errR("NOTMASTER 1 1") {
		t.Fatalf("MSET naming b's partition on a: %q", got)
	}
	if got := clients[a].do("GET", k0); got != bulkR("x") {
		t.Fatalf("a refused MSET changed %s: %q", k0, got)
	}
	// Keyless and internal commands work on any role.
	if got := clients[b].do("PING"); got != simpleR("PONG") {
		t.Fatalf("PING: %q", got)
	}
	if got := clients[b].do("SHARDIS.DBSIZE"); !strings.HasPrefix(got, ":") {
		t.Fatalf("SHARDIS.DBSIZE on follower b: %q", got)
	}
	for p := range 16 {
		m := rc.shards[p%3]
		seq, sum, keys := mustDigest(t, m, p)
		for _, s := range rc.shards {
			fseq, fsum, fkeys := mustDigest(t, s, p)
			if fseq != seq || fsum != sum || fkeys != keys {
				t.Fatalf("partition %d: %s at seq %d with %d keys, master %s at seq %d with %d keys",
					p, s.cfg.ID, fseq, fkeys, m.cfg.ID, seq, keys)
			}
		}
		if !b.IsFollower(0) || a.IsFollower(0) {
			t.Fatalf("partition 0: a follower %v, b follower %v", a.IsFollower(0), b.IsFollower(0))
		}
	}
	if n := len(a.roles.loops); n != 2 {
		t.Fatalf("a runs %d follow loops, want one per other master", n)
	}
}

func TestRolesAckTimeoutAndMinInSync(t *testing.T) {
	rc := newRoleCluster(t, time.Second)
	rc.apply(1, rc.spread(1))
	a, c := rc.shards[0], rc.shards[2]
	ca := dial(t, a.Addr())
	key := keyIn(a, 0, 0)
	if got := ca.do("SET", key, "1"); got != okR() {
		t.Fatalf("SET: %q", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	want := errR("NOTACKED 0" + errNotAcked)
	if got := ca.do("SET", key, "2"); got != want {
		t.Fatalf("SET with follower c down: %q, want %q", got, want)
	}
	// b may lag too on a loaded machine; c must be reported.
	for reported := false; !reported; {
		select {
		case r := <-rc.lag:
			if r.p != 0 || r.epoch != 1 || (r.follower != "b" && r.follower != "c") {
				t.Fatalf("OnLagging(%+v), want partition 0, follower c, epoch 1", r)
			}
			reported = r.follower == "c"
		case <-time.After(10 * time.Second):
			t.Fatal("OnLagging was not called for c")
		}
	}
	// The pipeline goes on after a NOTACKED reply; a read of the write
	// nobody acknowledged is refused rather than answered (a failover may
	// still lose it).
	if got := ca.do("GET", key); got != errR(errReadNotAcked) {
		t.Fatalf("GET after NOTACKED: %q", got)
	}

	// c leaves the in-sync set: writes are acknowledged again.
	roles := rc.spread(2)
	for p := range roles {
		r := &roles[p]
		if r.Master == "c" {
			r.Master, r.MasterAddr = "a", a.Addr()
		}
		r.InSync = []string{"a", "b"}
	}
	rc.apply(2, roles, a, rc.shards[1])
	if got := ca.do("SET", key, "3"); got != okR() {
		t.Fatalf("SET with c out of sync: %q", got)
	}
	checkAcked(t, a, 0, "b")
	if got := a.Acked(0, "c"); got != 0 {
		t.Fatalf("a still knows c's position on partition 0 (%d) after it left", got)
	}

	// Fewer in-sync copies than MinInSync: writes are refused, reads served.
	roles = rc.spread(3)
	for p := range roles {
		roles[p].Master, roles[p].MasterAddr, roles[p].InSync = "a", a.Addr(), []string{"a"}
	}
	rc.apply(3, roles, a)
	if got := ca.do("SET", key, "4"); got != errR(errNoReplicas) {
		t.Fatalf("SET with one in-sync copy: %q", got)
	}
	if got := ca.do("GET", key); got != bulkR("3") {
		t.Fatalf("GET with one in-sync copy: %q", got)
	}
}

func TestRolesCommitLevelMaster(t *testing.T) {
	cfg := testConfig(t)
	cfg.ID = "a"
	cfg.CommitLevel = CommitMaster
	a := startServer(t, cfg, nil)
	roles := make([]PartRole, cfg.Partitions)
	for p := range roles {
		// b never follows: with commit level all every write would time out.
		roles[p] = PartRole{Epoch: 1, Master: "a", MasterAddr: a.Addr(), InSync: []string{"a", "b"}}
	}
	if err := a.ApplyRoles(1, roles); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, a.Addr()).do("SET", "k", "v"); got != okR() {
		t.Fatalf("SET at commit level master: %q", got)
	}
}

func TestRolesPromotion(t *testing.T) {
	rc := newRoleCluster(t, 10*time.Second)
	rc.apply(1, rc.spread(1))
	a, b := rc.shards[0], rc.shards[1]
	ca, cb := dial(t, a.Addr()), dial(t, b.Addr())
	for i := range 20 {
		if got := ca.do("INCR", keyIn(a, 0, i%4)); !strings.HasPrefix(got, ":") {
			t.Fatalf("INCR on a: %q", got)
		}
	}
	seq := mustSeq(t, a, 0)

	// b takes partition 0 over; a follows it.
	roles := rc.spread(2)
	roles[0] = PartRole{Epoch: 2, Master: "b", MasterAddr: b.Addr(), InSync: []string{"b", "c", "a"}}
	rc.apply(2, roles)
	if b.IsFollower(0) || !a.IsFollower(0) {
		t.Fatalf("after promotion: a follower %v, b follower %v", a.IsFollower(0), b.IsFollower(0))
	}
	if got := ca.do("INCR", keyIn(a, 0, 0)); got != errR("NOTMASTER 0 2") {
		t.Fatalf("INCR on the old master: %q", got)
	}
	if got := cb.do("INCR", keyIn(a, 0, 0)); got != intR(6) {
		t.Fatalf("INCR on the new master: %q, want 6", got)
	}
	if got := mustSeq(t, b, 0); got != seq+1 {
		t.Fatalf("new master's seq %d, want %d (the old master's + 1)", got, seq+1)
	}
	checkAcked(t, b, 0, "a", "c")
	seq2, sum, keys := mustDigest(t, b, 0)
	for _, s := range rc.shards {
		if s2, sum2, keys2 := mustDigest(t, s, 0); s2 != seq2 || sum2 != sum || keys2 != keys {
			t.Fatalf("partition 0 on %s: seq %d, %d keys; master seq %d, %d keys", s.cfg.ID, s2, keys2, seq2, keys)
		}
	}
	// Other partitions of a are unaffected.
	if got := ca.do("SET", keyIn(a, 3, 0), "v"); got != okR() {
		t.Fatalf("SET on a's partition 3: %q", got)
	}
	checkAcked(t, a, 3, "b", "c")
	for m, l := range a.roles.loops {
		if m == "b" && !containsInt(l.parts, 0) {
			t.Fatalf("a's loop from b follows %v, not partition 0", l.parts)
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestApplyRolesRefusals(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg, nil)
	roles := make([]PartRole, cfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: 5, Master: cfg.ID, MasterAddr: s.Addr(), InSync: []string{cfg.ID, "x"}}
	}
	if err := s.ApplyRoles(5, roles[:3]); err == nil {
		t.Fatal("ApplyRoles with too few partitions succeeded")
	}
	if _, ok := s.RolesEpoch(); ok {
		t.Fatal("a refused ApplyRoles applied roles")
	}
	if err := s.ApplyRoles(5, roles); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyRoles(5, roles); err != nil {
		t.Fatalf("applying the same epoch again: %v", err)
	}
	if err := s.ApplyRoles(4, roles); err == nil {
		t.Fatal("ApplyRoles with an older epoch succeeded")
	}
	if e, ok := s.RolesEpoch(); !ok || e != 5 {
		t.Fatalf("RolesEpoch = %d, %v; want 5", e, ok)
	}
}

// joinRoles returns roles with every partition mastered by a, b in sync
// and, for partition 0, c among the replicas only.
func (rc *roleCluster) joinRoles(epoch uint64) []PartRole {
	a := rc.shards[0]
	roles := make([]PartRole, a.cfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: epoch, Master: "a", MasterAddr: a.Addr(), InSync: []string{"a", "b"}}
	}
	roles[0].Replicas = []string{"c"}
	return roles
}

// nextCaught returns the next OnCaughtUp report.
func (rc *roleCluster) nextCaught() caughtReport {
	rc.t.Helper()
	select {
	case r := <-rc.caught:
		return r
	case <-time.After(10 * time.Second):
		rc.t.Fatal("OnCaughtUp was not called")
		return caughtReport{}
	}
}

// noCaught fails if OnCaughtUp was called.
func (rc *roleCluster) noCaught() {
	rc.t.Helper()
	select {
	case r := <-rc.caught:
		rc.t.Fatalf("unexpected OnCaughtUp(%d, %s, %d)", r.p, r.follower, r.epoch)
	default:
	}
}

func TestRolesCaughtUpThenWaitedFor(t *testing.T) {
	rc := newRoleCluster(t, time.Second)
	a, c := rc.shards[0], rc.shards[2]
	rc.apply(1, rc.joinRoles(1))
	ca := dial(t, a.Addr())
	key := keyIn(a, 0, 0)
	for i := range 10 {
		if got := ca.do("SET", key, strconv.Itoa(i)); got != okR() {
			t.Fatalf("SET: %q", got)
		}
		rc.okSeq.Store(mustSeq(t, a, 0))
	}
	r := rc.nextCaught()
	if r.p != 0 || r.follower != "c" || r.epoch != 1 {
		t.Fatalf("OnCaughtUp(%d, %s, %d), want (0, c, 1)", r.p, r.follower, r.epoch)
	}
	if r.acked < r.okSeq {
		t.Fatalf("c reported caught up at %d, the master had acknowledged seq %d", r.acked, r.okSeq)
	}
	checkAcked(t, a, 0, "b", "c")
	// Once reported, writes wait for c: with c gone they are not acknowledged.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	want := errR("NOTACKED 0" + errNotAcked)
	if got := ca.do("SET", key, "x"); got != want {
		t.Fatalf("SET with the caught-up replica down: %q, want %q", got, want)
	}
	for reported := false; !reported; {
		select {
		case l := <-rc.lag:
			if l.p != 0 || l.epoch != 1 || (l.follower != "b" && l.follower != "c") {
				t.Fatalf("OnLagging(%+v), want partition 0, follower c, epoch 1", l)
			}
			reported = l.follower == "c"
		case <-time.After(10 * time.Second):
			t.Fatal("OnLagging was not called for c")
		}
	}
	// c lagged: it stopped joining, so writes go on without it.
	if got := ca.do("SET", key, "y"); got != okR() {
		t.Fatalf("SET after c stopped joining: %q", got)
	}
	checkAcked(t, a, 0, "b")
	rc.noCaught()
}

func TestRolesCaughtUpOnlyWhenClose(t *testing.T) {
	rc := newRoleCluster(t, 500*time.Millisecond)
	a, b, c := rc.shards[0], rc.shards[1], rc.shards[2]
	rc.apply(1, rc.joinRoles(1), a, b) // c does not follow yet
	ca := dial(t, a.Addr())
	for i := range 3 * joinDistance {
		if got := ca.do("SET", keyIn(a, 0, i%8), strconv.Itoa(i)); got != okR() {
			t.Fatalf("SET %d: %q", i, got)
		}
	}
	seq := mustSeq(t, a, 0)
	// c reports a position far behind: it is neither joining nor reported.
	fetch := dial(t, a.Addr())
	if got := fetch.do("SHARDIS.FETCH", "c", "0", "0", strconv.FormatUint(seq-2*joinDistance, 10)); !strings.HasPrefix(got, "*1\r\n") {
		t.Fatalf("FETCH as c: %q", got[:min(len(got), 40)])
	}
	if got := a.Acked(0, "c"); got != seq-2*joinDistance {
		t.Fatalf("c acked %d, want %d", got, seq-2*joinDistance)
	}
	// A write does not wait for c (it would time out).
	if got := ca.do("SET", keyIn(a, 0, 0), "far"); got != okR() {
		t.Fatalf("SET with c far behind: %q", got)
	}
	rc.noCaught()
	if j := a.joining(0); len(j) != 0 {
		t.Fatalf("c joined while %d effects behind: %v", seq-2*joinDistance, j)
	}
	// c follows and catches up: then it is reported.
	rc.apply(1, rc.joinRoles(1), c)
	r := rc.nextCaught()
	if r.p != 0 || r.follower != "c" || r.epoch != 1 || r.acked < mustSeq(t, a, 0) {
		t.Fatalf("OnCaughtUp %+v, want partition 0, c, epoch 1, acked %d", r, mustSeq(t, a, 0))
	}

	// A map with c in sync ends the joining bookkeeping of partition 0.
	roles := rc.joinRoles(2)
	roles[0].InSync, roles[0].Replicas = []string{"a", "b", "c"}, nil
	rc.apply(2, roles)
	a.roles.joinMu.Lock()
	n := len(a.roles.join)
	a.roles.joinMu.Unlock()
	if n != 0 {
		t.Fatalf("a keeps joining bookkeeping for %d partitions after c joined InSync", n)
	}
	if got := ca.do("SET", keyIn(a, 0, 0), "in"); got != okR() {
		t.Fatalf("SET with c in sync: %q", got)
	}
	checkAcked(t, a, 0, "b", "c")
	rc.noCaught()

	// A new epoch with c back among the replicas reports it again, once.
	rc.apply(3, rc.joinRoles(3))
	if r := rc.nextCaught(); r.p != 0 || r.follower != "c" || r.epoch != 3 {
		t.Fatalf("OnCaughtUp %+v at epoch 3, want partition 0, c, epoch 3", r)
	}
	if got := ca.do("SET", keyIn(a, 0, 0), "again"); got != okR() {
		t.Fatalf("SET: %q", got)
	}
	checkAcked(t, a, 0, "b", "c")
	rc.noCaught()
}

func TestRolesCaughtUpKeepsAcknowledgedWrites(t *testing.T) {
	rc := newRoleCluster(t, 10*time.Second)
	a, b, c := rc.shards[0], rc.shards[1], rc.shards[2]
	rc.apply(1, rc.joinRoles(1), a, b)
	ca, w := dial(t, a.Addr()), dial(t, a.Addr())
	key := keyIn(a, 0, 0)
	for range 2 * joinDistance {
		if got := ca.do("INCR", key); !strings.HasPrefix(got, ":") {
			t.Fatalf("INCR: %q", got)
		}
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		// One connection writing while c catches up; every seq acknowledged
		// to it is recorded before the next write (it is the only writer,
		// so the partition's seq once INCR is answered is INCR's).
		next := func() (string, error) {
			b, err := w.rr.Next()
			return string(b), err
		}
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			w.send("INCR", key)
			if err := w.w.Flush(); err != nil {
				done <- err
				return
			}
			if got, err := next(); err != nil || !strings.HasPrefix(got, ":") {
				done <- fmt.Errorf("INCR: %q, %v", got, err)
				return
			}
			seq, err := a.Seq(0)
			if err != nil {
				done <- err
				return
			}
			rc.okSeq.Store(seq)
		}
	}()
	waitFor(t, 10*time.Second, func() bool { return rc.okSeq.Load() > 2*joinDistance+10 })
	rc.apply(1, rc.joinRoles(1), c)
	r := rc.nextCaught()
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.p != 0 || r.follower != "c" || r.epoch != 1 {
		t.Fatalf("OnCaughtUp(%d, %s, %d), want (0, c, 1)", r.p, r.follower, r.epoch)
	}
	if r.acked < r.okSeq {
		t.Fatalf("c reported caught up at %d while seq %d was already acknowledged", r.acked, r.okSeq)
	}
}

// TestKeyspaceCommandsCoverMasteredPartitions: once roles are applied,
// DBSIZE, KEYS, RANDOMKEY and FLUSH cover only the partitions this shard
// masters, so a proxy asking every shard counts each key once, not once
// per copy.
func TestKeyspaceCommandsCoverMasteredPartitions(t *testing.T) {
	cfg := testConfig(t)
	cfg.ID = "a"
	cfg.CommitLevel = CommitMaster
	a := startServer(t, cfg, nil)
	c := dial(t, a.Addr())
	for p := range 2 {
		if got := c.do("SET", keyIn(a, p, 0), "v"); got != okR() {
			t.Fatalf("SET: %q", got)
		}
	}
	if got := c.do("SHARDIS.DBSIZE"); got != ":2\r\n" {
		t.Fatalf("DBSIZE before roles: %q", got)
	}
	roles := make([]PartRole, cfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: 1, Master: "a", MasterAddr: a.Addr(), InSync: []string{"a"}}
	}
	// b masters partition 1; a holds a copy of it that it must not count.
	roles[1] = PartRole{Epoch: 1, Master: "b", MasterAddr: "127.0.0.1:1", InSync: []string{"b", "a"}}
	if err := a.ApplyRoles(1, roles); err != nil {
		t.Fatal(err)
	}
	for cmd, want := range map[string]string{
		"SHARDIS.DBSIZE": ":1\r\n",
		"SHARDIS.KEYS":   "*1\r\n$" + strconv.Itoa(len(keyIn(a, 0, 0))) + "\r\n" + keyIn(a, 0, 0) + "\r\n",
	} {
		args := []string{cmd}
		if cmd == "SHARDIS.KEYS" {
			args = append(args, "*")
		}
		if got := c.do(args...); got != want {
			t.Errorf("%s with a copy of another master's partition: %q, want %q", cmd, got, want)
		}
	}
	for range 20 {
		if got := c.do("SHARDIS.RANDOMKEY"); !strings.Contains(got, keyIn(a, 0, 0)) {
			t.Fatalf("RANDOMKEY returned %q, a key of a partition a does not master", got)
		}
	}
	if got := c.do("SHARDIS.FLUSH"); got != okR() {
		t.Fatalf("FLUSH: %q", got)
	}
	if n, err := a.Seq(1); err != nil || n != 1 {
		t.Fatalf("partition 1 (a follower copy) seq %d, %v after FLUSH: the copy was changed outside replication", n, err)
	}
}

// TestWriteResumesWhenMapDropsLaggingCopy: a write waiting for a follower
// that does not answer completes as soon as a new map takes that follower
// out of the in-sync set (the controller saw it fail), not at the
// acknowledgement timeout — unless that leaves fewer in-sync copies than
// MinInSync, when its outcome is unknown (NOTACKED) at once.
func TestWriteResumesWhenMapDropsLaggingCopy(t *testing.T) {
	for _, tc := range []struct {
		minInSync int
		want      string
	}{
		{1, okR()},
		{2, errR("NOTACKED 0" + errNotAcked)},
	} {
		t.Run(fmt.Sprintf("min-insync=%d", tc.minInSync), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.ID = "a"
			cfg.MinInSync = tc.minInSync
			cfg.ReplAckTimeout = time.Minute
			a := startServer(t, cfg, nil)
			roles := func(epoch uint64, inSync ...string) []PartRole {
				r := make([]PartRole, cfg.Partitions)
				for p := range r {
					r[p] = PartRole{Epoch: epoch, Master: "a", MasterAddr: a.Addr(), InSync: inSync}
				}
				return r
			}
			// b and c are in sync but never fetch: the write waits for them.
			if err := a.ApplyRoles(1, roles(1, "a", "b", "c")); err != nil {
				t.Fatal(err)
			}
			c := dial(t, a.Addr())
			got := make(chan string, 1)
			go func() { got <- c.do("SET", keyIn(a, 0, 0), "v") }()
			select {
			case r := <-got:
				t.Fatalf("SET answered %q while in-sync copies had not acknowledged it", r)
			case <-time.After(100 * time.Millisecond): // long enough to be waiting
			}
			start := time.Now()
			if err := a.ApplyRoles(2, roles(2, "a")); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				if r != tc.want {
					t.Fatalf("SET after the map dropped the silent copies: %q, want %q", r, tc.want)
				}
				t.Logf("SET answered %v after the new map", time.Since(start))
			case <-time.After(10 * time.Second):
				t.Fatal("SET still waiting 10s after the map dropped the silent copies")
			}
		})
	}
}

// TestReadWaitsForUnacknowledgedWrite: a read must not return another
// connection's write that the in-sync copies have not acknowledged (a
// failover could still lose it): it waits for the acknowledgement and,
// when none comes in time, answers TRYAGAIN instead of the value.
func TestReadWaitsForUnacknowledgedWrite(t *testing.T) {
	a := startLonelyMaster(t, "a", "b", 300*time.Millisecond)
	key := keyIn(a, 0, 0)
	writer, reader := dial(t, a.Addr()), dial(t, a.Addr())
	done := make(chan string, 1)
	go func() { done <- writer.do("SET", key, "unacknowledged") }()
	waitFor(t, 5*time.Second, func() bool { s, _ := a.Seq(0); return s == 1 })
	if got := reader.do("GET", key); got != errR(errReadNotAcked) {
		t.Fatalf("GET of a write no copy acknowledged: %q, want %q", got, errR(errReadNotAcked))
	}
	if got := <-done; !strings.HasPrefix(got, "-NOTACKED ") {
		t.Fatalf("SET: %q", got)
	}
	// Reads of partitions without pending writes answer at once.
	if got := reader.do("GET", keyIn(a, 1, 0)); got != nilR() {
		t.Fatalf("GET on an idle partition: %q", got)
	}
}

// TestPipelineWaitsOnceForItsCopies: the replies of a pipeline leave
// together once the copies hold what its commands did (one replication
// round trip for the whole pipeline). When the copies do not acknowledge,
// every reply from the first unacknowledged command on is replaced by its
// error (NOTACKED for a write, TRYAGAIN for a read), and replies of
// commands that need no copies (PING) are kept in place.
func TestPipelineWaitsOnceForItsCopies(t *testing.T) {
	rc := newRoleCluster(t, 10*time.Second)
	spread := rc.spread(1)
	rc.apply(1, spread)
	a := rc.shards[0]
	ca := dial(t, a.Addr())
	var mine []int
	for p, r := range spread {
		if r.Master == "a" {
			mine = append(mine, p)
		}
	}
	var keys []string
	for i := range 50 {
		keys = append(keys, keyIn(a, mine[i%len(mine)], i))
	}
	for _, k := range keys {
		ca.send("SET", k, "v")
	}
	ca.send("GET", keys[0])
	if err := ca.w.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if got := ca.read(); got != okR() {
			t.Fatalf("SET %d of the pipeline: %q", i, got)
		}
	}
	if got := ca.read(); got != bulkR("v") {
		t.Fatalf("GET at the end of the pipeline: %q", got)
	}
	for _, p := range mine {
		checkAcked(t, a, p, "b", "c")
	}

	// A master whose in-sync copy never fetches.
	m := startLonelyMaster(t, "m", "x", 200*time.Millisecond)
	cm := dial(t, m.Addr())
	k1, k2 := keyIn(m, 0, 0), keyIn(m, 1, 0)
	cm.send("PING")
	cm.send("SET", k1, "1")
	cm.send("PING")
	cm.send("GET", k1)
	cm.send("SET", k2, "2")
	if err := cm.w.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"+PONG\r\n", errR("NOTACKED 0" + errNotAcked), "+PONG\r\n", errR(errReadNotAcked),
		errR("NOTACKED 1" + errNotAcked)} {
		if got := cm.read(); got != want {
			t.Fatalf("reply %d: %q, want %q", i, got, want)
		}
	}
}

// startLonelyMaster starts shard id mastering every partition with one
// more in-sync copy, other, that never fetches: nothing it writes is
// acknowledged, and a write or read waiting for its copies gives up after
// ackTimeout.
func startLonelyMaster(t *testing.T, id, other string, ackTimeout time.Duration) *Server {
	t.Helper()
	cfg := testConfig(t)
	cfg.ID, cfg.ReplAckTimeout = id, ackTimeout
	s := startServer(t, cfg, nil)
	roles := make([]PartRole, cfg.Partitions)
	for p := range roles {
		roles[p] = PartRole{Epoch: 1, Master: id, MasterAddr: s.Addr(), InSync: []string{id, other}}
	}
	if err := s.ApplyRoles(1, roles); err != nil {
		t.Fatal(err)
	}
	return s
}
