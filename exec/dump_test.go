package exec

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/redistest"
	"github.com/shardis/shardis/rdb"
	"github.com/shardis/shardis/store"
)

// dumpOf runs DUMP and returns the payload (nil for a null reply).
func (s *testStore) dumpOf(key string) []byte {
	s.t.Helper()
	rep := s.do("DUMP", key)
	if rep == "_\r\n" {
		return nil
	}
	i := strings.Index(rep, "\r\n")
	if rep[0] != '$' || i < 0 {
		s.t.Fatalf("DUMP %s: %q", key, rep)
	}
	n, _ := strconv.Atoi(rep[1:i])
	return []byte(rep[i+2 : i+2+n])
}

// dumpCanon is a value's content in an order-free form.
func dumpCanon(v rdb.Value) string {
	var parts []string
	switch v.Kind {
	case rdb.KindString:
		return "string:" + string(v.Str)
	case rdb.KindList:
		for _, e := range v.Elems {
			parts = append(parts, string(e))
		}
		return "list:" + strings.Join(parts, "\x00")
	case rdb.KindSet:
		for _, e := range v.Elems {
			parts = append(parts, string(e))
		}
	case rdb.KindHash:
		for _, p := range v.Fields {
			parts = append(parts, string(p.Field)+"="+string(p.Value))
		}
	case rdb.KindZSet:
		for _, m := range v.ZSet {
			parts = append(parts, string(m.Member)+"="+strconv.FormatFloat(m.Score, 'g', -1, 64))
		}
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d:%s", v.Kind, strings.Join(parts, "\x00"))
}

func mustDecode(t *testing.T, p []byte) rdb.Value {
	t.Helper()
	v, err := rdb.DecodeDump(p)
	if err != nil {
		t.Fatalf("decode %.100q: %v", p, err)
	}
	return v
}

var (
	strPayload  = rdb.EncodeDump(rdb.Value{Kind: rdb.KindString, Str: []byte("hello")})
	listPayload = rdb.EncodeDump(rdb.Value{Kind: rdb.KindList, Elems: [][]byte{[]byte("a"), []byte("b")}})
)

func TestDumpRestoreBasics(t *testing.T) {
	s := newTestStore(t)
	bad := bytes.Clone(strPayload)
	bad[1] ^= 1
	s.expect("_\r\n", "DUMP", "missing")
	s.expect("+OK\r\n", "RESTORE", "k", "0", string(strPayload))
	s.expect(bulk(string(strPayload)), "DUMP", "k")
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"-BUSYKEY Target key name already exists.\r\n", []string{"k", "0", string(strPayload)}},
		{"-BUSYKEY Target key name already exists.\r\n", []string{"k", "-1", "junk"}},
		{"-ERR Invalid TTL value, must be >= 0\r\n", []string{"n", "-1", string(strPayload)}},
		{"-ERR value is not an integer or out of range\r\n", []string{"n", "1.5", string(strPayload)}},
		{"-ERR DUMP payload version or checksum are wrong\r\n", []string{"n", "0", string(bad)}},
		{"-ERR DUMP payload version or checksum are wrong\r\n", []string{"n", "0", "short"}},
		{"-ERR Bad data format\r\n", []string{"n", "0", string(rdb.EncodeDump(rdb.Value{Kind: rdb.KindSet}))}},
		{"-ERR syntax error\r\n", []string{"n", "0", string(strPayload), "bogus"}},
		{"-ERR syntax error\r\n", []string{"n", "0", string(strPayload), "idletime"}},
		{"-ERR syntax error\r\n", []string{"n", "0", string(strPayload), "idletime", "1", "freq", "1"}},
		{"-ERR syntax error\r\n", []string{"n", "0", string(strPayload), "freq", "1", "idletime", "1"}},
		{"-ERR Invalid IDLETIME value, must be >= 0\r\n", []string{"n", "0", string(strPayload), "IDLETIME", "-1"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"n", "0", string(strPayload), "idletime", "x"}},
		{"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n", []string{"n", "0", string(strPayload), "freq", "256"}},
		{"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n", []string{"n", "0", string(strPayload), "freq", "-1"}},
		// Options are parsed before the key is looked at.
		{"-ERR syntax error\r\n", []string{"k", "0", string(strPayload), "bogus"}},
		{"+OK\r\n", []string{"n", "0", string(strPayload), "idletime", "10", "idletime", "20"}},
		{"+OK\r\n", []string{"f", "0", string(strPayload), "FREQ", "255", "replace", "absttl"}},
		{"+OK\r\n", []string{"k", "0", string(listPayload), "REPLACE"}},
	} {
		s.expect(tc.want, append([]string{"RESTORE"}, tc.args...)...)
	}
	s.expect(bulk(string(listPayload)), "DUMP", "k")
	if r, _ := s.record("k"); r.Type != store.TypeList || r.Count != 2 || r.Enc != encQuicklist {
		t.Errorf("replaced record %+v", r)
	}
}

