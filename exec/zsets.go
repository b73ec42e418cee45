package exec

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shardis/shardis/store"
)

// Sorted sets, after Redis 7.0's t_zset.c. Every member is kept twice (see
// elements.go): under memberSub(member) in SpaceElem with its score, so a
// score lookup or an update is a point operation, and under
// scoreBytes(score)|member in SpaceScore, so ranges by score or lex are
// one ordered walk over what they return. Ranks have no index of their own:
// a range by rank walks past the skipped elements (from whichever end is
// nearer), where Redis's skiplist spans answer in O(log n).

func init() {
	register(map[string]Func{
		"zadd":             cmdZAdd,
		"zincrby":          cmdZIncrBy,
		"zrem":             cmdZRem,
		"zcard":            cmdZCard,
		"zscore":           cmdZScore,
		"zmscore":          cmdZMScore,
		"zrank":            cmdZRank,
		"zrevrank":         cmdZRevRank,
		"zcount":           cmdZCount,
		"zlexcount":        cmdZLexCount,
		"zrange":           cmdZRange,
		"zrangestore":      cmdZRangeStore,
		"zrevrange":        cmdZRevRange,
		"zrangebyscore":    cmdZRangeByScore,
		"zrevrangebyscore": cmdZRevRangeByScore,
		"zrangebylex":      cmdZRangeByLex,
		"zrevrangebylex":   cmdZRevRangeByLex,
		"zremrangebyrank":  cmdZRemRangeByRank,
		"zremrangebyscore": cmdZRemRangeByScore,
		"zremrangebylex":   cmdZRemRangeByLex,
	})
}

// Error replies worded as t_zset.c words them.
const (
	errZNaN        = Error("ERR resulting score is not a number (NaN)")
	errZMinMax     = Error("ERR min or max is not a float")
	errZLexRange   = Error("ERR min or max not valid string range item")
	errZLimitRank  = Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
	errZLexScores  = Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
	errZXXNX       = Error("ERR XX and NX options at the same time are not compatible")
	errZGTLTNX     = Error("ERR GT, LT, and/or NX options at the same time are not compatible")
	errZIncrSingle = Error("ERR INCR option supports a single increment-element pair")
)

// ---- Scores as C's strtod reads them ----

