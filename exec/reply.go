package exec

import (
	"strconv"

	"github.com/shardis/shardis/resp"
)

// Reply is a command's answer as a value: the RESP3 encoding of what it
// replied, appended to by the command and written to the connection only
// when the caller decides (once the copies hold the command's effects).
// One extension to RESP3: a null array is written *-1 and a null bulk
// string _, so that a proxy can answer a RESP2 client exactly as Redis
// would (*-1 or $-1) and a RESP3 client with _ for both.
//
// The zero Reply is empty and ready to use.
type Reply struct{ b []byte }

// Bytes returns the encoded replies appended so far; they alias r.
func (r *Reply) Bytes() []byte { return r.b }

// Len is the number of bytes encoded so far.
func (r *Reply) Len() int { return len(r.b) }

// Reset empties r, keeping its buffer.
func (r *Reply) Reset() { r.b = r.b[:0] }

// Truncate drops what was appended after the first n bytes.
func (r *Reply) Truncate(n int) { r.b = r.b[:n] }

// Raw appends already encoded reply bytes.
func (r *Reply) Raw(b []byte) { r.b = append(r.b, b...) }

// OK appends +OK.
func (r *Reply) OK() { r.b = append(r.b, "+OK\r\n"...) }

// Simple appends a status reply.
func (r *Reply) Simple(s string) { r.b = resp.AppendSimple(r.b, s) }

// Error appends an error reply; msg starts with its code (ERR,
// WRONGTYPE, …).
func (r *Reply) Error(msg string) { r.b = resp.AppendError(r.b, msg) }

// Int appends an integer reply.
func (r *Reply) Int(n int64) { r.b = resp.AppendInt(r.b, n) }

// Bulk appends a bulk string.
func (r *Reply) Bulk(b []byte) { r.b = resp.AppendBulk(r.b, b) }

// BulkString appends a bulk string.
func (r *Reply) BulkString(s string) { r.b = resp.AppendBulkString(r.b, s) }

// BulkInt appends n as a bulk string, as Redis does for HINCRBY's
// relatives that answer in bulk.
func (r *Reply) BulkInt(n int64) {
	var buf [20]byte
	r.b = resp.AppendBulk(r.b, strconv.AppendInt(buf[:0], n, 10))
}

// Null appends the null reply ($-1 to a RESP2 client).
func (r *Reply) Null() { r.b = resp.AppendNull(r.b, resp.RESP3) }

// NullArray appends the null array (*-1 to a RESP2 client, _ to RESP3).
func (r *Reply) NullArray() { r.b = append(r.b, "*-1\r\n"...) }

// Array appends an array header of n elements.
func (r *Reply) Array(n int) { r.b = resp.AppendArrayHeader(r.b, n) }

// Map appends a map header of n pairs (a flat array of 2n to RESP2).
func (r *Reply) Map(n int) { r.b = resp.AppendMapHeader(r.b, n, resp.RESP3) }

// Set appends a set header of n elements (an array to RESP2).
func (r *Reply) Set(n int) { r.b = resp.AppendSetHeader(r.b, n, resp.RESP3) }

// Double appends a double as Redis 7.0 formats scores (a bulk string to
// RESP2).
func (r *Reply) Double(f float64) { r.b = resp.AppendDouble(r.b, f, resp.RESP3) }

// Bool appends a boolean (:1 or :0 to RESP2).
func (r *Reply) Bool(v bool) { r.b = resp.AppendBool(r.b, v, resp.RESP3) }

// Verbatim appends a verbatim string of format (e.g. "txt").
func (r *Reply) Verbatim(format, text string) {
	r.b = resp.AppendVerbatim(r.b, format, text, resp.RESP3)
}

// Strings appends an array of bulk strings.
func (r *Reply) Strings(items []string) {
	r.Array(len(items))
	for _, s := range items {
		r.BulkString(s)
	}
}

// Help appends a HELP subcommand's answer: an array of status lines, as
// Redis's addReplyHelp writes it.
func (r *Reply) Help(lines []string) {
	r.Array(len(lines))
	for _, s := range lines {
		r.Simple(s)
	}
}
