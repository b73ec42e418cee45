package resp

import "sort"

// Command describes one command as Redis 7.0's COMMAND INFO and COMMAND DOCS do. The proxy
// routes by it (key positions, write/readonly) and checks arity before forwarding, and
// answers COMMAND from it so that clients which inspect the server (redis-cli, cluster
// clients computing key slots) see what they would see on Redis.
//
// Values returned by Lookup and Commands are shared and must not be modified.
type Command struct {
	// Name is the lower-case command name.
	Name string
	// Arity counts the command name: N means exactly N arguments, -N at least N.
	Arity int
	// Flags are Redis's command flags ("write", "readonly", "fast", "denyoom", …).
	Flags []string
	// FirstKey, LastKey and Step give the key positions (see KeyIndexes). All zero for
	// commands without keys.
	FirstKey, LastKey, Step int
	// ACLCategories are Redis's ACL categories ("@read", "@string", …).
	ACLCategories []string
	// Tips are Redis's command tips (request and response policies for cluster clients).
	Tips []string
	// Summary, Since, Group and Complexity are COMMAND DOCS fields.
	Summary, Since, Group, Complexity string
	// DocFlags, DeprecatedSince and ReplacedBy are set for deprecated commands.
	DocFlags                    []string
	DeprecatedSince, ReplacedBy string
}

func (c *Command) hasFlag(f string) bool {
	for _, x := range c.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// IsWrite reports whether the command may modify the keyspace; such commands go to the
// partition master and are replicated.
func (c *Command) IsWrite() bool { return c.hasFlag("write") }

// IsReadonly reports whether the command only reads keys, so it may be served by a
// follower when stale reads are allowed.
func (c *Command) IsReadonly() bool { return c.hasFlag("readonly") }

// ArityOK reports whether nargs arguments (the command name included) satisfy the
// command's arity.
func (c *Command) ArityOK(nargs int) bool {
	if c.Arity >= 0 {
		return nargs == c.Arity
	}
	return nargs >= -c.Arity
}

// KeyIndexes returns the argument indexes of the keys of a command invoked with nargs
// arguments (name included): keys are at first, first+step, … up to and including last.
// A negative LastKey counts from the end (-1 is the last argument). For commands without
// keys, or too few arguments, first is 0 and last < first, so the loop
// `for i := first; i <= last && i > 0; i += step` does nothing.
func (c *Command) KeyIndexes(nargs int) (first, last, step int) {
	if c.FirstKey <= 0 || c.Step <= 0 {
		return 0, -1, 1
	}
	first, step = c.FirstKey, c.Step
	last = c.LastKey
	if last < 0 {
		last = nargs + last
	}
	if last >= nargs {
		last = nargs - 1
	}
	if first >= nargs || last < first {
		return 0, -1, 1
	}
	return first, last, step
}

// Keys returns the keys among args (args[0] is the command name), in order. It
// allocates the result; use KeyIndexes on hot paths.
func (c *Command) Keys(args [][]byte) [][]byte {
	first, last, step := c.KeyIndexes(len(args))
	if first == 0 {
		return nil
	}
	keys := make([][]byte, 0, (last-first)/step+1)
	for i := first; i <= last; i += step {
		keys = append(keys, args[i])
	}
	return keys
}

// maxNameLen is at least the longest command name in the table ("georadiusbymember_ro");
// TestLookupFindsEveryCommand keeps it so when the generated table grows.
const maxNameLen = 24

// Lookup returns the command called name (in any case), or nil when Shardis does not
// know it. It does not allocate.
func Lookup(name []byte) *Command {
	if len(name) == 0 || len(name) > maxNameLen {
		return nil
	}
	var buf [maxNameLen]byte
	lower := buf[:len(name)]
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	lo, hi := 0, len(commandTable)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch name := commandTable[m].Name; {
		case name == string(lower):
			return &commandTable[m]
		case name < string(lower):
			lo = m + 1
		default:
			hi = m
		}
	}
	return nil
}