// zStrtod parses the longest prefix of s that glibc's strtod accepts
// (leading white space, sign, decimal or hex digits, inf, infinity, nan,
// nan(chars)), returning the value and the bytes consumed (0 when nothing
// converts, as strtod leaves its end pointer at the start). erange reports
// what strtod signals with ERANGE and Redis rejects: overflow to ±Inf and
// underflow to zero. Redis parses scores and score ranges with strtod, so
// Go's ParseFloat alone would accept and reject different inputs.
func zStrtod(s []byte) (v float64, n int, erange bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	j := i
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	if zHasPrefixFold(s[j:], "inf") {
		k := j + 3
		if zHasPrefixFold(s[k:], "inity") {
			k += 5
		}
		if neg {
			return math.Inf(-1), k, false
		}
		return math.Inf(1), k, false
	}
	if zHasPrefixFold(s[j:], "nan") {
		k := j + 3
		if k < len(s) && s[k] == '(' {
			m := k + 1
			for m < len(s) && (zIsAlnum(s[m]) || s[m] == '_') {
				m++
			}
			if m < len(s) && s[m] == ')' {
				k = m + 1
			}
		}
		return math.NaN(), k, false
	}
	if j+1 < len(s) && s[j] == '0' && lower(s[j+1]) == 'x' {
		if v, k, er, ok := zStrtodHex(s, i, j+2); ok {
			return v, k, er
		}
	}
	k, nonzero, digits := j, false, 0
	for ; k < len(s) && zIsDigit(s[k]); k++ {
		nonzero = nonzero || s[k] != '0'
		digits++
	}
	if k < len(s) && s[k] == '.' {
		m := k + 1
		for ; m < len(s) && zIsDigit(s[m]); m++ {
			nonzero = nonzero || s[m] != '0'
			digits++
		}
		if digits > 0 {
			k = m
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	k = zExpEnd(s, k, 'e')
	v, er := zParseFloat(string(s[i:k]), nonzero)
	return v, k, er
}

// zStrtodHex parses the hex float whose digits start at s[d] (sign and
// "0x" from s[i]); ok is false when no hex digit follows, and strtod then
// reads just the "0".
func zStrtodHex(s []byte, i, d int) (v float64, n int, erange, ok bool) {
	k, nonzero, digits := d, false, 0
	var mant []byte
	for ; k < len(s) && isHex(s[k]); k++ {
		nonzero = nonzero || s[k] != '0'
		digits++
	}
	mant = append(mant, s[d:k]...)
	if k < len(s) && s[k] == '.' {
		m := k + 1
		for ; m < len(s) && isHex(s[m]); m++ {
			nonzero = nonzero || s[m] != '0'
			digits++
		}
		if digits > 0 {
			mant = append(mant, s[k:m]...)
			k = m
		}
	}
	if digits == 0 {
		return 0, 0, false, false
	}
	exp := "p0"
	if m := zExpEnd(s, k, 'p'); m > k {
		exp = "p" + string(s[k+1:m])
		k = m
	}
	// Go wants the binary exponent that C makes optional.
	text := string(s[i:d]) + string(mant) + exp
	v, erange = zParseFloat(text, nonzero)
	return v, k, erange, true
}

// zExpEnd is where the exponent that strtod reads at s[k] ends: after
// the marker ('e' or 'p', either case), an optional sign and at least one
// digit; k itself when there is none, and strtod then stops at k.
func zExpEnd(s []byte, k int, marker byte) int {
	if k >= len(s) || lower(s[k]) != marker {
		return k
	}
	m := k + 1
	if m < len(s) && (s[m] == '+' || s[m] == '-') {
		m++
	}
	if m >= len(s) || !zIsDigit(s[m]) {
		return k
	}
	for m < len(s) && zIsDigit(s[m]) {
		m++
	}
	return m
}

// zParseFloat converts text already checked against strtod's grammar.
func zParseFloat(text string, nonzero bool) (float64, bool) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// Only a range error is possible here: overflow to ±Inf.
		return v, true
	}
	return v, v == 0 && nonzero
}

func zHasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && eqFold(b[:len(s)], s)
}

func zIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func zIsAlnum(c byte) bool {
	return zIsDigit(c) || (lower(c) >= 'a' && lower(c) <= 'z')
}

// zParseScore reads a score or weight as Redis's getDoubleFromObject:
// the whole argument, no leading space, no NaN, no overflow and no
// underflow to zero.
func zParseScore(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	v, n, erange := zStrtod(b)
	if n != len(b) || erange || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// zParseRangeScore reads one end of a score range as zslParseRange does:
// a bare strtod whose end must be the string's NUL, so leading space, an
// empty string (0), overflow (±Inf) and anything after a NUL byte pass.
func zParseRangeScore(b []byte) (float64, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	v, n, _ := zStrtod(b)
	return v, n == len(b) && !math.IsNaN(v)
}

// ---- Ranges ----

// zScoreRange is a range of scores, each end inclusive or exclusive.
type zScoreRange struct {
	min, max     float64
	minex, maxex bool
}

// zParseScoreRange parses "min max" where "(" makes an end exclusive.
func zParseScoreRange(min, max []byte) (zScoreRange, error) {
	var z zScoreRange
	var ok bool
	if len(min) > 0 && min[0] == '(' {
		z.minex, min = true, min[1:]
	}
	if len(max) > 0 && max[0] == '(' {
		z.maxex, max = true, max[1:]
	}
	if z.min, ok = zParseRangeScore(min); !ok {
		return z, errZMinMax
	}
	if z.max, ok = zParseRangeScore(max); !ok {
		return z, errZMinMax
	}
	return z, nil
}

func (z *zScoreRange) gteMin(v float64) bool {
	if z.minex {
		return v > z.min
	}
	return v >= z.min
}

func (z *zScoreRange) lteMax(v float64) bool {
	if z.maxex {
		return v < z.max
	}
	return v <= z.max
}

// zLexBound is one end of a lex range: "-" (inf -1), "+" (inf +1), or a
// member with "[" (inclusive) or "(" (exclusive).
type zLexBound struct {
	s   string
	ex  bool
	inf int
}

// zLexRange is a range of members, as ZRANGEBYLEX takes it.
type zLexRange struct{ min, max zLexBound }

// zParseLexItem parses one end as zslParseLexRangeItem does: Redis tests
// the byte after "+" or "-" against the C string's NUL, so "+\x00…" is "+".
func zParseLexItem(b []byte) (zLexBound, bool) {
	if len(b) == 0 {
		return zLexBound{}, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) > 1 && b[1] != 0 {
			return zLexBound{}, false
		}
		if b[0] == '+' {
			return zLexBound{ex: true, inf: 1}, true
		}
		return zLexBound{ex: true, inf: -1}, true
	case '(':
		return zLexBound{s: string(b[1:]), ex: true}, true
	case '[':
		return zLexBound{s: string(b[1:])}, true
	}
	return zLexBound{}, false
}

