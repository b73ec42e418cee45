package resp

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestCommandTableSanity(t *testing.T) {
	want := strings.Fields("append auth bitcount bitfield bitfield_ro bitop bitpos client command copy dbsize decr decrby del dump echo exists expire expireat expiretime flushall flushdb geoadd geodist geohash geopos georadius georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore get getbit getdel getex getrange getset hdel hello hexists hget hgetall hincrby hincrbyfloat hkeys hlen hmget hmset hrandfield hscan hset hsetnx hstrlen hvals incr incrby incrbyfloat info keys lcs lindex linsert llen lmove lmpop lpop lpos lpush lpushx lrange lrem lset ltrim memory mget mset msetnx object persist pexpire pexpireat pexpiretime pfadd pfcount pfmerge ping psetex pttl quit randomkey rename renamenx reset restore rpop rpoplpush rpush rpushx sadd scan scard sdiff sdiffstore select set setbit setex setnx setrange sinter sintercard sinterstore sismember smembers smismember smove sort sort_ro spop srandmember srem sscan strlen substr sunion sunionstore time touch ttl type unlink zadd zcard zcount zdiff zdiffstore zincrby zinter zintercard zinterstore zlexcount zmpop zmscore zpopmax zpopmin zrandmember zrange zrangebylex zrangebyscore zrangestore zrank zrem zremrangebylex zremrangebyrank zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion zunionstore")
	sort.Strings(want)
	var names []string
	for _, c := range Commands() {
		names = append(names, c.Name)
		if c.Arity == 0 || c.Summary == "" || c.Since == "" || c.Group == "" || len(c.ACLCategories) == 0 {
			t.Errorf("%s: incomplete entry %+v", c.Name, c)
		}
		if c.IsWrite() && c.IsReadonly() {
			t.Errorf("%s: both write and readonly", c.Name)
		}
		min := c.Arity
		if min < 0 {
			min = -min
		}
		if c.FirstKey == 0 {
			if c.LastKey != 0 || c.Step != 0 {
				t.Errorf("%s: keyless command with key range", c.Name)
			}
			continue
		}
		if c.FirstKey >= min || c.Step <= 0 || (c.LastKey > 0 && (c.LastKey < c.FirstKey || c.LastKey >= min)) {
			t.Errorf("%s: key range %d/%d/%d inconsistent with arity %d", c.Name, c.FirstKey, c.LastKey, c.Step, c.Arity)
		}
		if c.LastKey < 0 && c.Arity > 0 {
			t.Errorf("%s: open key range with fixed arity", c.Name)
		}
		if !c.IsWrite() && !c.IsReadonly() {
			t.Errorf("%s: command with keys is neither write nor readonly", c.Name)
		}
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("commands %v, want %v", names, want)
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"get", "GET", "gEt", "incrbyfloat", "PEXPIRETIME"} {
		c := Lookup([]byte(name))
		if c == nil || c.Name != strings.ToLower(name) {
			t.Errorf("Lookup(%q) = %v", name, c)
		}
	}
	for _, name := range []string{"", "ge", "gett", "hgett", strings.Repeat("a", 100), "get\x00"} {
		if c := Lookup([]byte(name)); c != nil {
			t.Errorf("Lookup(%q) = %v", name, c.Name)
		}
	}
	name := []byte("IncrByFloat")
	if allocs := testing.AllocsPerRun(100, func() { Lookup(name) }); allocs != 0 {
		t.Errorf("Lookup allocates %v", allocs)
	}
}

func TestArityAndKeys(t *testing.T) {
	args := func(s string) [][]byte {
		var out [][]byte
		for _, f := range strings.Fields(s) {
			out = append(out, []byte(f))
		}
		return out
	}
	tests := []struct {
		cmd  string
		ok   bool
		keys string
	}{
		{"get k", true, "k"},
		{"get", false, ""},
		{"get a b", false, "a"},
		{"set k v ex 10", true, "k"},
		{"mset a 1 b 2 c 3", true, "a b c"},
		{"mget a b c", true, "a b c"},
		{"del a", true, "a"},
		{"rename a b", true, "a b"},
		{"copy a b replace", true, "a b"},
		{"ping", true, ""},
		{"keys *", true, ""},
	}
	for _, tt := range tests {
		a := args(tt.cmd)
		c := Lookup(a[0])
		if got := c.ArityOK(len(a)); got != tt.ok {
			t.Errorf("%q: ArityOK=%v", tt.cmd, got)
		}
		var keys []string
		for _, k := range c.Keys(a) {
			keys = append(keys, string(k))
		}
		if strings.Join(keys, " ") != tt.keys {
			t.Errorf("%q: keys %q, want %q", tt.cmd, keys, tt.keys)
		}
	}
}

func TestAppendCommandInfoAndDocs(t *testing.T) {
	// Compared with redis-server 7.0.15 (key specifications aside, which Shardis sends
	// empty).
	got := string(AppendCommandInfo(nil, Lookup([]byte("del")), RESP3))
	want := "*10\r\n$3\r\ndel\r\n:-2\r\n~1\r\n+write\r\n:1\r\n:-1\r\n:1\r\n~3\r\n+@keyspace\r\n+@write\r\n+@slow\r\n" +
		"~2\r\n$26\r\nrequest_policy:multi_shard\r\n$23\r\nresponse_policy:agg_sum\r\n~0\r\n~0\r\n"
	if got != want {
		t.Errorf("COMMAND INFO del:\n got %q\nwant %q", got, want)
	}
	got = string(AppendCommandInfo(nil, Lookup([]byte("get")), RESP2))
	want = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n"
	if got != want {
		t.Errorf("COMMAND INFO get:\n got %q\nwant %q", got, want)
	}
	got = string(AppendCommandDocs(nil, Lookup([]byte("getset")), RESP2))
	want = "$6\r\ngetset\r\n*14\r\n$7\r\nsummary\r\n$54\r\nSet the string value of a key and return its old value\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n" +
		"$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n" +
		"$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$30\r\n`SET` with the `!GET` argument\r\n"
	if got != want {
		t.Errorf("COMMAND DOCS getset:\n got %q\nwant %q", got, want)
	}
	for _, c := range Commands() {
		for _, proto := range []int{RESP2, RESP3} {
			raw := AppendCommandInfo(nil, c, proto)
			if _, n, err := ParseValue(raw); err != nil || n != len(raw) {
				t.Errorf("%s info: %v", c.Name, err)
			}
			raw = AppendCommandDocs(AppendMapHeader(nil, 1, proto), c, proto)
			if _, n, err := ParseValue(raw); err != nil || n != len(raw) {
				t.Errorf("%s docs: %v", c.Name, err)
			}
		}
	}
}

// TestLookupFindsEveryCommand: every table entry is found by its name in upper case,
// however long the name (maxNameLen once cut off GEORADIUSBYMEMBER).
func TestLookupFindsEveryCommand(t *testing.T) {
	for _, c := range Commands() {
		if got := Lookup([]byte(strings.ToUpper(c.Name))); got != c {
			t.Errorf("Lookup(%q) = %v", strings.ToUpper(c.Name), got)
		}
	}
}
