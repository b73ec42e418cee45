package rdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/redistest"
)

func TestChecksumVector(t *testing.T) {
	// The check value crc64.c's own test prints.
	if got := checksum([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("checksum = %#x", got)
	}
}

// canon is a value's content in an order-free form, to compare a decoded
// value with what Redis serves.
func canon(v Value) string {
	var parts []string
	switch v.Kind {
	case KindString:
		return "string:" + string(v.Str)
	case KindList:
		for _, e := range v.Elems {
			parts = append(parts, string(e))
		}
		return "list:" + strings.Join(parts, "\x00")
	case KindSet:
		for _, e := range v.Elems {
			parts = append(parts, string(e))
		}
		sort.Strings(parts)
		return "set:" + strings.Join(parts, "\x00")
	case KindHash:
		for _, p := range v.Fields {
			parts = append(parts, string(p.Field)+"="+string(p.Value))
		}
		sort.Strings(parts)
		return "hash:" + strings.Join(parts, "\x00")
	case KindZSet:
		for _, m := range sortedZSet(v.ZSet) {
			parts = append(parts, string(m.Member)+"="+strconv.FormatFloat(m.Score, 'g', -1, 64))
		}
		return "zset:" + strings.Join(parts, "\x00")
	}
	return "?"
}

// redisCanon is canon of key as Redis serves it.
func redisCanon(t *testing.T, rc *redis.Client, key string) string {
	t.Helper()
	ctx := context.Background()
	typ, err := rc.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	v := Value{}
	switch typ {
	case "string":
		s, err := rc.Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		v = Value{Kind: KindString, Str: []byte(s)}
	case "list", "set":
		var elems []string
		if typ == "list" {
			elems, err = rc.LRange(ctx, key, 0, -1).Result()
			v.Kind = KindList
		} else {
			elems, err = rc.SMembers(ctx, key).Result()
			v.Kind = KindSet
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range elems {
			v.Elems = append(v.Elems, []byte(e))
		}
	case "hash":
		m, err := rc.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		v.Kind = KindHash
		for f, x := range m {
			v.Fields = append(v.Fields, Pair{[]byte(f), []byte(x)})
		}
	case "zset":
		zs, err := rc.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		v.Kind = KindZSet
		for _, z := range zs {
			v.ZSet = append(v.ZSet, ZMember{[]byte(z.Member.(string)), z.Score})
		}
	default:
		t.Fatalf("%s: type %s", key, typ)
	}
	return canon(v)
}

func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { rc.Close() })
	return rc
}

func run(t *testing.T, rc *redis.Client, args ...any) any {
	t.Helper()
	v, err := rc.Do(context.Background(), args...).Result()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

// seq is "prefix0" ... "prefix(n-1)" as command arguments.
func seq(prefix string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func ints(vals ...int64) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = strconv.FormatInt(v, 10)
	}
	return out
}

func cmd(name string, args ...any) []any { return append([]any{name, "k"}, args...) }

