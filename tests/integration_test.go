package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/ring"
)

// itPartitions is the partition count of the in-process clusters here: small
// enough that key sets can cover every partition cheaply.
const itPartitions = 64

// itTimeout bounds one test's client calls so a hung proxy fails the test
// instead of stalling the run.
const itTimeout = 30 * time.Second

// Expected-reply markers understood by itMatch.
type (
	// itErr wants an error reply with exactly this text (without the '-').
	itErr string
	// itCheck wants a non-error reply for which the function returns nil.
	itCheck func(v any) error
)

// itNil wants a nil reply (go-redis reports it as redis.Nil).
var itNil = struct{ nilReply bool }{true}

// itAny accepts any non-error reply.
var itAny = itCheck(func(any) error { return nil })

// itRange wants an integer reply in [lo, hi].
func itRange(lo, hi int64) itCheck {
	return func(v any) error {
		n, ok := v.(int64)
		if !ok || n < lo || n > hi {
			return fmt.Errorf("want an integer in [%d, %d]", lo, hi)
		}
		return nil
	}
}

// itDoer is what a go-redis Client and Conn have in common for raw commands.
type itDoer interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// itNorm turns int literals of an expected reply into int64, as go-redis
// reports integers, so tables can be written with plain numbers.
func itNorm(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = itNorm(e)
		}
		return out
	}
	return v
}

// itMatch checks one reply (value and error as go-redis returned them)
// against want.
func itMatch(got any, err error, want any) error {
	switch w := want.(type) {
	case itErr:
		var re redis.Error
		if err == nil || !errors.As(err, &re) || err == redis.Nil {
			return fmt.Errorf("want error reply %q, got %#v (err %v)", string(w), got, err)
		}
		if err.Error() != string(w) {
			return fmt.Errorf("want error reply %q, got error %q", string(w), err.Error())
		}
		return nil
	case itCheck:
		if err != nil {
			return fmt.Errorf("want a reply, got error %v", err)
		}
		if cerr := w(got); cerr != nil {
			return fmt.Errorf("%v; got %#v", cerr, got)
		}
		return nil
	}
	if want == itNil {
		if err != redis.Nil {
			return fmt.Errorf("want nil reply, got %#v (err %v)", got, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("want %#v, got error %v", itNorm(want), err)
	}
	if !reflect.DeepEqual(got, itNorm(want)) {
		return fmt.Errorf("want %#v, got %#v", itNorm(want), got)
	}
	return nil
}

// itExpect sends args and checks the reply against want.
func itExpect(t testing.TB, c itDoer, want any, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	got, err := c.Do(ctx, args...).Result()
	if merr := itMatch(got, err, want); merr != nil {
		t.Errorf("%s: %v", itFmtArgs(args), merr)
	}
}

// itFmtArgs renders a command for failure messages, quoting binary arguments.
func itFmtArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		s := fmt.Sprint(a)
		if len(s) > 64 {
			s = s[:64] + "…(" + strconv.Itoa(len(s)) + " bytes)"
		}
		parts[i] = strconv.Quote(s)
	}
	return strings.Join(parts, " ")
}

// itClient opens a go-redis client to addr speaking protocol proto (2 or 3).
func itClient(t testing.TB, addr string, proto int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		Protocol:     proto,
		DialTimeout:  5 * time.Second,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		MaxRetries:   -1, // a retry would hide a dropped or misordered reply
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// itConn pins one connection of rdb, for commands whose effect is per
// connection (CLIENT SETNAME, AUTH, HELLO).
func itConn(t testing.TB, rdb *redis.Client) *redis.Conn {
	t.Helper()
	cn := rdb.Conn()
	t.Cleanup(func() { _ = cn.Close() })
	return cn
}

// itKeys returns keys prefix0, prefix1, … until every one of parts
// partitions holds at least perPart of them.
func itKeys(prefix string, parts, perPart int) []string {
	count := make([]int, parts)
	covered := 0
	var keys []string
	for i := 0; covered < parts; i++ {
		k := prefix + strconv.Itoa(i)
		p := ring.Partition([]byte(k), parts)
		count[p]++
		if count[p] == perPart {
			covered++
		}
		keys = append(keys, k)
	}
	return keys
}

// itOtherPartition returns a key (prefix + n) in a partition other than key's.
func itOtherPartition(key, prefix string) string {
	p := ring.Partition([]byte(key), itPartitions)
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		if ring.Partition([]byte(k), itPartitions) != p {
			return k
		}
	}
}

func itStart(t testing.TB, opt testcluster.Options) *testcluster.Cluster {
	t.Helper()
	if opt.Partitions == 0 {
		opt.Partitions = itPartitions
	}
	return testcluster.Start(t, opt)
}

// TestIntegrationCommands runs a command matrix over strings, keys and
// connection commands through the proxy, with Redis 7's replies as expected
// values.
func TestIntegrationCommands(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true})
	rdb := itClient(t, c.Addr, 3)

	t.Run("Set", func(t *testing.T) { itTestSet(t, rdb) })
	t.Run("StringCommands", func(t *testing.T) { itTestStrings(t, rdb) })
	t.Run("Counters", func(t *testing.T) { itTestCounters(t, rdb) })
	t.Run("Keys", func(t *testing.T) { itTestKeyCommands(t, rdb) })
	t.Run("Expire", func(t *testing.T) { itTestExpire(t, rdb) })
	t.Run("ExpireOptions", func(t *testing.T) { itTestExpireOptions(t, rdb) })
	t.Run("CrossSlot", func(t *testing.T) { itTestCrossSlot(t, rdb) })
	t.Run("Connection", func(t *testing.T) { itTestConnection(t, c.Addr, rdb) })
	t.Run("Errors", func(t *testing.T) { itTestErrors(t, rdb) })
}

