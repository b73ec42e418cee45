package resp

import (
	"bytes"
	"strings"
)

// Error texts sent to clients. Each is the exact text redis-server 7.0 writes after the
// '-' on the wire, so that clients which match on error strings (retry logic, ORMs, test
// suites written against Redis) behave identically against Shardis.
const (
	// ErrSyntax is Redis's generic reply for malformed options.
	ErrSyntax = "ERR syntax error"
	// ErrNotInteger is returned when an argument or stored value must be a 64-bit integer.
	ErrNotInteger = "ERR value is not an integer or out of range"
	// ErrNotFloat is returned when an argument or stored value must be a float.
	ErrNotFloat = "ERR value is not a valid float"
	// ErrWrongType is returned when a key holds a value of another type.
	ErrWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
	// ErrCrossSlot is returned by Redis Cluster for multi-key commands spanning slots.
	ErrCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot"
	// ErrNoAuth is returned for commands sent before a required AUTH.
	ErrNoAuth = "NOAUTH Authentication required."
	// ErrWrongPass is returned for AUTH/HELLO with a bad password or user.
	ErrWrongPass = "WRONGPASS invalid username-password pair or user is disabled."
	// ErrAuthNotConfigured is returned by AUTH <password> when no password is configured.
	ErrAuthNotConfigured = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	// ErrOverflow is returned by INCR-family commands whose result would not fit in int64.
	ErrOverflow = "ERR increment or decrement would overflow"
	// ErrNoSuchKey is returned by RENAME/RENAMENX when the source key is missing.
	ErrNoSuchKey = "ERR no such key"
	// ErrStringTooLong is returned when a write would grow a string past 512 MiB.
	ErrStringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	// ErrOffsetRange is returned by SETRANGE (and friends) for a negative offset.
	ErrOffsetRange = "ERR offset is out of range"
	// ErrNaNOrInf is returned by INCRBYFLOAT when the result would be NaN or ±Inf.
	ErrNaNOrInf = "ERR increment would produce NaN or Infinity"
	// ErrDBIndexRange is returned by SELECT with an index outside the configured databases.
	ErrDBIndexRange = "ERR DB index is out of range"
	// ErrSelectNotAllowed is what Redis Cluster answers to SELECT of a non-zero database;
	// Shardis, like a cluster, has a single keyspace.
	ErrSelectNotAllowed = "ERR SELECT is not allowed in cluster mode"
	// ErrNoProto is returned by HELLO with a protocol version other than 2 or 3.
	ErrNoProto = "NOPROTO unsupported protocol version"
	// ErrShardUnavailable is returned when the shard owning a key cannot be reached.
	// CLUSTERDOWN makes cluster-aware clients back off and retry.
	ErrShardUnavailable = "CLUSTERDOWN shard unavailable"
	// ErrShardTimeout is returned when a shard did not answer in time; TRYAGAIN tells
	// clients the command may be retried.
	ErrShardTimeout = "TRYAGAIN shard timed out"

	// ErrProtoBulkLen is sent (then the connection closed) for a bad or too large bulk length.
	ErrProtoBulkLen = "ERR Protocol error: invalid bulk length"
	// ErrProtoMultibulkLen is sent (then the connection closed) for a bad or too large
	// multibulk count.
	ErrProtoMultibulkLen = "ERR Protocol error: invalid multibulk length"
	// ErrProtoInlineTooBig is sent (then the connection closed) for an over-long inline command.
	ErrProtoInlineTooBig = "ERR Protocol error: too big inline request"
	// ErrProtoUnbalancedQuotes is sent (then the connection closed) for an inline command
	// with an unterminated quoted string.
	ErrProtoUnbalancedQuotes = "ERR Protocol error: unbalanced quotes in request"
	// ErrProtoMbulkCountTooBig is sent (then the connection closed) when a multibulk count
	// line runs past the inline limit without its CRLF.
	ErrProtoMbulkCountTooBig = "ERR Protocol error: too big mbulk count string"
	// ErrProtoBulkCountTooBig is sent (then the connection closed) when a bulk length line
	// runs past the inline limit without its CRLF.
	ErrProtoBulkCountTooBig = "ERR Protocol error: too big bulk count string"
	// ErrProtoUnauthMultibulkLen is sent (then the connection closed) when a client that
	// has not authenticated sends a command of more than 10 arguments.
	ErrProtoUnauthMultibulkLen = "ERR Protocol error: unauthenticated multibulk length"
	// ErrProtoUnauthBulkLen is sent (then the connection closed) when a client that has not
	// authenticated sends an argument longer than 16 KiB.
	ErrProtoUnauthBulkLen = "ERR Protocol error: unauthenticated bulk length"
)

// ErrProtoExpected is the protocol error Redis sends when a multibulk element does not
// start with '$'; got is the byte found instead.
func ErrProtoExpected(got byte) string {
	return sanitize("ERR Protocol error: expected '$', got '" + string([]byte{got}) + "'")
}

// WrongArgs is the arity error for cmd. Redis prints the command's canonical (lower-case)
// name whatever case the client typed, so cmd is lower-cased here.
func WrongArgs(cmd string) string {
	return "ERR wrong number of arguments for '" + strings.ToLower(cmd) + "' command"
}

// UnknownCommand reproduces Redis 7.0's reply to an unknown command: args[0] is the
// command name (as typed, at most 128 bytes); the following arguments are quoted, each
// followed by a space, until 128 bytes of argument text have been produced. With no
// arguments the text ends in "beginning with: " (trailing space included, as Redis does).
func UnknownCommand(args [][]byte) string {
	var name []byte
	if len(args) > 0 {
		name = args[0]
	}
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.Write(truncate(cString(name), 128))
	b.WriteString("', with args beginning with: ")
	n := 0
	for i := 1; i < len(args) && n < 128; i++ {
		a := truncate(cString(args[i]), 128-n)
		b.WriteByte('\'')
		b.Write(a)
		b.WriteString("' ")
		n += len(a) + 3
	}
	return sanitize(b.String())
}

// UnknownSubcommand is the reply to an unknown subcommand sub of container command cmd.
// Redis upper-cases the command name and prints the subcommand as typed (at most 128 bytes).
func UnknownSubcommand(cmd, sub string) string {
	return sanitize("ERR unknown subcommand '" + string(truncate([]byte(sub), 128)) +
		"'. Try " + strings.ToUpper(cmd) + " HELP.")
}

// InvalidExpire is the reply to an expire time that is not positive or would overflow;
// Redis names the command in lower case.
func InvalidExpire(cmd string) string {
	return "ERR invalid expire time in '" + strings.ToLower(cmd) + "' command"
}

// cString cuts b at its first NUL byte: Redis formats these texts with
// printf's %s, which stops there.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// sanitize replaces CR and LF with spaces, as Redis does for error texts that embed
// client input, so the reply stays a single protocol line.
func sanitize(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
