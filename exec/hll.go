package exec

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/shardis/shardis/store"
)

// HyperLogLogs are Redis strings in Redis's own layout, byte for byte, so
// that a value moved between Shardis and Redis (GET/SET, DUMP/RESTORE)
// keeps working on either side:
//
//	"HYLL" | encoding (0 dense, 1 sparse) | 3 unused | cached cardinality (8, LE)
//
// followed by 16384 registers of 6 bits, either packed (dense, 12288
// bytes) or run-length coded with the ZERO (00xxxxxx), XZERO (01xxxxxx
// yyyyyyyy) and VAL (1vvvvvxx) opcodes (sparse). The top bit of the last
// cardinality byte set means the cached cardinality is stale.

func init() {
	register(map[string]Func{
		"pfadd":   cmdPFAdd,
		"pfcount": cmdPFCount,
		"pfmerge": cmdPFMerge,
	})
}

const (
	hllP          = 14
	hllQ          = 64 - hllP // bits of the hash that count the run of zeros
	hllRegisters  = 1 << hllP
	hllPMask      = hllRegisters - 1
	hllBits       = 6
	hllRegMax     = 1<<hllBits - 1
	hllHdrSize    = 16
	hllDenseSize  = hllHdrSize + (hllRegisters*hllBits+7)/8
	hllDense      = 0
	hllSparse     = 1
	hllMaxEncoded = hllSparse

	// hllSparseMaxBytes is hll-sparse-max-bytes at its default: a sparse
	// HLL that would grow past it becomes dense.
	hllSparseMaxBytes = 3000

	hllSparseValMax   = 32
	hllSparseValLen   = 4
	hllSparseZeroMax  = 64
	hllSparseXZeroMax = 16384

	// hllAlphaInf is 0.5/ln(2), the estimator's constant.
	hllAlphaInf = 0.721347520444481703680
)

const (
	errNotHLL     = Error("WRONGTYPE Key is not a valid HyperLogLog string value.")
	errCorruptHLL = Error("INVALIDOBJ Corrupted HLL object detected")
)

// validHLL is Redis's isHLLObjectOrReply for a string value.
func validHLL(v string) bool {
	if len(v) < hllHdrSize || v[:4] != "HYLL" || v[4] > hllMaxEncoded {
		return false
	}
	return v[4] != hllDense || len(v) == hllDenseSize
}

// newHLL is an empty HLL as Redis creates it: sparse, every register
// covered by XZERO opcodes, cached cardinality 0.
func newHLL() []byte {
	b := make([]byte, hllHdrSize, hllHdrSize+2)
	copy(b, "HYLL")
	b[4] = hllSparse
	for n := hllRegisters; n > 0; n -= min(n, hllSparseXZeroMax) {
		b = appendXZero(b, min(n, hllSparseXZeroMax))
	}
	return b
}

func hllInvalidate(b []byte) { b[15] |= 0x80 }

