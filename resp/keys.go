package resp

import (
	"bytes"
	"slices"
	"sort"
	"strings"
)

// KeySpan locates a command's keys among its arguments: first, first+step, … up to
// last, and one more key outside that run (a destination) at extra.
type KeySpan struct {
	First, Last, Step int // First 0: no run of keys
	Extra             int // 0: none
	// anyPart is set for a keyless subcommand whose answer does not depend on the
	// shard (OBJECT HELP): it goes to partition 0's master.
	AnyPart bool
}

// Indexes returns the argument indexes of the keys, in argument order (as COMMAND
// GETKEYS lists them), for a command of nargs arguments.
func (ks KeySpan) Indexes(nargs int) []int {
	var idx []int
	if ks.First > 0 {
		for i := ks.First; i <= min(ks.Last, nargs-1); i += max(ks.Step, 1) {
			idx = append(idx, i)
		}
	}
	if ks.Extra > 0 && ks.Extra < nargs {
		at := sort.SearchInts(idx, ks.Extra)
		idx = slices.Insert(idx, at, ks.Extra)
	}
	return idx
}

// keyFunc returns where the keys of args are (args[0] is the command, name its table
// name), or the error Redis itself answers when the arguments that locate the keys are
// invalid. A proxy answers those errors rather than forwarding: Redis checks them
// before anything else the command does, and a command with no valid keys has no
// partition to go to.
type keyFunc func(name string, args [][]byte) (KeySpan, string)

// movableKeys are the key finders of the commands whose key positions
// depend on their arguments (Redis's movablekeys). SORT_RO is flagged
// movablekeys but, having no STORE, its only key is the table's args[1].
var movableKeys = map[string]keyFunc{
	"zunion":            zsetNumkeys(1),
	"zinter":            zsetNumkeys(1),
	"zdiff":             zsetNumkeys(1),
	"zintercard":        zsetNumkeys(1),
	"zunionstore":       zsetNumkeys(2),
	"zinterstore":       zsetNumkeys(2),
	"zdiffstore":        zsetNumkeys(2),
	"sintercard":        sintercardKeys,
	"lmpop":             mpopKeys,
	"zmpop":             mpopKeys,
	"georadius":         georadiusKeys,
	"georadiusbymember": georadiusKeys,
	"sort":              sortKeys,
	"object": subcommandKeys(map[string]subcommand{
		"encoding": {3, true}, "freq": {3, true}, "idletime": {3, true}, "refcount": {3, true},
		"help": {2, false},
	}),
	"memory": subcommandKeys(map[string]subcommand{
		"usage": {-3, true},
		"help":  {2, false}, "doctor": {2, false}, "malloc-stats": {2, false}, "purge": {2, false}, "stats": {2, false},
	}),
}

// FindKeys returns where the keys of args are, or the error Redis answers
// when the arguments that locate them are invalid. It is the one key
// finder: the proxy routes by it and the shard checks and runs by it.
func (c *Command) FindKeys(args [][]byte) (KeySpan, string) {
	if f := movableKeys[c.Name]; f != nil {
		return f(c.Name, args)
	}
	first, last, step := c.KeyIndexes(len(args))
	return KeySpan{First: first, Last: last, Step: step}, ""
}

// HasMovableKeys reports whether c's keys are found by parsing its
// arguments rather than at the table's fixed positions.
func (c *Command) HasMovableKeys() bool { return movableKeys[c.Name] != nil }

