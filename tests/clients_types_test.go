package tests

// Every Redis data type through real client libraries' typed APIs. The
// diff corpus compares raw bytes; these tests catch what a client sees
// instead: go-redis and redis-py parse maps, doubles, sets and nested arrays
// by reply type, so a reply of the wrong RESP2/RESP3 shape surfaces as a
// parse error or a wrong typed value here even when the bytes look close.
// As with the tool tests, every check runs first against a real
// redis-server, which proves the expected values are Redis 7.0's own, then
// against a Shardis cluster, for RESP3 and RESP2.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
)

// ctCrossSlot is the error Shardis answers, as Redis Cluster does, to a
// multi-key command whose keys live in different partitions.
const ctCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot"

// ctWrongType is Redis's error for a command on a key of another type.
const ctWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

// ctTarget is one server under test; Sharded marks Shardis, where keys of
// different partitions cannot meet in one command.
type ctTarget struct {
	Name    string
	Addr    string
	Sharded bool
}

// ctTargets starts a real redis-server and an in-memory Shardis cluster
// (with the integration tests' partition count, so itOtherPartition finds
// keys of other partitions).
func ctTargets(t *testing.T) []ctTarget {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Shards: 3, Partitions: itPartitions, InMemory: true})
	return []ctTarget{
		{Name: "redis", Addr: startRedisServer(t)},
		{Name: "shardis", Addr: c.Addr, Sharded: true},
	}
}

// ctResult is what every typed go-redis command with a single value has.
type ctResult[T any] interface {
	Args() []any
	Result() (T, error)
}

// ctCtx bounds one test's client calls, so a hung proxy fails the test.
func ctCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	t.Cleanup(cancel)
	return ctx
}

// ctFmt renders a command for failure messages.
func ctFmt(args []any) string { return itFmtArgs(args) }

// ctWant checks a typed reply for deep equality with want.
func ctWant[T any](t *testing.T, cmd ctResult[T], want T) {
	t.Helper()
	got, err := cmd.Result()
	if err != nil {
		t.Errorf("%s: want %#v, got error %v", ctFmt(cmd.Args()), want, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: want %#v, got %#v", ctFmt(cmd.Args()), want, got)
	}
}

// ctWantSorted checks a reply whose order is unspecified (SMEMBERS, HKEYS)
// against want, which is sorted.
func ctWantSorted(t *testing.T, cmd ctResult[[]string], want []string) {
	t.Helper()
	got, err := cmd.Result()
	if err != nil {
		t.Errorf("%s: want %q, got error %v", ctFmt(cmd.Args()), want, err)
		return
	}
	if !reflect.DeepEqual(ctSorted(got), want) {
		t.Errorf("%s: want %q in any order, got %q", ctFmt(cmd.Args()), want, got)
	}
}

// ctGet returns a typed reply, failing the test on an error.
func ctGet[T any](t *testing.T, cmd ctResult[T]) T {
	t.Helper()
	got, err := cmd.Result()
	if err != nil {
		t.Errorf("%s: got error %v", ctFmt(cmd.Args()), err)
	}
	return got
}

// ctWantNil checks for a nil reply, which go-redis reports as redis.Nil.
func ctWantNil[T any](t *testing.T, cmd ctResult[T]) {
	t.Helper()
	got, err := cmd.Result()
	if err != redis.Nil {
		t.Errorf("%s: want a nil reply (redis.Nil), got %#v, error %v", ctFmt(cmd.Args()), got, err)
	}
}

// ctWantErr checks for an error reply (a redis.Error, not an I/O or parse
// error) with exactly the text want.
func ctWantErr(t *testing.T, cmd redis.Cmder, want string) {
	t.Helper()
	err := cmd.Err()
	var re redis.Error
	switch {
	case err == nil:
		t.Errorf("%s: want error reply %q, got %q", ctFmt(cmd.Args()), want, cmd.String())
	case err == redis.Nil || !errors.As(err, &re):
		t.Errorf("%s: want error reply %q, got non-reply error %v", ctFmt(cmd.Args()), want, err)
	case err.Error() != want:
		t.Errorf("%s: want error reply %q, got %q", ctFmt(cmd.Args()), want, err.Error())
	}
}

// ctScan runs a SCAN-family command from cursor 0 until the cursor comes
// back 0 and returns every element, in order.
func ctScan(t *testing.T, scan func(cursor uint64) *redis.ScanCmd) []string {
	t.Helper()
	var all []string
	var cursor uint64
	for i := 0; ; i++ {
		cmd := scan(cursor)
		keys, next, err := cmd.Result()
		if err != nil {
			t.Errorf("%s: %v", ctFmt(cmd.Args()), err)
			return all
		}
		all = append(all, keys...)
		if cursor = next; cursor == 0 {
			return all
		}
		if i > 10000 {
			t.Errorf("%s: the scan does not end", ctFmt(cmd.Args()))
			return all
		}
	}
}

// ctPairs turns a flat [k1, v1, k2, v2 …] into a map, failing on an odd
// count or a repeated key (HSCAN and ZSCAN of a small collection return each
// element once).
func ctPairs(t *testing.T, what string, flat []string) map[string]string {
	t.Helper()
	if len(flat)%2 != 0 {
		t.Errorf("%s: odd element count %d: %q", what, len(flat), flat)
		return nil
	}
	m := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		if _, dup := m[flat[i]]; dup {
			t.Errorf("%s: %q returned twice", what, flat[i])
		}
		m[flat[i]] = flat[i+1]
	}
	return m
}

// ctSorted returns a sorted copy, for replies whose order is unspecified.
func ctSorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// TestClientTypesGoRedis drives every data type through go-redis's typed
// API with RESP3 (go-redis's default) and RESP2, where Shardis converts the
// shards' RESP3 replies as Redis 7 does.
func TestClientTypesGoRedis(t *testing.T) {
	targets := ctTargets(t)
	for _, target := range targets {
		for _, proto := range []int{3, 2} {
			t.Run(fmt.Sprintf("%s/RESP%d", target.Name, proto), func(t *testing.T) {
				rdb := itClient(t, target.Addr, proto)
				if err := rdb.FlushAll(ctCtx(t)).Err(); err != nil {
					t.Fatalf("FLUSHALL: %v", err)
				}
				t.Run("Strings", func(t *testing.T) { ctStrings(t, rdb) })
				t.Run("Hashes", func(t *testing.T) { ctHashes(t, rdb) })
				t.Run("Lists", func(t *testing.T) { ctLists(t, rdb) })
				t.Run("Sets", func(t *testing.T) { ctSets(t, rdb) })
				t.Run("ZSets", func(t *testing.T) { ctZSets(t, rdb) })
				t.Run("Bitmaps", func(t *testing.T) { ctBitmaps(t, rdb) })
				t.Run("HLL", func(t *testing.T) { ctHLL(t, rdb) })
				t.Run("Geo", func(t *testing.T) { ctGeo(t, rdb) })
				t.Run("Keys", func(t *testing.T) { ctKeys(t, rdb) })
				t.Run("Encodings", func(t *testing.T) { ctEncodings(t, rdb) })
				t.Run("Errors", func(t *testing.T) { ctErrors(t, rdb, target.Sharded) })
				t.Run("RawShapes", func(t *testing.T) { ctRawShapes(t, rdb, proto) })
				t.Run("Doubles", func(t *testing.T) { ctDoubles(t, rdb, proto) })
				t.Run("Large", func(t *testing.T) { ctLarge(t, rdb) })
				t.Run("Pipeline", func(t *testing.T) { ctPipeline(t, rdb) })
				t.Run("KeyspaceByType", func(t *testing.T) { ctKeyspaceByType(t, rdb) })
				t.Run("Edges", func(t *testing.T) { ctEdges(t, rdb) })
			})
		}
	}
	t.Run("DumpInterop", func(t *testing.T) { ctDumpInterop(t, targets[0].Addr, targets[1].Addr) })
}

func ctStrings(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	ctWant(t, rdb.Set(ctx, "{s}a", "v", 0), "OK")
	ctWant(t, rdb.Get(ctx, "{s}a"), "v")
	ctWantNil(t, rdb.Get(ctx, "{s}none"))
	ctWant(t, rdb.Incr(ctx, "{s}n"), int64(1))
	ctWant(t, rdb.IncrByFloat(ctx, "{s}f", 2.5), 2.5)
	ctWant(t, rdb.Append(ctx, "{s}a", "w"), int64(2))
	ctWant(t, rdb.MGet(ctx, "{s}a", "{s}none", "{s}n"), []any{"vw", nil, "1"})
	ctWant(t, rdb.SetNX(ctx, "{s}a", "x", 0), false)
	ctWant(t, rdb.GetDel(ctx, "{s}a"), "vw")
	ctWant(t, rdb.Exists(ctx, "{s}a"), int64(0))
}

