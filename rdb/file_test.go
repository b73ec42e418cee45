package rdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/redis7.rdb from a live redis-server")

// fileCase is one key written to a file and expected back.
type fileCase struct {
	key      string
	obj      []byte // type byte and object
	expireAt int64
}

// fileCases covers every type and encoding: values in each encoding
// EncodeDump writes, random values of many sizes, and the legacy
// encodings only older Redis versions wrote.
func fileCases() []fileCase {
	var cases []fileCase
	add := func(key string, v Value, exp int64) {
		cases = append(cases, fileCase{key, appendObject(nil, v), exp})
	}
	add("str", Value{Kind: KindString, Str: []byte("hello")}, NoExpire)
	add("int", Value{Kind: KindString, Str: []byte("-2147483648")}, 1_900_000_000_000)
	add("lzf", Value{Kind: KindString, Str: []byte(rep("abcdefgh", 500))}, NoExpire)
	add("bin", Value{Kind: KindString, Str: []byte{0, 0xFF, '\r', '\n', 0x80}}, 0) // expired in 1970
	add("empty", Value{Kind: KindString, Str: []byte{}}, NoExpire)
	add("12345", Value{Kind: KindString, Str: []byte("key is an integer")}, NoExpire)
	add(rep("long key ", 10), Value{Kind: KindString, Str: []byte("compressed key")}, NoExpire)
	add("intset", Value{Kind: KindSet, Elems: [][]byte{[]byte("1"), []byte("-10000000000")}}, NoExpire)
	add("sethash", Value{Kind: KindSet, Enc: EncHashtable, Elems: [][]byte{[]byte("a"), []byte("1")}}, NoExpire)
	add("hashlp", Value{Kind: KindHash, Enc: EncListpack, Fields: []Pair{{[]byte("f"), []byte("1")}}}, NoExpire)
	add("hashht", Value{Kind: KindHash, Enc: EncHashtable, Fields: []Pair{{[]byte("f"), []byte("1")}}}, NoExpire)
	add("zsetlp", Value{Kind: KindZSet, Enc: EncListpack, ZSet: []ZMember{{[]byte("a"), 1.5}, {[]byte("b"), math.Inf(-1)}}}, NoExpire)
	add("zsetsl", Value{Kind: KindZSet, Enc: EncSkiplist, ZSet: []ZMember{{[]byte("a"), math.Copysign(0, -1)}, {[]byte("b"), math.Inf(1)}}}, NoExpire)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []Kind{KindString, KindList, KindSet, KindHash, KindZSet} {
		for _, n := range []int{1, 7, 129, 513, 3000} {
			add(fmt.Sprintf("rand-%d-%d", k, n), randValue(rng, k, n), int64(rng.IntN(2))*1_800_000_000_000-1)
		}
	}
	for name, obj := range legacyCases {
		cases = append(cases, fileCase{"legacy " + name, obj, NoExpire})
	}
	slices.SortFunc(cases, func(a, b fileCase) int { return strings.Compare(a.key, b.key) })
	return cases
}

