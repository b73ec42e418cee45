package exec

import (
	"math"
	"strings"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// Lists: element i (0 = head) of a list lives in SpaceElem under
// listSub(r.Head+i), so an end push or pop and a read or write by index
// are each one point operation, and a range is one ordered iteration over
// just that range. Only LINSERT and LREM in the middle move elements, and
// they move whichever side is shorter.

func init() {
	register(map[string]Func{
		"lpush":     listPushCmd(true, false),
		"rpush":     listPushCmd(false, false),
		"lpushx":    listPushCmd(true, true),
		"rpushx":    listPushCmd(false, true),
		"lpop":      listPopCmd(true),
		"rpop":      listPopCmd(false),
		"llen":      cmdLLen,
		"lrange":    cmdLRange,
		"lindex":    cmdLIndex,
		"lset":      cmdLSet,
		"linsert":   cmdLInsert,
		"lrem":      cmdLRem,
		"ltrim":     cmdLTrim,
		"lpos":      cmdLPos,
		"lmove":     cmdLMove,
		"rpoplpush": cmdRPopLPush,
		"lmpop":     cmdLMPop,
	})
}

// Error replies worded as t_list.c words them.
const (
	errListNoSuchKey  = Error("ERR no such key")
	errListIndexRange = Error("ERR index out of range")
	errListRankZero   = Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
	errListCountNeg   = Error("ERR COUNT can't be negative")
	errListMaxlenNeg  = Error("ERR MAXLEN can't be negative")
)

// newList is the record of a list about to get its first element. Its
// generation is taken now because the elements are written under it before
// the record is.
func newList(c *Ctx) store.Record {
	return store.Record{Type: store.TypeList, Enc: encQuicklist, Gen: c.Tx.NextVersion(), Head: listStart, Tail: listStart}
}

// listPushOne adds val at the head (left) or the tail of the list r.
func listPushOne(c *Ctx, key []byte, r *store.Record, left bool, val []byte) error {
	var pos int64
	if left {
		r.Head--
		pos = r.Head
	} else {
		pos = r.Tail
		r.Tail++
	}
	r.Count = r.Tail - r.Head
	_, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(pos), string(val))
	return err
}

// listPopOne removes and returns the head (left) or tail element of the
// non-empty list r. The caller puts the record.
func listPopOne(c *Ctx, key []byte, r *store.Record, left bool) string {
	pos := r.Tail - 1
	if left {
		pos = r.Head
	}
	sub := listSub(pos)
	val, _ := c.Tx.GetElem(store.SpaceElem, key, r.Gen, sub)
	c.Tx.DelElem(store.SpaceElem, key, r.Gen, sub)
	if left {
		r.Head++
	} else {
		r.Tail--
	}
	r.Count = r.Tail - r.Head
	return val
}

// listPopReply pops up to n elements from one end of the list r and
// replies with them as an array, in pop order. The caller puts the record.
func listPopReply(c *Ctx, key []byte, r *store.Record, left bool, n int64) error {
	n = min(n, r.Count)
	c.R.Array(int(n))
	got := int64(0)
	emit := func(_, val string) bool {
		c.R.BulkString(val)
		got++
		return got < n
	}
	var err error
	if left {
		err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head), listSub(r.Head+n), emit)
	} else {
		err = c.Tx.Descend(store.SpaceElem, key, r.Gen, listSub(r.Tail-1), listSub(r.Tail-1-n), emit)
	}
	if err != nil {
		return err
	}
	for i := int64(0); i < n; i++ {
		if left {
			c.Tx.DelElem(store.SpaceElem, key, r.Gen, listSub(r.Head))
			r.Head++
		} else {
			r.Tail--
			c.Tx.DelElem(store.SpaceElem, key, r.Gen, listSub(r.Tail))
		}
	}
	r.Count = r.Tail - r.Head
	return nil
}

// listValues returns copies of the values of elements lo..hi-1 (indexes
// from the head), for moving them.
func listValues(c *Ctx, key []byte, r *store.Record, lo, hi int64) ([]string, error) {
	vals := make([]string, 0, hi-lo)
	err := c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head+lo), listSub(r.Head+hi), func(_, val string) bool {
		vals = append(vals, strings.Clone(val))
		return true
	})
	return vals, err
}

// clampRange clamps start and stop (inclusive, negative counting from the
// end) to the indexes of n elements as Redis clamps them for LRANGE,
// LTRIM, ZRANGE and ZREMRANGEBYRANK alike; ok is false when the range is
// empty.
func clampRange(start, stop, n int64) (lo, hi int64, ok bool) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, true
}

