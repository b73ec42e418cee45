package shard

import (
	"strings"
	"testing"

	"github.com/shardis/shardis/internal/redistest"

	"github.com/shardis/shardis/resp"
)

// step is one command of a script and the exact reply Redis 7.0 gives.
type step struct {
	args []string
	want string
}

func cmd(args ...string) []string { return args }

// scripts are command sequences whose replies were taken from redis-server
// 7.0.15. Keys used together by single-partition commands share a hash tag
// (Redis standalone ignores tags, so the same script runs on both).
// TestScriptsAgainstRedis replays them
// against a redis-server started for the test, to keep the expectations honest.
var scripts = map[string][]step{
	"set": {
		{cmd("SET", "k", "v"), okR()},
		{cmd("GET", "k"), bulkR("v")},
		{cmd("SET", "k", "v", "EX", "10", "EX", "20"), okR()},
		{cmd("TTL", "k"), intR(20)},
		{cmd("SET", "k", "v", "EX", "10", "PX", "100"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "NX", "XX"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "XX", "NX"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "KEEPTTL", "EX", "1"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "EX", "1", "KEEPTTL"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "EX"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "PERSIST"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "foo"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "EX", "0", "foo"), errR(resp.ErrSyntax)},
		{cmd("SET", "k", "v", "EX", "0"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "EX", "-1"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "PX", "0"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "EXAT", "0"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "EX", "abc"), errR(resp.ErrNotInteger)},
		{cmd("SET", "k", "v", "EX", "1.5"), errR(resp.ErrNotInteger)},
		{cmd("SET", "k", "v", "EX", "9223372036854775"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "EX", "9223372036854776"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "PX", "9223372036854775807"), errR("ERR invalid expire time in 'set' command")},
		{cmd("SET", "k", "v", "EXAT", "9223372036854775"), okR()},
		{cmd("EXPIRETIME", "k"), intR(9223372036854775)},
		{cmd("SET", "k", "v2", "KEEPTTL"), okR()},
		{cmd("EXPIRETIME", "k"), intR(9223372036854775)},
		{cmd("SET", "k", "v3"), okR()},
		{cmd("TTL", "k"), intR(-1)},
		{cmd("SET", "k", "v", "PXAT", "1"), okR()},
		{cmd("GET", "k"), nilR()},
		{cmd("EXISTS", "k"), intR(0)},
		{cmd("SET", "k", "v", "nx", "get"), nilR()},
		{cmd("GET", "k"), bulkR("v")},
		{cmd("SET", "k", "v2", "get", "nx"), bulkR("v")},
		{cmd("GET", "k"), bulkR("v")},
		{cmd("SET", "k", "v3", "GET", "GET"), bulkR("v")},
		{cmd("SET", "k", "v4", "XX", "GET"), bulkR("v3")},
		{cmd("SET", "nokey", "v", "XX"), nilR()},
		{cmd("SET", "nokey", "v", "XX", "GET"), nilR()},
		{cmd("SET", "k", "v", "NX"), nilR()},
		{cmd("SET", "k", "v", "NX", "NX"), nilR()},
		{cmd("SET", "k", "v5", "EXAT", "1", "GET"), bulkR("v4")},
		{cmd("GET", "k"), nilR()},
		{cmd("SET", "k", "v", "px", "100000", "get"), nilR()},
		{cmd("SET", "k", ""), okR()},
		{cmd("GET", "k"), bulkR("")},
		{cmd("SET", "k"), errR("ERR wrong number of arguments for 'set' command")},
		{cmd("set"), errR("ERR wrong number of arguments for 'set' command")},
	},
	"setnx-setex-getset-getdel": {
		{cmd("SETNX", "n", "1"), intR(1)},
		{cmd("SETNX", "n", "2"), intR(0)},
		{cmd("GET", "n"), bulkR("1")},
		{cmd("SETEX", "n", "100", "x"), okR()},
		{cmd("TTL", "n"), intR(100)},
		{cmd("SETEX", "n", "0", "x"), errR("ERR invalid expire time in 'setex' command")},
		{cmd("SETEX", "n", "abc", "x"), errR(resp.ErrNotInteger)},
		{cmd("PSETEX", "n", "0", "x"), errR("ERR invalid expire time in 'psetex' command")},
		{cmd("PSETEX", "n", "100000", "y"), okR()},
		{cmd("TTL", "n"), intR(100)},
		{cmd("GETSET", "n", "z"), bulkR("y")},
		{cmd("TTL", "n"), intR(-1)},
		{cmd("GETSET", "missing", "z"), nilR()},
		{cmd("GETDEL", "n"), bulkR("z")},
		{cmd("GETDEL", "n"), nilR()},
		{cmd("EXISTS", "n"), intR(0)},
		{cmd("SETEX", "n", "1"), errR("ERR wrong number of arguments for 'setex' command")},
	},
	"getex": {
		{cmd("GETEX"), errR("ERR wrong number of arguments for 'getex' command")},
		{cmd("GETEX", "g"), nilR()},
		{cmd("SET", "g", "v"), okR()},
		{cmd("GETEX", "g"), bulkR("v")},
		{cmd("GETEX", "g", "keepttl"), errR(resp.ErrSyntax)},
		{cmd("GETEX", "g", "nx"), errR(resp.ErrSyntax)},
		{cmd("GETEX", "g", "get"), errR(resp.ErrSyntax)},
		{cmd("GETEX", "g", "persist", "ex", "10"), errR(resp.ErrSyntax)},
		{cmd("GETEX", "g", "ex", "10", "persist"), errR(resp.ErrSyntax)},
		{cmd("GETEX", "g", "ex", "0"), errR("ERR invalid expire time in 'getex' command")},
		{cmd("GETEX", "missing", "ex", "0"), nilR()},
		{cmd("GETEX", "missing", "ex", "abc"), nilR()},
		{cmd("GETEX", "g", "ex", "abc"), errR(resp.ErrNotInteger)},
		{cmd("GETEX", "g", "ex", "100"), bulkR("v")},
		{cmd("TTL", "g"), intR(100)},
		{cmd("GETEX", "g", "px", "100", "px", "200000"), bulkR("v")},
		{cmd("TTL", "g"), intR(200)},
		{cmd("GETEX", "g", "EXAT", "9000000000"), bulkR("v")},
		{cmd("EXPIRETIME", "g"), intR(9000000000)},
		{cmd("GETEX", "g", "PXAT", "9000000000123"), bulkR("v")},
		{cmd("PEXPIRETIME", "g"), intR(9000000000123)},
		{cmd("GETEX", "g", "PERSIST"), bulkR("v")},
		{cmd("TTL", "g"), intR(-1)},
		{cmd("GETEX", "g", "exat", "1"), bulkR("v")},
		{cmd("EXISTS", "g"), intR(0)},
	},
	"mget-mset": {
		{cmd("MSET", "a", "1", "b", "2", "c", "3"), okR()},
		{cmd("MGET", "a", "b", "missing", "c", "a"), arrR(bulkR("1"), bulkR("2"), nilR(), bulkR("3"), bulkR("1"))},
		{cmd("MSET", "a"), errR("ERR wrong number of arguments for 'mset' command")},
		{cmd("MSET", "a", "b", "c"), errR("ERR wrong number of arguments for 'mset' command")},
		{cmd("MSET", "a", "x", "a", "y"), okR()},
		{cmd("GET", "a"), bulkR("y")},
		{cmd("MSETNX", "{m}a", "1", "{m}b"), errR("ERR wrong number of arguments for 'msetnx' command")},
		{cmd("MSETNX", "{m}a", "1", "{m}b", "2"), intR(1)},
		{cmd("MSETNX", "{m}a", "1", "{m}c", "2"), intR(0)},
		{cmd("EXISTS", "{m}c"), intR(0)},
		{cmd("MSETNX", "{m}d", "1", "{m}d", "2"), intR(1)},
		{cmd("GET", "{m}d"), bulkR("2")},
		{cmd("MGET"), errR("ERR wrong number of arguments for 'mget' command")},
	},
	"append-strlen-range": {
		{cmd("APPEND", "s", "hello"), intR(5)},
		{cmd("APPEND", "s", " world"), intR(11)},
		{cmd("GET", "s"), bulkR("hello world")},
		{cmd("STRLEN", "s"), intR(11)},
		{cmd("STRLEN", "missing"), intR(0)},
		{cmd("GETRANGE", "missing", "0", "-1"), bulkR("")},
		{cmd("GETRANGE", "s", "0", "4"), bulkR("hello")},
		{cmd("GETRANGE", "s", "-5", "-1"), bulkR("world")},
		{cmd("GETRANGE", "s", "-3", "-5"), bulkR("")},
		{cmd("GETRANGE", "s", "5", "3"), bulkR("")},
		{cmd("GETRANGE", "s", "1", "100"), bulkR("ello world")},
		{cmd("GETRANGE", "s", "-100", "2"), bulkR("hel")},
		{cmd("GETRANGE", "s", "11", "20"), bulkR("")},
		{cmd("GETRANGE", "s", "0", "abc"), errR(resp.ErrNotInteger)},
		{cmd("GETRANGE", "missing", "x", "0"), errR(resp.ErrNotInteger)},
		{cmd("SUBSTR", "s", "0", "1"), bulkR("he")},
		{cmd("SETRANGE", "s", "6", "W"), intR(11)},
		{cmd("GET", "s"), bulkR("hello World")},
		{cmd("SETRANGE", "s", "13", "!"), intR(14)},
		{cmd("GET", "s"), bulkR("hello World\x00\x00!")},
		{cmd("SETRANGE", "s", "-1", "x"), errR(resp.ErrOffsetRange)},
		{cmd("SETRANGE", "s", "abc", "x"), errR(resp.ErrNotInteger)},
		{cmd("SETRANGE", "s", "536870911", "xx"), errR(resp.ErrStringTooLong)},
		{cmd("SETRANGE", "s", "536870911", ""), intR(14)},
		{cmd("SETRANGE", "r", "2", ""), intR(0)},
		{cmd("EXISTS", "r"), intR(0)},
		{cmd("SETRANGE", "r", "2", "ab"), intR(4)},
		{cmd("GET", "r"), bulkR("\x00\x00ab")},
		{cmd("SET", "t", "v", "EX", "100"), okR()},
		{cmd("APPEND", "t", "w"), intR(2)},
		{cmd("SETRANGE", "t", "0", "x"), intR(2)},
		{cmd("TTL", "t"), intR(100)},
	},
	"incr": {
		{cmd("INCR", "i"), intR(1)},
		{cmd("INCRBY", "i", "10"), intR(11)},
		{cmd("DECR", "i"), intR(10)},
		{cmd("DECRBY", "i", "20"), intR(-10)},
		{cmd("INCRBY", "i", "1.0"), errR(resp.ErrNotInteger)},
		{cmd("INCRBY", "i", "+1"), errR(resp.ErrNotInteger)},
		{cmd("DECRBY", "i", "abc"), errR(resp.ErrNotInteger)},
		{cmd("DECRBY", "i", "-9223372036854775808"), errR("ERR decrement would overflow")},
		{cmd("SET", "i", "007"), okR()},
		{cmd("INCR", "i"), errR(resp.ErrNotInteger)},
		{cmd("SET", "i", "-0"), okR()},
		{cmd("INCR", "i"), errR(resp.ErrNotInteger)},
		{cmd("SET", "i", " 1"), okR()},
		{cmd("INCR", "i"), errR(resp.ErrNotInteger)},
		{cmd("SET", "i", "9223372036854775807"), okR()},
		{cmd("INCR", "i"), errR(resp.ErrOverflow)},
		{cmd("DECRBY", "i", "-1"), errR(resp.ErrOverflow)},
		{cmd("SET", "i", "-9223372036854775808"), okR()},
		{cmd("DECR", "i"), errR(resp.ErrOverflow)},
		{cmd("INCRBY", "i", "9223372036854775807"), intR(-1)},
		{cmd("SET", "i", "9223372036854775808"), okR()},
		{cmd("INCR", "i"), errR(resp.ErrNotInteger)},
		{cmd("SET", "i", "5", "EX", "100"), okR()},
		{cmd("INCR", "i"), intR(6)},
		{cmd("TTL", "i"), intR(100)},
	},
	"incrbyfloat": {
		{cmd("INCRBYFLOAT", "f", "0.1"), bulkR("0.1")},
		{cmd("INCRBYFLOAT", "f", "0.2"), bulkR("0.3")},
		{cmd("SET", "f", "10.50"), okR()},
		{cmd("INCRBYFLOAT", "f", "0.1"), bulkR("10.6")},
		{cmd("INCRBYFLOAT", "f", "1e300"), bulkR("1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144")},
		{cmd("SET", "f", "1"), okR()},
		{cmd("INCRBYFLOAT", "f", "1e-20"), bulkR("1")},
		{cmd("INCRBYFLOAT", "f", "5.0e3"), bulkR("5001")},
		{cmd("INCRBYFLOAT", "f", "inf"), errR(resp.ErrNaNOrInf)},
		{cmd("INCRBYFLOAT", "f", "-INFINITY"), errR(resp.ErrNaNOrInf)},
		{cmd("INCRBYFLOAT", "f", "nan"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", " 1"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "1 "), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "0x10"), bulkR("5017")},
		{cmd("INCRBYFLOAT", "f", "+1"), bulkR("5018")},
		{cmd("INCRBYFLOAT", "f", ".5"), bulkR("5018.5")},
		{cmd("INCRBYFLOAT", "f", "5."), bulkR("5023.5")},
		{cmd("INCRBYFLOAT", "f", "1e5000"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "1e-5000"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "1_0"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "0b1"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "1e"), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", ""), errR(resp.ErrNotFloat)},
		{cmd("INCRBYFLOAT", "f", "0x1p-3"), bulkR("5023.625")},
		{cmd("INCRBYFLOAT", "f", "1E2"), bulkR("5123.625")},
		{cmd("SET", "f", "abc"), okR()},
		{cmd("INCRBYFLOAT", "f", "1"), errR(resp.ErrNotFloat)},
		{cmd("SET", "f", "-1"), okR()},
		{cmd("INCRBYFLOAT", "f", "1"), bulkR("0")},
		{cmd("INCRBYFLOAT", "f", "-1.5"), bulkR("-1.5")},
		{cmd("SET", "f", "1.7976931348623157e308"), okR()},
		{cmd("INCRBYFLOAT", "f", "1.7976931348623157e308"), bulkR("359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768")},
		{cmd("SET", "f", "3.0000000000000000001"), okR()},
		{cmd("INCRBYFLOAT", "f", "0.00000000000000000001"), bulkR("3")},
		{cmd("SET", "f", "0.1"), okR()},
		{cmd("INCRBYFLOAT", "f", "-0.1"), bulkR("0")},
		{cmd("INCRBYFLOAT", "f", "1.23456789012345678901"), bulkR("1.23456789012345679")},
		{cmd("INCRBYFLOAT", "f", "100000.000001"), bulkR("100001.23456889012345528")},
	},
	"keys": {
		{cmd("SET", "a", "1"), okR()},
		{cmd("SET", "b", "2"), okR()},
		{cmd("EXISTS", "a", "a", "b", "missing"), intR(3)},
		{cmd("TOUCH", "a", "a", "missing"), intR(2)},
		{cmd("TYPE", "a"), simpleR("string")},
		{cmd("TYPE", "missing"), simpleR("none")},
		{cmd("DEL", "a", "a", "missing"), intR(1)},
		{cmd("UNLINK", "b", "missing"), intR(1)},
		{cmd("DEL", "b"), intR(0)},
		{cmd("EXISTS"), errR("ERR wrong number of arguments for 'exists' command")},
	},
	"expire": {
		{cmd("SET", "e", "v"), okR()},
		{cmd("EXPIRE", "e", "100", "nx", "xx"), errR("ERR NX and XX, GT or LT options at the same time are not compatible")},
		{cmd("EXPIRE", "e", "100", "gt", "lt"), errR("ERR GT and LT options at the same time are not compatible")},
		{cmd("EXPIRE", "e", "100", "nx", "gt"), errR("ERR NX and XX, GT or LT options at the same time are not compatible")},
		{cmd("EXPIRE", "e", "100", "foo"), errR("ERR Unsupported option foo")},
		{cmd("EXPIRE", "e", "abc", "foo"), errR("ERR Unsupported option foo")},
		{cmd("EXPIRE", "missing", "100"), intR(0)},
		{cmd("EXPIRE", "missing", "abc"), errR(resp.ErrNotInteger)},
		{cmd("EXPIRE", "e", "9223372036854776"), errR("ERR invalid expire time in 'expire' command")},
		{cmd("EXPIRE", "e", "-9223372036854776"), errR("ERR invalid expire time in 'expire' command")},
		{cmd("EXPIRE", "e", "9223372036854775"), errR("ERR invalid expire time in 'expire' command")},
		{cmd("PEXPIRE", "e", "9223372036854775807"), errR("ERR invalid expire time in 'pexpire' command")},
		{cmd("EXPIREAT", "e", "9223372036854776"), errR("ERR invalid expire time in 'expireat' command")},
		{cmd("TTL", "e"), intR(-1)},
		{cmd("EXPIRE", "e", "100", "xx"), intR(0)},
		{cmd("EXPIRE", "e", "100", "gt"), intR(0)},
		{cmd("EXPIRE", "e", "100", "lt"), intR(1)},
		{cmd("TTL", "e"), intR(100)},
		{cmd("EXPIRE", "e", "200", "nx"), intR(0)},
		{cmd("EXPIRE", "e", "50", "gt"), intR(0)},
		{cmd("EXPIRE", "e", "200", "gt"), intR(1)},
		{cmd("EXPIRE", "e", "300", "lt"), intR(0)},
		{cmd("EXPIRE", "e", "50", "LT"), intR(1)},
		{cmd("EXPIRE", "e", "60", "XX"), intR(1)},
		{cmd("TTL", "e"), intR(60)},
		{cmd("PERSIST", "e"), intR(1)},
		{cmd("PERSIST", "e"), intR(0)},
		{cmd("PERSIST", "missing"), intR(0)},
		{cmd("EXPIRE", "e", "10", "nx"), intR(1)},
		{cmd("EXPIREAT", "e", "9000000000"), intR(1)},
		{cmd("EXPIRETIME", "e"), intR(9000000000)},
		{cmd("PEXPIRETIME", "e"), intR(9000000000000)},
		{cmd("PEXPIREAT", "e", "9000000000600"), intR(1)},
		{cmd("EXPIRETIME", "e"), intR(9000000001)},
		{cmd("PEXPIREAT", "e", "9000000000400"), intR(1)},
		{cmd("EXPIRETIME", "e"), intR(9000000000)},
		{cmd("EXPIRETIME", "missing"), intR(-2)},
		{cmd("PEXPIRETIME", "missing"), intR(-2)},
		{cmd("TTL", "missing"), intR(-2)},
		{cmd("PTTL", "missing"), intR(-2)},
		{cmd("PEXPIRE", "e", "-1"), intR(1)},
		{cmd("EXISTS", "e"), intR(0)},
		{cmd("SET", "e", "v"), okR()},
		{cmd("PTTL", "e"), intR(-1)},
		{cmd("EXPIRETIME", "e"), intR(-1)},
		{cmd("EXPIRE", "e", "-9223372036854775"), intR(1)},
		{cmd("EXISTS", "e"), intR(0)},
		{cmd("SET", "e", "v"), okR()},
		{cmd("EXPIREAT", "e", "1"), intR(1)},
		{cmd("EXISTS", "e"), intR(0)},
		{cmd("SET", "e", "v"), okR()},
		{cmd("EXPIRE", "e", "0", "lt"), intR(1)},
		{cmd("EXPIRE", "e", "0"), intR(0)},
		{cmd("EXISTS", "e"), intR(0)},
		{cmd("EXPIRE", "e"), errR("ERR wrong number of arguments for 'expire' command")},
	},
	"rename-copy": {
		{cmd("SET", "{r}a", "1", "EX", "100"), okR()},
		{cmd("RENAME", "{r}missing", "{r}x"), errR(resp.ErrNoSuchKey)},
		{cmd("RENAME", "{r}missing", "{r}missing"), errR(resp.ErrNoSuchKey)},
		{cmd("RENAMENX", "{r}missing", "{r}missing"), errR(resp.ErrNoSuchKey)},
		{cmd("RENAME", "{r}a", "{r}a"), okR()},
		{cmd("RENAMENX", "{r}a", "{r}a"), intR(0)},
		{cmd("RENAME", "{r}a", "{r}b"), okR()},
		{cmd("EXISTS", "{r}a"), intR(0)},
		{cmd("TTL", "{r}b"), intR(100)},
		{cmd("SET", "{r}c", "3"), okR()},
		{cmd("RENAMENX", "{r}b", "{r}c"), intR(0)},
		{cmd("RENAMENX", "{r}b", "{r}d"), intR(1)},
		{cmd("RENAME", "{r}d", "{r}c"), okR()},
		{cmd("GET", "{r}c"), bulkR("1")},
		{cmd("TTL", "{r}c"), intR(100)},
		{cmd("COPY", "{r}c", "{r}c"), errR("ERR source and destination objects are the same")},
		{cmd("COPY", "{r}c", "{r}e"), intR(1)},
		{cmd("TTL", "{r}e"), intR(100)},
		{cmd("COPY", "{r}c", "{r}e"), intR(0)},
		{cmd("SET", "{r}c", "new"), okR()},
		{cmd("COPY", "{r}c", "{r}e", "REPLACE"), intR(1)},
		{cmd("GET", "{r}e"), bulkR("new")},
		{cmd("TTL", "{r}e"), intR(-1)},
		{cmd("COPY", "{r}c", "{r}e", "replace", "replace"), intR(1)},
		{cmd("COPY", "{r}c", "{r}f", "DB", "0"), intR(1)},
		{cmd("COPY", "{r}c", "{r}f", "DB", "16"), errR(resp.ErrDBIndexRange)},
		{cmd("COPY", "{r}c", "{r}f", "DB", "-1"), errR(resp.ErrDBIndexRange)},
		{cmd("COPY", "{r}c", "{r}f", "DB", "abc"), errR(resp.ErrNotInteger)},
		{cmd("COPY", "{r}c", "{r}f", "DB", "2147483648"), errR("ERR value is out of range, value must between -2147483648 and 2147483647")},
		{cmd("COPY", "{r}c", "{r}f", "DB"), errR(resp.ErrSyntax)},
		{cmd("COPY", "{r}c", "{r}f", "foo"), errR(resp.ErrSyntax)},
		{cmd("COPY", "{r}missing", "{r}g"), intR(0)},
	},
	"conn": {
		{cmd("PING"), simpleR("PONG")},
		{cmd("ping", "hello"), bulkR("hello")},
		{cmd("PING", "a", "b"), errR("ERR wrong number of arguments for 'ping' command")},
		{cmd("NOSUCH", "a", "b"), errR("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")},
	},
}

// clusterOnly are steps whose reply is Redis Cluster's (a standalone Redis
// answers them differently); they run only against Shardis.
var clusterOnly = map[string][]step{
	"copy-db": {
		{cmd("SET", "{r}c", "v"), okR()},
		{cmd("COPY", "{r}c", "{r}f", "DB", "1"), errR("ERR Copying to another database is not allowed in cluster mode")},
	},
}

func runScript(t *testing.T, c *rawClient, steps []step) {
	t.Helper()
	for i, st := range steps {
		got := c.do(st.args...)
		if got != st.want {
			t.Errorf("step %d %q:\n got  %q\n want %q", i, strings.Join(st.args, " "), got, st.want)
		}
	}
}

func TestScripts(t *testing.T) {
	for name, steps := range mergeScripts(scripts, clusterOnly) {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, testConfig(t), nil)
			runScript(t, dial(t, s.Addr()), steps)
		})
	}
}

func mergeScripts(ms ...map[string][]step) map[string][]step {
	out := make(map[string][]step)
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestScriptsAgainstRedis checks the expectations above against a real
// redis-server 7.0 started for the test, spoken to in RESP3 as shards
// answer.
func TestScriptsAgainstRedis(t *testing.T) {
	addr := redistest.Start(t)
	for name, steps := range scripts {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			c.do("HELLO", "3")
			if r := c.do("FLUSHALL"); r != okR() {
				t.Fatalf("FLUSHALL: %q", r)
			}
			runScript(t, c, steps)
		})
	}
}
