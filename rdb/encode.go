package rdb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// Length and string encodings (rdb.h): the top two bits of the first
// byte say how a length is written, 11 marks a specially encoded string.
const (
	len6     = 0
	len14    = 1
	len32    = 0x80
	len64    = 0x81
	encVal   = 3
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// appendLen appends n as rdbSaveLen writes a length.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|len14<<6, byte(n))
	case n <= math.MaxUint32:
		b = append(b, len32)
		return binary.BigEndian.AppendUint32(b, uint32(n))
	}
	b = append(b, len64)
	return binary.BigEndian.AppendUint64(b, n)
}

// appendString appends s as rdbSaveRawString does: a canonical integer of
// up to 32 bits as an integer, a string over 20 bytes LZF-compressed when
// that saves at least 4 bytes, anything else verbatim.
func appendString(b []byte, s []byte) []byte {
	if len(s) <= 11 {
		if v, ok := parseInt(s); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(b, encVal<<6|encInt8, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				b = append(b, encVal<<6|encInt16)
				return binary.LittleEndian.AppendUint16(b, uint16(v))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				b = append(b, encVal<<6|encInt32)
				return binary.LittleEndian.AppendUint32(b, uint32(v))
			}
		}
	}
	if len(s) > 20 {
		if c := lzfCompress(s, len(s)-4); c != nil {
			b = append(b, encVal<<6|encLZF)
			b = appendLen(b, uint64(len(c)))
			b = appendLen(b, uint64(len(s)))
			return append(b, c...)
		}
	}
	b = appendLen(b, uint64(len(s)))
	return append(b, s...)
}

// parseInt parses s as Redis's string2ll: canonical decimal only (no '+',
// no leading zeros, no "-0", no spaces), within int64.
func parseInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return 0, false
	}
	var buf [20]byte
	return v, bytes.Equal(strconv.AppendInt(buf[:0], v, 10), s)
}

// formatScore formats a score as Redis's d2string, which is how a
// listpack sorted set stores it: integers in ±2^52 as integers, the rest
// as %.17g.
func formatScore(f float64) []byte {
	switch {
	case math.IsNaN(f):
		return []byte("nan")
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	case f == 0:
		if math.Signbit(f) {
			return []byte("-0")
		}
		return []byte("0")
	case f > -4503599627370495 && f < 4503599627370496 && f == math.Trunc(f):
		return strconv.AppendInt(nil, int64(f), 10)
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}

// sortedZSet returns zs ordered as Redis orders a sorted set: by score,
// then by member bytes.
func sortedZSet(zs []ZMember) []ZMember {
	out := slices.Clone(zs)
	slices.SortStableFunc(out, func(a, b ZMember) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c
		}
		return bytes.Compare(a.Member, b.Member)
	})
	return out
}

// makeIntset lays out members as an intset (all must be canonical
// integers): a width of 2, 4 or 8 bytes, the count, then the values in
// ascending order, all little-endian. Redis never narrows an intset, so a
// set that once held a wide integer keeps its width; the narrowest width
// is what a set built afresh has.
func makeIntset(members [][]byte) ([]byte, bool) {
	vals := make([]int64, len(members))
	width := 2
	for i, m := range members {
		v, ok := parseInt(m)
		if !ok {
			return nil, false
		}
		vals[i] = v
		switch {
		case v < math.MinInt32 || v > math.MaxInt32:
			width = 8
		case (v < math.MinInt16 || v > math.MaxInt16) && width < 4:
			width = 4
		}
	}
	slices.Sort(vals)
	b := make([]byte, 8, 8+width*len(vals))
	binary.LittleEndian.PutUint32(b, uint32(width))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(vals)))
	for _, v := range vals {
		switch width {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b, true
}

// Quicklist node containers.
const (
	containerPlain  = 1
	containerPacked = 2
)

// Redis 7.0's quicklist at list-max-listpack-size -2: a node takes one
// more element while its listpack, plus the element and an 8-byte
// overhead estimate, stays within 8 KiB; an element of 1 GiB or more gets
// a plain node of its own.
const (
	nodeSizeLimit      = 8192
	nodeEstimateExtra  = 8
	plainNodeThreshold = 1 << 30
)

// appendQuicklist appends elems as a quicklist 2 object split into nodes
// as RPUSH of each element in turn splits it, which is also how RESTORE
// of a plain list and every list built by pushes at the tail look.
func appendQuicklist(b []byte, elems [][]byte) []byte {
	type node struct {
		plain []byte
		lp    listpack
	}
	var nodes []*node
	var cur *node
	for _, e := range elems {
		if len(e) >= plainNodeThreshold {
			nodes = append(nodes, &node{plain: e})
			cur = nil // nothing joins a plain node
			continue
		}
		if cur == nil || cur.lp.size()+len(e)+nodeEstimateExtra > nodeSizeLimit {
			cur = &node{}
			nodes = append(nodes, cur)
		}
		cur.lp.append(e)
	}
	b = appendLen(b, uint64(len(nodes)))
	for _, n := range nodes {
		if n.plain != nil {
			b = appendLen(b, containerPlain)
			b = appendString(b, n.plain)
			continue
		}
		b = appendLen(b, containerPacked)
		b = appendString(b, n.lp.bytes())
	}
	return b
}