// redisCases build values in Redis by commands; each is then DUMPed.
var redisCases = []struct {
	name    string
	cmds    [][]any
	objType byte
}{
	{"string", [][]any{cmd("set", "hello")}, TypeString},
	{"empty string", [][]any{cmd("set", "")}, TypeString},
	{"int8", [][]any{cmd("set", "-128")}, TypeString},
	{"int16", [][]any{cmd("set", "12345")}, TypeString},
	{"int32", [][]any{cmd("set", "-2147483648")}, TypeString},
	{"int64 as text", [][]any{cmd("set", "2147483648")}, TypeString},
	{"leading zero", [][]any{cmd("set", "007")}, TypeString},
	{"21 bytes", [][]any{cmd("set", rep("a", 21))}, TypeString},
	{"compressible", [][]any{cmd("set", rep("abcdefgh", 100))}, TypeString},
	{"long run", [][]any{cmd("set", rep("x", 5000))}, TypeString},
	{"text", [][]any{cmd("set", rep("the quick brown fox jumps over the lazy dog ", 30))}, TypeString},
	{"hll", [][]any{append([]any{"pfadd", "k"}, seq("e", 50)...)}, TypeString},
	{"incr", [][]any{cmd("incrby", "1000000")}, TypeString},

	{"list small", [][]any{cmd("rpush", "a", "b", "c")}, TypeListQuicklist2},
	{"list ints", [][]any{append([]any{"rpush", "k"}, ints(0, 127, 128, -1, -4096, 4095, 4096, -4097,
		-32768, 32767, 32768, -32769, 8388607, -8388608, 8388608, 2147483647, -2147483648, 2147483648,
		math.MaxInt64, math.MinInt64)...)}, TypeListQuicklist2},
	{"list non-canonical", [][]any{cmd("rpush", "9223372036854775808", "-0", "+1", "01", " 1", "1.5", "")}, TypeListQuicklist2},
	{"list string sizes", [][]any{cmd("rpush", rep("a", 63), rep("b", 64), rep("c", 127), rep("d", 128), rep("e", 4095), rep("f", 4096), rep("g", 16380))}, TypeListQuicklist2},
	{"list many", [][]any{append([]any{"rpush", "k"}, seq("element-", 3000)...)}, TypeListQuicklist2},
	{"list near node limit", [][]any{cmd("rpush", rep("a", 4000), rep("b", 4000), rep("c", 170), rep("d", 8170), rep("e", 8171), rep("f", 8200))}, TypeListQuicklist2},
	{"list lpush", [][]any{append([]any{"lpush", "k"}, seq("x", 20)...)}, TypeListQuicklist2},

	{"intset16", [][]any{cmd("sadd", "1", "2", "3", "-5")}, TypeSetIntset},
	{"intset32", [][]any{cmd("sadd", "1", "100000")}, TypeSetIntset},
	{"intset64", [][]any{cmd("sadd", "1", "-10000000000", "5")}, TypeSetIntset},
	{"intset big", [][]any{append([]any{"sadd", "k"}, seq("", 512)...)}, TypeSetIntset},
	{"set strings", [][]any{cmd("sadd", "a", "b", "c")}, TypeSet},
	{"set ints over limit", [][]any{append([]any{"sadd", "k"}, seq("", 513)...)}, TypeSet},

	{"hash small", [][]any{cmd("hset", "f", "v", "n", "12", "neg", "-5000", "e", "")}, TypeHashListpack},
	{"hash 512", [][]any{append([]any{"hset", "k"}, seq("f", 1024)...)}, TypeHashListpack},
	{"hash 513", [][]any{append([]any{"hset", "k"}, seq("f", 1026)...)}, TypeHash},
	{"hash long value", [][]any{cmd("hset", "f", rep("v", 65))}, TypeHash},
	{"hash value 64", [][]any{cmd("hset", "f", rep("v", 64), "g", "h")}, TypeHashListpack},

	{"zset small", [][]any{cmd("zadd", "1", "a", "2", "b", "1", "aa", "-3", "c")}, TypeZSetListpack},
	{"zset scores", [][]any{cmd("zadd", "1.5", "a", "0.1", "b", "-0.25", "c", "inf", "d", "-inf", "e",
		"1e20", "f", "1e-5", "g", "4503599627370496", "h", "4503599627370495", "i", "-4503599627370495", "j",
		"123456789.123", "k", "3.0000000000000004", "l")}, TypeZSetListpack},
	{"zset 128", [][]any{append([]any{"zadd", "k"}, seq("", 256)...)}, TypeZSetListpack},
	{"zset 129", [][]any{append([]any{"zadd", "k"}, seq("", 258)...)}, TypeZSet2},
	{"zset long member", [][]any{cmd("zadd", "1", rep("m", 65), "2", "x")}, TypeZSet2},
}

// TestRedisDumps decodes what Redis DUMPs, checks the content against what
// Redis serves, and re-encodes it: both in the payload's encoding and in
// the encoding we pick for a new value, the bytes must be Redis's.
func TestRedisDumps(t *testing.T) {
	rc := startRedis(t)
	ctx := context.Background()
	for _, tc := range redisCases {
		t.Run(tc.name, func(t *testing.T) {
			run(t, rc, "del", "k")
			for _, c := range tc.cmds {
				run(t, rc, c...)
			}
			dump := []byte(rc.Dump(ctx, "k").Val())
			v, err := DecodeDump(dump)
			if err != nil {
				t.Fatalf("decode %q: %v", dump, err)
			}
			if v.ObjType != tc.objType {
				t.Errorf("object type %d, want %d", v.ObjType, tc.objType)
			}
			if got, want := canon(v), redisCanon(t, rc, "k"); got != want {
				t.Errorf("decoded %.200q\nredis   %.200q", got, want)
			}
			if got := EncodeDump(v); !bytes.Equal(got, dump) {
				t.Errorf("re-encoded:\n got %.300q\nwant %.300q", got, dump)
			}
			v.Enc = EncAuto
			if got := EncodeDump(v); !bytes.Equal(got, dump) {
				t.Errorf("encoded afresh:\n got %.300q\nwant %.300q", got, dump)
			}
		})
	}
}