func zParseLexRange(min, max []byte) (zLexRange, error) {
	lo, ok1 := zParseLexItem(min)
	hi, ok2 := zParseLexItem(max)
	if !ok1 || !ok2 {
		return zLexRange{}, errZLexRange
	}
	return zLexRange{lo, hi}, nil
}

func (l *zLexRange) gteMin(m string) bool {
	switch l.min.inf {
	case -1:
		return true
	case 1:
		return false
	}
	if l.min.ex {
		return m > l.min.s
	}
	return m >= l.min.s
}

func (l *zLexRange) lteMax(m string) bool {
	switch l.max.inf {
	case 1:
		return true
	case -1:
		return false
	}
	if l.max.ex {
		return m < l.max.s
	}
	return m <= l.max.s
}

// ---- Elements ----

// zsetEntry is one member of a sorted set with its score.
type zsetEntry struct {
	member string
	score  float64
}

// zScoreSub is the SpaceScore sub-key of member at score.
func zScoreSub(score float64, member []byte) []byte {
	return append(scoreBytes(score), member...)
}

// zEntryOf decodes a SpaceScore sub-key, copying the member out of the
// store's buffer.
func zEntryOf(sub string) zsetEntry {
	return zsetEntry{member: strings.Clone(sub[8:]), score: scoreFrom(sub)}
}

// zsetGet returns key's sorted set; ok is false when there is none, and
// any other type is WRONGTYPE.
func zsetGet(c *Ctx, key []byte) (store.Record, bool, error) {
	return getType(c, key, store.TypeZSet)
}

// zsetNew is the record of a sorted set about to get its first member.
func zsetNew() store.Record {
	return store.Record{Type: store.TypeZSet, Enc: encListpack}
}

// zsetScore returns member's score: one point read.
func zsetScore(c *Ctx, key []byte, r *store.Record, member []byte) (float64, bool) {
	if r.Gen == 0 {
		return 0, false
	}
	v, ok := c.Tx.GetElem(store.SpaceElem, key, r.Gen, memberSub(member))
	if !ok {
		return 0, false
	}
	return scoreFrom(v), true
}

// zsetPut sets member's score to score, given what zsetScore said of it
// (old, exists), keeping r's Count and encoding; the caller Puts r. A
// score equal to the old one (0 and -0 included) writes nothing, as Redis
// leaves the element in place.
func zsetPut(c *Ctx, key []byte, r *store.Record, member []byte, score, old float64, exists bool) error {
	if r.Gen == 0 {
		r.Gen = c.Tx.NextVersion()
	}
	if exists {
		if score == old {
			return nil
		}
		c.Tx.DelElem(store.SpaceScore, key, r.Gen, zScoreSub(old, member))
	} else {
		r.Count++
		zsetGrow(c, r, len(member))
	}
	if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, memberSub(member), string(scoreBytes(score))); err != nil {
		return err
	}
	_, err := c.Tx.PutElem(store.SpaceScore, key, r.Gen, zScoreSub(score, member), "")
	return err
}

// zsetGrow moves r to skiplist once a new member makes it too long or is
// itself too long, the test zsetAdd makes before each listpack insert.
func zsetGrow(c *Ctx, r *store.Record, memberLen int) {
	if r.Enc == encNone {
		r.Enc = encListpack
	}
	if r.Enc == encListpack && (r.Count > int64(c.Cfg.ZSetMaxListpackEntries) || memberLen > c.Cfg.ZSetMaxListpackValue) {
		r.Enc = encSkiplist
	}
}

