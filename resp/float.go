package resp

import (
	"bytes"
	"math/big"
	"strings"
)

// longDoublePrec is the mantissa width of the x87 80-bit long double that Redis on
// amd64 uses for INCRBYFLOAT and HINCRBYFLOAT.
const longDoublePrec = 64

// IncrByFloat computes INCRBYFLOAT exactly as Redis 7.0 on amd64 does: both operands are
// parsed as long doubles, added in long double precision and printed with "%.17Lf" with
// trailing zeros (and a bare '.') removed. Emulating the 64-bit mantissa with math/big is
// what makes results such as 0.1+0.2 come out as "0.3", as on Redis, rather than
// float64's 0.30000000000000004.
//
// cur is the stored value (nil for a missing key, which counts as 0). On failure errText
// is the Redis error to reply with (ErrNotFloat or ErrNaNOrInf).
func IncrByFloat(cur, incr []byte) (result string, errText string) {
	a := new(big.Float).SetPrec(longDoublePrec)
	if cur != nil {
		if !parseLongDouble(a, cur) {
			return "", ErrNotFloat
		}
	}
	b := new(big.Float).SetPrec(longDoublePrec)
	if !parseLongDouble(b, incr) {
		return "", ErrNotFloat
	}
	if a.IsInf() || b.IsInf() {
		return "", ErrNaNOrInf
	}
	sum := new(big.Float).SetPrec(longDoublePrec).Add(a, b)
	// The long double exponent range ends near 1.19e4932.
	if exp := sum.MantExp(nil); exp > 16384 {
		return "", ErrNaNOrInf
	}
	s := sum.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s, ""
}

// parseLongDouble parses s as Redis's string2ld does: no surrounding spaces, no NaN,
// nothing after the number.
func parseLongDouble(z *big.Float, s []byte) bool {
	if len(s) == 0 || len(s) > 5*1024 || isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false
	}
	if bytes.ContainsAny(s, "_") || bytes.EqualFold(bytes.TrimLeft(s, "+-"), []byte("nan")) {
		return false
	}
	_, _, err := z.Parse(string(s), 0)
	return err == nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
