package proxy

import (
	"slices"
	"strings"
	"testing"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// routeCases give, per command line, the argument indexes of its keys (as Redis's
// COMMAND GETKEYS lists them) or the error Redis 7.0.15 answers; errors were captured
// from redis-server 7.0.15.
var routeCases = []struct {
	line string
	keys []int
	err  string
}{
	{"ZUNION 2 a b WITHSCORES", []int{2, 3}, ""},
	{"ZUNION 0 z", nil, "ERR at least 1 input key is needed for 'zunion' command"},
	{"ZUNION -1 z", nil, "ERR at least 1 input key is needed for 'zunion' command"},
	{"ZUNION 3 z z2", nil, "ERR syntax error"},
	{"ZUNION x z", nil, "ERR value is not an integer or out of range"},
	{"ZUNION 01 z", nil, "ERR value is not an integer or out of range"},
	{"ZUNION +1 z", nil, "ERR value is not an integer or out of range"},
	{"ZUNION -0 z", nil, "ERR value is not an integer or out of range"},
	{"ZUNION 9223372036854775808 z", nil, "ERR value is not an integer or out of range"},
	{"ZUNION 9223372036854775807 z", nil, "ERR syntax error"},
	{"ZINTER 2 a b", []int{2, 3}, ""},
	{"ZINTER 0 z", nil, "ERR at least 1 input key is needed for 'zinter' command"},
	{"ZINTER 2 z", nil, "ERR syntax error"},
	{"ZDIFF 1 a", []int{2}, ""},
	{"ZDIFF 0 z", nil, "ERR at least 1 input key is needed for 'zdiff' command"},
	{"ZINTERCARD 2 a b LIMIT 1", []int{2, 3}, ""},
	{"ZINTERCARD 0 z", nil, "ERR at least 1 input key is needed for 'zintercard' command"},
	{"ZINTERCARD 3 z", nil, "ERR syntax error"},
	{"ZINTERCARD x z", nil, "ERR value is not an integer or out of range"},
	{"ZUNIONSTORE d 2 a b", []int{1, 3, 4}, ""},
	{"ZUNIONSTORE d 0 z", nil, "ERR at least 1 input key is needed for 'zunionstore' command"},
	{"ZUNIONSTORE d 3 z", nil, "ERR syntax error"},
	{"ZUNIONSTORE d x z", nil, "ERR value is not an integer or out of range"},
	{"ZINTERSTORE d 1 a", []int{1, 3}, ""},
	{"ZINTERSTORE d 2 z", nil, "ERR syntax error"},
	{"ZDIFFSTORE d 2 a b", []int{1, 3, 4}, ""},
	{"ZDIFFSTORE d 0 z", nil, "ERR at least 1 input key is needed for 'zdiffstore' command"},
	{"ZDIFFSTORE d x z", nil, "ERR value is not an integer or out of range"},
	{"SINTERCARD 2 a b", []int{2, 3}, ""},
	{"SINTERCARD 1 s LIMIT 0", []int{2}, ""},
	{"SINTERCARD 0 s", nil, "ERR numkeys should be greater than 0"},
	{"SINTERCARD -1 s", nil, "ERR numkeys should be greater than 0"},
	{"SINTERCARD x s", nil, "ERR numkeys should be greater than 0"},
	{"SINTERCARD 01 s", nil, "ERR numkeys should be greater than 0"},
	{"SINTERCARD 3 s", nil, "ERR Number of keys can't be greater than number of args"},
	{"SINTERCARD 2 s", nil, "ERR Number of keys can't be greater than number of args"},
	{"LMPOP 2 a b LEFT COUNT 2", []int{2, 3}, ""},
	{"LMPOP 0 l LEFT", nil, "ERR numkeys should be greater than 0"},
	{"LMPOP x l LEFT", nil, "ERR numkeys should be greater than 0"},
	{"LMPOP 01 l LEFT", nil, "ERR numkeys should be greater than 0"},
	{"LMPOP 9223372036854775808 l LEFT", nil, "ERR numkeys should be greater than 0"},
	{"LMPOP 3 l LEFT", nil, "ERR syntax error"},
	{"LMPOP 2 l LEFT", nil, "ERR syntax error"},
	{"ZMPOP 1 z MIN", []int{2}, ""},
	{"ZMPOP 0 z MIN", nil, "ERR numkeys should be greater than 0"},
	{"ZMPOP x z MIN", nil, "ERR numkeys should be greater than 0"},
	{"ZMPOP 3 z MIN", nil, "ERR syntax error"},
	{"ZMPOP 2 z MIN", nil, "ERR syntax error"},
	{"GEORADIUS g 15 37 200 km", []int{1}, ""},
	{"GEORADIUS g 15 37 200 km STORE d", []int{1, 7}, ""},
	{"GEORADIUS g 15 37 200 km store d STOREDIST e", []int{1, 9}, ""},
	{"GEORADIUS g 15 37 200 km STORE", []int{1}, ""}, // the shard answers the syntax error
	{"GEORADIUSBYMEMBER g Palermo 200 km STOREDIST d", []int{1, 6}, ""},
	{"GEORADIUSBYMEMBER g store 200 km", []int{1}, ""},
	{"SORT l", []int{1}, ""},
	{"SORT l BY w_* LIMIT 0 1 GET o_* ALPHA STORE d", []int{1, 11}, ""},
	{"SORT l GET store STORE d", []int{1, 5}, ""},
	{"SORT l LIMIT store 1", []int{1}, ""},
	{"SORT l STORE", []int{1}, ""},
	{"SORT_RO l BY w_* GET o_*", []int{1}, ""},
	{"OBJECT ENCODING k", []int{2}, ""},
	{"OBJECT freq k", []int{2}, ""},
	{"OBJECT IDLETIME k", []int{2}, ""},
	{"OBJECT REFCOUNT k", []int{2}, ""},
	{"OBJECT HELP", nil, ""},
	{"OBJECT ENCODING", nil, "ERR wrong number of arguments for 'object|encoding' command"},
	{"OBJECT ENCODING z extra", nil, "ERR wrong number of arguments for 'object|encoding' command"},
	{"OBJECT HELP x", nil, "ERR wrong number of arguments for 'object|help' command"},
	{"OBJECT FOO", nil, "ERR unknown subcommand 'FOO'. Try OBJECT HELP."},
	{"MEMORY USAGE k", []int{2}, ""},
	{"MEMORY USAGE k SAMPLES 0", []int{2}, ""},
	{"MEMORY USAGE", nil, "ERR wrong number of arguments for 'memory|usage' command"},
	{"MEMORY DOCTOR x", nil, "ERR wrong number of arguments for 'memory|doctor' command"},
	{"MEMORY FOO", nil, "ERR unknown subcommand 'FOO'. Try MEMORY HELP."},
	{"MEMORY HELP", nil, ""},
	{"BITOP AND d a b", []int{2, 3, 4}, ""},
	{"PFMERGE d a b", []int{1, 2, 3}, ""},
	{"SINTERSTORE d a b", []int{1, 2, 3}, ""},
	{"MSETNX a 1 b 2", []int{1, 3}, ""},
	{"GEOSEARCHSTORE d g FROMMEMBER m BYRADIUS 1 km", []int{1, 2}, ""},
}

func splitLine(line string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	return args
}

func TestRouteKeys(t *testing.T) {
	for _, tc := range routeCases {
		args := splitLine(tc.line)
		cmd := resp.Lookup(args[0])
		if cmd == nil {
			t.Fatalf("%s: not in the command table", tc.line)
		}
		ks, msg := cmd.FindKeys(args)
		if msg != tc.err {
			t.Errorf("%s: error %q, want %q", tc.line, msg, tc.err)
			continue
		}
		if msg != "" {
			continue
		}
		if got := ks.Indexes(len(args)); !slices.Equal(got, tc.keys) {
			t.Errorf("%s: keys at %v, want %v", tc.line, got, tc.keys)
		}
	}
}

// TestEveryCommandRouted: every command of the table has a way to be served: locally,
// split, by a key function, or by the table's key positions; and every movablekeys
// command is covered by routeCases.
func TestEveryCommandRouted(t *testing.T) {
	tested := map[string]bool{}
	for _, tc := range routeCases {
		tested[strings.ToLower(strings.Fields(tc.line)[0])] = true
	}
	for _, c := range resp.Commands() {
		rt, ok := routes[c.Name]
		if !ok {
			t.Errorf("%s: no route", c.Name)
			continue
		}
		if rt.local == nil && rt.split == nil && !c.HasMovableKeys() && c.FirstKey <= 0 {
			t.Errorf("%s: forwarded, but has no key to route by", c.Name)
		}
		if slices.Contains(c.Flags, "movablekeys") && !tested[c.Name] {
			t.Errorf("%s: movablekeys command without a routing test case", c.Name)
		}
	}
	for name := range routeOverrides() {
		if resp.Lookup([]byte(name)) == nil {
			t.Errorf("route for %q, which is not in the command table", name)
		}
	}
}

// TestMovableKeysReachTheKeysMaster: over two fake shards, each movable-key command goes
// to the master of its keys' partition, keys in two partitions answer CROSSSLOT, and
// numkeys errors are answered without a shard.
func TestMovableKeysReachTheKeysMaster(t *testing.T) {
	p, shards := startRESP3Cluster(t)
	c := dialProxy(t, p, resp.RESP2)
	// {t} keys share a partition; keys[0] and keys[1] are in different ones.
	keys := keysInDistinctPartitions("k", 2)
	lines := []string{
		"ZUNION 2 {t}a {t}b", "ZUNIONSTORE {t}d 2 {t}a {t}b", "ZINTERCARD 1 {t}a",
		"SINTERCARD 2 {t}a {t}b", "LMPOP 1 {t}a LEFT", "ZMPOP 2 {t}a {t}b MAX",
		"GEORADIUS {t}g 15 37 200 km STORE {t}d", "SORT {t}l STORE {t}d", "OBJECT ENCODING {t}k",
		"MEMORY USAGE {t}k", "BITOP OR {t}d {t}a {t}b",
	}
	master := func(key string) *resp3Shard {
		rt := p.route.Load()
		return shards[rt.table.Master(partitionOfKey(key))]
	}
	for _, line := range lines {
		before := len(master("{t}").received())
		if got := c.do(strings.Fields(line)...); got != "+OK\r\n" {
			t.Errorf("%s: %q", line, got)
			continue
		}
		got := master("{t}").received()
		if len(got) != before+1 || strings.Join(got[len(got)-1], " ") != line {
			t.Errorf("%s did not reach the master of {t}'s partition", line)
		}
	}
	for _, line := range []string{
		"ZUNION 2 " + keys[0] + " " + keys[1],
		"ZUNIONSTORE " + keys[0] + " 1 " + keys[1],
		"SORT " + keys[0] + " STORE " + keys[1],
		"GEORADIUS " + keys[0] + " 15 37 200 km STOREDIST " + keys[1],
		"LMPOP 2 " + keys[0] + " " + keys[1] + " LEFT",
	} {
		if got := c.do(strings.Fields(line)...); got != "-"+resp.ErrCrossSlot+"\r\n" {
			t.Errorf("%s: %q, want CROSSSLOT", line, got)
		}
	}
	total := len(shards["s1"].received()) + len(shards["s2"].received())
	if got := c.do("ZUNION", "0", "z"); got != "-ERR at least 1 input key is needed for 'zunion' command\r\n" {
		t.Errorf("ZUNION 0 z: %q", got)
	}
	if got := c.do("OBJECT", "HELP"); got != "+OK\r\n" {
		t.Errorf("OBJECT HELP: %q", got)
	}
	if n := len(shards["s1"].received()) + len(shards["s2"].received()); n != total+1 {
		t.Errorf("shards got %d commands, want only OBJECT HELP", n-total)
	}
	if got := c.do("COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b"); got != "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n" {
		t.Errorf("COMMAND GETKEYS: %q", got)
	}
}

func partitionOfKey(k string) int { return ring.Partition([]byte(k), 16) }
