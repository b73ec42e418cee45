package resp

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Kind is the type of a RESP value. Its values are the protocol's type bytes, so a Kind
// can be compared with the first byte of an encoded reply.
type Kind byte

// The RESP2 and RESP3 value kinds.
const (
	KindSimple    Kind = '+'
	KindError     Kind = '-'
	KindInt       Kind = ':'
	KindBulk      Kind = '$'
	KindArray     Kind = '*'
	KindNull      Kind = '_'
	KindDouble    Kind = ','
	KindBool      Kind = '#'
	KindBigNum    Kind = '('
	KindVerbatim  Kind = '='
	KindMap       Kind = '%'
	KindSet       Kind = '~'
	KindPush      Kind = '>'
	KindAttr      Kind = '|'
	KindBlobError Kind = '!'
)

// MaxDepth bounds how deeply aggregates may nest in a reply. Redis itself never nests
// more than a handful of levels; the bound keeps recursive decoding safe from hostile
// input.
const MaxDepth = 64

// Value is a decoded RESP value.
//
//   - Str holds the text of simple strings, errors, bulk strings, blob errors, doubles and
//     big numbers exactly as received, and the whole payload of a verbatim string
//     including its "txt:" prefix (see VerbatimText).
//   - Int holds integers, and 1 or 0 for booleans.
//   - Elems holds the elements of arrays, sets and pushes; for maps and attributes it holds
//     keys and values alternately. An attribute's last element is the value it annotates.
//   - Null is set for RESP3 null (KindNull), the RESP2 null bulk string (KindBulk) and the
//     RESP2 null array (KindArray).
//
// Values returned by ParseValue alias the input slice.
type Value struct {
	Kind  Kind
	Null  bool
	Str   []byte
	Int   int64
	Elems []Value
}

// VerbatimText returns the text of a verbatim string without its three-letter format and
// colon; for other kinds it returns Str.
func (v Value) VerbatimText() []byte {
	if v.Kind == KindVerbatim && len(v.Str) >= 4 {
		return v.Str[4:]
	}
	return v.Str
}

// ErrIncomplete is returned by ParseValue when its input is a valid prefix of a reply but
// ends before the reply does; the caller should read more and try again.
var ErrIncomplete = errors.New("resp: incomplete reply")

// ErrReplyTooLarge is returned by ReplyReader.Next when a reply exceeds the reader's limit.
// The stream cannot be resynchronised afterwards; the connection should be closed.
var ErrReplyTooLarge = errors.New("resp: reply exceeds size limit")

// ProtocolError reports malformed RESP input. Offset is the byte offset of the problem
// from the start of the reply (for ParseValue) or of the stream (for ReplyReader).
type ProtocolError struct {
	Offset int64
	Msg    string
}