// zsetAdd sets member's score in the sorted set r of key (r from zsetGet,
// or zsetNew for a new key) and reports whether member is new. The caller
// Puts r once done. GEOADD and the like build on it.
func zsetAdd(c *Ctx, key []byte, r *store.Record, member []byte, score float64) (bool, error) {
	old, exists := zsetScore(c, key, r, member)
	return !exists, zsetPut(c, key, r, member, score, old, exists)
}

// zsetDel removes member, whose score is score, from r; the caller Puts r.
func zsetDel(c *Ctx, key []byte, r *store.Record, member []byte, score float64) {
	c.Tx.DelElem(store.SpaceElem, key, r.Gen, memberSub(member))
	c.Tx.DelElem(store.SpaceScore, key, r.Gen, zScoreSub(score, member))
	r.Count--
}

// zsetRemove removes member from r if it is there; the caller Puts r.
func zsetRemove(c *Ctx, key []byte, r *store.Record, member []byte) bool {
	score, ok := zsetScore(c, key, r, member)
	if ok {
		zsetDel(c, key, r, member, score)
	}
	return ok
}

// zsetDelEntries removes entries read from r, then saves r (deleting the
// key once it is empty, as Redis does).
func zsetDelEntries(c *Ctx, key []byte, r *store.Record, es []zsetEntry) error {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		zsetDel(c, key, r, []byte(e.member), e.score)
	}
	return c.Tx.Put(key, r)
}

// zsetStore replaces dst with a new sorted set of es (distinct members),
// whatever dst held, without a TTL, as setKey does for the STORE
// commands; an empty result deletes dst. Its encoding is what Redis gives
// the finished result.
func zsetStore(c *Ctx, dst []byte, es []zsetEntry) error {
	c.Tx.Delete(dst)
	if len(es) == 0 {
		return nil
	}
	r := zsetNew()
	r.Gen = c.Tx.NextVersion()
	r.Count = int64(len(es))
	for _, e := range es {
		if len(e.member) > c.Cfg.ZSetMaxListpackValue {
			r.Enc = encSkiplist
		}
		m := []byte(e.member)
		if _, err := c.Tx.PutElem(store.SpaceElem, dst, r.Gen, memberSub(m), string(scoreBytes(e.score))); err != nil {
			return err
		}
		if _, err := c.Tx.PutElem(store.SpaceScore, dst, r.Gen, zScoreSub(e.score, m), ""); err != nil {
			return err
		}
	}
	if r.Count > int64(c.Cfg.ZSetMaxListpackEntries) {
		r.Enc = encSkiplist
	}
	return c.Tx.Put(dst, &r)
}

// zsetWalk calls fn for every SpaceScore sub-key of r in score order
// (reversed when rev) until fn returns false.
func zsetWalk(c *Ctx, key []byte, r *store.Record, rev bool, fn func(sub string) bool) error {
	it := func(sub, _ string) bool { return fn(sub) }
	if rev {
		return c.Tx.Descend(store.SpaceScore, key, r.Gen, nil, nil, it)
	}
	return c.Tx.Ascend(store.SpaceScore, key, r.Gen, nil, nil, it)
}

// zsetRankRange returns the elements of ascending ranks lo..hi (0 <= lo
// <= hi < r.Count), in descending order when rev. It walks in from
// whichever end skips fewer elements.
func zsetRankRange(c *Ctx, key []byte, r *store.Record, lo, hi int64, rev bool) ([]zsetEntry, error) {
	n := hi - lo + 1
	out := make([]zsetEntry, 0, n)
	fromEnd := r.Count-1-hi < lo
	skip := lo
	if fromEnd {
		skip = r.Count - 1 - hi
	}
	err := zsetWalk(c, key, r, fromEnd, func(sub string) bool {
		if skip > 0 {
			skip--
			return true
		}
		out = append(out, zEntryOf(sub))
		return int64(len(out)) < n
	})
	if fromEnd != rev {
		slices.Reverse(out)
	}
	return out, err
}

