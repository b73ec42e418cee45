package proxy

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"github.com/shardis/shardis/resp"
)

// route is how the proxy serves one command of the command table. The zero route
// forwards the command whole to the master of the partition of its keys, found at the
// table's fixed key positions.
type route struct {
	// local answers the command on the proxy (connection state, server info) or by
	// asking every shard (keyspace-wide commands).
	local localHandler
	// split sends one sub-command per backend connection, each with the keys that live
	// there, and merges the replies: stride arguments per key (2 for MSET's pairs).
	split  func(g *keyGroups, reqs []*request, proto int, dst []byte) []byte
	stride int
	// keys finds the keys of a command whose key positions depend on its arguments
	// (Redis's movablekeys); nil means the table's first/last/step are exact.
	keys keyFunc
	// flatten is how the shard's reply is reshaped for RESP2 clients.
	flatten resp.Flatten
}

// keySpan locates a command's keys among its arguments: first, first+step, … up to
// last, and one more key outside that run (a destination) at extra.
type keySpan struct {
	first, last, step int // first 0: no run of keys
	extra             int // 0: none
	// anyPart is set for a keyless subcommand whose answer does not depend on the
	// shard (OBJECT HELP): it goes to partition 0's master.
	anyPart bool
}

// indexes returns the argument indexes of the keys, in argument order (as COMMAND
// GETKEYS lists them), for a command of nargs arguments.
func (ks keySpan) indexes(nargs int) []int {
	var idx []int
	if ks.first > 0 {
		for i := ks.first; i <= min(ks.last, nargs-1); i += max(ks.step, 1) {
			idx = append(idx, i)
		}
	}
	if ks.extra > 0 && ks.extra < nargs {
		at := sort.SearchInts(idx, ks.extra)
		idx = slices.Insert(idx, at, ks.extra)
	}
	return idx
}

// keyFunc returns where the keys of args are (args[0] is the command, name its table
// name), or the error Redis itself answers when the arguments that locate the keys are
// invalid. The proxy answers those errors rather than forwarding: Redis checks them
// before anything else the command does, so the texts are known here, and a command
// with no valid keys has no partition to go to.
type keyFunc func(name string, args [][]byte) (keySpan, string)

// routes holds every command of resp's command table, by table name: the one place
// that says how each is served. Commands not in it are unknown (admin commands aside).
var routes map[string]route

// routeOverrides are the commands not served by the zero route.
func routeOverrides() map[string]route {
	return map[string]route{
		"ping":      {local: cmdPing},
		"echo":      {local: cmdEcho},
		"quit":      {local: cmdQuit},
		"reset":     {local: cmdReset},
		"select":    {local: cmdSelect},
		"hello":     {local: cmdHello},
		"auth":      {local: cmdAuth},
		"command":   {local: cmdCommand},
		"client":    {local: cmdClient},
		"info":      {local: cmdInfo},
		"time":      {local: cmdTime},
		"dbsize":    {local: cmdDBSize},
		"flushall":  {local: cmdFlush},
		"flushdb":   {local: cmdFlush},
		"keys":      {local: cmdKeys},
		"scan":      {local: cmdScan},
		"randomkey": {local: cmdRandomKey},

		"mget":   {split: mergeArrays, stride: 1},
		"del":    {split: sumInts, stride: 1},
		"unlink": {split: sumInts, stride: 1},
		"exists": {split: sumInts, stride: 1},
		"touch":  {split: sumInts, stride: 1},
		"mset":   {split: allOK, stride: 2},

		"zunion":      {keys: zsetNumkeys(1)},
		"zinter":      {keys: zsetNumkeys(1)},
		"zdiff":       {keys: zsetNumkeys(1)},
		"zintercard":  {keys: zsetNumkeys(1)},
		"zunionstore": {keys: zsetNumkeys(2)},
		"zinterstore": {keys: zsetNumkeys(2)},
		"zdiffstore":  {keys: zsetNumkeys(2)},
		"sintercard":  {keys: sintercardKeys},
		"lmpop":       {keys: mpopKeys},
		"zmpop":       {keys: mpopKeys},

		"georadius":         {keys: georadiusKeys},
		"georadiusbymember": {keys: georadiusKeys},
		"sort":              {keys: sortKeys},
		// sort_ro is flagged movablekeys but, having no STORE, its only key is the
		// table's args[1].
		"object": {keys: subcommandKeys(map[string]subcommand{
			"encoding": {3, true}, "freq": {3, true}, "idletime": {3, true}, "refcount": {3, true},
			"help": {2, false},
		})},
		"memory": {keys: subcommandKeys(map[string]subcommand{
			"usage": {-3, true},
			"help":  {2, false}, "doctor": {2, false}, "malloc-stats": {2, false}, "purge": {2, false}, "stats": {2, false},
		})},
	}
}