func (e *ProtocolError) Error() string {
	return "resp: protocol error at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

func protoErr(off int, msg string) error {
	return &ProtocolError{Offset: int64(off), Msg: msg}
}

// elem is one decoded element header: for scalars the whole element, for aggregates just
// the header line.
type elem struct {
	typ  byte
	null bool
	str  []byte // payload of line and blob types
	n    int64  // integer, bool (1/0) or aggregate count as declared (pairs for maps)
	end  int    // offset just past what was decoded
}

// maxNumLine is the longest numeric line accepted: "-9223372036854775808" is 20 bytes.
const maxNumLine = 20

// readElem decodes the element starting at b[pos]. It returns ErrIncomplete when b ends
// before the element (or, for aggregates, its header) does and what is there is valid.
func readElem(b []byte, pos int) (e elem, err error) {
	if pos >= len(b) {
		return e, ErrIncomplete
	}
	e.typ = b[pos]
	start := pos + 1
	switch Kind(e.typ) {
	case KindSimple, KindError:
		line, end, err := readLine(b, start)
		if err != nil {
			return e, err
		}
		e.str, e.end = line, end
		return e, nil
	case KindInt:
		e.n, e.end, err = readNum(b, start, false)
		return e, err
	case KindNull:
		line, end, err := readLine(b, start)
		if err != nil {
			return e, err
		}
		if len(line) != 0 {
			return e, protoErr(start, "invalid null")
		}
		e.null, e.end = true, end
		return e, nil
	case KindBool:
		rest := b[start:]
		if len(rest) >= 3 {
			if (rest[0] == 't' || rest[0] == 'f') && rest[1] == '\r' && rest[2] == '\n' {
				if rest[0] == 't' {
					e.n = 1
				}
				e.end = start + 3
				return e, nil
			}
		} else if len(rest) == 0 || ((rest[0] == 't' || rest[0] == 'f') && (len(rest) == 1 || rest[1] == '\r')) {
			return e, ErrIncomplete
		}
		return e, protoErr(start, "invalid boolean")
	case KindDouble:
		line, end, err := readLine(b, start)
		if err == ErrIncomplete {
			if len(b)-start > 64 {
				return e, protoErr(start, "invalid double")
			}
			return e, err
		}
		if err != nil {
			return e, err
		}
		if !validDouble(line) {
			return e, protoErr(start, "invalid double")
		}
		e.str, e.end = line, end
		return e, nil
	case KindBigNum:
		line, end, err := readLine(b, start)
		partial := err == ErrIncomplete
		if partial {
			line = b[start:]
		} else if err != nil {
			return e, err
		}
		if !validBigNum(line, partial) {
			return e, protoErr(start, "invalid big number")
		}
		if partial {
			return e, ErrIncomplete
		}
		e.str, e.end = line, end
		return e, nil
	case KindBulk, KindVerbatim, KindBlobError:
		n, end, err := readNum(b, start, true)
		if err != nil {
			return e, err
		}
		if n < 0 {
			if n != -1 || Kind(e.typ) != KindBulk {
				return e, protoErr(start, "invalid bulk length")
			}
			e.null, e.n, e.end = true, -1, end
			return e, nil
		}
		if n > int64(len(b)-end) || len(b)-end-int(n) < 2 {
			if Kind(e.typ) == KindVerbatim && n < 4 {
				return e, protoErr(start, "invalid verbatim length")
			}
			return e, ErrIncomplete
		}
		stop := end + int(n)
		if b[stop] != '\r' || b[stop+1] != '\n' {
			return e, protoErr(stop, "bulk payload not followed by CRLF")
		}
		e.str, e.n, e.end = b[end:stop], n, stop+2
		if Kind(e.typ) == KindVerbatim && (n < 4 || e.str[3] != ':') {
			return e, protoErr(end, "invalid verbatim string")
		}
		return e, nil
	case KindArray, KindMap, KindSet, KindPush, KindAttr:
		n, end, err := readNum(b, start, true)
		if err != nil {
			return e, err
		}
		if n < 0 {
			if n != -1 || Kind(e.typ) != KindArray {
				return e, protoErr(start, "invalid aggregate length")
			}
			e.null = true
		}
		e.n, e.end = n, end
		return e, nil
	}
	return e, protoErr(pos, "invalid type byte "+strconv.Quote(string(b[pos:pos+1])))
}

// readLine returns the line starting at b[start] up to (not including) CRLF and the offset
// after the CRLF. A bare CR or LF inside the line is a protocol error.
func readLine(b []byte, start int) (line []byte, end int, err error) {
	i := bytes.IndexByte(b[start:], '\n')
	if i < 0 {
		if j := bytes.IndexByte(b[start:], '\r'); j >= 0 && start+j != len(b)-1 {
			return nil, 0, protoErr(start+j, "CR not followed by LF")
		}
		return nil, 0, ErrIncomplete
	}
	if i == 0 || b[start+i-1] != '\r' {
		return nil, 0, protoErr(start+i, "LF not preceded by CR")
	}
	line = b[start : start+i-1]
	if j := bytes.IndexByte(line, '\r'); j >= 0 {
		return nil, 0, protoErr(start+j, "CR not followed by LF")
	}
	return line, start + i + 1, nil
}

// readNum parses a signed decimal line at b[start]. Partial input is validated so that
// garbage is reported without waiting for a CRLF that may never come.
func readNum(b []byte, start int, isLen bool) (n int64, end int, err error) {
	msg := "invalid integer"
	if isLen {
		msg = "invalid length"
	}
	i := start
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	digits := i
	var u uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		if i-start >= maxNumLine {
			return 0, 0, protoErr(start, msg)
		}
		d := uint64(c - '0')
		if u > (1<<63)/10 || u*10 > (1<<63)-d {
			return 0, 0, protoErr(start, msg)
		}
		u = u*10 + d
	}
	if i == len(b) {
		return 0, 0, ErrIncomplete
	}
	if i == digits || b[i] != '\r' {
		return 0, 0, protoErr(i, msg)
	}
	if i+1 == len(b) {
		return 0, 0, ErrIncomplete
	}
	if b[i+1] != '\n' {
		return 0, 0, protoErr(i+1, msg)
	}
	if !neg && u > 1<<63-1 {
		return 0, 0, protoErr(start, msg)
	}
	if neg {
		n = -int64(u)
	} else {
		n = int64(u)
	}
	return n, i + 2, nil
}

