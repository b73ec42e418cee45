package resp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// normalize maps the RESP2 nulls to KindNull, as a RESP3 round trip does, and clears
// fields that do not matter for equality.
func normalize(v Value) Value {
	if v.Null {
		return Value{Kind: KindNull, Null: true}
	}
	if len(v.Str) == 0 {
		v.Str = nil
	}
	if len(v.Elems) == 0 {
		v.Elems = nil
	}
	for i := range v.Elems {
		v.Elems[i] = normalize(v.Elems[i])
	}
	return v
}

var parseCases = []struct {
	raw  string
	want Value
}{
	{"+OK\r\n", Value{Kind: KindSimple, Str: []byte("OK")}},
	{"-ERR x\r\n", Value{Kind: KindError, Str: []byte("ERR x")}},
	{":-12\r\n", Value{Kind: KindInt, Int: -12}},
	{":9223372036854775807\r\n", Value{Kind: KindInt, Int: 1<<63 - 1}},
	{":-9223372036854775808\r\n", Value{Kind: KindInt, Int: -1 << 63}},
	{"$5\r\nhe\r\nl\r\n", Value{Kind: KindBulk, Str: []byte("he\r\nl")}},
	{"$0\r\n\r\n", Value{Kind: KindBulk, Str: []byte{}}},
	{"$-1\r\n", Value{Kind: KindBulk, Null: true}},
	{"*-1\r\n", Value{Kind: KindArray, Null: true}},
	{"_\r\n", Value{Kind: KindNull, Null: true}},
	{",1.5\r\n", Value{Kind: KindDouble, Str: []byte("1.5")}},
	{",-inf\r\n", Value{Kind: KindDouble, Str: []byte("-inf")}},
	{",1e+20\r\n", Value{Kind: KindDouble, Str: []byte("1e+20")}},
	{"#t\r\n", Value{Kind: KindBool, Int: 1}},
	{"#f\r\n", Value{Kind: KindBool}},
	{"(-3492890328409238509324850943850943825024385\r\n", Value{Kind: KindBigNum, Str: []byte("-3492890328409238509324850943850943825024385")}},
	{"=7\r\ntxt:abc\r\n", Value{Kind: KindVerbatim, Str: []byte("txt:abc")}},
	{"!5\r\nERR x\r\n", Value{Kind: KindBlobError, Str: []byte("ERR x")}},
	{"*2\r\n:1\r\n*1\r\n$1\r\na\r\n", Value{Kind: KindArray, Elems: []Value{{Kind: KindInt, Int: 1}, {Kind: KindArray, Elems: []Value{{Kind: KindBulk, Str: []byte("a")}}}}}},
	{"*0\r\n", Value{Kind: KindArray, Elems: nil}},
	{"%1\r\n+k\r\n:2\r\n", Value{Kind: KindMap, Elems: []Value{{Kind: KindSimple, Str: []byte("k")}, {Kind: KindInt, Int: 2}}}},
	{"~2\r\n+a\r\n+b\r\n", Value{Kind: KindSet, Elems: []Value{{Kind: KindSimple, Str: []byte("a")}, {Kind: KindSimple, Str: []byte("b")}}}},
	{">2\r\n+message\r\n$1\r\nx\r\n", Value{Kind: KindPush, Elems: []Value{{Kind: KindSimple, Str: []byte("message")}, {Kind: KindBulk, Str: []byte("x")}}}},
	{"|1\r\n+ttl\r\n:3\r\n:7\r\n", Value{Kind: KindAttr, Elems: []Value{{Kind: KindSimple, Str: []byte("ttl")}, {Kind: KindInt, Int: 3}, {Kind: KindInt, Int: 7}}}},
}

func TestParseValue(t *testing.T) {
	for _, tt := range parseCases {
		raw := []byte(tt.raw + "+next\r\n")
		v, n, err := ParseValue(raw)
		if err != nil || n != len(tt.raw) {
			t.Errorf("%q: n=%d err=%v", tt.raw, n, err)
			continue
		}
		if !reflect.DeepEqual(normalize(v), normalize(tt.want)) {
			t.Errorf("%q: got %+v, want %+v", tt.raw, v, tt.want)
		}
		// Every strict prefix is incomplete.
		for i := 0; i < len(tt.raw); i++ {
			if _, _, err := ParseValue([]byte(tt.raw[:i])); err != ErrIncomplete {
				t.Errorf("%q prefix %d: err=%v, want ErrIncomplete", tt.raw, i, err)
			}
		}
		// Round trip through RESP3.
		enc := AppendValue(nil, v, RESP3)
		v2, n2, err := ParseValue(enc)
		if err != nil || n2 != len(enc) || !reflect.DeepEqual(normalize(v), normalize(v2)) {
			t.Errorf("%q: round trip %q gave %+v, %v", tt.raw, enc, v2, err)
		}
	}
}

