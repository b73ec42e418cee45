package rdb

import (
	"encoding/binary"
	"strconv"
)

// Older Redis versions wrote small collections as ziplists and zipmaps;
// Redis 7.0 still loads them (converting them to listpacks) and so does
// DecodeDump. They are never written.

// ziplistEntries returns a ziplist's entries as strings. A ziplist
// (ziplist.c) is a 4-byte total size, a 4-byte offset of the last entry,
// a 2-byte count (65535: unknown), entries, and 0xFF; an entry is the
// previous entry's length (1 byte, or 0xFE and 4 bytes), an encoding and
// the data.
func ziplistEntries(zl []byte) ([][]byte, error) {
	const header = 10
	if len(zl) < header+1 || int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != 0xFF ||
		int(binary.LittleEndian.Uint32(zl[4:])) >= len(zl) {
		return nil, ErrFormat
	}
	count := int(binary.LittleEndian.Uint16(zl[8:]))
	var out [][]byte
	p, end := header, len(zl)-1
	for p < end {
		if zl[p] == 0xFE {
			p += 5
		} else {
			p++
		}
		if p >= end {
			return nil, ErrFormat
		}
		e := zl[p]
		b := zl[p:end]
		var v int64
		var n int
		switch {
		case e>>6 == 0 || e>>6 == 1 || e>>6 == 2:
			var l, h int
			switch e >> 6 {
			case 0:
				l, h = int(e&0x3F), 1
			case 1:
				if len(b) < 2 {
					return nil, ErrFormat
				}
				l, h = int(e&0x3F)<<8|int(b[1]), 2
			default:
				if len(b) < 5 {
					return nil, ErrFormat
				}
				l, h = int(binary.BigEndian.Uint32(b[1:])), 5
			}
			if l < 0 || len(b) < h+l {
				return nil, ErrFormat
			}
			out = append(out, b[h:h+l])
			p += h + l
			continue
		case e == 0xC0:
			n = 2
		case e == 0xD0:
			n = 4
		case e == 0xE0:
			n = 8
		case e == 0xF0:
			n = 3
		case e == 0xFE:
			n = 1
		case e >= 0xF1 && e <= 0xFD:
			v = int64(e&0x0F) - 1
		default:
			return nil, ErrFormat
		}
		if len(b) < 1+n {
			return nil, ErrFormat
		}
		d := b[1 : 1+n]
		switch n {
		case 1:
			v = int64(int8(d[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(d)))
		case 3:
			v = int64(int32(uint32(d[0])<<8|uint32(d[1])<<16|uint32(d[2])<<24) >> 8)
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(d)))
		case 8:
			v = int64(binary.LittleEndian.Uint64(d))
		}
		out = append(out, strconv.AppendInt(nil, v, 10))
		p += 1 + n
	}
	if count != 0xFFFF && count != len(out) {
		return nil, ErrFormat
	}
	return out, nil
}

// zipmapPairs returns a zipmap's fields and values, alternating. A zipmap
// (zipmap.c, Redis before 2.6) is a 1-byte count, then for each pair the
// field's length, the field, the value's length, a count of free bytes,
// the value and the free bytes, and 0xFF. A length is 1 byte below 254,
// else 254 and 4 bytes little-endian.
func zipmapPairs(zm []byte) ([][]byte, error) {
	if len(zm) < 2 {
		return nil, ErrFormat
	}
	p := 1
	readLen := func() (int, bool) {
		if p >= len(zm) {
			return 0, false
		}
		if zm[p] < 254 {
			p++
			return int(zm[p-1]), true
		}
		if zm[p] == 255 || p+5 > len(zm) {
			return 0, false
		}
		l := binary.LittleEndian.Uint32(zm[p+1:])
		p += 5
		return int(l), int64(l) <= int64(len(zm))
	}
	var out [][]byte
	for {
		if p >= len(zm) {
			return nil, ErrFormat
		}
		if zm[p] == 255 {
			break
		}
		fl, ok := readLen()
		if !ok || p+fl > len(zm) {
			return nil, ErrFormat
		}
		field := zm[p : p+fl]
		p += fl
		vl, ok := readLen()
		if !ok || p >= len(zm) {
			return nil, ErrFormat
		}
		free := int(zm[p])
		p++
		if p+vl+free > len(zm) {
			return nil, ErrFormat
		}
		out = append(out, field, zm[p:p+vl])
		p += vl + free
	}
	return out, nil
}

// intsetMembers returns an intset's members in decimal, checking that
// they are sorted and distinct as an intset's are.
func intsetMembers(is []byte) ([][]byte, error) {
	if len(is) < 8 {
		return nil, ErrFormat
	}
	width := binary.LittleEndian.Uint32(is)
	n := uint64(binary.LittleEndian.Uint32(is[4:]))
	if width != 2 && width != 4 && width != 8 || uint64(len(is)) != 8+n*uint64(width) {
		return nil, ErrFormat
	}
	out := make([][]byte, 0, n)
	var prev int64
	for i := range int(n) {
		d := is[8+i*int(width):]
		var v int64
		switch width {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(d)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(d)))
		default:
			v = int64(binary.LittleEndian.Uint64(d))
		}
		if i > 0 && v <= prev {
			return nil, ErrFormat
		}
		prev = v
		out = append(out, strconv.AppendInt(nil, v, 10))
	}
	return out, nil
}
