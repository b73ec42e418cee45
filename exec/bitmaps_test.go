package exec

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	osexec "os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardis/shardis/internal/redistest"
)

// bmExpectVal checks the string key holds (ok false: missing).
func bmExpectVal(s *testStore, key, want string, wantOK bool) {
	s.t.Helper()
	r, ok := s.record(key)
	if ok != wantOK || r.Val != want {
		s.t.Errorf("%q holds %q (exists %v), want %q (exists %v)", key, r.Val, ok, want, wantOK)
	}
}

func bmInt(n int64) string { return ":" + strconv.FormatInt(n, 10) + "\r\n" }

// bmInts is an array of integer replies.
func bmInts(ns ...int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(ns))
	for _, n := range ns {
		b.WriteString(bmInt(n))
	}
	return b.String()
}

func TestBitmapsSetGetBit(t *testing.T) {
	s := newTestStore(t)
	s.expect(":0\r\n", "setbit", "k", "7", "1")
	bmExpectVal(s, "k", "\x01", true)
	s.expect(":1\r\n", "setbit", "k", "7", "1")
	s.expect(":1\r\n", "setbit", "k", "7", "0")
	bmExpectVal(s, "k", "\x00", true)
	s.expect(":0\r\n", "setbit", "k", "17", "1")
	bmExpectVal(s, "k", "\x00\x00\x40", true)
	// Clearing a bit past the end still grows the string.
	s.expect(":0\r\n", "setbit", "k", "39", "0")
	bmExpectVal(s, "k", "\x00\x00\x40\x00\x00", true)
	s.expect(":0\r\n", "setbit", "new", "0", "0")
	bmExpectVal(s, "new", "\x00", true)

	s.expect(":1\r\n", "getbit", "k", "17")
	s.expect(":0\r\n", "getbit", "k", "16")
	s.expect(":0\r\n", "getbit", "k", "4294967295")
	s.expect(":0\r\n", "getbit", "missing", "3")

	for _, tc := range []struct{ want, off, val string }{
		{"-ERR bit offset is not an integer or out of range\r\n", "4294967296", "1"},
		{"-ERR bit offset is not an integer or out of range\r\n", "-1", "1"},
		{"-ERR bit offset is not an integer or out of range\r\n", "x", "1"},
		{"-ERR bit offset is not an integer or out of range\r\n", "#1", "1"},
		{"-ERR bit is not an integer or out of range\r\n", "1", "2"},
		{"-ERR bit is not an integer or out of range\r\n", "1", "-1"},
		{"-ERR bit is not an integer or out of range\r\n", "1", "01"},
		{"-ERR bit is not an integer or out of range\r\n", "4294967295", "x"},
	} {
		s.expect(tc.want, "setbit", "k", tc.off, tc.val)
	}
	s.expect("-ERR bit offset is not an integer or out of range\r\n", "getbit", "k", "4294967296")

	// Arguments are checked before the type.
	s.expect(":1\r\n", "sadd", "set", "m")
	s.expect(replyWrongType, "setbit", "set", "0", "1")
	s.expect("-ERR bit is not an integer or out of range\r\n", "setbit", "set", "0", "2")
	s.expect(replyWrongType, "getbit", "set", "0")

	// The expiry stays.
	s.putString("ttl", "a", s.now+10_000)
	s.expect(":0\r\n", "setbit", "ttl", "15", "1")
	if r, _ := s.record("ttl"); r.Exp != s.now+10_000 || r.Val != "a\x01" {
		t.Errorf("after SETBIT: %q exp %d", r.Val, r.Exp)
	}
}

