"""Every Redis data type through redis-py's typed API (RESP2).

Usage: python3 redispy_types.py HOST PORT [CROSS_A CROSS_B]

redis-py turns replies into Python values by command: HGETALL into a dict,
ZRANGE WITHSCORES into (member, float) tuples, SMEMBERS into a set, ZSCAN
pages into tuples. A reply of the wrong shape makes those callbacks fail or
produce wrong values, which the checks here catch. CROSS_A and CROSS_B, when
given, are two keys in different partitions of a sharded server: multi-key
commands on them must fail with CROSSSLOT.

Exits non-zero with a message naming the first failed check; prints "ok"
when every check passed.
"""

import math
import sys

import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def check(cond, what):
    if not cond:
        fail(what)


def raises(fn, want, what):
    """fn() must raise ResponseError with exactly the text want."""
    try:
        got = fn()
    except redis.ResponseError as e:
        eq(str(e), want, what + " error text")
    else:
        fail("%s: got %r, want error %r" % (what, got, want))


def hashes(r):
    h = "{h}1"
    eq(r.hset(h, mapping={"f1": "v1", "f2": "v2", "n": "10.5"}), 3, "hset mapping")
    eq(r.hset(h, "f3", "v3"), 1, "hset field")
    eq(r.hget(h, "f1"), b"v1", "hget")
    eq(r.hget(h, "none"), None, "hget missing")
    eq(r.hmget(h, ["f2", "none", "f3"]), [b"v2", None, b"v3"], "hmget")
    eq(r.hincrbyfloat(h, "n", 0.25), 10.75, "hincrbyfloat")
    want = {b"f1": b"v1", b"f2": b"v2", b"f3": b"v3", b"n": b"10.75"}
    eq(r.hgetall(h), want, "hgetall dict")
    eq(r.hgetall("{h}none"), {}, "hgetall missing")
    eq(sorted(r.hkeys(h)), sorted(want), "hkeys")
    eq(r.hlen(h), 4, "hlen")
    eq(r.hexists(h, "f2"), True, "hexists")
    pairs = r.hrandfield(h, 3, withvalues=True)
    check(isinstance(pairs, list) and len(pairs) == 6, "hrandfield withvalues flat: %r" % (pairs,))
    for i in range(0, len(pairs), 2):
        check(want.get(pairs[i]) == pairs[i + 1], "hrandfield pair %r" % (pairs[i:i + 2],))
    eq(dict(r.hscan_iter(h, count=2)), want, "hscan_iter")
    eq(dict(r.hscan_iter(h, match="f*")), {k: v for k, v in want.items() if k.startswith(b"f")}, "hscan_iter match")


def lists(r):
    l, l2 = "{l}1", "{l}2"
    eq(r.rpush(l, "a", "b", "c", "a"), 4, "rpush")
    eq(r.lpush(l, "z"), 5, "lpush")
    eq(r.lrange(l, 0, -1), [b"z", b"a", b"b", b"c", b"a"], "lrange")
    eq(r.lrange("{l}none", 0, -1), [], "lrange missing")
    eq(r.lpos(l, "a"), 1, "lpos")
    eq(r.lpos(l, "a", count=0), [1, 4], "lpos count")
    eq(r.lpos(l, "none"), None, "lpos missing")
    eq(r.lmove(l, l2, "LEFT", "RIGHT"), b"z", "lmove")
    eq(r.lmpop(2, "{l}none", l, direction="RIGHT", count=2), [l.encode(), [b"a", b"c"]], "lmpop")
    eq(r.lpop(l, 5), [b"a", b"b"], "lpop count")
    eq(r.lpop(l), None, "lpop of a deleted list")
    eq(r.exists(l), 0, "emptied list deleted")


def sets(r):
    s, s2 = "{s}1", "{s}2"
    eq(r.sadd(s, "a", "b", "c", "d"), 4, "sadd")
    eq(r.sadd(s2, "c", "d", "e"), 3, "sadd 2")
    eq(r.smembers(s), {b"a", b"b", b"c", b"d"}, "smembers set")
    eq(r.smembers("{s}none"), set(), "smembers missing")
    eq(r.smismember(s, ["a", "x"]), [True, False], "smismember")
    eq(r.sintercard(2, [s, s2]), 2, "sintercard")
    eq(r.sintercard(2, [s, s2], limit=1), 1, "sintercard limit")
    eq(r.sunion(s, s2), {b"a", b"b", b"c", b"d", b"e"}, "sunion")
    eq(set(r.sscan_iter(s, count=2)), {b"a", b"b", b"c", b"d"}, "sscan_iter")
    popped = r.spop(s, 2)
    check(isinstance(popped, list) and len(popped) == 2 and set(popped) <= {b"a", b"b", b"c", b"d"},
          "spop count: %r" % (popped,))
    eq(r.scard(s), 2, "scard after spop")


