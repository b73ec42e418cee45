// Package resp implements the Redis serialization protocol (RESP2 and RESP3) for both
// sides of Shardis: encoding replies to clients, reading replies from shards, bounding what
// clients may send, and the command table that the proxy routes by. It imports only the
// standard library.
//
// Encoders follow the append style of strconv: each AppendX appends to dst and returns the
// extended slice, allocating only when dst lacks capacity, so a connection can reuse one
// output buffer for its whole life.
package resp

import (
	"math"
	"strconv"
)

// Protocol versions as negotiated by HELLO. A connection starts at RESP2.
const (
	RESP2 = 2
	RESP3 = 3
)

// AppendSimple appends a simple string (+s). s must not contain CR or LF; callers pass
// constants such as "OK" or "PONG".
func AppendSimple(dst []byte, s string) []byte {
	dst = append(dst, '+')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendError appends an error reply (-msg). CR and LF in msg are replaced by spaces, as
// Redis does, so that text derived from client input cannot break the framing.
func AppendError(dst []byte, msg string) []byte {
	dst = append(dst, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

// AppendInt appends an integer reply (:n).
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendBulk appends a bulk string ($len payload). A nil b is encoded as an empty bulk
// string, not as null; use AppendNull for null.
func AppendBulk(dst []byte, b []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkString is AppendBulk for a string, avoiding a conversion.
func AppendBulkString(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendArrayHeader appends an array header (*n); the n elements follow.
func AppendArrayHeader(dst []byte, n int) []byte {
	return appendHeader(dst, '*', n)
}

func appendHeader(dst []byte, kind byte, n int) []byte {
	dst = append(dst, kind)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// AppendNull appends the null reply: the null bulk string ($-1) for RESP2, _ for RESP3.
func AppendNull(dst []byte, proto int) []byte {
	if proto >= RESP3 {
		return append(dst, '_', '\r', '\n')
	}
	return append(dst, '$', '-', '1', '\r', '\n')
}

// AppendNullArray appends a null array: *-1 for RESP2 (what e.g. a timed-out BLPOP
// returns), _ for RESP3.
func AppendNullArray(dst []byte, proto int) []byte {
	if proto >= RESP3 {
		return append(dst, '_', '\r', '\n')
	}
	return append(dst, '*', '-', '1', '\r', '\n')
}

// AppendMapHeader appends a map header for n key/value pairs: %n for RESP3 or, as Redis
// downgrades maps, a flat array of 2n elements for RESP2.
func AppendMapHeader(dst []byte, n int, proto int) []byte {
	if proto >= RESP3 {
		return appendHeader(dst, '%', n)
	}
	return appendHeader(dst, '*', 2*n)
}

// AppendSetHeader appends a set header: ~n for RESP3, *n for RESP2.
func AppendSetHeader(dst []byte, n int, proto int) []byte {
	if proto >= RESP3 {
		return appendHeader(dst, '~', n)
	}
	return appendHeader(dst, '*', n)
}

// AppendDouble appends a double the way Redis 7.0's addReplyDouble does (ZSCORE and other
// score replies): printf's %.17g, with infinities as "inf"/"-inf" and NaN as "nan". RESP3
// gets a double (,1.1000000000000001); RESP2 gets the same text as a bulk string.
//
// INCRBYFLOAT does not use this: its reply is a bulk string in both protocols, computed
// and formatted in long double by the shard.
func AppendDouble(dst []byte, f float64, proto int) []byte {
	var buf [32]byte
	txt := appendDoubleText(buf[:0], f)
	if proto >= RESP3 {
		dst = append(dst, ',')
		dst = append(dst, txt...)
		return append(dst, '\r', '\n')
	}
	return AppendBulk(dst, txt)
}

// appendDoubleText formats f as C's printf("%.17g") does on glibc, which is what Redis
// 7.0 sends for scores.
func appendDoubleText(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// AppendBool appends a boolean: #t/#f for RESP3, :1/:0 for RESP2.
func AppendBool(dst []byte, b bool, proto int) []byte {
	if proto >= RESP3 {
		if b {
			return append(dst, '#', 't', '\r', '\n')
		}
		return append(dst, '#', 'f', '\r', '\n')
	}
	if b {
		return append(dst, ':', '1', '\r', '\n')
	}
	return append(dst, ':', '0', '\r', '\n')
}

// AppendVerbatim appends a verbatim string: for RESP3 "=len\r\nfmt:text\r\n" where format
// is a three-letter type such as "txt" (used by INFO, CLIENT INFO, LOLWUT); for RESP2 a
// plain bulk string of text.
func AppendVerbatim(dst []byte, format, text string, proto int) []byte {
	if proto < RESP3 {
		return AppendBulkString(dst, text)
	}
	dst = append(dst, '=')
	dst = strconv.AppendInt(dst, int64(len(format)+1+len(text)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, format...)
	dst = append(dst, ':')
	dst = append(dst, text...)
	return append(dst, '\r', '\n')
}

// AppendCommand appends a command as an array of bulk strings, the only form Redis
// servers (and Shardis shards) accept from clients.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = AppendArrayHeader(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}
