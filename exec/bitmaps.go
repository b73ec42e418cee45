package exec

import (
	"encoding/binary"
	"math/bits"
	"strings"

	"github.com/shardis/shardis/store"
)

func init() {
	register(map[string]Func{
		"setbit":      cmdSetBit,
		"getbit":      cmdGetBit,
		"bitcount":    cmdBitCount,
		"bitpos":      cmdBitPos,
		"bitop":       cmdBitOp,
		"bitfield":    cmdBitField,
		"bitfield_ro": cmdBitFieldRO,
		"lcs":         cmdLCS,
	})
}

const (
	errBitOffset    = Error("ERR bit offset is not an integer or out of range")
	errBitValue     = Error("ERR bit is not an integer or out of range")
	errBitArg       = Error("ERR The bit argument must be 1 or 0.")
	errBitOpNot     = Error("ERR BITOP NOT must be called with a single source key.")
	errBitfieldType = Error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
	errOverflowType = Error("ERR Invalid OVERFLOW type specified")
	errBitfieldRO   = Error("ERR BITFIELD_RO only supports the GET subcommand")
	errLCSType      = Error("ERR The specified keys must contain string values")
	errLCSLenIdx    = Error("ERR If you want both the length and indexes, please just use IDX.")
	errLCSMemory    = Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
)

// parseBitOffset parses a bit offset as Redis's getBitOffsetFromArgument:
// with hash set (BITFIELD), "#n" means n times width. The offset must
// address a byte below proto-max-bulk-len, which is what keeps a string
// from growing past the largest Redis allows.
func parseBitOffset(c *Ctx, arg []byte, hash bool, width int) (int64, error) {
	usehash := hash && width > 0 && len(arg) > 0 && arg[0] == '#'
	if usehash {
		arg = arg[1:]
	}
	off, ok := parseInt(arg)
	if !ok {
		return 0, errBitOffset
	}
	if usehash {
		off *= int64(width) // wraps on overflow, as Redis's does
	}
	if off < 0 || off>>3 >= c.Cfg.MaxStringLen {
		return 0, errBitOffset
	}
	return off, nil
}

// growTo returns a copy of val zero-padded to at least n bytes, ready to
// be changed in place.
func growTo(val string, n int64) []byte {
	b := make([]byte, max(int64(len(val)), n))
	copy(b, val)
	return b
}

func cmdSetBit(c *Ctx, args [][]byte) error {
	off, err := parseBitOffset(c, args[2], false, 0)
	if err != nil {
		return err
	}
	on, ok := parseInt(args[3])
	if !ok || on&^1 != 0 {
		return errBitValue
	}
	r, found, err := getType(c, args[1], store.TypeString)
	if err != nil {
		return err
	}
	byteIdx, mask := off>>3, byte(1)<<(7-off&7)
	old := byteIdx < int64(len(r.Val)) && r.Val[byteIdx]&mask != 0
	c.R.Int(b2i(old))
	if found && old == (on == 1) && byteIdx < int64(len(r.Val)) {
		return nil // nothing changes: Redis neither writes nor propagates
	}
	b := growTo(r.Val, byteIdx+1)
	if on == 1 {
		b[byteIdx] |= mask
	} else {
		b[byteIdx] &^= mask
	}
	return c.Tx.PutString(args[1], r.Exp, string(b))
}

func cmdGetBit(c *Ctx, args [][]byte) error {
	off, err := parseBitOffset(c, args[2], false, 0)
	if err != nil {
		return err
	}
	r, _, err := getType(c, args[1], store.TypeString)
	if err != nil {
		return err
	}
	byteIdx := off >> 3
	c.R.Int(b2i(byteIdx < int64(len(r.Val)) && r.Val[byteIdx]&(1<<(7-off&7)) != 0))
	return nil
}

// bitRange turns BITCOUNT's and BITPOS's start and end (bytes, or bits
// when isBit) over a string of n bytes into an inclusive range of bit
// positions, as Redis clamps them; ok is false for an empty range.
func bitRange(n, start, end int64, isBit bool) (from, to int64, ok bool) {
	total := n
	if isBit {
		total <<= 3
	}
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	if end >= total {
		end = total - 1
	}
	if start > end {
		return 0, 0, false
	}
	if isBit {
		return start, end, true
	}
	return start << 3, end<<3 + 7, true
}