// Commands returns every known command, sorted by name.
func Commands() []*Command {
	out := make([]*Command, len(commandTable))
	for i := range commandTable {
		out[i] = &commandTable[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AppendCommandInfo appends c's COMMAND INFO entry in Redis 7's ten-field layout: name,
// arity, flags (a set of status strings), first key, last key, step, ACL categories (a
// set of status strings), tips (a set of bulk strings), key specifications and
// subcommands. Key specifications and subcommands are sent empty: clients route by the
// first/last/step triple, which is exact for every command in the table, and Shardis
// does not describe container subcommands individually.
func AppendCommandInfo(dst []byte, c *Command, proto int) []byte {
	dst = AppendArrayHeader(dst, 10)
	dst = AppendBulkString(dst, c.Name)
	dst = AppendInt(dst, int64(c.Arity))
	dst = appendStatusSet(dst, c.Flags, proto)
	dst = AppendInt(dst, int64(c.FirstKey))
	dst = AppendInt(dst, int64(c.LastKey))
	dst = AppendInt(dst, int64(c.Step))
	dst = appendStatusSet(dst, c.ACLCategories, proto)
	dst = AppendSetHeader(dst, len(c.Tips), proto)
	for _, t := range c.Tips {
		dst = AppendBulkString(dst, t)
	}
	dst = AppendSetHeader(dst, 0, proto) // key specifications
	dst = AppendSetHeader(dst, 0, proto) // subcommands
	return dst
}

func appendStatusSet(dst []byte, items []string, proto int) []byte {
	dst = AppendSetHeader(dst, len(items), proto)
	for _, s := range items {
		dst = AppendSimple(dst, s)
	}
	return dst
}

// AppendCommandDocs appends c's COMMAND DOCS entry: the name, then a map with summary,
// since, group, complexity and, for deprecated commands, doc_flags, deprecated_since and
// replaced_by, as Redis 7.0 sends them. The arguments field is omitted (redis-cli then
// shows no argument hints for the command; everything else works).
func AppendCommandDocs(dst []byte, c *Command, proto int) []byte {
	dst = AppendBulkString(dst, c.Name)
	n := 3
	if c.Complexity != "" {
		n++
	}
	if len(c.DocFlags) > 0 {
		n++
	}
	if c.DeprecatedSince != "" {
		n++
	}
	if c.ReplacedBy != "" {
		n++
	}
	dst = AppendMapHeader(dst, n, proto)
	dst = appendField(dst, "summary", c.Summary)
	dst = appendField(dst, "since", c.Since)
	dst = appendField(dst, "group", c.Group)
	if c.Complexity != "" {
		dst = appendField(dst, "complexity", c.Complexity)
	}
	if len(c.DocFlags) > 0 {
		dst = AppendBulkString(dst, "doc_flags")
		dst = appendStatusSet(dst, c.DocFlags, proto)
	}
	if c.DeprecatedSince != "" {
		dst = appendField(dst, "deprecated_since", c.DeprecatedSince)
	}
	if c.ReplacedBy != "" {
		dst = appendField(dst, "replaced_by", c.ReplacedBy)
	}
	return dst
}

func appendField(dst []byte, k, v string) []byte {
	return AppendBulkString(AppendBulkString(dst, k), v)
}

// RESP2Flatten returns how c's reply is reshaped for RESP2 clients (see Flatten).
func (c *Command) RESP2Flatten() Flatten { return resp2Flatten[c.Name] }

// resp2Flatten lists the commands whose RESP3 reply nests pairs that Redis 7.0 sends RESP2
// clients flat, checked against redis-server 7.0.15 (testdata/redis7-replies.txt). It
// lives here rather than in the generated table because COMMAND INFO does not describe
// reply shapes. ZMPOP and BZMPOP are not listed: Redis 7.0 nests their [member, score]
// pairs for RESP2 clients too, and only the scores change type. ZRANGEBYLEX and
// ZREVRANGEBYLEX return no scores and need nothing.
var resp2Flatten = map[string]Flatten{
	"zrange":           FlattenPairs,
	"zrangebyscore":    FlattenPairs,
	"zrevrange":        FlattenPairs,
	"zrevrangebyscore": FlattenPairs,
	"zunion":           FlattenPairs,
	"zinter":           FlattenPairs,
	"zdiff":            FlattenPairs,
	"zrandmember":      FlattenPairs,
	"hrandfield":       FlattenPairs,
	"zpopmin":          FlattenPairs,
	"zpopmax":          FlattenPairs,
}