func init() {
	over := routeOverrides()
	routes = make(map[string]route, len(over))
	for _, c := range resp.Commands() {
		r := over[c.Name]
		r.flatten = c.RESP2Flatten()
		routes[c.Name] = r
	}
}

// keysOf returns where the keys of args are for a command routed by r, or the error to
// answer.
func (r *route) keysOf(cmd *resp.Command, args [][]byte) (keySpan, string) {
	if r.keys != nil {
		return r.keys(cmd.Name, args)
	}
	first, last, step := cmd.KeyIndexes(len(args))
	return keySpan{first: first, last: last, step: step}, ""
}

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
	return func(name string, args [][]byte) (keySpan, string) {
		n, ok := parseLong(args[at])
		if !ok {
			return keySpan{}, resp.ErrNotInteger
		}
		if n < 1 {
			return keySpan{}, "ERR at least 1 input key is needed for '" + name + "' command"
		}
		if n > int64(len(args)-at-1) {
			return keySpan{}, resp.ErrSyntax
		}
		ks := keySpan{first: at + 1, last: at + int(n), step: 1}
		if at == 2 {
			ks.extra = 1
		}
		return ks, ""
	}
}

// errNumkeys is what SINTERCARD, LMPOP and ZMPOP answer to a numkeys that is not a
// positive integer (Redis uses one message for both cases).
const errNumkeys = "ERR numkeys should be greater than 0"

// sintercardKeys: SINTERCARD numkeys key … [LIMIT n], as sinterCardCommand checks it.
func sintercardKeys(_ string, args [][]byte) (keySpan, string) {
	n, ok := parseLong(args[1])
	if !ok || n < 1 {
		return keySpan{}, errNumkeys
	}
	if n > int64(len(args)-2) {
		return keySpan{}, "ERR Number of keys can't be greater than number of args"
	}
	return keySpan{first: 2, last: 1 + int(n), step: 1}, ""
}

// mpopKeys: LMPOP and ZMPOP numkeys key … LEFT|RIGHT|MIN|MAX [COUNT n]; as in Redis's
// lmpopGenericCommand, the direction must follow the keys.
func mpopKeys(_ string, args [][]byte) (keySpan, string) {
	n, ok := parseLong(args[1])
	if !ok || n < 1 {
		return keySpan{}, errNumkeys
	}
	if n >= int64(len(args)-2) {
		return keySpan{}, resp.ErrSyntax
	}
	return keySpan{first: 2, last: 1 + int(n), step: 1}, ""
}

// georadiusKeys adds the STORE/STOREDIST destination of GEORADIUS and
// GEORADIUSBYMEMBER to their key, scanning as Redis's georadiusGetKeys does: from
// args[5], the last such option followed by an argument wins.
func georadiusKeys(_ string, args [][]byte) (keySpan, string) {
	ks := keySpan{first: 1, last: 1, step: 1}
	for i := 5; i < len(args); i++ {
		if (bytes.EqualFold(args[i], []byte("store")) || bytes.EqualFold(args[i], []byte("storedist"))) && i+1 < len(args) {
			ks.extra = i + 1
			i++
		}
	}
	return ks, ""
}

// sortKeys adds SORT's STORE destination to its key, scanning as Redis's sortGetKeys
// does: LIMIT skips two arguments, GET and BY one, the last STORE wins. BY and GET
// patterns are not keys to route by: the shard reads them within the key's partition.
func sortKeys(_ string, args [][]byte) (keySpan, string) {
	ks := keySpan{first: 1, last: 1, step: 1}
	for i := 2; i < len(args); i++ {
		switch a := args[i]; {
		case bytes.EqualFold(a, []byte("limit")):
			i += 2
		case bytes.EqualFold(a, []byte("get")), bytes.EqualFold(a, []byte("by")):
			i++
		case bytes.EqualFold(a, []byte("store")) && i+1 < len(args):
			ks.extra = i + 1
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
	return func(name string, args [][]byte) (keySpan, string) {
		sub := strings.ToLower(string(args[1]))
		s, ok := subs[sub]
		if !ok {
			return keySpan{}, resp.UnknownSubcommand(name, string(args[1]))
		}
		if (s.arity >= 0 && len(args) != s.arity) || (s.arity < 0 && len(args) < -s.arity) {
			return keySpan{}, resp.WrongArgs(name + "|" + sub)
		}
		if !s.key {
			return keySpan{anyPart: true}, ""
		}
		return keySpan{first: 2, last: 2, step: 1}, ""
	}
}