func ctHashes(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	h := "{h}1"
	ctWant(t, rdb.HSet(ctx, h, "f1", "v1", "f2", "v2", "n", "10.5"), int64(3))
	ctWant(t, rdb.HSet(ctx, h, map[string]any{"f1": "v1b", "f3": "v3"}), int64(1))
	ctWant(t, rdb.HGet(ctx, h, "f1"), "v1b")
	ctWantNil(t, rdb.HGet(ctx, h, "none"))
	ctWant(t, rdb.HMGet(ctx, h, "f2", "none", "f3"), []any{"v2", nil, "v3"})
	all := map[string]string{"f1": "v1b", "f2": "v2", "f3": "v3", "n": "10.5"}
	ctWant(t, rdb.HGetAll(ctx, h), all)
	ctWant(t, rdb.HGetAll(ctx, "{h}none"), map[string]string{})
	ctWant(t, rdb.HIncrByFloat(ctx, h, "n", 0.25), 10.75)
	ctWant(t, rdb.HIncrByFloat(ctx, h, "new", -1.5), -1.5)
	ctWant(t, rdb.HIncrBy(ctx, h, "i", 7), int64(7))
	ctWant(t, rdb.HLen(ctx, h), int64(6))
	ctWant(t, rdb.HExists(ctx, h, "f2"), true)
	ctWant(t, rdb.HDel(ctx, h, "new", "i", "none"), int64(2))
	all["n"] = "10.75"
	ctWantSorted(t, rdb.HKeys(ctx, h), []string{"f1", "f2", "f3", "n"})
	ctWantSorted(t, rdb.HVals(ctx, h), []string{"10.75", "v1b", "v2", "v3"})

	// HRANDFIELD … WITHVALUES: pairs in RESP3, flat in RESP2; go-redis
	// reads both into KeyValues, which must be real fields with their values.
	for _, count := range []int{2, 4, 10, -6} {
		cmd := rdb.HRandFieldWithValues(ctx, h, count)
		kvs, err := cmd.Result()
		if err != nil {
			t.Errorf("%s: %v", ctFmt(cmd.Args()), err)
			continue
		}
		want := count
		if count > len(all) {
			want = len(all)
		}
		if count < 0 {
			want = -count
		}
		if len(kvs) != want {
			t.Errorf("%s: %d pairs, want %d: %#v", ctFmt(cmd.Args()), len(kvs), want, kvs)
		}
		seen := map[string]bool{}
		for _, kv := range kvs {
			if v, ok := all[kv.Key]; !ok || v != kv.Value {
				t.Errorf("%s: pair %q=%q is not in the hash %v", ctFmt(cmd.Args()), kv.Key, kv.Value, all)
			}
			if seen[kv.Key] && count > 0 {
				t.Errorf("%s: %q twice with a positive count", ctFmt(cmd.Args()), kv.Key)
			}
			seen[kv.Key] = true
		}
	}
	ctWant(t, rdb.HRandFieldWithValues(ctx, "{h}none", 3), []redis.KeyValue{})

	// HSCAN, with and without MATCH.
	got := ctPairs(t, "HSCAN", ctScan(t, func(c uint64) *redis.ScanCmd { return rdb.HScan(ctx, h, c, "", 2) }))
	if !reflect.DeepEqual(got, all) {
		t.Errorf("HSCAN %s: got %v, want %v", h, got, all)
	}
	got = ctPairs(t, "HSCAN MATCH", ctScan(t, func(c uint64) *redis.ScanCmd { return rdb.HScan(ctx, h, c, "f*", 0) }))
	if want := map[string]string{"f1": "v1b", "f2": "v2", "f3": "v3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("HSCAN %s MATCH f*: got %v, want %v", h, got, want)
	}
}

func ctLists(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	l, l2, empty := "{l}1", "{l}2", "{l}empty"
	ctWant(t, rdb.LPush(ctx, l, "a", "b"), int64(2))
	ctWant(t, rdb.RPush(ctx, l, "c", "a", "d"), int64(5))
	ctWant(t, rdb.LRange(ctx, l, 0, -1), []string{"b", "a", "c", "a", "d"})
	ctWant(t, rdb.LRange(ctx, l, -2, 100), []string{"a", "d"})
	ctWant(t, rdb.LRange(ctx, empty, 0, -1), []string{})
	ctWant(t, rdb.LLen(ctx, l), int64(5))
	ctWant(t, rdb.LIndex(ctx, l, -1), "d")
	ctWant(t, rdb.LPos(ctx, l, "a", redis.LPosArgs{}), int64(1))
	ctWant(t, rdb.LPos(ctx, l, "a", redis.LPosArgs{Rank: -1}), int64(3))
	ctWantNil(t, rdb.LPos(ctx, l, "zz", redis.LPosArgs{}))
	ctWant(t, rdb.LPosCount(ctx, l, "a", 0, redis.LPosArgs{}), []int64{1, 3})
	ctWant(t, rdb.LPosCount(ctx, l, "zz", 0, redis.LPosArgs{}), []int64{})
	ctWant(t, rdb.LMove(ctx, l, l2, "LEFT", "RIGHT"), "b")
	ctWant(t, rdb.LMove(ctx, l, l2, "RIGHT", "LEFT"), "d")
	ctWant(t, rdb.LRange(ctx, l2, 0, -1), []string{"d", "b"})
	ctWantNil(t, rdb.LMove(ctx, empty, l2, "LEFT", "LEFT"))

	// LMPOP answers [key, [elements]]: go-redis reads it into the key and values.
	cmd := rdb.LMPop(ctx, "left", 2, empty, l)
	if key, vals, err := cmd.Result(); err != nil || key != l || !reflect.DeepEqual(vals, []string{"a", "c"}) {
		t.Errorf("%s: got %q %q (err %v), want %q [a c]", ctFmt(cmd.Args()), key, vals, err, l)
	}
	cmd = rdb.LMPop(ctx, "right", 10, l2)
	if key, vals, err := cmd.Result(); err != nil || key != l2 || !reflect.DeepEqual(vals, []string{"b", "d"}) {
		t.Errorf("%s: got %q %q (err %v), want %q [b d]", ctFmt(cmd.Args()), key, vals, err, l2)
	}
	if err := rdb.LMPop(ctx, "left", 1, empty, l2).Err(); err != redis.Nil {
		t.Errorf("LMPOP of empty lists: want redis.Nil, got %v", err)
	}

	ctWant(t, rdb.RPush(ctx, l, "x", "y", "z"), int64(4))
	ctWant(t, rdb.LPopCount(ctx, l, 2), []string{"a", "x"})
	ctWant(t, rdb.RPopCount(ctx, l, 5), []string{"z", "y"})
	ctWantNil(t, rdb.LPopCount(ctx, l, 2))
	ctWant(t, rdb.Exists(ctx, l, l2), int64(0)) // emptied lists are deleted
}

func ctSets(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	s, s2 := "{s}set1", "{s}set2"
	ctWant(t, rdb.SAdd(ctx, s, "a", "b", "c", "d"), int64(4))
	ctWant(t, rdb.SAdd(ctx, s, "a", "e"), int64(1))
	ctWant(t, rdb.SAdd(ctx, s2, "c", "d", "e", "f"), int64(4))
	ctWantSorted(t, rdb.SMembers(ctx, s), []string{"a", "b", "c", "d", "e"})
	ctWant(t, rdb.SMembers(ctx, "{s}none"), []string{})
	ctWant(t, rdb.SIsMember(ctx, s, "b"), true)
	ctWant(t, rdb.SMIsMember(ctx, s, "a", "x", "e"), []bool{true, false, true})
	ctWant(t, rdb.SInterCard(ctx, 0, s, s2), int64(3))
	ctWant(t, rdb.SInterCard(ctx, 2, s, s2), int64(2))
	ctWantSorted(t, rdb.SInter(ctx, s, s2), []string{"c", "d", "e"})
	ctWantSorted(t, rdb.SUnion(ctx, s, s2), []string{"a", "b", "c", "d", "e", "f"})
	ctWantSorted(t, rdb.SDiff(ctx, s, s2), []string{"a", "b"})
	ctWant(t, rdb.SCard(ctx, s), int64(5))

	got := ctScan(t, func(c uint64) *redis.ScanCmd { return rdb.SScan(ctx, s, c, "", 2) })
	if want := []string{"a", "b", "c", "d", "e"}; !reflect.DeepEqual(ctSorted(got), want) {
		t.Errorf("SSCAN %s: got %q, want %q", s, got, want)
	}
	got = ctScan(t, func(c uint64) *redis.ScanCmd { return rdb.SScan(ctx, s2, c, "[ef]", 100) })
	if want := []string{"e", "f"}; !reflect.DeepEqual(ctSorted(got), want) {
		t.Errorf("SSCAN %s MATCH [ef]: got %q, want %q", s2, got, want)
	}

	popped := ctGet(t, rdb.SPopN(ctx, s, 2))
	if len(popped) != 2 {
		t.Errorf("SPOP %s 2: got %q, want two members", s, popped)
	}
	for _, m := range popped {
		if !strings.Contains("abcde", m) || len(m) != 1 {
			t.Errorf("SPOP %s 2: %q was not a member", s, m)
		}
		ctWant(t, rdb.SIsMember(ctx, s, m), false)
	}
	ctWant(t, rdb.SCard(ctx, s), int64(3))
	ctWant(t, rdb.SPopN(ctx, "{s}none", 2), []string{})
	ctWant(t, rdb.SMove(ctx, s2, s, "f"), true)
}