func itTestSet(t *testing.T, rdb *redis.Client) {
	k, k2, k3 := "set:a", "set:b", "set:c"
	now := time.Now()
	itExpect(t, rdb, itNil, "GET", k)
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, "v", "GET", k)
	itExpect(t, rdb, itNil, "SET", k, "v2", "NX")
	itExpect(t, rdb, "v", "GET", k)
	itExpect(t, rdb, "OK", "SET", k, "v2", "XX")
	itExpect(t, rdb, "v2", "GET", k)
	itExpect(t, rdb, itNil, "SET", k2, "v", "XX")
	itExpect(t, rdb, itNil, "GET", k2)
	itExpect(t, rdb, "OK", "SET", k2, "v", "NX")
	itExpect(t, rdb, "v", "GET", k2)
	itExpect(t, rdb, "v2", "SET", k, "v3", "GET")
	itExpect(t, rdb, "v3", "GET", k)
	itExpect(t, rdb, itNil, "SET", k3, "x", "GET")
	itExpect(t, rdb, "x", "GET", k3)
	itExpect(t, rdb, "x", "SET", k3, "y", "NX", "GET") // NX with GET (Redis 7): old value, no write
	itExpect(t, rdb, "x", "GET", k3)

	// Expiry options.
	itExpect(t, rdb, "OK", "SET", k, "v", "EX", 100)
	itExpect(t, rdb, itRange(99, 100), "TTL", k)
	itExpect(t, rdb, "OK", "SET", k, "w", "KEEPTTL")
	itExpect(t, rdb, itRange(99, 100), "TTL", k)
	itExpect(t, rdb, "w", "GET", k)
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, -1, "TTL", k) // a plain SET discards the TTL
	itExpect(t, rdb, "OK", "SET", k, "v", "PX", 100000)
	itExpect(t, rdb, itRange(98000, 100000), "PTTL", k)
	itExpect(t, rdb, "OK", "SET", k, "v", "EXAT", now.Unix()+100)
	itExpect(t, rdb, itRange(98, 100), "TTL", k)
	itExpect(t, rdb, now.Unix()+100, "EXPIRETIME", k)
	itExpect(t, rdb, "OK", "SET", k, "v", "PXAT", now.UnixMilli()+100000)
	itExpect(t, rdb, itRange(97000, 100000), "PTTL", k)
	itExpect(t, rdb, now.UnixMilli()+100000, "PEXPIRETIME", k)
	itExpect(t, rdb, "v", "SET", k, "v", "XX", "EX", 100, "GET")
	itExpect(t, rdb, "OK", "SET", k, "v", "ex", 100) // options are case-insensitive
	itExpect(t, rdb, "OK", "SET", k3, "gone", "EXAT", 1)
	itExpect(t, rdb, itNil, "GET", k3) // an absolute time in the past expires at once

	// Option errors.
	itExpect(t, rdb, itErr("ERR syntax error"), "SET", k, "v", "NX", "XX")
	itExpect(t, rdb, itErr("ERR syntax error"), "SET", k, "v", "EX", 10, "PX", 10000)
	itExpect(t, rdb, itErr("ERR syntax error"), "SET", k, "v", "KEEPTTL", "EX", 10)
	itExpect(t, rdb, itErr("ERR syntax error"), "SET", k, "v", "FOO")
	itExpect(t, rdb, itErr("ERR syntax error"), "SET", k, "v", "EX")
	itExpect(t, rdb, itErr("ERR invalid expire time in 'set' command"), "SET", k, "v", "EX", 0)
	itExpect(t, rdb, itErr("ERR invalid expire time in 'set' command"), "SET", k, "v", "PX", -1)
	itExpect(t, rdb, itErr("ERR invalid expire time in 'set' command"), "SET", k, "v", "EX", "9999999999999999")
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "SET", k, "v", "EX", "abc")
	itExpect(t, rdb, itErr("ERR wrong number of arguments for 'set' command"), "SET", k)
	itExpect(t, rdb, "v", "GET", k) // failed SETs changed nothing

	// SETNX, SETEX, PSETEX, GETSET.
	itExpect(t, rdb, 0, "SETNX", k, "z")
	itExpect(t, rdb, 1, "SETNX", "set:nx", "z")
	itExpect(t, rdb, "z", "GET", "set:nx")
	itExpect(t, rdb, "OK", "SETEX", k, 100, "e")
	itExpect(t, rdb, itRange(99, 100), "TTL", k)
	itExpect(t, rdb, "e", "GET", k)
	itExpect(t, rdb, itErr("ERR invalid expire time in 'setex' command"), "SETEX", k, 0, "e")
	itExpect(t, rdb, itErr("ERR invalid expire time in 'setex' command"), "SETEX", k, -1, "e")
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "SETEX", k, "x", "e")
	itExpect(t, rdb, "OK", "PSETEX", k, 100000, "p")
	itExpect(t, rdb, itRange(98000, 100000), "PTTL", k)
	itExpect(t, rdb, itErr("ERR invalid expire time in 'psetex' command"), "PSETEX", k, 0, "p")
	itExpect(t, rdb, "p", "GETSET", k, "g")
	itExpect(t, rdb, -1, "TTL", k) // GETSET discards the TTL
	itExpect(t, rdb, itNil, "GETSET", "set:gs", "first")
	itExpect(t, rdb, "first", "GET", "set:gs")
}

