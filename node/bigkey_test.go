//go:build !race

// The big-collection tests run without the race detector (make test runs
// them on their own after the race run): a million fields, three copies
// and the sweep deleting them again are minutes of work under -race.

package node_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
	"github.com/shardis/shardis/store"
)

// bigHashFields is the size of the big hash: a million fields, so that
// anything that costs per element (shipping the whole hash on a write,
// deleting it in the UNLINK) shows up as seconds.
const bigHashFields = 1_000_000

// The tests of this file check the promise of the element layout (README,
// "Records and key spaces") on a collection far past any encoding threshold:
// a write to one element of a huge hash costs, and ships to the followers,
// one element and one key record, never the hash; and deleting the hash is
// O(1) in the command while the bounded background sweep frees its
// elements without holding its partition long enough to stall other
// writes. The size of the hash is bigHashFields.

// bigHashKey is the big hash's name; its partition holds nothing else but
// what a test writes there on purpose.
const bigHashKey = "big:{bighash}"

// Build parameters: fields per HSET and HSETs per pipeline. A thousand
// fields make one effect of about 40 KB (well under a fetch reply's bound),
// and a pipeline of 16 keeps the proxy and the master busy without making
// one client wait on a huge batch.
const (
	bigFieldsPerHSet = 1000
	bigHSetsPerPipe  = 16
)

// bigField is the name of field i of the big hash.
func bigField(i int) string { return "field:" + strconv.Itoa(i) }

// bigHashCluster is an RF 3 cluster holding the big hash, with a proxy
// client and the hash's partition.
type bigHashCluster struct {
	t   *testing.T
	tc  *testcluster.Replicated
	rdb *redis.Client
	pid int
}

// master returns the shard mastering the big hash's partition.
func (b *bigHashCluster) master() *shard.Server {
	return b.tc.Shard(b.tc.State().Parts[b.pid].Master).Server
}

// followers returns the other in-sync copies of the big hash's partition.
func (b *bigHashCluster) followers() map[string]*shard.Server {
	ps := b.tc.State().Parts[b.pid]
	out := map[string]*shard.Server{}
	for _, id := range ps.InSync {
		if id != ps.Master {
			out[id] = b.tc.Shard(id).Server
		}
	}
	return out
}

// waitFollowersAt waits until every follower of the partition has applied
// the master's seq.
func (b *bigHashCluster) waitFollowersAt(d time.Duration) uint64 {
	b.t.Helper()
	var seq uint64
	testcluster.WaitFor(b.t, d, fmt.Sprintf("the followers of partition %d at their master's seq", b.pid), func() bool {
		var err error
		if seq, err = b.master().Seq(b.pid); err != nil {
			b.t.Fatal(err)
		}
		for _, f := range b.followers() {
			if got, err := f.Seq(b.pid); err != nil || got != seq {
				return false
			}
		}
		return true
	})
	return seq
}

// startBigHash starts an RF 3 cluster of three shards and a proxy, and
// builds the big hash through the proxy with many fields per HSET,
// pipelined. Every HSET is acknowledged by all three copies (commit level
// all) before it answers, so the copies hold the hash when it returns.
func startBigHash(t *testing.T) *bigHashCluster {
	t.Helper()
	tc := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3})
	tc.WaitFull(30 * time.Second)
	_, rdb := tc.StartProxy()
	b := &bigHashCluster{t: t, tc: tc, rdb: rdb, pid: ring.Partition([]byte(bigHashKey), testParts)}
	ctx := context.Background()
	start := time.Now()
	args := make([]any, 0, 2*bigFieldsPerHSet)
	for next := 0; next < bigHashFields; {
		pipe := rdb.Pipeline()
		cmds := make([]*redis.IntCmd, 0, bigHSetsPerPipe)
		for range bigHSetsPerPipe {
			if next == bigHashFields {
				break
			}
			args = args[:0]
			for end := min(next+bigFieldsPerHSet, bigHashFields); next < end; next++ {
				args = append(args, bigField(next), strconv.Itoa(next))
			}
			cmds = append(cmds, pipe.HSet(ctx, bigHashKey, args...))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("building the big hash, at field %d: %v", next, err)
		}
		for _, c := range cmds {
			if c.Val() != int64(len(c.Args())-2)/2 {
				t.Fatalf("HSET of %d new fields answered %d", (len(c.Args())-2)/2, c.Val())
			}
		}
	}
	if n, err := rdb.HLen(ctx, bigHashKey).Result(); err != nil || n != bigHashFields {
		t.Fatalf("HLEN %s = %d, %v; want %d", bigHashKey, n, err, bigHashFields)
	}
	b.waitFollowersAt(30 * time.Second)
	t.Logf("built a hash of %d fields on partition %d (3 copies) in %v", bigHashFields, b.pid, time.Since(start).Round(time.Millisecond))
	return b
}