// parseBitUnit parses BYTE or BIT.
func parseBitUnit(arg []byte) (isBit bool, err error) {
	switch {
	case eqFold(arg, "bit"):
		return true, nil
	case eqFold(arg, "byte"):
		return false, nil
	}
	return false, ErrSyntax
}

// bitsBetween counts the set bits of s at bit positions from..to
// (inclusive, MSB first within a byte).
func bitsBetween(s string, from, to int64) int64 {
	fb, lb := from>>3, to>>3
	first := byte(0xff) >> (from & 7)
	last := byte(0xff) << (7 - to&7)
	if fb == lb {
		return int64(bits.OnesCount8(s[fb] & first & last))
	}
	n := int64(bits.OnesCount8(s[fb]&first) + bits.OnesCount8(s[lb]&last))
	mid := s[fb+1 : lb]
	for len(mid) >= 8 {
		n += int64(bits.OnesCount64(binary.LittleEndian.Uint64([]byte(mid[:8]))))
		mid = mid[8:]
	}
	for i := 0; i < len(mid); i++ {
		n += int64(bits.OnesCount8(mid[i]))
	}
	return n
}

// cmdBitCount looks the key up before parsing the range, as Redis 7.0
// does (BITPOS too): a missing key answers 0 whatever the range says.
func cmdBitCount(c *Ctx, args [][]byte) error {
	r, found, err := getType(c, args[1], store.TypeString)
	if err != nil {
		return err
	}
	if !found {
		c.R.Int(0)
		return nil
	}
	n := int64(len(r.Val))
	from, to, ok := int64(0), n*8-1, n > 0
	switch len(args) {
	case 2:
	case 4, 5:
		start, ok1 := parseInt(args[2])
		end, ok2 := parseInt(args[3])
		if !ok1 || !ok2 {
			return ErrNotInt
		}
		if start < 0 && end < 0 && start > end {
			c.R.Int(0) // before the unit is even parsed, as in Redis
			return nil
		}
		isBit := false
		if len(args) == 5 {
			if isBit, err = parseBitUnit(args[4]); err != nil {
				return err
			}
		}
		from, to, ok = bitRange(n, start, end, isBit)
	default:
		return ErrSyntax
	}
	if !ok {
		c.R.Int(0)
		return nil
	}
	c.R.Int(bitsBetween(r.Val, from, to))
	return nil
}

// firstBit returns the position of the first bit equal to bit in s at
// positions from..to (inclusive), or -1.
func firstBit(s string, from, to int64, bit bool) int64 {
	var flip byte // XORed into each byte so that the bits sought are ones
	if !bit {
		flip = 0xff
	}
	fb, lb := from>>3, to>>3
	first := byte(0xff) >> (from & 7)
	last := byte(0xff) << (7 - to&7)
	at := func(i int64) int64 {
		m := s[i] ^ flip
		if i == fb {
			m &= first
		}
		if i == lb {
			m &= last
		}
		if m == 0 {
			return -1
		}
		return i<<3 + int64(bits.LeadingZeros8(m))
	}
	if p := at(fb); p >= 0 || fb == lb {
		return p
	}
	skip := uint64(0)
	if !bit {
		skip = ^uint64(0)
	}
	i := fb + 1
	for ; i+8 <= lb && binary.LittleEndian.Uint64([]byte(s[i:i+8])) == skip; i += 8 {
	}
	for ; i <= lb; i++ {
		if p := at(i); p >= 0 {
			return p
		}
	}
	return -1
}

func cmdBitPos(c *Ctx, args [][]byte) error {
	bit, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	if bit != 0 && bit != 1 {
		return errBitArg
	}
	r, found, err := getType(c, args[1], store.TypeString)
	if err != nil {
		return err
	}
	if !found {
		// A missing key is an endless run of zeros.
		if bit == 1 {
			c.R.Int(-1)
		} else {
			c.R.Int(0)
		}
		return nil
	}
	n := int64(len(r.Val))
	from, to, nonEmpty := int64(0), n*8-1, n > 0
	endGiven := false
	switch len(args) {
	case 3:
	case 4, 5, 6:
		start, ok := parseInt(args[3])
		if !ok {
			return ErrNotInt
		}
		isBit := false
		if len(args) == 6 {
			if isBit, err = parseBitUnit(args[5]); err != nil {
				return err
			}
		}
		end := int64(-1)
		if len(args) >= 5 {
			if end, ok = parseInt(args[4]); !ok {
				return ErrNotInt
			}
			endGiven = true
		}
		from, to, nonEmpty = bitRange(n, start, end, isBit)
	default:
		return ErrSyntax
	}
	if !nonEmpty {
		c.R.Int(-1)
		return nil
	}
	p := firstBit(r.Val, from, to, bit == 1)
	if p < 0 && bit == 0 && !endGiven {
		// Without an explicit end the string is taken as padded with
		// zeros on the right.
		p = to + 1
	}
	c.R.Int(p)
	return nil
}

