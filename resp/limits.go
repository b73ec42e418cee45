package resp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"sync/atomic"
)

// Limits bound what one client connection may send. redcon, which parses client
// commands, buffers each command whole and has no limits of its own, so these are enforced
// by LimitConn in front of it, the way Redis enforces them while reading its query buffer.
type Limits struct {
	// MaxBulkLen is the largest argument, in bytes (Redis's proto-max-bulk-len). A larger
	// declared length is refused with "invalid bulk length". Zero means 512 MiB.
	MaxBulkLen int64
	// MaxArgs is the largest number of arguments in one command, name included. A larger
	// multibulk count is refused with "invalid multibulk length". Zero means 1024*1024
	// (Redis 7 itself accepts up to 2^31-1, which would let one command pin memory for
	// that many argument headers).
	MaxArgs int
	// MaxInlineLen is the longest inline (telnet-style) command line and the longest
	// multibulk or bulk length line, in bytes. Zero means 64 KiB (Redis's
	// PROTO_INLINE_MAX_SIZE).
	MaxInlineLen int
	// MaxQueryBuffer bounds the bytes of one command still being received (Redis's
	// client-query-buffer-limit). A client exceeding it is disconnected without a reply,
	// as Redis does. Zero means 1 GiB.
	MaxQueryBuffer int64
	// RequireAuth makes connections start unauthenticated: until SetAuthenticated(true)
	// is called on the LimitedConn, commands may have at most 10 arguments of at most
	// 16 KiB each, like Redis when a password is set, so that a client without the
	// password cannot make the server buffer large commands.
	RequireAuth bool
}

// DefaultLimits are Redis 7's defaults.
var DefaultLimits = Limits{
	MaxBulkLen:     512 << 20,
	MaxArgs:        1024 * 1024,
	MaxInlineLen:   64 << 10,
	MaxQueryBuffer: 1 << 30,
}

// Limits Redis applies to unauthenticated clients.
const (
	unauthMaxArgs    = 10
	unauthMaxBulkLen = 16384
)

// WithDefaults returns l with every zero field replaced by its DefaultLimits value.
func (l Limits) WithDefaults() Limits {
	if l.MaxBulkLen == 0 {
		l.MaxBulkLen = DefaultLimits.MaxBulkLen
	}
	if l.MaxArgs == 0 {
		l.MaxArgs = DefaultLimits.MaxArgs
	}
	if l.MaxInlineLen == 0 {
		l.MaxInlineLen = DefaultLimits.MaxInlineLen
	}
	if l.MaxQueryBuffer == 0 {
		l.MaxQueryBuffer = DefaultLimits.MaxQueryBuffer
	}
	return l
}

// Validate reports every field that is negative or out of range after defaults.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxBulkLen < 0 {
		errs = append(errs, fmt.Errorf("resp: MaxBulkLen (%d) must not be negative", l.MaxBulkLen))
	}
	if l.MaxArgs < 0 || int64(l.MaxArgs) > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("resp: MaxArgs (%d) must be between 0 and %d", l.MaxArgs, math.MaxInt32))
	}
	if l.MaxInlineLen < 0 {
		errs = append(errs, fmt.Errorf("resp: MaxInlineLen (%d) must not be negative", l.MaxInlineLen))
	}
	if l.MaxQueryBuffer < 0 {
		errs = append(errs, fmt.Errorf("resp: MaxQueryBuffer (%d) must not be negative", l.MaxQueryBuffer))
	}
	return errors.Join(errs...)
}

// ErrQueryBufferLimit is returned by a LimitedConn's Read when a client's incomplete
// command exceeds MaxQueryBuffer. As in Redis, no reply is sent.
var ErrQueryBufferLimit = errors.New("resp: client query buffer limit reached")

// LimitError is returned by a LimitedConn's Read after a protocol violation; Reply is the
// error text (without '-') that was sent to the client.
type LimitError struct {
	Reply string
}

func (e *LimitError) Error() string { return "resp: client protocol violation: " + e.Reply }