// listIndex turns a possibly negative index into one from the head; ok is
// false when it is out of range.
func listIndex(i, n int64) (int64, bool) {
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

// parseListWhere parses LEFT or RIGHT.
func parseListWhere(b []byte) (left bool, err error) {
	switch {
	case eqFold(b, "left"):
		return true, nil
	case eqFold(b, "right"):
		return false, nil
	}
	return false, ErrSyntax
}

func listPushCmd(left, onlyExisting bool) Func {
	return func(c *Ctx, args [][]byte) error {
		key := args[1]
		r, ok, err := getType(c, key, store.TypeList)
		if err != nil {
			return err
		}
		if !ok {
			if onlyExisting {
				c.R.Int(0)
				return nil
			}
			r = newList(c)
		}
		for _, v := range args[2:] {
			if err := listPushOne(c, key, &r, left, v); err != nil {
				return err
			}
		}
		if err := c.Tx.Put(key, &r); err != nil {
			return err
		}
		c.R.Int(r.Count)
		return nil
	}
}

func listPopCmd(left bool) Func {
	return func(c *Ctx, args [][]byte) error {
		if len(args) > 3 {
			return Error(resp.WrongArgs(string(args[0])))
		}
		hasCount := len(args) == 3
		var count int64
		if hasCount {
			n, ok := parseInt(args[2])
			if !ok || n < 0 {
				return errNotPositive
			}
			count = n
		}
		key := args[1]
		r, ok, err := getType(c, key, store.TypeList)
		if err != nil {
			return err
		}
		switch {
		case !ok && hasCount:
			c.R.NullArray()
			return nil
		case !ok:
			c.R.Null()
			return nil
		case hasCount && count == 0:
			c.R.Array(0)
			return nil
		}
		if hasCount {
			if err := listPopReply(c, key, &r, left, count); err != nil {
				return err
			}
			return c.Tx.Put(key, &r)
		}
		val := listPopOne(c, key, &r, left)
		if err := c.Tx.Put(key, &r); err != nil {
			return err
		}
		c.R.BulkString(val)
		return nil
	}
}

func cmdLLen(c *Ctx, args [][]byte) error {
	r, _, err := getType(c, args[1], store.TypeList)
	if err != nil {
		return err
	}
	c.R.Int(r.Count)
	return nil
}

func cmdLRange(c *Ctx, args [][]byte) error {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		return ErrNotInt
	}
	key := args[1]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	lo, hi, inRange := clampRange(start, stop, r.Count)
	if !ok || !inRange {
		c.R.Array(0)
		return nil
	}
	c.R.Array(int(hi - lo + 1))
	return c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head+lo), listSub(r.Head+hi+1), func(_, val string) bool {
		c.R.BulkString(val)
		return true
	})
}

func cmdLIndex(c *Ctx, args [][]byte) error {
	key := args[1]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Null()
		return nil
	}
	i, valid := parseInt(args[2])
	if !valid {
		return ErrNotInt
	}
	i, ok = listIndex(i, r.Count)
	if !ok {
		c.R.Null()
		return nil
	}
	val, ok := c.Tx.GetElem(store.SpaceElem, key, r.Gen, listSub(r.Head+i))
	if !ok {
		c.R.Null()
		return nil
	}
	c.R.BulkString(val)
	return nil
}

func cmdLSet(c *Ctx, args [][]byte) error {
	key := args[1]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		return errListNoSuchKey
	}
	i, valid := parseInt(args[2])
	if !valid {
		return ErrNotInt
	}
	if i, ok = listIndex(i, r.Count); !ok {
		return errListIndexRange
	}
	if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(r.Head+i), string(args[3])); err != nil {
		return err
	}
	// The record is rewritten too: its version is what WATCH sees change.
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.OK()
	return nil
}

func cmdLInsert(c *Ctx, args [][]byte) error {
	var after bool
	switch {
	case eqFold(args[2], "after"):
		after = true
	case eqFold(args[2], "before"):
	default:
		return ErrSyntax
	}
	key, pivot := args[1], args[3]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Int(0)
		return nil
	}
	at, i := int64(-1), int64(0)
	err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head), listSub(r.Tail), func(_, val string) bool {
		if val == string(pivot) {
			at = i
			return false
		}
		i++
		return true
	})
	if err != nil {
		return err
	}
	if at < 0 {
		c.R.Int(-1)
		return nil
	}
	if after {
		at++
	}
	if err := listInsertAt(c, key, &r, at, args[4]); err != nil {
		return err
	}
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.Int(r.Count)
	return nil
}