func ctZSets(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	z, z2, dst, empty := "{z}1", "{z}2", "{z}dst", "{z}empty"
	ctWant(t, rdb.ZAdd(ctx, z, redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 3, Member: "c"}), int64(3))
	// GT CH: a's lower score is ignored, b rises, d is new: two changed.
	ctWant(t, rdb.ZAddArgs(ctx, z, redis.ZAddArgs{GT: true, Ch: true, Members: []redis.Z{
		{Score: 0, Member: "a"}, {Score: 5, Member: "b"}, {Score: 4, Member: "d"},
	}}), int64(2))
	ctWant(t, rdb.ZAddArgsIncr(ctx, z, redis.ZAddArgs{Members: []redis.Z{{Score: 1.5, Member: "a"}}}), 2.5)
	// INCR with GT that would lower the score: a nil reply.
	ctWantNil(t, rdb.ZAddArgsIncr(ctx, z, redis.ZAddArgs{GT: true, Members: []redis.Z{{Score: -1, Member: "a"}}}))
	ctWant(t, rdb.ZAddArgs(ctx, z, redis.ZAddArgs{NX: true, Members: []redis.Z{{Score: 9, Member: "a"}, {Score: math.Inf(1), Member: "inf"}}}), int64(1))
	ctWant(t, rdb.ZScore(ctx, z, "a"), 2.5)
	ctWant(t, rdb.ZScore(ctx, z, "inf"), math.Inf(1))
	ctWantNil(t, rdb.ZScore(ctx, z, "none"))
	ctWant(t, rdb.ZMScore(ctx, z, "a", "none", "b", "inf"), []float64{2.5, 0, 5, math.Inf(1)})
	ctWant(t, rdb.ZIncrBy(ctx, z, -0.5, "c"), 2.5)
	ctWant(t, rdb.ZCard(ctx, z), int64(5))
	ctWant(t, rdb.ZRank(ctx, z, "d"), int64(2))

	all := []redis.Z{{Score: 2.5, Member: "a"}, {Score: 2.5, Member: "c"}, {Score: 4, Member: "d"}, {Score: 5, Member: "b"}, {Score: math.Inf(1), Member: "inf"}}
	ctWant(t, rdb.ZRangeWithScores(ctx, z, 0, -1), all)
	ctWant(t, rdb.ZRangeWithScores(ctx, empty, 0, -1), []redis.Z{})
	ctWant(t, rdb.ZRange(ctx, z, 1, 2), []string{"c", "d"})
	ctWant(t, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: z, Start: "(2.5", Stop: "+inf", ByScore: true}), []string{"d", "b", "inf"})
	ctWant(t, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: z, Start: 5, Stop: 2, ByScore: true, Rev: true, Offset: 1, Count: 2}), []string{"d", "c"})
	ctWant(t, rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: z, Start: "-inf", Stop: 4, ByScore: true, Offset: 1, Count: 5}),
		[]redis.Z{{Score: 2.5, Member: "c"}, {Score: 4, Member: "d"}})
	ctWant(t, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: z, Start: 0, Stop: 1, Rev: true}), []string{"inf", "b"})

	// BYLEX needs equal scores.
	ctWant(t, rdb.ZAdd(ctx, z2, redis.Z{Member: "apple"}, redis.Z{Member: "banana"}, redis.Z{Member: "cherry"}, redis.Z{Member: "date"}), int64(4))
	ctWant(t, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: z2, Start: "[banana", Stop: "(date", ByLex: true}), []string{"banana", "cherry"})
	ctWant(t, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: z2, Start: "+", Stop: "-", ByLex: true, Rev: true, Offset: 0, Count: 3}), []string{"date", "cherry", "banana"})
	ctWant(t, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: z2, Start: "-", Stop: "+", ByLex: true, Offset: 2, Count: 10}), []string{"cherry", "date"})

	ctWant(t, rdb.ZRangeStore(ctx, dst, redis.ZRangeArgs{Key: z, Start: 2, Stop: "(5", ByScore: true}), int64(3))
	ctWant(t, rdb.ZRangeWithScores(ctx, dst, 0, -1), []redis.Z{{Score: 2.5, Member: "a"}, {Score: 2.5, Member: "c"}, {Score: 4, Member: "d"}})

	// ZUNION / ZINTERSTORE with weights and aggregates.
	ctWant(t, rdb.ZAdd(ctx, z2, redis.Z{Score: 10, Member: "a"}, redis.Z{Score: 1, Member: "d"}), int64(2))
	ctWant(t, rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{dst, z2}}), []redis.Z{
		{Score: 0, Member: "apple"}, {Score: 0, Member: "banana"}, {Score: 0, Member: "cherry"}, {Score: 0, Member: "date"},
		{Score: 2.5, Member: "c"}, {Score: 5, Member: "d"}, {Score: 12.5, Member: "a"},
	})
	ctWant(t, rdb.ZUnion(ctx, redis.ZStore{Keys: []string{dst, empty}, Weights: []float64{2, 1}}), []string{"a", "c", "d"})
	ctWant(t, rdb.ZInterStore(ctx, "{z}inter", &redis.ZStore{Keys: []string{dst, z2}, Weights: []float64{2, 3}, Aggregate: "MAX"}), int64(2))
	ctWant(t, rdb.ZRangeWithScores(ctx, "{z}inter", 0, -1), []redis.Z{{Score: 8, Member: "d"}, {Score: 30, Member: "a"}})
	ctWant(t, rdb.ZInterStore(ctx, "{z}inter", &redis.ZStore{Keys: []string{dst, empty}}), int64(0))
	ctWant(t, rdb.Exists(ctx, "{z}inter"), int64(0))

	// ZPOPMIN, ZMPOP.
	ctWant(t, rdb.ZPopMin(ctx, dst), []redis.Z{{Score: 2.5, Member: "a"}})
	ctWant(t, rdb.ZPopMin(ctx, dst, 5), []redis.Z{{Score: 2.5, Member: "c"}, {Score: 4, Member: "d"}})
	ctWant(t, rdb.ZPopMin(ctx, dst, 5), []redis.Z{})
	ctWant(t, rdb.ZPopMax(ctx, z), []redis.Z{{Score: math.Inf(1), Member: "inf"}})
	zm := rdb.ZMPop(ctx, "min", 2, empty, z)
	if key, zs, err := zm.Result(); err != nil || key != z || !reflect.DeepEqual(zs, []redis.Z{{Score: 2.5, Member: "a"}, {Score: 2.5, Member: "c"}}) {
		t.Errorf("%s: got %q %#v (err %v), want %q [a:2.5 c:2.5]", ctFmt(zm.Args()), key, zs, err, z)
	}
	zm = rdb.ZMPop(ctx, "max", 1, z)
	if key, zs, err := zm.Result(); err != nil || key != z || !reflect.DeepEqual(zs, []redis.Z{{Score: 5, Member: "b"}}) {
		t.Errorf("%s: got %q %#v (err %v), want %q [b:5]", ctFmt(zm.Args()), key, zs, err, z)
	}
	if err := rdb.ZMPop(ctx, "min", 1, empty, dst).Err(); err != redis.Nil {
		t.Errorf("ZMPOP of empty zsets: want redis.Nil, got %v", err)
	}

	// ZRANDMEMBER … WITHSCORES: real members with their scores.
	scores := map[string]float64{"apple": 0, "banana": 0, "cherry": 0, "date": 0, "a": 10, "d": 1}
	for _, count := range []int{3, 10, -7} {
		cmd := rdb.ZRandMemberWithScores(ctx, z2, count)
		zs, err := cmd.Result()
		if err != nil {
			t.Errorf("%s: %v", ctFmt(cmd.Args()), err)
			continue
		}
		want := min(count, len(scores))
		if count < 0 {
			want = -count
		}
		if len(zs) != want {
			t.Errorf("%s: %d members, want %d", ctFmt(cmd.Args()), len(zs), want)
		}
		for _, m := range zs {
			name, _ := m.Member.(string)
			if s, ok := scores[name]; !ok || s != m.Score {
				t.Errorf("%s: %#v is not a member with its score", ctFmt(cmd.Args()), m)
			}
		}
	}

	// ZSCAN: member, score pairs as strings.
	got := ctPairs(t, "ZSCAN", ctScan(t, func(c uint64) *redis.ScanCmd { return rdb.ZScan(ctx, z2, c, "", 2) }))
	if want := map[string]string{"apple": "0", "banana": "0", "cherry": "0", "date": "0", "a": "10", "d": "1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ZSCAN %s: got %v, want %v", z2, got, want)
	}
	ctWant(t, rdb.ZRem(ctx, z2, "apple", "none"), int64(1))
	ctWant(t, rdb.ZCount(ctx, z2, "0", "(10"), int64(4))
}

