package exec

import (
	"math"
	"math/big"
	"strconv"
)

// parseInt parses b exactly as Redis's string2ll: an optional '-', then
// either a lone "0" or a digit 1-9 followed by digits, no spaces, no '+',
// no leading zeros, and the result must fit in int64.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true // v == 1<<63 wraps to MinInt64, as intended
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// formatInt is strconv.FormatInt, named for symmetry with parseInt.
func formatInt(v int64) string { return strconv.FormatInt(v, 10) }

// Redis does INCRBYFLOAT in C long double, which on x86-64 is the 80-bit
// x87 format: a 64-bit significand and a 15-bit exponent. ldPrec and the
// exponent bounds below reproduce it with math/big so that results such as
// 0.1+0.2 come out as "0.3" (as in Redis) rather than float64's
// 0.30000000000000004.
const (
	ldPrec = 64
	// ldMaxExp: a finite long double is below 2^16384 (big.Float exponent
	// convention: x = mant × 2^exp with 0.5 <= mant < 1).
	ldMaxExp = 16384
	// ldMinExp: below the smallest denormal, 2^-16445, strtold underflows
	// to zero and reports ERANGE, which Redis treats as "not a float".
	ldMinExp = -16444
	// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: longer inputs
	// are rejected outright.
	maxLongDoubleChars = 5 * 1024
)

// ldValue is a long double: a finite big.Float with ldPrec bits, or ±Inf.
type ldValue struct {
	f   *big.Float
	inf int // +1 or -1 for ±Inf, 0 when finite
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f')
}

func hexVal(c byte) int64 {
	if c <= '9' {
		return int64(c - '0')
	}
	return int64(lower(c)-'a') + 10
}

// parseLongDouble parses b as Redis's string2ld does (strtold of the whole
// string, no leading space, no NaN, no overflow, no underflow to zero),
// returning false where Redis answers "value is not a valid float".
func parseLongDouble(b []byte) (ldValue, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars || isCSpace(b[0]) {
		return ldValue{}, false
	}
	neg := false
	s := b
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if eqFold(s, "inf") || eqFold(s, "infinity") {
		if neg {
			return ldValue{inf: -1}, true
		}
		return ldValue{inf: 1}, true
	}
	var f *big.Float
	var ok bool
	if len(s) > 2 && s[0] == '0' && lower(s[1]) == 'x' {
		f, ok = parseHexFloat(s[2:])
	} else {
		f, ok = parseDecFloat(s)
	}
	if !ok || f.IsInf() {
		return ldValue{}, false
	}
	if f.Sign() != 0 {
		e := f.MantExp(nil)
		if e > ldMaxExp || e < ldMinExp {
			return ldValue{}, false
		}
	}
	if neg {
		f.Neg(f)
	}
	return ldValue{f: f}, true
}

// scanExp parses an exponent ([+-]digits), saturating at a magnitude far
// outside the long double range.
func scanExp(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var e int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if e < 1<<40 {
			e = e*10 + int64(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

// expSuffix parses what follows a mantissa: nothing (exponent 0), or the
// exponent marker ('e' for decimal, 'p' for hex, either case) and an
// exponent, which must end s.
func expSuffix(s []byte, marker byte) (int64, bool) {
	if len(s) == 0 {
		return 0, true
	}
	if lower(s[0]) != marker {
		return 0, false
	}
	return scanExp(s[1:])
}

// parseDecFloat parses digits[.digits][e[+-]digits] (at least one digit in
// the mantissa) and rounds the exact value once to ldPrec bits.
func parseDecFloat(s []byte) (*big.Float, bool) {
	var mant big.Int
	digits := make([]byte, 0, len(s))
	i, frac, seen := 0, 0, false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits = append(digits, s[i])
		seen = true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits = append(digits, s[i])
			frac++
			seen = true
		}
	}
	if !seen {
		return nil, false
	}
	exp, ok := expSuffix(s[i:], 'e')
	if !ok {
		return nil, false
	}
	exp -= int64(frac)
	// Strip leading zeros to find the order of magnitude.
	j := 0
	for j < len(digits) && digits[j] == '0' {
		j++
	}
	digits = digits[j:]
	f := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	if len(digits) == 0 {
		return f, true // zero
	}
	mag := exp + int64(len(digits)) // value is in [10^(mag-1), 10^mag)
	if mag > 4934 {
		return f.SetInf(false), true // certainly overflows: rejected by caller
	}
	if mag < -4952 {
		return nil, false // certainly underflows to zero
	}
	mant.SetString(string(digits), 10)
	if exp >= 0 {
		mant.Mul(&mant, new(big.Int).Exp(big.NewInt(10), big.NewInt(exp), nil))
		f.SetInt(&mant)
	} else {
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(-exp), nil)
		num := new(big.Float).SetInt(&mant)
		d := new(big.Float).SetInt(den)
		f.Quo(num, d) // exact operands, one rounding
	}
	return f, true
}

// parseHexFloat parses the part after "0x": hexdigits[.hexdigits][p[+-]digits].
func parseHexFloat(s []byte) (*big.Float, bool) {
	var mant big.Int
	i, frac, seen := 0, 0, false
	sixteen := big.NewInt(16)
	for ; i < len(s) && isHex(s[i]); i++ {
		mant.Mul(&mant, sixteen)
		mant.Add(&mant, big.NewInt(hexVal(s[i])))
		seen = true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && isHex(s[i]); i++ {
			mant.Mul(&mant, sixteen)
			mant.Add(&mant, big.NewInt(hexVal(s[i])))
			frac++
			seen = true
		}
	}
	if !seen {
		return nil, false
	}
	exp, ok := expSuffix(s[i:], 'p')
	if !ok {
		return nil, false
	}
	exp -= 4 * int64(frac)
	f := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	if mant.Sign() == 0 {
		return f, true
	}
	mag := exp + int64(mant.BitLen())
	if mag > ldMaxExp+1 {
		return f.SetInf(false), true
	}
	if mag < ldMinExp-1 {
		return nil, false
	}
	f.SetInt(&mant)
	return f.SetMantExp(f, int(exp)), true
}

// addLongDouble returns a+b rounded to long double, or false when the
// result is NaN or infinite (Redis refuses to store those).
func addLongDouble(a, b ldValue) (*big.Float, bool) {
	if a.inf != 0 || b.inf != 0 {
		return nil, false
	}
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	z.Add(a.f, b.f)
	if z.Sign() != 0 && z.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	return z, true
}

// formatLongDouble formats f as Redis's ld2string in LD_STR_HUMAN mode:
// "%.17Lf", then trailing zeros (and a trailing '.') removed, and "-0"
// written as "0".
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	s = trimDot(s)
	if s == "-0" {
		return "0"
	}
	return s
}

func trimDot(s string) string {
	if len(s) > 0 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}

// newLongDouble returns a long double zero.
func newLongDouble() *big.Float {
	return new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
}

// ParseInt parses b as Redis's string2ll does, for callers outside exec
// (the shard's own commands) that must accept exactly what Redis accepts.
func ParseInt(b []byte) (int64, bool) { return parseInt(b) }

// lower is the ASCII lower case of c.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
