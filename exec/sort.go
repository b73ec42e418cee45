package exec

import (
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/store"
)

// SORT and SORT_RO follow Redis 7.0's sortCommandGeneric: the options
// parsed in order (each error answered as soon as it is met), then the
// sorted key's type, then the elements loaded, scored and sorted, and the
// GET lookups made only for the elements returned.

func init() {
	register(map[string]Func{
		"sort":    cmdSort,
		"sort_ro": cmdSortRO,
	})
}

// Errors of SORT, worded as Redis words them. The two cluster errors are
// those of Redis 7.4 and later, which accept a BY or GET
// pattern whose keys are sure to share the sorted key's slot; Redis 7.0
// Cluster refuses every GET and every BY with a '*' ("BY option of SORT
// denied in Cluster mode."). We take the later rule because it serves
// every request 7.0 serves and the hash-tagged ones besides.
const (
	errSortScore = Error("ERR One or more scores can't be converted into double")
	errSortBy    = Error("ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.")
	errSortGet   = Error("ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.")
)

func cmdSort(c *Ctx, args [][]byte) error   { return sortGeneric(c, args, false) }
func cmdSortRO(c *Ctx, args [][]byte) error { return sortGeneric(c, args, true) }

// sortArgs are SORT's options.
type sortArgs struct {
	desc, alpha bool
	// dontsort is set by a BY pattern without '*': elements keep their
	// stored order (a list's, a sorted set's), as Redis's BY nosort.
	dontsort   bool
	limitStart int64
	limitCount int64 // < 0: to the end
	by         []byte
	gets       [][]byte
	store      []byte // nil: reply instead
}

// sortItem is one element being sorted: its own value, and what it sorts
// by (a score, or with ALPHA and BY the looked-up string, when found).
type sortItem struct {
	elem  string
	score float64
	cmp   string
	has   bool
}

func parseSortArgs(args [][]byte, readonly bool) (sortArgs, error) {
	a := sortArgs{limitCount: -1}
	key := args[1]
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		opt := args[j]
		switch {
		case eqFold(opt, "asc"):
			a.desc = false
		case eqFold(opt, "desc"):
			a.desc = true
		case eqFold(opt, "alpha"):
			a.alpha = true
		case eqFold(opt, "limit") && left >= 2:
			s, ok := parseInt(args[j+1])
			if !ok {
				return a, ErrNotInt
			}
			n, ok := parseInt(args[j+2])
			if !ok {
				return a, ErrNotInt
			}
			a.limitStart, a.limitCount = s, n
			j += 2
		case !readonly && eqFold(opt, "store") && left >= 1:
			a.store = args[j+1]
			j++
		case eqFold(opt, "by") && left >= 1:
			a.by = args[j+1]
			if strings.IndexByte(sortCString(a.by), '*') < 0 {
				a.dontsort = true
			} else if sortPatternSlot(a.by) != int(ring.Slot(key)) {
				return a, errSortBy
			}
			j++
		case eqFold(opt, "get") && left >= 1:
			p := args[j+1]
			if !sortIsSubst(p) && sortPatternSlot(p) != int(ring.Slot(key)) {
				return a, errSortGet
			}
			a.gets = append(a.gets, p)
			j++
		default:
			return a, ErrSyntax
		}
	}
	return a, nil
}

