package exec

import (
	"fmt"
	"strconv"
	"testing"
)

const (
	hllNotHLL  = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
	hllCorrupt = "-INVALIDOBJ Corrupted HLL object detected\r\n"
	// hllEmpty is an HLL as PFADD creates it: sparse, all registers in
	// one XZERO, the cached cardinality marked stale.
	hllEmpty = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
)

// hllElems are n distinct elements, from the first one on.
func hllElems(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "e" + strconv.Itoa(first+i)
	}
	return out
}

func TestHLLMurmur(t *testing.T) {
	// Pinned from this implementation once TestHLLAgainstRedis showed
	// it stores Redis's bytes: no tail, short tail, one block, block and
	// the longest tail.
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0xd8dfea6585bc9732},
		{"a", 0x53d2470a9b43b1a7},
		{"abcdefgh", 0xf3a65df559914567},
		{"abcdefghijklmno", 0x10350863b35a3059},
	} {
		if got := murmurHash64A([]byte(tc.in), 0xadc83b19); got != tc.want {
			t.Errorf("murmurHash64A(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestHLLAddCount(t *testing.T) {
	s := newTestStore(t)
	s.expect(":1\r\n", "pfadd", "h")
	bmExpectVal(s, "h", hllEmpty, true)
	s.expect(":0\r\n", "pfadd", "h")
	s.expect(":0\r\n", "pfcount", "h")
	s.expect(":1\r\n", "pfadd", "h", "a", "b", "c")
	// The bytes redis-server 7.0 stores for the same commands.
	bmExpectVal(s, "h", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ", true)
	s.expect(":0\r\n", "pfadd", "h", "a")
	s.expect(":3\r\n", "pfcount", "h")
	s.expect(":1\r\n", "pfadd", "h", "d")
	bmExpectVal(s, "h", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ", true)
	s.expect(":4\r\n", "pfcount", "h")
	s.expect(":0\r\n", "pfcount", "missing")
	s.expect(":4\r\n", "pfcount", "h", "missing")
	s.expect(":1\r\n", "pfadd", "h2", "c", "d", "e")
	s.expect(":5\r\n", "pfcount", "h", "h2")
	s.expect("+OK\r\n", "pfmerge", "m", "h", "h2", "missing")
	s.expect(":5\r\n", "pfcount", "m")
	s.expect("+OK\r\n", "pfmerge", "m2")
	bmExpectVal(s, "m2", hllEmpty, true)

	// The expiry of an existing key stays.
	s.putString("ttl", hllEmpty, s.now+5000)
	s.expect(":1\r\n", "pfadd", "ttl", "x")
	s.expect("+OK\r\n", "pfmerge", "ttl", "h")
	if r, _ := s.record("ttl"); r.Exp != s.now+5000 {
		t.Errorf("expiry %d after PFADD and PFMERGE", r.Exp)
	}
	s.expect(":5\r\n", "pfcount", "ttl")
}

func TestHLLInvalid(t *testing.T) {
	s := newTestStore(t)
	s.expect(":1\r\n", "sadd", "set", "m")
	s.putString("str", "hello", 0)
	s.putString("short", "HYLL\x01\x00\x00\x00", 0)
	s.putString("enc2", "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff", 0)
	s.putString("dense", "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff", 0)
	// Sparse opcodes for 16383 registers, not 16384.
	bad := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"
	s.putString("bad", bad, 0)
	// A valid cached cardinality is answered as it is.
	s.putString("cached", "HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x7f\xfe", 0)
	for _, tc := range []struct {
		want string
		args []string
	}{
		{replyWrongType, []string{"pfadd", "set", "a"}},
		{replyWrongType, []string{"pfcount", "set"}},
		{replyWrongType, []string{"pfcount", "missing", "set"}},
		{replyWrongType, []string{"pfmerge", "set", "missing"}},
		{hllNotHLL, []string{"pfadd", "str", "a"}},
		{hllNotHLL, []string{"pfcount", "short"}},
		{hllNotHLL, []string{"pfcount", "enc2"}},
		{hllNotHLL, []string{"pfadd", "dense", "a"}},
		{hllNotHLL, []string{"pfmerge", "d", "missing", "str"}},
		{hllCorrupt, []string{"pfcount", "bad"}},
		{hllCorrupt, []string{"pfcount", "bad", "missing"}},
		{hllCorrupt, []string{"pfmerge", "d", "bad"}},
		{":42\r\n", []string{"pfcount", "cached"}},
		// A register the opcodes cover can still be set, as in Redis.
		{":1\r\n", []string{"pfadd", "bad", "x"}},
		{hllCorrupt, []string{"pfcount", "bad"}},
		{"-ERR wrong number of arguments for 'pfmerge' command\r\n", []string{"pfmerge"}},
	} {
		s.expect(tc.want, tc.args...)
	}
	bmExpectVal(s, "d", "", false)
}

// TestHLLPromotion fills a sparse HLL until it turns dense: at the latest
// when it would pass hll-sparse-max-bytes.
func TestHLLPromotion(t *testing.T) {
	s := newTestStore(t)
	prev := 0
	for i := 0; ; i++ {
		s.do("pfadd", "h", "e"+strconv.Itoa(i))
		r, _ := s.record("h")
		if r.Val[4] == hllDense {
			if len(r.Val) != hllDenseSize {
				t.Fatalf("dense HLL of %d bytes", len(r.Val))
			}
			// These elements never reach a register above 32: the size
			// limit promotes, when a split would add up to 3 bytes.
			if prev+3 <= hllSparseMaxBytes {
				t.Errorf("promoted at %d sparse bytes", prev)
			}
			break
		}
		if len(r.Val) > hllSparseMaxBytes {
			t.Fatalf("sparse HLL of %d bytes", len(r.Val))
		}
		prev = len(r.Val)
		if i > 5000 {
			t.Fatal("never promoted")
		}
	}
	// Dense HLLs merge into a dense destination.
	s.expect(":1\r\n", "pfadd", "small", "x")
	s.expect("+OK\r\n", "pfmerge", "small", "h")
	if r, _ := s.record("small"); len(r.Val) != hllDenseSize || r.Val[4] != hllDense {
		t.Errorf("merge with a dense HLL left %d bytes, encoding %d", len(r.Val), r.Val[4])
	}
}

// TestHLLAgainstRedis checks that PFADD and PFMERGE store the bytes
// redis-server stores, sparse and dense, and that the counts agree.
func TestHLLAgainstRedis(t *testing.T) {
	rc := bmStartRedis(t)
	s := newTestStore(t)
	rc.do("FLUSHALL")
	both := func(args ...string) string {
		t.Helper()
		got, want := s.do(args...), rc.do(args...)
		if got != want {
			t.Errorf("%s %s…: got %q, redis %q", args[0], args[1], bmTrim(got), bmTrim(want))
		}
		return got
	}
	// sameBytes compares the stored strings; masked leaves out the cached
	// cardinality, which Redis's PFCOUNT rewrites and ours does not.
	sameBytes := func(key string, masked bool) {
		t.Helper()
		want := rc.do("GET", key)
		r, ok := s.record(key)
		got := "_\r\n"
		if ok {
			got = bulk(r.Val)
		}
		if masked && len(got) > 30 && len(want) > 30 {
			n := len(fmt.Sprintf("$%d\r\n", len(r.Val)))
			got = got[:n+8] + got[n+16:]
			want = want[:n+8] + want[n+16:]
		}
		if got != want {
			t.Errorf("%s: stored bytes differ\n got %q\nredis %q", key, bmTrim(got), bmTrim(want))
		}
	}
	add := func(key string, elems []string) {
		t.Helper()
		for len(elems) > 0 {
			n := min(len(elems), 500)
			both(append([]string{"pfadd", key}, elems[:n]...)...)
			elems = elems[n:]
		}
	}
	for _, n := range []int{10, 1000, 100000} {
		key := "h" + strconv.Itoa(n)
		add(key, hllElems(0, n))
		sameBytes(key, false)
		both("pfcount", key, "missing") // counts without writing
		add(key, hllElems(n/2, n/10+1)) // mostly present already
		sameBytes(key, false)
		both("pfcount", key)
		sameBytes(key, true)
		both("pfcount", key)
	}
	// One element at a time through the sparse range and into dense: the
	// promotion happens at the same element.
	for i := range 3000 {
		both("pfadd", "step", "x"+strconv.Itoa(i))
		sameBytes("step", false)
	}
	both("pfcount", "step", "h10", "h1000")
	both("pfcount", "h10", "h1000", "h100000")

	// Merges: sparse into new, sparse into existing sparse, with dense.
	add("a", hllElems(5000, 40))
	add("b", hllElems(5020, 40))
	both("pfmerge", "m1", "a", "b")
	sameBytes("m1", false)
	add("m2", hllElems(9000, 5))
	both("pfmerge", "m2", "a", "missing", "b")
	sameBytes("m2", false)
	both("pfmerge", "m3", "a", "step")
	sameBytes("m3", false)
	both("pfmerge", "a", "a")
	sameBytes("a", false)
	both("pfmerge", "m4", "h1000", "a", "b", "m2")
	sameBytes("m4", false)
	both("pfcount", "m1", "m2", "m3", "m4")
	for _, k := range []string{"m1", "m2", "m3", "m4"} {
		both("pfcount", k)
	}

	// Counts of many sizes, through the small-range correction.
	for _, n := range []int{1, 2, 50, 200, 3000, 20000, 60000} {
		key := "c" + strconv.Itoa(n)
		add(key, hllElems(n*7, n))
		both("pfcount", key)
	}
	// Binary elements and every tail length of the hash.
	for i := range 20 {
		both("pfadd", "bin", string(make([]byte, i)), "\xff\x00"+string(rune('a'+i)))
	}
	sameBytes("bin", false)
	both("pfcount", "bin")

	// Strings that are not HLLs, or corrupt ones.
	bmDiff(t, rc, bmSplit(`
		sadd set m
		set str hello
		set short "HYLL\x01\x00\x00\x00"
		set enc2 "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
		set dense "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
		set bad "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"
		set over "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x80"
		set cached "HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
		pfadd set a
		pfcount missing set
		pfmerge set
		pfadd str a
		pfcount short
		pfcount enc2
		pfadd dense a
		pfmerge d bad
		pfcount bad
		pfcount bad missing
		pfadd bad x
		get bad
		pfcount over
		pfadd over a
		pfmerge d2 over
		pfcount cached
		pfcount cached missing
		pfadd cached x
		get cached
		pfmerge cached
		get cached
		exists d d2
	`))
}