func TestBitmapsBitCount(t *testing.T) {
	s := newTestStore(t)
	s.putString("k", "foobar", 0)
	s.putString("e", "", 0)
	s.expect(":1\r\n", "sadd", "set", "m")
	for _, tc := range []struct {
		want string
		args []string
	}{
		{":26\r\n", []string{"k"}},
		{":4\r\n", []string{"k", "0", "0"}},
		{":6\r\n", []string{"k", "1", "1"}},
		{":10\r\n", []string{"k", "0", "1", "byte"}},
		{":26\r\n", []string{"k", "0", "-1", "BIT"}},
		{":17\r\n", []string{"k", "5", "30", "bit"}},
		{":0\r\n", []string{"k", "7", "7", "bit"}},
		{":1\r\n", []string{"k", "6", "6", "bit"}},
		{":7\r\n", []string{"k", "-2", "-1"}},
		{":0\r\n", []string{"k", "-1", "-2"}},
		{":0\r\n", []string{"k", "-1", "-2", "nonsense"}}, // Redis answers before reading the unit
		{":26\r\n", []string{"k", "-100", "100"}},
		{":26\r\n", []string{"k", "-9223372036854775808", "9223372036854775807", "bit"}},
		{":0\r\n", []string{"k", "4", "2"}},
		{":0\r\n", []string{"e"}},
		{":0\r\n", []string{"e", "0", "-1", "bit"}},
		{":0\r\n", []string{"missing", "a", "b", "c"}}, // the key is looked up first
		{":0\r\n", []string{"missing", "1"}},
		{"-ERR syntax error\r\n", []string{"k", "1"}},
		{"-ERR syntax error\r\n", []string{"k", "0", "1", "bits"}},
		{"-ERR syntax error\r\n", []string{"k", "0", "1", "bit", "x"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"k", "a", "1"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"k", "1", "a"}},
		{replyWrongType, []string{"set"}},
	} {
		s.expect(tc.want, append([]string{"bitcount"}, tc.args...)...)
	}
}

func TestBitmapsBitPos(t *testing.T) {
	s := newTestStore(t)
	s.putString("ff", "\xff\xff\xff", 0)
	s.putString("z", "\x00\x00\x00", 0)
	s.putString("x", "\x00\xff\xf0", 0)
	s.putString("e", "", 0)
	s.expect(":1\r\n", "sadd", "set", "m")
	for _, tc := range []struct {
		want string
		args []string
	}{
		{":-1\r\n", []string{"missing", "1", "a", "b", "c"}},
		{":0\r\n", []string{"missing", "0"}},
		{"-ERR The bit argument must be 1 or 0.\r\n", []string{"missing", "2"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"missing", "x"}},
		{":-1\r\n", []string{"e", "0"}},
		{":-1\r\n", []string{"e", "1"}},
		{":24\r\n", []string{"ff", "0"}}, // past the end: zero padding
		{":24\r\n", []string{"ff", "0", "1"}},
		{":-1\r\n", []string{"ff", "0", "1", "2"}}, // an explicit end: no padding
		{":-1\r\n", []string{"ff", "0", "8", "23", "bit"}},
		{":16\r\n", []string{"ff", "1", "-1"}},
		{":23\r\n", []string{"ff", "1", "-1", "-1", "bit"}},
		{":-1\r\n", []string{"z", "1"}},
		{":0\r\n", []string{"z", "0", "-100", "-50"}},
		{":-1\r\n", []string{"z", "0", "5", "3", "bit"}},
		{":8\r\n", []string{"x", "1"}},
		{":8\r\n", []string{"x", "1", "7", "15", "bit"}},
		{":7\r\n", []string{"x", "0", "7", "15", "bit"}},
		{":-1\r\n", []string{"x", "0", "9", "15", "bit"}},
		{":-1\r\n", []string{"x", "0", "9", "19", "bit"}},
		{":20\r\n", []string{"x", "0", "9", "20", "bit"}},
		{":20\r\n", []string{"x", "0", "2"}},
		{":20\r\n", []string{"x", "0", "2", "2"}},
		{":0\r\n", []string{"x", "0", "0", "0", "byte"}},
		{"-ERR syntax error\r\n", []string{"x", "0", "1", "2", "bits"}},
		{"-ERR syntax error\r\n", []string{"x", "1", "1", "2", "3", "4"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"x", "0", "a"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"x", "0", "8", "bit"}},
		{replyWrongType, []string{"set", "1"}},
	} {
		s.expect(tc.want, append([]string{"bitpos"}, tc.args...)...)
	}
}