// zsetScoreWalk calls fn for each element of r within z, ascending (or
// descending when rev), until fn returns false. It seeks to the first
// score in range, so it reads only what it passes to fn (and at most one
// element more).
func zsetScoreWalk(c *Ctx, key []byte, r *store.Record, z zScoreRange, rev bool, fn func(sub string) bool) error {
	if !rev {
		lo := z.min
		if z.minex {
			if math.IsInf(lo, 1) {
				return nil
			}
			lo = math.Nextafter(lo, math.Inf(1))
		}
		return c.Tx.Ascend(store.SpaceScore, key, r.Gen, scoreBytes(lo), nil, func(sub, _ string) bool {
			if !z.lteMax(scoreFrom(sub)) {
				return false
			}
			return fn(sub)
		})
	}
	hi := z.max
	if z.maxex {
		if math.IsInf(hi, -1) {
			return nil
		}
		hi = math.Nextafter(hi, math.Inf(-1))
	}
	var from []byte
	if !math.IsInf(hi, 1) {
		// Every sub-key of score hi sorts below this one; only a member ""
		// at the next score can equal it, and is skipped below.
		from = scoreBytes(math.Nextafter(hi, math.Inf(1)))
	}
	return c.Tx.Descend(store.SpaceScore, key, r.Gen, from, nil, func(sub, _ string) bool {
		s := scoreFrom(sub)
		if s > hi {
			return true
		}
		if !z.gteMin(s) {
			return false
		}
		return fn(sub)
	})
}

// zsetLexWalk calls fn for each element of r within l, ascending (or
// descending when rev), until fn returns false. Lex ranges assume, as
// Redis documents, that every member has the same score; the walk follows
// Redis's listpack scan (skip to the first member in range, then take
// members while they stay in range) but seeks straight to the range's
// start within the first (last) score, so under that assumption it reads
// only what it returns.
func zsetLexWalk(c *Ctx, key []byte, r *store.Record, l zLexRange, rev bool, fn func(sub string) bool) error {
	// Redis first checks that the range can overlap the set at all: the
	// set's last member must be >= min and its first <= max (comparing
	// members only, whatever their scores), else the range is empty.
	end := func(last bool) (string, bool, error) {
		var s string
		found := false
		err := zsetWalk(c, key, r, last, func(sub string) bool {
			s, found = strings.Clone(sub), true
			return false
		})
		return s, found, err
	}
	first, ok, err := end(false)
	if err != nil || !ok || !l.lteMax(first[8:]) {
		return err
	}
	last, ok, err := end(true)
	if err != nil || !ok || !l.gteMin(last[8:]) {
		return err
	}
	// The walk starts from the range's near end (min, or max when rev):
	// it skips the members short of that end, then takes members while
	// they stay within the far end.
	near, enter, stay, walk, edge, empty := l.min, l.gteMin, l.lteMax, c.Tx.Ascend, first, 1
	if rev {
		near, enter, stay, walk, edge, empty = l.max, l.lteMax, l.gteMin, c.Tx.Descend, last, -1
	}
	if near.inf == empty {
		return nil
	}
	var from []byte
	if near.inf == 0 {
		from = append([]byte(edge[:8]), near.s...)
	}
	started := false
	return walk(store.SpaceScore, key, r.Gen, from, nil, func(sub, _ string) bool {
		m := sub[8:]
		if !started {
			if !enter(m) {
				return true
			}
			started = true
		}
		if !stay(m) {
			return false
		}
		return fn(sub)
	})
}

// zReplyEntries writes es as an array of members or, with scores, of the
// RESP3 [member, score] pairs (flattened by the proxy for RESP2).
func zReplyEntries(c *Ctx, es []zsetEntry, withScores bool) {
	c.R.Array(len(es))
	for _, e := range es {
		zReplyEntry(c, e, withScores)
	}
}

// zReplyEntry writes one element of zReplyEntries, for the replies that
// stream their elements.
func zReplyEntry(c *Ctx, e zsetEntry, withScores bool) {
	if withScores {
		c.R.Array(2)
		c.R.BulkString(e.member)
		c.R.Double(e.score)
		return
	}
	c.R.BulkString(e.member)
}

// ---- Point commands ----