// validDouble accepts what Redis and the RESP3 specification produce: an optional sign,
// digits with an optional fraction and exponent, "inf" and "nan" (any case).
func validDouble(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i++
	}
	// Compared without bytes.ToLower, which allocates: every double of every reply
	// passes here.
	if r := s[i:]; bytes.EqualFold(r, []byte("inf")) || bytes.EqualFold(r, []byte("nan")) || bytes.EqualFold(r, []byte("infinity")) {
		return true
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func validBigNum(s []byte, partial bool) bool {
	i := 0
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		i++
	}
	if i == len(s) {
		return partial
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return partial && i == len(s)-1 && s[i] == '\r'
		}
	}
	return true
}

// ParseValue decodes the one complete reply at the start of raw and returns it with the
// number of bytes it occupied. It returns ErrIncomplete when raw is a valid but
// unfinished prefix, and a *ProtocolError for malformed input. The returned Value aliases
// raw. Declared lengths are never trusted for allocation: element slices grow with the
// input actually present.
func ParseValue(raw []byte) (v Value, n int, err error) {
	v, n, err = parseValue(raw, 0, 0)
	return v, n, err
}

func parseValue(b []byte, pos, depth int) (Value, int, error) {
	e, err := readElem(b, pos)
	if err != nil {
		return Value{}, 0, err
	}
	v := Value{Kind: Kind(e.typ), Null: e.null}
	switch v.Kind {
	case KindInt, KindBool:
		v.Int = e.n
		return v, e.end, nil
	case KindArray, KindMap, KindSet, KindPush, KindAttr:
	default:
		v.Str = e.str
		return v, e.end, nil
	}
	if e.null {
		return v, e.end, nil
	}
	// Every element takes at least 3 bytes ("_\r\n"), so a count larger than the
	// remaining input cannot be satisfied; clamping it (rather than trusting it) keeps
	// the arithmetic and the allocation bounded while the loop still ends in
	// ErrIncomplete or a protocol error.
	rest := len(b) - e.end
	count := e.n
	if count > int64(rest) {
		count = int64(rest) + 1
	} else {
		count = e.children()
	}
	if count > 0 && depth >= MaxDepth {
		return Value{}, 0, protoErr(pos, "aggregates nested too deeply")
	}
	pos = e.end
	if count > 0 {
		c := int(count)
		if c > rest/3+1 {
			c = rest/3 + 1
		}
		v.Elems = make([]Value, 0, c)
	}
	for i := int64(0); i < count; i++ {
		var ev Value
		ev, pos, err = parseValue(b, pos, depth+1)
		if err != nil {
			return Value{}, 0, err
		}
		v.Elems = append(v.Elems, ev)
	}
	return v, pos, nil
}