// listInsertAt makes val element k (0 <= k <= Count) of the list r,
// moving the elements before k one step towards the head or those from k
// on one step towards the tail, whichever are fewer.
func listInsertAt(c *Ctx, key []byte, r *store.Record, k int64, val []byte) error {
	n := r.Count
	if k <= n-k {
		vals, err := listValues(c, key, r, 0, k)
		if err != nil {
			return err
		}
		r.Head--
		for i, v := range vals {
			if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(r.Head+int64(i)), v); err != nil {
				return err
			}
		}
	} else {
		vals, err := listValues(c, key, r, k, n)
		if err != nil {
			return err
		}
		for i, v := range vals {
			if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(r.Head+k+1+int64(i)), v); err != nil {
				return err
			}
		}
		r.Tail++
	}
	r.Count = r.Tail - r.Head
	_, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(r.Head+k), string(val))
	return err
}

func cmdLRem(c *Ctx, args [][]byte) error {
	count, valid := parseInt(args[2])
	if !valid {
		return ErrNotInt
	}
	key, elem := args[1], args[3]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Int(0)
		return nil
	}
	limit := count
	if count < 0 {
		limit = -count // -MinInt64 wraps to MinInt64: no limit, as in Redis
	}
	var rm []int64
	match := func(sub, val string) bool {
		if val == string(elem) {
			rm = append(rm, subPos(sub)-r.Head)
		}
		return limit <= 0 || int64(len(rm)) < limit
	}
	if count >= 0 {
		err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head), listSub(r.Tail), match)
	} else {
		err = c.Tx.Descend(store.SpaceElem, key, r.Gen, listSub(r.Tail-1), nil, match)
		for i, j := 0, len(rm)-1; i < j; i, j = i+1, j-1 {
			rm[i], rm[j] = rm[j], rm[i]
		}
	}
	if err != nil {
		return err
	}
	if len(rm) > 0 {
		if err := listRemoveAt(c, key, &r, rm); err != nil {
			return err
		}
	}
	c.R.Int(int64(len(rm)))
	return nil
}

// listRemoveAt deletes the elements at the ascending indexes rm and puts
// the record. The gaps are closed by moving survivors inwards from both
// ends: the first a gaps are filled from the head side and the rest from
// the tail side, with a chosen so that the fewest elements move.
func listRemoveAt(c *Ctx, key []byte, r *store.Record, rm []int64) error {
	n, m := r.Count, len(rm)
	if int64(m) >= n {
		c.Tx.Delete(key)
		return nil
	}
	best, bestCost := 0, int64(math.MaxInt64)
	for a := 0; a <= m; a++ {
		var cost int64
		if a > 0 {
			cost += rm[a-1] - int64(a-1) // survivors before gap a-1
		}
		if a < m {
			cost += n - 1 - rm[a] - int64(m-1-a) // survivors after gap a
		}
		if cost < bestCost {
			best, bestCost = a, cost
		}
	}
	a := best
	if a > 0 {
		// Survivors of 0..rm[a-1] end up at a..rm[a-1]; 0..a-1 empty.
		end := rm[a-1]
		vals, err := listSurvivors(c, key, r, 0, end+1, rm[:a])
		if err != nil {
			return err
		}
		for i, v := range vals {
			if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(r.Head+int64(a+i)), v); err != nil {
				return err
			}
		}
		for i := int64(0); i < int64(a); i++ {
			c.Tx.DelElem(store.SpaceElem, key, r.Gen, listSub(r.Head+i))
		}
	}
	if a < m {
		// Survivors of rm[a]..n-1 end up at rm[a]..n-1-(m-a); the last
		// m-a positions empty.
		start := rm[a]
		vals, err := listSurvivors(c, key, r, start, n, rm[a:])
		if err != nil {
			return err
		}
		for i, v := range vals {
			if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, listSub(r.Head+start+int64(i)), v); err != nil {
				return err
			}
		}
		for i := n - int64(m-a); i < n; i++ {
			c.Tx.DelElem(store.SpaceElem, key, r.Gen, listSub(r.Head+i))
		}
	}
	r.Head += int64(a)
	r.Tail -= int64(m - a)
	r.Count = r.Tail - r.Head
	return c.Tx.Put(key, r)
}

// listSurvivors returns copies of the values of elements lo..hi-1 whose
// indexes are not in the ascending list skip.
func listSurvivors(c *Ctx, key []byte, r *store.Record, lo, hi int64, skip []int64) ([]string, error) {
	vals := make([]string, 0, hi-lo-int64(len(skip)))
	err := c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head+lo), listSub(r.Head+hi), func(sub, val string) bool {
		if len(skip) > 0 && subPos(sub)-r.Head == skip[0] {
			skip = skip[1:]
			return true
		}
		vals = append(vals, strings.Clone(val))
		return true
	})
	return vals, err
}