func cmdZAdd(c *Ctx, args [][]byte) error     { return zaddGeneric(c, args, false) }
func cmdZIncrBy(c *Ctx, args [][]byte) error  { return zaddGeneric(c, args, true) }
func cmdZCard(c *Ctx, args [][]byte) error    { return zCardReply(c, args[1]) }
func cmdZRank(c *Ctx, args [][]byte) error    { return zrankGeneric(c, args, false) }
func cmdZRevRank(c *Ctx, args [][]byte) error { return zrankGeneric(c, args, true) }

// zaddGeneric is ZADD, and ZINCRBY as ZADD with INCR already set: like
// Redis, ZINCRBY parses its arguments as ZADD's, options included.
func zaddGeneric(c *Ctx, args [][]byte, incr bool) error {
	key := args[1]
	var nx, xx, gt, lt, ch bool
	i := 2
opts:
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case eqFold(a, "nx"):
			nx = true
		case eqFold(a, "xx"):
			xx = true
		case eqFold(a, "ch"):
			ch = true
		case eqFold(a, "incr"):
			incr = true
		case eqFold(a, "gt"):
			gt = true
		case eqFold(a, "lt"):
			lt = true
		default:
			break opts
		}
	}
	n := len(args) - i
	if n == 0 || n%2 != 0 {
		return ErrSyntax
	}
	n /= 2
	if nx && xx {
		return errZXXNX
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		return errZGTLTNX
	}
	if incr && n > 1 {
		return errZIncrSingle
	}
	scores := make([]float64, n)
	for j := range scores {
		v, ok := zParseScore(args[i+2*j])
		if !ok {
			return ErrNotFloat
		}
		scores[j] = v
	}
	r, exists, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	var added, updated, processed int64
	var last float64
	if exists || !xx {
		if !exists {
			r = zsetNew()
		}
		for j, score := range scores {
			member := args[i+2*j+1]
			old, had := zsetScore(c, key, &r, member)
			switch {
			case had:
				if nx {
					continue
				}
				if incr {
					// A NaN sum can only come from the sole pair of INCR,
					// so nothing has been written yet.
					if score += old; math.IsNaN(score) {
						return errZNaN
					}
				}
				if (lt && score >= old) || (gt && score <= old) {
					continue
				}
				processed++
				last = score
				if score != old {
					updated++
				}
			case !xx:
				processed++
				last = score
				added++
			default:
				continue
			}
			if err := zsetPut(c, key, &r, member, score, old, had); err != nil {
				return err
			}
		}
		if added+updated > 0 {
			if err := c.Tx.Put(key, &r); err != nil {
				return err
			}
		}
	}
	switch {
	case !incr && ch:
		c.R.Int(added + updated)
	case !incr:
		c.R.Int(added)
	case processed > 0:
		c.R.Double(last)
	default:
		c.R.Null()
	}
	return nil
}

func cmdZRem(c *Ctx, args [][]byte) error {
	key := args[1]
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Int(0)
		return nil
	}
	var n int64
	for _, m := range args[2:] {
		if zsetRemove(c, key, &r, m) {
			n++
		}
	}
	if n > 0 {
		if err := c.Tx.Put(key, &r); err != nil {
			return err
		}
	}
	c.R.Int(n)
	return nil
}

func zCardReply(c *Ctx, key []byte) error {
	r, _, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	c.R.Int(r.Count)
	return nil
}

func cmdZScore(c *Ctx, args [][]byte) error {
	r, ok, err := zsetGet(c, args[1])
	if err != nil {
		return err
	}
	if s, found := zsetScore(c, args[1], &r, args[2]); ok && found {
		c.R.Double(s)
	} else {
		c.R.Null()
	}
	return nil
}

func cmdZMScore(c *Ctx, args [][]byte) error {
	r, ok, err := zsetGet(c, args[1])
	if err != nil {
		return err
	}
	c.R.Array(len(args) - 2)
	for _, m := range args[2:] {
		if s, found := zsetScore(c, args[1], &r, m); ok && found {
			c.R.Double(s)
		} else {
			c.R.Null()
		}
	}
	return nil
}