func itTestStrings(t *testing.T, rdb *redis.Client) {
	k := "str:a"
	now := time.Now()
	// GETDEL
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, "v", "GETDEL", k)
	itExpect(t, rdb, itNil, "GETDEL", k)
	itExpect(t, rdb, 0, "EXISTS", k)

	// GETEX
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, "v", "GETEX", k)
	itExpect(t, rdb, -1, "TTL", k)
	itExpect(t, rdb, "v", "GETEX", k, "EX", 100)
	itExpect(t, rdb, itRange(99, 100), "TTL", k)
	itExpect(t, rdb, "v", "GETEX", k, "PERSIST")
	itExpect(t, rdb, -1, "TTL", k)
	itExpect(t, rdb, "v", "GETEX", k, "PX", 100000)
	itExpect(t, rdb, itRange(98000, 100000), "PTTL", k)
	itExpect(t, rdb, "v", "GETEX", k, "EXAT", now.Unix()+200)
	itExpect(t, rdb, now.Unix()+200, "EXPIRETIME", k)
	itExpect(t, rdb, "v", "GETEX", k, "PXAT", now.UnixMilli()+300000)
	itExpect(t, rdb, now.UnixMilli()+300000, "PEXPIRETIME", k)
	itExpect(t, rdb, itNil, "GETEX", "str:none", "EX", 10)
	itExpect(t, rdb, itErr("ERR invalid expire time in 'getex' command"), "GETEX", k, "EX", 0)
	itExpect(t, rdb, itErr("ERR syntax error"), "GETEX", k, "PERSIST", "EX", 10)
	itExpect(t, rdb, itErr("ERR syntax error"), "GETEX", k, "EX", 10, "PX", 10)
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "GETEX", k, "EX", "ten")

	// MGET / MSET / MSETNX on a few keys (the spanning cases have their own test).
	itExpect(t, rdb, "OK", "MSET", "str:m1", "1", "str:m2", "2")
	itExpect(t, rdb, []any{"1", nil, "2"}, "MGET", "str:m1", "str:missing", "str:m2")
	itExpect(t, rdb, "OK", "MSET", "str:m1", "x", "str:m1", "y") // the last value wins
	itExpect(t, rdb, "y", "GET", "str:m1")
	itExpect(t, rdb, 1, "MSETNX", "{str}a", "1", "{str}b", "2")
	itExpect(t, rdb, 0, "MSETNX", "{str}b", "3", "{str}c", "4")
	itExpect(t, rdb, []any{"1", "2", nil}, "MGET", "{str}a", "{str}b", "{str}c")

	// APPEND, STRLEN, GETRANGE, SETRANGE
	itExpect(t, rdb, 3, "APPEND", "str:ap", "xyz")
	itExpect(t, rdb, 5, "APPEND", "str:ap", "ab")
	itExpect(t, rdb, "xyzab", "GET", "str:ap")
	itExpect(t, rdb, 5, "STRLEN", "str:ap")
	itExpect(t, rdb, 0, "STRLEN", "str:none")
	itExpect(t, rdb, "xyz", "GETRANGE", "str:ap", 0, 2)
	itExpect(t, rdb, "ab", "GETRANGE", "str:ap", -2, -1)
	itExpect(t, rdb, "xyzab", "GETRANGE", "str:ap", 0, -1)
	itExpect(t, rdb, "xyzab", "GETRANGE", "str:ap", -100, 100)
	itExpect(t, rdb, "", "GETRANGE", "str:ap", 10, 20)
	itExpect(t, rdb, "", "GETRANGE", "str:ap", 3, 1)
	itExpect(t, rdb, "", "GETRANGE", "str:none", 0, -1)
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "GETRANGE", "str:ap", "a", 1)
	itExpect(t, rdb, 5, "SETRANGE", "str:ap", 1, "YY")
	itExpect(t, rdb, "xYYab", "GET", "str:ap")
	itExpect(t, rdb, 7, "SETRANGE", "str:ap", 5, "!!")
	itExpect(t, rdb, "xYYab!!", "GET", "str:ap")
	itExpect(t, rdb, 5, "SETRANGE", "str:sr", 3, "ab")
	itExpect(t, rdb, "\x00\x00\x00ab", "GET", "str:sr")
	itExpect(t, rdb, 0, "SETRANGE", "str:sr0", 0, "")
	itExpect(t, rdb, 0, "EXISTS", "str:sr0") // an empty SETRANGE on a missing key creates nothing
	itExpect(t, rdb, itErr("ERR offset is out of range"), "SETRANGE", "str:ap", -1, "x")
	itExpect(t, rdb, itErr("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), "SETRANGE", "str:ap", 536870912, "x")
}

func itTestCounters(t *testing.T, rdb *redis.Client) {
	n := "cnt:n"
	itExpect(t, rdb, 1, "INCR", n)
	itExpect(t, rdb, 2, "INCR", n)
	itExpect(t, rdb, 1, "DECR", n)
	itExpect(t, rdb, 11, "INCRBY", n, 10)
	itExpect(t, rdb, 6, "DECRBY", n, 5)
	itExpect(t, rdb, -4, "INCRBY", n, -10)
	itExpect(t, rdb, "-4", "GET", n)
	itExpect(t, rdb, -1, "DECR", "cnt:fresh")
	itExpect(t, rdb, "OK", "SET", n, "9223372036854775806")
	itExpect(t, rdb, 9223372036854775807, "INCR", n)
	itExpect(t, rdb, itErr("ERR increment or decrement would overflow"), "INCR", n)
	itExpect(t, rdb, itErr("ERR increment or decrement would overflow"), "INCRBY", n, 1)
	itExpect(t, rdb, "9223372036854775807", "GET", n)
	itExpect(t, rdb, "OK", "SET", n, "-9223372036854775808")
	itExpect(t, rdb, itErr("ERR increment or decrement would overflow"), "DECR", n)
	itExpect(t, rdb, itErr("ERR increment or decrement would overflow"), "INCRBY", n, -1)
	itExpect(t, rdb, itErr("ERR decrement would overflow"), "DECRBY", "cnt:fresh", "-9223372036854775808")
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "INCRBY", n, "abc")
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "INCRBY", n, "9223372036854775808")
	for _, bad := range []string{"abc", "1.5", " 1", "1 ", "", "0x10", "99999999999999999999"} {
		itExpect(t, rdb, "OK", "SET", "cnt:bad", bad)
		itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "INCR", "cnt:bad")
		itExpect(t, rdb, bad, "GET", "cnt:bad")
	}

	f := "cnt:f"
	itExpect(t, rdb, "1.5", "INCRBYFLOAT", f, "1.5")
	itExpect(t, rdb, "11.75", "INCRBYFLOAT", f, "10.25")
	itExpect(t, rdb, "0", "INCRBYFLOAT", f, "-11.75")
	itExpect(t, rdb, "5000", "INCRBYFLOAT", f, "5.0e3")
	itExpect(t, rdb, "5000", "GET", f)
	itExpect(t, rdb, "3", "INCRBYFLOAT", "cnt:n2", "3")
	itExpect(t, rdb, itErr("ERR increment would produce NaN or Infinity"), "INCRBYFLOAT", f, "inf")
	itExpect(t, rdb, itErr("ERR value is not a valid float"), "INCRBYFLOAT", f, "abc")
	itExpect(t, rdb, "OK", "SET", "cnt:s", "abc")
	itExpect(t, rdb, itErr("ERR value is not a valid float"), "INCRBYFLOAT", "cnt:s", "1")
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "INCR", "cnt:s")
}

func itTestKeyCommands(t *testing.T, rdb *redis.Client) {
	itExpect(t, rdb, "OK", "MSET", "key:a", "1", "key:b", "2", "key:c", "3", "key:d", "4")
	itExpect(t, rdb, 2, "DEL", "key:a", "key:b", "key:none")
	itExpect(t, rdb, 0, "DEL", "key:a")
	itExpect(t, rdb, 1, "UNLINK", "key:c", "key:none")
	itExpect(t, rdb, 2, "EXISTS", "key:d", "key:d", "key:none") // repeated keys count each time
	itExpect(t, rdb, 0, "EXISTS", "key:a")
	itExpect(t, rdb, "string", "TYPE", "key:d")
	itExpect(t, rdb, "none", "TYPE", "key:none")
	itExpect(t, rdb, 1, "TOUCH", "key:d", "key:none")

	// RENAME / RENAMENX within one hash tag.
	itExpect(t, rdb, "OK", "SET", "{ren}a", "va", "EX", 1000)
	itExpect(t, rdb, "OK", "RENAME", "{ren}a", "{ren}b")
	itExpect(t, rdb, 0, "EXISTS", "{ren}a")
	itExpect(t, rdb, "va", "SET", "{ren}b", "vb", "KEEPTTL", "GET")
	itExpect(t, rdb, itRange(990, 1000), "TTL", "{ren}b") // RENAME keeps the TTL
	itExpect(t, rdb, "OK", "RENAME", "{ren}b", "{ren}b")
	itExpect(t, rdb, itErr("ERR no such key"), "RENAME", "{ren}none", "{ren}x")
	itExpect(t, rdb, itErr("ERR no such key"), "RENAMENX", "{ren}none", "{ren}x")
	itExpect(t, rdb, "OK", "SET", "{ren}c", "vc")
	itExpect(t, rdb, 0, "RENAMENX", "{ren}b", "{ren}c")
	itExpect(t, rdb, 1, "RENAMENX", "{ren}b", "{ren}d")
	itExpect(t, rdb, []any{nil, "vc", "vb"}, "MGET", "{ren}b", "{ren}c", "{ren}d")
	itExpect(t, rdb, "OK", "RENAME", "{ren}d", "{ren}c") // RENAME overwrites
	itExpect(t, rdb, "vb", "GET", "{ren}c")

	// COPY within one hash tag.
	itExpect(t, rdb, "OK", "SET", "{cp}a", "va", "EX", 1000)
	itExpect(t, rdb, 1, "COPY", "{cp}a", "{cp}b")
	itExpect(t, rdb, "va", "GET", "{cp}b")
	itExpect(t, rdb, itRange(990, 1000), "TTL", "{cp}b") // COPY keeps the TTL
	itExpect(t, rdb, "OK", "SET", "{cp}a", "va2")
	itExpect(t, rdb, 0, "COPY", "{cp}a", "{cp}b")
	itExpect(t, rdb, "va", "GET", "{cp}b")
	itExpect(t, rdb, 1, "COPY", "{cp}a", "{cp}b", "REPLACE")
	itExpect(t, rdb, "va2", "GET", "{cp}b")
	itExpect(t, rdb, -1, "TTL", "{cp}b")
	itExpect(t, rdb, 0, "COPY", "{cp}none", "{cp}c")
	itExpect(t, rdb, itErr("ERR source and destination objects are the same"), "COPY", "{cp}a", "{cp}a")
	itExpect(t, rdb, itErr("ERR syntax error"), "COPY", "{cp}a", "{cp}b", "FOO")
}