func ctBitmaps(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	b, b2, dst := "{b}1", "{b}2", "{b}dst"
	ctWant(t, rdb.SetBit(ctx, b, 7, 1), int64(0))
	ctWant(t, rdb.SetBit(ctx, b, 7, 1), int64(1))
	ctWant(t, rdb.SetBit(ctx, b, 12, 1), int64(0))
	ctWant(t, rdb.GetBit(ctx, b, 12), int64(1))
	ctWant(t, rdb.Get(ctx, b), "\x01\x08")
	ctWant(t, rdb.BitCount(ctx, b, nil), int64(2))
	ctWant(t, rdb.BitCount(ctx, b, &redis.BitCount{Start: 1, End: -1}), int64(1))
	ctWant(t, rdb.BitCount(ctx, b, &redis.BitCount{Start: 0, End: 7, Unit: redis.BitCountIndexBit}), int64(1))
	ctWant(t, rdb.BitPos(ctx, b, 1), int64(7))
	ctWant(t, rdb.BitPos(ctx, b, 1, 1), int64(12))
	ctWant(t, rdb.BitPos(ctx, b, 0), int64(0))
	ctWant(t, rdb.BitPos(ctx, "{b}none", 1), int64(-1))
	ctWant(t, rdb.Set(ctx, b2, "\xff\x00\xff", 0), "OK")
	ctWant(t, rdb.BitOpAnd(ctx, dst, b, b2), int64(3))
	ctWant(t, rdb.Get(ctx, dst), "\x01\x00\x00")
	ctWant(t, rdb.BitOpOr(ctx, dst, b, b2), int64(3))
	ctWant(t, rdb.Get(ctx, dst), "\xff\x08\xff")
	ctWant(t, rdb.BitField(ctx, "{b}f", "SET", "u8", 0, 255, "GET", "u4", 0, "INCRBY", "i5", 100, 1, "GET", "u4", 4),
		[]int64{0, 15, 1, 15})
	ctWant(t, rdb.BitField(ctx, "{b}f", "OVERFLOW", "SAT", "INCRBY", "u8", 0, 10, "OVERFLOW", "WRAP", "INCRBY", "u8", 0, 1),
		[]int64{255, 0})
	ctWant(t, rdb.BitFieldRO(ctx, "{b}f", "u8", 0, "i5", 100), []int64{0, 1})
}

func ctHLL(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	h1, h2, dst := "{p}1", "{p}2", "{p}dst"
	ctWant(t, rdb.PFAdd(ctx, h1, "a", "b", "c"), int64(1))
	ctWant(t, rdb.PFAdd(ctx, h1, "a"), int64(0))
	ctWant(t, rdb.PFAdd(ctx, h2, "c", "d"), int64(1))
	ctWant(t, rdb.PFCount(ctx, h1), int64(3))
	ctWant(t, rdb.PFCount(ctx, h1, h2), int64(4))
	ctWant(t, rdb.PFCount(ctx, "{p}none"), int64(0))
	ctWant(t, rdb.PFMerge(ctx, dst, h1, h2), "OK")
	ctWant(t, rdb.PFCount(ctx, dst), int64(4))
	var many []any
	for i := 0; i < 1000; i++ {
		many = append(many, "m"+strconv.Itoa(i))
	}
	ctWant(t, rdb.PFAdd(ctx, h2, many...), int64(1))
	// 1002 distinct elements: the estimate is within HLL's standard error.
	if n := ctGet(t, rdb.PFCount(ctx, h2)); n < 970 || n > 1035 {
		t.Errorf("PFCOUNT %s: %d, want about 1002", h2, n)
	}
	ctWant(t, rdb.Type(ctx, dst), "string")
}

// ctGeo checks GEO through go-redis's typed API: positions and distances
// parse as floats, searches come back in distance order with their
// coordinates, and a stored search is a sorted set of geohash scores.
func ctGeo(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	g, dst := "{g}sicily", "{g}near"
	ctWant(t, rdb.GeoAdd(ctx, g,
		&redis.GeoLocation{Name: "Palermo", Longitude: 13.361389, Latitude: 38.115556},
		&redis.GeoLocation{Name: "Catania", Longitude: 15.087269, Latitude: 37.502669}), int64(2))
	if d := ctGet(t, rdb.GeoDist(ctx, g, "Palermo", "Catania", "km")); d < 166.27 || d > 166.28 {
		t.Errorf("GEODIST Palermo Catania km = %v, want 166.2742", d)
	}
	ctWant(t, rdb.GeoHash(ctx, g, "Palermo", "Catania", "Nowhere"), []string{"sqc8b49rny0", "sqdtr74hyu0", ""})
	pos := ctGet(t, rdb.GeoPos(ctx, g, "Palermo", "Nowhere"))
	if len(pos) != 2 || pos[0] == nil || pos[1] != nil || pos[0].Longitude < 13.3613 || pos[0].Longitude > 13.3614 {
		t.Errorf("GEOPOS Palermo Nowhere = %v", pos)
	}
	found := ctGet(t, rdb.GeoSearchLocation(ctx, g, &redis.GeoSearchLocationQuery{
		GeoSearchQuery: redis.GeoSearchQuery{Longitude: 15, Latitude: 37, Radius: 200, RadiusUnit: "km", Sort: "ASC"},
		WithCoord:      true, WithDist: true,
	}))
	if len(found) != 2 || found[0].Name != "Catania" || found[1].Name != "Palermo" || found[0].Dist < 56.44 || found[0].Dist > 56.45 || found[0].Latitude == 0 {
		t.Errorf("GEOSEARCH FROMLONLAT 15 37 BYRADIUS 200 km ASC = %+v", found)
	}
	ctWant(t, rdb.GeoSearchStore(ctx, g, dst, &redis.GeoSearchStoreQuery{
		GeoSearchQuery: redis.GeoSearchQuery{Member: "Palermo", BoxWidth: 400, BoxHeight: 400, BoxUnit: "km"},
	}), int64(2))
	ctWant(t, rdb.ZScore(ctx, dst, "Palermo"), float64(3479099956230698))
	ctWant(t, rdb.Type(ctx, dst), "zset")
}