// zrankGeneric counts the elements before member (after it when rev):
// O(rank), since no rank index is kept.
func zrankGeneric(c *Ctx, args [][]byte, rev bool) error {
	key := args[1]
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	score, found := zsetScore(c, key, &r, args[2])
	if !ok || !found {
		c.R.Null()
		return nil
	}
	target := zScoreSub(score, args[2])
	var rank int64
	count := func(_, _ string) bool { rank++; return true }
	if rev {
		err = c.Tx.Descend(store.SpaceScore, key, r.Gen, nil, target, count)
	} else {
		err = c.Tx.Ascend(store.SpaceScore, key, r.Gen, nil, target, count)
	}
	if err != nil {
		return err
	}
	c.R.Int(rank)
	return nil
}

func cmdZCount(c *Ctx, args [][]byte) error    { return zcountGeneric(c, args, false) }
func cmdZLexCount(c *Ctx, args [][]byte) error { return zcountGeneric(c, args, true) }

// zcountGeneric is ZCOUNT and, with lex, ZLEXCOUNT; as in Redis the range
// is checked before the key.
func zcountGeneric(c *Ctx, args [][]byte, lex bool) error {
	walk, err := zParseRangeWalk(c, args[1], args[2], args[3], lex)
	if err != nil {
		return err
	}
	r, ok, err := zsetGet(c, args[1])
	if err != nil {
		return err
	}
	var n int64
	if ok {
		if err := walk(&r, func(string) bool { n++; return true }); err != nil {
			return err
		}
	}
	c.R.Int(n)
	return nil
}

// zRangeWalk walks the elements of the sorted set r within a range
// already parsed, ascending, until fn returns false.
type zRangeWalk func(r *store.Record, fn func(sub string) bool) error

// zParseRangeWalk parses min and max as a score range (or a lex range,
// with lex) of key, for the commands that count or remove one.
func zParseRangeWalk(c *Ctx, key, min, max []byte, lex bool) (zRangeWalk, error) {
	if lex {
		l, err := zParseLexRange(min, max)
		if err != nil {
			return nil, err
		}
		return func(r *store.Record, fn func(sub string) bool) error {
			return zsetLexWalk(c, key, r, l, false, fn)
		}, nil
	}
	z, err := zParseScoreRange(min, max)
	if err != nil {
		return nil, err
	}
	return func(r *store.Record, fn func(sub string) bool) error {
		return zsetScoreWalk(c, key, r, z, false, fn)
	}, nil
}

// ---- The ZRANGE family ----

// zrangeKind is what a ZRANGE-family command ranges over.
type zrangeKind int

const (
	zrangeAuto zrangeKind = iota // ZRANGE and ZRANGESTORE: decided by BYSCORE/BYLEX
	zrangeRank
	zrangeScore
	zrangeLex
)

// zrangeDir is a ZRANGE-family command's direction.
type zrangeDir int

const (
	zdirAuto zrangeDir = iota // decided by REV
	zdirForward
	zdirReverse
)

func cmdZRange(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 1, false, zrangeAuto, zdirAuto)
}
func cmdZRangeStore(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 2, true, zrangeAuto, zdirAuto)
}
func cmdZRevRange(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 1, false, zrangeRank, zdirReverse)
}
func cmdZRangeByScore(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 1, false, zrangeScore, zdirForward)
}
func cmdZRevRangeByScore(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 1, false, zrangeScore, zdirReverse)
}
func cmdZRangeByLex(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 1, false, zrangeLex, zdirForward)
}
func cmdZRevRangeByLex(c *Ctx, args [][]byte) error {
	return zrangeGeneric(c, args, 1, false, zrangeLex, zdirReverse)
}