func TestBitmapsBitOp(t *testing.T) {
	s := newTestStore(t)
	s.putString("a", "\xf0\x0f\xff", 0)
	s.putString("b", "\x3c", 0)
	s.expect(":3\r\n", "bitop", "and", "d", "a", "b")
	bmExpectVal(s, "d", "\x30\x00\x00", true)
	s.expect(":3\r\n", "bitop", "OR", "d", "a", "b", "missing")
	bmExpectVal(s, "d", "\xfc\x0f\xff", true)
	s.expect(":3\r\n", "bitop", "xor", "d", "a", "b")
	bmExpectVal(s, "d", "\xcc\x0f\xff", true)
	s.expect(":3\r\n", "bitop", "not", "d", "a")
	bmExpectVal(s, "d", "\x0f\xf0\x00", true)
	s.expect(":3\r\n", "bitop", "and", "d", "a", "missing")
	bmExpectVal(s, "d", "\x00\x00\x00", true)
	s.expect(":3\r\n", "bitop", "xor", "a", "a", "b") // the destination may be a source
	bmExpectVal(s, "a", "\xcc\x0f\xff", true)

	// An empty result deletes the destination, whatever it held.
	s.expect(":0\r\n", "bitop", "or", "d", "missing", "missing2")
	bmExpectVal(s, "d", "", false)
	s.expect(":1\r\n", "sadd", "set", "m")
	s.expect(":0\r\n", "bitop", "not", "set", "missing")
	if _, ok := s.record("set"); ok {
		t.Error("BITOP with an empty result kept the destination")
	}
	// A result replaces a destination of any type, and drops its expiry.
	s.expect(":1\r\n", "sadd", "set", "m")
	s.expect(":1\r\n", "bitop", "or", "set", "b")
	bmExpectVal(s, "set", "\x3c", true)
	s.putString("ttl", "x", s.now+5000)
	s.expect(":1\r\n", "bitop", "not", "ttl", "b")
	if r, _ := s.record("ttl"); r.Exp != 0 || r.Val != "\xc3" {
		t.Errorf("BITOP destination: %q exp %d", r.Val, r.Exp)
	}

	s.expect(":1\r\n", "sadd", "set2", "m")
	s.expect(replyWrongType, "bitop", "or", "d", "b", "set2")
	s.expect("-ERR syntax error\r\n", "bitop", "nand", "d", "a")
	s.expect("-ERR BITOP NOT must be called with a single source key.\r\n", "bitop", "not", "d", "a", "b")
	s.expect("-ERR wrong number of arguments for 'bitop' command\r\n", "bitop", "and", "d")
}