func itTestExpire(t *testing.T, rdb *redis.Client) {
	now := time.Now()
	k := "exp:a"
	itExpect(t, rdb, -2, "TTL", k)
	itExpect(t, rdb, -2, "PTTL", k)
	itExpect(t, rdb, -2, "EXPIRETIME", k)
	itExpect(t, rdb, -2, "PEXPIRETIME", k)
	itExpect(t, rdb, 0, "EXPIRE", k, 100)
	itExpect(t, rdb, 0, "PERSIST", k)
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, -1, "TTL", k)
	itExpect(t, rdb, -1, "PTTL", k)
	itExpect(t, rdb, -1, "EXPIRETIME", k)
	itExpect(t, rdb, -1, "PEXPIRETIME", k)
	itExpect(t, rdb, 0, "PERSIST", k)
	itExpect(t, rdb, 1, "EXPIRE", k, 100)
	itExpect(t, rdb, itRange(99, 100), "TTL", k)
	itExpect(t, rdb, itRange(98000, 100000), "PTTL", k)
	itExpect(t, rdb, 1, "PEXPIRE", k, 200000)
	itExpect(t, rdb, itRange(198000, 200000), "PTTL", k)
	itExpect(t, rdb, 1, "EXPIREAT", k, now.Unix()+300)
	itExpect(t, rdb, now.Unix()+300, "EXPIRETIME", k)
	itExpect(t, rdb, (now.Unix()+300)*1000, "PEXPIRETIME", k)
	itExpect(t, rdb, 1, "PEXPIREAT", k, now.UnixMilli()+400000)
	itExpect(t, rdb, now.UnixMilli()+400000, "PEXPIRETIME", k)
	itExpect(t, rdb, (now.UnixMilli()+400000+500)/1000, "EXPIRETIME", k) // Redis rounds to the nearest second
	itExpect(t, rdb, 1, "PERSIST", k)
	itExpect(t, rdb, -1, "TTL", k)
	itExpect(t, rdb, "v", "GET", k)

	// Times in the past delete the key.
	itExpect(t, rdb, 1, "EXPIREAT", k, 1)
	itExpect(t, rdb, itNil, "GET", k)
	itExpect(t, rdb, 0, "EXISTS", k)
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, 1, "EXPIRE", k, -1)
	itExpect(t, rdb, 0, "EXISTS", k)
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, 1, "PEXPIRE", k, 0)
	itExpect(t, rdb, itNil, "GET", k)
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, 1, "PEXPIREAT", k, now.UnixMilli()-1000)
	itExpect(t, rdb, -2, "TTL", k)

	// A short expiry really expires.
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	set := time.Now()
	itExpect(t, rdb, "OK", "SET", "exp:short", "v", "PX", 50)
	itExpect(t, rdb, itCheck(func(v any) error {
		if n, ok := v.(int64); !ok || n != -2 && (n < 0 || n > 50) {
			return errors.New("want a PTTL in [0, 50], or -2 if it already expired")
		}
		return nil
	}), "PTTL", "exp:short")
	deadline := time.Now().Add(3 * time.Second)
	for {
		v, err := rdb.Get(ctx, "exp:short").Result()
		if err == redis.Nil {
			break
		}
		if err != nil {
			t.Fatalf("GET exp:short: %v", err)
		}
		if v != "v" {
			t.Fatalf("GET exp:short = %q, want \"v\" or nil", v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key SET with PX 50 still reads back %v after SET", time.Since(set))
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	// Expiry times are whole milliseconds (as in Redis): the server's
	// clock reading is truncated, so the key may go up to 1 ms early.
	if el := time.Since(set); el < 49*time.Millisecond {
		t.Errorf("a key SET with PX 50 was gone after only %v", el)
	}
	itExpect(t, rdb, 0, "EXISTS", "exp:short")
	itExpect(t, rdb, -2, "PTTL", "exp:short")

	// Errors.
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "EXPIRE", k, "abc")
	itExpect(t, rdb, itErr("ERR invalid expire time in 'expire' command"), "EXPIRE", k, "9223372036854775807")
	itExpect(t, rdb, itErr("ERR invalid expire time in 'pexpire' command"), "PEXPIRE", k, "9223372036854775807")
	itExpect(t, rdb, itErr("ERR wrong number of arguments for 'expire' command"), "EXPIRE", k)
	itExpect(t, rdb, itErr("ERR wrong number of arguments for 'ttl' command"), "TTL")
}

func itTestExpireOptions(t *testing.T, rdb *redis.Client) {
	k := "expo:a"
	now := time.Now()
	itExpect(t, rdb, "OK", "SET", k, "v")
	itExpect(t, rdb, 0, "EXPIRE", k, 100, "XX") // no TTL yet
	itExpect(t, rdb, 0, "EXPIRE", k, 100, "GT") // no TTL counts as infinite
	itExpect(t, rdb, 1, "EXPIRE", k, 100, "NX")
	itExpect(t, rdb, 0, "EXPIRE", k, 200, "NX")
	itExpect(t, rdb, 1, "EXPIRE", k, 200, "XX")
	itExpect(t, rdb, 1, "EXPIRE", k, 300, "GT")
	itExpect(t, rdb, 0, "EXPIRE", k, 100, "GT")
	itExpect(t, rdb, 1, "EXPIRE", k, 50, "LT")
	itExpect(t, rdb, 0, "EXPIRE", k, 60, "LT")
	itExpect(t, rdb, itRange(49, 50), "TTL", k)
	itExpect(t, rdb, 1, "PERSIST", k)
	itExpect(t, rdb, 1, "EXPIRE", k, 100, "lt") // no TTL counts as infinite
	itExpect(t, rdb, 1, "PEXPIRE", k, 500000, "gt")
	itExpect(t, rdb, itRange(498000, 500000), "PTTL", k)
	itExpect(t, rdb, 0, "PEXPIRE", k, 500000, "NX")

	itExpect(t, rdb, 1, "PERSIST", k)
	at := now.UnixMilli() + 600000
	itExpect(t, rdb, 0, "PEXPIREAT", k, at, "XX")
	itExpect(t, rdb, 0, "PEXPIREAT", k, at, "GT")
	itExpect(t, rdb, 1, "PEXPIREAT", k, at, "NX")
	itExpect(t, rdb, at, "PEXPIRETIME", k)
	itExpect(t, rdb, 0, "PEXPIREAT", k, at+1000, "NX")
	itExpect(t, rdb, 1, "PEXPIREAT", k, at+1000, "XX")
	itExpect(t, rdb, 0, "PEXPIREAT", k, at, "GT")
	itExpect(t, rdb, 1, "PEXPIREAT", k, at+2000, "GT")
	itExpect(t, rdb, 0, "PEXPIREAT", k, at+3000, "LT")
	itExpect(t, rdb, 1, "PEXPIREAT", k, at-1000, "LT")
	itExpect(t, rdb, at-1000, "PEXPIRETIME", k)
	itExpect(t, rdb, 1, "EXPIREAT", k, now.Unix()+700, "GT")
	itExpect(t, rdb, now.Unix()+700, "EXPIRETIME", k)
	itExpect(t, rdb, 0, "EXPIREAT", "expo:none", now.Unix()+700, "NX")

	itExpect(t, rdb, itErr("ERR NX and XX, GT or LT options at the same time are not compatible"), "EXPIRE", k, 10, "NX", "XX")
	itExpect(t, rdb, itErr("ERR NX and XX, GT or LT options at the same time are not compatible"), "PEXPIREAT", k, at, "NX", "GT")
	itExpect(t, rdb, itErr("ERR GT and LT options at the same time are not compatible"), "EXPIRE", k, 10, "GT", "LT")
	itExpect(t, rdb, itErr("ERR Unsupported option foo"), "EXPIRE", k, 10, "foo")
	itExpect(t, rdb, now.Unix()+700, "EXPIRETIME", k) // failed calls changed nothing
}

func itTestCrossSlot(t *testing.T, rdb *redis.Client) {
	const crossSlot = "CROSSSLOT Keys in request don't hash to the same slot"
	a := "cross:a"
	b := itOtherPartition(a, "cross:b")
	itExpect(t, rdb, "OK", "SET", a, "va")
	itExpect(t, rdb, "OK", "SET", b, "vb")
	itExpect(t, rdb, itErr(crossSlot), "MSETNX", a, "1", b, "2")
	itExpect(t, rdb, itErr(crossSlot), "RENAME", a, b)
	itExpect(t, rdb, itErr(crossSlot), "RENAMENX", a, b)
	itExpect(t, rdb, itErr(crossSlot), "COPY", a, b)
	itExpect(t, rdb, itErr(crossSlot), "COPY", a, b, "REPLACE")
	itExpect(t, rdb, []any{"va", "vb"}, "MGET", a, b) // nothing was changed

	// Keys with one hash tag share a partition, so the same commands work.
	itExpect(t, rdb, 1, "MSETNX", "{user1}.a", "1", "{user1}.b", "2")
	itExpect(t, rdb, "OK", "RENAME", "{user1}.a", "{user1}.c")
	itExpect(t, rdb, 1, "RENAMENX", "{user1}.c", "{user1}.d")
	itExpect(t, rdb, 1, "COPY", "{user1}.d", "{user1}.e")
	itExpect(t, rdb, []any{nil, "2", nil, "1", "1"}, "MGET", "{user1}.a", "{user1}.b", "{user1}.c", "{user1}.d", "{user1}.e")
}

func itTestConnection(t *testing.T, addr string, rdb *redis.Client) {
	itExpect(t, rdb, "PONG", "PING")
	itExpect(t, rdb, "hello world", "PING", "hello world")
	itExpect(t, rdb, "", "ECHO", "")
	itExpect(t, rdb, "a\r\nb\x00", "ECHO", "a\r\nb\x00")
	itExpect(t, rdb, "OK", "SELECT", 0)
	// One keyspace: Redis 7 configured with "databases 1" answers this.
	itExpect(t, rdb, itErr("ERR DB index is out of range"), "SELECT", 1)
	itExpect(t, rdb, itErr("ERR value is not an integer or out of range"), "SELECT", "x")

	itExpect(t, rdb, itCheck(func(v any) error {
		a, ok := v.([]any)
		if !ok || len(a) != 2 {
			return errors.New("want a two-element array")
		}
		secs, err1 := strconv.ParseInt(fmt.Sprint(a[0]), 10, 64)
		usecs, err2 := strconv.ParseInt(fmt.Sprint(a[1]), 10, 64)
		if err1 != nil || err2 != nil || usecs < 0 || usecs > 999999 {
			return errors.New("want [seconds, microseconds] as decimal strings")
		}
		if d := time.Since(time.Unix(secs, usecs*1000)); d < -2*time.Second || d > 2*time.Second {
			return fmt.Errorf("server time is %v off the test's clock", d)
		}
		return nil
	}), "TIME")

	for _, args := range [][]any{{"INFO"}, {"INFO", "server"}} {
		itExpect(t, rdb, itCheck(func(v any) error {
			s, ok := v.(string)
			if !ok || !strings.Contains(s, "# Server\r\n") || !strings.Contains(s, "redis_version:") {
				return errors.New(`want a bulk string with a "# Server" section and redis_version`)
			}
			return nil
		}), args...)
	}

	cn := itConn(t, rdb)
	itExpect(t, cn, itNil, "CLIENT", "GETNAME")
	itExpect(t, cn, "OK", "CLIENT", "SETNAME", "itconn")
	itExpect(t, cn, "itconn", "CLIENT", "GETNAME")
	itExpect(t, cn, itErr("ERR Client names cannot contain spaces, newlines or special characters."), "CLIENT", "SETNAME", "a b")
	itExpect(t, cn, itErr("ERR unknown subcommand 'foo'. Try CLIENT HELP."), "CLIENT", "foo")
	ctx := context.Background()
	id, err := cn.Do(ctx, "CLIENT", "ID").Int64()
	if err != nil || id <= 0 {
		t.Errorf("CLIENT ID = %d, %v; want a positive integer", id, err)
	}
	itExpect(t, cn, itCheck(func(v any) error {
		s, ok := v.(string)
		if !ok || !strings.Contains(s, "id="+strconv.FormatInt(id, 10)+" ") || !strings.Contains(s, " name=itconn ") {
			return fmt.Errorf("want a bulk string with id=%d and name=itconn", id)
		}
		return nil
	}), "CLIENT", "INFO")

	// HELLO on a RESP3 connection answers a map.
	itExpect(t, cn, itCheck(func(v any) error {
		m, ok := v.(map[any]any)
		if !ok {
			return errors.New("want a RESP3 map")
		}
		if m["proto"] != int64(3) || m["server"] == nil || m["version"] == nil || m["id"] != id {
			return fmt.Errorf("want proto 3, server, version and id %d", id)
		}
		return nil
	}), "HELLO", "3")
	itExpect(t, cn, itErr("NOPROTO unsupported protocol version"), "HELLO", "4")

	// A RESP2 client works, and HELLO 2 answers a flat array.
	rdb2 := itClient(t, addr, 2)
	itExpect(t, rdb2, "OK", "SET", "conn:r2", "v")
	itExpect(t, rdb2, "v", "GET", "conn:r2")
	itExpect(t, rdb2, []any{"v", nil}, "MGET", "conn:r2", "conn:none")
	cn2 := itConn(t, rdb2)
	itExpect(t, cn2, itCheck(func(v any) error {
		a, ok := v.([]any)
		if !ok || len(a)%2 != 0 {
			return errors.New("want a flat array of field, value pairs")
		}
		for i := 0; i < len(a); i += 2 {
			if a[i] == "proto" && a[i+1] == int64(2) {
				return nil
			}
		}
		return errors.New("want proto 2")
	}), "HELLO", "2")
	itExpect(t, cn2, "PONG", "PING")
	itExpect(t, rdb, "v", "GET", "conn:r2") // and the RESP3 client sees its write
}

func itTestErrors(t *testing.T, rdb *redis.Client) {
	arity := func(cmd string) itErr { return itErr("ERR wrong number of arguments for '" + cmd + "' command") }
	for _, tc := range []struct {
		want any
		args []any
	}{
		{arity("get"), []any{"GET"}},
		{arity("get"), []any{"GeT", "a", "b"}},
		{arity("set"), []any{"SET"}},
		{arity("mget"), []any{"MGET"}},
		{arity("mset"), []any{"MSET", "a"}},
		{arity("mset"), []any{"MSET", "a", "1", "b"}},
		{arity("msetnx"), []any{"MSETNX", "a"}},
		{arity("del"), []any{"DEL"}},
		{arity("exists"), []any{"EXISTS"}},
		{arity("incrby"), []any{"INCRBY", "a"}},
		{arity("getdel"), []any{"GETDEL"}},
		{arity("rename"), []any{"RENAME", "a"}},
		{arity("ping"), []any{"PING", "a", "b"}},
		{arity("echo"), []any{"ECHO"}},
		{arity("type"), []any{"TYPE"}},
		{arity("setrange"), []any{"SETRANGE", "a", 1}},
		{itErr("ERR unknown command 'foo', with args beginning with: "), []any{"foo"}},
		{itErr("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "), []any{"FOO", "bar", "baz"}},
		{itErr("ERR syntax error"), []any{"SET", "err:a", "v", "XX", "NX"}},
		{itErr("ERR syntax error"), []any{"SCAN", 0, "MATCH"}},
		{itErr("ERR invalid cursor"), []any{"SCAN", "abc"}},
		{itErr("ERR value is not an integer or out of range"), []any{"SCAN", 0, "COUNT", "x"}},
		{itErr("ERR value is not an integer or out of range"), []any{"INCRBY", "err:a", "1.5"}},
		{itErr("ERR value is not a valid float"), []any{"INCRBYFLOAT", "err:a", "x"}},
		{itErr("ERR unknown subcommand 'nope'. Try CLIENT HELP."), []any{"CLIENT", "nope"}},
	} {
		itExpect(t, rdb, tc.want, tc.args...)
	}
	// The connection is still usable after every error.
	itExpect(t, rdb, "PONG", "PING")
}

// TestIntegrationKeyspace covers the commands that see the whole keyspace,
// on a cluster of its own: DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL, FLUSHDB.
func TestIntegrationKeyspace(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true})
	rdb := itClient(t, c.Addr, 3)
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()

	itExpect(t, rdb, "OK", "FLUSHALL")
	itExpect(t, rdb, 0, "DBSIZE")
	itExpect(t, rdb, itNil, "RANDOMKEY")
	itExpect(t, rdb, []any{}, "KEYS", "*")

	const n = 5000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "ks:" + strconv.Itoa(i)
	}
	parts := map[int]bool{}
	for _, k := range keys {
		parts[ring.Partition([]byte(k), itPartitions)] = true
	}
	if len(parts) != itPartitions {
		t.Fatalf("test keys cover %d of %d partitions", len(parts), itPartitions)
	}
	for i := 0; i < n; i += 500 {
		args := []any{"MSET"}
		for _, k := range keys[i : i+500] {
			args = append(args, k, "v"+k)
		}
		itExpect(t, rdb, "OK", args...)
	}
	itExpect(t, rdb, n, "DBSIZE")

	// Full SCAN iterations: every key at least once, nothing else.
	scanAll := func(extra ...any) map[string]int {
		t.Helper()
		seen := map[string]int{}
		cursor := "0"
		for calls := 0; ; calls++ {
			if calls > 10*n {
				t.Fatalf("SCAN %v did not finish", extra)
			}
			res, err := rdb.Do(ctx, append([]any{"SCAN", cursor}, extra...)...).Slice()
			if err != nil || len(res) != 2 {
				t.Fatalf("SCAN %s %v = %#v, %v", cursor, extra, res, err)
			}
			next, ok := res[0].(string)
			batch, ok2 := res[1].([]any)
			if !ok || !ok2 {
				t.Fatalf("SCAN reply %#v: want [cursor, [keys]]", res)
			}
			for _, k := range batch {
				seen[k.(string)]++
			}
			if next == "0" {
				return seen
			}
			cursor = next
		}
	}
	seen := scanAll("COUNT", 100)
	itCheckKeySet(t, "SCAN COUNT 100", seen, keys)
	seen = scanAll()
	itCheckKeySet(t, "SCAN", seen, keys)
	var ones []string
	for _, k := range keys {
		if strings.HasPrefix(k, "ks:1") {
			ones = append(ones, k)
		}
	}
	itCheckKeySet(t, "SCAN MATCH ks:1* COUNT 1000", scanAll("MATCH", "ks:1*", "COUNT", 1000), ones)
	itCheckKeySet(t, "SCAN TYPE string", scanAll("TYPE", "string"), keys)
	itCheckKeySet(t, "SCAN TYPE hash", scanAll("TYPE", "hash"), nil)
	itCheckKeySet(t, "SCAN MATCH nomatch*", scanAll("MATCH", "nomatch*"), nil)

	got, err := rdb.Do(ctx, "KEYS", "ks:12*").StringSlice()
	if err != nil {
		t.Fatalf("KEYS ks:12*: %v", err)
	}
	var want []string
	for _, k := range keys {
		if strings.HasPrefix(k, "ks:12") {
			want = append(want, k)
		}
	}
	itCheckKeySet(t, "KEYS ks:12*", itCount(got), want)
	got, err = rdb.Do(ctx, "KEYS", "*").StringSlice()
	if err != nil {
		t.Fatalf("KEYS *: %v", err)
	}
	itCheckKeySet(t, "KEYS *", itCount(got), keys)
	got, err = rdb.Do(ctx, "KEYS", "ks:?").StringSlice()
	if err != nil {
		t.Fatalf("KEYS ks:?: %v", err)
	}
	itCheckKeySet(t, "KEYS ks:?", itCount(got), keys[:10])

	members := map[string]bool{}
	for _, k := range keys {
		members[k] = true
	}
	for i := 0; i < 20; i++ {
		k, err := rdb.Do(ctx, "RANDOMKEY").Text()
		if err != nil || !members[k] {
			t.Fatalf("RANDOMKEY = %q, %v; want one of the stored keys", k, err)
		}
	}

	itExpect(t, rdb, "OK", "FLUSHDB")
	itExpect(t, rdb, 0, "DBSIZE")
	itExpect(t, rdb, itNil, "RANDOMKEY")
	itExpect(t, rdb, itNil, "GET", keys[0])
	itCheckKeySet(t, "SCAN after FLUSHDB", scanAll(), nil)

	itExpect(t, rdb, "OK", "SET", "ks:again", "v")
	itExpect(t, rdb, 1, "DBSIZE")
	itExpect(t, rdb, "OK", "FLUSHALL", "SYNC")
	itExpect(t, rdb, 0, "DBSIZE")
	itExpect(t, rdb, []any{}, "KEYS", "*")
}