// opsSize is the bytes an effect's ops carry: keys and values.
func opsSize(ops []store.Op) int {
	n := 0
	for _, op := range ops {
		n += len(op.Key) + len(op.Value)
	}
	return n
}

// describeOps prints ops briefly for a failure message.
func describeOps(ops []store.Op) string {
	s := ""
	for i, op := range ops[:min(len(ops), 6)] {
		kind := "put"
		if op.Del {
			kind = "del"
		}
		s += fmt.Sprintf("[%d %s %q (%d B value)] ", i, kind, op.Key[:min(len(op.Key), 40)], len(op.Value))
	}
	if len(ops) > 6 {
		s += fmt.Sprintf("… %d ops", len(ops))
	}
	return s
}

// TestBigHashReplicatesOneField writes one field of the big hash and checks
// the effect that write became, on the master and as every follower
// applied it: exactly the field's element put and the hash's key record
// put, a couple of hundred bytes at most. A layout that stored a hash as
// one record, or a replication that shipped the command's whole key, would
// make that effect as large as the hash.
func TestBigHashReplicatesOneField(t *testing.T) {
	b := startBigHash(t)
	ctx := context.Background()
	m := b.master()
	before, err := m.Seq(b.pid)
	if err != nil {
		t.Fatal(err)
	}
	const field, value = "one-more-field", "one-more-value"
	start := time.Now()
	if n, err := b.rdb.HSet(ctx, bigHashKey, field, value).Result(); err != nil || n != 1 {
		t.Fatalf("HSET %s %s: %d, %v; want 1 new field", bigHashKey, field, n, err)
	}
	took := time.Since(start)

	effects, ok := m.EffectsSince(b.pid, before, 0)
	if !ok || len(effects) != 1 {
		t.Fatalf("the master's effects after seq %d: %d (log continues: %v); want the HSET's one effect", before, len(effects), ok)
	}
	e := effects[0]
	checkOneFieldEffect(t, "master", e.Ops, field, value)

	// Each follower applied the same effect, and keeps it in its own log
	// (a follower may be promoted): what travelled is these two ops.
	seq := b.waitFollowersAt(10 * time.Second)
	if seq != e.Seq {
		t.Errorf("partition %d at seq %d after the HSET, want %d (its effect)", b.pid, seq, e.Seq)
	}
	for id, f := range b.followers() {
		got, ok := f.EffectsSince(b.pid, before, 0)
		if !ok || len(got) != 1 {
			t.Errorf("follower %s: effects after seq %d: %d (log continues: %v); want 1", id, before, len(got), ok)
			continue
		}
		if got[0].Seq != e.Seq || !slices.Equal(got[0].Ops, e.Ops) {
			t.Errorf("follower %s applied seq %d: %s; the master's seq %d: %s", id, got[0].Seq, describeOps(got[0].Ops), e.Seq, describeOps(e.Ops))
		}
	}
	if v, err := b.rdb.HGet(ctx, bigHashKey, field).Result(); err != nil || v != value {
		t.Errorf("HGET %s %s = %q, %v; want %q", bigHashKey, field, v, err, value)
	}
	if n, err := b.rdb.HLen(ctx, bigHashKey).Result(); err != nil || n != bigHashFields+1 {
		t.Errorf("HLEN %s = %d, %v; want %d", bigHashKey, n, err, bigHashFields+1)
	}
	t.Logf("HSET of one field on a hash of %d fields: %v round trip (3 copies), one effect of %d ops, %d bytes",
		bigHashFields, took.Round(time.Microsecond), len(e.Ops), opsSize(e.Ops))
}

