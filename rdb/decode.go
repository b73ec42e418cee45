package rdb

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// reader reads an RDB object from a byte slice; running out of bytes is
// ErrFormat.
type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrFormat
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, ErrFormat
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// length reads a length as rdbLoadLenByRef; encoded reports a special
// string encoding, whose kind is then the returned value.
func (r *reader) length() (n uint64, encoded bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case encVal:
		return uint64(c & 0x3F), true, nil
	case len6:
		return uint64(c & 0x3F), false, nil
	case len14:
		c2, err := r.byte()
		return uint64(c&0x3F)<<8 | uint64(c2), false, err
	}
	switch c {
	case len32:
		b, err := r.take(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case len64:
		b, err := r.take(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, ErrFormat
}

// count reads a collection's element count. Like rdbLoadLen without an
// encoding flag, it takes a special-encoding byte's low bits as the
// count; zero is an error, since Redis keeps no empty collection.
func (r *reader) count() (uint64, error) {
	n, _, err := r.length()
	if err == nil && n == 0 {
		err = ErrFormat
	}
	return n, err
}

// str reads a string as rdbGenericLoadStringObject: a length and bytes,
// an integer, or an LZF block.
func (r *reader) str() ([]byte, error) {
	n, encoded, err := r.length()
	if err != nil {
		return nil, err
	}
	if !encoded {
		return r.take(n)
	}
	var v int64
	switch n {
	case encInt8:
		b, err := r.take(1)
		if err != nil {
			return nil, err
		}
		v = int64(int8(b[0]))
	case encInt16:
		b, err := r.take(2)
		if err != nil {
			return nil, err
		}
		v = int64(int16(binary.LittleEndian.Uint16(b)))
	case encInt32:
		b, err := r.take(4)
		if err != nil {
			return nil, err
		}
		v = int64(int32(binary.LittleEndian.Uint32(b)))
	case encLZF:
		clen, _, err := r.length()
		if err != nil {
			return nil, err
		}
		ulen, _, err := r.length()
		if err != nil {
			return nil, err
		}
		c, err := r.take(clen)
		if err != nil {
			return nil, err
		}
		return lzfDecompress(c, ulen)
	default:
		return nil, ErrFormat
	}
	return strconv.AppendInt(nil, v, 10), nil
}

// binDouble reads a score as rdbLoadBinaryDoubleValue: 8 bytes of IEEE
// 754, little-endian.
func (r *reader) binDouble() (float64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// strDouble reads a score as rdbLoadDoubleValue: a length byte (253 NaN,
// 254 +inf, 255 -inf) and that many bytes of decimal.
func (r *reader) strDouble() (float64, error) {
	n, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := r.take(uint64(n))
	if err != nil {
		return 0, err
	}
	return parseScore(b)
}

// parseScore parses a decimal score as strtod does for the strings Redis
// writes ("inf", "-inf", %.17g).
func parseScore(b []byte) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimLeft(string(b), " \t\n\v\f\r"), 64)
	if err != nil && !isRangeErr(err) {
		return 0, ErrFormat
	}
	return f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// object reads the object of RDB type t.
func (r *reader) object(t byte) (Value, error) {
	switch t {
	case TypeString:
		s, err := r.str()
		return Value{Kind: KindString, Str: s}, err
	case TypeList:
		n, err := r.count()
		if err != nil {
			return Value{}, err
		}
		elems, err := r.strs(n)
		return Value{Kind: KindList, Enc: EncQuicklist, Elems: elems}, err
	case TypeListQuicklist, TypeListQuicklist2:
		return r.quicklist(t)
	case TypeListZiplist:
		elems, err := r.blob(ziplistEntries)
		return Value{Kind: KindList, Enc: EncQuicklist, Elems: elems}, err
	case TypeSet:
		n, err := r.count()
		if err != nil {
			return Value{}, err
		}
		elems, err := r.strs(n)
		if err == nil {
			err = distinct(elems, 1)
		}
		return Value{Kind: KindSet, Enc: EncHashtable, Elems: elems}, err
	case TypeSetIntset:
		elems, err := r.blob(intsetMembers)
		return Value{Kind: KindSet, Enc: EncIntset, Elems: elems}, err
	case TypeSetListpack:
		elems, err := r.blob(listpackEntries)
		if err == nil {
			err = distinct(elems, 1)
		}
		return Value{Kind: KindSet, Enc: EncListpack, Elems: elems}, err
	case TypeHash:
		n, err := r.count()
		if err != nil {
			return Value{}, err
		}
		flat, err := r.strs(2 * n)
		if err != nil {
			return Value{}, err
		}
		return hashValue(flat, EncHashtable)
	case TypeHashListpack, TypeHashZiplist, TypeHashZipmap:
		parse := listpackEntries
		if t == TypeHashZiplist {
			parse = ziplistEntries
		} else if t == TypeHashZipmap {
			parse = zipmapPairs
		}
		flat, err := r.blob(parse)
		if err != nil {
			return Value{}, err
		}
		return hashValue(flat, EncListpack)
	case TypeZSet, TypeZSet2:
		n, err := r.count()
		if err != nil {
			return Value{}, err
		}
		v := Value{Kind: KindZSet, Enc: EncSkiplist}
		for range n {
			m, err := r.str()
			if err != nil {
				return Value{}, err
			}
			var s float64
			if t == TypeZSet2 {
				s, err = r.binDouble()
			} else {
				s, err = r.strDouble()
			}
			if err != nil {
				return Value{}, err
			}
			v.ZSet = append(v.ZSet, ZMember{Member: m, Score: s})
		}
		return v, checkZSet(v.ZSet)
	case TypeZSetListpack, TypeZSetZiplist:
		parse := listpackEntries
		if t == TypeZSetZiplist {
			parse = ziplistEntries
		}
		flat, err := r.blob(parse)
		if err != nil {
			return Value{}, err
		}
		if len(flat)%2 != 0 {
			return Value{}, ErrFormat
		}
		v := Value{Kind: KindZSet, Enc: EncListpack}
		for i := 0; i < len(flat); i += 2 {
			s, err := parseScore(flat[i+1])
			if err != nil {
				return Value{}, err
			}
			v.ZSet = append(v.ZSet, ZMember{Member: flat[i], Score: s})
		}
		return v, checkZSet(v.ZSet)
	case TypeModule, TypeModule2, TypeStreamListpacks, TypeStreamListpack2:
		return Value{}, ErrUnsupported
	}
	return Value{}, ErrFormat
}

// strs reads n strings.
func (r *reader) strs(n uint64) ([][]byte, error) {
	if n > uint64(len(r.b)) { // each string takes at least a byte
		return nil, ErrFormat
	}
	out := make([][]byte, 0, n)
	for range n {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// blob reads a string holding a whole small collection and parses it; an
// empty one is an error.
func (r *reader) blob(parse func([]byte) ([][]byte, error)) ([][]byte, error) {
	b, err := r.str()
	if err != nil {
		return nil, err
	}
	elems, err := parse(b)
	if err == nil && len(elems) == 0 {
		err = ErrFormat
	}
	return elems, err
}

// quicklist reads a list of listpack (type 18) or ziplist (type 14)
// nodes. Redis skips empty nodes; a list left empty is an error.
func (r *reader) quicklist(t byte) (Value, error) {
	nodes, err := r.count()
	if err != nil {
		return Value{}, err
	}
	v := Value{Kind: KindList, Enc: EncQuicklist}
	for range nodes {
		container := uint64(containerPacked)
		if t == TypeListQuicklist2 {
			if container, _, err = r.length(); err != nil {
				return Value{}, err
			}
			if container != containerPlain && container != containerPacked {
				return Value{}, ErrFormat
			}
		}
		b, err := r.str()
		if err != nil {
			return Value{}, err
		}
		if container == containerPlain {
			v.Elems = append(v.Elems, b)
			continue
		}
		parse := listpackEntries
		if t == TypeListQuicklist {
			parse = ziplistEntries
		}
		elems, err := parse(b)
		if err != nil {
			return Value{}, err
		}
		v.Elems = append(v.Elems, elems...)
	}
	if len(v.Elems) == 0 {
		return Value{}, ErrFormat
	}
	return v, nil
}

// hashValue pairs up alternating fields and values; a duplicate field is
// an error, as Redis's loader reports it.
func hashValue(flat [][]byte, enc Encoding) (Value, error) {
	if len(flat)%2 != 0 {
		return Value{}, ErrFormat
	}
	if err := distinct(flat, 2); err != nil {
		return Value{}, err
	}
	v := Value{Kind: KindHash, Enc: enc, Fields: make([]Pair, 0, len(flat)/2)}
	for i := 0; i < len(flat); i += 2 {
		v.Fields = append(v.Fields, Pair{Field: flat[i], Value: flat[i+1]})
	}
	return v, nil
}

// distinct checks that every step-th element from the first is unique.
func distinct(elems [][]byte, step int) error {
	seen := make(map[string]struct{}, len(elems)/step)
	for i := 0; i < len(elems); i += step {
		if _, dup := seen[string(elems[i])]; dup {
			return ErrFormat
		}
		seen[string(elems[i])] = struct{}{}
	}
	return nil
}

// checkZSet refuses NaN scores and duplicate members, as Redis's loader.
func checkZSet(zs []ZMember) error {
	seen := make(map[string]struct{}, len(zs))
	for _, m := range zs {
		if math.IsNaN(m.Score) {
			return ErrFormat
		}
		if _, dup := seen[string(m.Member)]; dup {
			return ErrFormat
		}
		seen[string(m.Member)] = struct{}{}
	}
	return nil
}