func cmdLTrim(c *Ctx, args [][]byte) error {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		return ErrNotInt
	}
	key := args[1]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		c.R.OK()
		return nil
	}
	lo, hi, keep := clampRange(start, stop, r.Count)
	if !keep {
		// Everything goes: the elements become invisible at once and are
		// swept later.
		c.Tx.Delete(key)
		c.R.OK()
		return nil
	}
	for i := int64(0); i < lo; i++ {
		c.Tx.DelElem(store.SpaceElem, key, r.Gen, listSub(r.Head+i))
	}
	for i := hi + 1; i < r.Count; i++ {
		c.Tx.DelElem(store.SpaceElem, key, r.Gen, listSub(r.Head+i))
	}
	r.Tail = r.Head + hi + 1
	r.Head += lo
	r.Count = r.Tail - r.Head
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.OK()
	return nil
}

func cmdLPos(c *Ctx, args [][]byte) error {
	rank, count, maxlen := int64(1), int64(-1), int64(0) // count -1: no COUNT
	for j := 3; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case eqFold(args[j], "rank") && more:
			j++
			v, ok := parseInt(args[j])
			if !ok {
				return ErrNotInt
			}
			if v == 0 {
				return errListRankZero
			}
			rank = v
		case eqFold(args[j], "count") && more:
			j++
			v, ok := parseInt(args[j])
			if !ok || v < 0 {
				return errListCountNeg
			}
			count = v
		case eqFold(args[j], "maxlen") && more:
			j++
			v, ok := parseInt(args[j])
			if !ok || v < 0 {
				return errListMaxlenNeg
			}
			maxlen = v
		default:
			return ErrSyntax
		}
	}
	fromTail := rank < 0
	if fromTail {
		rank = -rank // MinInt64 stays negative and so matches at once, as in Redis
	}
	key, elem := args[1], args[2]
	r, ok, err := getType(c, key, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		if count != -1 {
			c.R.Array(0)
		} else {
			c.R.Null()
		}
		return nil
	}
	var found []int64
	index, matches, at := int64(0), int64(0), int64(-1)
	visit := func(_, val string) bool {
		if maxlen != 0 && index >= maxlen {
			return false
		}
		if val == string(elem) {
			matches++
			if matches >= rank {
				pos := index
				if fromTail {
					pos = r.Count - index - 1
				}
				if count == -1 {
					at = pos
					return false
				}
				found = append(found, pos)
				if count != 0 && matches-rank+1 >= count {
					return false
				}
			}
		}
		index++
		return true
	}
	if fromTail {
		err = c.Tx.Descend(store.SpaceElem, key, r.Gen, listSub(r.Tail-1), nil, visit)
	} else {
		err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head), listSub(r.Tail), visit)
	}
	if err != nil {
		return err
	}
	switch {
	case count != -1:
		c.R.Array(len(found))
		for _, p := range found {
			c.R.Int(p)
		}
	case at >= 0:
		c.R.Int(at)
	default:
		c.R.Null()
	}
	return nil
}

func cmdLMove(c *Ctx, args [][]byte) error {
	from, err := parseListWhere(args[3])
	if err != nil {
		return err
	}
	to, err := parseListWhere(args[4])
	if err != nil {
		return err
	}
	return listMove(c, args[1], args[2], from, to)
}

func cmdRPopLPush(c *Ctx, args [][]byte) error {
	return listMove(c, args[1], args[2], false, true)
}

// listMove pops from one end of src and pushes onto one end of dst,
// replying with the element. src == dst rotates the list.
func listMove(c *Ctx, src, dst []byte, fromLeft, toLeft bool) error {
	sr, ok, err := getType(c, src, store.TypeList)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Null()
		return nil
	}
	same := string(src) == string(dst)
	dr := &sr
	if !same {
		var d store.Record
		d, ok, err = getType(c, dst, store.TypeList)
		if err != nil {
			return err
		}
		if !ok {
			d = newList(c)
		}
		dr = &d
	}
	val := listPopOne(c, src, &sr, fromLeft)
	if err := listPushOne(c, dst, dr, toLeft, []byte(val)); err != nil {
		return err
	}
	if !same {
		if err := c.Tx.Put(src, &sr); err != nil {
			return err
		}
	}
	if err := c.Tx.Put(dst, dr); err != nil {
		return err
	}
	c.R.BulkString(val)
	return nil
}

func cmdLMPop(c *Ctx, args [][]byte) error {
	keys, left, count, err := parseMPop(args, parseListWhere)
	if err != nil {
		return err
	}
	for _, key := range keys {
		r, ok, err := getType(c, key, store.TypeList)
		if err != nil {
			return err
		}
		if !ok || r.Count == 0 {
			continue
		}
		c.R.Array(2)
		c.R.Bulk(key)
		if err := listPopReply(c, key, &r, left, count); err != nil {
			return err
		}
		return c.Tx.Put(key, &r)
	}
	c.R.NullArray()
	return nil
}
