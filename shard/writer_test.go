package shard

import (
	"io"
	"testing"

	"github.com/tidwall/redcon"
)

func TestBufferLen(t *testing.T) {
	if writerBufOffset < 0 {
		t.Fatal("redcon.Writer has no buffer field b: bufferLen copies the buffer on every call")
	}
	w := redcon.NewWriter(io.Discard)
	for i := range 100 {
		if got, want := bufferLen(w), len(w.Buffer()); got != want {
			t.Fatalf("after %d replies: bufferLen %d, buffer %d bytes", i, got, want)
		}
		w.WriteBulkString("value")
		w.WriteInt(i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := bufferLen(w); n != 0 {
		t.Fatalf("after Flush: %d bytes", n)
	}
}

func BenchmarkBufferLen(b *testing.B) {
	w := redcon.NewWriter(io.Discard)
	for range 16 {
		w.WriteBulkString("a value of about a hundred bytes ........................................................")
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = bufferLen(w)
	}
}