func itCount(keys []string) map[string]int {
	m := map[string]int{}
	for _, k := range keys {
		m[k]++
	}
	return m
}

// itCheckKeySet reports keys of want missing from got and keys of got not in want.
func itCheckKeySet(t testing.TB, what string, got map[string]int, want []string) {
	t.Helper()
	wantSet := map[string]bool{}
	var missing []string
	for _, k := range want {
		wantSet[k] = true
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	var extra []string
	for k := range got {
		if !wantSet[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: %d keys missing (first: %.10q), %d unexpected (first: %.10q)", what, len(missing), missing, len(extra), extra)
	}
}

// TestIntegrationMultiKey checks commands over keys of every partition:
// replies are merged back in the order of the request.
func TestIntegrationMultiKey(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true})
	rdb := itClient(t, c.Addr, 3)
	keys := itKeys("mk:", itPartitions, 3)
	rng := rand.New(rand.NewSource(1))

	mset := []any{"MSET"}
	for _, k := range keys {
		mset = append(mset, k, "v:"+k)
	}
	itExpect(t, rdb, "OK", mset...)

	// MGET in a shuffled order with missing keys mixed in.
	order := append([]string(nil), keys...)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	mget := []any{"MGET"}
	var want []any
	for i, k := range order {
		mget = append(mget, k)
		want = append(want, "v:"+k)
		if i%5 == 0 {
			mget = append(mget, "mk:none:"+k)
			want = append(want, nil)
		}
	}
	itExpect(t, rdb, want, mget...)

	// EXISTS and TOUCH count repeats and skip missing keys.
	exists := []any{"EXISTS"}
	for _, k := range order {
		exists = append(exists, k, "mk:none:"+k)
	}
	exists = append(exists, order[0], order[1])
	itExpect(t, rdb, len(order)+2, exists...)
	touch := append([]any{"TOUCH"}, exists[1:]...)
	itExpect(t, rdb, len(order)+2, touch...)

	// DEL half, UNLINK the other half; each key counts once.
	half := len(order) / 2
	del := []any{"DEL"}
	for _, k := range order[:half] {
		del = append(del, k, "mk:none:"+k)
	}
	itExpect(t, rdb, half, del...)
	unlink := []any{"UNLINK"}
	for _, k := range order {
		unlink = append(unlink, k)
	}
	itExpect(t, rdb, len(order)-half, unlink...)
	itExpect(t, rdb, 0, exists...)
	nils := make([]any, len(want))
	itExpect(t, rdb, nils, mget...)
}

