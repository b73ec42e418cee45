package resp

// Shards answer the proxy in RESP3 with one extension: a null array is written *-1 (as in
// RESP2) and a null bulk string _, so that the proxy, which does not decode replies, can
// still give a RESP2 client Redis's two different nulls. The proxy turns such a reply into
// what Redis 7.0 sends the client: ToRESP3 for RESP3 clients (only *-1 changes), ToRESP2
// for RESP2 clients. A RESP2 reply is left as it is by both, so a proxy can serve shards
// of either kind.

// Flatten says how a command's RESP3 reply is reshaped for a RESP2 client beyond the
// type-by-type downgrade. Redis 7 decides this per command: commands returning
// member/score (or field/value) pairs nest each pair in an array of two for RESP3 clients
// and send one flat array to RESP2 clients.
type Flatten uint8

const (
	// FlattenNone: the RESP2 reply has the RESP3 reply's shape.
	FlattenNone Flatten = iota
	// FlattenPairs: a top-level array whose elements are all arrays is spliced into one
	// flat array (ZRANGE … WITHSCORES, HRANDFIELD … WITHVALUES, ZPOPMIN with a count).
	// Any other reply (no scores asked for, a single ZPOPMIN pair, an error) is unchanged.
	FlattenPairs
)

// ToRESP2 appends raw, one complete and valid reply (as ReplyReader returns it) from a
// RESP3 shard, converted to exactly what Redis 7.0 sends a RESP2 client:
//
//   - maps become flat arrays of keys and values, sets (and pushes) arrays;
//   - doubles and big numbers become bulk strings of the same text (",inf" is "$3 inf");
//   - verbatim strings become bulk strings without their "txt:" prefix;
//   - booleans become the integers 1 and 0, blob errors simple errors;
//   - the null _ becomes $-1, and *-1 stays *-1;
//   - attributes are dropped, leaving the value they annotate;
//   - with FlattenPairs, the pairs of a pair-returning command are flattened (see Flatten).
//
// Simple strings, errors, integers, bulk strings and arrays are copied, at every nesting
// level, and a reply that needs no change is copied whole: a RESP2 reply converts to
// itself. ToRESP2 does not allocate beyond growing dst. If raw is malformed, the
// undecodable rest is copied unchanged.
func ToRESP2(dst, raw []byte, f Flatten) []byte {
	if len(raw) == 0 {
		return dst
	}
	switch raw[0] {
	case '+', '-', ':', '$':
		// Scalars of RESP2 (the null bulk string included): nothing to convert,
		// and the most common replies.
		return append(dst, raw...)
	case '*':
		if f == FlattenPairs {
			if out, ok := flattenPairs(dst, raw); ok {
				return out
			}
		}
	}
	return toRESP2(dst, raw)
}

// toRESP2 converts the sequence of values in raw element by element. Every header
// except a map's keeps its count (an attribute is not counted by the aggregate holding
// it), so one linear pass over the headers suffices; unchanged runs are copied in one
// append.
func toRESP2(dst, raw []byte) []byte {
	pos, copied := 0, 0
	for pos < len(raw) {
		e, err := readElem(raw, pos)
		if err != nil {
			break
		}
		next := e.end
		switch Kind(e.typ) {
		case KindSimple, KindError, KindInt, KindBulk, KindArray:
			pos = next
			continue
		}
		dst = append(dst, raw[copied:pos]...)
		switch Kind(e.typ) {
		case KindNull:
			dst = append(dst, "$-1\r\n"...)
		case KindDouble, KindBigNum:
			dst = AppendBulk(dst, e.str)
		case KindVerbatim:
			dst = AppendBulk(dst, e.str[4:])
		case KindBool:
			dst = AppendInt(dst, e.n)
		case KindBlobError:
			dst = appendLine(dst, '-', e.str)
		case KindMap:
			dst = appendHeader(dst, '*', int(2*e.n))
		case KindSet, KindPush:
			dst = appendHeader(dst, '*', int(e.n))
		case KindAttr:
			for i := int64(0); i < 2*e.n; i++ {
				if next, err = skipValue(raw, next, 1); err != nil {
					return append(dst, raw[pos:]...)
				}
			}
		}
		pos, copied = next, next
	}
	return append(dst, raw[copied:]...)
}

// flattenPairs writes the array in raw as one array of its elements' elements, converted,
// if every element is a non-null array. It reports false (and writes nothing) otherwise.
func flattenPairs(dst, raw []byte) ([]byte, bool) {
	e, err := readElem(raw, 0)
	if err != nil || e.null || e.n == 0 {
		return dst, false
	}
	total := int64(0)
	pos := e.end
	for i := int64(0); i < e.n; i++ {
		c, err := readElem(raw, pos)
		if err != nil || Kind(c.typ) != KindArray || c.null {
			return dst, false
		}
		total += c.n
		if pos, err = skipValue(raw, pos, 1); err != nil {
			return dst, false
		}
	}
	if pos != len(raw) {
		return dst, false
	}
	dst = appendHeader(dst, '*', int(total))
	pos = e.end
	for i := int64(0); i < e.n; i++ {
		c, _ := readElem(raw, pos)
		end, _ := skipValue(raw, pos, 1)
		dst = toRESP2(dst, raw[c.end:end])
		pos = end
	}
	return dst, true
}

// isRESP3Type reports whether a reply element of type typ needs converting for a RESP2
// client: every type but RESP2's five.
func isRESP3Type(typ byte) bool {
	switch Kind(typ) {
	case KindSimple, KindError, KindInt, KindBulk, KindArray:
		return false
	}
	return true
}
