package exec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shardis/shardis/store"
)

// setSetExp gives an existing key the expiry exp (unix ms).
func setSetExp(s *testStore, key string, exp int64) {
	s.t.Helper()
	err := s.m.Update(s.now, func(t *store.Txn) error {
		r, ok := t.Get([]byte(key))
		if !ok {
			return fmt.Errorf("no key %q", key)
		}
		r.Exp = exp
		return t.Put([]byte(key), &r)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// setStored returns a set's members as stored, sorted, and checks that the
// record's count agrees with them.
func setStored(s *testStore, key string) []string {
	s.t.Helper()
	r, ok := s.record(key)
	if !ok {
		return nil
	}
	if r.Type != store.TypeSet {
		s.t.Fatalf("%q has type %c", key, r.Type)
	}
	var ms []string
	err := s.m.View(s.now, func(t *store.Txn) error {
		return t.Ascend(store.SpaceElem, []byte(key), r.Gen, nil, nil, func(sub, _ string) bool {
			ms = append(ms, subMember(sub))
			return true
		})
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if int64(len(ms)) != r.Count {
		s.t.Errorf("%q: count %d, %d members stored", key, r.Count, len(ms))
	}
	slices.Sort(ms)
	return ms
}

func setExpectStored(s *testStore, key string, members ...string) {
	s.t.Helper()
	got := setStored(s, key)
	want := slices.Clone(members)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		s.t.Errorf("%q holds %q, want %q", key, got, want)
	}
}

func setExpectEnc(s *testStore, key, enc string) {
	s.t.Helper()
	r, ok := s.record(key)
	if !ok {
		s.t.Fatalf("%q missing", key)
	}
	if got := encodingName(r.Enc); got != enc {
		s.t.Errorf("%q encoding %s, want %s", key, got, enc)
	}
}

// setParseFlat parses a reply that is one aggregate (typ: '*' or '~') of bulk
// strings.
func setParseFlat(t testing.TB, typ byte, raw string) []string {
	t.Helper()
	bad := func() []string { t.Fatalf("not a %c of bulks: %q", typ, raw); return nil }
	if len(raw) == 0 || raw[0] != typ {
		return bad()
	}
	line, rest, ok := strings.Cut(raw[1:], "\r\n")
	n, err := strconv.Atoi(line)
	if !ok || err != nil {
		return bad()
	}
	out := []string{}
	for i := 0; i < n; i++ {
		if len(rest) == 0 || rest[0] != '$' {
			return bad()
		}
		line, rest, ok = strings.Cut(rest[1:], "\r\n")
		l, err := strconv.Atoi(line)
		if !ok || err != nil || len(rest) < l+2 || rest[l:l+2] != "\r\n" {
			return bad()
		}
		out = append(out, rest[:l])
		rest = rest[l+2:]
	}
	if rest != "" {
		return bad()
	}
	return out
}

// expectMembers checks a reply of aggregate typ holding exactly members,
// in any order.
func setExpectReply(s *testStore, typ byte, members []string, args ...string) {
	s.t.Helper()
	got := setParseFlat(s.t, typ, s.do(args...))
	slices.Sort(got)
	want := slices.Clone(members)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		s.t.Errorf("%s: got %q, want %q", strings.Join(args, " "), got, want)
	}
}

// setRun runs table rows of the form {want, command, args...}.
func setRun(s *testStore, rows [][]string) {
	s.t.Helper()
	for _, row := range rows {
		s.expect(row[0], row[1:]...)
	}
}

func TestSetsAddRemCard(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	setRun(s, [][]string{
		{":3\r\n", "SADD", "s", "a", "b", "c"},
		{":1\r\n", "sadd", "s", "a", "d", "d", "b"},
		{":0\r\n", "SADD", "s", "a"},
		{":4\r\n", "SCARD", "s"},
		{":0\r\n", "SCARD", "nosuch"},
		{":1\r\n", "SISMEMBER", "s", "a"},
		{":0\r\n", "SISMEMBER", "s", "z"},
		{":0\r\n", "SISMEMBER", "nosuch", "a"},
		{"*3\r\n:1\r\n:0\r\n:1\r\n", "SMISMEMBER", "s", "a", "z", "d"},
		{"*2\r\n:0\r\n:0\r\n", "SMISMEMBER", "nosuch", "a", "a"},
		{":2\r\n", "SREM", "s", "a", "z", "b", "a"},
		{":0\r\n", "SREM", "s", "z"},
		{":0\r\n", "SREM", "nosuch", "a"},
		{":2\r\n", "SCARD", "s"},
		{":2\r\n", "SREM", "s", "c", "d"},
		{":0\r\n", "SCARD", "s"},
		{":0\r\n", "SISMEMBER", "s", "c"},
		{":1\r\n", "SADD", "s", "again"},
		{"~1\r\n$5\r\nagain\r\n", "SMEMBERS", "s"},
		// Binary members, the empty one included.
		{":3\r\n", "SADD", "bin", "", "a\x00b", "\r\n"},
		{"*3\r\n:1\r\n:1\r\n:0\r\n", "SMISMEMBER", "bin", "", "a\x00b", "a"},
		{replyWrongType, "SADD", "str", "a"},
		{replyWrongType, "SREM", "str", "a"},
		{replyWrongType, "SCARD", "str"},
		{replyWrongType, "SISMEMBER", "str", "a"},
		{replyWrongType, "SMISMEMBER", "str", "a"},
		{replyWrongType, "SMEMBERS", "str"},
		{"-ERR wrong number of arguments for 'sadd' command\r\n", "SADD", "s"},
		{"-ERR wrong number of arguments for 'smismember' command\r\n", "SMISMEMBER", "s"},
		{"~0\r\n", "SMEMBERS", "nosuch"},
	})
	setExpectStored(s, "bin", "", "a\x00b", "\r\n")
	setExpectReply(s, '~', []string{"", "a\x00b", "\r\n"}, "SMEMBERS", "bin")
	setExpectStored(s, "s", "again")
}

// A set emptied by any command is deleted, as Redis never keeps an empty
// collection, and a recreated one does not see the old members.
func TestSetsEmptiedIsDeleted(t *testing.T) {
	s := newTestStore(t)
	s.do("SADD", "s", "a", "b")
	s.expect(":2\r\n", "SREM", "s", "a", "b")
	if _, ok := s.record("s"); ok {
		t.Fatal("SREM left an empty set")
	}
	s.do("SADD", "s", "x")
	s.expect(":1\r\n", "SMOVE", "s", "d", "x")
	if _, ok := s.record("s"); ok {
		t.Fatal("SMOVE left an empty set")
	}
	s.do("SADD", "s", "y")
	s.expect("$1\r\ny\r\n", "SPOP", "s")
	if _, ok := s.record("s"); ok {
		t.Fatal("SPOP left an empty set")
	}
	s.do("SADD", "s", "p", "q")
	setExpectReply(s, '~', []string{"p", "q"}, "SPOP", "s", "5")
	if _, ok := s.record("s"); ok {
		t.Fatal("SPOP with count left an empty set")
	}
	s.do("SADD", "s", "new")
	s.expect("~1\r\n$3\r\nnew\r\n", "SMEMBERS", "s")
}

func TestSetsExpiredIsMissing(t *testing.T) {
	s := newTestStore(t)
	s.do("SADD", "s", "a", "b")
	setSetExp(s, "s", s.now-1)
	setRun(s, [][]string{
		{":0\r\n", "SCARD", "s"},
		{"~0\r\n", "SMEMBERS", "s"},
		{"_\r\n", "SRANDMEMBER", "s"},
		{":0\r\n", "SISMEMBER", "s", "a"},
		{":1\r\n", "SADD", "s", "c"},
		{"~1\r\n$1\r\nc\r\n", "SMEMBERS", "s"},
	})
	if r, _ := s.record("s"); r.Exp != 0 {
		t.Errorf("recreated set kept expiry %d", r.Exp)
	}
}

func TestSetsEncoding(t *testing.T) {
	s := newTestStore(t)
	s.cfg.SetMaxIntsetEntries = 4
	s.do("SADD", "i", "1", "-9223372036854775808", "9223372036854775807", "0")
	setExpectEnc(s, "i", "intset")
	s.do("SADD", "i", "1") // already there: still 4 entries
	setExpectEnc(s, "i", "intset")
	s.do("SADD", "i", "5")
	setExpectEnc(s, "i", "hashtable")
	s.do("SREM", "i", "5", "1", "0")
	setExpectEnc(s, "i", "hashtable") // never back down

	for _, m := range []string{"a", "007", "-0", "+1", " 1", "9223372036854775808", "", "1.0"} {
		key := "h" + m
		s.do("SADD", key, m)
		setExpectEnc(s, key, "hashtable")
	}
	// The first member decides at creation, a later one converts.
	s.do("SADD", "m1", "1", "x")
	setExpectEnc(s, "m1", "hashtable")
	s.do("SADD", "m2", "1", "2")
	s.do("SADD", "m2", "x")
	setExpectEnc(s, "m2", "hashtable")
	// In one command past the limit.
	s.do("SADD", "big", "1", "2", "3", "4", "5")
	setExpectEnc(s, "big", "hashtable")

	// SMOVE creates the destination from the moved member.
	s.do("SADD", "src", "1", "x")
	s.do("SMOVE", "src", "d1", "1")
	setExpectEnc(s, "d1", "intset")
	s.do("SMOVE", "src", "d2", "x")
	setExpectEnc(s, "d2", "hashtable")
	s.do("SADD", "src", "y")
	s.do("SMOVE", "src", "d1", "y")
	setExpectEnc(s, "d1", "hashtable")

	// The *STORE commands build a new set: integers only give an intset
	// even from a hashtable source.
	s.do("SADD", "hs", "1", "2", "a")
	s.do("SREM", "hs", "a")
	setExpectEnc(s, "hs", "hashtable")
	for _, cmd := range []string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"} {
		s.do(cmd, "st", "hs")
		setExpectEnc(s, "st", "intset")
	}
	s.do("SADD", "hs", "3", "4", "5")
	s.do("SUNIONSTORE", "st", "hs")
	setExpectEnc(s, "st", "hashtable")
	s.do("SUNIONSTORE", "st", "hs", "m1")
	setExpectEnc(s, "st", "hashtable")
}

// Past SPOP's move threshold Redis rebuilds the set from the survivors,
// which picks their encoding afresh.
func TestSetsSPopRebuildEncoding(t *testing.T) {
	s := newTestStore(t)
	args := []string{"SADD", "h", "a"}
	for i := 1; i <= 20; i++ {
		args = append(args, strconv.Itoa(i))
	}
	// Pop until "a" is gone with few survivors.
	for try := 0; ; try++ {
		if try == 50 {
			t.Fatal("a survived every SPOP")
		}
		key := "h" + strconv.Itoa(try)
		args[1] = key
		s.do(args...)
		setSetExp(s, key, s.now+100_000)
		setExpectEnc(s, key, "hashtable")
		popped := setParseFlat(t, '~', s.do("SPOP", key, "20"))
		if len(popped) != 20 {
			t.Fatalf("popped %d", len(popped))
		}
		left := setStored(s, key)
		if len(left) != 1 {
			t.Fatalf("left %q", left)
		}
		r, _ := s.record(key)
		if r.Exp != s.now+100_000 {
			t.Errorf("SPOP lost the expiry: %d", r.Exp)
		}
		if left[0] != "a" {
			setExpectEnc(s, key, "intset")
			break
		}
		setExpectEnc(s, key, "hashtable")
	}
	// Below the threshold the set is changed in place.
	args[1] = "small-pop"
	s.do(args...)
	s.do("SPOP", "small-pop", "3")
	setExpectEnc(s, "small-pop", "hashtable")
}

func TestSetsAlgebra(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	s.do("SADD", "a", "1", "2", "3", "x")
	s.do("SADD", "b", "2", "3", "4")
	s.do("SADD", "c", "3", "x", "y")
	setRun(s, [][]string{
		{"~1\r\n$1\r\n3\r\n", "SINTER", "a", "b", "c"},
		{"~0\r\n", "SINTER", "a", "nosuch"},
		{"~0\r\n", "SINTER", "nosuch"},
		{"~0\r\n", "SUNION", "nosuch", "nosuch2"},
		{"~1\r\n$1\r\n1\r\n", "SDIFF", "a", "b", "c"},
		{"~0\r\n", "SDIFF", "a", "a"},
		{"~0\r\n", "SDIFF", "a", "nosuch", "a"},
		{"~0\r\n", "SDIFF", "nosuch", "a"},
		{"~1\r\n$1\r\ny\r\n", "SDIFF", "c", "a", "b"},
		// Every key is type-checked, even after a missing one.
		{replyWrongType, "SINTER", "nosuch", "str"},
		{replyWrongType, "SINTER", "str", "nosuch"},
		{replyWrongType, "SINTER", "a", "str"},
		{replyWrongType, "SUNION", "nosuch", "str"},
		{replyWrongType, "SDIFF", "nosuch", "str"},
		{replyWrongType, "SDIFF", "a", "str"},
		{"-ERR wrong number of arguments for 'sinter' command\r\n", "SINTER"},
	})
	setExpectReply(s, '~', []string{"1", "2", "3", "x"}, "SINTER", "a")
	setExpectReply(s, '~', []string{"1", "2", "3", "x"}, "SINTER", "a", "a")
	setExpectReply(s, '~', []string{"2", "3"}, "SINTER", "b", "a")
	setExpectReply(s, '~', []string{"3", "x"}, "SINTER", "c", "a")
	setExpectReply(s, '~', []string{"1", "2", "3", "4", "x", "y"}, "SUNION", "a", "nosuch", "b", "c", "a")
	setExpectReply(s, '~', []string{"1", "x"}, "SDIFF", "a", "b", "nosuch")
	setExpectReply(s, '~', []string{"1", "2", "3", "x"}, "SDIFF", "a")
}

// An intersection larger than the batches the store is read in.
func TestSetsAlgebraLarge(t *testing.T) {
	s := newTestStore(t)
	a := []string{"SADD", "a"}
	b := []string{"SADD", "b"}
	var inter, union, diff []string
	for i := 0; i < 3*memberBatch; i++ {
		m := "m" + strconv.Itoa(i)
		a = append(a, m)
		union = append(union, m)
		if i%3 == 0 {
			b = append(b, m)
			inter = append(inter, m)
		} else {
			diff = append(diff, m)
		}
	}
	b = append(b, "only-b")
	union = append(union, "only-b")
	s.do(a...)
	s.do(b...)
	setExpectReply(s, '~', inter, "SINTER", "a", "b")
	setExpectReply(s, '~', union, "SUNION", "a", "b")
	setExpectReply(s, '~', diff, "SDIFF", "a", "b")
	s.expect(":"+strconv.Itoa(len(inter))+"\r\n", "SINTERCARD", "2", "a", "b")
	s.expect(":300\r\n", "SINTERCARD", "1", "a", "LIMIT", "300")
	s.expect(":"+strconv.Itoa(len(diff))+"\r\n", "SDIFFSTORE", "d", "a", "b")
	setExpectStored(s, "d", diff...)
}

func TestSetsStore(t *testing.T) {
	s := newTestStore(t)
	s.do("SADD", "a", "1", "2", "3", "x")
	s.do("SADD", "b", "2", "3", "4")
	s.putString("str", "x", 0)

	// The destination is overwritten whatever its type, and loses its
	// expiry.
	s.expect(":2\r\n", "SINTERSTORE", "str", "a", "b")
	setExpectStored(s, "str", "2", "3")
	s.do("SADD", "dst", "old")
	setSetExp(s, "dst", s.now+5000)
	s.expect(":5\r\n", "SUNIONSTORE", "dst", "a", "b")
	setExpectStored(s, "dst", "1", "2", "3", "4", "x")
	if r, _ := s.record("dst"); r.Exp != 0 {
		t.Errorf("SUNIONSTORE kept the expiry %d", r.Exp)
	}
	s.expect(":2\r\n", "SDIFFSTORE", "dst", "a", "b")
	setExpectStored(s, "dst", "1", "x")

	// The destination may be a source.
	s.expect(":2\r\n", "SINTERSTORE", "a", "a", "dst")
	setExpectStored(s, "a", "1", "x")
	s.expect(":5\r\n", "SUNIONSTORE", "b", "b", "a")
	setExpectStored(s, "b", "1", "2", "3", "4", "x")
	s.expect(":3\r\n", "SDIFFSTORE", "b", "b", "a")
	setExpectStored(s, "b", "2", "3", "4")

	// An empty result deletes the destination, whatever its type.
	s.putString("str2", "x", 0)
	s.putString("str3", "x", 0)
	s.expect(":0\r\n", "SINTERSTORE", "str2", "a", "nosuch")
	if _, ok := s.record("str2"); ok {
		t.Error("empty SINTERSTORE kept its destination")
	}
	s.expect(":0\r\n", "SDIFFSTORE", "b", "b", "b")
	if _, ok := s.record("b"); ok {
		t.Error("empty SDIFFSTORE kept its destination")
	}
	setRun(s, [][]string{
		{":0\r\n", "SUNIONSTORE", "nosuch3", "nosuch"},
		{":0\r\n", "SDIFFSTORE", "d", "nosuch", "a"},
		{":2\r\n", "SUNIONSTORE", "d", "a"},
		// A source of another type is WRONGTYPE and leaves the destination.
		{replyWrongType, "SUNIONSTORE", "d", "a", "str3"},
		{replyWrongType, "SINTERSTORE", "d", "nosuch", "str3"},
		{replyWrongType, "SDIFFSTORE", "d", "nosuch", "str3"},
		{"-ERR wrong number of arguments for 'sdiffstore' command\r\n", "SDIFFSTORE", "d"},
	})
	setExpectStored(s, "d", "1", "x")
}

func TestSetsInterCard(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	s.do("SADD", "a", "1", "2", "3", "x")
	s.do("SADD", "b", "2", "3", "4", "x")
	setRun(s, [][]string{
		{":3\r\n", "SINTERCARD", "2", "a", "b"},
		{":4\r\n", "SINTERCARD", "1", "a"},
		{":3\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "0"},
		{":1\r\n", "SINTERCARD", "2", "a", "b", "limit", "1"},
		{":3\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "3"},
		{":3\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "9223372036854775807"},
		{":2\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "9", "LIMIT", "2"},
		{":0\r\n", "SINTERCARD", "2", "a", "nosuch"},
		{":0\r\n", "SINTERCARD", "1", "nosuch"},
		// The keys are not the options: "limit" may be a key.
		{":0\r\n", "SINTERCARD", "2", "a", "LIMIT"},
		{"-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "0", "a"},
		{"-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "-1", "a"},
		{"-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "x", "a"},
		{"-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "9223372036854775808", "a"},
		{"-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "0", "a", "LIMIT", "-1"},
		{"-ERR Number of keys can't be greater than number of args\r\n", "SINTERCARD", "3", "a", "b"},
		{"-ERR Number of keys can't be greater than number of args\r\n", "SINTERCARD", "9223372036854775807", "a"},
		{"-ERR LIMIT can't be negative\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "-1"},
		{"-ERR LIMIT can't be negative\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "x"},
		{"-ERR LIMIT can't be negative\r\n", "SINTERCARD", "2", "a", "b", "LIMIT", "-1", "FOO"},
		{"-ERR syntax error\r\n", "SINTERCARD", "2", "a", "b", "LIMIT"},
		{"-ERR syntax error\r\n", "SINTERCARD", "2", "a", "b", "FOO", "1"},
		{"-ERR syntax error\r\n", "SINTERCARD", "1", "a", "b"},
		// Options are checked before the keys' types.
		{"-ERR syntax error\r\n", "SINTERCARD", "1", "str", "b"},
		{replyWrongType, "SINTERCARD", "2", "nosuch", "str"},
		{replyWrongType, "SINTERCARD", "1", "str"},
		{"-ERR wrong number of arguments for 'sintercard' command\r\n", "SINTERCARD", "1"},
	})
}

func TestSetsSMove(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	s.do("SADD", "a", "1", "2")
	setSetExp(s, "a", s.now+9000)
	setRun(s, [][]string{
		// A missing source is 0 before any type check of the destination.
		{":0\r\n", "SMOVE", "nosuch", "str", "1"},
		{replyWrongType, "SMOVE", "a", "str", "9"},
		{replyWrongType, "SMOVE", "str", "a", "1"},
		{replyWrongType, "SMOVE", "str", "nosuch", "1"},
		// Source and destination the same: only a membership test.
		{":1\r\n", "SMOVE", "a", "a", "1"},
		{":0\r\n", "SMOVE", "a", "a", "9"},
		{":0\r\n", "SMOVE", "a", "b", "9"},
		{":1\r\n", "SMOVE", "a", "b", "1"},
	})
	setExpectStored(s, "a", "2")
	setExpectStored(s, "b", "1")
	if r, _ := s.record("a"); r.Exp != s.now+9000 {
		t.Errorf("SMOVE lost the source's expiry: %d", r.Exp)
	}
	// Into a destination that already has the member.
	s.do("SADD", "b", "2")
	s.expect(":1\r\n", "SMOVE", "a", "b", "2")
	if _, ok := s.record("a"); ok {
		t.Error("SMOVE left an empty source")
	}
	setExpectStored(s, "b", "1", "2")
	s.do("SADD", "c", "3")
	s.expect(":1\r\n", "SMOVE", "b", "c", "2")
	setExpectStored(s, "b", "1")
	setExpectStored(s, "c", "2", "3")
}

// setFill creates key with members m0..m(n-1) and returns them.
func setFill(s *testStore, key string, n int) []string {
	s.t.Helper()
	args := []string{"SADD", key}
	for i := 0; i < n; i++ {
		args = append(args, "m"+strconv.Itoa(i))
	}
	s.expect(":"+strconv.Itoa(n)+"\r\n", args...)
	return args[2:]
}

// setCheckPicks checks that picks are n members of all, distinct unless
// repeats are allowed.
func setCheckPicks(t *testing.T, picks, all []string, n int, repeats bool) {
	t.Helper()
	if len(picks) != n {
		t.Errorf("%d picks, want %d", len(picks), n)
	}
	seen := map[string]bool{}
	for _, p := range picks {
		if !slices.Contains(all, p) {
			t.Errorf("picked %q, not a member", p)
		}
		if seen[p] && !repeats {
			t.Errorf("picked %q twice", p)
		}
		seen[p] = true
	}
}

func TestSetsSPop(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	s.do("SADD", "s", "a", "b")
	setRun(s, [][]string{
		{"_\r\n", "SPOP", "nosuch"},
		{"~0\r\n", "SPOP", "nosuch", "2"},
		{"~0\r\n", "SPOP", "nosuch", "0"},
		{"~0\r\n", "SPOP", "s", "0"},
		{"-ERR syntax error\r\n", "SPOP", "s", "1", "2"},
		{"-ERR value is out of range, must be positive\r\n", "SPOP", "s", "-1"},
		{"-ERR value is out of range, must be positive\r\n", "SPOP", "s", "x"},
		{"-ERR value is out of range, must be positive\r\n", "SPOP", "nosuch", "-1"},
		{"-ERR value is out of range, must be positive\r\n", "SPOP", "str", "1.5"},
		{replyWrongType, "SPOP", "str"},
		{replyWrongType, "SPOP", "str", "0"},
		{":2\r\n", "SCARD", "s"},
		{":1\r\n", "SREM", "s", "a"},
		{"$1\r\nb\r\n", "SPOP", "s"},
		{":0\r\n", "SCARD", "s"},
		{":1\r\n", "SADD", "s", "c"},
		{"~1\r\n$1\r\nc\r\n", "SPOP", "s", "9223372036854775807"},
		{":0\r\n", "SCARD", "s"},
	})

	// Every strategy: a few point picks, a large fraction, and so many
	// that the survivors are rebuilt.
	for _, count := range []int{1, 10, 40, 80, 90, 99, 100, 150} {
		key := "p" + strconv.Itoa(count)
		all := setFill(s, key, 100)
		setSetExp(s, key, s.now+1000)
		popped := setParseFlat(t, '~', s.do("SPOP", key, strconv.Itoa(count)))
		n := min(count, 100)
		setCheckPicks(t, popped, all, n, false)
		left := setStored(s, key)
		if len(left)+len(popped) != 100 {
			t.Errorf("SPOP %d: %d popped, %d left", count, len(popped), len(left))
		}
		for _, m := range left {
			if slices.Contains(popped, m) {
				t.Errorf("SPOP %d: %q popped and left", count, m)
			}
		}
		if r, ok := s.record(key); ok && r.Exp != s.now+1000 {
			t.Errorf("SPOP %d lost the expiry", count)
		}
	}

	// Single pops are random.
	got := map[string]bool{}
	for i := 0; i < 20; i++ {
		key := "r" + strconv.Itoa(i)
		setFill(s, key, 10)
		got[setParseFlat(t, '*', "*1\r\n"+s.do("SPOP", key))[0]] = true
	}
	if len(got) < 3 {
		t.Errorf("20 SPOPs gave only %v", got)
	}
}

func TestSetsSRandMember(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	s.do("SADD", "one", "z")
	setRun(s, [][]string{
		{"_\r\n", "SRANDMEMBER", "nosuch"},
		{"*0\r\n", "SRANDMEMBER", "nosuch", "3"},
		{"*0\r\n", "SRANDMEMBER", "nosuch", "-3"},
		{"*0\r\n", "SRANDMEMBER", "one", "0"},
		{"$1\r\nz\r\n", "SRANDMEMBER", "one"},
		{"*1\r\n$1\r\nz\r\n", "SRANDMEMBER", "one", "1"},
		{"*1\r\n$1\r\nz\r\n", "SRANDMEMBER", "one", "9223372036854775807"},
		{"*3\r\n$1\r\nz\r\n$1\r\nz\r\n$1\r\nz\r\n", "SRANDMEMBER", "one", "-3"},
		{"-ERR syntax error\r\n", "SRANDMEMBER", "one", "1", "2"},
		{"-ERR value is not an integer or out of range\r\n", "SRANDMEMBER", "one", "x"},
		{"-ERR value is not an integer or out of range\r\n", "SRANDMEMBER", "nosuch", "1.0"},
		{"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n", "SRANDMEMBER", "one", "-9223372036854775808"},
		{replyWrongType, "SRANDMEMBER", "str"},
		{replyWrongType, "SRANDMEMBER", "str", "0"},
		// Deliberately not Redis, which would try to build the reply.
		{"-ERR value is out of range\r\n", "SRANDMEMBER", "one", "-9223372036854775807"},
	})

	all := setFill(s, "s", 100)
	for _, count := range []int{1, 10, 33, 34, 99, 100, 1000} {
		picks := setParseFlat(t, '*', s.do("SRANDMEMBER", "s", strconv.Itoa(count)))
		setCheckPicks(t, picks, all, min(count, 100), false)
	}
	for _, count := range []int{1, 10, 34, 100, 1000} {
		picks := setParseFlat(t, '*', s.do("SRANDMEMBER", "s", strconv.Itoa(-count)))
		setCheckPicks(t, picks, all, count, true)
	}
	setExpectStored(s, "s", all...)

	// The picks are spread over the set, by either strategy.
	for _, count := range []string{"-30", "-3000"} {
		seen := map[string]bool{}
		for _, p := range setParseFlat(t, '*', s.do("SRANDMEMBER", "s", count)) {
			seen[p] = true
		}
		if want := 15; len(seen) < want {
			t.Errorf("SRANDMEMBER %s: %d distinct members, want at least %d", count, len(seen), want)
		}
	}
	got := map[string]bool{}
	for i := 0; i < 20; i++ {
		got[setParseFlat(t, '*', "*1\r\n"+s.do("SRANDMEMBER", "s"))[0]] = true
	}

	// Point picks reach nearly every member of a larger set.
	all = setFill(s, "big", 300)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		for _, p := range setParseFlat(t, '*', s.do("SRANDMEMBER", "big", "-90")) {
			seen[p] = true
		}
	}
	if len(seen) < len(all)*8/10 {
		t.Errorf("1800 picks reached %d of %d members", len(seen), len(all))
	}
	if len(got) < 5 {
		t.Errorf("20 SRANDMEMBERs gave only %v", got)
	}
}

// setScanAll runs SSCAN from cursor 0 to the end and returns every member
// returned, in order, and the number of calls.
func setScanAll(s *testStore, key string, opts ...string) ([]string, int) {
	s.t.Helper()
	var out []string
	cursor := "0"
	for calls := 1; ; calls++ {
		raw := s.do(append([]string{"SSCAN", key, cursor}, opts...)...)
		head, rest, ok := strings.Cut(raw, "\r\n")
		if !ok || head != "*2" {
			s.t.Fatalf("SSCAN reply %q", raw)
		}
		parts := setParseFlat(s.t, '*', "*1\r\n"+rest[:strings.Index(rest, "\r\n*")+2])
		cursor = parts[0]
		out = append(out, setParseFlat(s.t, '*', rest[strings.Index(rest, "\r\n*")+2:])...)
		if cursor == "0" {
			return out, calls
		}
		if calls > 1000 {
			s.t.Fatal("SSCAN does not end")
		}
	}
}

func TestSetsSScan(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	s.do("SADD", "i", "7")
	setRun(s, [][]string{
		{"-ERR invalid cursor\r\n", "SSCAN", "nosuch", "x"},
		{"-ERR invalid cursor\r\n", "SSCAN", "str", "x"},
		{"*2\r\n$1\r\n0\r\n*0\r\n", "SSCAN", "nosuch", "0"},
		{"*2\r\n$1\r\n0\r\n*0\r\n", "SSCAN", "nosuch", "0", "COUNT", "x"},
		{replyWrongType, "SSCAN", "str", "0", "COUNT", "x"},
		{"-ERR syntax error\r\n", "SSCAN", "i", "0", "COUNT", "0"},
		{"-ERR value is not an integer or out of range\r\n", "SSCAN", "i", "0", "COUNT", "x"},
		{"-ERR syntax error\r\n", "SSCAN", "i", "0", "MATCH"},
		{"-ERR syntax error\r\n", "SSCAN", "i", "0", "TYPE", "set"},
		{"*2\r\n$1\r\n0\r\n*1\r\n$1\r\n7\r\n", "SSCAN", "i", "0"},
		{"*2\r\n$1\r\n0\r\n*1\r\n$1\r\n7\r\n", "SSCAN", "i", "0", "MATCH", "[6-8]", "COUNT", "1"},
		{"*2\r\n$1\r\n0\r\n*0\r\n", "SSCAN", "i", "0", "MATCH", "8"},
	})

	// A small (intset) set comes back whole in one call, as in Redis.
	s.do("SADD", "small", "1", "2", "3", "4", "5")
	got, calls := setScanAll(s, "small", "COUNT", "1")
	if calls != 1 {
		t.Errorf("intset scanned in %d calls", calls)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("intset scan: %q", got)
	}

	all := setFill(s, "h", 200)
	got, calls = setScanAll(s, "h", "COUNT", "7")
	if calls < 200/7 {
		t.Errorf("COUNT 7 over 200 members took %d calls", calls)
	}
	slices.Sort(got)
	slices.Sort(all)
	if !slices.Equal(got, all) {
		t.Errorf("scan returned %d members, want each of the %d once", len(got), len(all))
	}
	got, _ = setScanAll(s, "h", "MATCH", "m1?")
	slices.Sort(got)
	var want []string
	for i := 10; i < 20; i++ {
		want = append(want, "m"+strconv.Itoa(i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("MATCH m1?: %q", got)
	}
}