// TestIntegrationPipeline sends 10,000 pipelined commands over keys of every
// partition and checks that each reply comes back, in order, with the value
// a model predicts.
func TestIntegrationPipeline(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true})
	rdb := itClient(t, c.Addr, 3)
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()

	keys := itKeys("pl:", itPartitions, 4)
	counters := itKeys("pl:cnt:", itPartitions, 1)
	rng := rand.New(rand.NewSource(2))
	model := map[string]string{}
	ints := map[string]int64{}

	const n = 10000
	pipe := rdb.Pipeline()
	cmds := make([]redis.Cmder, 0, n)
	wants := make([]any, 0, n)
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0:
			k := keys[rng.Intn(len(keys))]
			v := "val-" + strconv.Itoa(i)
			model[k] = v
			cmds = append(cmds, pipe.Do(ctx, "SET", k, v))
			wants = append(wants, "OK")
		case 1:
			k := keys[rng.Intn(len(keys))]
			cmds = append(cmds, pipe.Do(ctx, "GET", k))
			if v, ok := model[k]; ok {
				wants = append(wants, v)
			} else {
				wants = append(wants, itNil)
			}
		case 2:
			k := counters[rng.Intn(len(counters))]
			ints[k]++
			cmds = append(cmds, pipe.Do(ctx, "INCR", k))
			wants = append(wants, ints[k])
		case 3:
			args := []any{"MGET"}
			var w []any
			for j := 0; j < 1+rng.Intn(8); j++ {
				k := keys[rng.Intn(len(keys))]
				args = append(args, k)
				if v, ok := model[k]; ok {
					w = append(w, v)
				} else {
					w = append(w, nil)
				}
			}
			cmds = append(cmds, pipe.Do(ctx, args...))
			wants = append(wants, w)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		// Individual errors are reported below; Exec returns the first.
		t.Logf("pipeline Exec: %v", err)
	}
	bad := 0
	for i, cmd := range cmds {
		got, err := cmd.(*redis.Cmd).Result()
		if merr := itMatch(got, err, wants[i]); merr != nil {
			bad++
			if bad <= 10 {
				t.Errorf("pipelined command %d %s: %v", i, itFmtArgs(cmd.Args()), merr)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d of %d pipelined replies wrong in all", bad, n)
	}
}

// TestIntegrationConcurrentClients runs many clients at once, each checking
// that its own replies come back in order and correct.
func TestIntegrationConcurrentClients(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true})
	const clients, ops, batch = 20, 500, 25
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for g := 0; g < clients; g++ {
		rdb := itClient(t, c.Addr, 2+g%2)
		wg.Add(1)
		go func(g int, rdb *redis.Client) {
			defer wg.Done()
			errs <- itClientWorkload(ctx, rdb, g, ops, batch)
		}(g, rdb)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// itClientWorkload runs ops commands of client g, half sent one at a time
// and half in pipelines of batch, and returns the first wrong reply.
func itClientWorkload(ctx context.Context, rdb *redis.Client, g, ops, batch int) error {
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = fmt.Sprintf("cc:%d:%d", g, i)
	}
	model := map[string]string{}
	cnt := fmt.Sprintf("cc:%d:cnt", g)
	var cntVal int64
	step := func(i int) ([]any, any) {
		k := keys[i%len(keys)]
		switch i % 3 {
		case 0:
			v := fmt.Sprintf("g%d-op%d", g, i)
			model[k] = v
			return []any{"SET", k, v}, "OK"
		case 1:
			if v, ok := model[k]; ok {
				return []any{"GET", k}, v
			}
			return []any{"GET", k}, itNil
		default:
			cntVal++
			return []any{"INCR", cnt}, cntVal
		}
	}
	i := 0
	for ; i < ops/2; i++ {
		args, want := step(i)
		got, err := rdb.Do(ctx, args...).Result()
		if merr := itMatch(got, err, want); merr != nil {
			return fmt.Errorf("client %d op %d %s: %v", g, i, itFmtArgs(args), merr)
		}
	}
	for i < ops {
		pipe := rdb.Pipeline()
		var cmds []*redis.Cmd
		var wants []any
		for j := 0; j < batch && i < ops; j++ {
			args, want := step(i)
			cmds = append(cmds, pipe.Do(ctx, args...))
			wants = append(wants, want)
			i++
		}
		_, _ = pipe.Exec(ctx)
		for j, cmd := range cmds {
			got, err := cmd.Result()
			if merr := itMatch(got, err, wants[j]); merr != nil {
				return fmt.Errorf("client %d pipelined op %s: %v", g, itFmtArgs(cmd.Args()), merr)
			}
		}
	}
	return nil
}