// parseLong parses an integer as Redis's string2ll does: an optional minus sign, no
// leading zeros, no plus sign or spaces, within int64. strconv would accept "+1" and
// "01", which Redis refuses.
func parseLong(b []byte) (int64, bool) {
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	if i >= len(b) || len(b) > 20 || b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var u uint64
	for ; i < len(b); i++ {
		c := b[i]
		// u stays at most 2^63 (checked below), so u*10+9 cannot wrap.
		if c < '0' || c > '9' || u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// zsetNumkeys finds the keys of ZUNION, ZINTER, ZDIFF, ZINTERCARD (numkeys at args[1])
// and of ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE (destination args[1], numkeys args[2]),
// with the checks of Redis's zunionInterDiffGenericCommand in its order.
func zsetNumkeys(at int) keyFunc {
	return func(name string, args [][]byte) (KeySpan, string) {
		n, ok := parseLong(args[at])
		if !ok {
			return KeySpan{}, ErrNotInteger
		}
		if n < 1 {
			return KeySpan{}, "ERR at least 1 input key is needed for '" + name + "' command"
		}
		if n > int64(len(args)-at-1) {
			return KeySpan{}, ErrSyntax
		}
		ks := KeySpan{First: at + 1, Last: at + int(n), Step: 1}
		if at == 2 {
			ks.Extra = 1
		}
		return ks, ""
	}
}

// errNumkeys is what SINTERCARD, LMPOP and ZMPOP answer to a numkeys that is not a
// positive integer (Redis uses one message for both cases).
const errNumkeys = "ERR numkeys should be greater than 0"

// sintercardKeys: SINTERCARD numkeys key … [LIMIT n], as sinterCardCommand checks it.
func sintercardKeys(_ string, args [][]byte) (KeySpan, string) {
	n, ok := parseLong(args[1])
	if !ok || n < 1 {
		return KeySpan{}, errNumkeys
	}
	if n > int64(len(args)-2) {
		return KeySpan{}, "ERR Number of keys can't be greater than number of args"
	}
	return KeySpan{First: 2, Last: 1 + int(n), Step: 1}, ""
}

// mpopKeys: LMPOP and ZMPOP numkeys key … LEFT|RIGHT|MIN|MAX [COUNT n]; as in Redis's
// lmpopGenericCommand, the direction must follow the keys.
func mpopKeys(_ string, args [][]byte) (KeySpan, string) {
	n, ok := parseLong(args[1])
	if !ok || n < 1 {
		return KeySpan{}, errNumkeys
	}
	if n >= int64(len(args)-2) {
		return KeySpan{}, ErrSyntax
	}
	return KeySpan{First: 2, Last: 1 + int(n), Step: 1}, ""
}

// georadiusKeys adds the STORE/STOREDIST destination of GEORADIUS and
// GEORADIUSBYMEMBER to their key, scanning as Redis's georadiusGetKeys does: from
// args[5], the last such option followed by an argument wins.
func georadiusKeys(_ string, args [][]byte) (KeySpan, string) {
	ks := KeySpan{First: 1, Last: 1, Step: 1}
	for i := 5; i < len(args); i++ {
		if (bytes.EqualFold(args[i], []byte("store")) || bytes.EqualFold(args[i], []byte("storedist"))) && i+1 < len(args) {
			ks.Extra = i + 1
			i++
		}
	}
	return ks, ""
}

// sortKeys adds SORT's STORE destination to its key, scanning as Redis's sortGetKeys
// does: LIMIT skips two arguments, GET and BY one, the last STORE wins. BY and GET
// patterns are not keys to route by: the shard reads them within the key's partition.
func sortKeys(_ string, args [][]byte) (KeySpan, string) {
	ks := KeySpan{First: 1, Last: 1, Step: 1}
	for i := 2; i < len(args); i++ {
		switch a := args[i]; {
		case bytes.EqualFold(a, []byte("limit")):
			i += 2
		case bytes.EqualFold(a, []byte("get")), bytes.EqualFold(a, []byte("by")):
			i++
		case bytes.EqualFold(a, []byte("store")) && i+1 < len(args):
			ks.Extra = i + 1
		}
	}
	return ks, ""
}

// subcommand is one subcommand of a container command (OBJECT, MEMORY): its arity,
// counting the command and subcommand names, and whether args[2] is its key.
type subcommand struct {
	arity int
	key   bool
}

// subcommandKeys routes a container command by its subcommand, answering unknown
// subcommands and wrong arities with Redis's own errors. Keyless subcommands go to one
// shard: HELP is the same text everywhere; MEMORY DOCTOR, STATS, MALLOC-STATS and PURGE
// then describe that one shard.
func subcommandKeys(subs map[string]subcommand) keyFunc {
	return func(name string, args [][]byte) (KeySpan, string) {
		sub := strings.ToLower(string(args[1]))
		s, ok := subs[sub]
		if !ok {
			return KeySpan{}, UnknownSubcommand(name, string(args[1]))
		}
		if (s.arity >= 0 && len(args) != s.arity) || (s.arity < 0 && len(args) < -s.arity) {
			return KeySpan{}, WrongArgs(name + "|" + sub)
		}
		if !s.key {
			return KeySpan{AnyPart: true}, ""
		}
		return KeySpan{First: 2, Last: 2, Step: 1}, ""
	}
}
