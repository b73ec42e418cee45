"""Smoke test of a Redis-compatible server with redis-py.

Usage: python3 redispy_smoke.py HOST PORT

Exits non-zero with a traceback on the first failed check; prints "ok" when
every check passed.
"""

import sys

import redis


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    r = redis.Redis(host=host, port=port, socket_timeout=30)

    check(r.ping() is True, "ping")
    check(r.flushall() is True, "flushall")

    # set/get, including binary and unicode values.
    check(r.set("py:k", "v") is True, "set")
    check(r.get("py:k") == b"v", "get")
    check(r.get("py:missing") is None, "get missing")
    check(r.set("py:bin\x00key", b"\x00\xff\r\n") is True, "set binary")
    check(r.get("py:bin\x00key") == b"\x00\xff\r\n", "get binary")
    check(r.set("py:uni", "ünïcødé ✓") is True, "set unicode")
    check(r.get("py:uni").decode() == "ünïcødé ✓", "get unicode")
    check(r.set("py:k", "other", nx=True) is None, "set nx on existing key")
    check(r.set("py:k", "v2", xx=True, get=True) == b"v", "set xx get")

    # A pipeline of 1000 commands; replies come back in order.
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("py:pipe:%d" % i, i)
    for i in range(500):
        p.get("py:pipe:%d" % i)
    replies = p.execute()
    check(len(replies) == 1000, "pipeline reply count %d" % len(replies))
    check(all(x is True for x in replies[:500]), "pipeline sets")
    check(replies[500:] == [str(i).encode() for i in range(500)], "pipeline gets in order")

    # mset/mget across many keys (and so many partitions).
    mapping = {"py:m:%d" % i: "val%d" % i for i in range(100)}
    check(r.mset(mapping) is True, "mset")
    keys = list(mapping) + ["py:m:none"]
    got = r.mget(keys)
    check(got == [v.encode() for v in mapping.values()] + [None], "mget")

    # expire/ttl.
    check(r.expire("py:k", 100) is True, "expire")
    ttl = r.ttl("py:k")
    check(98 <= ttl <= 100, "ttl %r" % ttl)
    pttl = r.pttl("py:k")
    check(95000 <= pttl <= 100000, "pttl %r" % pttl)
    check(r.persist("py:k") is True, "persist")
    check(r.ttl("py:k") == -1, "ttl after persist")
    check(r.ttl("py:missing") == -2, "ttl of missing key")
    check(r.setex("py:ex", 50, "x") is True, "setex")
    check(0 < r.ttl("py:ex") <= 50, "ttl after setex")

    # scan_iter finds every key written, once each.
    found = set(r.scan_iter(match="py:pipe:*", count=37))
    check(found == {("py:pipe:%d" % i).encode() for i in range(500)}, "scan_iter found %d keys" % len(found))

    # Counters.
    check(r.incr("py:n") == 1, "incr")
    check(r.incrby("py:n", 41) == 42, "incrby")
    check(r.decr("py:n") == 41, "decr")
    f = r.incrbyfloat("py:f", 1.5)
    check(f == 1.5, "incrbyfloat %r" % f)
    f = r.incrbyfloat("py:f", 0.25)
    check(f == 1.75, "incrbyfloat %r" % f)
    check(r.get("py:f") == b"1.75", "get float")

    # delete/exists.
    check(r.exists("py:k", "py:n", "py:missing") == 2, "exists")
    check(r.delete("py:k", "py:n", "py:missing") == 2, "delete")
    check(r.exists("py:k") == 0, "exists after delete")
    # left: 500 pipe keys, 100 mset keys, py:bin, py:uni, py:ex, py:f
    check(r.dbsize() == 500 + 100 + 4, "dbsize %r" % r.dbsize())

    # An error reply raises ResponseError with Redis's exact text, and the
    # connection stays usable.
    try:
        r.incr("py:uni")
    except redis.ResponseError as e:
        check(str(e) == "value is not an integer or out of range", "error text %r" % str(e))
    else:
        raise AssertionError("incr on a non-integer did not raise")
    try:
        r.execute_command("NOSUCHCOMMAND", "a")
    except redis.ResponseError as e:
        check(str(e).startswith("unknown command 'NOSUCHCOMMAND'"), "unknown command text %r" % str(e))
    else:
        raise AssertionError("unknown command did not raise")
    check(r.ping() is True, "ping after errors")

    check(r.flushall() is True, "final flushall")
    print("ok")


if __name__ == "__main__":
    main()