func TestBitmapsBitField(t *testing.T) {
	s := newTestStore(t)
	for _, tc := range []struct {
		want string
		args []string
	}{
		{bmInts(0, 255), []string{"k", "set", "u8", "0", "255", "get", "u8", "0"}},
		{bmInts(255, -1, 15, 3, 255<<55), []string{"k", "get", "u8", "0", "get", "i8", "0", "get", "u4", "4", "get", "u2", "#3", "get", "u63", "0"}},
		{bmInts(1, 0), []string{"k", "incrby", "u2", "100", "1", "get", "u8", "#2"}},
		{bmInts(0), []string{"k", "incrby", "u8", "0", "1"}}, // wraps
		{"*2\r\n:255\r\n_\r\n", []string{"k", "overflow", "sat", "incrby", "u8", "0", "300", "overflow", "fail", "incrby", "u8", "0", "1"}},
		{bmInts(0, 127), []string{"k", "overflow", "sat", "set", "i8", "8", "1000", "set", "i8", "8", "-129"}},
		{bmInts(128, 255), []string{"k", "overflow", "sat", "set", "u8", "8", "-1", "get", "u8", "8"}},
		{bmInts(-9223372036854775808), []string{"k2", "incrby", "i64", "64", "-9223372036854775808"}},
		{bmInts(9223372036854775807), []string{"k2", "incrby", "i64", "64", "-1"}},
		{"*1\r\n_\r\n", []string{"k2", "overflow", "fail", "incrby", "i64", "64", "1"}},
		{bmInts(-9223372036854775808), []string{"k2", "incrby", "i64", "64", "1"}},
		{"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n", []string{"k", "get", "U8", "0"}},
		{bmInts(), []string{"k"}},
		{bmInts(0), []string{"missing", "get", "i64", "4294967232"}},
		{"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n", []string{"k", "get", "u64", "0"}},
		{"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n", []string{"k", "get", "i0", "0"}},
		{"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n", []string{"k", "get", "x8", "0"}},
		{"-ERR bit offset is not an integer or out of range\r\n", []string{"k", "get", "u8", "4294967296"}},
		{"-ERR bit offset is not an integer or out of range\r\n", []string{"k", "get", "u8", "#536870912"}},
		{"-ERR bit offset is not an integer or out of range\r\n", []string{"k", "get", "u8", "-1"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"k", "set", "u8", "0", "x"}},
		{"-ERR Invalid OVERFLOW type specified\r\n", []string{"k", "overflow", "none"}},
		{"-ERR syntax error\r\n", []string{"k", "get", "u8"}},
		{"-ERR syntax error\r\n", []string{"k", "set", "u8", "0"}},
		{"-ERR syntax error\r\n", []string{"k", "del", "u8", "0"}},
	} {
		s.expect(tc.want, append([]string{"bitfield"}, tc.args...)...)
	}
	s.expect(bmInts(0xff), "bitfield_ro", "k", "get", "u8", "#1")
	s.expect("-ERR BITFIELD_RO only supports the GET subcommand\r\n", "bitfield_ro", "k", "get", "u8", "0", "set", "u8", "0", "1")
	s.expect("-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n", "bitfield_ro", "k", "set", "u64", "0", "1")

	// A FAILed write still creates (or grows) the key, as in Redis.
	s.expect("*1\r\n_\r\n", "bitfield", "new", "overflow", "fail", "set", "u2", "9", "4")
	bmExpectVal(s, "new", "\x00\x00", true)
	s.expect(bmInts(0), "bitfield", "new2", "get", "u8", "100")
	bmExpectVal(s, "new2", "", false)

	s.expect(":1\r\n", "sadd", "set", "m")
	s.expect(replyWrongType, "bitfield", "set", "get", "u8", "0")
	s.expect(replyWrongType, "bitfield", "set", "set", "u8", "0", "1")
	s.expect(replyWrongType, "bitfield_ro", "set", "get", "u8", "0")
	s.expect("-ERR BITFIELD_RO only supports the GET subcommand\r\n", "bitfield_ro", "set", "incrby", "u8", "0", "1")

	s.putString("ttl", "", s.now+5000)
	s.expect(bmInts(0), "bitfield", "ttl", "set", "i5", "3", "-1")
	if r, _ := s.record("ttl"); r.Exp != s.now+5000 || r.Val != "\x1f" {
		t.Errorf("BITFIELD: %q exp %d", r.Val, r.Exp)
	}
}

func TestBitmapsLCS(t *testing.T) {
	s := newTestStore(t)
	s.putString("a", "ohmytext", 0)
	s.putString("b", "mynewtext", 0)
	s.expect(":1\r\n", "sadd", "set", "m")
	idx := "%2\r\n$7\r\nmatches\r\n*2\r\n" +
		"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n" +
		"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n" +
		"$3\r\nlen\r\n:6\r\n"
	idxLen := "%2\r\n$7\r\nmatches\r\n*1\r\n" +
		"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n" +
		"$3\r\nlen\r\n:6\r\n"
	for _, tc := range []struct {
		want string
		args []string
	}{
		{bulk("mytext"), []string{"a", "b"}},
		{":6\r\n", []string{"a", "b", "LEN"}},
		{idx, []string{"a", "b", "idx"}},
		{idx, []string{"a", "b", "idx", "minmatchlen", "-5"}},
		{idxLen, []string{"a", "b", "idx", "minmatchlen", "3", "withmatchlen"}},
		{bulk(""), []string{"a", "missing"}},
		{"%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", []string{"missing", "missing", "idx"}},
		{bulk("mytext"), []string{"a", "b", "minmatchlen", "3"}},
		{"-ERR If you want both the length and indexes, please just use IDX.\r\n", []string{"a", "b", "len", "idx"}},
		{"-ERR syntax error\r\n", []string{"a", "b", "minmatchlen"}},
		{"-ERR syntax error\r\n", []string{"a", "b", "foo"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"a", "b", "minmatchlen", "x"}},
		{"-ERR The specified keys must contain string values\r\n", []string{"a", "set", "foo"}},
	} {
		s.expect(tc.want, append([]string{"lcs"}, tc.args...)...)
	}
	// The smallest table past proto-max-bulk-len: 11586*11585*4 bytes
	// (11585*11585*4 is allowed, as in Redis, but too big to test).
	s.putString("big1", strings.Repeat("x", 11585), 0)
	s.putString("big2", strings.Repeat("x", 11584), 0)
	s.expect("-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n", "lcs", "big1", "big2", "len")
}