func ctKeys(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	h, l, s, z, str := "{k}h", "{k}l", "{k}s", "{k}z", "{k}str"
	ctWant(t, rdb.HSet(ctx, h, "f", "v", "g", "w"), int64(2))
	ctWant(t, rdb.RPush(ctx, l, "a", "b", "c"), int64(3))
	ctWant(t, rdb.SAdd(ctx, s, "x", "y"), int64(2))
	ctWant(t, rdb.ZAdd(ctx, z, redis.Z{Score: 1.5, Member: "m"}, redis.Z{Score: -2, Member: "n"}), int64(2))
	ctWant(t, rdb.Set(ctx, str, "v", 0), "OK")
	for key, typ := range map[string]string{h: "hash", l: "list", s: "set", z: "zset", str: "string", "{k}none": "none"} {
		ctWant(t, rdb.Type(ctx, key), typ)
	}

	// Expiry works on every type.
	for _, key := range []string{h, l, s, z} {
		ctWant(t, rdb.Expire(ctx, key, 100*time.Second), true)
		if ttl := ctGet(t, rdb.TTL(ctx, key)); ttl < 98*time.Second || ttl > 100*time.Second {
			t.Errorf("TTL %s: %v, want about 100s", key, ttl)
		}
	}
	ctWant(t, rdb.Persist(ctx, z), true)
	ctWant(t, rdb.TTL(ctx, z), time.Duration(-1))

	// Rename and copy keep contents and, for RENAME, the TTL.
	ctWant(t, rdb.Rename(ctx, h, "{k}h2"), "OK")
	ctWant(t, rdb.HGetAll(ctx, "{k}h2"), map[string]string{"f": "v", "g": "w"})
	if ttl := ctGet(t, rdb.TTL(ctx, "{k}h2")); ttl < 98*time.Second {
		t.Errorf("TTL after RENAME: %v, want about 100s", ttl)
	}
	ctWant(t, rdb.RenameNX(ctx, l, "{k}h2"), false)
	ctWant(t, rdb.Copy(ctx, l, "{k}l2", 0, false), int64(1))
	ctWant(t, rdb.Copy(ctx, l, "{k}l2", 0, false), int64(0))
	ctWant(t, rdb.RPush(ctx, "{k}l2", "d"), int64(4))
	ctWant(t, rdb.LRange(ctx, l, 0, -1), []string{"a", "b", "c"}) // the copy is independent
	ctWant(t, rdb.Copy(ctx, z, "{k}l2", 0, true), int64(1))
	ctWant(t, rdb.ZRangeWithScores(ctx, "{k}l2", 0, -1), []redis.Z{{Score: -2, Member: "n"}, {Score: 1.5, Member: "m"}})
	ctWant(t, rdb.Copy(ctx, s, "{k}s2", 0, false), int64(1))
	ctWantSorted(t, rdb.SMembers(ctx, "{k}s2"), []string{"x", "y"})

	// DUMP and RESTORE round-trip every type.
	payloads := map[string]string{}
	for _, key := range []string{"{k}h2", l, s, z, str} {
		payloads[key] = ctGet(t, rdb.Dump(ctx, key))
	}
	ctWantNil(t, rdb.Dump(ctx, "{k}none"))
	ctWant(t, rdb.Del(ctx, "{k}h2", l, s, z, str, "{k}none"), int64(5))
	for key, p := range payloads {
		ctWant(t, rdb.Restore(ctx, key, 0, p), "OK")
	}
	ctWant(t, rdb.HGetAll(ctx, "{k}h2"), map[string]string{"f": "v", "g": "w"})
	ctWant(t, rdb.LRange(ctx, l, 0, -1), []string{"a", "b", "c"})
	ctWantSorted(t, rdb.SMembers(ctx, s), []string{"x", "y"})
	ctWant(t, rdb.ZRangeWithScores(ctx, z, 0, -1), []redis.Z{{Score: -2, Member: "n"}, {Score: 1.5, Member: "m"}})
	ctWant(t, rdb.Get(ctx, str), "v")
	ctWant(t, rdb.TTL(ctx, l), time.Duration(-1))
	ctWantErr(t, rdb.Restore(ctx, l, 0, payloads[l]), "BUSYKEY Target key name already exists.")
	ctWant(t, rdb.RestoreReplace(ctx, l, 50*time.Second, payloads[s]), "OK")
	ctWant(t, rdb.Type(ctx, l), "set")
	if ttl := ctGet(t, rdb.TTL(ctx, l)); ttl < 48*time.Second || ttl > 50*time.Second {
		t.Errorf("TTL after RESTORE 50000: %v", ttl)
	}
	ctWantErr(t, rdb.Restore(ctx, "{k}bad", 0, "not a payload"), "ERR DUMP payload version or checksum are wrong")

	// DEL of collections, spread over partitions (the proxy splits DEL).
	ctWant(t, rdb.HSet(ctx, "del:h", "f", "v"), int64(1))
	ctWant(t, rdb.RPush(ctx, "del:l", "a"), int64(1))
	ctWant(t, rdb.SAdd(ctx, "del:s", "a"), int64(1))
	ctWant(t, rdb.ZAdd(ctx, "del:z", redis.Z{Score: 1, Member: "a"}), int64(1))
	ctWant(t, rdb.Del(ctx, "del:h", "del:l", "del:s", "del:z", "del:none"), int64(4))
	ctWant(t, rdb.Exists(ctx, "del:h", "del:l", "del:s", "del:z"), int64(0))
}

// ctEncodings checks OBJECT ENCODING against Redis 7.0's choices, which
// depend on size and content (7.0 lists are always quicklists; sets are
// intsets or hashtables; small hashes and zsets are listpacks).
func ctEncodings(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	ctWant(t, rdb.Set(ctx, "{e}int", "12345", 0), "OK")
	ctWant(t, rdb.Set(ctx, "{e}emb", "short", 0), "OK")
	ctWant(t, rdb.Set(ctx, "{e}raw", strings.Repeat("x", 50), 0), "OK")
	ctWant(t, rdb.HSet(ctx, "{e}h", "f", "v"), int64(1))
	ctWant(t, rdb.RPush(ctx, "{e}l", "a"), int64(1))
	ctWant(t, rdb.SAdd(ctx, "{e}si", 1, 2, 3), int64(3))
	ctWant(t, rdb.SAdd(ctx, "{e}ss", "a", "b"), int64(2))
	ctWant(t, rdb.ZAdd(ctx, "{e}z", redis.Z{Score: 1, Member: "a"}), int64(1))
	var bigH []any
	var bigZ []redis.Z
	for i := 0; i < 600; i++ { // over hash-max-listpack-entries, 512 in 7.0
		bigH = append(bigH, "f"+strconv.Itoa(i), i)
	}
	for i := 0; i < 200; i++ { // over zset-max-listpack-entries, 128
		bigZ = append(bigZ, redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
	}
	ctWant(t, rdb.HSet(ctx, "{e}hbig", bigH...), int64(600))
	ctWant(t, rdb.ZAdd(ctx, "{e}zbig", bigZ...), int64(200))
	ctWant(t, rdb.HSet(ctx, "{e}hlong", "f", strings.Repeat("v", 100)), int64(1))
	for key, enc := range map[string]string{
		"{e}int": "int", "{e}emb": "embstr", "{e}raw": "raw",
		"{e}h": "listpack", "{e}hbig": "hashtable", "{e}hlong": "hashtable",
		"{e}l": "quicklist", "{e}si": "intset", "{e}ss": "hashtable",
		"{e}z": "listpack", "{e}zbig": "skiplist",
	} {
		ctWant(t, rdb.ObjectEncoding(ctx, key), enc)
	}
	ctWantNil(t, rdb.ObjectEncoding(ctx, "{e}none"))
}

func ctErrors(t *testing.T, rdb *redis.Client, sharded bool) {
	ctx := ctCtx(t)
	str, h, l, s, z := "{x}str", "{x}h", "{x}l", "{x}s", "{x}z"
	ctWant(t, rdb.Set(ctx, str, "v", 0), "OK")
	ctWant(t, rdb.HSet(ctx, h, "f", "v"), int64(1))
	ctWant(t, rdb.RPush(ctx, l, "a"), int64(1))
	ctWant(t, rdb.SAdd(ctx, s, "a"), int64(1))
	ctWant(t, rdb.ZAdd(ctx, z, redis.Z{Score: 1, Member: "a"}), int64(1))
	for _, cmd := range []redis.Cmder{
		rdb.Get(ctx, h),
		rdb.HGet(ctx, l, "f"),
		rdb.HGetAll(ctx, str),
		rdb.LPush(ctx, h, "x"),
		rdb.LRange(ctx, s, 0, -1),
		rdb.SAdd(ctx, z, "x"),
		rdb.SMembers(ctx, h),
		rdb.ZAdd(ctx, s, redis.Z{Score: 1, Member: "x"}),
		rdb.ZRangeWithScores(ctx, l, 0, -1),
		rdb.ZScore(ctx, h, "f"),
		rdb.SetBit(ctx, l, 1, 1),
		rdb.BitCount(ctx, z, nil),
		rdb.PFAdd(ctx, h, "x"),
		rdb.SInterCard(ctx, 0, s, l),
		rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{z, h}}),
		rdb.Append(ctx, s, "x"),
		rdb.Incr(ctx, z),
	} {
		ctWantErr(t, cmd, ctWrongType)
	}
	ctWantErr(t, rdb.PFCount(ctx, str), "WRONGTYPE Key is not a valid HyperLogLog string value.")
	ctWantErr(t, rdb.HIncrByFloat(ctx, h, "f", 1), "ERR hash value is not a float")
	ctWantErr(t, rdb.ZAdd(ctx, z, redis.Z{Score: math.NaN(), Member: "a"}), "ERR value is not a valid float")
	ctWantErr(t, rdb.Do(ctx, "ZADD", z, "NX", "GT", 1, "a"), "ERR GT, LT, and/or NX options at the same time are not compatible")
	ctWantErr(t, rdb.BitField(ctx, str, "GET", "u99", 0), "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
	ctWant(t, rdb.Get(ctx, str), "v") // the connection is still in step

	if !sharded {
		return
	}
	// Keys without a common hash tag live in different partitions.
	a := "cross:a"
	b := itOtherPartition(a, "cross:b")
	ctWant(t, rdb.SAdd(ctx, a, "1"), int64(1))
	ctWant(t, rdb.SAdd(ctx, b, "1"), int64(1))
	for _, cmd := range []redis.Cmder{
		rdb.SUnion(ctx, a, b),
		rdb.SInter(ctx, a, b),
		rdb.SInterCard(ctx, 0, a, b),
		rdb.SMove(ctx, a, b, "1"),
		rdb.SUnionStore(ctx, a, b),
		rdb.LMove(ctx, a, b, "LEFT", "RIGHT"),
		rdb.LMPop(ctx, "left", 1, a, b),
		rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{a, b}}),
		rdb.ZInterStore(ctx, a, &redis.ZStore{Keys: []string{b}}),
		rdb.ZRangeStore(ctx, a, redis.ZRangeArgs{Key: b, Start: 0, Stop: -1}),
		rdb.ZMPop(ctx, "min", 1, a, b),
		rdb.BitOpAnd(ctx, a, b),
		rdb.PFCount(ctx, a, b),
		rdb.PFMerge(ctx, a, b),
		rdb.Rename(ctx, a, b),
		rdb.Copy(ctx, a, b, 0, true),
	} {
		ctWantErr(t, cmd, ctCrossSlot)
	}
	ctWant(t, rdb.SCard(ctx, b), int64(1)) // nothing was changed
}

