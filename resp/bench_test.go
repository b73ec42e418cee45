package resp

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func BenchmarkAppendBulk(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 64)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		dst = AppendBulk(dst[:0], payload)
	}
}

func BenchmarkAppendInt(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = AppendInt(dst[:0], int64(i)*7919)
	}
}

func BenchmarkParseValue(b *testing.B) {
	raw := []byte("*4\r\n$3\r\nfoo\r\n:12345\r\n%1\r\n+k\r\n,1.5\r\n$-1\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		if _, _, err := ParseValue(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplyReaderNext(b *testing.B) {
	for _, tc := range []struct {
		name, reply string
	}{
		{"status", "+OK\r\n"},
		{"bulk64", "$64\r\n" + strings.Repeat("v", 64) + "\r\n"},
		{"array", "*3\r\n$3\r\nfoo\r\n:1\r\n$-1\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 1024
			data := []byte(strings.Repeat(tc.reply, n))
			r := bytes.NewReader(data)
			rr := NewReplyReader(r, 0)
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.reply)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%n == 0 {
					r.Reset(data)
					rr.rerr = nil
				}
				if _, err := rr.Next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkToRESP3(b *testing.B) {
	raw := []byte("*3\r\n$3\r\nfoo\r\n$-1\r\n$3\r\nbar\r\n")
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		dst = ToRESP3(dst[:0], raw)
	}
}

func BenchmarkLookup(b *testing.B) {
	name := []byte("INCRBYFLOAT")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if Lookup(name) == nil {
			b.Fatal("not found")
		}
	}
}

// repeatReader yields data forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func BenchmarkLimitConn(b *testing.B) {
	for _, tc := range []struct{ name, cmd string }{
		{"small", "*3\r\n$3\r\nSET\r\n$8\r\nkey:1234\r\n$16\r\nvalue-0123456789\r\n"},
		{"bulk4k", "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4096\r\n" + strings.Repeat("v", 4096) + "\r\n"},
		{"inline", "SET key:1234 value-0123456789\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			fc := &fakeConn{gen: (&repeatReader{data: []byte(strings.Repeat(tc.cmd, 64))}).Read}
			c := LimitConn(fc, Limits{})
			buf := make([]byte, 16<<10)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