// AppendValue encodes v for a client speaking proto. For RESP2 clients it downgrades the
// RESP3 types the way Redis does: maps become flat arrays, sets and pushes arrays, nulls
// $-1 (a null array stays *-1), doubles, big numbers and verbatim strings (without their
// format prefix) bulk strings, booleans :1/:0, blob errors simple errors, and attributes
// are dropped in favour of the value they annotate. For RESP3 clients the RESP2 null bulk
// string and null array become _.
//
// Text of simple strings and errors is written with CR and LF replaced by spaces so a
// hand-built Value cannot break framing. A map or attribute with a dangling key has it
// dropped.
func AppendValue(dst []byte, v Value, proto int) []byte {
	r3 := proto >= RESP3
	switch v.Kind {
	case KindSimple:
		return appendLine(dst, '+', v.Str)
	case KindError:
		return appendLine(dst, '-', v.Str)
	case KindInt:
		return AppendInt(dst, v.Int)
	case KindBulk:
		if v.Null {
			return AppendNull(dst, proto)
		}
		return AppendBulk(dst, v.Str)
	case KindNull:
		return AppendNull(dst, proto)
	case KindDouble:
		if r3 {
			return appendLine(dst, ',', v.Str)
		}
		return AppendBulk(dst, v.Str)
	case KindBigNum:
		if r3 {
			return appendLine(dst, '(', v.Str)
		}
		return AppendBulk(dst, v.Str)
	case KindBool:
		return AppendBool(dst, v.Int != 0, proto)
	case KindVerbatim:
		if r3 && len(v.Str) >= 4 && v.Str[3] == ':' {
			return appendBlob(dst, '=', v.Str)
		}
		return AppendBulk(dst, v.VerbatimText())
	case KindBlobError:
		if r3 {
			return appendBlob(dst, '!', v.Str)
		}
		return appendLine(dst, '-', v.Str)
	case KindArray:
		if v.Null {
			return AppendNullArray(dst, proto)
		}
		return appendElems(appendHeader(dst, '*', len(v.Elems)), v.Elems, proto)
	case KindSet:
		return appendElems(AppendSetHeader(dst, len(v.Elems), proto), v.Elems, proto)
	case KindPush:
		if r3 {
			return appendElems(appendHeader(dst, '>', len(v.Elems)), v.Elems, proto)
		}
		return appendElems(appendHeader(dst, '*', len(v.Elems)), v.Elems, proto)
	case KindMap:
		pairs := len(v.Elems) / 2
		return appendElems(AppendMapHeader(dst, pairs, proto), v.Elems[:2*pairs], proto)
	case KindAttr:
		if len(v.Elems) == 0 {
			return AppendNull(dst, proto)
		}
		last := len(v.Elems) - 1
		if r3 {
			pairs := last / 2
			dst = appendElems(appendHeader(dst, '|', pairs), v.Elems[:2*pairs], proto)
		}
		return AppendValue(dst, v.Elems[last], proto)
	}
	return AppendNull(dst, proto)
}

func appendElems(dst []byte, elems []Value, proto int) []byte {
	for _, e := range elems {
		dst = AppendValue(dst, e, proto)
	}
	return dst
}