// randValue makes a value of kind k with n elements drawn from a mix of
// small integers, large integers, short and long strings.
func randValue(rng *rand.Rand, k Kind, n int) Value {
	elem := func(i int) []byte {
		switch rng.IntN(6) {
		case 0:
			return []byte(strconv.Itoa(rng.IntN(300) - 150))
		case 1:
			return []byte(strconv.FormatInt(int64(rng.Uint64()), 10))
		case 2:
			return []byte(fmt.Sprintf("e%d", i))
		case 3:
			return bytes.Repeat([]byte{byte('a' + rng.IntN(3))}, rng.IntN(100))
		case 4:
			b := make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			return b
		}
		return []byte(fmt.Sprintf("%d-%s", i, strings.Repeat("xyz", rng.IntN(30))))
	}
	v := Value{Kind: k}
	seen := map[string]bool{}
	unique := func(i int) []byte {
		for {
			e := elem(i)
			if k == KindSet && rng.IntN(2) == 0 {
				e = []byte(strconv.Itoa(rng.IntN(100000) - 50000))
			}
			if !seen[string(e)] {
				seen[string(e)] = true
				return e
			}
		}
	}
	for i := range n {
		switch k {
		case KindString:
			v.Str = bytes.Repeat(elem(i), 1+rng.IntN(50))
		case KindList:
			v.Elems = append(v.Elems, elem(i))
		case KindSet:
			v.Elems = append(v.Elems, unique(i))
		case KindHash:
			v.Fields = append(v.Fields, Pair{unique(i), elem(i)})
		case KindZSet:
			s := float64(rng.IntN(20)) / 4
			if rng.IntN(4) == 0 {
				s = rng.NormFloat64() * 1e6
			}
			v.ZSet = append(v.ZSet, ZMember{unique(i), s})
		}
	}
	return v
}