def zsets(r):
    z, z2 = "{z}1", "{z}2"
    eq(r.zadd(z, {"a": 1, "b": 2, "c": 3}), 3, "zadd")
    eq(r.zadd(z, {"a": 0, "b": 5, "d": 4}, gt=True, ch=True), 2, "zadd gt ch")
    eq(r.zadd(z, {"a": 1.5}, incr=True), 2.5, "zadd incr")
    eq(r.zadd(z, {"a": -1}, incr=True, gt=True), None, "zadd incr gt refused")
    eq(r.zadd(z, {"inf": float("inf")}), 1, "zadd inf")
    eq(r.zscore(z, "a"), 2.5, "zscore float")
    check(isinstance(r.zscore(z, "b"), float), "zscore type")
    eq(r.zscore(z, "inf"), math.inf, "zscore inf")
    eq(r.zscore(z, "none"), None, "zscore missing")
    eq(r.zmscore(z, ["a", "none", "b"]), [2.5, None, 5.0], "zmscore")
    eq(r.zincrby(z, -0.5, "c"), 2.5, "zincrby")
    full = [(b"a", 2.5), (b"c", 2.5), (b"d", 4.0), (b"b", 5.0), (b"inf", math.inf)]
    eq(r.zrange(z, 0, -1, withscores=True), full, "zrange withscores tuples")
    eq(r.zrange(z, 0, 1), [b"a", b"c"], "zrange")
    eq(r.zrange(z, 0, 0, desc=True, withscores=True), [(b"inf", math.inf)], "zrange desc")
    eq(r.zrange(z, "(2.5", 5, byscore=True, withscores=True), [(b"d", 4.0), (b"b", 5.0)], "zrange byscore")
    eq(r.zrange(z, 5, 0, byscore=True, desc=True, offset=1, num=2), [b"d", b"c"], "zrange byscore rev limit")
    eq(r.zrangebyscore(z, "-inf", 3, withscores=True), full[:2], "zrangebyscore withscores")
    eq(r.zrevrange(z, 0, 1, withscores=True), [(b"inf", math.inf), (b"b", 5.0)], "zrevrange withscores")
    eq(r.zadd(z2, {"apple": 0, "banana": 0, "cherry": 0}), 3, "zadd lex")
    eq(r.zrange(z2, "[b", "+", bylex=True), [b"banana", b"cherry"], "zrange bylex")
    eq(r.zrangestore("{z}dst", z, 2, "(5", byscore=True), 3, "zrangestore")
    eq(r.zunion(["{z}dst", z2], withscores=True),
       [(b"apple", 0.0), (b"banana", 0.0), (b"cherry", 0.0), (b"a", 2.5), (b"c", 2.5), (b"d", 4.0)], "zunion withscores")
    eq(r.zinterstore("{z}inter", {"{z}dst": 2, z: 3}, aggregate="MAX"), 3, "zinterstore weights")
    eq(r.zrange("{z}inter", 0, -1, withscores=True), [(b"a", 7.5), (b"c", 7.5), (b"d", 12.0)], "zinterstore result")
    eq(r.zpopmin("{z}dst"), [(b"a", 2.5)], "zpopmin")
    eq(r.zpopmin("{z}dst", 5), [(b"c", 2.5), (b"d", 4.0)], "zpopmin count")
    eq(r.zmpop(1, [z], max=True, count=2), [z.encode(), [[b"inf", b"inf"], [b"b", b"5"]]], "zmpop")
    members = {b"a": 2.5, b"c": 2.5, b"d": 4.0}
    got = r.zrandmember(z, 2, withscores=True)
    check(isinstance(got, list) and len(got) == 4, "zrandmember withscores flat: %r" % (got,))
    for i in range(0, len(got), 2):
        check(members.get(got[i]) == float(got[i + 1]), "zrandmember pair %r" % (got[i:i + 2],))
    eq(sorted(r.zscan_iter(z, count=1)), [(b"a", 2.5), (b"c", 2.5), (b"d", 4.0)], "zscan_iter tuples")
    eq(r.zcard(z), 3, "zcard")