func writeFile(t testing.TB, h Header, cases []fileCase) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, h)
	for _, c := range cases {
		if err := w.WriteDump([]byte(c.key), payload(c.obj), c.expireAt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every entry of a file.
func readAll(data []byte, opt ReaderOptions) (*Reader, []*Entry, error) {
	r, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return nil, nil, err
	}
	var out []*Entry
	for {
		e, err := r.Next()
		if err == io.EOF {
			return r, out, nil
		}
		if err != nil {
			return r, out, err
		}
		out = append(out, e)
	}
}

func TestFileRoundTrip(t *testing.T) {
	cases := fileCases()
	ctime := time.Unix(1_700_000_000, 0)
	data := writeFile(t, Header{Ctime: ctime, UsedMem: 123456, Keys: uint64(len(cases))}, cases)
	r, entries, err := readAll(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != Version || r.Offset() != int64(len(data)) {
		t.Errorf("version %d, offset %d of %d", r.Version, r.Offset(), len(data))
	}
	var aux []string
	for _, p := range r.Aux {
		aux = append(aux, string(p.Field)+"="+string(p.Value))
	}
	if got, want := strings.Join(aux, " "), "redis-ver=7.0.0 redis-bits=64 ctime=1700000000 used-mem=123456 aof-base=0"; got != want {
		t.Errorf("aux %q, want %q", got, want)
	}
	if len(entries) != len(cases) {
		t.Fatalf("%d entries, want %d", len(entries), len(cases))
	}
	for i, c := range cases {
		e := entries[i]
		if string(e.Key) != c.key || e.DB != 0 || e.ExpireAt != max(c.expireAt, NoExpire) || !bytes.Equal(e.Object, c.obj) {
			t.Errorf("entry %d: key %q db %d exp %d obj %.40q; want %q exp %d obj %.40q",
				i, e.Key, e.DB, e.ExpireAt, e.Object, c.key, c.expireAt, c.obj)
			continue
		}
		v, err := e.Value()
		if err != nil {
			t.Errorf("%s: value: %v", c.key, err)
			continue
		}
		want, err := DecodeDump(payload(c.obj))
		if err != nil {
			t.Fatal(err)
		}
		if canon(v) != canon(want) || v.ObjType != c.obj[0] {
			t.Errorf("%s: value %.100q, want %.100q", c.key, canon(v), canon(want))
		}
		if d := e.Dump(); !bytes.Equal(d, payload(c.obj)) {
			t.Errorf("%s: Dump differs", c.key)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v", err)
	}
	checkWithRedis(t, data, len(cases))
}

// checkWithRedis runs redis-check-rdb, Redis's own loader, on a file.
func checkWithRedis(t *testing.T, data []byte, keys int) {
	t.Helper()
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Fatalf("redis-check-rdb not found (%v): run `make deps` to install redis-server", err)
	}
	path := filepath.Join(t.TempDir(), "dump.rdb")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("RDB looks OK")) || !bytes.Contains(out, []byte("Checksum OK")) ||
		!bytes.Contains(out, fmt.Appendf(nil, "[info] %d keys read", keys)) {
		t.Errorf("redis-check-rdb: %v\n%s", err, out)
	}
}

func TestWriterValues(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Header{})
	v := Value{Kind: KindZSet, ZSet: []ZMember{{[]byte("m"), 2}, {[]byte("a"), 1}}}
	if err := w.WriteValue([]byte("z"), v, 42); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDump([]byte("bad"), []byte("not a payload"), NoExpire); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad payload: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteValue([]byte("late"), v, NoExpire); err != ErrWriterClosed {
		t.Errorf("write after Close: %v", err)
	}
	_, entries, err := readAll(buf.Bytes(), ReaderOptions{})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	got, err := entries[0].Value()
	if err != nil || canon(got) != canon(v) || entries[0].ExpireAt != 42 || entries[0].TypeName() != "zset" {
		t.Errorf("got %q exp %d (%v)", canon(got), entries[0].ExpireAt, err)
	}
}