// ctRaw is one reply shape per protocol, as go-redis's untyped Do reports
// it: RESP3 doubles are float64, maps map[any]any, sets and arrays []any.
type ctRaw struct {
	args         []any
	resp2, resp3 any
}

// ctRawShapes pins the replies whose shape differs between RESP2 and RESP3.
// The typed API above is lenient (go-redis reads a zset reply both flat and
// nested), so these make sure Shardis sends each protocol Redis's own shape.
func ctRawShapes(t *testing.T, rdb *redis.Client, proto int) {
	ctx := ctCtx(t)
	for _, c := range [][]any{
		{"HSET", "{r}h", "f", "v"}, // one field: a hash's order is unspecified
		{"ZADD", "{r}z", 1, "a", 2.5, "b"},
		{"SADD", "{r}s", "x"},
		{"RPUSH", "{r}l", "p", "q"},
	} {
		if err := rdb.Do(ctx, c...).Err(); err != nil {
			t.Fatalf("%s: %v", ctFmt(c), err)
		}
	}
	pair := func(m string, s float64) []any { return []any{m, s} }
	for _, c := range []ctRaw{
		{[]any{"HGETALL", "{r}h"}, []any{"f", "v"}, map[any]any{"f": "v"}},
		{[]any{"HGETALL", "{r}none"}, []any{}, map[any]any{}},
		{[]any{"SMEMBERS", "{r}s"}, []any{"x"}, []any{"x"}},
		{[]any{"ZSCORE", "{r}z", "b"}, "2.5", 2.5},
		{[]any{"ZMSCORE", "{r}z", "a", "none"}, []any{"1", nil}, []any{1.0, nil}},
		{[]any{"ZINCRBY", "{r}z", 0, "a"}, "1", 1.0},
		{[]any{"ZADD", "{r}z", "INCR", 0, "b"}, "2.5", 2.5},
		{[]any{"ZRANGE", "{r}z", 0, -1, "WITHSCORES"}, []any{"a", "1", "b", "2.5"}, []any{pair("a", 1), pair("b", 2.5)}},
		{[]any{"ZRANGE", "{r}z", 0, -1}, []any{"a", "b"}, []any{"a", "b"}},
		{[]any{"ZRANGEBYSCORE", "{r}z", "-inf", "+inf", "WITHSCORES"}, []any{"a", "1", "b", "2.5"}, []any{pair("a", 1), pair("b", 2.5)}},
		{[]any{"ZREVRANGE", "{r}z", 0, 0, "WITHSCORES"}, []any{"b", "2.5"}, []any{pair("b", 2.5)}},
		{[]any{"ZUNION", 1, "{r}z", "WITHSCORES"}, []any{"a", "1", "b", "2.5"}, []any{pair("a", 1), pair("b", 2.5)}},
		{[]any{"ZINTER", 1, "{r}z", "WITHSCORES"}, []any{"a", "1", "b", "2.5"}, []any{pair("a", 1), pair("b", 2.5)}},
		{[]any{"ZDIFF", 1, "{r}z", "WITHSCORES"}, []any{"a", "1", "b", "2.5"}, []any{pair("a", 1), pair("b", 2.5)}},
		{[]any{"ZRANDMEMBER", "{r}z", -1, "WITHSCORES"}, itAny, itAny}, // shape checked below
		{[]any{"HRANDFIELD", "{r}none", 2, "WITHVALUES"}, []any{}, []any{}},
		{[]any{"ZSCAN", "{r}z", 0}, []any{"0", []any{"a", "1", "b", "2.5"}}, []any{"0", []any{"a", "1", "b", "2.5"}}},
		{[]any{"HSCAN", "{r}h", 0}, []any{"0", []any{"f", "v"}}, []any{"0", []any{"f", "v"}}},
		{[]any{"HRANDFIELD", "{r}h", 1, "WITHVALUES"}, []any{"f", "v"}, []any{[]any{"f", "v"}}},
		{[]any{"LPOS", "{r}l", "zz"}, itNil, itNil},
		{[]any{"LPOS", "{r}l", "q", "COUNT", 0}, []any{int64(1)}, []any{int64(1)}},
		{[]any{"SMISMEMBER", "{r}s", "x", "y"}, []any{int64(1), int64(0)}, []any{int64(1), int64(0)}},
		{[]any{"BITFIELD", "{r}bf", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 5}, []any{nil}, []any{nil}},
		{[]any{"ZPOPMIN", "{r}z"}, []any{"a", "1"}, []any{"a", 1.0}},
		{[]any{"ZADD", "{r}z", 1, "a"}, int64(1), int64(1)},
		{[]any{"ZPOPMAX", "{r}z", 1}, []any{"b", "2.5"}, []any{pair("b", 2.5)}},
		{[]any{"ZADD", "{r}z", 2.5, "b"}, int64(1), int64(1)},
		{[]any{"ZMPOP", 1, "{r}z", "MIN", "COUNT", 1}, []any{"{r}z", []any{[]any{"a", "1"}}}, []any{"{r}z", []any{pair("a", 1)}}},
		{[]any{"ZMPOP", 1, "{r}none", "MIN"}, itNil, itNil},
		{[]any{"LMPOP", 1, "{r}l", "LEFT"}, []any{"{r}l", []any{"p"}}, []any{"{r}l", []any{"p"}}},
		{[]any{"HINCRBYFLOAT", "{r}h", "n", "1.5"}, "1.5", "1.5"},
		{[]any{"OBJECT", "ENCODING", "{r}none"}, itNil, itNil},
	} {
		want := c.resp3
		if proto == 2 {
			want = c.resp2
		}
		got, err := rdb.Do(ctx, c.args...).Result()
		if merr := itMatch(got, err, want); merr != nil {
			t.Errorf("RESP%d %s: %v", proto, ctFmt(c.args), merr)
		}
	}
	// ZRANDMEMBER with a negative count may repeat members: check the shape.
	got, err := rdb.Do(ctx, "ZRANDMEMBER", "{r}z", -3, "WITHSCORES").Result()
	want := []any{"b", "2.5", "b", "2.5", "b", "2.5"}
	if proto == 3 {
		want = []any{pair("b", 2.5), pair("b", 2.5), pair("b", 2.5)}
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RESP%d ZRANDMEMBER {r}z -3 WITHSCORES: got %#v (err %v), want %#v", proto, got, err, want)
	}
}