// TestIntegrationBinarySafe stores keys and values with NUL, CR LF and 0xff
// bytes, empty values and 512 KiB values, and reads them back unchanged.
func TestIntegrationBinarySafe(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true})
	rdb := itClient(t, c.Addr, 3)
	rng := rand.New(rand.NewSource(3))
	big := make([]byte, 512*1024)
	rng.Read(big)
	copy(big[1000:], "\r\n\x00$-1\r\n*2\r\n")

	cases := []struct{ key, val string }{
		{"bin:nul\x00key", "value\x00with\x00nul"},
		{"bin:crlf\r\nkey", "value\r\nwith\r\ncrlf"},
		{"bin:\xff\xfe\x80", "\xff\xfe\x00\x80"},
		{"bin:empty", ""},
		{"bin:big", string(big)},
		{"\x00", "just nul"},
		{"bin:{\xff\x00}tag", "tagged"},
		{"bin:long:" + strings.Repeat("k\x00", 5000), "long key"},
		{"bin:resp", "$3\r\nfoo\r\n"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	for _, tc := range cases {
		if err := rdb.Set(ctx, tc.key, tc.val, 0).Err(); err != nil {
			t.Fatalf("SET %q: %v", itShort(tc.key), err)
		}
	}
	var mget []string
	for _, tc := range cases {
		got, err := rdb.Get(ctx, tc.key).Result()
		if err != nil || got != tc.val {
			t.Errorf("GET %q = %q (len %d), %v; want %q (len %d)", itShort(tc.key), itShort(got), len(got), err, itShort(tc.val), len(tc.val))
		}
		n, err := rdb.StrLen(ctx, tc.key).Result()
		if err != nil || n != int64(len(tc.val)) {
			t.Errorf("STRLEN %q = %d, %v; want %d", itShort(tc.key), n, err, len(tc.val))
		}
		mget = append(mget, tc.key)
	}
	vals, err := rdb.MGet(ctx, mget...).Result()
	if err != nil || len(vals) != len(cases) {
		t.Fatalf("MGET of binary keys = %d values, %v", len(vals), err)
	}
	for i, tc := range cases {
		if vals[i] != tc.val {
			t.Errorf("MGET element %d (%q) = %q, want %q", i, itShort(tc.key), itShort(fmt.Sprint(vals[i])), itShort(tc.val))
		}
	}
	itExpect(t, rdb, string(big[1000:1012]), "GETRANGE", "bin:big", 1000, 1011)
	itExpect(t, rdb, len(big)+3, "APPEND", "bin:big", "\x00\r\n")
	got, err := rdb.Get(ctx, "bin:big").Bytes()
	if err != nil || !bytes.Equal(got, append(append([]byte(nil), big...), "\x00\r\n"...)) {
		t.Errorf("GET bin:big after APPEND: %d bytes, %v; want the value plus NUL CR LF", len(got), err)
	}
	keys, err := rdb.Keys(ctx, "bin:nul*").Result()
	if err != nil || len(keys) != 1 || keys[0] != "bin:nul\x00key" {
		t.Errorf("KEYS bin:nul* = %q, %v", keys, err)
	}
	itExpect(t, rdb, len(cases), append([]any{"DEL"}, itAnys(mget)...)...)
}

func itAnys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func itShort(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// TestIntegrationAuth checks a password-protected proxy: NOAUTH before AUTH,
// WRONGPASS for a bad password, and service after a good one.
func TestIntegrationAuth(t *testing.T) {
	c := itStart(t, testcluster.Options{InMemory: true, Password: "s3cret"})

	anon := itClient(t, c.Addr, 2)
	cn := itConn(t, anon)
	itExpect(t, cn, itErr("NOAUTH Authentication required."), "GET", "auth:a")
	itExpect(t, cn, itErr("NOAUTH Authentication required."), "SET", "auth:a", "v")
	itExpect(t, cn, itErr("NOAUTH Authentication required."), "PING")
	itExpect(t, cn, itErr("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "wrong")
	itExpect(t, cn, itErr("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "default", "wrong")
	itExpect(t, cn, itErr("WRONGPASS invalid username-password pair or user is disabled."), "AUTH", "bob", "s3cret")
	itExpect(t, cn, itErr("NOAUTH Authentication required."), "GET", "auth:a")
	itExpect(t, cn, itErr("ERR wrong number of arguments for 'auth' command"), "AUTH")
	itExpect(t, cn, "OK", "AUTH", "s3cret")
	itExpect(t, cn, "OK", "SET", "auth:a", "v")
	itExpect(t, cn, "v", "GET", "auth:a")
	itExpect(t, cn, "OK", "AUTH", "default", "s3cret")

	// A client configured with the password (HELLO 3 AUTH …) just works,
	// with either protocol.
	for _, proto := range []int{3, 2} {
		rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Password: "s3cret", Protocol: proto, MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		itExpect(t, rdb, "v", "GET", "auth:a")
	}
	// HELLO with AUTH authenticates in one step; a bad one is refused.
	cn2 := itConn(t, itClient(t, c.Addr, 2))
	itExpect(t, cn2, itErr("WRONGPASS invalid username-password pair or user is disabled."), "HELLO", "3", "AUTH", "default", "nope")
	itExpect(t, cn2, itErr("NOAUTH Authentication required."), "GET", "auth:a")
	itExpect(t, cn2, itAny, "HELLO", "3", "AUTH", "default", "s3cret")
	itExpect(t, cn2, "v", "GET", "auth:a")

	// Without a password configured, AUTH says so, as Redis does.
	open := itStart(t, testcluster.Options{InMemory: true})
	itExpect(t, itClient(t, open.Addr, 3), itErr("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"), "AUTH", "x")
}

// TestIntegrationShardRestart checks that a file-backed shard keeps its keys
// and TTLs across a clean restart and that the proxy reconnects to it.
func TestIntegrationShardRestart(t *testing.T) {
	c := itStart(t, testcluster.Options{})
	rdb := itClient(t, c.Addr, 3)
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	keys := itKeys("rs:", itPartitions, 2)
	pipe := rdb.Pipeline()
	for i, k := range keys {
		if i%2 == 0 {
			pipe.Set(ctx, k, "v"+k, 0)
		} else {
			pipe.Set(ctx, k, "v"+k, time.Hour)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("writing keys: %v", err)
	}
	for i := range c.Shards {
		c.RestartShard(i)
	}
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; i < len(keys); {
		k := keys[i]
		v, err := rdb.Get(ctx, k).Result()
		if err != nil && err != redis.Nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling until the proxy has reconnected
			continue
		}
		if err != nil || v != "v"+k {
			t.Fatalf("GET %s after restart = %q, %v; want %q", k, v, err, "v"+k)
		}
		ttl, err := rdb.TTL(ctx, k).Result()
		if err != nil {
			t.Fatalf("TTL %s: %v", k, err)
		}
		if i%2 == 0 && ttl != -1 {
			t.Errorf("TTL %s after restart = %v, want none (-1)", k, ttl)
		}
		if i%2 == 1 && (ttl < 50*time.Minute || ttl > time.Hour) {
			t.Errorf("TTL %s after restart = %v, want about 1h", k, ttl)
		}
		i++
	}
}