// LimitListener wraps every connection ln accepts with LimitConn.
func LimitListener(ln net.Listener, l Limits) net.Listener {
	return &limitListener{Listener: ln, l: l.WithDefaults()}
}

type limitListener struct {
	net.Listener
	l Limits
}

func (ln *limitListener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return LimitConn(c, ln.l), nil
}

// LimitConn returns c with a Read that follows the client's command framing (multibulk
// and inline) and enforces l (zero fields take their defaults). It returns a
// *LimitedConn.
func LimitConn(c net.Conn, l Limits) net.Conn {
	lc := &LimitedConn{Conn: c, l: l.WithDefaults()}
	lc.unauth.Store(l.RequireAuth)
	return lc
}

// Parser states of a LimitedConn.
const (
	stStart      = iota // at a command boundary
	stInline            // inside an inline command line
	stCount             // inside "*N" before CR
	stCountLF           // after the CR of "*N"
	stBulkLen           // inside "$N" (or a line that should have been) before CR
	stBulkLF            // after the CR of "$N"
	stPayload           // inside a bulk payload
	stPayloadCR         // expecting the CR after a payload
	stPayloadLF         // expecting the LF after a payload
	maxCountLine = 22   // "*-9223372036854775808" + CR: longer count lines are invalid
)

// LimitedConn is the net.Conn returned by LimitConn. Its Read passes the client's
// multibulk commands through unchanged and hands over each inline command rewritten as
// the equivalent multibulk (split as Redis splits inline commands), with two exceptions
// that mirror Redis: empty multibulk commands
// ("*0\r\n", "*-1\r\n"), which Redis silently skips and redcon would reject, are dropped;
// and on a violation it delivers the complete commands received before the offending one,
// then writes Redis's protocol error to the client and fails the following Read, so the
// server closes the connection after answering what came before. Writing that error from
// Read assumes, as redcon does, that replies are written by the goroutine that reads.
//
// Memory per connection is bounded: beyond the caller's read slice it keeps at most one
// inline line (MaxInlineLen), its rewrite, the rest of the read that followed it, and a
// multibulk count line of at most 22 bytes.
//
// Where Redis is lenient in ways redcon is not (a bulk payload not followed by CRLF, a
// CR followed by something other than LF in a header), the client gets "invalid bulk
// length" or "invalid multibulk length". Lengths follow Redis's strict syntax: no '+', no
// leading zeros, no "-0".
type LimitedConn struct {
	net.Conn
	l      Limits
	unauth atomic.Bool

	st       int
	cmdBytes int64 // bytes of the command in progress
	args     int64 // bulks still expected in the current multibulk
	bulkRem  int64 // payload bytes still expected

	// Number line being parsed (multibulk count or bulk length).
	lineLen  int
	neg      bool
	digits   int
	first    byte // first byte of the line (bulk lines must start with '$')
	zeroLead bool
	bad      bool
	val      uint64

	inlineCR bool   // last inline byte was CR
	iline    []byte // the inline line read so far (at most MaxInlineLen+1 bytes)
	conv     []byte // a converted inline command not yet returned
	carry    []byte // input read after a converted inline line, not yet processed
	carryErr error  // the read error that came with carry

	held  [maxCountLine + 2]byte // count line bytes not yet delivered
	nheld int

	stage [64]byte // staging for reads into very small buffers
	pend  []byte   // staged output not yet returned

	fail    error  // violation pending
	reply   string // error reply to send before failing
	replied bool
}

var _ net.Conn = (*LimitedConn)(nil)

// SetAuthenticated lifts (true) or restores (false) the tighter limits for
// unauthenticated clients that Limits.RequireAuth enables. It is safe to call from any
// goroutine; the change applies from the next byte read.
func (c *LimitedConn) SetAuthenticated(ok bool) { c.unauth.Store(!ok) }

