package shard

import (
	"reflect"
	"unsafe"

	"github.com/tidwall/redcon"
)

// bufferLen returns how many reply bytes w holds unflushed. redcon's only
// accessor, Writer.Buffer, copies the buffer: called after every command of
// a pipeline it made replies cost quadratic time and was most of the
// shard's allocations. The length is read from the writer's buffer field
// instead; if redcon's Writer ever lacks a []byte field named b, the copy
// is used as before (TestBufferLen checks the two agree).
func bufferLen(w *redcon.Writer) int {
	if writerBufOffset < 0 {
		return len(w.Buffer())
	}
	return len(*(*[]byte)(unsafe.Add(unsafe.Pointer(w), writerBufOffset)))
}

// writerBufOffset is the offset of redcon.Writer's buffer field, or -1.
var writerBufOffset = func() int {
	f, ok := reflect.TypeFor[redcon.Writer]().FieldByName("b")
	if !ok || f.Type != reflect.TypeFor[[]byte]() {
		return -1
	}
	return int(f.Offset)
}()
