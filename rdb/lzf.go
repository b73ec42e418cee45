package rdb

import "sync"

// LZF (liblzf, as Redis builds it) is a stream of runs: a control byte
// below 32 starts a literal run of that many plus one bytes; otherwise
// its top 3 bits are a back-reference length minus 2 (7: one more length
// byte follows, added) and its low 5 bits with the next byte are the
// distance back minus 1.
const (
	lzfHashLog = 16
	lzfMaxLit  = 1 << 5
	lzfMaxOff  = 1 << 13
	lzfMaxRef  = 1<<8 + 1<<3
)

// lzfDecompress expands in to exactly n bytes, as lzf_decompress; any
// other outcome is ErrFormat.
func lzfDecompress(in []byte, n uint64) ([]byte, error) {
	if n == 0 {
		// Redis compares lzf_decompress's result, 0 on any failure, with
		// the expected size: for an empty string anything passes.
		return []byte{}, nil
	}
	if n > uint64(len(in))*(lzfMaxRef+2) { // the best ratio a stream can have
		return nil, ErrFormat
	}
	out := make([]byte, 0, n)
	for ip := 0; ip < len(in); {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 {
			l := ctrl + 1
			if ip+l > len(in) || uint64(len(out)+l) > n {
				return nil, ErrFormat
			}
			out = append(out, in[ip:ip+l]...)
			ip += l
			continue
		}
		l := ctrl >> 5
		if l == 7 {
			if ip >= len(in) {
				return nil, ErrFormat
			}
			l += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return nil, ErrFormat
		}
		ref := len(out) - (ctrl&0x1F)<<8 - 1 - int(in[ip])
		ip++
		l += 2
		if ref < 0 || uint64(len(out)+l) > n {
			return nil, ErrFormat
		}
		for i := range l { // byte by byte: the source may overlap the copy
			out = append(out, out[ref+i])
		}
	}
	if uint64(len(out)) != n {
		return nil, ErrFormat
	}
	return out, nil
}

// lzfTables recycles compression hash tables (256 KiB each).
var lzfTables = sync.Pool{New: func() any { return new([1 << lzfHashLog]int32) }}

// lzfCompress compresses in into at most outLen bytes, or returns nil if
// it does not fit, producing what Redis 7.0's lzf_compress produces: the
// same hash (VERY_FAST), match search, limits and points at which it
// gives up. Redis leaves its hash table uninitialised on the stack; a
// stale pointer there only counts if it lands inside the current input,
// before the current byte, on a real match, so Redis's output is this
// one except in that rare case.
func lzfCompress(in []byte, outLen int) []byte {
	inLen := len(in)
	if inLen == 0 || outLen <= 0 {
		return nil
	}
	htab := lzfTables.Get().(*[1 << lzfHashLog]int32)
	defer lzfTables.Put(htab)
	clear(htab[:])
	idx := func(h uint32) uint32 { return ((h >> (3*8 - lzfHashLog)) - h*5) & (1<<lzfHashLog - 1) }

	// Redis's buffer has one byte past outLen, which a run header may
	// transiently use; the slack covers it.
	out := make([]byte, outLen+8)
	op, ip, lit := 1, 0, 0 // op 1: room for the first run's header
	var hval uint32
	if inLen >= 2 {
		hval = uint32(in[0])<<8 | uint32(in[1])
	}
	for ip < inLen-2 {
		hval = hval<<8 | uint32(in[ip+2])
		slot := idx(hval)
		ref := int(htab[slot])
		htab[slot] = int32(ip)
		off := ip - ref - 1
		if ref > 0 && off < lzfMaxOff &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			l := 2
			maxlen := min(inLen-ip-l, lzfMaxRef)
			out[op-lit-1] = byte(lit - 1) // end the literal run
			if lit == 0 {
				op-- // no run to end: drop its header
			}
			if op+3+1 >= outLen {
				return nil
			}
			mismatch := false
			if maxlen > 16 {
				// liblzf compares 16 bytes unrolled before its loop, so
				// near the end of the input a match can run past maxlen.
				for range 16 {
					l++
					if in[ref+l] != in[ip+l] {
						mismatch = true
						break
					}
				}
			}
			for !mismatch {
				l++
				mismatch = l >= maxlen || in[ref+l] != in[ip+l]
			}
			l -= 2
			ip++
			if l < 7 {
				out[op] = byte(off>>8) + byte(l<<5)
				op++
			} else {
				out[op] = byte(off>>8) + 7<<5
				out[op+1] = byte(l - 7)
				op += 2
			}
			out[op] = byte(off)
			op += 2 // the reference's last byte, and the next run's header
			lit = 0
			ip += l + 1
			if ip >= inLen-2 {
				break
			}
			// Hash the last two positions of the match (VERY_FAST).
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			for range 2 {
				hval = hval<<8 | uint32(in[ip+2])
				htab[idx(hval)] = int32(ip)
				ip++
			}
			continue
		}
		if op >= outLen {
			return nil
		}
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	if op+3 > outLen {
		return nil
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return out[:op]
}