// Read implements net.Conn.
func (c *LimitedConn) Read(p []byte) (int, error) {
	if len(c.pend) > 0 {
		n := copy(p, c.pend)
		c.pend = c.pend[n:]
		return n, nil
	}
	if len(c.conv) > 0 {
		return c.takeConv(p), nil
	}
	if len(p) < len(c.stage) {
		n, err := c.read(c.stage[:])
		m := copy(p, c.stage[:n])
		c.pend = c.stage[m:n]
		return m, err
	}
	return c.read(p)
}

func (c *LimitedConn) read(p []byte) (int, error) {
	if c.fail != nil {
		return 0, c.failNow()
	}
	for {
		h := copy(p, c.held[:c.nheld])
		c.nheld = 0
		var n int
		var err error
		if len(c.carry) > 0 {
			n = copy(p[h:], c.carry)
			c.carry = c.carry[n:]
			if len(c.carry) == 0 {
				err, c.carryErr = c.carryErr, nil
			}
		} else {
			n, err = c.Conn.Read(p[h:])
		}
		if n == 0 {
			copy(c.held[:], p[:h])
			c.nheld = h
			if err != nil {
				return 0, err
			}
			continue
		}
		w := c.process(p, h, h+n)
		if len(c.carry) > 0 && err != nil {
			c.carryErr, err = err, nil
		}
		if c.fail != nil && w == 0 {
			return 0, c.failNow()
		}
		if w == 0 && len(c.conv) > 0 {
			return c.takeConv(p), err
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}

func (c *LimitedConn) takeConv(p []byte) int {
	n := copy(p, c.conv)
	c.conv = c.conv[n:]
	return n
}

// appendInlineAsMultibulk appends the inline command line as a RESP
// multibulk of nargs arguments, the longest of longest bytes. An empty line
// appends nothing; unbalanced quotes return ok false.
func appendInlineAsMultibulk(dst, line []byte) (out []byte, nargs, longest int, ok bool) {
	args, ok := SplitArgs(line)
	if !ok || len(args) == 0 {
		return dst, 0, 0, ok
	}
	dst = AppendArrayHeader(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
		longest = max(longest, len(a))
	}
	return dst, len(args), longest, true
}

// SplitArgs splits a command line into arguments the way Redis's
// sdssplitargs does for inline commands (and redis-cli for its input):
// whitespace separates; "double quotes" take \xHH, \n, \r, \t, \b, \a and
// \<any> escapes; 'single quotes' take \'; a closing quote must be followed
// by a space or the end. Unbalanced quotes return ok false.
func SplitArgs(line []byte) (args [][]byte, ok bool) {
	// Redis reads the line as a C string and never sees past a NUL (it
	// then waits forever for a newline); the part before the NUL is taken.
	if z := bytes.IndexByte(line, 0); z >= 0 {
		line = line[:z]
	}
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return args, true
		}
		var cur []byte
		inDQ, inSQ := false, false
	arg:
		for ; ; i++ {
			if i == len(line) {
				if inDQ || inSQ {
					return nil, false
				}
				break
			}
			b := line[i]
			switch {
			case inDQ:
				switch {
				case b == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case b == '\\' && i+1 < len(line):
					i++
					switch e := line[i]; e {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, e)
					}
				case b == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					i++
					break arg
				default:
					cur = append(cur, b)
				}
			case inSQ:
				switch {
				case b == '\\' && i+1 < len(line) && line[i+1] == '\'':
					cur = append(cur, '\'')
					i++
				case b == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					i++
					break arg
				default:
					cur = append(cur, b)
				}
			default:
				switch b {
				case ' ', '\n', '\r', '\t':
					break arg
				case '"':
					inDQ = true
				case '\'':
					inSQ = true
				default:
					cur = append(cur, b)
				}
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
	}
}

// isSpace is C's isspace in the C locale.
func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

func unhex(b byte) byte {
	switch {
	case b >= '0' && b <= '9':
		return b - '0'
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10
	default:
		return b - 'A' + 10
	}
}

func (c *LimitedConn) failNow() error {
	if !c.replied {
		c.replied = true
		if c.reply != "" {
			var buf [128]byte
			_, _ = c.Conn.Write(AppendError(buf[:0], c.reply))
		}
	}
	return c.fail
}

func (c *LimitedConn) violate(reply string) {
	c.reply = reply
	c.fail = &LimitError{Reply: reply}
}

// process runs the state machine over p[h:end] (p[:h] holds count-line bytes carried
// over from the previous read, already consumed by the state machine) and compacts the
// bytes to deliver to the front of p, returning their count. On a violation it records it
// and returns the length of the complete commands before the offending one.
func (c *LimitedConn) process(p []byte, h, end int) int {
	w := h        // write index
	cmdStart := 0 // write index where the current command began
	if c.st == stStart {
		cmdStart = h
	}
	i := h
	for i < end {
		b := p[i]
		switch c.st {
		case stStart:
			cmdStart = w
			c.cmdBytes = 0
			if b == '*' {
				c.st = stCount
				c.resetNum(b)
			} else {
				c.st = stInline
				c.lineLen = 0
				c.inlineCR = false
				continue // the byte is part of the inline line
			}
		case stInline:
			j := bytes.IndexByte(p[i:end], '\n')
			chunk := end - i
			if j >= 0 {
				chunk = j
			}
			if chunk > 0 {
				c.lineLen += chunk
				c.inlineCR = p[i+chunk-1] == '\r'
			}
			content := c.lineLen
			if c.inlineCR {
				content--
			}
			if content > c.l.MaxInlineLen {
				c.violate(ErrProtoInlineTooBig)
				return cmdStart
			}
			c.iline = append(c.iline, p[i:i+chunk]...)
			i += chunk
			c.cmdBytes += int64(chunk)
			if j < 0 {
				continue
			}
			// The line is complete: hand redcon the same command as a
			// multibulk (redcon's own inline parser allocates per word in
			// proportion to the rest of the line, quadratic in the line),
			// and keep the bytes after it for the following reads.
			i++
			c.st = stStart
			line := c.iline
			if c.inlineCR {
				line = line[:len(line)-1]
			}
			conv, nargs, longest, ok := appendInlineAsMultibulk(c.conv[:0], line)
			c.iline = c.iline[:0]
			if !ok {
				c.violate(ErrProtoUnbalancedQuotes)
				return cmdStart
			}
			if nargs > c.l.MaxArgs || int64(longest) > c.l.MaxBulkLen {
				c.violate(ErrProtoInlineTooBig)
				return cmdStart
			}
			c.conv = conv
			c.carry = append(c.carry[:0], p[i:end]...)
			return w
		case stCount, stBulkLen:
			if c.st == stBulkLen && c.first == 0 && b != '$' {
				// redcon rejects this at once; so do we, before it can see the byte.
				c.violate(ErrProtoExpected(b))
				return cmdStart
			}
			if b == '\n' {
				// A bare LF ends the line for redcon, which would reject it; so do we.
				if c.st == stCount {
					c.violate(ErrProtoMultibulkLen)
				} else {
					c.violate(ErrProtoBulkLen)
				}
				return cmdStart
			}
			if b == '\r' {
				if c.first == 0 {
					c.first = b
				}
				c.st++
				break
			}
			c.numByte(b)
			if c.lineLen > c.l.MaxInlineLen {
				if c.st == stCount {
					c.violate(ErrProtoMbulkCountTooBig)
				} else {
					c.violate(ErrProtoBulkCountTooBig)
				}
				return cmdStart
			}
		case stCountLF:
			if b != '\n' || c.bad || c.digits == 0 {
				c.violate(ErrProtoMultibulkLen)
				return cmdStart
			}
			if c.neg || c.val == 0 {
				// Redis ignores empty multibulks: drop the header.
				c.st = stStart
				w = cmdStart
				i++
				continue
			}
			if c.val > math.MaxInt32 || c.val > uint64(c.l.MaxArgs) {
				c.violate(ErrProtoMultibulkLen)
				return cmdStart
			}
			if c.unauth.Load() && c.val > unauthMaxArgs {
				c.violate(ErrProtoUnauthMultibulkLen)
				return cmdStart
			}
			c.args = int64(c.val)
			c.st = stBulkLen
			c.resetNum(0)
		case stBulkLF:
			if c.first != '$' {
				c.violate(ErrProtoExpected(c.first))
				return cmdStart
			}
			if b != '\n' || c.bad || c.neg || c.digits == 0 || c.val > uint64(c.l.MaxBulkLen) {
				c.violate(ErrProtoBulkLen)
				return cmdStart
			}
			if c.unauth.Load() && c.val > unauthMaxBulkLen {
				c.violate(ErrProtoUnauthBulkLen)
				return cmdStart
			}
			c.bulkRem = int64(c.val)
			c.st = stPayload
			if c.bulkRem == 0 {
				c.st = stPayloadCR
			}
		case stPayload:
			k := end - i
			if int64(k) > c.bulkRem {
				k = int(c.bulkRem)
			}
			c.bulkRem -= int64(k)
			c.cmdBytes += int64(k)
			if c.cmdBytes > c.l.MaxQueryBuffer {
				c.fail = ErrQueryBufferLimit
				return cmdStart
			}
			w = move(p, w, i, k)
			i += k
			if c.bulkRem == 0 {
				c.st = stPayloadCR
			}
			continue
		case stPayloadCR:
			if b != '\r' {
				c.violate(ErrProtoBulkLen)
				return cmdStart
			}
			c.st = stPayloadLF
		case stPayloadLF:
			if b != '\n' {
				c.violate(ErrProtoBulkLen)
				return cmdStart
			}
			c.args--
			if c.args == 0 {
				c.st = stStart
				p[w] = b
				w++
				i++
				cmdStart = w
				continue
			}
			c.st = stBulkLen
			c.resetNum(0)
		}
		// Default path: deliver the byte (count lines stop being copied once they are
		// too long to be valid; they will be refused at their end).
		if !(c.st == stCount && c.lineLen > maxCountLine) {
			p[w] = b
			w++
		}
		i++
		c.cmdBytes++
		if c.cmdBytes > c.l.MaxQueryBuffer {
			c.fail = ErrQueryBufferLimit
			return cmdStart
		}
	}
	if c.st == stCount || c.st == stCountLF {
		// Hold back an unfinished count line so that an empty multibulk can still be
		// dropped whole.
		c.nheld = copy(c.held[:], p[cmdStart:w])
		w = cmdStart
	}
	return w
}

// move copies n bytes from p[i:] to p[w:] (w <= i) and returns the new write index.
func move(p []byte, w, i, n int) int {
	if w != i {
		copy(p[w:], p[i:i+n])
	}
	return w + n
}

// resetNum starts a new number line; first is its type byte when already known ('*'),
// or 0 for a bulk line whose first byte is yet to come.
func (c *LimitedConn) resetNum(first byte) {
	c.lineLen, c.neg, c.digits, c.zeroLead, c.bad, c.val = 0, false, 0, false, false, 0
	c.first = first
	if first != 0 {
		c.lineLen = 1
	}
}

// numByte feeds one byte of a number line, validating it as Redis's string2ll does.
func (c *LimitedConn) numByte(b byte) {
	c.lineLen++
	if c.first == 0 {
		c.first = b
		return
	}
	switch {
	case b == '-' && c.lineLen == 2:
		c.neg = true
	case b >= '0' && b <= '9':
		if c.digits == 0 && b == '0' {
			c.zeroLead = true
		} else if c.zeroLead {
			c.bad = true
		}
		if c.neg && c.zeroLead {
			c.bad = true
		}
		c.digits++
		if c.val > (math.MaxInt64-9)/10 {
			c.bad = true
		} else {
			c.val = c.val*10 + uint64(b-'0')
		}
	default:
		c.bad = true
	}
}