func cmdBitOp(c *Ctx, args [][]byte) error {
	op := strings.ToLower(string(args[1]))
	switch op {
	case "and", "or", "xor":
	case "not":
		if len(args) != 4 {
			return errBitOpNot
		}
	default:
		return ErrSyntax
	}
	srcs := make([]string, 0, len(args)-3)
	maxLen := 0
	for _, k := range args[3:] {
		r, _, err := getType(c, k, store.TypeString)
		if err != nil {
			return err
		}
		srcs = append(srcs, r.Val) // a missing key is an empty string
		maxLen = max(maxLen, len(r.Val))
	}
	dst := args[2]
	if maxLen == 0 {
		c.Tx.Delete(dst)
		c.R.Int(0)
		return nil
	}
	res := make([]byte, maxLen)
	copy(res, srcs[0])
	switch op {
	case "not":
		for i := range res {
			res[i] = ^res[i]
		}
	case "and":
		for _, s := range srcs[1:] {
			for i := range res {
				if i < len(s) {
					res[i] &= s[i]
				} else {
					res[i] = 0
				}
			}
		}
	case "or":
		for _, s := range srcs[1:] {
			for i := 0; i < len(s); i++ {
				res[i] |= s[i]
			}
		}
	case "xor":
		for _, s := range srcs[1:] {
			for i := 0; i < len(s); i++ {
				res[i] ^= s[i]
			}
		}
	}
	c.R.Int(int64(maxLen))
	// The result replaces whatever dst held, expiry included, as SET does.
	return c.Tx.PutString(dst, 0, string(res))
}

// BITFIELD overflow behaviours.
const (
	owWrap = iota
	owSat
	owFail
)

// bitfieldOp is one GET, SET or INCRBY of a BITFIELD call.
type bitfieldOp struct {
	get    bool
	incr   bool
	signed bool
	width  int
	offset int64
	value  int64
	ow     int
}

// parseBitfieldType parses i1..i64 or u1..u63, lower case only. Redis
// reads the width as a C string, so it stops at a NUL byte.
func parseBitfieldType(arg []byte) (signed bool, width int, err error) {
	if len(arg) == 0 {
		return false, 0, errBitfieldType
	}
	switch arg[0] {
	case 'i':
		signed = true
	case 'u':
	default:
		return false, 0, errBitfieldType
	}
	w := arg[1:]
	if i := strings.IndexByte(string(w), 0); i >= 0 {
		w = w[:i]
	}
	n, ok := parseInt(w)
	if !ok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		return false, 0, errBitfieldType
	}
	return signed, int(n), nil
}

// getBits reads width bits at offset of p, MSB first; bytes beyond p
// read as zeros.
func getBits(p []byte, offset int64, width int) uint64 {
	var v uint64
	for j := 0; j < width; j++ {
		bi := (offset + int64(j)) >> 3
		var bit uint64
		if bi < int64(len(p)) {
			bit = uint64(p[bi]>>(7-(offset+int64(j))&7)) & 1
		}
		v = v<<1 | bit
	}
	return v
}

// setBits writes the low width bits of v at offset of p, MSB first.
func setBits(p []byte, offset int64, width int, v uint64) {
	for j := 0; j < width; j++ {
		o := offset + int64(j)
		mask := byte(1) << (7 - o&7)
		if v&(1<<(width-1-j)) != 0 {
			p[o>>3] |= mask
		} else {
			p[o>>3] &^= mask
		}
	}
}

// signExtend reads the low width bits of v as a two's complement
// integer.
func signExtend(v uint64, width int) int64 {
	if width < 64 {
		hi := ^uint64(0) << width
		if v&(1<<(width-1)) != 0 {
			v |= hi
		} else {
			v &^= hi
		}
	}
	return int64(v)
}