// checkOneFieldEffect checks that ops are what an HSET of one new field of
// the big hash must produce: the element put (its value the field's value)
// and the key record put (a hash of bigHashFields+1 fields), 2 ops of
// under 200 bytes in all.
func checkOneFieldEffect(t *testing.T, who string, ops []store.Op, field, value string) {
	t.Helper()
	if len(ops) != 2 || opsSize(ops) >= 200 {
		t.Fatalf("%s: the HSET's effect has %d ops, %d bytes: %s; want 2 ops (element, key record) under 200 bytes",
			who, len(ops), opsSize(ops), describeOps(ops))
	}
	var elem, rec *store.Op
	for i := range ops {
		switch op := &ops[i]; {
		case op.Del:
			t.Errorf("%s: the HSET deleted %q", who, op.Key)
		case op.Key == store.RecordKey([]byte(bigHashKey)):
			rec = op
		case op.Key[0] == store.SpaceElem:
			elem = op
		}
	}
	if elem == nil || rec == nil {
		t.Fatalf("%s: the HSET's effect is %s; want one element put and the key record put", who, describeOps(ops))
	}
	if k, ok := store.UserKey(elem.Key); !ok || k != bigHashKey || elem.Value != value ||
		len(elem.Key) < len(field) || elem.Key[len(elem.Key)-len(field):] != field {
		t.Errorf("%s: element put %q = %q; want field %q of %s = %q", who, elem.Key, elem.Value, field, bigHashKey, value)
	}
	r, err := store.DecodeRecord(rec.Value)
	if err != nil || r.Type != store.TypeHash || r.Count != bigHashFields+1 {
		t.Errorf("%s: key record put: %+v, %v; want a hash of %d fields", who, r, err, bigHashFields+1)
	}
}