// ctDoubles pins how scores are written: Redis 7.0 formats doubles with
// %.17g in both protocols, so a RESP2 client reads "0.10000000000000001"
// where the proxy converts a RESP3 double; infinities are "inf" and "-inf".
func ctDoubles(t *testing.T, rdb *redis.Client, proto int) {
	ctx := ctCtx(t)
	z := "{dbl}z"
	if err := rdb.Do(ctx, "ZADD", z, "0.1", "tenth", "-0", "negzero", "1e300", "big", "1.5e-7", "tiny", "-inf", "ninf", "3", "three").Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		member string
		resp2  string
		resp3  float64
	}{
		{"tenth", "0.10000000000000001", 0.1},
		{"negzero", "0", 0}, // Redis stores -0 as 0
		{"big", "1.0000000000000001e+300", 1e300},
		{"tiny", "1.4999999999999999e-07", 1.5e-7},
		{"ninf", "-inf", math.Inf(-1)},
		{"three", "3", 3},
	} {
		got, err := rdb.Do(ctx, "ZSCORE", z, c.member).Result()
		var ok bool
		if proto == 2 {
			ok = err == nil && got == c.resp2
		} else {
			f, isF := got.(float64)
			ok = err == nil && isF && f == c.resp3 && math.Signbit(f) == math.Signbit(c.resp3)
		}
		if !ok {
			t.Errorf("RESP%d ZSCORE %s %s: got %#v (err %v), want %q / %v", proto, z, c.member, got, err, c.resp2, c.resp3)
		}
		ctWant(t, rdb.ZScore(ctx, z, c.member), c.resp3)
	}
	want := []any{"ninf", "-inf", "negzero", "0", "tiny", "1.4999999999999999e-07", "tenth", "0.10000000000000001"}
	if proto == 3 {
		want = []any{[]any{"ninf", math.Inf(-1)}, []any{"negzero", 0.0}, []any{"tiny", 1.5e-7}, []any{"tenth", 0.1}}
	}
	got, err := rdb.Do(ctx, "ZRANGE", z, 0, 3, "WITHSCORES").Result()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RESP%d ZRANGE %s 0 3 WITHSCORES: got %#v (err %v), want %#v", proto, z, got, err, want)
	}
	incr := "0.30000000000000004"
	var wantIncr any = incr
	if proto == 3 {
		wantIncr = 0.30000000000000004
	}
	if got, err := rdb.Do(ctx, "ZINCRBY", z, "0.2", "tenth").Result(); err != nil || !reflect.DeepEqual(got, wantIncr) {
		t.Errorf("RESP%d ZINCRBY %s 0.2 tenth: got %#v (err %v), want %#v", proto, z, got, err, wantIncr)
	}
	// HINCRBYFLOAT and INCRBYFLOAT answer strings in both protocols, in
	// the shortest form (%.17Lg, then trailing zeros trimmed).
	ctWant(t, rdb.Do(ctx, "HINCRBYFLOAT", "{dbl}h", "f", "0.1"), any("0.1"))
	ctWant(t, rdb.Do(ctx, "HINCRBYFLOAT", "{dbl}h", "f", "0.2"), any("0.3"))
}

// ctLarge reads collections big enough that the replies, and the proxy's
// RESP3-to-RESP2 conversion of them, span many buffers.
func ctLarge(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	const n = 3000
	var zs []redis.Z
	hash := map[string]string{}
	var fields []any
	var list []string
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("member:%05d:%s", i, strings.Repeat("x", i%40))
		zs = append(zs, redis.Z{Score: float64(i) + 0.5, Member: m})
		hash[m] = strconv.Itoa(i)
		fields = append(fields, m, i)
		list = append(list, m)
	}
	ctWant(t, rdb.ZAdd(ctx, "{big}z", zs...), int64(n))
	ctWant(t, rdb.HSet(ctx, "{big}h", fields...), int64(n))
	ctWant(t, rdb.RPush(ctx, "{big}l", list), int64(n))
	ctWant(t, rdb.ZRangeWithScores(ctx, "{big}z", 0, -1), zs)
	ctWant(t, rdb.HGetAll(ctx, "{big}h"), hash)
	ctWant(t, rdb.LRange(ctx, "{big}l", 0, -1), list)
	ctWant(t, rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"{big}z"}}), zs)
	kvs := ctGet(t, rdb.HRandFieldWithValues(ctx, "{big}h", -2000))
	if len(kvs) != 2000 {
		t.Errorf("HRANDFIELD {big}h -2000 WITHVALUES: %d pairs", len(kvs))
	}
	for _, kv := range kvs {
		if hash[kv.Key] != kv.Value {
			t.Errorf("HRANDFIELD {big}h -2000 WITHVALUES: pair %q=%q is not in the hash", kv.Key, kv.Value)
			break
		}
	}
	ctWant(t, rdb.Del(ctx, "{big}z", "{big}h", "{big}l"), int64(3))
}

// ctPipeline sends commands of every type in one go-redis pipeline; each
// typed reply must land on its own command.
func ctPipeline(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	p := rdb.Pipeline()
	hset := p.HSet(ctx, "{pl}h", "f", "v")
	zadd := p.ZAdd(ctx, "{pl}z", redis.Z{Score: 1.5, Member: "m"}, redis.Z{Score: 2, Member: "n"})
	rpush := p.RPush(ctx, "{pl}l", "a", "b")
	sadd := p.SAdd(ctx, "{pl}s", "x")
	pfadd := p.PFAdd(ctx, "{pl}p", "a")
	hgetall := p.HGetAll(ctx, "{pl}h")
	zrange := p.ZRangeWithScores(ctx, "{pl}z", 0, -1)
	zscore := p.ZScore(ctx, "{pl}z", "m")
	wrong := p.LPush(ctx, "{pl}h", "x")
	lrange := p.LRange(ctx, "{pl}l", 0, -1)
	smembers := p.SMembers(ctx, "{pl}s")
	zmscore := p.ZMScore(ctx, "{pl}z", "n", "none")
	pfcount := p.PFCount(ctx, "{pl}p")
	hrand := p.HRandFieldWithValues(ctx, "{pl}h", 1)
	zpop := p.ZPopMin(ctx, "{pl}z", 1)
	typ := p.Type(ctx, "{pl}z")
	if _, err := p.Exec(ctx); err == nil || err.Error() != ctWrongType {
		t.Errorf("pipeline Exec: got %v, want the WRONGTYPE of its one failing command", err)
	}
	ctWant(t, hset, int64(1))
	ctWant(t, zadd, int64(2))
	ctWant(t, rpush, int64(2))
	ctWant(t, sadd, int64(1))
	ctWant(t, pfadd, int64(1))
	ctWant(t, hgetall, map[string]string{"f": "v"})
	ctWant(t, zrange, []redis.Z{{Score: 1.5, Member: "m"}, {Score: 2, Member: "n"}})
	ctWant(t, zscore, 1.5)
	ctWantErr(t, wrong, ctWrongType)
	ctWant(t, lrange, []string{"a", "b"})
	ctWant(t, smembers, []string{"x"})
	ctWant(t, zmscore, []float64{2, 0})
	ctWant(t, pfcount, int64(1))
	ctWant(t, hrand, []redis.KeyValue{{Key: "f", Value: "v"}})
	ctWant(t, zpop, []redis.Z{{Score: 1.5, Member: "m"}})
	ctWant(t, typ, "zset")
}

// ctKeyspaceByType checks the keyspace commands that look at types: SCAN
// with TYPE (which the proxy answers by asking every shard) and SORT of
// lists, sets and zsets.
func ctKeyspaceByType(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	want := map[string][]string{}
	for i := 0; i < 20; i++ {
		h, z := "kt:h"+strconv.Itoa(i), "kt:z"+strconv.Itoa(i)
		ctWant(t, rdb.HSet(ctx, h, "f", "v"), int64(1))
		ctWant(t, rdb.ZAdd(ctx, z, redis.Z{Score: 1, Member: "m"}), int64(1))
		ctWant(t, rdb.Set(ctx, "kt:s"+strconv.Itoa(i), "v", 0), "OK")
		want["hash"] = append(want["hash"], h)
		want["zset"] = append(want["zset"], z)
	}
	for _, typ := range []string{"hash", "zset"} {
		got := ctScan(t, func(c uint64) *redis.ScanCmd { return rdb.ScanType(ctx, c, "kt:*", 7, typ) })
		if w := ctSorted(want[typ]); !reflect.DeepEqual(ctSorted(got), w) {
			t.Errorf("SCAN MATCH kt:* TYPE %s: got %q, want %q", typ, ctSorted(got), w)
		}
	}
	ctWant(t, rdb.RPush(ctx, "{st}l", 3, 1, 2), int64(3))
	ctWant(t, rdb.SAdd(ctx, "{st}s", "b", "c", "a"), int64(3))
	ctWant(t, rdb.ZAdd(ctx, "{st}z", redis.Z{Score: 3, Member: "x"}, redis.Z{Score: 1, Member: "y"}), int64(2))
	ctWant(t, rdb.Sort(ctx, "{st}l", &redis.Sort{}), []string{"1", "2", "3"})
	ctWant(t, rdb.Sort(ctx, "{st}s", &redis.Sort{Alpha: true, Order: "DESC"}), []string{"c", "b", "a"})
	ctWant(t, rdb.Sort(ctx, "{st}z", &redis.Sort{Alpha: true}), []string{"x", "y"})
	ctWant(t, rdb.SortStore(ctx, "{st}l", "{st}out", &redis.Sort{Order: "DESC"}), int64(3))
	ctWant(t, rdb.LRange(ctx, "{st}out", 0, -1), []string{"3", "2", "1"})
}