// unsignedOverflow reports whether value+incr leaves u<width>, and the
// value the overflow behaviour gives. It follows Redis's
// checkUnsignedBitfieldOverflow, wrapping arithmetic included.
func unsignedOverflow(value uint64, incr int64, width, ow int) (bool, uint64) {
	maxv := uint64(1)<<width - 1
	maxIncr := int64(maxv - value)
	minIncr := -int64(value)
	wrap := (value + uint64(incr)) &^ (^uint64(0) << width)
	switch {
	case value > maxv || (incr > 0 && incr > maxIncr):
		if ow == owSat {
			return true, maxv
		}
		return true, wrap
	case incr < 0 && incr < minIncr:
		if ow == owSat {
			return true, 0
		}
		return true, wrap
	}
	return false, 0
}

// signedOverflow is unsignedOverflow for i<width>, after Redis's
// checkSignedBitfieldOverflow.
func signedOverflow(value, incr int64, width, ow int) (bool, int64) {
	maxv := int64(uint64(1)<<(width-1) - 1)
	minv := -maxv - 1
	maxIncr := int64(uint64(maxv) - uint64(value))
	minIncr := minv - value
	wrap := func() int64 {
		return signExtend(uint64(value)+uint64(incr), width)
	}
	switch {
	case value > maxv || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr):
		if ow == owSat {
			return true, maxv
		}
		return true, wrap()
	case value < minv || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr):
		if ow == owSat {
			return true, minv
		}
		return true, wrap()
	}
	return false, 0
}

func cmdBitField(c *Ctx, args [][]byte) error   { return bitfield(c, args, false) }
func cmdBitFieldRO(c *Ctx, args [][]byte) error { return bitfield(c, args, true) }

// bitfield serves BITFIELD and BITFIELD_RO: every subcommand is parsed
// before the key is looked at, then they run in order over one copy of
// the string, which is stored once at the end if it changed.
func bitfield(c *Ctx, args [][]byte, ro bool) error {
	var ops []bitfieldOp
	ow := owWrap
	readonly := true
	var highest int64 // last bit any SET or INCRBY writes
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		var op bitfieldOp
		switch {
		case eqFold(args[j], "get") && rem >= 2:
			op.get = true
		case eqFold(args[j], "set") && rem >= 3:
		case eqFold(args[j], "incrby") && rem >= 3:
			op.incr = true
		case eqFold(args[j], "overflow") && rem >= 1:
			j++
			switch {
			case eqFold(args[j], "wrap"):
				ow = owWrap
			case eqFold(args[j], "sat"):
				ow = owSat
			case eqFold(args[j], "fail"):
				ow = owFail
			default:
				return errOverflowType
			}
			continue
		default:
			return ErrSyntax
		}
		var err error
		if op.signed, op.width, err = parseBitfieldType(args[j+1]); err != nil {
			return err
		}
		if op.offset, err = parseBitOffset(c, args[j+2], true, op.width); err != nil {
			return err
		}
		if !op.get {
			readonly = false
			highest = max(highest, op.offset+int64(op.width)-1)
			v, ok := parseInt(args[j+3])
			if !ok {
				return ErrNotInt
			}
			op.value = v
			j++
		}
		op.ow = ow
		ops = append(ops, op)
		j += 2
	}
	if !readonly && ro {
		return errBitfieldRO
	}
	r, found, err := getType(c, args[1], store.TypeString)
	if err != nil {
		return err
	}
	// A string that only GETs is read where it is; a write works on a
	// copy long enough for the farthest bit written.
	p := []byte(r.Val)
	if !readonly {
		p = growTo(r.Val, highest>>3+1)
	}
	c.R.Array(len(ops))
	for _, op := range ops {
		if op.get {
			v := getBits(p, op.offset, op.width)
			if op.signed {
				c.R.Int(signExtend(v, op.width))
			} else {
				c.R.Int(int64(v))
			}
			continue
		}
		old := getBits(p, op.offset, op.width)
		var nv uint64
		var reply int64
		var over bool
		if op.signed {
			oldv := signExtend(old, op.width)
			var lim int64
			if op.incr {
				over, lim = signedOverflow(oldv, op.value, op.width, op.ow)
				n := oldv + op.value
				if over {
					n = lim
				}
				nv, reply = uint64(n), n
			} else {
				over, lim = signedOverflow(op.value, 0, op.width, op.ow)
				n := op.value
				if over {
					n = lim
				}
				nv, reply = uint64(n), oldv
			}
		} else {
			var lim uint64
			if op.incr {
				over, lim = unsignedOverflow(old, op.value, op.width, op.ow)
				nv = old + uint64(op.value)
				if over {
					nv = lim
				}
				reply = int64(nv)
			} else {
				over, lim = unsignedOverflow(uint64(op.value), 0, op.width, op.ow)
				nv = uint64(op.value)
				if over {
					nv = lim
				}
				reply = int64(old)
			}
		}
		if over && op.ow == owFail {
			c.R.Null()
			continue
		}
		c.R.Int(reply)
		setBits(p, op.offset, op.width, nv)
	}
	if readonly || (found && string(p) == r.Val) {
		return nil
	}
	// Redis creates or grows the key even when every write FAILs.
	return c.Tx.PutString(args[1], r.Exp, string(p))
}