// TestUnlinkBigHashDoesNotStall UNLINKs the big hash and, while the
// background sweep deletes its elements in bounded batches (each one a
// replicated effect), keeps writing other keys of the same partition and
// measures each write's latency. The UNLINK must answer at once (it drops
// the key record and leaves a tombstone: O(1)); the writes must never wait
// long behind a sweep batch; and the sweep must finish, leaving every copy
// with exactly the keys written since and no element or tombstone.
func TestUnlinkBigHashDoesNotStall(t *testing.T) {
	b := startBigHash(t)
	ctx := context.Background()
	m := b.master()
	before, err := m.Seq(b.pid)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if n, err := b.rdb.Unlink(ctx, bigHashKey).Result(); err != nil || n != 1 {
		t.Fatalf("UNLINK %s: %d, %v; want 1", bigHashKey, n, err)
	}
	unlinkTook := time.Since(start)
	effects, ok := m.EffectsSince(b.pid, before, 1)
	if !ok || len(effects) != 1 {
		t.Fatalf("the master's effects after the UNLINK: %d (log continues: %v)", len(effects), ok)
	}
	if ops := effects[0].Ops; len(ops) != 2 || opsSize(ops) >= 200 {
		t.Errorf("the UNLINK's effect has %d ops, %d bytes: %s; want the key record's delete and the tombstone's put",
			len(ops), opsSize(ops), describeOps(ops))
	}

	// Writes to a handful of keys of the same partition, one at a time,
	// until the sweep deleted the tombstone (its last op, in its last
	// batch). The master's effect log is followed as the writes go, so
	// the end of the sweep is seen without ever reading the whole
	// partition (a digest would hold the partition's read lock and delay
	// the writes measured).
	next := 0
	keys := make([]string, 32)
	for i := range keys {
		keys[i] = b.tc.KeyIn(b.pid, "during-sweep:", &next)
	}
	tomb := store.ElemKey(store.SpaceTombstone, []byte(bigHashKey), 0, nil)
	tomb = tomb[:len(tomb)-8] // any generation
	var (
		lat      []time.Duration
		seen     = effects[0].Seq
		swept    bool
		failed   int
		firstErr error
		batches  int
		deadline = time.Now().Add(60 * time.Second)
	)
	for i := 0; !swept || i < len(keys); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep of %s did not finish in 60 s (%d sweep batches seen, %d writes)", bigHashKey, batches, len(lat))
		}
		w := time.Now()
		if err := b.rdb.Set(ctx, keys[i%len(keys)], strconv.Itoa(i), 0).Err(); err != nil {
			// Counted, not fatal: the figures are the point of the test.
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("at %v into the sweep, after %v: %w", w.Sub(start).Round(time.Millisecond), time.Since(w).Round(time.Millisecond), err)
			}
		}
		lat = append(lat, time.Since(w))
		effects, ok := m.EffectsSince(b.pid, seen, 0)
		if !ok {
			t.Fatalf("the master's effect log no longer continues from seq %d", seen)
		}
		for _, e := range effects {
			seen = e.Seq
			for _, op := range e.Ops {
				if op.Del && len(op.Key) > len(tomb) && op.Key[:len(tomb)] == tomb {
					swept = true
				}
			}
			if len(e.Ops) > 1 && e.Ops[0].Del && e.Ops[0].Key[0] != store.SpaceKey {
				batches++
			}
		}
	}
	sweepTook := time.Since(start)
	writes := len(lat)
	slices.Sort(lat)
	p50, p99, worst := lat[len(lat)/2], lat[(len(lat)*99)/100], lat[len(lat)-1]
	t.Logf("UNLINK of a hash of %d fields: %v; sweep: %v in %d batches; %d SETs on the same partition meanwhile: p50 %v, p99 %v, max %v",
		bigHashFields, unlinkTook.Round(time.Microsecond), sweepTook.Round(time.Millisecond), batches, writes,
		p50.Round(time.Microsecond), p99.Round(time.Microsecond), worst.Round(time.Microsecond))
	if unlinkTook > 250*time.Millisecond {
		t.Errorf("UNLINK of a hash of %d fields took %v; want O(1), under 250 ms", bigHashFields, unlinkTook)
	}
	if p99 > 50*time.Millisecond || worst > 250*time.Millisecond {
		t.Errorf("SETs during the sweep: p99 %v, max %v; want p99 under 50 ms and max under 250 ms", p99, worst)
	}
	if failed > 0 {
		t.Errorf("%d of %d SETs during the sweep failed; the first %v", failed, writes, firstErr)
	}
	if writes < 20 {
		t.Errorf("only %d SETs during the sweep: too few to measure it", writes)
	}

	// Every copy ends with the keys written during the sweep and nothing
	// of the hash: no element, no tombstone.
	b.waitFollowersAt(10 * time.Second)
	want, err := testcluster.DigestOf(m, b.pid)
	if err != nil {
		t.Fatal(err)
	}
	if want.Keys != len(keys) {
		t.Errorf("partition %d holds %d storage keys after the sweep; want the %d written during it", b.pid, want.Keys, len(keys))
	}
	for id, f := range b.followers() {
		got, err := testcluster.DigestOf(f, b.pid)
		if err != nil {
			t.Fatal(err)
		}
		if diff := got.Diff(want); diff != "" {
			t.Errorf("partition %d: follower %s has %s", b.pid, id, diff)
		}
	}
	if n, err := b.rdb.Exists(ctx, bigHashKey).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s after UNLINK = %d, %v", bigHashKey, n, err)
	}
}