// sortCString is b as C's string functions see it: up to its first NUL.
// Redis matches '*', "->" and "#" in patterns with strchr, strstr and
// friends, so a NUL byte ends what they look at.
func sortCString(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// sortIsSubst reports whether p is "#", the element itself.
func sortIsSubst(p []byte) bool { return sortCString(p) == "#" }

// sortPatternSlot is the one slot every key a pattern can form hashes to, or
// -1 when they may fall anywhere: Redis's patternHashSlot. A wildcard or
// an escape before a complete non-empty {tag} means any slot; a pattern
// without wildcards is a single key.
func sortPatternSlot(p []byte) int {
	open := -1 // index of the first '{'; -2 once "{}" makes the tag void
	for i, ch := range p {
		switch {
		case ch == '*' || ch == '?' || ch == '[' || ch == '\\':
			return -1
		case open == -1 && ch == '{':
			open = i
		case open >= 0 && ch == '}' && i == open+1:
			open = -2
		case open >= 0 && ch == '}':
			return int(ring.CRC16(p[open+1:i]) & (ring.Slots - 1))
		}
	}
	return int(ring.CRC16(p) & (ring.Slots - 1))
}

// sortLookup is Redis's lookupKeyByPattern: the element itself for "#";
// else the value of the string key made by putting subst in place of the
// first '*', or with "->field" after the '*' that field of the hash key.
// A pattern without '*', a missing key or one of another type is a miss.
func sortLookup(c *Ctx, pat []byte, subst string) (string, bool) {
	cs := sortCString(pat)
	if cs == "#" {
		return subst, true
	}
	star := strings.IndexByte(cs, '*')
	if star < 0 {
		return "", false
	}
	keyEnd := len(pat)
	var field []byte
	if f := strings.Index(cs[star+1:], "->"); f >= 0 {
		f += star + 1
		if f+2 < len(cs) {
			keyEnd, field = f, pat[f+2:]
		}
	}
	key := make([]byte, 0, star+len(subst)+keyEnd-star-1)
	key = append(append(append(key, pat[:star]...), subst...), pat[star+1:keyEnd]...)
	r, ok := c.Tx.Get(key)
	if !ok {
		return "", false
	}
	if field != nil {
		if r.Type != store.TypeHash {
			return "", false
		}
		return hashGet(c, key, &r, field)
	}
	if r.Type != store.TypeString {
		return "", false
	}
	return r.Val, true
}

// sortScore reads a value to sort by numerically as SORT does: C's strtod
// over the value up to a NUL byte, which must consume all of it, without
// ERANGE and not NaN. An empty string is 0, as strtod leaves it.
func sortScore(v string) (float64, bool) {
	if i := strings.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	f, n, erange := zStrtod([]byte(v))
	if n != len(v) || erange || math.IsNaN(f) {
		return 0, false
	}
	if f != 0 && math.Abs(f) < sortMinNormal && sortInexact(v, f) {
		return 0, false // glibc's ERANGE for an sortInexact subnormal result
	}
	return f, true
}

// sortMinNormal is the smallest positive normal float64.
const sortMinNormal = 0x1p-1022

// sortInexact reports whether the number text (as strtod read it) is not
// exactly f. It is asked only for subnormal results, which glibc flags
// with ERANGE unless they are exact (as 0x1p-1070 is).
func sortInexact(text string, f float64) bool {
	text = strings.TrimLeft(text, " \t\n\v\f\r")
	// 1100 bits hold any subnormal exactly; a decimal that is not a
	// dyadic rational never parses exactly at any precision.
	x, _, err := big.ParseFloat(text, 0, 1100, big.ToNearestEven)
	if err != nil {
		return true
	}
	return x.Cmp(new(big.Float).SetFloat64(f)) != 0
}

// sortCCompare compares a and b as strcmp does: up to the first NUL of each.
// SORT ALPHA compares this way when it replies (strcoll, which is strcmp
// in the C and C.UTF-8 locales Redis runs under) and byte-wise over the
// whole strings only with STORE.
func sortCCompare(a, b string) int {
	if i := strings.IndexByte(a, 0); i >= 0 {
		a = a[:i]
	}
	if i := strings.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.Compare(a, b)
}

// sortRange is SORT's LIMIT clamped to n elements as Redis clamps it:
// start..end inclusive, empty when end < start.
func sortRange(a *sortArgs, n int64) (start, end int64) {
	start = max(a.limitStart, 0)
	switch {
	case a.limitCount < 0:
		end = n - 1
	case a.limitCount > math.MaxInt64-start:
		end = math.MaxInt64
	default:
		end = start + a.limitCount - 1
	}
	if start >= n {
		start, end = n-1, n-2
	}
	return start, min(end, n-1)
}

func sortGeneric(c *Ctx, args [][]byte, readonly bool) error {
	a, err := parseSortArgs(args, readonly)
	if err != nil {
		return err
	}
	key := args[1]
	r, exists := c.Tx.Get(key)
	if exists && r.Type != store.TypeList && r.Type != store.TypeSet && r.Type != store.TypeZSet {
		return ErrWrongType
	}
	// A set has no order of its own: stored unsorted, the result would
	// differ between copies, so Redis sorts it ALPHA anyway (it does the
	// same inside scripts, which this layer cannot tell apart).
	if a.dontsort && exists && r.Type == store.TypeSet && a.store != nil {
		a.dontsort, a.alpha, a.by = false, true, nil
	}
	n := int64(0)
	if exists {
		n = r.Count
	}
	start, end := sortRange(&a, n)

	var items []sortItem
	direct := a.dontsort && exists && r.Type != store.TypeSet
	switch {
	case !exists:
	case direct:
		if end >= start {
			items, err = sortLoadRange(c, key, &r, start, end, a.desc)
		}
		end -= start
		start = 0
	default:
		items, err = sortLoadAll(c, key, &r)
	}
	if err != nil {
		return err
	}

	if !a.dontsort {
		if err := sortItems(c, &a, items); err != nil {
			return err
		}
	}

	if a.store != nil {
		return sortStore(c, &a, items, start, end)
	}
	count := max(end-start+1, 0)
	if len(a.gets) > 0 {
		count *= int64(len(a.gets))
	}
	c.R.Array(int(count))
	for j := start; j <= end; j++ {
		el := items[j].elem
		if len(a.gets) == 0 {
			c.R.BulkString(el)
		}
		for _, g := range a.gets {
			if v, ok := sortLookup(c, g, el); ok {
				c.R.BulkString(v)
			} else {
				c.R.Null()
			}
		}
	}
	return nil
}

// sortLoadRange loads elements start..end of a list or a sorted set in
// their own order, counted from the tail when desc, reading only those.
func sortLoadRange(c *Ctx, key []byte, r *store.Record, start, end int64, desc bool) ([]sortItem, error) {
	lo, hi := start, end
	if desc {
		lo, hi = r.Count-1-end, r.Count-1-start
	}
	items := make([]sortItem, 0, hi-lo+1)
	if r.Type == store.TypeZSet {
		es, err := zsetRankRange(c, key, r, lo, hi, desc)
		for _, e := range es {
			items = append(items, sortItem{elem: e.member})
		}
		return items, err
	}
	vals, err := listValues(c, key, r, lo, hi+1)
	if desc {
		slices.Reverse(vals)
	}
	for _, v := range vals {
		items = append(items, sortItem{elem: v})
	}
	return items, err
}

// sortLoadAll loads every element of a list (in order), set or sorted set
// (in member hash order: they are sorted next).
func sortLoadAll(c *Ctx, key []byte, r *store.Record) ([]sortItem, error) {
	var elems []string
	var err error
	if r.Type == store.TypeList {
		elems, err = listValues(c, key, r, 0, r.Count)
	} else {
		elems, err = allMembers(c, key, r)
	}
	items := make([]sortItem, 0, len(elems))
	for _, e := range elems {
		items = append(items, sortItem{elem: e})
	}
	return items, err
}

// sortItems scores and sorts items as Redis's sortCompare orders them.
// Numerically, equal scores fall back to the elements' bytes, so the
// result is deterministic; with ALPHA and BY, an element whose key is
// missing sorts first and ties keep the loaded order (glibc's qsort is a
// merge sort, stable as SortStableFunc is).
func sortItems(c *Ctx, a *sortArgs, items []sortItem) error {
	convErr := false
	for i := range items {
		it := &items[i]
		by := it.elem
		if a.by != nil {
			v, ok := sortLookup(c, a.by, it.elem)
			if !ok {
				continue
			}
			by = v
		}
		if a.alpha {
			if a.by != nil {
				it.cmp, it.has = by, true
			}
			continue
		}
		f, ok := sortScore(by)
		if !ok {
			convErr = true
		}
		it.score = f
	}
	if convErr {
		return errSortScore
	}
	compare := sortCCompare
	if a.store != nil {
		compare = strings.Compare
	}
	slices.SortStableFunc(items, func(x, y sortItem) int {
		var d int
		switch {
		case !a.alpha:
			switch {
			case x.score > y.score:
				d = 1
			case x.score < y.score:
				d = -1
			default:
				d = strings.Compare(x.elem, y.elem)
			}
		case a.by != nil:
			switch {
			case x.has && y.has:
				d = compare(x.cmp, y.cmp)
			case x.has:
				d = 1
			case y.has:
				d = -1
			}
		default:
			d = compare(x.elem, y.elem)
		}
		if a.desc {
			return -d
		}
		return d
	})
	return nil
}

// sortStore writes items start..end (or their GET lookups, a missing one
// as "") to a.store as a new list without expiry, replacing whatever was
// there, and replies with its length. Every value is read before the
// first write, since the destination may be the source or a looked-up key.
func sortStore(c *Ctx, a *sortArgs, items []sortItem, start, end int64) error {
	out := make([]string, 0, max(end-start+1, 0)*int64(max(len(a.gets), 1)))
	for j := start; j <= end; j++ {
		el := items[j].elem
		if len(a.gets) == 0 {
			out = append(out, el)
		}
		for _, g := range a.gets {
			v, _ := sortLookup(c, g, el)
			out = append(out, v)
		}
	}
	c.Tx.Delete(a.store)
	if len(out) > 0 {
		r := newList(c)
		for _, v := range out {
			if err := listPushOne(c, a.store, &r, false, []byte(v)); err != nil {
				return err
			}
		}
		if err := c.Tx.Put(a.store, &r); err != nil {
			return err
		}
	}
	c.R.Int(int64(len(out)))
	return nil
}