func TestRestoreTTL(t *testing.T) {
	s := newTestStore(t)
	p := string(strPayload)
	for _, tc := range []struct {
		args   []string
		exists bool
		exp    int64
	}{
		{[]string{"a", "0", p}, true, 0},
		{[]string{"b", "5000", p}, true, s.now + 5000},
		{[]string{"c", strconv.FormatInt(s.now+1, 10), p, "ABSTTL"}, true, s.now + 1},
		{[]string{"d", strconv.FormatInt(s.now, 10), p, "ABSTTL"}, false, 0},
		{[]string{"e", "1", p, "absttl"}, false, 0},
		// now + MaxInt64 wraps into the past, as Redis's addition does.
		{[]string{"f", "9223372036854775807", p}, false, 0},
	} {
		s.expect("+OK\r\n", append([]string{"RESTORE"}, tc.args...)...)
		r, ok := s.record(tc.args[0])
		if ok != tc.exists || ok && r.Exp != tc.exp {
			t.Errorf("%v: exists %v exp %d, want %v %d", tc.args[:2], ok, r.Exp, tc.exists, tc.exp)
		}
	}
	// A TTL in the past with REPLACE deletes the key that was there.
	s.expect("+OK\r\n", "RESTORE", "a", "1", string(listPayload), "ABSTTL", "REPLACE")
	if _, ok := s.record("a"); ok {
		t.Error("expired RESTORE REPLACE left the old key")
	}
}

// TestRestoreEncodings checks the encoding a restored value gets, which
// depends on the payload's own encoding as in Redis.
func TestRestoreEncodings(t *testing.T) {
	s := newTestStore(t)
	s.cfg.HashMaxListpackEntries, s.cfg.HashMaxListpackValue = 3, 5
	s.cfg.ZSetMaxListpackEntries, s.cfg.ZSetMaxListpackValue = 3, 5
	s.cfg.SetMaxIntsetEntries = 3
	bs := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, x := range ss {
			out[i] = []byte(x)
		}
		return out
	}
	pairs := func(ss ...string) []rdb.Pair {
		var out []rdb.Pair
		for i := 0; i < len(ss); i += 2 {
			out = append(out, rdb.Pair{Field: []byte(ss[i]), Value: []byte(ss[i+1])})
		}
		return out
	}
	zs := func(ms ...string) []rdb.ZMember {
		var out []rdb.ZMember
		for i, m := range ms {
			out = append(out, rdb.ZMember{Member: []byte(m), Score: float64(i)})
		}
		return out
	}
	H, L, I, S := rdb.EncHashtable, rdb.EncListpack, rdb.EncIntset, rdb.EncSkiplist
	for _, tc := range []struct {
		name string
		v    rdb.Value
		want byte
	}{
		{"list", rdb.Value{Kind: rdb.KindList, Elems: bs("a")}, encQuicklist},
		{"intset", rdb.Value{Kind: rdb.KindSet, Enc: I, Elems: bs("1", "2", "3")}, encIntset},
		{"intset too big", rdb.Value{Kind: rdb.KindSet, Enc: I, Elems: bs("1", "2", "3", "4")}, encHashtable},
		{"plain set of ints", rdb.Value{Kind: rdb.KindSet, Enc: H, Elems: bs("1", "2")}, encIntset},
		{"plain set of strings", rdb.Value{Kind: rdb.KindSet, Enc: H, Elems: bs("1", "a")}, encHashtable},
		{"plain set too big", rdb.Value{Kind: rdb.KindSet, Enc: H, Elems: bs("1", "2", "3", "4")}, encHashtable},
		{"hash listpack", rdb.Value{Kind: rdb.KindHash, Enc: L, Fields: pairs("f", "long value")}, encListpack},
		{"hash listpack too big", rdb.Value{Kind: rdb.KindHash, Enc: L, Fields: pairs("a", "", "b", "", "c", "", "d", "")}, encHashtable},
		{"plain hash", rdb.Value{Kind: rdb.KindHash, Enc: H, Fields: pairs("f", "v")}, encListpack},
		{"plain hash long value", rdb.Value{Kind: rdb.KindHash, Enc: H, Fields: pairs("f", "long value")}, encHashtable},
		{"plain hash long field", rdb.Value{Kind: rdb.KindHash, Enc: H, Fields: pairs("long field", "v")}, encHashtable},
		{"zset listpack", rdb.Value{Kind: rdb.KindZSet, Enc: L, ZSet: zs("long member")}, encListpack},
		{"zset listpack too big", rdb.Value{Kind: rdb.KindZSet, Enc: L, ZSet: zs("a", "b", "c", "d")}, encSkiplist},
		{"skiplist small", rdb.Value{Kind: rdb.KindZSet, Enc: S, ZSet: zs("a", "b")}, encListpack},
		{"skiplist long member", rdb.Value{Kind: rdb.KindZSet, Enc: S, ZSet: zs("long member")}, encSkiplist},
		{"skiplist too big", rdb.Value{Kind: rdb.KindZSet, Enc: S, ZSet: zs("a", "b", "c", "d")}, encSkiplist},
	} {
		p := rdb.EncodeDump(tc.v)
		s.expect("+OK\r\n", "RESTORE", "k", "0", string(p), "REPLACE")
		r, ok := s.record("k")
		if !ok || r.Enc != tc.want || r.Count != int64(len(tc.v.Elems)+len(tc.v.Fields)+len(tc.v.ZSet)) {
			t.Errorf("%s: record %+v, want encoding %q", tc.name, r, tc.want)
			continue
		}
		if got, want := dumpCanon(mustDecode(t, s.dumpOf("k"))), dumpCanon(tc.v); got != want {
			t.Errorf("%s: DUMP back %q, want %q", tc.name, got, want)
		}
	}
}