def bitmaps(r):
    b, b2 = "{b}1", "{b}2"
    eq(r.setbit(b, 7, 1), 0, "setbit")
    eq(r.setbit(b, 12, 1), 0, "setbit 12")
    eq(r.getbit(b, 12), 1, "getbit")
    eq(r.get(b), b"\x01\x08", "bitmap bytes")
    eq(r.bitcount(b), 2, "bitcount")
    eq(r.bitcount(b, 0, 7, mode="BIT"), 1, "bitcount bit range")
    eq(r.bitpos(b, 1), 7, "bitpos")
    eq(r.set(b2, b"\xff\x00"), True, "set bytes")
    eq(r.bitop("AND", "{b}dst", b, b2), 2, "bitop and")
    eq(r.get("{b}dst"), b"\x01\x00", "bitop result")
    got = r.bitfield("{b}f").set("u8", 0, 255).get("u4", 0).incrby("i5", 100, 1).execute()
    eq(got, [0, 15, 1], "bitfield")
    got = r.bitfield("{b}f", default_overflow="FAIL").incrby("u8", 0, 1).execute()
    eq(got, [None], "bitfield overflow fail")


def hll(r):
    eq(r.pfadd("{p}1", "a", "b", "c"), 1, "pfadd")
    eq(r.pfadd("{p}1", "a"), 0, "pfadd again")
    eq(r.pfadd("{p}2", "c", "d"), 1, "pfadd 2")
    eq(r.pfcount("{p}1"), 3, "pfcount")
    eq(r.pfcount("{p}1", "{p}2"), 4, "pfcount union")
    eq(r.pfmerge("{p}dst", "{p}1", "{p}2"), True, "pfmerge")
    eq(r.pfcount("{p}dst"), 4, "pfcount merged")