// murmurHash64A is MurmurHash2's 64-bit variant as Redis uses it
// (endian-neutral: 8-byte blocks read little endian).
func murmurHash64A(data []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(data)) * m)
	for len(data) >= 8 {
		k := binary.LittleEndian.Uint64(data)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		data = data[8:]
	}
	if len(data) > 0 {
		for i := len(data) - 1; i >= 0; i-- {
			h ^= uint64(data[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen returns the register ele falls in and the length of the run
// of zeros (plus one) after the index bits of its hash.
func hllPatLen(ele []byte) (int, uint8) {
	h := murmurHash64A(ele, 0xadc83b19)
	index := int(h & hllPMask)
	h >>= hllP
	h |= 1 << hllQ // bounds the count at hllQ+1
	count := uint8(1)
	for bit := uint64(1); h&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

// denseGet and denseSet access the 6-bit register i of packed registers
// regs, LSB first.
func denseGet(regs []byte, i int) uint8 {
	byteIdx, fb := i*hllBits/8, uint(i*hllBits&7)
	v := uint(regs[byteIdx]) >> fb
	if byteIdx+1 < len(regs) {
		v |= uint(regs[byteIdx+1]) << (8 - fb)
	}
	return uint8(v & hllRegMax)
}

func denseSet(regs []byte, i int, val uint8) {
	byteIdx, fb := i*hllBits/8, uint(i*hllBits&7)
	v := uint(val)
	regs[byteIdx] &^= byte(hllRegMax << fb)
	regs[byteIdx] |= byte(v << fb)
	if byteIdx+1 < len(regs) {
		regs[byteIdx+1] &^= byte(hllRegMax >> (8 - fb))
		regs[byteIdx+1] |= byte(v >> (8 - fb))
	}
}

// Sparse opcodes.
func isZero(op byte) bool  { return op&0xc0 == 0 }
func isXZero(op byte) bool { return op&0xc0 == 0x40 }
func isVal(op byte) bool   { return op&0x80 != 0 }
func zeroLen(op byte) int  { return int(op&0x3f) + 1 }
func xzeroLen(hi, lo byte) int {
	return (int(hi&0x3f)<<8 | int(lo)) + 1
}
func valValue(op byte) uint8 { return (op>>2)&0x1f + 1 }
func valLen(op byte) int     { return int(op&0x3) + 1 }

func valOp(val uint8, n int) byte { return (val-1)<<2 | byte(n-1) | 0x80 }

func appendXZero(b []byte, n int) []byte {
	return append(b, byte((n-1)>>8)|0x40, byte((n-1)&0xff))
}

// appendZeros appends the one opcode Redis uses for a run of n zero
// registers.
func appendZeros(b []byte, n int) []byte {
	if n > hllSparseZeroMax {
		return appendXZero(b, n)
	}
	return append(b, byte(n-1))
}

// sparseOps walks the opcodes of sparse registers sp, calling fn with the
// first register each covers, its length and its value (0 for ZERO and
// XZERO), until fn returns false. It returns the number of registers the
// opcodes walked cover.
func sparseOps(sp []byte, fn func(first, n int, val uint8) bool) int {
	idx := 0
	for p := 0; p < len(sp); {
		var n int
		var val uint8
		switch op := sp[p]; {
		case isZero(op):
			n = zeroLen(op)
			p++
		case isXZero(op):
			lo := byte(0) // past the end: the C string's terminator
			if p+1 < len(sp) {
				lo = sp[p+1]
			}
			n = xzeroLen(op, lo)
			p += 2
		default:
			n, val = valLen(op), valValue(op)
			p++
		}
		if !fn(idx, n, val) {
			return idx
		}
		idx += n
	}
	return idx
}

// sparseEachSet calls set for every register to which the sparse
// registers sp give a value, and reports whether sp covers exactly the
// 16384 registers without running past them: the check Redis makes as it
// converts or merges a sparse HLL.
func sparseEachSet(sp []byte, set func(i int, val uint8)) bool {
	overflow := false
	n := sparseOps(sp, func(first, n int, val uint8) bool {
		if val == 0 {
			return true
		}
		if first+n > hllRegisters {
			overflow = true
			return false
		}
		for i := first; i < first+n; i++ {
			set(i, val)
		}
		return true
	})
	return !overflow && n == hllRegisters
}

// sparseToDense converts HLL b to dense (keeping the header's cached
// cardinality), or reports that its registers do not add up.
func sparseToDense(b []byte) ([]byte, bool) {
	if b[4] == hllDense {
		return b, true
	}
	d := make([]byte, hllDenseSize)
	copy(d, b[:hllHdrSize])
	d[4] = hllDense
	regs := d[hllHdrSize:]
	if !sparseEachSet(b[hllHdrSize:], func(i int, val uint8) { denseSet(regs, i, val) }) {
		return nil, false
	}
	return d, true
}

// sparseSet raises register index of sparse HLL *hp to count, as Redis's
// hllSparseSet does, so the opcodes come out as Redis's: the opcode
// covering index is split in place, neighbouring VALs merged, and the HLL
// turned dense when count does not fit a VAL or it would outgrow
// hllSparseMaxBytes. It returns 1 if the register changed, 0 if not and
// -1 for a corrupt HLL.
func sparseSet(hp *[]byte, index int, count uint8) int {
	b := *hp
	if count > hllSparseValMax {
		return promoteSet(hp, index, count)
	}
	// Step 1: find the opcode covering index.
	p, prev, first, span := hllHdrSize, -1, 0, 0
	for p < len(b) {
		oplen := 1
		switch op := b[p]; {
		case isZero(op):
			span = zeroLen(op)
		case isVal(op):
			span = valLen(op)
		default:
			lo := byte(0)
			if p+1 < len(b) {
				lo = b[p+1]
			}
			span = xzeroLen(op, lo)
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= len(b) {
		return -1
	}
	op := b[p]
	zero, xzero, val := isZero(op), isXZero(op), isVal(op)
	var runlen int
	switch {
	case zero:
		runlen = zeroLen(op)
	case xzero:
		runlen = span
	default:
		runlen = valLen(op)
	}

	// Step 2: the trivial updates in place.
	updated := false
	if val {
		if valValue(op) >= count {
			return 0
		}
		if runlen == 1 {
			b[p] = valOp(count, 1)
			updated = true
		}
	}
	if !updated && zero && runlen == 1 {
		b[p] = valOp(count, 1)
		updated = true
	}

	// Step 3: split the opcode into up to three.
	if !updated {
		last := first + span - 1
		seq := make([]byte, 0, 5)
		if zero || xzero {
			if index != first {
				seq = appendZeros(seq, index-first)
			}
			seq = append(seq, valOp(count, 1))
			if index != last {
				seq = appendZeros(seq, last-index)
			}
		} else {
			cur := valValue(op)
			if index != first {
				seq = append(seq, valOp(cur, index-first))
			}
			seq = append(seq, valOp(count, 1))
			if index != last {
				seq = append(seq, valOp(cur, last-index))
			}
		}
		oldlen := 1
		if xzero {
			oldlen = 2
		}
		if delta := len(seq) - oldlen; delta > 0 && len(b)+delta > hllSparseMaxBytes {
			return promoteSet(hp, index, count)
		}
		b = slices.Replace(b, p, min(p+oldlen, len(b)), seq...)
	}

	// Step 4: merge adjacent VALs of the same value, from the opcode
	// before the change, over at most five opcodes.
	q := hllHdrSize
	if prev >= 0 {
		q = prev
	}
	for scan := 5; q < len(b) && scan > 0; scan-- {
		switch {
		case isXZero(b[q]):
			q += 2
			continue
		case isZero(b[q]):
			q++
			continue
		}
		if q+1 < len(b) && isVal(b[q+1]) {
			v1, v2 := valValue(b[q]), valValue(b[q+1])
			if n := valLen(b[q]) + valLen(b[q+1]); v1 == v2 && n <= hllSparseValLen {
				b[q+1] = valOp(v1, n)
				b = slices.Delete(b, q, q+1)
				continue // try merging the result with its right neighbour
			}
		}
		q++
	}
	hllInvalidate(b)
	*hp = b
	return 1
}

// promoteSet turns sparse *hp dense and sets the register there.
func promoteSet(hp *[]byte, index int, count uint8) int {
	d, ok := sparseToDense(*hp)
	if !ok {
		return -1
	}
	*hp = d
	denseSet(d[hllHdrSize:], index, count)
	return 1
}

// hllAdd adds ele to HLL *hp: 1 if a register changed, 0 if not, -1 for
// a corrupt HLL.
func hllAdd(hp *[]byte, ele []byte) int {
	index, count := hllPatLen(ele)
	if (*hp)[4] == hllSparse {
		return sparseSet(hp, index, count)
	}
	regs := (*hp)[hllHdrSize:]
	if denseGet(regs, index) >= count {
		return 0
	}
	denseSet(regs, index, count)
	return 1
}

// hllMerge raises each of the 16384 registers of maxRegs to the value in
// HLL b, or reports that a sparse b does not add up.
func hllMerge(maxRegs []uint8, b []byte) bool {
	if b[4] == hllDense {
		regs := b[hllHdrSize:]
		for i := range hllRegisters {
			maxRegs[i] = max(maxRegs[i], denseGet(regs, i))
		}
		return true
	}
	return sparseEachSet(b[hllHdrSize:], func(i int, val uint8) { maxRegs[i] = max(maxRegs[i], val) })
}

// hllHisto counts HLL b's registers by value; invalid reports a sparse
// HLL whose opcodes do not cover exactly 16384 registers.
func hllHisto(b []byte) (h [64]int, invalid bool) {
	if b[4] == hllDense {
		regs := b[hllHdrSize:]
		for i := range hllRegisters {
			h[denseGet(regs, i)]++
		}
		return h, false
	}
	n := sparseOps(b[hllHdrSize:], func(_, n int, val uint8) bool {
		h[val] += n
		return true
	})
	return h, n != hllRegisters
}

func rawHisto(regs []uint8) (h [64]int) {
	for _, v := range regs {
		h[v&63]++
	}
	return h
}

// hllEstimate is Redis 7's hllCount: Ertl's improved estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches") over the
// register histogram. The float64 conversions keep every product rounded
// on its own (no fused multiply-add), as in Redis's build, so that the
// estimate is Redis's to the last unit.
func hllEstimate(h *[64]int) uint64 {
	m := float64(hllRegisters)
	z := float64(m * hllTau((m-float64(h[hllQ+1]))/m))
	for j := hllQ; j >= 1; j-- {
		z += float64(h[j])
		z *= 0.5
	}
	z += float64(m * hllSigma(float64(h[0])/m))
	return uint64(math.Round(hllAlphaInf * m * m / z))
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if zPrime == z {
			return z / 3
		}
	}
}

// getHLL reads key as an HLL: found is false for a missing key.
func getHLL(c *Ctx, key []byte) (r store.Record, found bool, err error) {
	r, found, err = getType(c, key, store.TypeString)
	if err == nil && found && !validHLL(r.Val) {
		err = errNotHLL
	}
	return r, found, err
}

func cmdPFAdd(c *Ctx, args [][]byte) error {
	r, found, err := getHLL(c, args[1])
	if err != nil {
		return err
	}
	var b []byte
	updated := false
	if found {
		b = []byte(r.Val)
	} else {
		b, updated = newHLL(), true
	}
	for _, ele := range args[2:] {
		switch hllAdd(&b, ele) {
		case 1:
			updated = true
		case -1:
			return errCorruptHLL
		}
	}
	if !updated {
		c.R.Int(0)
		return nil
	}
	hllInvalidate(b)
	c.R.Int(1)
	return c.Tx.PutString(args[1], r.Exp, string(b))
}

// cmdPFCount answers from the cached cardinality when it is valid. Redis
// also stores a recomputed cardinality back into the string; PFCOUNT is a
// read-only command here (it runs in a read transaction and is served by
// any copy), so the cache is left stale and the estimate is recomputed on
// every call instead: the same answer, with the key's bytes unchanged.
func cmdPFCount(c *Ctx, args [][]byte) error {
	if len(args) > 2 {
		regs := make([]uint8, hllRegisters)
		for _, k := range args[1:] {
			r, found, err := getHLL(c, k)
			if err != nil {
				return err
			}
			if found && !hllMerge(regs, []byte(r.Val)) {
				return errCorruptHLL
			}
		}
		h := rawHisto(regs)
		c.R.Int(int64(hllEstimate(&h)))
		return nil
	}
	r, found, err := getHLL(c, args[1])
	if err != nil {
		return err
	}
	if !found {
		c.R.Int(0)
		return nil
	}
	if r.Val[15]&0x80 == 0 {
		c.R.Int(int64(binary.LittleEndian.Uint64([]byte(r.Val[8:16]))))
		return nil
	}
	h, invalid := hllHisto([]byte(r.Val))
	if invalid {
		return errCorruptHLL
	}
	c.R.Int(int64(hllEstimate(&h)))
	return nil
}

func cmdPFMerge(c *Ctx, args [][]byte) error {
	regs := make([]uint8, hllRegisters)
	dense := false
	// The destination is a source too.
	for _, k := range args[1:] {
		r, found, err := getHLL(c, k)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		if r.Val[4] == hllDense {
			dense = true
		}
		if !hllMerge(regs, []byte(r.Val)) {
			return errCorruptHLL
		}
	}
	r, found := c.Tx.Get(args[1])
	b := newHLL()
	if found {
		b = []byte(r.Val)
	}
	if dense {
		var ok bool
		if b, ok = sparseToDense(b); !ok {
			return errCorruptHLL
		}
	}
	// Registers are raised one by one in order, as Redis does, so that a
	// sparse result has Redis's opcodes.
	for i, v := range regs {
		if v == 0 {
			continue
		}
		if b[4] == hllDense {
			denseSet(b[hllHdrSize:], i, v)
		} else {
			sparseSet(&b, i, v)
		}
	}
	hllInvalidate(b)
	c.R.OK()
	return c.Tx.PutString(args[1], r.Exp, string(b))
}