func appendLine(dst []byte, typ byte, s []byte) []byte {
	dst = append(dst, typ)
	for _, c := range s {
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

func appendBlob(dst []byte, typ byte, s []byte) []byte {
	dst = append(dst, typ)
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// ToRESP3 appends raw, one complete reply from a RESP2 peer, converted for a RESP3
// client: every $-1 and *-1 (at any nesting level) becomes _, everything else is copied
// byte for byte. Replies without a null take a fast path that only searches for "-1\r\n".
// If raw is malformed the undecodable rest is copied unchanged.
func ToRESP3(dst, raw []byte) []byte {
	if !bytes.Contains(raw, minusOne) {
		return append(dst, raw...)
	}
	pos, copied := 0, 0
	for pos < len(raw) {
		e, err := readElem(raw, pos)
		if err != nil {
			break
		}
		if e.null && (e.typ == '$' || e.typ == '*') {
			dst = append(dst, raw[copied:pos]...)
			dst = append(dst, '_', '\r', '\n')
			copied = e.end
		}
		pos = e.end
	}
	return append(dst, raw[copied:]...)
}

var minusOne = []byte("-1\r\n")

// DefaultMaxReply is the reply size limit NewReplyReader applies when given zero: the
// largest bulk string Redis accepts (512 MiB) plus room for its framing.
const DefaultMaxReply = 512<<20 + 4096

const (
	replyBufMin = 16 << 10 // initial and steady-state buffer size
	replyBufMax = 64 << 10 // a buffer larger than this is released once it has drained
)

// ReplyReader splits a stream of RESP replies (RESP2 or RESP3, as a Redis server or a
// Shardis shard sends them) into raw, validated replies without decoding them into
// Values, for forwarding to clients as they are.
//
// It reads into one buffer that grows to hold the largest reply seen so far (never beyond
// the limit) and is given back once that reply has been consumed, so an idle connection
// costs replyBufMin bytes. A ReplyReader is not safe for concurrent use.
type ReplyReader struct {
	rd       io.Reader
	max      int
	buf      []byte // buf[r:w] is unread data
	r, w     int
	consumed int64 // stream offset of buf[0], for error offsets
	rerr     error // read error, reported once buffered replies are consumed
	fatal    error // protocol error or ErrReplyTooLarge: the stream is unusable

	// Resumable scan state for the reply starting at buf[r]; positions are relative to r
	// so that compaction does not invalidate them.
	scanPos int
	depth   int
	stack   [MaxDepth + 1]int64 // elements still expected at each open nesting level
	r3      bool                // the reply being scanned has a RESP3-only type so far
	last3   bool                // the reply Next returned last has one (see HasRESP3)
}

// NewReplyReader returns a reader of the replies on r. Replies longer than maxReply bytes
// make Next fail with ErrReplyTooLarge; zero or negative means DefaultMaxReply.
func NewReplyReader(r io.Reader, maxReply int) *ReplyReader {
	if maxReply <= 0 {
		maxReply = DefaultMaxReply
	}
	return &ReplyReader{rd: r, max: maxReply}
}

// Next returns the raw bytes of the next complete reply, nested aggregates included. The
// slice points into the reader's buffer and is valid only until the next call. At a clean
// end of stream Next returns io.EOF; a stream that ends inside a reply gives
// io.ErrUnexpectedEOF. A read error is returned once the replies received before it have
// been returned. After a protocol error or ErrReplyTooLarge the framing is lost: the
// reader keeps returning that error and the connection should be closed.
func (rr *ReplyReader) Next() ([]byte, error) {
	if rr.fatal != nil {
		return nil, rr.fatal
	}
	if rr.r == rr.w {
		rr.consumed += int64(rr.r)
		rr.r, rr.w = 0, 0
		if cap(rr.buf) > replyBufMax {
			rr.buf = nil
		}
	}
	for {
		need, err := rr.scan()
		if err == nil {
			out := rr.buf[rr.r : rr.r+rr.scanPos]
			rr.r += rr.scanPos
			rr.scanPos, rr.depth = 0, 0
			rr.last3, rr.r3 = rr.r3, false
			return out, nil
		}
		if err != ErrIncomplete {
			if pe, ok := err.(*ProtocolError); ok {
				pe.Offset += rr.consumed + int64(rr.r)
			}
			rr.fatal = err
			return nil, err
		}
		if rr.rerr != nil {
			if rr.rerr == io.EOF && rr.r != rr.w {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, rr.rerr
		}
		rr.fill(need)
	}
}

// HasRESP3 reports whether the reply Next returned last contains, at any nesting level,
// a type that RESP2 does not have (map, set, double, null, …). The reader learns it while
// framing the reply, so a proxy can pass a reply without one to a RESP2 client as it is
// (unless the command's pairs are flattened, see Flatten) instead of walking it again in
// ToRESP2.
func (rr *ReplyReader) HasRESP3() bool { return rr.last3 }

// scan advances the scan state over the reply at buf[r:w]. On ErrIncomplete it returns
// how many bytes (counted from r) the reply needs at least.
func (rr *ReplyReader) scan() (need int, err error) {
	b := rr.buf[rr.r:rr.w]
	for {
		e, err := readElem(b, rr.scanPos)
		if err != nil {
			if err == ErrIncomplete {
				need = len(b) + 1
				if e.typ == '$' || e.typ == '=' || e.typ == '!' {
					// A complete bulk header tells how much payload is coming.
					if n, end, err := readNum(b, rr.scanPos+1, true); err == nil && n >= 0 {
						if n > int64(rr.max) {
							return 0, ErrReplyTooLarge
						}
						need = end + int(n) + 2
					}
				}
				if need > rr.max {
					return 0, ErrReplyTooLarge
				}
			}
			return need, err
		}
		if e.end > rr.max {
			return 0, ErrReplyTooLarge
		}
		rr.scanPos = e.end
		if isRESP3Type(e.typ) {
			rr.r3 = true
		}
		agg := false
		switch Kind(e.typ) {
		case KindArray, KindMap, KindSet, KindPush, KindAttr:
			agg = !e.null
		}
		if agg {
			count := e.n
			if e.typ == '%' || e.typ == '|' {
				if count > int64(rr.max) {
					return 0, ErrReplyTooLarge
				}
				count *= 2
			}
			if e.typ == '|' {
				count++
			}
			// Each element is at least 3 bytes.
			if count > int64(rr.max/3) {
				return 0, ErrReplyTooLarge
			}
			if count > 0 {
				if rr.depth >= MaxDepth {
					return 0, protoErr(rr.scanPos, "aggregates nested too deeply")
				}
				rr.stack[rr.depth] = count
				rr.depth++
				continue
			}
		}
		// One element completed: close every level it finishes.
		for rr.depth > 0 {
			rr.stack[rr.depth-1]--
			if rr.stack[rr.depth-1] > 0 {
				break
			}
			rr.depth--
		}
		if rr.depth == 0 {
			return 0, nil
		}
	}
}

// fill reads more input so that at least need bytes from r may fit, compacting, growing
// or shrinking the buffer as required. A read error is kept in rerr.
func (rr *ReplyReader) fill(need int) {
	pending := rr.w - rr.r
	if need < replyBufMin {
		need = replyBufMin
	}
	switch {
	case cap(rr.buf) > replyBufMax && need <= replyBufMin && pending < replyBufMin:
		// A big reply has gone: give its buffer back.
		nb := make([]byte, replyBufMin)
		copy(nb, rr.buf[rr.r:rr.w])
		rr.buf = nb
	case cap(rr.buf) < need || (rr.r == 0 && rr.w == cap(rr.buf)):
		size := 2 * cap(rr.buf)
		if size < need {
			size = need
		}
		if limit := rr.max + 2*replyBufMin; size > limit && limit >= need {
			size = limit
		}
		nb := make([]byte, size)
		copy(nb, rr.buf[rr.r:rr.w])
		rr.buf = nb
	default:
		copy(rr.buf[:cap(rr.buf)], rr.buf[rr.r:rr.w])
	}
	rr.consumed += int64(rr.r)
	rr.r, rr.w = 0, pending
	rr.buf = rr.buf[:cap(rr.buf)]
	for tries := 0; tries < 100; tries++ {
		n, err := rr.rd.Read(rr.buf[rr.w:])
		rr.w += n
		if err != nil {
			rr.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	rr.rerr = io.ErrNoProgress
}

// SplitArray returns the raw bytes of each top-level element of the
// non-null array in raw, appended to dst (which it reuses), without
// decoding them: a proxy reordering the elements of shards' replies copies
// them as they came. It fails with a *ProtocolError (or ErrIncomplete)
// where ParseValue would, and when raw is not an array or has bytes after
// it.
func SplitArray(raw []byte, dst [][]byte) ([][]byte, error) {
	e, err := readElem(raw, 0)
	if err != nil {
		return dst, err
	}
	if Kind(e.typ) != KindArray || e.null {
		return dst, protoErr(0, "not an array")
	}
	pos := e.end
	for i := int64(0); i < e.n; i++ {
		end, err := skipValue(raw, pos, 1)
		if err != nil {
			return dst, err
		}
		dst = append(dst, raw[pos:end])
		pos = end
	}
	if pos != len(raw) {
		return dst, protoErr(pos, "bytes after the array")
	}
	return dst, nil
}

// children is how many values follow an aggregate's header: its count,
// twice that for a map's or an attribute's pairs, and an attribute's
// annotated value.
func (e elem) children() int64 {
	switch Kind(e.typ) {
	case KindMap:
		return 2 * e.n
	case KindAttr:
		return 2*e.n + 1
	}
	return e.n
}

// skipValue returns the offset just past the value starting at b[pos].
func skipValue(b []byte, pos, depth int) (int, error) {
	e, err := readElem(b, pos)
	if err != nil {
		return 0, err
	}
	switch Kind(e.typ) {
	case KindArray, KindMap, KindSet, KindPush, KindAttr:
	default:
		return e.end, nil
	}
	if e.null {
		return e.end, nil
	}
	count := e.children()
	if count > 0 && depth >= MaxDepth {
		return 0, protoErr(pos, "aggregates nested too deeply")
	}
	pos = e.end
	for i := int64(0); i < count; i++ {
		if pos, err = skipValue(b, pos, depth+1); err != nil {
			return 0, err
		}
	}
	return pos, nil
}