// incompressible is n bytes LZF cannot shorten.
func incompressible(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterStickyError(t *testing.T) {
	w := NewWriter(failWriter{}, Header{})
	big := Value{Kind: KindString, Str: incompressible(100 << 10)}
	if err := w.WriteValue([]byte("k"), big, NoExpire); err == nil || err.Error() != "disk full" {
		t.Errorf("write past the buffer: %v", err)
	}
	if err := w.Close(); err == nil || err.Error() != "disk full" {
		t.Errorf("Close: %v", err)
	}
}

// rawFile builds an RDB file of a version from records, with a correct
// checksum when the version has one.
func rawFile(version int, records ...[]byte) []byte {
	b := fmt.Appendf(nil, "REDIS%04d", version)
	for _, r := range records {
		b = append(b, r...)
	}
	b = append(b, opEOF)
	if version >= checksumVersion {
		b = binary.LittleEndian.AppendUint64(b, checksum(b))
	}
	return b
}

func keyRecord(key string, obj []byte) []byte {
	b := []byte{obj[0]}
	b = appendString(b, []byte(key))
	return append(b, obj[1:]...)
}

func TestReaderRecords(t *testing.T) {
	str := object(TypeString, strObj([]byte("v")))
	expSec := binary.LittleEndian.AppendUint32([]byte{opExpire}, 1_800_000_000)
	aux := append(append([]byte{opAux}, strObj([]byte("x"))...), strObj([]byte("1"))...)
	fn := append([]byte{opFunction2}, strObj([]byte("#!lua name=lib\n..."))...)
	data := rawFile(9,
		aux,
		[]byte{opSelectDB, 0, opResizeDB, 2, 1},
		expSec, []byte{opFreq, 5}, keyRecord("a", str),
		fn,
		[]byte{opIdle, 0x40, 0x10}, keyRecord("b", str),
		[]byte{opSelectDB, 3}, keyRecord("c", str),
	)
	r, entries, err := readAll(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s@%d:%d", e.Key, e.DB, e.ExpireAt))
	}
	if want := "a@0:1800000000000 b@0:-1 c@3:-1"; strings.Join(got, " ") != want {
		t.Errorf("entries %v, want %s", got, want)
	}
	if r.Functions != 1 || len(r.Aux) != 1 || r.Version != 9 {
		t.Errorf("functions %d, aux %d, version %d", r.Functions, len(r.Aux), r.Version)
	}
	// Version 4 has no checksum; a zero checksum is not verified.
	if _, entries, err := readAll(rawFile(4, keyRecord("old", str)), ReaderOptions{}); err != nil || len(entries) != 1 {
		t.Errorf("version 4: %d entries, %v", len(entries), err)
	}
	zero := rawFile(10, keyRecord("k", str))
	clear(zero[len(zero)-8:])
	if _, _, err := readAll(zero, ReaderOptions{}); err != nil {
		t.Errorf("checksum 0: %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	str := object(TypeString, strObj([]byte("v")))
	good := rawFile(10, keyRecord("k", str))
	badSum := slices.Clone(good)
	badSum[len(badSum)-1] ^= 1
	flipped := slices.Clone(good)
	flipped[len(flipped)-10] ^= 1 // the value's byte, under the checksum
	huge := rawFile(10, []byte{TypeString, 1, 'k', len64, 0, 0, 1, 0, 0, 0, 0, 0})
	huge = huge[:len(huge)-9] // cut after the length
	cases := []struct {
		name string
		data []byte
		opt  ReaderOptions
		want error
		text string
	}{
		{"not rdb", []byte("HELLO WORLD"), ReaderOptions{}, ErrNotRDB, ""},
		{"empty", nil, ReaderOptions{}, ErrNotRDB, ""},
		{"bad version", []byte("REDIS00x1"), ReaderOptions{}, ErrNotRDB, ""},
		{"version 12", rawFile(12), ReaderOptions{}, ErrNewerVersion, "version is too new: 12"},
		{"checksum", badSum, ReaderOptions{}, ErrFileChecksum, ""},
		{"flipped byte", flipped, ReaderOptions{}, ErrFileChecksum, ""},
		{"unknown opcode", rawFile(10, []byte{0xF4, 0}), ReaderOptions{}, ErrFormat, "unknown record type 244"},
		{"unknown type", rawFile(10, []byte{8, 1, 'k', 0}), ReaderOptions{}, ErrFormat, "unknown record type 8"},
		{"stream", rawFile(10, []byte{TypeStreamListpacks, 2, 's', '1', 0}), ReaderOptions{}, ErrUnsupported, `key "s1" (offset 9) is a stream`},
		{"module", rawFile(10, []byte{TypeModule2, 1, 'm', 0}), ReaderOptions{}, ErrUnsupported, `key "m" (offset 9) is a module`},
		{"module aux", rawFile(10, []byte{opModuleAux, 1, 2}), ReaderOptions{}, ErrUnsupported, "MODULE_AUX"},
		{"function pre-GA", rawFile(10, []byte{opFunctionPreGA, 0}), ReaderOptions{}, ErrUnsupported, "release candidate"},
		{"too large", rawFile(10, keyRecord("big", object(TypeString, strObj(incompressible(100))))),
			ReaderOptions{MaxObject: 50}, ErrTooLarge, `key "big"`},
		{"huge length", huge, ReaderOptions{MaxObject: math.MaxInt64}, ErrTruncated, `key "k"`},
		{"huge over limit", huge, ReaderOptions{}, ErrTooLarge, `key "k"`},
		{"bad string encoding", rawFile(10, []byte{TypeString, 1, 'k', 0xC5}), ReaderOptions{}, ErrFormat, `key "k"`},
	}
	for _, tc := range cases {
		_, _, err := readAll(tc.data, tc.opt)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v containing %q", tc.name, err, tc.want, tc.text)
		}
	}
}

// TestReaderTruncated cuts a file at every length: each cut is an error
// (never a clean end), a file with no whole header is not an RDB file.
func TestReaderTruncated(t *testing.T) {
	data := writeFile(t, Header{}, fileCases()[:20])
	for n := range len(data) {
		_, _, err := readAll(data[:n], ReaderOptions{})
		want := ErrTruncated
		if n < 9 {
			want = ErrNotRDB
		}
		if !errors.Is(err, want) {
			t.Fatalf("cut at %d of %d: %v, want %v", n, len(data), err, want)
		}
	}
}

// TestReadRedisSave reads the file redis-server 7.0 saves, holding every
// type in every encoding, expiries, a function library and a key in
// another database, and compares each key with what Redis serves.
func TestReadRedisSave(t *testing.T) {
	rc := startRedis(t)
	ctx := context.Background()
	for _, tc := range redisCases {
		for _, c := range tc.cmds {
			c = slices.Clone(c)
			c[1] = tc.name
			run(t, rc, c...)
		}
	}
	run(t, rc, "set", "12345", "an integer key")
	run(t, rc, "set", "ttl", "v", "pxat", "1900000000123")
	run(t, rc, "rpush", "ttl list", "a", "b")
	run(t, rc, "pexpire", "ttl list", "1000000")
	run(t, rc, "set", "other db", "v")
	run(t, rc, "move", "other db", "1")
	run(t, rc, "function", "load", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
	run(t, rc, "save")
	dir := rc.ConfigGet(ctx, "dir").Val()["dir"]
	data, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/redis7.rdb", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, entries, err := readAll(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Functions != 1 || r.Version != 10 || len(r.Aux) < 5 || string(r.Aux[0].Field) != "redis-ver" {
		t.Errorf("functions %d, version %d, aux %q", r.Functions, r.Version, r.Aux)
	}
	if n := rc.DBSize(ctx).Val(); int64(len(entries)) != n+1 {
		t.Errorf("%d entries, Redis has %d keys in db 0 and 1 in db 1", len(entries), n)
	}
	for _, e := range entries {
		key := string(e.Key)
		if key == "other db" {
			if e.DB != 1 {
				t.Errorf("%q in db %d", key, e.DB)
			}
			continue
		}
		v, err := e.Value()
		if err != nil {
			t.Errorf("%q: %v", key, err)
			continue
		}
		if got, want := canon(v), redisCanon(t, rc, key); e.DB != 0 || got != want {
			t.Errorf("%q (db %d): read %.100q, Redis has %.100q", key, e.DB, got, want)
		}
		if exp := rc.PExpireTime(ctx, key).Val(); e.ExpireAt != exp.Milliseconds() && !(exp < 0 && e.ExpireAt == NoExpire) {
			t.Errorf("%q: expires at %d, Redis says %v", key, e.ExpireAt, exp)
		}
	}
	// Written again by the Writer, the same objects make a file Redis
	// loads.
	var buf bytes.Buffer
	w := NewWriter(&buf, Header{})
	for _, e := range entries {
		if err := w.WriteDump(e.Key, e.Dump(), e.ExpireAt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkWithRedis(t, buf.Bytes(), len(entries))
}

// TestReadTestdata reads the committed file of redis-server 7.0 (made by
// TestReadRedisSave -update), so the reader is checked against Redis's
// bytes even where redis-server is not installed.
func TestReadTestdata(t *testing.T) {
	data, err := os.ReadFile("testdata/redis7.rdb")
	if err != nil {
		t.Fatal(err)
	}
	r, entries, err := readAll(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(redisCases)+4 || r.Functions != 1 {
		t.Errorf("%d entries, %d functions", len(entries), r.Functions)
	}
	for _, e := range entries {
		if _, err := e.Value(); err != nil {
			t.Errorf("%q: %v", e.Key, err)
		}
	}
}

// FuzzReader feeds the reader mutations of real files: it must return
// errors, never panic, and what it returns must decode the same way as a
// DUMP payload.
func FuzzReader(f *testing.F) {
	if data, err := os.ReadFile("testdata/redis7.rdb"); err == nil {
		f.Add(data)
	}
	f.Add(writeFile(f, Header{}, fileCases()[:12]))
	f.Add(rawFile(9, []byte{opSelectDB, 0}, keyRecord("k", object(TypeString, strObj([]byte("v"))))))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), ReaderOptions{MaxObject: 1 << 20})
		if err != nil {
			return
		}
		for {
			e, err := r.Next()
			if err != nil {
				return
			}
			v, verr := e.Value()
			dv, derr := DecodeDump(e.Dump())
			if verr == nil && (derr != nil || canon(v) != canon(dv)) {
				t.Fatalf("%q: Value %q but DecodeDump %q, %v", e.Key, canon(v), canon(dv), derr)
			}
			if verr != nil && !errors.Is(verr, ErrFormat) {
				t.Fatalf("%q: Value error %v is not ErrFormat", e.Key, verr)
			}
		}
	})
}

// BenchmarkReader reads a file of many small keys.
func BenchmarkReader(b *testing.B) {
	var cases []fileCase
	for i := range 10000 {
		cases = append(cases, fileCase{"key:" + strconv.Itoa(i), appendObject(nil, Value{Kind: KindString, Str: []byte(rep("v", 100))}), NoExpire})
	}
	data := writeFile(b, Header{}, cases)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := readAll(data, ReaderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