// ctEdges covers the less common forms: empty and missing keys, expiry in
// the past, encoding conversions as a collection grows, and RESTORE's
// options. Blocking pops are left out: the README lists blocking commands
// as not built yet.
func ctEdges(t *testing.T, rdb *redis.Client) {
	ctx := ctCtx(t)
	// Missing keys: empty arrays, nils.
	ctWant(t, rdb.ZPopMin(ctx, "{eg}none", 2), []redis.Z{})
	ctWant(t, rdb.ZRandMemberWithScores(ctx, "{eg}none", 2), []redis.Z{})
	ctWantNil(t, rdb.Do(ctx, "HRANDFIELD", "{eg}none"))
	ctWantNil(t, rdb.Do(ctx, "SRANDMEMBER", "{eg}none"))
	ctWant(t, rdb.SRandMemberN(ctx, "{eg}none", -3), []string{})
	ctWant(t, rdb.ZMScore(ctx, "{eg}none", "a"), []float64{0})

	// An expiry time in the past deletes a collection at once.
	ctWant(t, rdb.HSet(ctx, "{eg}h", "f", "v"), int64(1))
	ctWant(t, rdb.SAdd(ctx, "{eg}s", "x"), int64(1))
	ctWant(t, rdb.ZAdd(ctx, "{eg}z2", redis.Z{Score: 1, Member: "x"}), int64(1))
	ctWant(t, rdb.RPush(ctx, "{eg}l", "a"), int64(1))
	for _, key := range []string{"{eg}h", "{eg}s", "{eg}z2", "{eg}l"} {
		ctWant(t, rdb.PExpireAt(ctx, key, time.UnixMilli(1)), true)
		ctWant(t, rdb.Type(ctx, key), "none")
	}

	// Encodings convert as collections grow, as Redis 7.0's do.
	ctWant(t, rdb.SAdd(ctx, "{eg}si", 1, 2), int64(2))
	ctWant(t, rdb.ObjectEncoding(ctx, "{eg}si"), "intset")
	ctWant(t, rdb.SAdd(ctx, "{eg}si", "x"), int64(1))
	ctWant(t, rdb.ObjectEncoding(ctx, "{eg}si"), "hashtable")
	ctWant(t, rdb.ZAdd(ctx, "{eg}zl", redis.Z{Score: 1, Member: "a"}), int64(1))
	ctWant(t, rdb.ZAdd(ctx, "{eg}zl", redis.Z{Score: 2, Member: strings.Repeat("m", 65)}), int64(1))
	ctWant(t, rdb.ObjectEncoding(ctx, "{eg}zl"), "skiplist")
	var ints []any
	for i := 0; i < 513; i++ {
		ints = append(ints, i)
	}
	ctWant(t, rdb.SAdd(ctx, "{eg}sbig", ints...), int64(513))
	ctWant(t, rdb.ObjectEncoding(ctx, "{eg}sbig"), "hashtable")

	// RESTORE with ABSTTL and IDLETIME, and a payload carrying a big zset.
	ctWant(t, rdb.ZAdd(ctx, "{eg}zr", redis.Z{Score: 1, Member: "a"}), int64(1))
	payload := ctGet(t, rdb.Dump(ctx, "{eg}zr"))
	at := time.Now().Add(time.Hour).UnixMilli()
	ctWant(t, rdb.Do(ctx, "RESTORE", "{eg}zr2", at, payload, "ABSTTL", "IDLETIME", 100), any("OK"))
	ctWant(t, rdb.PExpireTime(ctx, "{eg}zr2"), time.Duration(at)*time.Millisecond)
	ctWant(t, rdb.ZRangeWithScores(ctx, "{eg}zr2", 0, -1), []redis.Z{{Score: 1, Member: "a"}})
	ctWant(t, rdb.Do(ctx, "RESTORE", "{eg}zr3", 1, payload, "ABSTTL"), any("OK")) // already expired
	ctWant(t, rdb.Exists(ctx, "{eg}zr3"), int64(0))
}

// ctDumpInterop restores DUMP payloads across servers, both ways: Redis's
// into Shardis and Shardis's into Redis, for every type and for the
// encodings Redis picks by size (listpack or hashtable hashes, intset or
// hashtable sets, listpack or skiplist zsets, multi-node quicklists,
// LZF-compressed strings).
func ctDumpInterop(t *testing.T, redisAddr, shardisAddr string) {
	ctx := ctCtx(t)
	build := func(rdb *redis.Client) {
		t.Helper()
		p := rdb.Pipeline()
		p.FlushAll(ctx)
		p.Set(ctx, "{d}int", "-123456", 0)
		p.Set(ctx, "{d}str", "hello", 0)
		p.Set(ctx, "{d}lzf", strings.Repeat("abcdefgh", 100), 0)
		p.HSet(ctx, "{d}h", "f", "v", "n", "12")
		p.RPush(ctx, "{d}l", "a", "-5", "b")
		p.SAdd(ctx, "{d}si", 3, -1, 70000, 1<<40)
		p.SAdd(ctx, "{d}ss", "a", "b", "c")
		p.ZAdd(ctx, "{d}z", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: -3, Member: "b"}, redis.Z{Score: math.Inf(-1), Member: "c"})
		for i := 0; i < 300; i++ {
			p.HSet(ctx, "{d}hbig", "f"+strconv.Itoa(i), strings.Repeat("v", i%70))
			p.RPush(ctx, "{d}lbig", strconv.Itoa(i)+strings.Repeat("x", i%50))
			p.SAdd(ctx, "{d}sbig", "m"+strconv.Itoa(i))
			p.ZAdd(ctx, "{d}zbig", redis.Z{Score: float64(i) / 3, Member: "m" + strconv.Itoa(i)})
		}
		p.PFAdd(ctx, "{d}hll", "a", "b", "c")
		p.SetBit(ctx, "{d}bits", 100, 1)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatalf("building the data set: %v", err)
		}
	}
	keys := []string{"{d}int", "{d}str", "{d}lzf", "{d}h", "{d}l", "{d}si", "{d}ss", "{d}z",
		"{d}hbig", "{d}lbig", "{d}sbig", "{d}zbig", "{d}hll", "{d}bits"}
	// contents reads a key back in a type-independent, order-independent form.
	contents := func(rdb *redis.Client, key string) string {
		t.Helper()
		typ := ctGet(t, rdb.Type(ctx, key))
		var v any
		switch typ {
		case "string":
			v = ctGet(t, rdb.Get(ctx, key))
		case "hash":
			v = ctGet(t, rdb.HGetAll(ctx, key))
		case "list":
			v = ctGet(t, rdb.LRange(ctx, key, 0, -1))
		case "set":
			v = ctSorted(ctGet(t, rdb.SMembers(ctx, key)))
		case "zset":
			v = ctGet(t, rdb.ZRangeWithScores(ctx, key, 0, -1))
		}
		return fmt.Sprintf("%s %v", typ, v)
	}
	from, to := itClient(t, redisAddr, 3), itClient(t, shardisAddr, 3)
	for _, dir := range []struct{ name string }{{"redis->shardis"}, {"shardis->redis"}} {
		t.Run(dir.name, func(t *testing.T) {
			build(from)
			if err := to.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for _, key := range keys {
				payload, err := from.Dump(ctx, key).Result()
				if err != nil {
					t.Errorf("DUMP %s: %v", key, err)
					continue
				}
				if err := to.Restore(ctx, key, 0, payload).Err(); err != nil {
					t.Errorf("RESTORE %s (payload from %s, %d bytes): %v", key, dir.name, len(payload), err)
					continue
				}
				if want, got := contents(from, key), contents(to, key); want != got {
					t.Errorf("%s after RESTORE: got %.200s, want %.200s", key, got, want)
				}
				if key == "{d}hll" {
					ctWant(t, to.PFCount(ctx, key), int64(3))
				}
			}
		})
		from, to = to, from
	}
}

// TestClientTypesRedisPy runs testdata/redispy_types.py (redis-py 4, RESP2)
// against Redis and Shardis; for Shardis it also passes two keys of
// different partitions, for the CROSSSLOT checks.
func TestClientTypesRedisPy(t *testing.T) {
	py := toolPython(t)
	script, err := filepath.Abs(filepath.Join("testdata", "redispy_types.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range ctTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			host, port := toolHostPort(t, target.Addr)
			args := []string{script, host, port}
			if target.Sharded {
				a := "pycross:a"
				args = append(args, a, itOtherPartition(a, "pycross:b"))
			}
			res := toolRun(t, "", py, args...)
			if res.Exit != 0 || !strings.HasSuffix(res.Stdout, "ok\n") {
				t.Errorf("redispy_types.py: exit %d\nstdout:\n%s\nstderr:\n%s", res.Exit, res.Stdout, res.Stderr)
			}
		})
	}
}
