package resp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

func addSeeds(f *testing.F) {
	for _, c := range parseCases {
		f.Add([]byte(c.raw))
	}
	f.Add([]byte(validPipeline))
	f.Add([]byte("*1\r\n$99999999999\r\n"))
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*0\r\n"))
	f.Add([]byte("%2\r\n+a\r\n*1\r\n$-1\r\n+b\r\n_\r\n"))
}

func FuzzParseValue(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := ParseValue(data)
		if err != nil {
			var pe *ProtocolError
			if err != ErrIncomplete && !errors.As(err, &pe) {
				t.Fatalf("unexpected error type %T", err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n=%d of %d", n, len(data))
		}
		enc := AppendValue(nil, v, RESP3)
		v2, n2, err := ParseValue(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-encoded %q does not parse: %v", enc, err)
		}
		if !reflect.DeepEqual(normalize(v), normalize(v2)) {
			t.Fatalf("round trip changed %+v into %+v", v, v2)
		}
		// RESP2 output must parse too.
		enc2 := AppendValue(nil, v, RESP2)
		if _, n3, err := ParseValue(enc2); err != nil || n3 != len(enc2) {
			t.Fatalf("RESP2 encoding %q does not parse: %v", enc2, err)
		}
		// ToRESP3 of the raw reply parses to the same value.
		conv := ToRESP3(nil, data[:n])
		v3, n4, err := ParseValue(conv)
		if err != nil || n4 != len(conv) || !reflect.DeepEqual(normalize(v), normalize(v3)) {
			t.Fatalf("ToRESP3 %q: %v", conv, err)
		}
	})
}

func FuzzReplyReader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := NewReplyReader(iotest.OneByteReader(bytes.NewReader(data)), 4096)
		off := 0
		for {
			raw, err := rr.Next()
			if err != nil {
				// The reader must stop exactly where ParseValue stops.
				_, _, perr := ParseValue(data[off:])
				switch {
				case err == io.EOF:
					if off != len(data) {
						t.Fatalf("EOF at %d of %d", off, len(data))
					}
				case err == io.ErrUnexpectedEOF:
					if perr != ErrIncomplete {
						t.Fatalf("unexpected EOF but ParseValue says %v", perr)
					}
				case err == ErrReplyTooLarge:
				default:
					if perr == nil || perr == ErrIncomplete {
						t.Fatalf("reader error %v but ParseValue says %v", err, perr)
					}
				}
				return
			}
			_, n, perr := ParseValue(data[off:])
			if perr != nil || !bytes.Equal(raw, data[off:off+n]) {
				t.Fatalf("reader returned %q at %d, ParseValue: n=%d %v", raw, off, n, perr)
			}
			off += n
		}
	})
}

func FuzzLimitConn(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("PING\r\n*1\r\n$4\r\nPING\r\n*3\r\n$1\r\na\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := Limits{MaxBulkLen: 8, MaxArgs: 4, MaxInlineLen: 16, MaxQueryBuffer: 40}
		var chunks [][]byte
		for i := 0; i < len(data); i += 3 {
			chunks = append(chunks, data[i:min(i+3, len(data))])
		}
		got, _, _ := readAllLimited(chunks, l, 5)
		checkDelivered(t, []byte(got), l)
	})
}

// checkDelivered re-parses what a LimitConn delivered and fails if any complete command
// in it breaks l, or if an empty multibulk got through.
func checkDelivered(t *testing.T, b []byte, l Limits) {
	for len(b) > 0 {
		if b[0] != '*' {
			t.Fatalf("inline bytes delivered (inline commands must arrive as multibulk): %q", b[:min(len(b), 30)])
		}
		e, err := readElem(b, 0)
		if err == ErrIncomplete || bytes.IndexByte(b, '\n') < 0 {
			return
		}
		if err != nil || e.null || e.n <= 0 || e.n > int64(l.MaxArgs) {
			t.Fatalf("bad multibulk header delivered: %q (%v)", b[:min(len(b), 30)], err)
		}
		pos := e.end
		for i := int64(0); i < e.n; i++ {
			if pos >= len(b) {
				return
			}
			if b[pos] != '$' {
				t.Fatalf("non-bulk element delivered: %q", b[pos:min(len(b), pos+30)])
			}
			if bytes.IndexByte(b[pos:], '\n') < 0 {
				return // an unfinished length line: redcon cannot act on it
			}
			be, err := readElem(b, pos)
			if err == ErrIncomplete {
				if n, _, err := readNum(b, pos+1, true); err == nil && (n < 0 || n > l.MaxBulkLen) {
					t.Fatalf("bulk length %d delivered", n)
				}
				return
			}
			if err != nil || be.null || int64(len(be.str)) > l.MaxBulkLen {
				t.Fatalf("bad bulk delivered: %q (%v)", b[pos:min(len(b), pos+30)], err)
			}
			pos = be.end
		}
		if int64(pos) > l.MaxQueryBuffer+64 {
			t.Fatalf("command of %d bytes delivered", pos)
		}
		b = b[pos:]
	}
}

// FuzzToRESP2 checks the raw conversion against the Value encoder (they must downgrade
// alike), that its output is pure RESP2 and a fixed point, that flattening
// yields one valid reply, and that the reader's HasRESP3 hint is never wrong.
func FuzzToRESP2(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"))
	f.Add([]byte("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n=7\r\ntxt:abc\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := ParseValue(data)
		if err != nil {
			return
		}
		raw := data[:n]
		got := ToRESP2(nil, raw, FlattenNone)
		// Compared as values: ToRESP2 copies what needs no change (":00" stays), the
		// encoder writes canonical text.
		want := AppendValue(nil, v, RESP2)
		gv, gn, gerr := ParseValue(got)
		wv, _, _ := ParseValue(want)
		if gerr != nil || gn != len(got) || !reflect.DeepEqual(normalize(gv), normalize(wv)) {
			t.Fatalf("ToRESP2(%q) = %q, AppendValue gives %q", raw, got, want)
		}
		if again := ToRESP2(nil, got, FlattenNone); !bytes.Equal(again, got) {
			t.Fatalf("ToRESP2 is not a fixed point on %q: %q", got, again)
		}
		for pos := 0; pos < len(got); {
			e, err := readElem(got, pos)
			if err != nil {
				t.Fatalf("ToRESP2 output %q does not parse at %d: %v", got, pos, err)
			}
			if isRESP3Type(e.typ) {
				t.Fatalf("ToRESP2 output %q has RESP3 type %q", got, e.typ)
			}
			pos = e.end
		}
		flat := ToRESP2(nil, raw, FlattenPairs)
		if _, n, err := ParseValue(flat); err != nil || n != len(flat) {
			t.Fatalf("flattened %q is %q: %v", raw, flat, err)
		}
		rr := NewReplyReader(bytes.NewReader(raw), 0)
		if _, err := rr.Next(); err != nil {
			t.Fatal(err)
		}
		if !rr.HasRESP3() && !bytes.Equal(got, raw) {
			t.Fatalf("HasRESP3 false for %q, which converts to %q", raw, got)
		}
	})
}