// lcsArgs are LCS's options.
type lcsArgs struct {
	idx, length, withLen bool
	minLen               int64
}

func cmdLCS(c *Ctx, args [][]byte) error {
	ra, _, errA := getType(c, args[1], store.TypeString)
	rb, _, errB := getType(c, args[2], store.TypeString)
	if errA != nil || errB != nil {
		return errLCSType
	}
	var o lcsArgs
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case eqFold(args[j], "idx"):
			o.idx = true
		case eqFold(args[j], "len"):
			o.length = true
		case eqFold(args[j], "withmatchlen"):
			o.withLen = true
		case eqFold(args[j], "minmatchlen") && more > 0:
			n, ok := parseInt(args[j+1])
			if !ok {
				return ErrNotInt
			}
			o.minLen = max(n, 0)
			j++
		default:
			return ErrSyntax
		}
	}
	if o.idx && o.length {
		return errLCSLenIdx
	}
	a, b := ra.Val, rb.Val
	// The table Redis allocates is transient memory bounded by
	// proto-max-bulk-len.
	if (int64(len(a))+1)*(int64(len(b))+1)*4 > c.Cfg.MaxStringLen {
		return errLCSMemory
	}
	lcsReply(c, a, b, o)
	return nil
}

// lcsReply runs the textbook dynamic programme and walks it back from the
// end as Redis does, so that the string and the ranges come out as
// Redis's (one LCS among several possible is chosen the same way).
func lcsReply(c *Ctx, a, b string, o lcsArgs) {
	w := len(b) + 1
	dp := make([]uint32, (len(a)+1)*w)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				dp[i*w+j] = dp[(i-1)*w+j-1] + 1
			default:
				dp[i*w+j] = max(dp[(i-1)*w+j], dp[i*w+j-1])
			}
		}
	}
	total := dp[len(a)*w+len(b)]
	if o.length && !o.idx {
		c.R.Int(int64(total))
		return
	}
	result := make([]byte, total)
	type match struct{ a0, a1, b0, b1 int }
	var matches []match
	k := int(total)
	unset := len(a) // no range open
	as, ae, bs, be := unset, 0, 0, 0
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			result[k-1] = a[i-1]
			switch {
			case as == unset:
				as, ae, bs, be = i-1, i-1, j-1, j-1
			case as == i && bs == j:
				as--
				bs--
			default:
				emit = true
			}
			if as == 0 || bs == 0 {
				emit = true
			}
			k--
			i--
			j--
		} else {
			if dp[(i-1)*w+j] > dp[i*w+j-1] {
				i--
			} else {
				j--
			}
			emit = as != unset
		}
		if emit {
			if n := ae - as + 1; o.minLen == 0 || int64(n) >= o.minLen {
				matches = append(matches, match{as, ae, bs, be})
			}
			as = unset
		}
	}
	if !o.idx {
		c.R.Bulk(result)
		return
	}
	c.R.Map(2)
	c.R.BulkString("matches")
	c.R.Array(len(matches))
	for _, m := range matches {
		if o.withLen {
			c.R.Array(3)
		} else {
			c.R.Array(2)
		}
		c.R.Array(2)
		c.R.Int(int64(m.a0))
		c.R.Int(int64(m.a1))
		c.R.Array(2)
		c.R.Int(int64(m.b0))
		c.R.Int(int64(m.b1))
		if o.withLen {
			c.R.Int(int64(m.a1 - m.a0 + 1))
		}
	}
	c.R.BulkString("len")
	c.R.Int(int64(total))
}