// TestRestoreIntoRedis RESTOREs our encodings of random values into Redis,
// reads them back, and DUMPs them again: Redis keeps a listpack, intset or
// quicklist as it is loaded, so its DUMP must be our bytes; a hash table
// comes back in Redis's own order, so only its content is compared.
func TestRestoreIntoRedis(t *testing.T) {
	rc := startRedis(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	sizes := []int{1, 2, 5, 60, 128, 129, 512, 513, 2000}
	for _, k := range []Kind{KindString, KindList, KindSet, KindHash, KindZSet} {
		for _, n := range sizes {
			for rep := range 3 {
				v := randValue(rng, k, n)
				if k == KindSet && rep == 0 {
					v.Elems = nil
					for i := range n {
						v.Elems = append(v.Elems, []byte(strconv.Itoa(i*7919-3000)))
					}
				}
				payload := EncodeDump(v)
				name := fmt.Sprintf("%d/%d/%d", k, n, rep)
				if err := rc.RestoreReplace(ctx, "k", 0, string(payload)).Err(); err != nil {
					t.Fatalf("%s: RESTORE: %v", name, err)
				}
				if got, want := redisCanon(t, rc, "k"), canon(v); got != want {
					t.Fatalf("%s: redis has %.200q\nwant %.200q", name, got, want)
				}
				back := []byte(rc.Dump(ctx, "k").Val())
				dv, err := DecodeDump(back)
				if err != nil {
					t.Fatalf("%s: decode: %v", name, err)
				}
				if dv.Enc == EncHashtable {
					if canon(dv) != canon(v) {
						t.Errorf("%s: DUMP content differs", name)
					}
					continue
				}
				if !bytes.Equal(back, payload) {
					t.Errorf("%s: DUMP after RESTORE:\n got %.300q\nwant %.300q", name, back, payload)
				}
			}
		}
	}
}

// TestLZFAgainstRedis compares our compression with Redis's on strings of
// many shapes: it must produce the same bytes, and choose not to compress
// exactly where Redis does not.
func TestLZFAgainstRedis(t *testing.T) {
	rc := startRedis(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	gen := []func(n int) []byte{
		func(n int) []byte { // random over a small alphabet
			b := make([]byte, n)
			for i := range b {
				b[i] = "ab"[rng.IntN(2)]
			}
			return b
		},
		func(n int) []byte { // random bytes: mostly incompressible
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return b
		},
		func(n int) []byte { // repeated words with noise
			var b []byte
			words := []string{"redis", "dump", "restore", " ", "listpack", "0123456789"}
			for len(b) < n {
				b = append(b, words[rng.IntN(len(words))]...)
				if rng.IntN(10) == 0 {
					b = append(b, byte(rng.IntN(256)))
				}
			}
			return b[:n]
		},
		func(n int) []byte { return bytes.Repeat([]byte{byte(rng.IntN(256))}, n) },
		func(n int) []byte { // long-distance repeats past the 8 KiB window
			chunk := make([]byte, 1+rng.IntN(9000))
			for i := range chunk {
				chunk[i] = byte(rng.IntN(256))
			}
			var b []byte
			for len(b) < n {
				b = append(b, chunk...)
			}
			return b[:n]
		},
	}
	lengths := []int{21, 22, 23, 24, 25, 30, 33, 40, 64, 100, 270, 1000, 9000, 20000}
	for gi, g := range gen {
		for _, n := range lengths {
			for rep := range 4 {
				s := g(n)
				if err := rc.Set(ctx, "k", s, 0).Err(); err != nil {
					t.Fatal(err)
				}
				dump := []byte(rc.Dump(ctx, "k").Val())
				if got := EncodeDump(Value{Kind: KindString, Str: s}); !bytes.Equal(got, dump) {
					t.Fatalf("gen %d len %d rep %d: %.80q\n got %.200q\nwant %.200q", gi, n, rep, s, got, dump)
				}
			}
		}
	}
}

func TestLZFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		n := 1 + rng.IntN(3000)
		b := make([]byte, n)
		alpha := 1 + rng.IntN(256)
		for i := range b {
			b[i] = byte(rng.IntN(alpha))
		}
		c := lzfCompress(b, n+n/16+64)
		if c == nil {
			t.Fatalf("no room for %d bytes", n)
		}
		d, err := lzfDecompress(c, uint64(n))
		if err != nil || !bytes.Equal(d, b) {
			t.Fatalf("round trip of %d bytes (alphabet %d): %v", n, alpha, err)
		}
	}
}

// zlBuilder writes ziplists for the legacy tests, with every integer
// encoding a ziplist has.
type zlBuilder struct {
	b    []byte
	prev int
	n    int
}

func (z *zlBuilder) add(s string) {
	if z.b == nil {
		z.b = make([]byte, 10)
	}
	start := len(z.b)
	if z.prev < 254 {
		z.b = append(z.b, byte(z.prev))
	} else {
		z.b = append(z.b, 0xFE)
		z.b = binary.LittleEndian.AppendUint32(z.b, uint32(z.prev))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil || strconv.FormatInt(v, 10) != s:
		n := len(s)
		switch {
		case n < 64:
			z.b = append(z.b, byte(n))
		case n < 16384:
			z.b = append(z.b, 0x40|byte(n>>8), byte(n))
		default:
			z.b = append(z.b, 0x80)
			z.b = binary.BigEndian.AppendUint32(z.b, uint32(n))
		}
		z.b = append(z.b, s...)
	case v >= 0 && v <= 12:
		z.b = append(z.b, 0xF1+byte(v))
	case v >= math.MinInt8 && v <= math.MaxInt8:
		z.b = append(z.b, 0xFE, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		z.b = append(z.b, 0xC0)
		z.b = binary.LittleEndian.AppendUint16(z.b, uint16(v))
	case v >= -1<<23 && v < 1<<23:
		u := uint32(v)
		z.b = append(z.b, 0xF0, byte(u), byte(u>>8), byte(u>>16))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		z.b = append(z.b, 0xD0)
		z.b = binary.LittleEndian.AppendUint32(z.b, uint32(v))
	default:
		z.b = append(z.b, 0xE0)
		z.b = binary.LittleEndian.AppendUint64(z.b, uint64(v))
	}
	z.prev = len(z.b) - start
	z.n++
}

func (z *zlBuilder) bytes() []byte {
	b := append(z.b, 0xFF)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-1-z.prev))
	binary.LittleEndian.PutUint16(b[8:], uint16(z.n))
	return b
}

