package rdb

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// A listpack (listpack.c) is a 4-byte total size and a 2-byte element
// count (65535: too many to count), both little-endian, the entries, and
// a 0xFF terminator. An entry is its encoding and data, then its own
// length written backwards (the backlen) so the list can be walked from
// the end.
const (
	lpHeaderSize    = 6
	lpEOF           = 0xFF
	lpNumeleUnknown = 65535

	lpEnc7BitUint    = 0x00 // 0xxxxxxx
	lpEnc6BitStr     = 0x80 // 10xxxxxx
	lpEnc13BitInt    = 0xC0 // 110xxxxx yyyyyyyy
	lpEnc12BitStr    = 0xE0 // 1110xxxx yyyyyyyy
	lpEnc32BitStr    = 0xF0
	lpEnc16BitInt    = 0xF1
	lpEnc24BitInt    = 0xF2
	lpEnc32BitInt    = 0xF3
	lpEnc64BitInt    = 0xF4
	lpMaxBacklenSize = 5
)

// listpack builds a listpack element by element, as lpAppend does: an
// element that is a canonical integer is stored as an integer.
type listpack struct {
	b []byte // header space and entries; no terminator yet
	n int
}

// size is the listpack's total size (lpBytes) as it stands.
func (lp *listpack) size() int {
	if lp.b == nil {
		return lpHeaderSize + 1
	}
	return len(lp.b) + 1
}

func (lp *listpack) append(e []byte) {
	if lp.b == nil {
		lp.b = make([]byte, lpHeaderSize, 64)
	}
	lp.b = appendLPEntry(lp.b, e)
	lp.n++
}

// bytes returns the finished listpack.
func (lp *listpack) bytes() []byte {
	if lp.b == nil {
		lp.b = make([]byte, lpHeaderSize)
	}
	b := append(lp.b, lpEOF)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	binary.LittleEndian.PutUint16(b[4:], uint16(min(lp.n, lpNumeleUnknown)))
	return b
}

// appendLPEntry appends one entry in the narrowest encoding
// (lpEncodeGetType), then its backlen.
func appendLPEntry(b, e []byte) []byte {
	start := len(b)
	if v, ok := parseInt(e); ok {
		switch {
		case v >= 0 && v <= 127:
			b = append(b, byte(v))
		case v >= -4096 && v <= 4095:
			u := uint64(v) & (1<<13 - 1)
			b = append(b, lpEnc13BitInt|byte(u>>8), byte(u))
		case v >= -32768 && v <= 32767:
			b = append(b, lpEnc16BitInt)
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case v >= -8388608 && v <= 8388607:
			u := uint32(v)
			b = append(b, lpEnc24BitInt, byte(u), byte(u>>8), byte(u>>16))
		case v >= -2147483648 && v <= 2147483647:
			b = append(b, lpEnc32BitInt)
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = append(b, lpEnc64BitInt)
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	} else {
		n := len(e)
		switch {
		case n < 64:
			b = append(b, lpEnc6BitStr|byte(n))
		case n < 4096:
			b = append(b, lpEnc12BitStr|byte(n>>8), byte(n))
		default:
			b = append(b, lpEnc32BitStr)
			b = binary.LittleEndian.AppendUint32(b, uint32(n))
		}
		b = append(b, e...)
	}
	return appendBacklen(b, uint64(len(b)-start))
}

// appendBacklen appends l as lpEncodeBacklen writes it: 7 bits a byte,
// most significant first, every byte but the first with its high bit set.
// Its limits (l < 16383 for 2 bytes, and so on) are Redis's, off by one
// from the powers of two as they are.
func appendBacklen(b []byte, l uint64) []byte {
	switch {
	case l <= 127:
		return append(b, byte(l))
	case l < 16383:
		return append(b, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		return append(b, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		return append(b, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
	return append(b, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
}

// listpackEntries returns a listpack's entries as strings, integers in
// decimal. It checks the whole structure: sizes, count, every backlen and
// the terminator.
func listpackEntries(lp []byte) ([][]byte, error) {
	if len(lp) < lpHeaderSize+1 || int(binary.LittleEndian.Uint32(lp)) != len(lp) || lp[len(lp)-1] != lpEOF {
		return nil, ErrFormat
	}
	numele := int(binary.LittleEndian.Uint16(lp[4:]))
	var out [][]byte
	p := lpHeaderSize
	end := len(lp) - 1
	for p < end {
		e, n, err := lpEntry(lp[p:end])
		if err != nil {
			return nil, err
		}
		var want [lpMaxBacklenSize]byte
		bl := appendBacklen(want[:0], uint64(n))
		if p+n+len(bl) > end || !bytes.Equal(lp[p+n:p+n+len(bl)], bl) {
			return nil, ErrFormat
		}
		out = append(out, e)
		p += n + len(bl)
	}
	if numele != lpNumeleUnknown && numele != len(out) {
		return nil, ErrFormat
	}
	return out, nil
}

// lpEntry decodes the entry at the start of b, returning its value and
// the size of its encoding and data (without the backlen).
func lpEntry(b []byte) ([]byte, int, error) {
	need := func(n int) error {
		if len(b) < n {
			return ErrFormat
		}
		return nil
	}
	c := b[0]
	var v int64
	var n int
	switch {
	case c&0x80 == lpEnc7BitUint:
		return strconv.AppendInt(nil, int64(c), 10), 1, nil
	case c&0xC0 == lpEnc6BitStr:
		l := int(c & 0x3F)
		if err := need(1 + l); err != nil {
			return nil, 0, err
		}
		return b[1 : 1+l], 1 + l, nil
	case c&0xE0 == lpEnc13BitInt:
		if err := need(2); err != nil {
			return nil, 0, err
		}
		u := int64(c&0x1F)<<8 | int64(b[1])
		if u >= 1<<12 {
			u -= 1 << 13
		}
		v, n = u, 2
	case c&0xF0 == lpEnc12BitStr:
		if err := need(2); err != nil {
			return nil, 0, err
		}
		l := int(c&0x0F)<<8 | int(b[1])
		if err := need(2 + l); err != nil {
			return nil, 0, err
		}
		return b[2 : 2+l], 2 + l, nil
	case c == lpEnc32BitStr:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		l := uint64(binary.LittleEndian.Uint32(b[1:]))
		if uint64(len(b)) < 5+l {
			return nil, 0, ErrFormat
		}
		return b[5 : 5+l], 5 + int(l), nil
	case c == lpEnc16BitInt:
		if err := need(3); err != nil {
			return nil, 0, err
		}
		v, n = int64(int16(binary.LittleEndian.Uint16(b[1:]))), 3
	case c == lpEnc24BitInt:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		u := int64(b[1]) | int64(b[2])<<8 | int64(b[3])<<16
		if u >= 1<<23 {
			u -= 1 << 24
		}
		v, n = u, 4
	case c == lpEnc32BitInt:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		v, n = int64(int32(binary.LittleEndian.Uint32(b[1:]))), 5
	case c == lpEnc64BitInt:
		if err := need(9); err != nil {
			return nil, 0, err
		}
		v, n = int64(binary.LittleEndian.Uint64(b[1:])), 9
	default:
		return nil, 0, ErrFormat
	}
	return strconv.AppendInt(nil, v, 10), n, nil
}