// bmRedis is a RESP3 connection to a real redis-server, returning raw
// replies so that they compare byte for byte with ours.
type bmRedis struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// bmStartRedis starts a redis-server for the test, or skips the test when
// there is no redis-server binary.
func bmStartRedis(t testing.TB) *bmRedis {
	t.Helper()
	if _, err := osexec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server to compare with")
	}
	addr := redistest.Start(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rc := &bmRedis{t: t, conn: conn, r: bufio.NewReaderSize(conn, 1<<16)}
	rc.do("HELLO", "3")
	return rc
}

func (rc *bmRedis) do(args ...string) string {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := rc.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		rc.t.Fatal(err)
	}
	if _, err := io.WriteString(rc.conn, b.String()); err != nil {
		rc.t.Fatal(err)
	}
	var out strings.Builder
	if err := bmReadReply(rc.r, &out); err != nil {
		rc.t.Fatalf("%v: %v", args, err)
	}
	return out.String()
}

// bmReadReply copies one whole RESP3 reply from r to out.
func bmReadReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	if len(line) < 3 {
		return fmt.Errorf("short line %q", line)
	}
	n, _ := strconv.Atoi(line[1 : len(line)-2])
	switch line[0] {
	case '$', '=', '!':
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf)
	case '%', '|':
		n *= 2
		fallthrough
	case '*', '~', '>':
		for range max(n, 0) {
			if err := bmReadReply(r, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// bmDiff runs commands on a fresh store and on Redis (flushed) and
// reports every reply that differs. "set" and "get" go to the store
// directly on our side, so the comparison needs no other command.
func bmDiff(t *testing.T, rc *bmRedis, cmds [][]string) {
	t.Helper()
	s := newTestStore(t)
	rc.do("FLUSHALL")
	for _, cmd := range cmds {
		want := rc.do(cmd...)
		var got string
		switch strings.ToLower(cmd[0]) {
		case "set":
			s.putString(cmd[1], cmd[2], 0)
			got = "+OK\r\n"
		case "get":
			got = "_\r\n"
			if r, ok := s.record(cmd[1]); ok {
				got = bulk(r.Val)
			}
		default:
			got = s.do(cmd...)
		}
		if got != want {
			t.Errorf("%q:\n got %q\nredis %q", cmd, bmTrim(got), bmTrim(want))
		}
	}
}

func bmTrim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func bmSplit(lines string) [][]string {
	var out [][]string
	for _, l := range strings.Split(lines, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			for i := range f {
				if u, err := strconv.Unquote(f[i]); err == nil {
					f[i] = u
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// TestBitmapsAgainstRedis replays edge cases on a real redis-server.
func TestBitmapsAgainstRedis(t *testing.T) {
	rc := bmStartRedis(t)
	bmDiff(t, rc, bmSplit(`
		set k foobar
		set ff "\xff\xff\xff"
		set x "\x00\xff\xf0"
		set e ""
		sadd set m
		bitcount k -1 -2 xx
		bitcount k 1 -2 xx
		bitcount k 3 -1 bit
		bitcount k -9 -1 bit
		bitcount set 0 0
		bitpos x 0 9 20 bit
		bitpos x 1 -3 -1 bit
		bitpos x 0 -3 -1 bit
		bitpos x 0 -3
		bitpos e 0 0 -1
		bitpos set 0 x
		bitfield k overflow sat set i8 0 -9223372036854775808
		bitfield k overflow sat set i8 0 9223372036854775807
		bitfield k overflow wrap set i8 0 -9223372036854775808 get i8 0
		bitfield k overflow sat incrby i64 0 9223372036854775807 incrby i64 0 9223372036854775807
		bitfield k overflow wrap incrby i64 0 9223372036854775807 incrby i64 0 1
		bitfield k overflow sat incrby i64 0 -9223372036854775808 incrby i64 0 -1
		bitfield k overflow fail incrby u63 0 -1 incrby u63 0 9223372036854775807 get u63 0
		bitfield k overflow sat set u63 0 -1 incrby u63 0 -9223372036854775808
		bitfield k overflow wrap set u63 0 -1 incrby u63 1 -9223372036854775808
		bitfield k set i64 #1 -2 get u63 #1 get i1 127 get u1 127
		bitfield k get "u8\x00x" 0
		bitfield k get "U8" #4611686018427387904
		bitfield k get i8 #-1
		bitfield k get i8 #
		bitfield k overflow FAIL
		bitfield k overflow
		bitfield set overflow fail
		bitfield_ro set
		bitfield_ro k get u8 0 get
		get k
		setbit k 100 0
		get k
		lcs k x
		lcs k x idx withmatchlen
		set l1 "ACCGGTCGAGTGCGCGGAAGCCGGCCGAA"
		set l2 "GTCGTTCGGAATGCCGTTGCTCTGTAAA"
		lcs l1 l2
		lcs l1 l2 idx
		lcs l1 l2 idx minmatchlen 2 withmatchlen
		lcs l2 l1 idx withmatchlen
	`))
}

// TestBitmapsRandomAgainstRedis runs random bit commands over random
// strings on both sides.
func TestBitmapsRandomAgainstRedis(t *testing.T) {
	rc := bmStartRedis(t)
	rnd := rand.New(rand.NewPCG(7, 11))
	num := func(lo, hi int) string { return strconv.Itoa(lo + rnd.IntN(hi-lo+1)) }
	types := []string{"u1", "u3", "u8", "u13", "u32", "u63", "i1", "i5", "i8", "i16", "i33", "i64"}
	vals := []string{"0", "1", "-1", "127", "-128", "255", "65535", "9223372036854775807", "-9223372036854775808", "4611686018427387904"}
	var cmds [][]string
	for range 1500 {
		key := []string{"a", "b", "c"}[rnd.IntN(3)]
		unit := []string{"byte", "bit"}[rnd.IntN(2)]
		switch rnd.IntN(9) {
		case 0:
			b := make([]byte, rnd.IntN(12))
			for i := range b {
				b[i] = []byte{0, 0xff, byte(rnd.IntN(256))}[rnd.IntN(3)]
			}
			cmds = append(cmds, []string{"set", key, string(b)})
		case 1:
			cmds = append(cmds, []string{"setbit", key, num(0, 100), num(0, 1)})
		case 2:
			cmds = append(cmds, []string{"bitcount", key, num(-100, 100), num(-100, 100), unit})
		case 3:
			cmds = append(cmds, []string{"bitpos", key, num(0, 1), num(-100, 100), num(-100, 100), unit})
		case 4:
			cmds = append(cmds, []string{"bitpos", key, num(0, 1), num(-15, 15)})
		case 5:
			cmds = append(cmds, []string{"bitop", []string{"and", "or", "xor"}[rnd.IntN(3)], key, "a", "b", "c"})
		case 6:
			cmd := []string{"bitfield", key}
			for range 1 + rnd.IntN(4) {
				ow := []string{"wrap", "sat", "fail"}[rnd.IntN(3)]
				typ, off := types[rnd.IntN(len(types))], num(0, 90)
				switch rnd.IntN(3) {
				case 0:
					cmd = append(cmd, "get", typ, off)
				case 1:
					cmd = append(cmd, "overflow", ow, "set", typ, off, vals[rnd.IntN(len(vals))])
				default:
					cmd = append(cmd, "overflow", ow, "incrby", typ, off, vals[rnd.IntN(len(vals))])
				}
			}
			cmds = append(cmds, cmd)
		case 7:
			cmds = append(cmds, []string{"lcs", "a", key, "idx", "withmatchlen", "minmatchlen", num(0, 3)})
		default:
			cmds = append(cmds, []string{"get", key})
		}
	}
	bmDiff(t, rc, cmds)
}
