package exec

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/shardis/shardis/store"
)

// zsetCases are sequences run each against an empty store; every reply
// was taken from redis-server 7.0.15 over RESP3 (redis-cli -3), so the
// table is Redis's own behaviour, errors and edge cases included.
var zsetCases = []struct {
	name  string
	steps [][]string
}{
	{"zadd basics and options", [][]string{
		{":3\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c"},
		{":1\r\n", "zadd", "z", "1", "a", "5", "d"},
		{":2\r\n", "zadd", "z", "ch", "1", "a", "9", "b", "4", "e"},
		{"*5\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\ne\r\n,4\r\n*2\r\n$1\r\nd\r\n,5\r\n*2\r\n$1\r\nb\r\n,9\r\n", "zrange", "z", "0", "-1", "withscores"},
		{":1\r\n", "zadd", "z", "nx", "100", "a", "7", "f"},
		{":0\r\n", "zadd", "z", "xx", "100", "a", "7", "g"},
		{":0\r\n", "zadd", "z", "xx", "ch", "100", "a", "7", "g"},
		{":1\r\n", "zadd", "z", "gt", "ch", "50", "a", "200", "b"},
		{":2\r\n", "zadd", "z", "lt", "ch", "60", "a", "1", "b"},
		{":0\r\n", "zadd", "z", "xx", "gt", "ch", "2", "c", "9", "nope"},
		{":1\r\n", "zadd", "z", "gt", "1", "newgt"},
		{":1\r\n", "zadd", "z", "lt", "1", "newlt"},
		{",60\r\n", "zscore", "z", "a"},
		{",1\r\n", "zscore", "z", "b"},
		{"_\r\n", "zscore", "z", "nope"},
		{"_\r\n", "zscore", "nokey", "a"},
		{":8\r\n", "zcard", "z"},
		{":0\r\n", "zcard", "nokey"},
		{"-ERR XX and NX options at the same time are not compatible\r\n", "zadd", "z", "NX", "XX", "1", "a"},
		{"-ERR GT, LT, and/or NX options at the same time are not compatible\r\n", "zadd", "z", "gt", "lt", "1", "a"},
		{"-ERR GT, LT, and/or NX options at the same time are not compatible\r\n", "zadd", "z", "nx", "gt", "1", "a"},
		{"-ERR GT, LT, and/or NX options at the same time are not compatible\r\n", "zadd", "z", "nx", "lt", "1", "a"},
		{"-ERR INCR option supports a single increment-element pair\r\n", "zadd", "z", "incr", "1", "a", "2", "b"},
		{"-ERR wrong number of arguments for 'zadd' command\r\n", "zadd", "z", "1"},
		{"-ERR syntax error\r\n", "zadd", "z", "1", "a", "2"},
		{"-ERR wrong number of arguments for 'zadd' command\r\n", "zadd", "z", "nx"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "nan", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1", "a", "x", "b"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", " 1", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1 ", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1e400", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1e-400", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1e", "6"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "0x", "6"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "nan(123)", "a"},
		{":0\r\n", "zadd", "nokey", "xx", "1", "a"},
		{":0\r\n", "exists", "nokey"},
		{"_\r\n", "zadd", "nokey", "xx", "incr", "1", "a"},
		{":0\r\n", "exists", "nokey"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zadd", "str", "1", "a"},
		{"-ERR value is not a valid float\r\n", "zadd", "str", "x", "a"},
		{"-ERR XX and NX options at the same time are not compatible\r\n", "zadd", "str", "nx", "xx", "1", "a"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zcard", "str"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zscore", "str", "a"},
	}},
	{"zadd float syntax", [][]string{
		{":14\r\n", "zadd", "z", "0x1p3", "a", "0x10", "b", "0x1.8", "c", ".5", "d", "5.", "e", "+7", "f", "-0", "g", "infinity", "h", "-INF", "i", "4.9e-324", "j", "1e-310", "k", "2.5e-324", "l", "0X1P-2", "m", "1E2", "n"},
		{"*14\r\n*2\r\n$1\r\ni\r\n,-inf\r\n*2\r\n$1\r\ng\r\n,0\r\n*2\r\n$1\r\nj\r\n,4.9406564584124654e-324\r\n*2\r\n$1\r\nl\r\n,4.9406564584124654e-324\r\n*2\r\n$1\r\nk\r\n,9.9999999999999694e-311\r\n*2\r\n$1\r\nm\r\n,0.25\r\n*2\r\n$1\r\nd\r\n,0.5\r\n*2\r\n$1\r\nc\r\n,1.5\r\n*2\r\n$1\r\ne\r\n,5\r\n*2\r\n$1\r\nf\r\n,7\r\n*2\r\n$1\r\na\r\n,8\r\n*2\r\n$1\r\nb\r\n,16\r\n*2\r\n$1\r\nn\r\n,100\r\n*2\r\n$1\r\nh\r\n,inf\r\n", "zrange", "z", "0", "-1", "withscores"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "2.4e-324", "x"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "0x1p-1080", "x"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1e308", "x", "1.8e308", "y"},
		{":1\r\n", "zadd", "z", "1.7976931348623157e308", "x"},
		{",1.7976931348623157e+308\r\n", "zscore", "z", "x"},
		{":1\r\n", "zadd", "z", "0x.8", "o"},
		{",0.5\r\n", "zscore", "z", "o"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", ".", "p"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "-", "p"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "+-", "p"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1e+", "p"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "1\x00", "p"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "in", "p"},
		{"-ERR value is not a valid float\r\n", "zadd", "z", "infinit", "p"},
	}},
	{"zadd incr and zincrby", [][]string{
		{",5\r\n", "zadd", "z", "incr", "5", "a"},
		{",7.5\r\n", "zadd", "z", "incr", "2.5", "a"},
		{",8.5\r\n", "zincrby", "z", "1", "a"},
		{",-2\r\n", "zincrby", "z", "-10.5", "a"},
		{",1\r\n", "zincrby", "z", "1", "b"},
		{"_\r\n", "zadd", "z", "nx", "incr", "1", "a"},
		{"_\r\n", "zadd", "z", "xx", "incr", "1", "nope"},
		{"_\r\n", "zadd", "z", "gt", "incr", "-1", "a"},
		{",-3\r\n", "zadd", "z", "lt", "incr", "-1", "a"},
		{",-2\r\n", "zadd", "z", "gt", "incr", "1", "a"},
		{",inf\r\n", "zadd", "z", "incr", "inf", "c"},
		{"-ERR resulting score is not a number (NaN)\r\n", "zadd", "z", "incr", "-inf", "c"},
		{"-ERR resulting score is not a number (NaN)\r\n", "zincrby", "z", "-inf", "c"},
		{",inf\r\n", "zscore", "z", "c"},
		{"-ERR value is not a valid float\r\n", "zincrby", "z", "nan", "a"},
		{"-ERR value is not a valid float\r\n", "zincrby", "z", "x", "a"},
		{"-ERR syntax error\r\n", "zincrby", "z", "nx", "a"},
		{"-ERR wrong number of arguments for 'zincrby' command\r\n", "zincrby", "z", "1", "a", "2"},
		{",-0\r\n", "zincrby", "nokey", "-0", "m"},
		{",0\r\n", "zscore", "nokey", "m"},
		{",-2\r\n", "zincrby", "z", "0", "a"},
		{",0.10000000000000001\r\n", "zincrby", "z", "0.1", "d"},
		{",0.30000000000000004\r\n", "zincrby", "z", "0.2", "d"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zincrby", "str", "1", "a"},
	}},
	{"zrem zmscore", [][]string{
		{":3\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c"},
		{":1\r\n", "zrem", "z", "a", "x", "a"},
		{":0\r\n", "zrem", "z", "x", "y"},
		{":0\r\n", "zrem", "nokey", "a"},
		{"*3\r\n_\r\n,2\r\n,3\r\n", "zmscore", "z", "a", "b", "c"},
		{"*2\r\n_\r\n_\r\n", "zmscore", "nokey", "a", "b"},
		{":2\r\n", "zrem", "z", "b", "c"},
		{":0\r\n", "exists", "z"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrem", "str", "a"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zmscore", "str", "a"},
	}},
	{"zrank zrevrank", [][]string{
		{":7\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c", "3", "d", "0", "e", "-inf", "f", "inf", "g"},
		{":0\r\n", "zrank", "z", "f"},
		{":1\r\n", "zrank", "z", "e"},
		{":2\r\n", "zrank", "z", "a"},
		{":4\r\n", "zrank", "z", "c"},
		{":5\r\n", "zrank", "z", "d"},
		{":6\r\n", "zrank", "z", "g"},
		{":0\r\n", "zrevrank", "z", "g"},
		{":1\r\n", "zrevrank", "z", "d"},
		{":6\r\n", "zrevrank", "z", "f"},
		{"_\r\n", "zrank", "z", "nope"},
		{"_\r\n", "zrevrank", "z", "nope"},
		{"_\r\n", "zrank", "nokey", "a"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrank", "str", "a"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrevrank", "str", "a"},
	}},
	{"zrange by rank", [][]string{
		{":5\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
		{"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", "zrange", "z", "0", "-1"},
		{"*5\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\ne\r\n,5\r\n", "zrange", "z", "0", "-1", "withscores"},
		{"*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrange", "z", "1", "2"},
		{"*2\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\ne\r\n,5\r\n", "zrange", "z", "-2", "-1", "withscores"},
		{"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", "zrange", "z", "-100", "100"},
		{"*0\r\n", "zrange", "z", "3", "1"},
		{"*0\r\n", "zrange", "z", "5", "10"},
		{"*0\r\n", "zrange", "z", "-1", "-2"},
		{"*1\r\n*2\r\n$1\r\ne\r\n,5\r\n", "zrange", "z", "0", "0", "rev", "withscores"},
		{"*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n", "zrange", "z", "1", "3", "rev"},
		{"*2\r\n$1\r\ne\r\n$1\r\nd\r\n", "zrange", "z", "-100", "1", "rev"},
		{"*2\r\n*2\r\n$1\r\ne\r\n,5\r\n*2\r\n$1\r\nd\r\n,4\r\n", "zrevrange", "z", "0", "1", "withscores"},
		{"*1\r\n$1\r\na\r\n", "zrevrange", "z", "-1", "-1"},
		{"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n", "zrevrange", "z", "2", "100"},
		{"*1\r\n$1\r\ne\r\n", "zrange", "z", "4", "4"},
		{"*0\r\n", "zrange", "z", "0", "-6"},
		{"*1\r\n$1\r\na\r\n", "zrange", "z", "0", "-5"},
		{"-ERR value is not an integer or out of range\r\n", "zrange", "z", "x", "1"},
		{"-ERR value is not an integer or out of range\r\n", "zrange", "z", "1", "1.5"},
		{"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n", "zrange", "z", "0", "-1", "limit", "0", "1"},
		{"*0\r\n", "zrange", "z", "0", "-1", "withscores", "limit", "0", "1", "byscore"},
		{"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n", "zrevrange", "z", "0", "-1", "limit", "0", "1"},
		{"-ERR syntax error\r\n", "zrevrange", "z", "0", "-1", "rev"},
		{"-ERR syntax error\r\n", "zrevrange", "z", "0", "-1", "byscore"},
		{"-ERR syntax error\r\n", "zrange", "z", "0", "-1", "foo"},
		{"*5\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\ne\r\n,5\r\n", "zrange", "z", "0", "-1", "withscores", "withscores"},
		{"*0\r\n", "zrange", "nokey", "0", "-1"},
		{"*0\r\n", "zrange", "nokey", "0", "-1", "withscores"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrange", "str", "0", "-1"},
		{"-ERR value is not an integer or out of range\r\n", "zrange", "str", "x", "1"},
		{"-ERR syntax error\r\n", "zrange", "str", "0", "1", "foo"},
	}},
	{"zrange by score", [][]string{
		{":7\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "-inf", "m", "inf", "n"},
		{"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", "zrangebyscore", "z", "2", "4"},
		{"*2\r\n$1\r\nc\r\n$1\r\nd\r\n", "zrangebyscore", "z", "(2", "4"},
		{"*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "2", "(4"},
		{"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrangebyscore", "z", "(2", "(4", "withscores"},
		{"*7\r\n$1\r\nm\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nn\r\n", "zrangebyscore", "z", "-inf", "+inf"},
		{"*1\r\n$1\r\nm\r\n", "zrangebyscore", "z", "-inf", "-inf"},
		{"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", "zrangebyscore", "z", "(-inf", "(+inf"},
		{"*1\r\n*2\r\n$1\r\nn\r\n,inf\r\n", "zrangebyscore", "z", "+inf", "+inf", "withscores"},
		{"*0\r\n", "zrangebyscore", "z", "(+inf", "+inf"},
		{"*0\r\n", "zrangebyscore", "z", "4", "2"},
		{"*0\r\n", "zrangebyscore", "z", "(3", "(3"},
		{"*1\r\n$1\r\nc\r\n", "zrangebyscore", "z", "3", "3"},
		{"*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", " 2", "(4"},
		{"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "", "3"},
		{"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "(", "3"},
		{"*1\r\n$1\r\nc\r\n", "zrangebyscore", "z", "( 2", "3"},
		{"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "1\x00zz", "3"},
		{"*0\r\n", "zrangebyscore", "z", "1e400", "3"},
		{"*2\r\n$1\r\nm\r\n$1\r\na\r\n", "zrangebyscore", "z", "-1e400", "1"},
		{"*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "2", "0x3"},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "z", "nan", "3"},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "z", "1", "3 "},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "z", "a", "3"},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "z", "1", "((3"},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "z", " ", "3"},
		{"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "1", "2", "withscores"},
		{"*0\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "-1", "2"},
		{"*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nn\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "1", "-5"},
		{"*0\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "1", "0"},
		{"*1\r\n$1\r\nn\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "6", "1"},
		{"*0\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "7", "1"},
		{"-ERR value is not an integer or out of range\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "0", "x"},
		{"-ERR syntax error\r\n", "zrangebyscore", "z", "-inf", "+inf", "limit", "0"},
		{"-ERR syntax error\r\n", "zrangebyscore", "z", "-inf", "+inf", "rev"},
		{"-ERR syntax error\r\n", "zrangebyscore", "z", "-inf", "+inf", "bylex"},
		{"*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n", "zrevrangebyscore", "z", "4", "2"},
		{"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrevrangebyscore", "z", "(4", "(2", "withscores"},
		{"*3\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n", "zrevrangebyscore", "z", "+inf", "-inf", "limit", "1", "3"},
		{"*1\r\n$1\r\nn\r\n", "zrevrangebyscore", "z", "+inf", "(5"},
		{"*6\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nm\r\n", "zrevrangebyscore", "z", "(+inf", "-inf"},
		{"*1\r\n$1\r\nn\r\n", "zrevrangebyscore", "z", "+inf", "+inf"},
		{"*0\r\n", "zrevrangebyscore", "z", "2", "4"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,-inf\r\n", "zrevrangebyscore", "z", "(1", "-inf", "withscores"},
		{"*0\r\n", "zrevrangebyscore", "z", "-inf", "(-inf"},
		{"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", "zrange", "z", "2", "4", "byscore"},
		{"*3\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n", "zrange", "z", "4", "2", "byscore", "rev", "withscores"},
		{"*2\r\n$1\r\nc\r\n$1\r\nb\r\n", "zrange", "z", "(5", "-inf", "byscore", "rev", "limit", "1", "2"},
		{"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrange", "z", "2", "4", "byscore", "limit", "1", "1", "withscores"},
		{"-ERR min or max is not a float\r\n", "zrange", "z", "a", "b", "byscore"},
		{"*0\r\n", "zrangebyscore", "nokey", "1", "2"},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "nokey", "a", "2"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrangebyscore", "str", "1", "2"},
		{"-ERR min or max is not a float\r\n", "zrangebyscore", "str", "a", "2"},
	}},
	{"zrange by score with zero and equal scores", [][]string{
		{":5\r\n", "zadd", "z", "-0", "a", "0", "b", "0", "c", "-1", "d", "1", "e"},
		{"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "0", "0"},
		{"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "zrangebyscore", "z", "-0", "-0"},
		{"*1\r\n$1\r\ne\r\n", "zrangebyscore", "z", "(0", "+inf"},
		{"*1\r\n$1\r\nd\r\n", "zrangebyscore", "z", "-inf", "(0"},
		{"*1\r\n$1\r\ne\r\n", "zrangebyscore", "z", "(-0", "1"},
		{"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n", "zrevrangebyscore", "z", "0", "0"},
		{"*1\r\n$1\r\nd\r\n", "zrevrangebyscore", "z", "(0", "-inf"},
		{"*1\r\n$1\r\ne\r\n", "zrevrangebyscore", "z", "+inf", "(0"},
		{"*3\r\n*2\r\n$1\r\nc\r\n,0\r\n*2\r\n$1\r\nb\r\n,0\r\n*2\r\n$1\r\na\r\n,0\r\n", "zrevrangebyscore", "z", "(1", "(-1", "withscores"},
	}},
	{"zrange by lex", [][]string{
		{":8\r\n", "zadd", "z", "0", "a", "0", "aa", "0", "ab", "0", "b", "0", "c", "0", "", "0", "\xff", "0", "a\x00"},
		{"*8\r\n$0\r\n\r\n$1\r\na\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n\xff\r\n", "zrangebylex", "z", "-", "+"},
		{"*5\r\n$1\r\na\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n$1\r\nb\r\n", "zrangebylex", "z", "[a", "[b"},
		{"*4\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n$1\r\nb\r\n", "zrangebylex", "z", "(a", "[b"},
		{"*4\r\n$1\r\na\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n", "zrangebylex", "z", "[a", "(b"},
		{"*1\r\n$2\r\na\x00\r\n", "zrangebylex", "z", "(a", "(aa"},
		{"*1\r\n$2\r\naa\r\n", "zrangebylex", "z", "[aa", "[aa"},
		{"*0\r\n", "zrangebylex", "z", "(aa", "[aa"},
		{"*0\r\n", "zrangebylex", "z", "[b", "[a"},
		{"*2\r\n$0\r\n\r\n$1\r\na\r\n", "zrangebylex", "z", "-", "[a"},
		{"*1\r\n$0\r\n\r\n", "zrangebylex", "z", "-", "(a"},
		{"*2\r\n$0\r\n\r\n$1\r\na\r\n", "zrangebylex", "z", "[", "[a"},
		{"*7\r\n$1\r\na\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n\xff\r\n", "zrangebylex", "z", "(", "+"},
		{"*2\r\n$1\r\nc\r\n$1\r\n\xff\r\n", "zrangebylex", "z", "[c", "+"},
		{"*1\r\n$1\r\n\xff\r\n", "zrangebylex", "z", "(c", "+"},
		{"*0\r\n", "zrangebylex", "z", "+", "-"},
		{"*0\r\n", "zrangebylex", "z", "-", "-"},
		{"*0\r\n", "zrangebylex", "z", "+", "+"},
		{"*0\r\n", "zrangebylex", "z", "+\x00", "-"},
		{"*8\r\n$0\r\n\r\n$1\r\na\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n\xff\r\n", "zrangebylex", "z", "-\x00x", "+"},
		{"*3\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n", "zrangebylex", "z", "-", "+", "limit", "2", "3"},
		{"*0\r\n", "zrangebylex", "z", "-", "+", "limit", "0", "0"},
		{"*0\r\n", "zrangebylex", "z", "-", "+", "limit", "-1", "3"},
		{"*1\r\n$1\r\n\xff\r\n", "zrangebylex", "z", "-", "+", "limit", "7", "-1"},
		{"-ERR min or max not valid string range item\r\n", "zrangebylex", "z", "a", "+"},
		{"-ERR min or max not valid string range item\r\n", "zrangebylex", "z", "-", "b"},
		{"-ERR min or max not valid string range item\r\n", "zrangebylex", "z", "", "+"},
		{"-ERR min or max not valid string range item\r\n", "zrangebylex", "z", "+a", "-"},
		{"-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n", "zrangebylex", "z", "-", "+", "withscores"},
		{"*8\r\n$1\r\n\xff\r\n$1\r\nc\r\n$1\r\nb\r\n$2\r\nab\r\n$2\r\naa\r\n$2\r\na\x00\r\n$1\r\na\r\n$0\r\n\r\n", "zrevrangebylex", "z", "+", "-"},
		{"*5\r\n$1\r\nb\r\n$2\r\nab\r\n$2\r\naa\r\n$2\r\na\x00\r\n$1\r\na\r\n", "zrevrangebylex", "z", "[b", "[a"},
		{"*3\r\n$2\r\nab\r\n$2\r\naa\r\n$2\r\na\x00\r\n", "zrevrangebylex", "z", "(b", "(a"},
		{"*0\r\n", "zrevrangebylex", "z", "[a", "[b"},
		{"*2\r\n$1\r\n\xff\r\n$1\r\nc\r\n", "zrevrangebylex", "z", "+", "[c"},
		{"*1\r\n$1\r\n\xff\r\n", "zrevrangebylex", "z", "+", "(c"},
		{"*2\r\n$1\r\na\r\n$0\r\n\r\n", "zrevrangebylex", "z", "[a", "-"},
		{"*1\r\n$0\r\n\r\n", "zrevrangebylex", "z", "(a", "-"},
		{"*0\r\n", "zrevrangebylex", "z", "-", "+"},
		{"*2\r\n$1\r\nc\r\n$1\r\nb\r\n", "zrevrangebylex", "z", "+", "-", "limit", "1", "2"},
		{"*5\r\n$1\r\na\r\n$2\r\na\x00\r\n$2\r\naa\r\n$2\r\nab\r\n$1\r\nb\r\n", "zrange", "z", "[a", "[b", "bylex"},
		{"*2\r\n$1\r\nb\r\n$2\r\nab\r\n", "zrange", "z", "[b", "[a", "bylex", "rev", "limit", "0", "2"},
		{"-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n", "zrange", "z", "-", "+", "bylex", "withscores"},
		{"-ERR min or max not valid string range item\r\n", "zrange", "z", "a", "b", "bylex"},
		{"*0\r\n", "zrangebylex", "nokey", "-", "+"},
		{"-ERR min or max not valid string range item\r\n", "zrangebylex", "nokey", "a", "+"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrangebylex", "str", "-", "+"},
		{"-ERR min or max not valid string range item\r\n", "zrangebylex", "str", "a", "+"},
	}},
	{"zlexcount zcount", [][]string{
		{":4\r\n", "zadd", "z", "0", "a", "0", "b", "0", "c", "0", "d"},
		{":4\r\n", "zlexcount", "z", "-", "+"},
		{":3\r\n", "zlexcount", "z", "[b", "+"},
		{":1\r\n", "zlexcount", "z", "(b", "(d"},
		{":0\r\n", "zlexcount", "z", "[d", "[a"},
		{"-ERR min or max not valid string range item\r\n", "zlexcount", "z", "a", "b"},
		{":0\r\n", "zlexcount", "nokey", "-", "+"},
		{":4\r\n", "zadd", "n", "1", "a", "2", "b", "3", "c", "inf", "d"},
		{":4\r\n", "zcount", "n", "-inf", "+inf"},
		{":2\r\n", "zcount", "n", "(1", "3"},
		{":1\r\n", "zcount", "n", "(1", "(3"},
		{":0\r\n", "zcount", "n", "3", "1"},
		{":1\r\n", "zcount", "n", "inf", "inf"},
		{"-ERR min or max is not a float\r\n", "zcount", "n", "x", "1"},
		{":0\r\n", "zcount", "nokey", "1", "2"},
		{"-ERR min or max is not a float\r\n", "zcount", "nokey", "x", "2"},
		{"+OK\r\n", "set", "str", "v"},
		{"-ERR min or max is not a float\r\n", "zcount", "str", "1", "x"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zcount", "str", "1", "2"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zlexcount", "str", "-", "+"},
		{"-ERR min or max not valid string range item\r\n", "zlexcount", "str", "x", "+"},
	}},
	{"zrangestore", [][]string{
		{":4\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"},
		{":2\r\n", "zrangestore", "d", "z", "0", "1"},
		{"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "zrange", "d", "0", "-1", "withscores"},
		{":0\r\n", "zrangestore", "d", "z", "1", "3", "byscore", "rev"},
		{":3\r\n", "zrangestore", "d", "z", "3", "1", "byscore", "rev"},
		{"*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrange", "d", "0", "-1", "withscores"},
		{":1\r\n", "zrangestore", "d", "z", "(1", "+inf", "byscore", "limit", "1", "1"},
		{"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrange", "d", "0", "-1", "withscores"},
		{":2\r\n", "zrangestore", "d", "z", "[b", "[c", "bylex"},
		{"*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrange", "d", "0", "-1", "withscores"},
		{"-ERR syntax error\r\n", "zrangestore", "d", "z", "0", "-1", "withscores"},
		{":0\r\n", "zrangestore", "d", "z", "10", "20"},
		{":0\r\n", "exists", "d"},
		{":2\r\n", "zrangestore", "d", "z", "0", "1"},
		{":0\r\n", "zrangestore", "d", "nokey", "0", "1"},
		{":0\r\n", "exists", "d"},
		{"+OK\r\n", "set", "str", "v"},
		{":1\r\n", "expire", "str", "100"},
		{":1\r\n", "zrangestore", "str", "z", "0", "0"},
		{":-1\r\n", "ttl", "str"},
		{"+zset\r\n", "type", "str"},
		{":2\r\n", "zrangestore", "z", "z", "1", "2"},
		{"*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zrange", "z", "0", "-1", "withscores"},
		{":1\r\n", "zrangestore", "d", "str", "0", "1"},
		{"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n", "zrangestore", "d", "z", "0", "1", "limit", "0", "1"},
		{"-ERR value is not an integer or out of range\r\n", "zrangestore", "d", "z", "x", "1"},
	}},
	{"zremrangebyrank score lex", [][]string{
		{":6\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"},
		{":1\r\n", "zremrangebyrank", "z", "0", "0"},
		{":1\r\n", "zremrangebyrank", "z", "-1", "-1"},
		{"*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", "zrange", "z", "0", "-1"},
		{":0\r\n", "zremrangebyrank", "z", "5", "10"},
		{":0\r\n", "zremrangebyrank", "z", "2", "1"},
		{"-ERR value is not an integer or out of range\r\n", "zremrangebyrank", "z", "x", "1"},
		{":2\r\n", "zremrangebyscore", "z", "(2", "4"},
		{"*2\r\n$1\r\nb\r\n$1\r\ne\r\n", "zrange", "z", "0", "-1"},
		{"-ERR min or max is not a float\r\n", "zremrangebyscore", "z", "x", "1"},
		{":0\r\n", "zremrangebyscore", "z", "100", "200"},
		{":2\r\n", "zremrangebyrank", "z", "0", "-1"},
		{":0\r\n", "exists", "z"},
		{":4\r\n", "zadd", "l", "0", "a", "0", "b", "0", "c", "0", "d"},
		{":2\r\n", "zremrangebylex", "l", "(a", "[c"},
		{"*2\r\n$1\r\na\r\n$1\r\nd\r\n", "zrange", "l", "0", "-1"},
		{"-ERR min or max not valid string range item\r\n", "zremrangebylex", "l", "x", "+"},
		{":2\r\n", "zremrangebylex", "l", "-", "+"},
		{":0\r\n", "exists", "l"},
		{":0\r\n", "zremrangebyrank", "nokey", "0", "1"},
		{":0\r\n", "zremrangebyscore", "nokey", "0", "1"},
		{":0\r\n", "zremrangebylex", "nokey", "-", "+"},
		{"-ERR min or max is not a float\r\n", "zremrangebyscore", "nokey", "x", "1"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zremrangebyrank", "str", "0", "1"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zremrangebyscore", "str", "0", "1"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zremrangebylex", "str", "-", "+"},
		{"-ERR min or max is not a float\r\n", "zremrangebyscore", "str", "x", "1"},
	}},
	{"zpopmin zpopmax", [][]string{
		{":5\r\n", "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
		{"*2\r\n$1\r\na\r\n,1\r\n", "zpopmin", "z"},
		{"*2\r\n$1\r\ne\r\n,5\r\n", "zpopmax", "z"},
		{"*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n", "zpopmin", "z", "2"},
		{"*0\r\n", "zpopmax", "z", "0"},
		{"*1\r\n*2\r\n$1\r\nd\r\n,4\r\n", "zpopmax", "z", "10"},
		{":0\r\n", "exists", "z"},
		{"*0\r\n", "zpopmin", "z"},
		{"*0\r\n", "zpopmin", "z", "1"},
		{"*0\r\n", "zpopmin", "nokey"},
		{"*0\r\n", "zpopmax", "nokey", "5"},
		{":1\r\n", "zadd", "z", "1", "a"},
		{"-ERR value is out of range, must be positive\r\n", "zpopmin", "z", "-1"},
		{"-ERR value is out of range, must be positive\r\n", "zpopmin", "z", "x"},
		{"-ERR syntax error\r\n", "zpopmin", "z", "1", "2"},
		{"-ERR value is out of range, must be positive\r\n", "zpopmax", "z", "1.5"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zpopmax", "str"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zpopmin", "str", "1"},
		{"-ERR value is out of range, must be positive\r\n", "zpopmin", "str", "x"},
	}},
	{"zmpop", [][]string{
		{":3\r\n", "zadd", "a", "1", "x", "2", "y", "3", "z"},
		{"-ERR numkeys should be greater than 0\r\n", "zmpop", "0", "a", "min"},
		{"-ERR numkeys should be greater than 0\r\n", "zmpop", "x", "a", "min"},
		{"-ERR numkeys should be greater than 0\r\n", "zmpop", "-1", "a", "min"},
		{"-ERR syntax error\r\n", "zmpop", "1", "a", "foo"},
		{"-ERR count should be greater than 0\r\n", "zmpop", "1", "a", "min", "count", "0"},
		{"-ERR count should be greater than 0\r\n", "zmpop", "1", "a", "min", "count", "x"},
		{"-ERR count should be greater than 0\r\n", "zmpop", "1", "a", "min", "count", "-1"},
		{"-ERR syntax error\r\n", "zmpop", "1", "a", "min", "count", "1", "count", "1"},
		{"-ERR syntax error\r\n", "zmpop", "1", "a", "min", "foo"},
		{"-ERR syntax error\r\n", "zmpop", "1", "a", "min", "count"},
		{"-ERR syntax error\r\n", "zmpop", "3", "a", "min"},
		{"*2\r\n$1\r\na\r\n*2\r\n*2\r\n$1\r\nz\r\n,3\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zmpop", "2", "nokey", "a", "max", "count", "2"},
		{"*2\r\n$1\r\na\r\n*1\r\n*2\r\n$1\r\nx\r\n,1\r\n", "zmpop", "2", "nokey", "a", "MIN"},
		{"*-1\r\n", "zmpop", "1", "a", "min", "count", "10"}, // a null array, as Reply writes it
		{":0\r\n", "exists", "a"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zmpop", "2", "nokey", "str", "min"},
		{":1\r\n", "zadd", "b", "1", "m"},
		{"*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$1\r\nm\r\n,1\r\n", "zmpop", "2", "b", "str", "min"},
	}},
	{"zunion zinter zdiff", [][]string{
		{":3\r\n", "zadd", "a", "0.1", "m", "1", "x", "2", "y"},
		{":2\r\n", "zadd", "b", "0.2", "m", "1", "x"},
		{":1\r\n", "zadd", "c", "0.3", "m"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.59999999999999998\r\n*2\r\n$1\r\nx\r\n,2\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "3", "a", "b", "c", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.59999999999999998\r\n*2\r\n$1\r\nx\r\n,2\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "3", "c", "b", "a", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.30000000000000004\r\n*2\r\n$1\r\nx\r\n,2\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "2", "a", "b", "withscores"},
		{"*3\r\n$1\r\nm\r\n$1\r\nx\r\n$1\r\ny\r\n", "zunion", "2", "a", "b"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,0.59999999999999998\r\n", "zinter", "3", "a", "b", "c", "withscores"},
		{"*2\r\n$1\r\nm\r\n$1\r\nx\r\n", "zinter", "2", "a", "b"},
		{"*0\r\n", "zinter", "2", "a", "nokey"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.10000000000000001\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "2", "a", "nokey", "withscores"},
		{"*0\r\n", "zunion", "1", "nokey", "withscores"},
		{"*1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zdiff", "2", "a", "b", "withscores"},
		{"*0\r\n", "zdiff", "2", "b", "a", "withscores"},
		{"*3\r\n$1\r\nm\r\n$1\r\nx\r\n$1\r\ny\r\n", "zdiff", "1", "a"},
		{"*0\r\n", "zdiff", "2", "nokey", "a"},
		{"*1\r\n$1\r\ny\r\n", "zdiff", "3", "a", "b", "c"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.20000000000000001\r\n*2\r\n$1\r\nx\r\n,2\r\n*2\r\n$1\r\ny\r\n,4\r\n", "zunion", "1", "a", "aggregate", "max", "withscores", "weights", "2"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,4\r\n", "zunion", "2", "a", "b", "weights", "2", "-1", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.10000000000000001\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "2", "a", "b", "aggregate", "min", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.20000000000000001\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "2", "a", "b", "aggregate", "MAX", "withscores"},
		{"*2\r\n*2\r\n$1\r\nm\r\n,0.10000000000000001\r\n*2\r\n$1\r\nx\r\n,1\r\n", "zinter", "2", "a", "b", "aggregate", "min", "withscores"},
		{"*2\r\n*2\r\n$1\r\nm\r\n,2\r\n*2\r\n$1\r\nx\r\n,10\r\n", "zinter", "2", "a", "b", "weights", "1", "10", "aggregate", "max", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.20000000000000001\r\n*2\r\n$1\r\nx\r\n,2\r\n*2\r\n$1\r\ny\r\n,4\r\n", "zinter", "2", "a", "a", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.30000000000000004\r\n*2\r\n$1\r\nx\r\n,3\r\n*2\r\n$1\r\ny\r\n,6\r\n", "zunion", "2", "a", "a", "weights", "1", "2", "withscores"},
		{"-ERR at least 1 input key is needed for 'zunion' command\r\n", "zunion", "0", "a"},
		{"-ERR at least 1 input key is needed for 'zinter' command\r\n", "zinter", "0", "a"},
		{"-ERR at least 1 input key is needed for 'zdiff' command\r\n", "zdiff", "0", "a"},
		{"-ERR at least 1 input key is needed for 'zunion' command\r\n", "zunion", "-1", "a"},
		{"-ERR value is not an integer or out of range\r\n", "zunion", "x", "a"},
		{"-ERR syntax error\r\n", "zunion", "5", "a"},
		{"-ERR syntax error\r\n", "zunion", "1", "a", "weights"},
		{"-ERR weight value is not a float\r\n", "zunion", "1", "a", "weights", "x"},
		{"-ERR weight value is not a float\r\n", "zunion", "1", "a", "weights", "nan"},
		{"-ERR syntax error\r\n", "zunion", "2", "a", "b", "weights", "1"},
		{"-ERR syntax error\r\n", "zunion", "1", "a", "weights", "2", "aggregate", "foo"},
		{"-ERR syntax error\r\n", "zunion", "1", "a", "aggregate"},
		{"-ERR syntax error\r\n", "zunion", "1", "a", "foo"},
		{"-ERR syntax error\r\n", "zdiff", "2", "a", "b", "weights", "1", "2"},
		{"-ERR syntax error\r\n", "zdiff", "2", "a", "b", "aggregate", "sum"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zunion", "2", "a", "str"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zunion", "2", "str", "a", "foo"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zinter", "2", "nokey", "str"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zdiff", "2", "a", "str"},
	}},
	{"zunion zinter with sets and infinities", [][]string{
		{":3\r\n", "zadd", "a", "0.1", "m", "1", "x", "2", "y"},
		{":2\r\n", "sadd", "s", "m", "q"},
		{"*4\r\n*2\r\n$1\r\nq\r\n,1\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\nm\r\n,1.1000000000000001\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "2", "a", "s", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,1.1000000000000001\r\n", "zinter", "2", "a", "s", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,3.1000000000000001\r\n", "zinter", "2", "s", "a", "weights", "3", "1", "withscores"},
		{"*1\r\n*2\r\n$1\r\nq\r\n,1\r\n", "zdiff", "2", "s", "a", "withscores"},
		{"*2\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zdiff", "2", "a", "s", "withscores"},
		{"*2\r\n*2\r\n$1\r\nm\r\n,1\r\n*2\r\n$1\r\nq\r\n,1\r\n", "zunion", "1", "s", "withscores"},
		{":1\r\n", "zadd", "i", "inf", "m"},
		{":1\r\n", "zadd", "j", "-inf", "m"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,0\r\n", "zunion", "2", "i", "j", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,0\r\n", "zinter", "2", "i", "j", "withscores"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.10000000000000001\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zunion", "2", "i", "a", "weights", "0", "1", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,0.10000000000000001\r\n", "zinter", "2", "a", "i", "weights", "1", "0", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,0.10000000000000001\r\n", "zinter", "2", "i", "a", "weights", "0", "1", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,-inf\r\n", "zinter", "2", "i", "j", "aggregate", "min", "withscores"},
		{"*1\r\n*2\r\n$1\r\nm\r\n,inf\r\n", "zunion", "2", "i", "j", "aggregate", "max", "withscores"},
	}},
	{"zunionstore zinterstore zdiffstore zintercard", [][]string{
		{":3\r\n", "zadd", "a", "0.1", "m", "1", "x", "2", "y"},
		{":2\r\n", "zadd", "b", "0.2", "m", "1", "x"},
		{":3\r\n", "zunionstore", "d", "2", "a", "b"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.30000000000000004\r\n*2\r\n$1\r\nx\r\n,2\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zrange", "d", "0", "-1", "withscores"},
		{":2\r\n", "zinterstore", "d", "2", "a", "b", "weights", "2", "3"},
		{"*2\r\n*2\r\n$1\r\nm\r\n,0.80000000000000004\r\n*2\r\n$1\r\nx\r\n,5\r\n", "zrange", "d", "0", "-1", "withscores"},
		{":1\r\n", "zdiffstore", "d", "2", "a", "b"},
		{"*1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zrange", "d", "0", "-1", "withscores"},
		{":0\r\n", "zdiffstore", "d", "2", "b", "a"},
		{":0\r\n", "exists", "d"},
		{"-ERR syntax error\r\n", "zunionstore", "d", "2", "a", "b", "withscores"},
		{"-ERR at least 1 input key is needed for 'zinterstore' command\r\n", "zinterstore", "d", "0", "a"},
		{":0\r\n", "zdiffstore", "d", "1", "nokey"},
		{"+OK\r\n", "set", "str", "v"},
		{":1\r\n", "expire", "str", "100"},
		{":3\r\n", "zunionstore", "str", "1", "a"},
		{":-1\r\n", "ttl", "str"},
		{"*3\r\n$1\r\nm\r\n$1\r\nx\r\n$1\r\ny\r\n", "zrange", "str", "0", "-1"},
		{":3\r\n", "zunionstore", "a", "2", "a", "b", "aggregate", "max"},
		{"*3\r\n*2\r\n$1\r\nm\r\n,0.20000000000000001\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,2\r\n", "zrange", "a", "0", "-1", "withscores"},
		{":2\r\n", "zintercard", "2", "a", "b"},
		{":1\r\n", "zintercard", "2", "a", "b", "limit", "1"},
		{":2\r\n", "zintercard", "2", "a", "b", "limit", "0"},
		{":2\r\n", "zintercard", "2", "a", "b", "limit", "5"},
		{"-ERR LIMIT can't be negative\r\n", "zintercard", "2", "a", "b", "limit", "-1"},
		{"-ERR LIMIT can't be negative\r\n", "zintercard", "2", "a", "b", "limit", "x"},
		{"-ERR syntax error\r\n", "zintercard", "2", "a", "b", "withscores"},
		{"-ERR syntax error\r\n", "zintercard", "2", "a", "b", "weights", "1", "1"},
		{"-ERR at least 1 input key is needed for 'zintercard' command\r\n", "zintercard", "0", "a"},
		{"-ERR syntax error\r\n", "zintercard", "3", "a", "b"},
		{":0\r\n", "zintercard", "2", "a", "nokey"},
		{":3\r\n", "zintercard", "1", "str"},
		{":3\r\n", "zunionstore", "d", "1", "str"},
		{"-ERR value is not an integer or out of range\r\n", "zintercard", "x", "a"},
		{"-ERR value is not an integer or out of range\r\n", "zunionstore", "d", "x", "a"},
		{"-ERR syntax error\r\n", "zinterstore", "d", "9223372036854775807", "a"},
		{"-ERR syntax error\r\n", "zmpop", "9223372036854775807", "a", "min"},
	}},
	{"zrandmember deterministic", [][]string{
		{":3\r\n", "zadd", "a", "1", "x", "2", "y", "3", "z"},
		{"*3\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n", "zrandmember", "a", "3"},
		{"*3\r\n*2\r\n$1\r\nz\r\n,3\r\n*2\r\n$1\r\ny\r\n,2\r\n*2\r\n$1\r\nx\r\n,1\r\n", "zrandmember", "a", "5", "withscores"},
		{"*0\r\n", "zrandmember", "a", "0"},
		{"*0\r\n", "zrandmember", "a", "0", "withscores"},
		{"_\r\n", "zrandmember", "nokey"},
		{"*0\r\n", "zrandmember", "nokey", "2"},
		{"*0\r\n", "zrandmember", "nokey", "0", "withscores"},
		{"-ERR value is not an integer or out of range\r\n", "zrandmember", "a", "x"},
		{"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n", "zrandmember", "a", "-9223372036854775808"},
		{"-ERR syntax error\r\n", "zrandmember", "a", "1", "withscore"},
		{"-ERR syntax error\r\n", "zrandmember", "a", "1", "withscores", "x"},
		{"-ERR value is out of range\r\n", "zrandmember", "a", "4611686018427387904", "withscores"},
		{"-ERR value is out of range\r\n", "zrandmember", "a", "-4611686018427387904", "withscores"},
		{"*3\r\n*2\r\n$1\r\nz\r\n,3\r\n*2\r\n$1\r\ny\r\n,2\r\n*2\r\n$1\r\nx\r\n,1\r\n", "zrandmember", "a", "4611686018427387903", "withscores"},
		{"*3\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n", "zrandmember", "a", "4611686018427387904"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrandmember", "str"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zrandmember", "str", "1"},
		{"-ERR value is not an integer or out of range\r\n", "zrandmember", "str", "x"},
	}},
	{"zscan listpack", [][]string{
		{":8\r\n", "zadd", "z", "-0", "a", "0.1", "b", "1e20", "c", "1e-20", "d", "inf", "e", "-inf", "f", "1.5", "g", "3", "h"},
		{"*2\r\n$1\r\n0\r\n*16\r\n$1\r\nf\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nd\r\n$22\r\n9.9999999999999995e-21\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\ng\r\n$3\r\n1.5\r\n$1\r\nh\r\n$1\r\n3\r\n$1\r\nc\r\n$5\r\n1e+20\r\n$1\r\ne\r\n$3\r\ninf\r\n", "zscan", "z", "0"},
		{"*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\nc\r\n$5\r\n1e+20\r\n", "zscan", "z", "0", "match", "[a-c]", "count", "1"},
		{"*2\r\n$1\r\n0\r\n*0\r\n", "zscan", "z", "0", "match", "nomatch"},
		{"-ERR invalid cursor\r\n", "zscan", "z", "x"},
		{"*2\r\n$1\r\n0\r\n*0\r\n", "zscan", "nokey", "0", "foo", "bar"},
		{"-ERR syntax error\r\n", "zscan", "z", "0", "foo", "bar"},
		{"-ERR syntax error\r\n", "zscan", "z", "0", "match"},
		{"-ERR syntax error\r\n", "zscan", "z", "0", "count", "0"},
		{"-ERR value is not an integer or out of range\r\n", "zscan", "z", "0", "count", "x"},
		{"-ERR syntax error\r\n", "zscan", "z", "0", "type", "zset"},
		{"-ERR syntax error\r\n", "zscan", "z", "0", "novalue"},
		{"+OK\r\n", "set", "str", "v"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zscan", "str", "0"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "zscan", "str", "0", "foo", "bar"},
		{"-ERR invalid cursor\r\n", "zscan", "str", "x"},
	}},
}

func TestZSetAgainstRedis(t *testing.T) {
	for _, tc := range zsetCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			for _, st := range tc.steps {
				s.expect(st[0], st[1:]...)
			}
		})
	}
}

func zsetEnc(s *testStore, key string) string {
	r, ok := s.record(key)
	if !ok {
		return "missing"
	}
	return encodingName(r.Enc)
}

// zsetFill adds members m0..m(n-1) with scores 0..n-1.
func zsetFill(s *testStore, key string, n int) {
	args := []string{"zadd", key}
	for i := range n {
		args = append(args, strconv.Itoa(i), fmt.Sprintf("m%04d", i))
	}
	s.expect(":"+strconv.Itoa(n)+"\r\n", args...)
}

func TestZSetEncoding(t *testing.T) {
	s := newTestStore(t)
	s.cfg.ZSetMaxListpackEntries = 4
	s.cfg.ZSetMaxListpackValue = 8
	steps := []struct {
		args []string
		key  string
		enc  string
	}{
		{[]string{"zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"}, "z", "listpack"},
		// Updating existing members never converts.
		{[]string{"zadd", "z", "5", "a", "6", "b"}, "z", "listpack"},
		{[]string{"zadd", "z", "5", "e"}, "z", "skiplist"},
		// Never back down.
		{[]string{"zremrangebyrank", "z", "0", "-2"}, "z", "skiplist"},
		{[]string{"zadd", "long", "1", "123456789"}, "long", "skiplist"},
		{[]string{"zadd", "short", "1", "12345678"}, "short", "listpack"},
		{[]string{"zincrby", "short", "1", "123456789"}, "short", "skiplist"},
		// Stores take the encoding of their finished result.
		{[]string{"zunionstore", "u", "1", "z"}, "u", "listpack"},
		{[]string{"zunionstore", "u", "2", "long", "short"}, "u", "skiplist"},
		{[]string{"zadd", "big", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}, "big", "skiplist"},
		{[]string{"zrangestore", "r", "big", "0", "3"}, "r", "listpack"},
		{[]string{"zrangestore", "r", "big", "0", "4"}, "r", "skiplist"},
		{[]string{"zrangestore", "r", "long", "0", "-1"}, "r", "skiplist"},
		{[]string{"zinterstore", "i", "2", "big", "big"}, "i", "skiplist"},
		{[]string{"zdiffstore", "i", "2", "big", "z"}, "i", "listpack"},
	}
	for _, st := range steps {
		if rep := s.do(st.args...); strings.HasPrefix(rep, "-") {
			t.Fatalf("%v: %q", st.args, rep)
		}
		if got := zsetEnc(s, st.key); got != st.enc {
			t.Errorf("after %v: %s is %s, want %s", st.args, st.key, got, st.enc)
		}
	}
}

// TestZSetLarge runs rank, score and lex reads over a skiplist with more
// members than any listpack, checking them against a sorted model, from
// both ends (ranks near the end walk in from the end).
func TestZSetLarge(t *testing.T) {
	s := newTestStore(t)
	const n = 300
	zsetFill(s, "z", n)
	if enc := zsetEnc(s, "z"); enc != "skiplist" {
		t.Fatalf("encoding %s", enc)
	}
	member := func(i int) string { return fmt.Sprintf("m%04d", i) }
	bulks := func(from, to, step int) string {
		var b strings.Builder
		k := 0
		for i := from; i != to+step; i += step {
			fmt.Fprintf(&b, "$5\r\n%s\r\n", member(i))
			k++
		}
		return "*" + strconv.Itoa(k) + "\r\n" + b.String()
	}
	s.expect(bulks(0, 2, 1), "zrange", "z", "0", "2")
	s.expect(bulks(297, 299, 1), "zrange", "z", "-3", "-1")
	s.expect(bulks(150, 160, 1), "zrange", "z", "150", "160")
	s.expect(bulks(299, 290, -1), "zrevrange", "z", "0", "9")
	s.expect(bulks(9, 0, -1), "zrange", "z", "290", "1000", "rev")
	s.expect(bulks(100, 199, 1), "zrangebyscore", "z", "100", "(200")
	s.expect(bulks(200, 101, -1), "zrevrangebyscore", "z", "200", "(100")
	s.expect(bulks(11, 13, 1), "zrangebyscore", "z", "(10", "+inf", "limit", "0", "3")
	s.expect(":42\r\n", "zrank", "z", "m0042")
	s.expect(":257\r\n", "zrevrank", "z", "m0042")
	s.expect(":299\r\n", "zrank", "z", "m0299")
	s.expect(":51\r\n", "zcount", "z", "100", "150")
	s.expect("*2\r\n*2\r\n$5\r\nm0299\r\n,299\r\n*2\r\n$5\r\nm0298\r\n,298\r\n", "zpopmax", "z", "2")
	s.expect(":298\r\n", "zcard", "z")
	s.expect(":100\r\n", "zremrangebyrank", "z", "100", "199")
	s.expect(":198\r\n", "zcard", "z")
	s.expect("*2\r\n$5\r\nm0099\r\n$5\r\nm0200\r\n", "zrange", "z", "99", "100")

	// Lex ranges over one score, beyond a listpack too.
	args := []string{"zadd", "l"}
	for i := range n {
		args = append(args, "0", member(i))
	}
	s.do(args...)
	s.expect(bulks(10, 12, 1), "zrangebylex", "l", "[m0010", "(m0013")
	s.expect(bulks(12, 10, -1), "zrevrangebylex", "l", "(m0013", "[m0010")
	s.expect(":100\r\n", "zlexcount", "l", "[m0100", "(m0200")
	s.expect(":100\r\n", "zremrangebylex", "l", "[m0100", "(m0200")
	s.expect("*2\r\n$5\r\nm0099\r\n$5\r\nm0200\r\n", "zrangebylex", "l", "(m0098", "+", "limit", "0", "2")
}

// TestZSetLexMixedScores pins down lex ranges over members of different
// scores, which Redis leaves unspecified: we follow its listpack scan.
func TestZSetLexMixedScores(t *testing.T) {
	s := newTestStore(t)
	s.do("zadd", "z", "1", "b", "1", "d", "2", "a", "2", "c")
	// In score order: b d a c. Redis skips to the first member >= min,
	// then takes members while they are <= max (replies from Redis).
	s.expect("*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nc\r\n", "zrangebylex", "z", "[c", "[e")
	s.expect("*4\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nc\r\n", "zrangebylex", "z", "-", "[d")
	s.expect("*4\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\nb\r\n", "zrevrangebylex", "z", "+", "-")
	s.expect("*3\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\nb\r\n", "zrevrangebylex", "z", "[b", "-")
}

// TestZSetCleanup checks that emptied sorted sets leave no storage keys
// behind once swept, and that expired ones read as missing.
func TestZSetCleanup(t *testing.T) {
	s := newTestStore(t)
	before := s.m.StorageKeys()
	s.do("zadd", "z", "1", "a", "2", "b", "3", "c")
	s.expect(":3\r\n", "zrem", "z", "a", "b", "c")
	s.do("zadd", "z", "1", "a", "2", "b")
	s.expect("*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "zpopmin", "z", "5")
	s.do("zadd", "z", "1", "a", "2", "b")
	s.expect(":2\r\n", "zremrangebyscore", "z", "-inf", "+inf")
	s.do("zadd", "z", "1", "a")
	s.do("zincrby", "z", "5", "a")
	s.expect(":1\r\n", "zrem", "z", "a")
	if got := s.m.StorageKeys(); got != before {
		t.Errorf("storage keys %d, want %d", got, before)
	}

	s.do("zadd", "e", "1", "a", "2", "b")
	if err := s.m.Update(s.now, func(tx *store.Txn) error {
		r, _ := tx.Get([]byte("e"))
		r.Exp = s.now + 1000
		return tx.Put([]byte("e"), &r)
	}); err != nil {
		t.Fatal(err)
	}
	s.expect(":2\r\n", "zcard", "e")
	s.expect(":1\r\n", "zadd", "e", "3", "c")
	if r, _ := s.record("e"); r.Exp != s.now+1000 {
		t.Errorf("ZADD dropped the TTL: %d", r.Exp)
	}
	s.now += 1000
	s.expect(":0\r\n", "zcard", "e")
	s.expect("_\r\n", "zscore", "e", "a")
	s.expect(":1\r\n", "zadd", "e", "1", "x")
	s.expect("*1\r\n$1\r\nx\r\n", "zrange", "e", "0", "-1")
}

func TestZSetZScanSkiplist(t *testing.T) {
	s := newTestStore(t)
	const n = 500
	zsetFill(s, "z", n)
	seen := map[string]string{}
	cursor := "0"
	for rounds := 0; ; rounds++ {
		if rounds > n {
			t.Fatal("scan does not end")
		}
		items := zsetParseFlat(t, s.do("zscan", "z", cursor, "count", "20"))
		cursor = items[0]
		for i := 1; i+1 < len(items); i += 2 {
			seen[items[i]] = items[i+1]
		}
		if cursor == "0" {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("scan saw %d members, want %d", len(seen), n)
	}
	for i := range n {
		if got := seen[fmt.Sprintf("m%04d", i)]; got != strconv.Itoa(i) {
			t.Fatalf("m%04d scored %q", i, got)
		}
	}
	items := zsetParseFlat(t, s.do("zscan", "z", "0", "match", "m001*", "count", "1000"))
	if items[0] != "0" || len(items) != 21 {
		t.Errorf("MATCH: %v", items)
	}
}

// zsetParseFlat parses a ZSCAN reply into [cursor, member, score, ...].
func zsetParseFlat(t *testing.T, rep string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(rep, "\r\n"), "\r\n")
	if len(lines) < 3 || lines[0] != "*2" {
		t.Fatalf("reply %q", rep)
	}
	out := []string{lines[2]}
	for i := 4; i+1 < len(lines); i += 2 {
		out = append(out, lines[i+1])
	}
	return out
}

// zsetParseRand parses a ZRANDMEMBER reply, pairs or members.
func zsetParseRand(t *testing.T, rep string, withScores bool) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(rep, "\r\n"), "\r\n")
	var out []string
	for i := 1; i < len(lines); i++ {
		switch {
		case strings.HasPrefix(lines[i], "$"):
			out = append(out, lines[i+1])
			i++
		case strings.HasPrefix(lines[i], ","):
			out[len(out)-1] += "=" + lines[i][1:]
		case withScores && lines[i] == "*2":
		default:
			t.Fatalf("reply %q", rep)
		}
	}
	return out
}

func TestZSetRandMember(t *testing.T) {
	for _, n := range []int{10, 300} { // listpack, then skiplist
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			s := newTestStore(t)
			zsetFill(s, "z", n)
			valid := func(e string) bool {
				m, sc, _ := strings.Cut(e, "=")
				i, err := strconv.Atoi(strings.TrimPrefix(m, "m"))
				return err == nil && i < n && sc == strconv.Itoa(i) && m == fmt.Sprintf("m%04d", i)
			}
			for _, count := range []int{1, 3, n / 3, n/3 + 1, n - 1} {
				got := zsetParseRand(t, s.do("zrandmember", "z", strconv.Itoa(count), "withscores"), true)
				if len(got) != count {
					t.Fatalf("count %d: %d members", count, len(got))
				}
				sorted := slices.Clone(got)
				sort.Strings(sorted)
				if len(slices.Compact(sorted)) != count {
					t.Errorf("count %d: repeats in %v", count, got)
				}
				for _, e := range got {
					if !valid(e) {
						t.Fatalf("count %d: bad element %q", count, e)
					}
				}
			}
			got := zsetParseRand(t, s.do("zrandmember", "z", "-50", "withscores"), true)
			if len(got) != 50 {
				t.Fatalf("-50: %d members", len(got))
			}
			distinct := map[string]bool{}
			for _, e := range got {
				if !valid(e) {
					t.Fatalf("-50: bad element %q", e)
				}
				distinct[e] = true
			}
			if len(distinct) < 3 {
				t.Errorf("-50: only %d distinct members", len(distinct))
			}
			one := s.do("zrandmember", "z")
			m := strings.TrimSuffix(strings.TrimPrefix(one, "$5\r\n"), "\r\n")
			if i, err := strconv.Atoi(strings.TrimPrefix(m, "m")); err != nil || i >= n || one != "$5\r\n"+m+"\r\n" {
				t.Errorf("plain: %q", one)
			}
		})
	}
}

// TestZSetModel drives random ZADD/ZINCRBY/ZREM/ZPOP traffic against a
// map and checks the full range, ranks and scores after each step.
func TestZSetModel(t *testing.T) {
	s := newTestStore(t)
	s.cfg.ZSetMaxListpackEntries = 8
	model := map[string]float64{}
	rnd := s.rnd
	sorted := func() []zsetEntry {
		var es []zsetEntry
		for m, sc := range model {
			es = append(es, zsetEntry{m, sc})
		}
		slices.SortFunc(es, func(a, b zsetEntry) int {
			if a.score != b.score {
				if a.score < b.score {
					return -1
				}
				return 1
			}
			return strings.Compare(a.member, b.member)
		})
		return es
	}
	for step := range 400 {
		m := "m" + strconv.Itoa(rnd.IntN(20))
		sc := float64(rnd.IntN(10) - 5)
		switch rnd.IntN(5) {
		case 0, 1:
			s.do("zadd", "z", strconv.Itoa(int(sc)), m)
			model[m] = sc
		case 2:
			s.do("zincrby", "z", "1.5", m)
			model[m] += 1.5
		case 3:
			s.do("zrem", "z", m)
			delete(model, m)
		case 4:
			if es := sorted(); len(es) > 0 {
				s.do("zpopmin", "z")
				delete(model, es[0].member)
			}
		}
		es := sorted()
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(es))
		for _, e := range es {
			fmt.Fprintf(&b, "*2\r\n$%d\r\n%s\r\n,%s\r\n", len(e.member), e.member, zFormatScore(e.score))
		}
		if got := s.do("zrange", "z", "0", "-1", "withscores"); got != b.String() {
			t.Fatalf("step %d: got %q\nwant %q", step, got, b.String())
		}
		for i, e := range es {
			s.expect(":"+strconv.Itoa(i)+"\r\n", "zrank", "z", e.member)
			s.expect(":"+strconv.Itoa(len(es)-1-i)+"\r\n", "zrevrank", "z", e.member)
		}
		s.expect(":"+strconv.Itoa(len(es))+"\r\n", "zcard", "z")
	}
}

func TestZSetStrtod(t *testing.T) {
	cases := []struct {
		in     string
		v      float64
		n      int
		erange bool
	}{
		{"1.5", 1.5, 3, false},
		{"  -2e3x", -2000, 6, false},
		{"1e", 1, 1, false},
		{"1e+", 1, 1, false},
		{"0x", 0, 1, false},
		{"0x1p", 1, 3, false},
		{"0x1.8p1", 3, 7, false},
		{".", 0, 0, false},
		{"", 0, 0, false},
		{"-", 0, 0, false},
		{"inFinity", math.Inf(1), 8, false},
		{"-infinit", math.Inf(-1), 4, false},
		{"1e999", math.Inf(1), 5, true},
		{"1e-999", 0, 6, true},
		{"0e-999", 0, 6, false},
		{"0x1p-2000", 0, 9, true},
	}
	for _, tc := range cases {
		v, n, er := zStrtod([]byte(tc.in))
		if v != tc.v || n != tc.n || er != tc.erange {
			t.Errorf("zStrtod(%q) = %v, %d, %v; want %v, %d, %v", tc.in, v, n, er, tc.v, tc.n, tc.erange)
		}
	}
	if v, n, _ := zStrtod([]byte("nan(x_1)y")); !math.IsNaN(v) || n != 8 {
		t.Errorf("nan(x_1)y: %v %d", v, n)
	}
}

// TestZSetHelpers drives the helpers other types (GEO) build on, as they
// would: one transaction, zsetGet or zsetNew, then Put.
func TestZSetHelpers(t *testing.T) {
	s := newTestStore(t)
	key := []byte("g")
	var added []bool
	err := s.m.Update(s.now, func(tx *store.Txn) error {
		c := &Ctx{Tx: tx, R: &Reply{}, Cfg: &s.cfg}
		r, ok, err := zsetGet(c, key)
		if err != nil || ok {
			return fmt.Errorf("zsetGet: %v %v", ok, err)
		}
		r = zsetNew()
		for _, e := range []zsetEntry{{"a", 1}, {"b", 2}, {"a", 3}} {
			isNew, err := zsetAdd(c, key, &r, []byte(e.member), e.score)
			if err != nil {
				return err
			}
			added = append(added, isNew)
		}
		if !zsetRemove(c, key, &r, []byte("b")) || zsetRemove(c, key, &r, []byte("b")) {
			return fmt.Errorf("zsetRemove")
		}
		if sc, ok := zsetScore(c, key, &r, []byte("a")); !ok || sc != 3 {
			return fmt.Errorf("zsetScore: %v %v", sc, ok)
		}
		return tx.Put(key, &r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []bool{true, true, false}) {
		t.Errorf("added %v", added)
	}
	s.expect("*1\r\n*2\r\n$1\r\na\r\n,3\r\n", "zrange", "g", "0", "-1", "withscores")
	s.expect(":1\r\n", "zcard", "g")
}
