package exec

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shardis/shardis/ring"
)

// TestSortRedis replays a session whose replies were recorded from
// redis-server 7.0.15 (RESP3). Keys read through BY and GET share the
// sorted key's {t} tag, as Shardis (like a Redis Cluster) requires. The
// strtod range cases come last: Redis leaves a stale ERANGE in errno after
// them, which fails later numeric sorts there (a Redis quirk not copied).
func TestSortRedis(t *testing.T) {
	s := newTestStore(t)
	steps := []struct {
		want string
		args []string
	}{
		{":10\r\n", []string{"rpush", "n", "3", "1", "2", "10", " 5", "", "1.5", "0x10", "inf", "-inf"}},
		{"*10\r\n$4\r\n-inf\r\n$0\r\n\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n 5\r\n$2\r\n10\r\n$4\r\n0x10\r\n$3\r\ninf\r\n", []string{"sort", "n"}},
		{"*10\r\n$3\r\ninf\r\n$4\r\n0x10\r\n$2\r\n10\r\n$2\r\n 5\r\n$1\r\n3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$1\r\n1\r\n$0\r\n\r\n$4\r\n-inf\r\n", []string{"sort", "n", "desc"}},
		{"*3\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n", []string{"sort", "n", "limit", "2", "3"}},
		{"*2\r\n$4\r\n-inf\r\n$0\r\n\r\n", []string{"sort", "n", "limit", "-5", "2"}},
		{"*7\r\n$2\r\n 5\r\n$1\r\n3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$1\r\n1\r\n$0\r\n\r\n$4\r\n-inf\r\n", []string{"sort", "n", "limit", "3", "-1", "desc"}},
		{"*1\r\n$3\r\ninf\r\n", []string{"sort", "n", "limit", "9", "5"}},
		{"*0\r\n", []string{"sort", "n", "limit", "10", "5"}},
		{"*8\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n 5\r\n$2\r\n10\r\n$4\r\n0x10\r\n$3\r\ninf\r\n", []string{"sort", "n", "limit", "2", "9223372036854775807"}},
		{"*0\r\n", []string{"sort", "n", "limit", "9223372036854775807", "9223372036854775807"}},
		{"*2\r\n$4\r\n-inf\r\n$0\r\n\r\n", []string{"sort", "n", "limit", "-9223372036854775808", "2"}},
		{"*0\r\n", []string{"sort", "n", "limit", "1", "0"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"sort", "n", "limit", "x", "1"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"sort", "n", "limit", "1", "1.5"}},
		{"-ERR syntax error\r\n", []string{"sort", "n", "limit", "1"}},
		{"*10\r\n$0\r\n\r\n$2\r\n 5\r\n$4\r\n-inf\r\n$4\r\n0x10\r\n$1\r\n1\r\n$3\r\n1.5\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n$3\r\ninf\r\n", []string{"sort", "n", "alpha"}},
		{"*3\r\n$3\r\ninf\r\n$1\r\n3\r\n$1\r\n2\r\n", []string{"sort", "n", "alpha", "desc", "limit", "0", "3"}},
		{"-ERR syntax error\r\n", []string{"sort", "n", "foo"}},
		{"*10\r\n$3\r\ninf\r\n$4\r\n0x10\r\n$2\r\n10\r\n$2\r\n 5\r\n$1\r\n3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$1\r\n1\r\n$0\r\n\r\n$4\r\n-inf\r\n", []string{"sort", "n", "ASC", "DESC"}},
		{"*10\r\n$4\r\n-inf\r\n$0\r\n\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n 5\r\n$2\r\n10\r\n$4\r\n0x10\r\n$3\r\ninf\r\n", []string{"sort", "n", "desc", "asc"}},
		{":2\r\n", []string{"rpush", "bad", "1", "5 "}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "bad"}},
		{"*2\r\n$1\r\n1\r\n$2\r\n5 \r\n", []string{"sort", "bad", "alpha"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "bad", "limit", "0", "0"}},
		{":3\r\n", []string{"rpush", "subx", "1", "0x1p-1070", "2.2250738585072014e-308"}},
		{"*3\r\n$9\r\n0x1p-1070\r\n$23\r\n2.2250738585072014e-308\r\n$1\r\n1\r\n", []string{"sort", "subx"}},
		{":2\r\n", []string{"rpush", "nan", "1", "nan"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "nan"}},
		{":2\r\n", []string{"rpush", "sp", "1", "  "}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "sp"}},
		{":2\r\n", []string{"rpush", "nul", "5\x00x", "2"}},
		{"*2\r\n$1\r\n2\r\n$3\r\n5\x00x\r\n", []string{"sort", "nul"}},
		{":8\r\n", []string{"rpush", "t", "01", "1", "1.0", "+1", "2", "-0", "0.0", "0"}},
		{"*8\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n0.0\r\n$2\r\n+1\r\n$2\r\n01\r\n$1\r\n1\r\n$3\r\n1.0\r\n$1\r\n2\r\n", []string{"sort", "t"}},
		{"*8\r\n$1\r\n2\r\n$3\r\n1.0\r\n$1\r\n1\r\n$2\r\n01\r\n$2\r\n+1\r\n$3\r\n0.0\r\n$1\r\n0\r\n$2\r\n-0\r\n", []string{"sort", "t", "desc"}},
		{"*3\r\n$1\r\n0\r\n$3\r\n0.0\r\n$2\r\n+1\r\n", []string{"sort", "t", "limit", "1", "3"}},
		{":6\r\n", []string{"rpush", "l", "c", "a", "b", "a", "B", "A"}},
		{"*6\r\n$1\r\nA\r\n$1\r\nB\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", []string{"sort", "l", "alpha"}},
		{"*6\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nB\r\n$1\r\nA\r\n", []string{"sort", "l", "alpha", "desc"}},
		{"*2\r\n$1\r\nB\r\n$1\r\na\r\n", []string{"sort", "l", "alpha", "limit", "1", "2"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "l"}},
		{":4\r\n", []string{"rpush", "nl", "a\x00b", "a\x00a", "a\x00c", "a"}},
		{"*4\r\n$3\r\na\x00b\r\n$3\r\na\x00a\r\n$3\r\na\x00c\r\n$1\r\na\r\n", []string{"sort", "nl", "alpha"}},
		{"*4\r\n$3\r\na\x00b\r\n$3\r\na\x00a\r\n$3\r\na\x00c\r\n$1\r\na\r\n", []string{"sort", "nl", "alpha", "desc"}},
		{":4\r\n", []string{"sort", "nl", "alpha", "store", "nld"}},
		{"*4\r\n$1\r\na\r\n$3\r\na\x00a\r\n$3\r\na\x00b\r\n$3\r\na\x00c\r\n", []string{"lrange", "nld", "0", "-1"}},
		{":1\r\n", []string{"del", "nld"}},
		{":5\r\n", []string{"rpush", "{t}l", "c", "a", "b", "a", "d"}},
		{"+OK\r\n", []string{"mset", "{t}w_a", "2", "{t}w_b", "1", "{t}w_d", "x"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "{t}l", "by", "{t}w_*"}},
		{"+OK\r\n", []string{"set", "{t}w_d", "-1"}},
		{"*5\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\na\r\n", []string{"sort", "{t}l", "by", "{t}w_*"}},
		{"*5\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "desc"}},
		{"*2\r\n$1\r\nc\r\n$1\r\nb\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "limit", "1", "2"}},
		{"*5\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\na\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "alpha"}},
		{"*5\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\nc\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "alpha", "desc"}},
		{"*2\r\n$1\r\nc\r\n$1\r\nd\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "alpha", "limit", "0", "2"}},
		{":2\r\n", []string{"hset", "{t}h_a", "f", "9", "g", "z"}},
		{":1\r\n", []string{"hset", "{t}h_b", "f", "8"}},
		{"+OK\r\n", []string{"set", "{t}h_c", "x"}},
		{":1\r\n", []string{"rpush", "{t}h_d", "f"}},
		{"*25\r\n$1\r\nc\r\n_\r\n_\r\n_\r\n_\r\n$1\r\nd\r\n_\r\n$2\r\n-1\r\n_\r\n_\r\n$1\r\nb\r\n$1\r\n8\r\n$1\r\n1\r\n_\r\n_\r\n$1\r\na\r\n$1\r\n9\r\n$1\r\n2\r\n_\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n9\r\n$1\r\n2\r\n_\r\n$1\r\nz\r\n", []string{"sort", "{t}l", "by", "{t}h_*->f", "get", "#", "get", "{t}h_*->f", "get", "{t}w_*", "get", "{t}nosuch", "get", "{t}h_*->g"}},
		{"*5\r\n_\r\n_\r\n_\r\n_\r\n_\r\n", []string{"sort", "{t}l", "by", "{t}h_*->f", "alpha", "get", "{t}h_*->"}},
		{"*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\na\r\n", []string{"sort", "{t}l", "by", "{t}h_*->g", "alpha"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "{t}l", "by", "{t}h_*->g"}},
		{"*5\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n", []string{"sort", "{t}l", "by", "nosort"}},
		{"*5\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n", []string{"sort", "{t}l", "by", "nosort", "desc"}},
		{"*2\r\n$1\r\na\r\n$1\r\nb\r\n", []string{"sort", "{t}l", "by", "nosort", "limit", "1", "2"}},
		{"*2\r\n$1\r\na\r\n$1\r\nb\r\n", []string{"sort", "{t}l", "by", "nosort", "desc", "limit", "1", "2"}},
		{"*0\r\n", []string{"sort", "{t}l", "by", "nosort", "limit", "1", "0"}},
		{"*0\r\n", []string{"sort", "{t}l", "by", "nosort", "limit", "7", "2"}},
		{"*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nc\r\n_\r\n", []string{"sort", "{t}l", "by", "nosort", "desc", "limit", "3", "100", "get", "#", "get", "{t}w_*"}},
		{"*5\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "by", "nosort"}},
		{"*5\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n", []string{"sort", "{t}l", "by", "nosort", "by", "{t}w_*"}},
		{"*2\r\n$1\r\nc\r\n$1\r\na\r\n", []string{"sort", "{t}l", "by", "nosort", "alpha", "limit", "0", "2"}},
		{"*15\r\n$1\r\na\r\n_\r\n_\r\n$1\r\na\r\n_\r\n_\r\n$1\r\nb\r\n_\r\n_\r\n$1\r\nc\r\n_\r\n_\r\n$1\r\nd\r\n_\r\n_\r\n", []string{"sort", "{t}l", "get", "#\x00x", "get", "{t}\x00*", "get", "{t}w_*\x00x", "alpha"}},
		{"+OK\r\n", []string{"set", "{t}w_a\x00x", "nul"}},
		{"*5\r\n$3\r\nnul\r\n$3\r\nnul\r\n_\r\n_\r\n_\r\n", []string{"sort", "{t}l", "get", "{t}w_*\x00x", "alpha"}},
		{":5\r\n", []string{"sort", "{t}l", "by", "{t}w_*", "get", "{t}w_*", "store", "{t}dst"}},
		{"*5\r\n$2\r\n-1\r\n$0\r\n\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n2\r\n", []string{"lrange", "{t}dst", "0", "-1"}},
		{":5\r\n", []string{"sort", "{t}l", "alpha", "store", "{t}dst", "get", "{t}h_*->f"}},
		{"*5\r\n$1\r\n9\r\n$1\r\n9\r\n$1\r\n8\r\n$0\r\n\r\n$0\r\n\r\n", []string{"lrange", "{t}dst", "0", "-1"}},
		{"+list\r\n", []string{"type", "{t}dst"}},
		{"$9\r\nquicklist\r\n", []string{"object", "encoding", "{t}dst"}},
		{":1\r\n", []string{"expire", "{t}dst", "100"}},
		{":1\r\n", []string{"sort", "{t}l", "alpha", "store", "{t}dst", "limit", "0", "1"}},
		{":-1\r\n", []string{"ttl", "{t}dst"}},
		{"*1\r\n$1\r\na\r\n", []string{"lrange", "{t}dst", "0", "-1"}},
		{":0\r\n", []string{"sort", "{t}l", "alpha", "store", "{t}dst", "limit", "10", "1"}},
		{":0\r\n", []string{"exists", "{t}dst"}},
		{"+OK\r\n", []string{"set", "{t}dst", "str"}},
		{":2\r\n", []string{"sort", "{t}l", "alpha", "store", "{t}dst", "limit", "0", "2"}},
		{"*2\r\n$1\r\na\r\n$1\r\na\r\n", []string{"lrange", "{t}dst", "0", "-1"}},
		{":5\r\n", []string{"sort", "{t}l", "by", "nosort", "desc", "store", "{t}l"}},
		{"*5\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n", []string{"lrange", "{t}l", "0", "-1"}},
		{"*0\r\n", []string{"sort", "nokey"}},
		{":0\r\n", []string{"sort", "nokey", "store", "{t}dst"}},
		{":0\r\n", []string{"exists", "{t}dst"}},
		{"-ERR syntax error\r\n", []string{"sort", "nokey", "foo"}},
		{"+OK\r\n", []string{"set", "str", "1"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"sort", "str"}},
		{"-ERR syntax error\r\n", []string{"sort", "str", "foo"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"sort", "str", "limit", "a", "b"}},
		{":1\r\n", []string{"hset", "hh", "a", "1"}},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", []string{"sort", "hh"}},
		{"*5\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", []string{"sort_ro", "{t}l", "alpha"}},
		{"-ERR syntax error\r\n", []string{"sort_ro", "{t}l", "alpha", "store", "{t}dst"}},
		{"*1\r\n$1\r\na\r\n", []string{"sort_ro", "{t}l", "by", "nosort", "limit", "1", "1"}},
		{":4\r\n", []string{"zadd", "z", "3", "10", "1", "2", "2", "1.5", "4", "b"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "z"}},
		{":1\r\n", []string{"zrem", "z", "b"}},
		{"*3\r\n$3\r\n1.5\r\n$1\r\n2\r\n$2\r\n10\r\n", []string{"sort", "z"}},
		{"*2\r\n$1\r\n2\r\n$3\r\n1.5\r\n", []string{"sort", "z", "desc", "limit", "1", "2"}},
		{"*3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$2\r\n10\r\n", []string{"sort", "z", "by", "nosort"}},
		{"*3\r\n$2\r\n10\r\n$3\r\n1.5\r\n$1\r\n2\r\n", []string{"sort", "z", "by", "nosort", "desc"}},
		{"*2\r\n$3\r\n1.5\r\n$1\r\n2\r\n", []string{"sort", "z", "by", "nosort", "desc", "limit", "1", "2"}},
		{"*2\r\n$3\r\n1.5\r\n$2\r\n10\r\n", []string{"sort", "z", "by", "nosort", "limit", "1", "10"}},
		{"*0\r\n", []string{"sort", "z", "by", "nosort", "limit", "5", "10"}},
		{"*3\r\n$3\r\n1.5\r\n$2\r\n10\r\n$1\r\n2\r\n", []string{"sort", "z", "alpha"}},
		{":3\r\n", []string{"sort", "z", "by", "nosort", "store", "zd"}},
		{"*3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$2\r\n10\r\n", []string{"lrange", "zd", "0", "-1"}},
		{":4\r\n", []string{"sadd", "s", "3", "1", "2", "10"}},
		{"*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n", []string{"sort", "s"}},
		{"*2\r\n$2\r\n10\r\n$1\r\n3\r\n", []string{"sort", "s", "desc", "limit", "0", "2"}},
		{"*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n", []string{"sort", "s", "alpha"}},
		{":4\r\n", []string{"sort", "s", "by", "nosort", "store", "sd"}},
		{"*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n", []string{"lrange", "sd", "0", "-1"}},
		{":4\r\n", []string{"sort", "s", "by", "nosort", "desc", "store", "sd"}},
		{"*4\r\n$1\r\n3\r\n$1\r\n2\r\n$2\r\n10\r\n$1\r\n1\r\n", []string{"lrange", "sd", "0", "-1"}},
		{":2\r\n", []string{"sort", "s", "by", "nosort", "desc", "limit", "1", "2", "store", "sd"}},
		{"*2\r\n$1\r\n2\r\n$2\r\n10\r\n", []string{"lrange", "sd", "0", "-1"}},
		{":3\r\n", []string{"sadd", "{t}s2", "b", "c", "a"}},
		{":6\r\n", []string{"sort", "{t}s2", "by", "nosort", "store", "{t}d2", "get", "#", "get", "{t}w_*"}},
		{"*6\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\nc\r\n$0\r\n\r\n", []string{"lrange", "{t}d2", "0", "-1"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "{t}s2", "store", "{t}d2"}},
		{"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n", []string{"sort", "{t}s2", "by", "{t}w_*", "get", "#"}},
		{":1\r\n", []string{"sadd", "one", "x"}},
		{"*1\r\n$1\r\nx\r\n", []string{"sort", "one", "by", "nosort"}},
		{":2\r\n", []string{"rpush", "big", "1", "1e400"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "big"}},
		{":2\r\n", []string{"rpush", "tiny", "1", "1e-400"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "tiny"}},
		{":2\r\n", []string{"rpush", "sub", "1", "1e-310"}},
		{"-ERR One or more scores can't be converted into double\r\n", []string{"sort", "sub"}},
	}
	for _, st := range steps {
		s.expect(st.want, st.args...)
	}
}

// TestSortCluster checks that BY and GET patterns are refused, as Redis
// Cluster (7.4 and later) refuses them, unless every key they can form
// hashes to the sorted key's slot.
func TestSortCluster(t *testing.T) {
	s := newTestStore(t)
	s.do("rpush", "{a}l", "2", "1")
	s.do("rpush", "abc", "2", "1")
	s.do("set", "str", "x")
	const by = "-" + string(errSortBy) + "\r\n"
	const get = "-" + string(errSortGet) + "\r\n"
	const two = "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
	for _, c := range []struct {
		want string
		args []string
	}{
		{two, []string{"sort", "{a}l", "by", "{a}w_*"}},
		{two, []string{"sort", "{a}l", "by", "w_{a}*"}},
		{two, []string{"sort", "{a}l", "by", "{a}h_*->f"}},
		{two, []string{"sort", "abc", "by", "{abc}*"}},
		{by, []string{"sort", "{a}l", "by", "w_*"}},
		{by, []string{"sort", "{a}l", "by", "{b}w_*"}},
		{by, []string{"sort", "{a}l", "by", "{}{a}w_*"}},
		{by, []string{"sort", "{a}l", "by", "{a*}"}},
		{by, []string{"sort", "{a}l", "by", "\\{a}*"}},
		{by, []string{"sort", "{a}l", "by", "{a?}*"}},
		{by, []string{"sort", "{a}l", "by", "[{a}*"}},
		{by, []string{"sort", "abc", "by", "abc*"}},
		{"*2\r\n$1\r\n2\r\n$1\r\n1\r\n", []string{"sort", "{a}l", "by", "nosort"}},
		{"*2\r\n$1\r\n2\r\n$1\r\n1\r\n", []string{"sort", "{a}l", "by", "{b}nosort"}},
		{two, []string{"sort", "{a}l", "get", "#"}},
		{"*2\r\n_\r\n_\r\n", []string{"sort", "{a}l", "get", "{a}fixed"}},
		{two, []string{"sort_ro", "{a}l", "get", "#"}},
		{get, []string{"sort", "{a}l", "get", "w_*"}},
		{get, []string{"sort", "{a}l", "get", "#", "get", "{b}*"}},
		{get, []string{"sort_ro", "{a}l", "get", "fixed"}},
		{get, []string{"sort", "abc", "get", "{b}*"}},
		// Options are checked in order, and before the key's type.
		{by, []string{"sort", "{a}l", "by", "w_*", "foo"}},
		{"-ERR syntax error\r\n", []string{"sort", "{a}l", "foo", "by", "w_*"}},
		{by, []string{"sort", "str", "by", "w_*"}},
		{get, []string{"sort", "nokey", "get", "x*"}},
	} {
		s.expect(c.want, c.args...)
	}
}

func TestSortPatternSlot(t *testing.T) {
	for _, c := range []struct {
		pat  string
		slot int
	}{
		{"{a}w_*", int(ring.Slot([]byte("a")))},
		{"x{a}y*", int(ring.Slot([]byte("a")))},
		{"plain", int(ring.Slot([]byte("plain")))},
		{"{}x", int(ring.Slot([]byte("{}x")))},
		{"{a", int(ring.Slot([]byte("{a")))},
		{"{}{a}*", -1},
		{"*{a}", -1},
		{"{a?}", -1},
	} {
		if got := sortPatternSlot([]byte(c.pat)); got != c.slot {
			t.Errorf("sortPatternSlot(%q) = %d, want %d", c.pat, got, c.slot)
		}
	}
}

// TestSortSetUnsorted: BY nosort on a set replies in our member order,
// which (like Redis's) is arbitrary, so only the members are checked; and
// a big set (hashtable) sorts numerically with LIMIT.
func TestSortSetUnsorted(t *testing.T) {
	s := newTestStore(t)
	args := []string{"sadd", "{s}set"}
	for i := 999; i >= 0; i-- {
		args = append(args, strconv.Itoa(i))
	}
	s.do(args...)
	got := s.do("sort", "{s}set", "by", "nosort", "limit", "0", "-1")
	if !strings.HasPrefix(got, "*1000\r\n") {
		t.Fatalf("sort by nosort: %q", got[:min(len(got), 40)])
	}
	var members []string
	for _, line := range strings.Split(got, "\r\n")[1:] {
		if line != "" && line[0] != '$' {
			members = append(members, line)
		}
	}
	slices.SortFunc(members, func(a, b string) int { return cmpInt(a) - cmpInt(b) })
	for i, m := range members {
		if m != strconv.Itoa(i) {
			t.Fatalf("member %d is %q", i, m)
		}
	}
	s.expect("*3\r\n$3\r\n997\r\n$3\r\n996\r\n$3\r\n995\r\n", "sort", "{s}set", "desc", "limit", "2", "3")
	s.expect("*2\r\n$2\r\n10\r\n$3\r\n100\r\n", "sort", "{s}set", "alpha", "limit", "2", "2")
	s.expect(":1000\r\n", "sort", "{s}set", "by", "nosort", "store", "{s}d")
	s.expect("*3\r\n$1\r\n0\r\n$1\r\n1\r\n$2\r\n10\r\n", "lrange", "{s}d", "0", "2")
}

func cmpInt(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestSortExpired: a key past its expiry is missing to BY and GET, and a
// sorted key past its expiry is an empty one.
func TestSortExpired(t *testing.T) {
	s := newTestStore(t)
	s.do("rpush", "{e}l", "a", "b")
	s.do("set", "{e}w_a", "5")
	s.do("set", "{e}w_b", "3", "px", "10")
	s.expect("*4\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\na\r\n$1\r\n5\r\n", "sort", "{e}l", "by", "{e}w_*", "get", "#", "get", "{e}w_*")
	s.now += 20
	s.expect("*4\r\n$1\r\nb\r\n_\r\n$1\r\na\r\n$1\r\n5\r\n", "sort_ro", "{e}l", "by", "{e}w_*", "get", "#", "get", "{e}w_*")
	s.do("pexpire", "{e}l", "10")
	s.now += 20
	s.expect("*0\r\n", "sort", "{e}l", "by", "{e}w_*")
}