func ziplistOf(elems ...string) []byte {
	var z zlBuilder
	for _, e := range elems {
		z.add(e)
	}
	return z.bytes()
}

func zipmapOf(pairs ...string) []byte {
	b := []byte{byte(len(pairs) / 2)}
	zlen := func(n int) {
		if n < 254 {
			b = append(b, byte(n))
		} else {
			b = append(b, 254)
			b = binary.LittleEndian.AppendUint32(b, uint32(n))
		}
	}
	for i := 0; i < len(pairs); i += 2 {
		zlen(len(pairs[i]))
		b = append(b, pairs[i]...)
		zlen(len(pairs[i+1]))
		b = append(b, 2) // two free bytes after the value
		b = append(b, pairs[i+1]...)
		b = append(b, 0, 0)
	}
	return append(b, 0xFF)
}

// payload wraps an object in a DUMP footer.
func payload(obj []byte) []byte {
	b := binary.LittleEndian.AppendUint16(slices.Clone(obj), Version)
	return binary.LittleEndian.AppendUint64(b, checksum(b))
}

func object(t byte, parts ...[]byte) []byte {
	b := []byte{t}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func strObj(s []byte) []byte { return appendString(nil, s) }

func lenObj(n uint64) []byte { return appendLen(nil, n) }

var legacyElems = []string{"a", "0", "12", "13", "-1", "127", "-128", "300", "-30000", "100000",
	"-8000000", "2000000000", "-3000000000", "9223372036854775807", rep("s", 70), rep("t", 300), "", "x"}

// legacyCases are payloads in encodings Redis 7.0 reads but no longer
// writes, and in the plain ones it writes only for large values.
var legacyCases = map[string][]byte{
	"list linked":  object(TypeList, lenObj(3), strObj([]byte("a")), strObj([]byte("1")), strObj([]byte(rep("z", 40)))),
	"list ziplist": object(TypeListZiplist, strObj(ziplistOf(legacyElems...))),
	"list quicklist of ziplists": object(TypeListQuicklist, lenObj(3), strObj(ziplistOf(legacyElems[:5]...)),
		strObj(ziplistOf(legacyElems[5:]...)), strObj(ziplistOf("last"))),
	"list plain node": object(TypeListQuicklist2, lenObj(2), lenObj(containerPlain), strObj([]byte("plain")),
		lenObj(containerPacked), strObj(func() []byte { var lp listpack; lp.append([]byte("p")); return lp.bytes() }())),
	"zset ziplist": object(TypeZSetZiplist, strObj(ziplistOf("a", "1", "b", "2.5", "c", "inf", "d", "-3"))),
	"zset strings": object(TypeZSet, lenObj(4), strObj([]byte("a")), []byte{3}, []byte("1.5"),
		strObj([]byte("b")), []byte{254}, strObj([]byte("c")), []byte{255}, strObj([]byte("d")), []byte{2}, []byte("-7")),
	"hash ziplist": object(TypeHashZiplist, strObj(ziplistOf("f", "1", "g", rep("v", 70), "h", "-300"))),
	"hash zipmap":  object(TypeHashZipmap, strObj(zipmapOf("f", "v", "field", rep("w", 300), "n", "1"))),
	"hash plain":   object(TypeHash, lenObj(2), strObj([]byte("f")), strObj([]byte("1")), strObj([]byte("g")), strObj([]byte("2"))),
	"set plain":    object(TypeSet, lenObj(3), strObj([]byte("1")), strObj([]byte("b")), strObj([]byte("-9"))),
}

// TestLegacyEncodings checks that Redis accepts each payload and serves
// the content we decode from it.
func TestLegacyEncodings(t *testing.T) {
	rc := startRedis(t)
	ctx := context.Background()
	for name, obj := range legacyCases {
		t.Run(name, func(t *testing.T) {
			p := payload(obj)
			if err := rc.RestoreReplace(ctx, "k", 0, string(p)).Err(); err != nil {
				t.Fatalf("Redis refuses it: %v", err)
			}
			v, err := DecodeDump(p)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got, want := canon(v), redisCanon(t, rc, "k"); got != want {
				t.Errorf("decoded %q\nredis   %q", got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := EncodeDump(Value{Kind: KindString, Str: []byte("hello")})
	badCRC := slices.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	v11 := payload([]byte{0, 1, 'a'})
	v11[3] = 11
	binary.LittleEndian.PutUint64(v11[len(v11)-8:], checksum(v11[:len(v11)-8]))
	var lp listpack
	lp.append([]byte("a"))
	lp.append([]byte("a"))
	dupHash := object(TypeHashListpack, strObj(func() []byte {
		var h listpack
		for _, s := range []string{"f", "1", "f", "2"} {
			h.append([]byte(s))
		}
		return h.bytes()
	}()))
	odd := lp
	odd.append([]byte("b"))
	badLP := lp.bytes()
	badLP[len(badLP)-2] = 9 // wrong backlen
	cases := []struct {
		name string
		p    []byte
		want error
	}{
		{"short", []byte("123456789"), ErrChecksum},
		{"bad crc", badCRC, ErrChecksum},
		{"version 11", v11, ErrChecksum},
		{"zero crc", append(good[:len(good)-8:len(good)-8], 0, 0, 0, 0, 0, 0, 0, 0), ErrChecksum},
		{"unknown type", payload([]byte{8, 0}), ErrFormat},
		{"stream", payload([]byte{TypeStreamListpacks, 0}), ErrUnsupported},
		{"truncated string", payload([]byte{0, 40, 'a'}), ErrFormat},
		{"empty set", payload(object(TypeSet, lenObj(0))), ErrFormat},
		{"empty list", payload(object(TypeListQuicklist2, lenObj(1), lenObj(2), strObj((&listpack{}).bytes()))), ErrFormat},
		{"dup set", payload(object(TypeSet, lenObj(2), strObj([]byte("a")), strObj([]byte("a")))), ErrFormat},
		{"dup hash", payload(dupHash), ErrFormat},
		{"odd hash", payload(object(TypeHashListpack, strObj(odd.bytes()))), ErrFormat},
		{"bad backlen", payload(object(TypeListQuicklist2, lenObj(1), lenObj(2), strObj(badLP))), ErrFormat},
		{"nan score", payload(object(TypeZSet, lenObj(1), strObj([]byte("a")), []byte{253})), ErrFormat},
		{"bad container", payload(object(TypeListQuicklist2, lenObj(1), lenObj(3), strObj(lp.bytes()))), ErrFormat},
		{"intset unsorted", payload(object(TypeSetIntset, strObj([]byte{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0}))), ErrFormat},
		{"bad lzf", payload(object(TypeString, []byte{0xC3, 2, 30, 0x40, 0})), ErrFormat},
	}
	for _, tc := range cases {
		_, err := DecodeDump(tc.p)
		if err != tc.want {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	// A good payload with bytes between the object and its footer still
	// loads, as in Redis.
	junk := payload([]byte{0, 1, 'a', 'j', 'u', 'n', 'k'})
	if v, err := DecodeDump(junk); err != nil || string(v.Str) != "a" {
		t.Errorf("trailing bytes: %q, %v", v.Str, err)
	}
	// Redis takes any LZF block for an empty string (lzf_decompress's 0
	// for failure equals the size expected); so do we.
	if v, err := DecodeDump(payload([]byte{0, 0xC3, 1, 0, 0})); err != nil || len(v.Str) != 0 {
		t.Errorf("empty LZF string: %q, %v", v.Str, err)
	}
}

// TestDecodeErrorsMatchRedis checks that Redis also refuses the payloads
// we refuse (the ones it detects without deep sanitisation).
func TestDecodeErrorsMatchRedis(t *testing.T) {
	rc := startRedis(t)
	ctx := context.Background()
	for name, p := range map[string][]byte{
		"empty set": payload(object(TypeSet, lenObj(0))),
		"dup set":   payload(object(TypeSet, lenObj(2), strObj([]byte("a")), strObj([]byte("a")))),
		"nan":       payload(object(TypeZSet, lenObj(1), strObj([]byte("a")), []byte{253})),
		"unknown":   payload([]byte{8, 0}),
	} {
		err := rc.Restore(ctx, "k", 0, string(p)).Err()
		if err == nil || err.Error() != "ERR Bad data format" {
			t.Errorf("%s: Redis says %v", name, err)
		}
	}
	err := rc.Restore(ctx, "k", 0, string(payload([]byte{0, 1, 'a'}))[:12]+"x").Err()
	if err == nil || err.Error() != "ERR DUMP payload version or checksum are wrong" {
		t.Errorf("bad crc: Redis says %v", err)
	}
}