func TestParseValueMalformed(t *testing.T) {
	for _, raw := range []string{
		"?\r\n", ":abc\r\n", ":1x", ":-\r\n", ":\r\n", ":99999999999999999999\r\n",
		"$-2\r\n", "$abc\r\n", "$1\r\nab\r\n", "*-2\r\n", "%-1\r\n", "#x\r\n", "#tt\r\n",
		",abc\r\n", ",1e\r\n", "(12a\r\n", "=2\r\nab\r\n", "=4\r\nabcd\r\n", "+a\nb\r\n", "+a\rb\r\n",
		"_x\r\n", "$1\r\na\rx", "+ok\n",
		strings.Repeat("*1\r\n", MaxDepth+1) + ":1\r\n",
	} {
		_, _, err := ParseValue([]byte(raw))
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("%q: err=%v, want *ProtocolError", raw, err)
		}
	}
	// MaxDepth levels are fine.
	raw := strings.Repeat("*1\r\n", MaxDepth) + ":1\r\n"
	if _, n, err := ParseValue([]byte(raw)); err != nil || n != len(raw) {
		t.Errorf("depth %d: n=%d err=%v", MaxDepth, n, err)
	}
}

func TestParseValueHugeCountDoesNotAllocate(t *testing.T) {
	raw := []byte("*2147483647\r\n:1\r\n")
	allocs := testing.AllocsPerRun(10, func() {
		if _, _, err := ParseValue(raw); err != ErrIncomplete {
			t.Fatalf("err=%v", err)
		}
	})
	if allocs > 1 {
		t.Fatalf("allocs=%v", allocs)
	}
	raw = []byte("%9223372036854775807\r\n")
	if _, _, err := ParseValue(raw); err != ErrIncomplete {
		t.Fatalf("huge map: err=%v", err)
	}
}

