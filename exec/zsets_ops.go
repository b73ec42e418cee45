package exec

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/shardis/shardis/store"
)

// Sorted-set commands beyond single ranges: pops, random members, the
// set algebra over sorted sets and sets, and ZSCAN.

func init() {
	register(map[string]Func{
		"zpopmin":     cmdZPopMin,
		"zpopmax":     cmdZPopMax,
		"zmpop":       cmdZMPop,
		"zrandmember": cmdZRandMember,
		"zunion":      cmdZUnion,
		"zinter":      cmdZInter,
		"zdiff":       cmdZDiff,
		"zunionstore": cmdZUnionStore,
		"zinterstore": cmdZInterStore,
		"zdiffstore":  cmdZDiffStore,
		"zintercard":  cmdZInterCard,
		"zscan":       cmdZScan,
	})
}

// ---- Pops ----

func cmdZPopMin(c *Ctx, args [][]byte) error { return zpopMinMax(c, args, false) }
func cmdZPopMax(c *Ctx, args [][]byte) error { return zpopMinMax(c, args, true) }

func zpopMinMax(c *Ctx, args [][]byte, max bool) error {
	if len(args) > 3 {
		return ErrSyntax
	}
	count := int64(-1) // a plain pop: a flat [member, score]
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			return errNotPositive
		}
		count = n
	}
	return zpop(c, args[1:2], max, false, count, false)
}

// cmdZMPop is ZMPOP numkeys key... MIN|MAX [COUNT count].
func cmdZMPop(c *Ctx, args [][]byte) error {
	keys, max, count, err := parseMPop(args, parseZMinMax)
	if err != nil {
		return err
	}
	return zpop(c, keys, max, true, count, true)
}

// parseZMinMax parses ZMPOP's MIN or MAX (max true).
func parseZMinMax(b []byte) (max bool, err error) {
	switch {
	case eqFold(b, "min"):
		return false, nil
	case eqFold(b, "max"):
		return true, nil
	}
	return false, ErrSyntax
}

// zpop is genericZpopCommand: it pops up to count elements (count -1: a
// single one, replied flat) from the first non-empty key of keys. ZMPOP
// (emitKey) replies [key, [[member, score]...]] or a null array; ZPOPMIN
// with a count replies the RESP3 pairs, which the proxy flattens for
// RESP2 as Redis does.
func zpop(c *Ctx, keys [][]byte, max, emitKey bool, count int64, nilWhenEmpty bool) error {
	var key []byte
	var r store.Record
	found := false
	for _, k := range keys {
		rr, ok, err := zsetGet(c, k)
		if err != nil {
			return err
		}
		if ok {
			key, r, found = k, rr, true
			break
		}
	}
	if !found {
		if nilWhenEmpty {
			c.R.NullArray()
		} else {
			c.R.Array(0)
		}
		return nil
	}
	if count == 0 {
		c.R.Array(0)
		return nil
	}
	nested := count != -1
	if count == -1 {
		count = 1
	}
	n := min(count, r.Count)
	lo, hi := int64(0), n-1
	if max {
		lo, hi = r.Count-n, r.Count-1
	}
	es, err := zsetRankRange(c, key, &r, lo, hi, max)
	if err != nil {
		return err
	}
	if err := zsetDelEntries(c, key, &r, es); err != nil {
		return err
	}
	if emitKey {
		c.R.Array(2)
		c.R.Bulk(key)
	}
	if nested {
		zReplyEntries(c, es, true)
		return nil
	}
	c.R.Array(2 * len(es))
	for _, e := range es {
		c.R.BulkString(e.member)
		c.R.Double(e.score)
	}
	return nil
}

// ---- ZRANDMEMBER ----

func cmdZRandMember(c *Ctx, args [][]byte) error {
	key := args[1]
	if len(args) == 2 {
		r, ok, err := zsetGet(c, key)
		if err != nil {
			return err
		}
		if !ok {
			c.R.Null()
			return nil
		}
		all, err := zsetLoadSmall(c, key, &r)
		if err != nil {
			return err
		}
		e, err := zsetPick(c, key, &r, all)
		if err != nil {
			return err
		}
		c.R.BulkString(e.member)
		return nil
	}
	n, withScores, err := parseRandCount(args, "withscores")
	if err != nil {
		return err
	}
	r, ok, err := zsetGet(c, key)
	if err != nil {
		return err
	}
	if !ok || n == 0 {
		c.R.Array(0)
		return nil
	}
	var es []zsetEntry
	switch {
	case n < 0 || n == 1:
		// With repetition; the reply is as long as asked, so Redis
		// streams it. Listpacks are picked from uniformly, once loaded.
		count := -n
		if n == 1 {
			count = 1
		}
		all, err := zsetLoadSmall(c, key, &r)
		if err != nil {
			return err
		}
		c.R.Array(int(count))
		for range count {
			e, err := zsetPick(c, key, &r, all)
			if err != nil {
				return err
			}
			zReplyEntry(c, e, withScores)
		}
		return nil
	case n >= r.Count:
		// The whole set, in the order Redis's zset iterator walks it:
		// from the highest score down.
		es, err = zsetAll(c, key, &r, true)
	default:
		es, err = zsetDistinct(c, key, &r, int(n))
	}
	if err != nil {
		return err
	}
	zReplyEntries(c, es, withScores)
	return nil
}