// zrangeGeneric is Redis's zrangeGenericCommand: the source key is
// args[at], followed by the two ends and the options; store makes it
// ZRANGESTORE into args[1]. Options and errors are checked in Redis's
// order: options, conflicts, the range, then the key.
func zrangeGeneric(c *Ctx, args [][]byte, at int, store bool, kind zrangeKind, dir zrangeDir) error {
	key := args[at]
	minArg, maxArg := args[at+1], args[at+2]
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := at + 3; j < len(args); j++ {
		a, left := args[j], len(args)-j-1
		switch {
		case !store && eqFold(a, "withscores"):
			withScores = true
		case eqFold(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = parseInt(args[j+1]); !ok {
				return ErrNotInt
			}
			if limit, ok = parseInt(args[j+2]); !ok {
				return ErrNotInt
			}
			j += 2
		case dir == zdirAuto && eqFold(a, "rev"):
			dir = zdirReverse
		case kind == zrangeAuto && eqFold(a, "bylex"):
			kind = zrangeLex
		case kind == zrangeAuto && eqFold(a, "byscore"):
			kind = zrangeScore
		default:
			return ErrSyntax
		}
	}
	rev := dir == zdirReverse
	if kind == zrangeAuto {
		kind = zrangeRank
	}
	if limit != -1 && kind == zrangeRank {
		return errZLimitRank
	}
	if withScores && kind == zrangeLex {
		return errZLexScores
	}
	if rev && kind != zrangeRank {
		// Reverse ranges by score or lex are given as max, min.
		minArg, maxArg = maxArg, minArg
	}
	var start, end int64
	var zr zScoreRange
	var lr zLexRange
	var err error
	switch kind {
	case zrangeRank:
		var ok1, ok2 bool
		start, ok1 = parseInt(minArg)
		end, ok2 = parseInt(maxArg)
		if !ok1 || !ok2 {
			return ErrNotInt
		}
	case zrangeScore:
		zr, err = zParseScoreRange(minArg, maxArg)
	case zrangeLex:
		lr, err = zParseLexRange(minArg, maxArg)
	}
	if err != nil {
		return err
	}
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	var es []zsetEntry
	if ok {
		if kind == zrangeRank {
			if lo, hi, ok := clampRange(start, end, r.Count); ok {
				if rev {
					lo, hi = r.Count-1-hi, r.Count-1-lo
				}
				es, err = zsetRankRange(c, key, &r, lo, hi, rev)
			}
		} else if offset >= 0 && limit != 0 {
			collect := func(sub string) bool {
				if offset > 0 {
					offset--
					return true
				}
				es = append(es, zEntryOf(sub))
				return limit < 0 || int64(len(es)) < limit
			}
			if kind == zrangeScore {
				err = zsetScoreWalk(c, key, &r, zr, rev, collect)
			} else {
				err = zsetLexWalk(c, key, &r, lr, rev, collect)
			}
		}
		if err != nil {
			return err
		}
	}
	if store {
		if err := zsetStore(c, args[1], es); err != nil {
			return err
		}
		c.R.Int(int64(len(es)))
		return nil
	}
	zReplyEntries(c, es, withScores)
	return nil
}

// ---- Removing ranges ----

func cmdZRemRangeByRank(c *Ctx, args [][]byte) error {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		return ErrNotInt
	}
	return zremRange(c, args[1], func(r *store.Record) ([]zsetEntry, error) {
		lo, hi, ok := clampRange(start, end, r.Count)
		if !ok {
			return nil, nil
		}
		return zsetRankRange(c, args[1], r, lo, hi, false)
	})
}

func cmdZRemRangeByScore(c *Ctx, args [][]byte) error { return zremRangeWalk(c, args, false) }
func cmdZRemRangeByLex(c *Ctx, args [][]byte) error   { return zremRangeWalk(c, args, true) }

// zremRangeWalk is ZREMRANGEBYSCORE and, with lex, ZREMRANGEBYLEX.
func zremRangeWalk(c *Ctx, args [][]byte, lex bool) error {
	walk, err := zParseRangeWalk(c, args[1], args[2], args[3], lex)
	if err != nil {
		return err
	}
	return zremRange(c, args[1], func(r *store.Record) (es []zsetEntry, err error) {
		err = walk(r, func(sub string) bool {
			es = append(es, zEntryOf(sub))
			return true
		})
		return es, err
	})
}

// zremRange removes what pick reads from key's sorted set and replies
// how many that was.
func zremRange(c *Ctx, key []byte, pick func(r *store.Record) ([]zsetEntry, error)) error {
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Int(0)
		return nil
	}
	es, err := pick(&r)
	if err != nil {
		return err
	}
	if err := zsetDelEntries(c, key, &r, es); err != nil {
		return err
	}
	c.R.Int(int64(len(es)))
	return nil
}