def geo(r):
    g = "{g}sicily"
    eq(r.geoadd(g, [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"]), 2, "geoadd")
    d = r.geodist(g, "Palermo", "Catania", unit="km")
    check(isinstance(d, float) and abs(d - 166.2742) < 0.001, "geodist km: %r" % (d,))
    eq(r.geohash(g, "Palermo", "Catania"), ["sqc8b49rny0", "sqdtr74hyu0"], "geohash")
    pos = r.geopos(g, "Palermo", "Nowhere")
    check(len(pos) == 2 and pos[1] is None and abs(pos[0][0] - 13.361389) < 1e-5, "geopos: %r" % (pos,))
    near = r.geosearch(g, longitude=15, latitude=37, radius=200, unit="km", sort="ASC", withdist=True)
    check([n[0] for n in near] == [b"Catania", b"Palermo"] and abs(near[0][1] - 56.4413) < 0.001,
          "geosearch withdist: %r" % (near,))
    eq(r.type(g), b"zset", "type of a geo key")


def keys(r):
    eq(r.hset("{k}h", mapping={"f": "v"}), 1, "hset")
    eq(r.rpush("{k}l", "a", "b"), 2, "rpush")
    eq(r.sadd("{k}s", 1, 2, 3), 3, "sadd")
    eq(r.zadd("{k}z", {"m": 1.5}), 1, "zadd")
    for key, typ in [("{k}h", b"hash"), ("{k}l", b"list"), ("{k}s", b"set"), ("{k}z", b"zset"), ("{k}none", b"none")]:
        eq(r.type(key), typ, "type " + key)
    eq(r.object("encoding", "{k}s"), b"intset", "object encoding intset")
    eq(r.object("encoding", "{k}h"), b"listpack", "object encoding listpack")
    eq(r.expire("{k}z", 100), True, "expire zset")
    check(98 <= r.ttl("{k}z") <= 100, "ttl zset")
    eq(r.rename("{k}z", "{k}z2"), True, "rename zset")
    eq(r.zrange("{k}z2", 0, -1, withscores=True), [(b"m", 1.5)], "renamed zset")
    eq(r.copy("{k}h", "{k}h2"), True, "copy hash")
    eq(r.hgetall("{k}h2"), {b"f": b"v"}, "copied hash")
    dumps = {k: r.dump(k) for k in ["{k}h", "{k}l", "{k}s", "{k}z2"]}
    check(all(isinstance(v, bytes) for v in dumps.values()), "dump returns bytes")
    eq(r.dump("{k}none"), None, "dump missing")
    eq(r.delete(*dumps), 4, "delete collections")
    for k, v in dumps.items():
        eq(r.restore(k, 0, v), b"OK", "restore " + k)
    eq(r.hgetall("{k}h"), {b"f": b"v"}, "restored hash")
    eq(r.lrange("{k}l", 0, -1), [b"a", b"b"], "restored list")
    eq(r.smembers("{k}s"), {b"1", b"2", b"3"}, "restored set")
    eq(r.zrange("{k}z2", 0, -1, withscores=True), [(b"m", 1.5)], "restored zset")
    raises(lambda: r.restore("{k}l", 0, dumps["{k}l"]), "BUSYKEY Target key name already exists.", "restore busy")
    eq(r.restore("{k}l", 0, dumps["{k}h"], replace=True), b"OK", "restore replace")
    eq(r.type("{k}l"), b"hash", "restore replace type")


def pipelines(r):
    p = r.pipeline(transaction=False)
    p.hset("{q}h", mapping={"f": "v", "n": "1"})
    p.rpush("{q}l", "a", "b")
    p.sadd("{q}s", "x", "y")
    p.zadd("{q}z", {"m": 1.5, "n": 2})
    p.pfadd("{q}p", "a", "b")
    p.setbit("{q}b", 3, 1)
    p.hgetall("{q}h")
    p.lrange("{q}l", 0, -1)
    p.smembers("{q}s")
    p.zrange("{q}z", 0, -1, withscores=True)
    p.zscore("{q}z", "m")
    p.hincrbyfloat("{q}h", "n", 0.5)
    p.pfcount("{q}p")
    p.get("{q}b")
    p.lpush("{q}h", "wrong")  # an error in the middle
    p.zmscore("{q}z", ["n", "none"])
    p.type("{q}z")
    got = p.execute(raise_on_error=False)
    eq(got[:14], [2, 2, 2, 2, 1, 0,
                  {b"f": b"v", b"n": b"1"}, [b"a", b"b"], {b"x", b"y"}, [(b"m", 1.5), (b"n", 2.0)], 1.5, 1.5, 2,
                  b"\x10"], "pipeline replies")
    check(isinstance(got[14], redis.ResponseError) and str(got[14]) == WRONGTYPE,
          "pipeline error in place: %r" % (got[14],))
    eq(got[15:], [[2.0, None], b"zset"], "pipeline replies after the error")


def errors(r, cross):
    r.set("{x}str", "v")
    r.hset("{x}h", "f", "v")
    r.zadd("{x}z", {"a": 1})
    raises(lambda: r.hget("{x}str", "f"), WRONGTYPE, "hget on a string")
    raises(lambda: r.lpush("{x}h", "a"), WRONGTYPE, "lpush on a hash")
    raises(lambda: r.smembers("{x}z"), WRONGTYPE, "smembers on a zset")
    raises(lambda: r.zrange("{x}h", 0, -1, withscores=True), WRONGTYPE, "zrange on a hash")
    raises(lambda: r.pfcount("{x}str"), "WRONGTYPE Key is not a valid HyperLogLog string value.", "pfcount on a string")
    raises(lambda: r.zadd("{x}z", {"a": "x"}), "value is not a valid float", "zadd bad score")
    eq(r.get("{x}str"), b"v", "connection usable after errors")
    if cross:
        a, b = cross
        r.sadd(a, "1")
        r.sadd(b, "1")
        raises(lambda: r.sunion(a, b), CROSSSLOT, "sunion across partitions")
        raises(lambda: r.sintercard(2, [a, b]), CROSSSLOT, "sintercard across partitions")
        raises(lambda: r.smove(a, b, "1"), CROSSSLOT, "smove across partitions")
        raises(lambda: r.zunion([a, b]), CROSSSLOT, "zunion across partitions")
        raises(lambda: r.lmove(a, b), CROSSSLOT, "lmove across partitions")
        raises(lambda: r.pfmerge(a, b), CROSSSLOT, "pfmerge across partitions")
        raises(lambda: r.rename(a, b), CROSSSLOT, "rename across partitions")
        eq(r.scard(b), 1, "nothing changed by refused commands")


def main():
    if len(sys.argv) not in (3, 5):
        fail("usage: redispy_types.py HOST PORT [CROSS_A CROSS_B]")
    host, port = sys.argv[1], int(sys.argv[2])
    cross = tuple(sys.argv[3:5]) or None
    r = redis.Redis(host=host, port=port, socket_timeout=30)
    check(r.flushall() is True, "flushall")
    for section in (hashes, lists, sets, zsets, bitmaps, hll, geo, keys, pipelines):
        section(r)
    errors(r, cross)
    check(r.flushall() is True, "final flushall")
    print("ok")


if __name__ == "__main__":
    main()