func TestAppendValueDowngrade(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"%1\r\n+k\r\n:2\r\n", "*2\r\n+k\r\n:2\r\n"},
		{"~1\r\n+a\r\n", "*1\r\n+a\r\n"},
		{"_\r\n", "$-1\r\n"},
		{"*-1\r\n", "*-1\r\n"},
		{",1.5\r\n", "$3\r\n1.5\r\n"},
		{"#t\r\n", ":1\r\n"},
		{"=7\r\ntxt:abc\r\n", "$3\r\nabc\r\n"},
		{"(123\r\n", "$3\r\n123\r\n"},
		{"!5\r\nERR x\r\n", "-ERR x\r\n"},
		{">1\r\n+a\r\n", "*1\r\n+a\r\n"},
		{"|1\r\n+ttl\r\n:3\r\n:7\r\n", ":7\r\n"},
	}
	for _, tt := range tests {
		v, _, err := ParseValue([]byte(tt.raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendValue(nil, v, RESP2); string(got) != tt.want {
			t.Errorf("%q: got %q, want %q", tt.raw, got, tt.want)
		}
	}
	hand := Value{Kind: KindMap, Elems: []Value{{Kind: KindSimple, Str: []byte("a\r\nb")}}}
	if got := AppendValue(nil, hand, RESP3); string(got) != "%0\r\n" {
		t.Errorf("dangling map key: %q", got)
	}
	if got := AppendValue(nil, Value{Kind: KindError, Str: []byte("a\r\nb")}, RESP3); string(got) != "-a  b\r\n" {
		t.Errorf("error with CRLF: %q", got)
	}
}

func TestToRESP3(t *testing.T) {
	tests := []struct{ in, want string }{
		{"$-1\r\n", "_\r\n"},
		{"*-1\r\n", "_\r\n"},
		{"*3\r\n$-1\r\n*-1\r\n$4\r\n$-1\r\n", "*3\r\n_\r\n_\r\n$4\r\n$-1\r\n"},
		{"*2\r\n:-1\r\n+-1\r\n", "*2\r\n:-1\r\n+-1\r\n"},
		{"$3\r\nabc\r\n", "$3\r\nabc\r\n"},
		{"*1\r\n*1\r\n$-1\r\n", "*1\r\n*1\r\n_\r\n"},
	}
	for _, tt := range tests {
		if got := ToRESP3([]byte("x"), []byte(tt.in)); string(got) != "x"+tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// stream is a sequence of replies used by the reader tests.
func stream() (string, []string) {
	var parts []string
	for _, c := range parseCases {
		parts = append(parts, c.raw)
	}
	parts = append(parts, "$70000\r\n"+strings.Repeat("x", 70000)+"\r\n", "+after big\r\n")
	return strings.Join(parts, ""), parts
}

func TestReplyReader(t *testing.T) {
	all, parts := stream()
	for name, r := range map[string]io.Reader{
		"whole":   strings.NewReader(all),
		"onebyte": iotest.OneByteReader(strings.NewReader(all)),
		"half":    iotest.HalfReader(strings.NewReader(all)),
	} {
		rr := NewReplyReader(r, 1<<20)
		for i, want := range parts {
			got, err := rr.Next()
			if err != nil || string(got) != want {
				t.Fatalf("%s: reply %d: got %.40q, %v; want %.40q", name, i, got, err, want)
			}
		}
		if _, err := rr.Next(); err != io.EOF {
			t.Fatalf("%s: at end err=%v", name, err)
		}
		if cap(rr.buf) > replyBufMax {
			t.Errorf("%s: buffer not released after big reply: cap %d", name, cap(rr.buf))
		}
	}
}

func TestReplyReaderErrors(t *testing.T) {
	rr := NewReplyReader(strings.NewReader("+ok\r\n$5\r\nab"), 0)
	if _, err := rr.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := rr.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: err=%v", err)
	}
	rr = NewReplyReader(strings.NewReader("+ok\r\n$100\r\n"), 64)
	rr.Next()
	if _, err := rr.Next(); err != ErrReplyTooLarge {
		t.Fatalf("big bulk: err=%v", err)
	}
	rr = NewReplyReader(strings.NewReader("*1000000\r\n"), 1024)
	if _, err := rr.Next(); err != ErrReplyTooLarge {
		t.Fatalf("big count: err=%v", err)
	}
	rr = NewReplyReader(strings.NewReader("+"+strings.Repeat("a", 5000)), 1024)
	if _, err := rr.Next(); err != ErrReplyTooLarge {
		t.Fatalf("long line: err=%v", err)
	}
	rr = NewReplyReader(strings.NewReader("+ok\r\n:x\r\n"), 0)
	rr.Next()
	_, err := rr.Next()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Offset != 6 {
		t.Fatalf("garbage: err=%v", err)
	}
	if _, err2 := rr.Next(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	rr = NewReplyReader(iotest.ErrReader(io.ErrClosedPipe), 0)
	if _, err := rr.Next(); err != io.ErrClosedPipe {
		t.Fatalf("read error: %v", err)
	}
}

func TestReplyReaderSteadyStateAllocs(t *testing.T) {
	one := "*3\r\n$3\r\nfoo\r\n:1\r\n$-1\r\n"
	data := []byte(strings.Repeat(one, 1000))
	r := bytes.NewReader(data)
	rr := NewReplyReader(r, 0)
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(data)
		rr.rerr = nil
		for i := 0; i < 1000; i++ {
			if _, err := rr.Next(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs per 1000 replies: %v", allocs)
	}
}

func TestSplitArray(t *testing.T) {
	raw := []byte("*4\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n+x\r\n%1\r\n+k\r\n$1\r\nv\r\n")
	got, err := SplitArray(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"$1\r\na\r\n", "$-1\r\n", "*2\r\n:1\r\n+x\r\n", "%1\r\n+k\r\n$1\r\nv\r\n"}
	if len(got) != len(want) {
		t.Fatalf("%d elements, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("element %d = %q, want %q", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"$1\r\na\r\n", "*-1\r\n", "*2\r\n:1\r\n", "*1\r\n:1\r\n:2\r\n", "*1\r\n$5\r\nab\r\n"} {
		if _, err := SplitArray([]byte(bad), nil); err == nil {
			t.Errorf("SplitArray(%q) succeeded", bad)
		}
	}
}

func BenchmarkSplitArray(b *testing.B) {
	var raw []byte
	raw = AppendArrayHeader(raw, 10)
	for range 10 {
		raw = AppendBulkString(raw, "a value of about a hundred bytes ..............................................")
	}
	dst := make([][]byte, 0, 10)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = SplitArray(raw, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
