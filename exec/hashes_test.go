package exec

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// hashOrdered sorts fields as a hash returns them (by member sub-key),
// so expectations do not depend on an order Redis leaves unspecified.
func hashOrdered(fields ...string) []string {
	out := append([]string(nil), fields...)
	sort.Slice(out, func(i, j int) bool { return string(memberSub([]byte(out[i]))) < string(memberSub([]byte(out[j]))) })
	return out
}

func hashEncName(s *testStore, key string) string {
	r, ok := s.record(key)
	if !ok {
		return "missing"
	}
	return encodingName(r.Enc)
}

type hashStep struct {
	want string
	args []string
}

func hashRun(t *testing.T, s *testStore, steps []hashStep) {
	t.Helper()
	for _, st := range steps {
		s.expect(st.want, st.args...)
	}
}

func hs(want string, args ...string) hashStep { return hashStep{want, args} }

func TestHashPointCommands(t *testing.T) {
	s := newTestStore(t)
	s.putString("str", "x", 0)
	hashRun(t, s, []hashStep{
		hs(":2\r\n", "HSET", "h", "a", "1", "b", "2"),
		hs(":0\r\n", "HSET", "h", "a", "10"),
		hs(":1\r\n", "hset", "h", "c", "3", "c", "4"), // a field repeated in one call counts once; last value wins
		hs("$2\r\n10\r\n", "HGET", "h", "a"),
		hs("$1\r\n4\r\n", "HGET", "h", "c"),
		hs("_\r\n", "HGET", "h", "zz"),
		hs("_\r\n", "HGET", "nope", "a"),
		hs("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "a", "1", "b"),
		hs("-ERR wrong number of arguments for 'hmset' command\r\n", "HMSET", "h", "a"),
		hs("-ERR wrong number of arguments for 'hget' command\r\n", "HGET", "h"),
		hs("+OK\r\n", "HMSET", "h", "d", "", "e", "5"),
		hs("$0\r\n\r\n", "HGET", "h", "d"),
		hs(":5\r\n", "HLEN", "h"),
		hs(":0\r\n", "HLEN", "nope"),
		hs("*4\r\n$2\r\n10\r\n_\r\n$0\r\n\r\n$1\r\n5\r\n", "HMGET", "h", "a", "zz", "d", "e"),
		hs("*2\r\n_\r\n_\r\n", "HMGET", "nope", "a", "b"),
		hs(":0\r\n", "HSETNX", "h", "a", "x"),
		hs("$2\r\n10\r\n", "HGET", "h", "a"),
		hs(":1\r\n", "HSETNX", "h", "f", "x"),
		hs(":1\r\n", "HSETNX", "new", "f", "y"),
		hs("$1\r\ny\r\n", "HGET", "new", "f"),
		hs(":2\r\n", "HSTRLEN", "h", "a"),
		hs(":0\r\n", "HSTRLEN", "h", "d"),
		hs(":0\r\n", "HSTRLEN", "h", "zz"),
		hs(":0\r\n", "HSTRLEN", "nope", "a"),
		hs(":1\r\n", "HEXISTS", "h", "d"),
		hs(":0\r\n", "HEXISTS", "h", "zz"),
		hs(":0\r\n", "HEXISTS", "nope", "a"),
		hs(":2\r\n", "HDEL", "h", "a", "a", "b", "zz"),
		hs(":0\r\n", "HDEL", "h", "a"),
		hs(":0\r\n", "HDEL", "nope", "a"),
		hs(":4\r\n", "HLEN", "h"),
		hs(":4\r\n", "HDEL", "h", "c", "d", "e", "f"),
		hs(":0\r\n", "HLEN", "h"),
		hs("_\r\n", "HGET", "h", "c"),
		// Binary fields and values are kept byte for byte.
		hs(":1\r\n", "HSET", "bin", "a\x00\r\nb", "\xff\x00"),
		hs("$2\r\n\xff\x00\r\n", "HGET", "bin", "a\x00\r\nb"),
		hs("_\r\n", "HGET", "bin", "a"),
		hs(":1\r\n", "HSET", "bin", "", ""),
		hs("$0\r\n\r\n", "HGET", "bin", ""),
		hs(":1\r\n", "HEXISTS", "bin", ""),
	})
	if _, ok := s.record("h"); ok {
		t.Error("a hash emptied by HDEL must be deleted")
	}
	for _, args := range [][]string{
		{"HSET", "str", "a", "1"}, {"HMSET", "str", "a", "1"}, {"HSETNX", "str", "a", "1"},
		{"HGET", "str", "a"}, {"HMGET", "str", "a"}, {"HDEL", "str", "a"}, {"HLEN", "str"},
		{"HSTRLEN", "str", "a"}, {"HEXISTS", "str", "a"}, {"HKEYS", "str"}, {"HVALS", "str"},
		{"HGETALL", "str"}, {"HINCRBY", "str", "a", "1"}, {"HINCRBYFLOAT", "str", "a", "1"},
		{"HRANDFIELD", "str"}, {"HRANDFIELD", "str", "0"}, {"HSCAN", "str", "0"},
		{"HSCAN", "str", "0", "bogus"},
	} {
		s.expect(replyWrongType, args...)
	}
}

func TestHashWholeReads(t *testing.T) {
	s := newTestStore(t)
	s.expect(":3\r\n", "HSET", "h", "one", "1", "two", "", "three", "3")
	vals := map[string]string{"one": "1", "two": "", "three": "3"}
	fields := hashOrdered("one", "two", "three")
	var keys, values, all string
	for _, f := range fields {
		keys += bulk(f)
		values += bulk(vals[f])
		all += bulk(f) + bulk(vals[f])
	}
	hashRun(t, s, []hashStep{
		hs("*3\r\n"+keys, "HKEYS", "h"),
		hs("*3\r\n"+values, "HVALS", "h"),
		hs("%3\r\n"+all, "HGETALL", "h"),
		hs("*0\r\n", "HKEYS", "nope"),
		hs("*0\r\n", "HVALS", "nope"),
		hs("%0\r\n", "HGETALL", "nope"),
	})
}

func TestHashIncr(t *testing.T) {
	s := newTestStore(t)
	hashRun(t, s, []hashStep{
		hs(":5\r\n", "HINCRBY", "h", "n", "5"),
		hs(":-5\r\n", "HINCRBY", "h", "n", "-10"),
		hs("$2\r\n-5\r\n", "HGET", "h", "n"),
		hs(replyNotInt, "HINCRBY", "h", "n", "x"),
		hs(replyNotInt, "HINCRBY", "h", "n", " 1"),
		hs(replyNotInt, "HINCRBY", "h", "n", "01"),
		hs(replyNotInt, "HINCRBY", "h", "n", "9223372036854775808"),
		hs(":4\r\n", "HSET", "h", "s", "abc", "max", "9223372036854775807", "min", "-9223372036854775808", "lz", "012"),
		hs("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "s", "1"),
		hs("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "lz", "1"),
		hs("-ERR increment or decrement would overflow\r\n", "HINCRBY", "h", "max", "1"),
		hs(":9223372036854775806\r\n", "HINCRBY", "h", "max", "-1"),
		hs("-ERR increment or decrement would overflow\r\n", "HINCRBY", "h", "min", "-1"),
		hs(":-1\r\n", "HINCRBY", "h", "min", "9223372036854775807"),
		hs(":-9223372036854775808\r\n", "HINCRBY", "new", "f", "-9223372036854775808"),

		hs("$3\r\n1.1\r\n", "HINCRBYFLOAT", "f", "a", "1.1"),
		hs("$3\r\n1.3\r\n", "HINCRBYFLOAT", "f", "a", "0.2"),
		hs("$31\r\n1000000000000000000024696061952\r\n", "HINCRBYFLOAT", "f", "b", "1e30"),
		hs("$1\r\n0\r\n", "HINCRBYFLOAT", "f", "x", "1e-20"),
		hs("$1\r\n0\r\n", "HINCRBYFLOAT", "f", "y", "-0.0"),
		hs("$20\r\n12345678901234567890\r\n", "HINCRBYFLOAT", "f", "z", "12345678901234567890.5"),
		hs("$31\r\n1000000000000000000024696061952\r\n", "HINCRBYFLOAT", "f", "a", "1e30"),
		hs("$6\r\n0.0015\r\n", "HINCRBYFLOAT", "f", "c", "1.5e-3"),
		hs("$1\r\n0\r\n", "HINCRBYFLOAT", "f", "c", "-1.5e-3"),
		hs("$6\r\n300000\r\n", "HINCRBYFLOAT", "f", "d", "3.0e5"),
		hs("$6\r\n300016\r\n", "HINCRBYFLOAT", "f", "d", "0x10"),
		hs("$1\r\n0\r\n", "HGET", "f", "c"),
		hs("-ERR value is not a valid float\r\n", "HINCRBYFLOAT", "f", "a", "abc"),
		hs("-ERR value is not a valid float\r\n", "HINCRBYFLOAT", "f", "a", " 1"),
		hs("-ERR value is not a valid float\r\n", "HINCRBYFLOAT", "f", "a", "nan"),
		hs("-ERR value is NaN or Infinity\r\n", "HINCRBYFLOAT", "f", "a", "inf"),
		hs("-ERR value is NaN or Infinity\r\n", "HINCRBYFLOAT", "nokey", "a", "-inf"),
		hs(":0\r\n", "HLEN", "nokey"),
		hs(":2\r\n", "HSET", "f", "s", "abc", "inf", "inf"),
		hs("-ERR hash value is not a float\r\n", "HINCRBYFLOAT", "f", "s", "1"),
		hs("-ERR increment would produce NaN or Infinity\r\n", "HINCRBYFLOAT", "f", "inf", "1"),
		hs("$3\r\ninf\r\n", "HGET", "f", "inf"),
		hs(":1\r\n", "HSET", "f", "i", "10"),
		hs("$4\r\n10.5\r\n", "HINCRBYFLOAT", "f", "i", "0.5"),
		hs("-ERR hash value is not an integer\r\n", "HINCRBY", "f", "i", "1"),
	})
}

func TestHashEncoding(t *testing.T) {
	s := newTestStore(t)
	long := strings.Repeat("x", 65)
	max := strings.Repeat("x", 64)
	steps := []struct {
		args []string
		key  string
		enc  string
	}{
		{[]string{"HSET", "e0", "a", max, max, "b"}, "e0", "listpack"},
		{[]string{"HSET", "e1", "a", "1"}, "e1", "listpack"},
		// HSETNX of an existing field writes nothing and converts nothing.
		{[]string{"HSETNX", "e1", "a", long}, "e1", "listpack"},
		{[]string{"HSETNX", "e1", "b", long}, "e1", "hashtable"},
		{[]string{"HSET", "e2", "a", "1"}, "e2", "listpack"},
		{[]string{"HINCRBY", "e2", long, "1"}, "e2", "hashtable"},
		{[]string{"HSET", "e3", "a", "1"}, "e3", "listpack"},
		{[]string{"HINCRBYFLOAT", "e3", "a", "1e70"}, "e3", "hashtable"},
		{[]string{"HSET", "e4", "a", "1"}, "e4", "listpack"},
		// Overwriting an existing field with a long value converts too.
		{[]string{"HSET", "e4", "a", long}, "e4", "hashtable"},
		{[]string{"HDEL", "e4", "a"}, "e4", "missing"},
		{[]string{"HSET", "e5", long, "1", "b", "2"}, "e5", "hashtable"},
		// Never back down, even once the long field is gone.
		{[]string{"HDEL", "e5", long}, "e5", "hashtable"},
		{[]string{"HMSET", "e6", "a", long}, "e6", "hashtable"},
		{[]string{"HSETNX", "e7", long, "1"}, "e7", "hashtable"},
	}
	for _, st := range steps {
		s.do(st.args...)
		if got := hashEncName(s, st.key); got != st.enc {
			t.Errorf("%v: encoding %s, want %s", st.args, got, st.enc)
		}
	}

	args := []string{"HSET", "big"}
	for i := 0; i < 512; i++ {
		args = append(args, fmt.Sprint("f", i), "v")
	}
	s.expect(":512\r\n", args...)
	if got := hashEncName(s, "big"); got != "listpack" {
		t.Errorf("512 fields: %s, want listpack", got)
	}
	s.expect(":1\r\n", "HINCRBY", "big", "one-more", "1")
	if got := hashEncName(s, "big"); got != "hashtable" {
		t.Errorf("513 fields: %s, want hashtable", got)
	}

	// The thresholds come from the config.
	s.cfg.HashMaxListpackEntries = 2
	s.cfg.HashMaxListpackValue = 3
	s.do("HSET", "c1", "a", "1", "b", "2")
	s.do("HSET", "c2", "a", "1234")
	s.do("HSET", "c3", "a", "1", "b", "2", "c", "3")
	for key, want := range map[string]string{"c1": "listpack", "c2": "hashtable", "c3": "hashtable"} {
		if got := hashEncName(s, key); got != want {
			t.Errorf("%s with small thresholds: %s, want %s", key, got, want)
		}
	}
}

func TestHashExpiry(t *testing.T) {
	s := newTestStore(t)
	s.expect(":2\r\n", "HSET", "h", "a", "1", "b", "2")
	exp := s.now + 1000
	s.update(func(tx *store.Txn) error {
		r, _ := tx.Get([]byte("h"))
		r.Exp = exp
		return tx.Put([]byte("h"), &r)
	})
	s.expect(":1\r\n", "HSET", "h", "c", "3")
	s.expect(":1\r\n", "HDEL", "h", "a")
	if r, _ := s.record("h"); r.Exp != exp {
		t.Errorf("expiry after writes: %d, want %d", r.Exp, exp)
	}
	s.now = exp
	s.expect("_\r\n", "HGET", "h", "b")
	s.expect(":0\r\n", "HLEN", "h")
	// A write after expiry starts an empty hash without the TTL.
	s.expect(":1\r\n", "HSET", "h", "z", "1")
	s.expect("%1\r\n$1\r\nz\r\n$1\r\n1\r\n", "HGETALL", "h")
	if r, _ := s.record("h"); r.Exp != 0 {
		t.Errorf("new hash has expiry %d", r.Exp)
	}
}

// hashParse decodes a raw reply.
func hashParse(t *testing.T, raw string) resp.Value {
	t.Helper()
	v, n, err := resp.ParseValue([]byte(raw))
	if err != nil || n != len(raw) {
		t.Fatalf("bad reply %q: %v", raw, err)
	}
	return v
}

func TestHashRandFieldErrors(t *testing.T) {
	s := newTestStore(t)
	s.expect(":2\r\n", "HSET", "h", "a", "1", "b", "2")
	hashRun(t, s, []hashStep{
		hs("_\r\n", "HRANDFIELD", "nope"),
		hs("*0\r\n", "HRANDFIELD", "nope", "5"),
		hs("*0\r\n", "HRANDFIELD", "nope", "-5", "WITHVALUES"),
		hs("*0\r\n", "HRANDFIELD", "nope", "0"),
		hs("*0\r\n", "HRANDFIELD", "h", "0"),
		hs("*0\r\n", "HRANDFIELD", "h", "0", "withvalues"),
		hs(replyNotInt, "HRANDFIELD", "h", "x"),
		hs(replyNotInt, "HRANDFIELD", "h", "x", "foo"),
		hs(replyNotInt, "HRANDFIELD", "h", "9223372036854775808"),
		hs("-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
			"HRANDFIELD", "h", "-9223372036854775808"),
		hs("-ERR value is out of range\r\n", "HRANDFIELD", "h", "9223372036854775807", "withvalues"),
		hs("-ERR value is out of range\r\n", "HRANDFIELD", "h", "4611686018427387904", "withvalues"),
		hs("-ERR value is out of range\r\n", "HRANDFIELD", "h", "-4611686018427387904", "withvalues"),
		hs(replySyntax, "HRANDFIELD", "h", "1", "withvalue"),
		hs(replySyntax, "HRANDFIELD", "nope", "1", "withvalue"),
		hs(replySyntax, "HRANDFIELD", "h", "5", "withvalues", "extra"),
	})
	a, b := bulk("a")+bulk("1"), bulk("b")+bulk("2")
	withValues := map[string]bool{"*2\r\n*2\r\n" + a + "*2\r\n" + b: true, "*2\r\n*2\r\n" + b + "*2\r\n" + a: true}
	fieldsOnly := map[string]bool{"*2\r\n$1\r\na\r\n$1\r\nb\r\n": true, "*2\r\n$1\r\nb\r\n$1\r\na\r\n": true}
	for _, tc := range []struct {
		args []string
		want map[string]bool
	}{
		{[]string{"HRANDFIELD", "h", "2", "WITHVALUES"}, withValues},
		{[]string{"HRANDFIELD", "h", "3", "WITHVALUES"}, withValues},
		{[]string{"HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"}, withValues},
		{[]string{"HRANDFIELD", "h", "2"}, fieldsOnly},
		{[]string{"HRANDFIELD", "h", "9223372036854775807"}, fieldsOnly},
	} {
		if got := s.do(tc.args...); !tc.want[got] {
			t.Errorf("%v: %q, want the whole hash", tc.args, got)
		}
	}
}

// TestHashRandField checks the shape and the sampling rules of every
// HRANDFIELD form on a listpack and on hashtables (small and large counts).
func TestHashRandField(t *testing.T) {
	s := newTestStore(t)
	vals := map[string]map[string]string{}
	for key, n := range map[string]int{"small": 5, "large": 600} {
		vals[key] = map[string]string{}
		args := []string{"HSET", key}
		for i := 0; i < n; i++ {
			f, v := fmt.Sprint("f", i), fmt.Sprint("v", i)
			vals[key][f] = v
			args = append(args, f, v)
		}
		s.expect(fmt.Sprintf(":%d\r\n", n), args...)
	}
	if hashEncName(s, "small") != "listpack" || hashEncName(s, "large") != "hashtable" {
		t.Fatal("unexpected encodings")
	}
	cases := []struct {
		key        string
		count      int
		withValues bool
	}{
		{"small", 1, false}, {"small", 3, true}, {"small", -12, false}, {"small", -4, true},
		{"large", 1, true}, {"large", 20, false}, {"large", 150, true}, {"large", 299, false},
		{"large", -500, true}, {"large", -3, false},
	}
	for _, tc := range cases {
		args := []string{"HRANDFIELD", tc.key, fmt.Sprint(tc.count)}
		if tc.withValues {
			args = append(args, "WITHVALUES")
		}
		v := hashParse(t, s.do(args...))
		n := tc.count
		if n < 0 {
			n = -n
		}
		if v.Kind != resp.KindArray || len(v.Elems) != n {
			t.Errorf("%v: %d elements, want %d", args, len(v.Elems), n)
			continue
		}
		seen := map[string]bool{}
		for _, e := range v.Elems {
			var field string
			if tc.withValues {
				if e.Kind != resp.KindArray || len(e.Elems) != 2 {
					t.Fatalf("%v: element %v is not a pair", args, e)
				}
				field = string(e.Elems[0].Str)
				if got := string(e.Elems[1].Str); got != vals[tc.key][field] {
					t.Errorf("%v: %s has value %q, want %q", args, field, got, vals[tc.key][field])
				}
			} else {
				field = string(e.Str)
			}
			if _, ok := vals[tc.key][field]; !ok {
				t.Errorf("%v: unknown field %q", args, field)
			}
			if tc.count > 0 && seen[field] {
				t.Errorf("%v: %s repeated in a positive count", args, field)
			}
			seen[field] = true
		}
		if tc.count < -100 && len(seen) < 10 {
			t.Errorf("%v: only %d distinct fields", args, len(seen))
		}
	}
	// Without a count: a single field, and over many calls more than one.
	for _, key := range []string{"small", "large"} {
		seen := map[string]bool{}
		for i := 0; i < 50; i++ {
			v := hashParse(t, s.do("HRANDFIELD", key))
			if v.Kind != resp.KindBulk {
				t.Fatalf("HRANDFIELD %s: %v", key, v)
			}
			if _, ok := vals[key][string(v.Str)]; !ok {
				t.Errorf("HRANDFIELD %s: unknown field %q", key, v.Str)
			}
			seen[string(v.Str)] = true
		}
		if len(seen) < 3 {
			t.Errorf("HRANDFIELD %s: %d distinct fields in 50 calls", key, len(seen))
		}
	}
}

// hashScanAll follows HSCAN's cursor to the end and returns every field
// and value seen, failing on a field returned twice.
func hashScanAll(t *testing.T, s *testStore, key string, opts ...string) map[string]string {
	t.Helper()
	got := map[string]string{}
	cursor := "0"
	for calls := 0; ; calls++ {
		if calls > 1000 {
			t.Fatal("HSCAN does not terminate")
		}
		v := hashParse(t, s.do(append([]string{"HSCAN", key, cursor}, opts...)...))
		if v.Kind != resp.KindArray || len(v.Elems) != 2 || v.Elems[1].Kind != resp.KindArray {
			t.Fatalf("HSCAN reply %v", v)
		}
		items := v.Elems[1].Elems
		for i := 0; i+1 < len(items); i += 2 {
			f := string(items[i].Str)
			if _, dup := got[f]; dup {
				t.Errorf("HSCAN returned %q twice", f)
			}
			got[f] = string(items[i+1].Str)
		}
		cursor = string(v.Elems[0].Str)
		if cursor == "0" {
			return got
		}
	}
}

func TestHashScan(t *testing.T) {
	s := newTestStore(t)
	s.expect(":2\r\n", "HSET", "h", "a", "1", "b", "2")
	fields := hashOrdered("a", "b")
	whole := "*2\r\n$1\r\n0\r\n*4\r\n"
	for _, f := range fields {
		whole += bulk(f) + bulk(map[string]string{"a": "1", "b": "2"}[f])
	}
	hashRun(t, s, []hashStep{
		hs(whole, "HSCAN", "h", "0"),
		hs(whole, "HSCAN", "h", "0", "MATCH", "*", "COUNT", "1"),
		hs("*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n", "HSCAN", "h", "0", "match", "b"),
		hs("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "h", "0", "match", "zz*"),
		hs("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nope", "0"),
		// Options are checked only once the key is found.
		hs("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nope", "0", "bogus"),
		hs("-ERR invalid cursor\r\n", "HSCAN", "nope", "x"),
		hs(replySyntax, "HSCAN", "h", "0", "COUNT", "0"),
		hs(replySyntax, "HSCAN", "h", "0", "NOVALUES"),
		hs(replySyntax, "HSCAN", "h", "0", "TYPE", "hash"),
		hs(replySyntax, "HSCAN", "h", "0", "MATCH"),
		hs(replyNotInt, "HSCAN", "h", "0", "COUNT", "x"),
	})

	want := map[string]string{}
	args := []string{"HSET", "big"}
	for i := 0; i < 500; i++ {
		f := fmt.Sprint("field:", i)
		want[f] = fmt.Sprint(i)
		args = append(args, f, want[f])
	}
	s.do(args...)
	got := hashScanAll(t, s, "big", "COUNT", "7")
	if len(got) != len(want) {
		t.Errorf("HSCAN saw %d fields, want %d", len(got), len(want))
	}
	for f, v := range want {
		if got[f] != v {
			t.Errorf("HSCAN %s = %q, want %q", f, got[f], v)
		}
	}
	matched := hashScanAll(t, s, "big", "MATCH", "field:1?", "COUNT", "50")
	if len(matched) != 10 {
		t.Errorf("HSCAN MATCH field:1? saw %d fields, want 10", len(matched))
	}
	for f := range matched {
		if !globMatch([]byte("field:1?"), []byte(f)) {
			t.Errorf("HSCAN MATCH returned %q", f)
		}
	}
}

// TestHashLarge checks that a big hash is served by point operations
// (each command changes exactly the storage keys it should) and that
// deleting it leaves one tombstone rather than deleting its fields.
func TestHashLarge(t *testing.T) {
	s := newTestStore(t)
	const n = 2000
	for i := 0; i < n; i++ {
		s.expect(":1\r\n", "HSET", "big", fmt.Sprint("f", i), fmt.Sprint("v", i))
	}
	if got := hashEncName(s, "big"); got != "hashtable" {
		t.Fatalf("encoding %s", got)
	}
	if got := s.m.StorageKeys(); got != n+1 {
		t.Fatalf("storage keys %d, want %d fields + 1 record", got, n+1)
	}
	for i := 0; i < n; i += 97 {
		s.expect(bulk(fmt.Sprint("v", i)), "HGET", "big", fmt.Sprint("f", i))
	}
	s.expect(":0\r\n", "HSET", "big", "f7", "changed")
	s.expect(bulk("changed"), "HGET", "big", "f7")
	if got := s.m.StorageKeys(); got != n+1 {
		t.Errorf("after overwrite: %d storage keys, want %d", got, n+1)
	}
	s.expect(":1\r\n", "HDEL", "big", "f8")
	s.expect(fmt.Sprintf(":%d\r\n", n-1), "HLEN", "big")
	if got := s.m.StorageKeys(); got != n {
		t.Errorf("after HDEL: %d storage keys, want %d", got, n)
	}

	s.update(func(tx *store.Txn) error {
		if !tx.Delete([]byte("big")) {
			t.Error("Delete found no key")
		}
		return nil
	})
	// n-1 fields left for the sweep, plus their tombstone.
	if got := s.m.StorageKeys(); got != n {
		t.Errorf("after DEL: %d storage keys, want %d", got, n)
	}
	s.expect(":0\r\n", "HLEN", "big")
	s.expect("_\r\n", "HGET", "big", "f1")
	// A new hash of the same name does not see the old fields.
	s.expect(":1\r\n", "HSET", "big", "f1", "new")
	s.expect("%1\r\n$2\r\nf1\r\n$3\r\nnew\r\n", "HGETALL", "big")
	s.expect(":1\r\n", "HSETNX", "big", "f2", "x")
	s.update(func(tx *store.Txn) error {
		_, err := tx.Sweep(10 * n)
		return err
	})
	if got := s.m.StorageKeys(); got != 3 {
		t.Errorf("after sweep: %d storage keys, want 3", got)
	}
	s.expect(":2\r\n", "HLEN", "big")
}