// zsetAll reads every element of r in score order (reversed when rev).
func zsetAll(c *Ctx, key []byte, r *store.Record, rev bool) ([]zsetEntry, error) {
	out := make([]zsetEntry, 0, r.Count)
	err := zsetWalk(c, key, r, rev, func(sub string) bool {
		out = append(out, zEntryOf(sub))
		return true
	})
	return out, err
}

// zsetLoadSmall loads a listpack sorted set, which ZRANDMEMBER samples
// uniformly as Redis does; a bigger one is left in the store (nil).
func zsetLoadSmall(c *Ctx, key []byte, r *store.Record) ([]zsetEntry, error) {
	if r.Enc != encListpack {
		return nil, nil
	}
	return zsetAll(c, key, r, false)
}

// zsetPick returns a random element: uniformly from all when given (a
// loaded listpack, as Redis samples it), else pickElem's.
func zsetPick(c *Ctx, key []byte, r *store.Record, all []zsetEntry) (zsetEntry, error) {
	if all != nil {
		return all[c.intN(len(all))], nil
	}
	sub, val, _, err := pickElem(c, key, r.Gen)
	return zsetEntry{member: subMember(sub), score: scoreFrom(val)}, err
}

// zsetDistinct returns n distinct random elements, 0 < n < r.Count. As in
// Redis, a request for more than a third of the set copies it and drops
// random elements; a smaller one picks at random until it has n, here
// falling back to a walk from a random point should the biased picks keep
// repeating.
func zsetDistinct(c *Ctx, key []byte, r *store.Record, n int) ([]zsetEntry, error) {
	if int64(n)*3 > r.Count || r.Enc == encListpack {
		all, err := zsetAll(c, key, r, true)
		if err != nil {
			return nil, err
		}
		shuffleFront(c, all, n)
		return all[:n], nil
	}
	seen := make(map[string]bool, n)
	out := make([]zsetEntry, 0, n)
	for tries := 0; len(out) < n && tries < 10*n; tries++ {
		e, err := zsetPick(c, key, r, nil)
		if err != nil {
			return nil, err
		}
		if !seen[e.member] {
			seen[e.member] = true
			out = append(out, e)
		}
	}
	if len(out) < n {
		err := ascendWrapped(c, key, r.Gen, hashPivot(uint32(c.uint64())), func(sub, val string) bool {
			if m := subMember(sub); !seen[m] {
				seen[strings.Clone(m)] = true
				out = append(out, zsetEntry{member: strings.Clone(m), score: scoreFrom(val)})
			}
			return len(out) < n
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- ZUNION, ZINTER, ZDIFF and their STORE and CARD forms ----

// zsetOp is which algebra a command does.
type zsetOp int

const (
	zopUnion zsetOp = iota
	zopInter
	zopDiff
)

// zAggregate is AGGREGATE SUM|MIN|MAX.
type zAggregate int

const (
	zaggSum zAggregate = iota
	zaggMin
	zaggMax
)

// zSource is one input of the algebra: a sorted set or a plain set (whose
// members all score 1), or nothing for a missing key.
type zSource struct {
	key    []byte
	r      store.Record
	ok     bool
	weight float64
}

// score reads a member's score from s with one point lookup.
func (s *zSource) score(c *Ctx, member []byte) (float64, bool) {
	if !s.ok {
		return 0, false
	}
	v, ok := c.Tx.GetElem(store.SpaceElem, s.key, s.r.Gen, memberSub(member))
	if !ok {
		return 0, false
	}
	if s.r.Type == store.TypeSet {
		return 1, true
	}
	return scoreFrom(v), true
}

// each calls fn for every member of s with its score.
func (s *zSource) each(c *Ctx, fn func(member string, score float64) bool) error {
	if !s.ok {
		return nil
	}
	isSet := s.r.Type == store.TypeSet
	return c.Tx.Ascend(store.SpaceElem, s.key, s.r.Gen, nil, nil, func(sub, val string) bool {
		score := 1.0
		if !isSet {
			score = scoreFrom(val)
		}
		return fn(subMember(sub), score)
	})
}

// zAggregateInto is zunionInterAggregate, NaN rules included: a SUM of
// +inf and -inf is 0, and MIN and MAX keep the target against a NaN.
func zAggregateInto(target *float64, v float64, agg zAggregate) {
	switch agg {
	case zaggSum:
		if *target += v; math.IsNaN(*target) {
			*target = 0
		}
	case zaggMin:
		if v < *target {
			*target = v
		}
	case zaggMax:
		if v > *target {
			*target = v
		}
	}
}

func cmdZUnion(c *Ctx, args [][]byte) error { return zsetAlgebra(c, args, nil, 1, zopUnion, false) }
func cmdZInter(c *Ctx, args [][]byte) error { return zsetAlgebra(c, args, nil, 1, zopInter, false) }
func cmdZDiff(c *Ctx, args [][]byte) error  { return zsetAlgebra(c, args, nil, 1, zopDiff, false) }
func cmdZUnionStore(c *Ctx, args [][]byte) error {
	return zsetAlgebra(c, args, args[1], 2, zopUnion, false)
}
func cmdZInterStore(c *Ctx, args [][]byte) error {
	return zsetAlgebra(c, args, args[1], 2, zopInter, false)
}
func cmdZDiffStore(c *Ctx, args [][]byte) error {
	return zsetAlgebra(c, args, args[1], 2, zopDiff, false)
}
func cmdZInterCard(c *Ctx, args [][]byte) error { return zsetAlgebra(c, args, nil, 1, zopInter, true) }

// zsetAlgebra is zunionInterDiffGenericCommand: numkeys at args[at], then
// the keys, then WEIGHTS, AGGREGATE, WITHSCORES or LIMIT as the command
// allows. As in Redis the keys' types are checked before the options.
func zsetAlgebra(c *Ctx, args [][]byte, dst []byte, at int, op zsetOp, cardOnly bool) error {
	numkeys, ok := parseInt(args[at])
	if !ok {
		return ErrNotInt
	}
	if numkeys < 1 {
		return Error("ERR at least 1 input key is needed for '" + strings.ToLower(string(args[0])) + "' command")
	}
	if numkeys > int64(len(args)-at-1) {
		return ErrSyntax
	}
	srcs := make([]zSource, numkeys)
	j := at + 1
	for i := range srcs {
		k := args[j]
		j++
		r, ok := c.Tx.Get(k)
		if ok && r.Type != store.TypeZSet && r.Type != store.TypeSet {
			return ErrWrongType
		}
		srcs[i] = zSource{key: k, r: r, ok: ok && r.Count > 0, weight: 1}
	}
	agg := zaggSum
	withScores := false
	var limit int64
	for j < len(args) {
		a, left := args[j], len(args)-j
		switch {
		case op != zopDiff && !cardOnly && left >= len(srcs)+1 && eqFold(a, "weights"):
			j++
			for i := range srcs {
				w, ok := zParseScore(args[j])
				if !ok {
					return Error("ERR weight value is not a float")
				}
				srcs[i].weight = w
				j++
			}
		case op != zopDiff && !cardOnly && left >= 2 && eqFold(a, "aggregate"):
			switch b := args[j+1]; {
			case eqFold(b, "sum"):
				agg = zaggSum
			case eqFold(b, "min"):
				agg = zaggMin
			case eqFold(b, "max"):
				agg = zaggMax
			default:
				return ErrSyntax
			}
			j += 2
		case dst == nil && !cardOnly && eqFold(a, "withscores"):
			withScores = true
			j++
		case cardOnly && left >= 2 && eqFold(a, "limit"):
			n, ok := parseInt(args[j+1])
			if !ok || n < 0 {
				return errLimitNegative
			}
			limit = n
			j += 2
		default:
			return ErrSyntax
		}
	}
	if op != zopDiff {
		// Redis sorts the inputs by size; the order of a SUM's additions,
		// and so its rounding, follows it.
		slices.SortStableFunc(srcs, func(a, b zSource) int { return cmp.Compare(a.r.Count, b.r.Count) })
	}
	var es []zsetEntry
	var err error
	switch op {
	case zopUnion:
		es, err = zsetUnion(c, srcs, agg)
	case zopInter:
		if cardOnly {
			n, err := zsetInterCard(c, srcs, limit)
			if err != nil {
				return err
			}
			c.R.Int(n)
			return nil
		}
		es, err = zsetInter(c, srcs, agg)
	case zopDiff:
		es, err = zsetDiff(c, srcs)
	}
	if err != nil {
		return err
	}
	slices.SortFunc(es, func(a, b zsetEntry) int {
		if d := cmp.Compare(a.score, b.score); d != 0 {
			return d
		}
		return strings.Compare(a.member, b.member)
	})
	if dst != nil {
		if err := zsetStore(c, dst, es); err != nil {
			return err
		}
		c.R.Int(int64(len(es)))
		return nil
	}
	zReplyEntries(c, es, withScores)
	return nil
}

// zWeighted is a weighted input score; a NaN (0 × ±inf) counts as 0.
func zWeighted(score, weight float64) float64 {
	if v := score * weight; !math.IsNaN(v) {
		return v
	}
	return 0
}

func zsetUnion(c *Ctx, srcs []zSource, agg zAggregate) ([]zsetEntry, error) {
	acc := map[string]float64{}
	for i := range srcs {
		s := &srcs[i]
		err := s.each(c, func(m string, score float64) bool {
			v := zWeighted(score, s.weight)
			if cur, ok := acc[m]; ok {
				zAggregateInto(&cur, v, agg)
				acc[m] = cur
			} else {
				acc[strings.Clone(m)] = v
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]zsetEntry, 0, len(acc))
	for m, v := range acc {
		out = append(out, zsetEntry{m, v})
	}
	return out, nil
}

// zsetInterEach calls fn for each member of the smallest input found in
// every input, with its aggregated score, until fn returns false. The
// other inputs are probed with point lookups. As in Redis, only the first
// input's weighted score has its NaN turned to 0.
func zsetInterEach(c *Ctx, srcs []zSource, agg zAggregate, fn func(m string, score float64) bool) error {
	if !srcs[0].ok {
		return nil
	}
	var members []zsetEntry
	err := srcs[0].each(c, func(m string, score float64) bool {
		members = append(members, zsetEntry{strings.Clone(m), score})
		return true
	})
	if err != nil {
		return err
	}
	for _, e := range members {
		score := zWeighted(e.score, srcs[0].weight)
		in := true
		for j := 1; j < len(srcs) && in; j++ {
			var v float64
			if v, in = srcs[j].score(c, []byte(e.member)); in {
				zAggregateInto(&score, v*srcs[j].weight, agg)
			}
		}
		if in && !fn(e.member, score) {
			return nil
		}
	}
	return nil
}

func zsetInter(c *Ctx, srcs []zSource, agg zAggregate) ([]zsetEntry, error) {
	var out []zsetEntry
	err := zsetInterEach(c, srcs, agg, func(m string, score float64) bool {
		out = append(out, zsetEntry{m, score})
		return true
	})
	return out, err
}

func zsetInterCard(c *Ctx, srcs []zSource, limit int64) (int64, error) {
	var n int64
	err := zsetInterEach(c, srcs, zaggSum, func(string, float64) bool {
		n++
		return limit == 0 || n < limit
	})
	return n, err
}

// zsetDiff is the first input less every other, with the first's scores.
func zsetDiff(c *Ctx, srcs []zSource) ([]zsetEntry, error) {
	var out []zsetEntry
	err := srcs[0].each(c, func(m string, score float64) bool {
		out = append(out, zsetEntry{strings.Clone(m), score})
		return true
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, e := range out {
		in := false
		for j := 1; j < len(srcs) && !in; j++ {
			_, in = srcs[j].score(c, []byte(e.member))
		}
		if !in {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// ---- ZSCAN ----

// cmdZScan checks, as Redis does, the cursor, then the key, then the
// options. A listpack is returned whole and in score order, as Redis
// returns it; a skiplist is scanned in member-hash order (see
// scanMembers). Scores are bulk strings in ZSCAN, formatted like doubles.
func cmdZScan(c *Ctx, args [][]byte) error {
	a, r, ok, err := scanOpen(c, args, store.TypeZSet)
	if !ok {
		return err
	}
	key := args[1]
	var items []string
	emit := func(m string, score float64) {
		items = append(items, strings.Clone(m), zFormatScore(score))
	}
	var next uint64
	if r.Enc == encListpack {
		err = zsetWalk(c, key, &r, false, func(sub string) bool {
			if m := sub[8:]; a.match == nil || globMatch(a.match, []byte(m)) {
				emit(m, scoreFrom(sub))
			}
			return true
		})
	} else {
		next, err = scanMembers(c, key, &r, a, func(m, val string) { emit(m, scoreFrom(val)) })
	}
	if err != nil {
		return err
	}
	scanReply(c, next, items)
	return nil
}

// zFormatScore is a score as Redis 7.0 writes it in text (%.17g, inf,
// -inf), the bytes Double puts after the ','.
func zFormatScore(f float64) string {
	var r Reply
	r.Double(f)
	b := r.Bytes()
	return string(b[1 : len(b)-2])
}
