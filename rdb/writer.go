package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"strconv"
	"time"
)

// Header is what a Writer puts before the keys: the AUX fields
// redis-server writes and the RESIZEDB hint of database 0.
type Header struct {
	// RedisVer is the redis-ver field. Empty means "7.0.0", the Redis
	// whose RDB version (10) the file has; Redis only logs it.
	RedisVer string
	// Ctime is the ctime field, when the file was made. Zero means now.
	Ctime time.Time
	// UsedMem is the used-mem field, in bytes; Redis only logs it.
	UsedMem int64
	// Keys and Expires are the RESIZEDB hint: how many keys the loader
	// should size its tables for, and how many of them have a TTL. They
	// need not be exact (zero is fine); they only save rehashing.
	Keys, Expires uint64
}

// ErrWriterClosed is returned by a Writer's methods after Close.
var ErrWriterClosed = errors.New("rdb: write to a closed Writer")

// Writer writes an RDB file of version 10, as redis-server 7.0 saves
// it: the AUX fields, database 0, per key an optional expiry, the type
// and the object, then EOF and the checksum. The caller must not write
// a key twice (Redis refuses to load such a file).
//
// Errors are sticky: after one, every method returns it. A Writer is
// not safe for concurrent use.
type Writer struct {
	w      *bufio.Writer
	crc    uint64
	err    error
	closed bool
	rec    []byte // scratch for one record
}

// NewWriter starts a file on w with h's fields. Nothing reaches w before
// the Writer's buffer fills or Close flushes it.
func NewWriter(w io.Writer, h Header) *Writer {
	wr := &Writer{w: bufio.NewWriterSize(w, 64<<10)}
	if h.RedisVer == "" {
		h.RedisVer = "7.0.0"
	}
	if h.Ctime.IsZero() {
		h.Ctime = time.Now()
	}
	b := fmt.Appendf(nil, "%s%04d", fileMagic, Version)
	aux := func(field, value string) {
		b = append(b, opAux)
		b = appendString(b, []byte(field))
		b = appendString(b, []byte(value))
	}
	aux("redis-ver", h.RedisVer)
	aux("redis-bits", "64")
	aux("ctime", strconv.FormatInt(h.Ctime.Unix(), 10))
	aux("used-mem", strconv.FormatInt(h.UsedMem, 10))
	aux("aof-base", "0")
	b = append(b, opSelectDB, 0, opResizeDB)
	b = appendLen(b, h.Keys)
	b = appendLen(b, h.Expires)
	wr.write(b)
	return wr
}

// WriteValue writes key with value v (in the encoding v.Enc names, as
// EncodeDump writes it). expireAt is when the key expires, in Unix
// milliseconds, or NoExpire (any negative value).
func (w *Writer) WriteValue(key []byte, v Value, expireAt int64) error {
	return w.writeObject(key, appendObject(nil, v), expireAt)
}

// WriteDump writes key with the value of a DUMP payload, in the payload's
// encoding. The payload's version and checksum are checked first.
func (w *Writer) WriteDump(key, payload []byte, expireAt int64) error {
	if err := VerifyDump(payload); err != nil {
		return fmt.Errorf("rdb: key %q: %w", key, err)
	}
	return w.writeObject(key, payload[:len(payload)-10], expireAt)
}

// writeObject writes one key record: obj is the type byte and object.
func (w *Writer) writeObject(key, obj []byte, expireAt int64) error {
	if w.closed {
		return ErrWriterClosed
	}
	if len(obj) == 0 {
		return fmt.Errorf("rdb: key %q: %w", key, ErrFormat)
	}
	b := w.rec[:0]
	if expireAt >= 0 {
		b = append(b, opExpireMS)
		b = binary.LittleEndian.AppendUint64(b, uint64(expireAt))
	}
	b = append(b, obj[0])
	b = appendString(b, key)
	w.rec = b
	w.write(b)
	w.write(obj[1:])
	return w.err
}

// Close ends the file with EOF and the checksum and flushes it to the
// underlying writer, which it does not close (nor sync).
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.write([]byte{opEOF})
	var sum [8]byte
	binary.LittleEndian.PutUint64(sum[:], w.crc)
	w.write(sum[:])
	w.closed = true
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	w.crc = ^crc64.Update(^w.crc, crcTable, b)
	_, w.err = w.w.Write(b)
}