// TestRestoreZSetLayout checks both sorted-set key spaces after RESTORE.
func TestRestoreZSetLayout(t *testing.T) {
	s := newTestStore(t)
	v := rdb.Value{Kind: rdb.KindZSet, ZSet: []rdb.ZMember{{Member: []byte("b"), Score: 2}, {Member: []byte("a"), Score: -1.5}}}
	s.expect("+OK\r\n", "RESTORE", "z", "0", string(rdb.EncodeDump(v)))
	r, _ := s.record("z")
	var byScore, byMember []string
	err := s.m.View(s.now, func(tx *store.Txn) error {
		if err := tx.Ascend(store.SpaceScore, []byte("z"), r.Gen, nil, nil, func(sub, _ string) bool {
			byScore = append(byScore, fmt.Sprintf("%s@%g", sub[8:], scoreFrom(sub)))
			return true
		}); err != nil {
			return err
		}
		return tx.Ascend(store.SpaceElem, []byte("z"), r.Gen, nil, nil, func(sub, val string) bool {
			byMember = append(byMember, fmt.Sprintf("%s@%g", subMember(sub), scoreFrom(val)))
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(byMember)
	if strings.Join(byScore, " ") != "a@-1.5 b@2" || strings.Join(byMember, " ") != "a@-1.5 b@2" {
		t.Errorf("score space %v, member space %v", byScore, byMember)
	}
}

// dumpRedisCases build values in Redis, one per encoding and edge.
var dumpRedisCases = []struct {
	name string
	cmds [][]any
}{
	{"string", [][]any{{"set", "k", "hello"}}},
	{"int string", [][]any{{"set", "k", "-12345"}}},
	{"long string", [][]any{{"set", "k", strings.Repeat("compress me ", 50)}}},
	{"binary string", [][]any{{"set", "k", "\x00\xff\r\n"}}},
	{"list", [][]any{{"rpush", "k", "a", "1", "-300", strings.Repeat("x", 100)}}},
	{"list many nodes", [][]any{append([]any{"rpush", "k"}, seqArgs("item", 4000)...)}},
	{"intset", [][]any{{"sadd", "k", "3", "1", "-70000"}}},
	{"set hashtable", [][]any{{"sadd", "k", "a", "b", "1"}}},
	{"set big intset", [][]any{append([]any{"sadd", "k"}, seqArgs("", 600)...)}},
	{"hash listpack", [][]any{{"hset", "k", "f", "v", "n", "42", "e", ""}}},
	{"hash hashtable", [][]any{{"hset", "k", "f", strings.Repeat("v", 65), "g", "1"}}},
	{"hash many", [][]any{append([]any{"hset", "k"}, seqArgs("f", 1100)...)}},
	{"zset listpack", [][]any{{"zadd", "k", "1", "a", "2.5", "b", "-inf", "c", "0.1", "d"}}},
	{"zset skiplist", [][]any{{"zadd", "k", "1", strings.Repeat("m", 65), "2", "x"}}},
	{"zset many", [][]any{append([]any{"zadd", "k"}, seqArgs("", 400)...)}},
}

func seqArgs(prefix string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// TestDumpRestoreRedis moves values both ways between Redis and our store:
// a Redis DUMP RESTOREs here with the encoding Redis gives it, our DUMP of
// it is byte for byte Redis's wherever Redis's bytes do not depend on
// insertion or hash-table order, and it RESTOREs into Redis with the same
// content.
func TestDumpRestoreRedis(t *testing.T) {
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	defer rc.Close()
	s := newTestStore(t)
	// Use the thresholds of the Redis we compare with.
	for name, dst := range map[string]*int{
		"hash-max-listpack-entries": &s.cfg.HashMaxListpackEntries,
		"hash-max-listpack-value":   &s.cfg.HashMaxListpackValue,
		"set-max-intset-entries":    &s.cfg.SetMaxIntsetEntries,
		"zset-max-listpack-entries": &s.cfg.ZSetMaxListpackEntries,
		"zset-max-listpack-value":   &s.cfg.ZSetMaxListpackValue,
	} {
		m, err := rc.ConfigGet(ctx, name).Result()
		if err != nil {
			t.Fatal(err)
		}
		*dst, _ = strconv.Atoi(m[name])
	}
	for _, tc := range dumpRedisCases {
		t.Run(tc.name, func(t *testing.T) {
			rc.Del(ctx, "k", "k2")
			for _, c := range tc.cmds {
				if err := rc.Do(ctx, c...).Err(); err != nil {
					t.Fatal(err)
				}
			}
			theirs := []byte(rc.Dump(ctx, "k").Val())
			s.expect("+OK\r\n", "RESTORE", "k", "0", string(theirs), "REPLACE")
			r, _ := s.record("k")
			if r.Type != store.TypeString {
				enc := rc.ObjectEncoding(ctx, "k").Val()
				if got := encodingName(r.Enc); got != enc {
					t.Errorf("encoding %s, Redis has %s", got, enc)
				}
			}
			ours := s.dumpOf("k")
			tv, ov := mustDecode(t, theirs), mustDecode(t, ours)
			if dumpCanon(ov) != dumpCanon(tv) {
				t.Fatalf("content differs:\n ours %.200q\nRedis %.200q", dumpCanon(ov), dumpCanon(tv))
			}
			orderFree := ov.Enc != rdb.EncHashtable && !(ov.Kind == rdb.KindHash && ov.Enc == rdb.EncListpack)
			if orderFree && !bytes.Equal(ours, theirs) {
				t.Errorf("DUMP bytes differ:\n ours %.300q\nRedis %.300q", ours, theirs)
			}
			if err := rc.Restore(ctx, "k2", 0, string(ours)).Err(); err != nil {
				t.Fatalf("Redis refuses our DUMP: %v", err)
			}
			back := []byte(rc.Dump(ctx, "k2").Val())
			if dumpCanon(mustDecode(t, back)) != dumpCanon(tv) {
				t.Errorf("Redis reads different content from our DUMP")
			}
			if ov.Enc != rdb.EncHashtable && !bytes.Equal(back, ours) {
				t.Errorf("Redis re-DUMPs our payload differently:\n ours %.300q\nRedis %.300q", ours, back)
			}
		})
	}
}

// TestRestoreRepliesMatchRedis sends the same RESTOREs to Redis and to us
// and compares the replies and whether the key exists afterwards.
func TestRestoreRepliesMatchRedis(t *testing.T) {
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	defer rc.Close()
	s := newTestStore(t)
	p := string(strPayload)
	v11 := []byte(p)
	v11[len(v11)-10] = 11
	steps := [][]string{
		{"k", "0", p},
		{"k", "0", p},
		{"k", "0", p, "replace", "absttl"},
		{"k", "x", p, "replace"},
		{"k", "-5", p, "replace"},
		{"k", "0", string(v11), "replace"},
		{"k", "0", p[:len(p)-1] + "x", "replace"},
		{"k", "0", "", "replace"},
		{"k", "1", p, "replace", "absttl"},
		{"k", "0", p},
		{"k", "9223372036854775807", p, "replace"},
		{"k", "0", p, "idletime", "5", "freq", "5"},
		{"k", "0", p, "freq", "-1"},
		{"k", "0", p, "idletime", "-1"},
		{"k", "0", p, "idletime", "1.5"},
		{"k", "0", p, "FREQ", "0", "REPLACE"},
		{"k", "0", string(rdb.EncodeDump(rdb.Value{Kind: rdb.KindHash})), "replace"},
		{"k", "0", p, "replace", "extra"},
	}
	for _, st := range steps {
		args := append([]string{"RESTORE"}, st...)
		want := "+OK\r\n"
		anyArgs := make([]any, len(args))
		for i, a := range args {
			anyArgs[i] = a
		}
		if err := rc.Do(ctx, anyArgs...).Err(); err != nil {
			want = "-" + err.Error() + "\r\n"
		}
		s.expect(want, args...)
		redisHas := rc.Exists(ctx, "k").Val() == 1
		if _, ours := s.record("k"); ours != redisHas {
			t.Errorf("after %q: key exists here %v, in Redis %v", st[:2], ours, redisHas)
		}
	}
}
