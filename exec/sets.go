package exec

import (
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/shardis/shardis/store"
)

// Errors Redis words itself that only the set commands produce.
const (
	errNumKeysArgs = Error("ERR Number of keys can't be greater than number of args")
)

// errSetCount is a store failure: a set record counts members that are
// not stored.
var errSetCount = errors.New("exec: set has fewer members than its count")

// maxRandReply bounds the elements of one SRANDMEMBER reply with a
// negative count (the only reply not bounded by the set's size).
const maxRandReply = 1 << 24

// Thresholds of Redis's SPOP and SRANDMEMBER strategies (t_set.c): SPOP
// rebuilds the set from the survivors when remaining*5 <= count, and
// SRANDMEMBER copies the whole set when count*3 > size. Past the latter,
// reading the whole set here is cheaper than point lookups too.
const (
	spopMoveStrategyMul       = 5
	srandmemberSubStrategyMul = 3
)

func init() {
	register(map[string]Func{
		"sadd":        cmdSAdd,
		"srem":        cmdSRem,
		"scard":       cmdSCard,
		"sismember":   cmdSIsMember,
		"smismember":  cmdSMIsMember,
		"smembers":    cmdSMembers,
		"srandmember": cmdSRandMember,
		"spop":        cmdSPop,
		"smove":       cmdSMove,
		"sinter":      cmdSInter,
		"sintercard":  cmdSInterCard,
		"sunion":      cmdSUnion,
		"sdiff":       cmdSDiff,
		"sinterstore": cmdSInterStore,
		"sunionstore": cmdSUnionStore,
		"sdiffstore":  cmdSDiffStore,
		"sscan":       cmdSScan,
	})
}

// intsetMember reports whether Redis would keep m in an intset: exactly
// the strings string2ll accepts, so "007" or "-0" make a hashtable.
func intsetMember(m []byte) bool {
	_, ok := parseInt(m)
	return ok
}

// newSet is the record of a set about to get its first member, in the
// encoding Redis's setTypeCreate picks for it.
func newSet(c *Ctx, first []byte) store.Record {
	r := store.Record{Type: store.TypeSet, Enc: encHashtable, Gen: c.Tx.NextVersion()}
	if intsetMember(first) {
		r.Enc = encIntset
	}
	return r
}

// setAdd adds m to the set r of key unless it is there, converting the
// encoding as Redis's setTypeAdd does; the caller Puts r.
func setAdd(c *Ctx, key []byte, r *store.Record, m []byte) (bool, error) {
	sub := memberSub(m)
	if _, ok := c.Tx.GetElem(store.SpaceElem, key, r.Gen, sub); ok {
		return false, nil
	}
	if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, sub, ""); err != nil {
		return false, err
	}
	r.Count++
	if r.Enc == encIntset && (!intsetMember(m) || r.Count > int64(c.Cfg.SetMaxIntsetEntries)) {
		r.Enc = encHashtable
	}
	return true, nil
}

// storedSetEnc is the encoding of a set Redis builds from scratch from
// members (the *STORE commands, SPOP's rebuild): an intset that turns
// into a hashtable at the first member it cannot hold.
func storedSetEnc(c *Ctx, members []string) byte {
	if len(members) > c.Cfg.SetMaxIntsetEntries {
		return encHashtable
	}
	for _, m := range members {
		if !intsetMember([]byte(m)) {
			return encHashtable
		}
	}
	return encIntset
}

func isMember(c *Ctx, key []byte, r *store.Record, m []byte) bool {
	_, ok := c.Tx.GetElem(store.SpaceElem, key, r.Gen, memberSub(m))
	return ok
}

// memberBatch bounds the members read from the store before they are
// used, so that a caller may read or write the store per member and stop
// early without the whole set in memory.
const memberBatch = 256

// eachMember calls fn for every member of the set generation gen of key,
// in hash order, until fn returns false. fn may use the store.
func eachMember(c *Ctx, key []byte, gen uint64, fn func(m string) (bool, error)) error {
	return ascendBatches(c, store.SpaceElem, key, gen, memberBatch, func(subs, _ []string) (bool, error) {
		for _, sub := range subs {
			if more, err := fn(subMember(sub)); err != nil || !more {
				return false, err
			}
		}
		return true, nil
	})
}

// allMembers reads the members of a whole set (or sorted set, for SORT) in
// hash order: only for replies that return most of it.
func allMembers(c *Ctx, key []byte, r *store.Record) ([]string, error) {
	out := make([]string, 0, r.Count)
	err := c.Tx.Ascend(store.SpaceElem, key, r.Gen, nil, nil, func(sub, _ string) bool {
		out = append(out, strings.Clone(subMember(sub)))
		return true
	})
	return out, err
}

// randomWindow is how many members after a random hash randomMember
// chooses among. Members are ordered by a hash that clusters similar
// strings (FNV-1a), so the member right after a random hash would be
// picked with the probability of the hash gap before it, which for
// members such as "m0".."m99" leaves some never picked; averaging over a
// window of gaps brings every member near the mean, as Redis's
// dictGetFairRandomKey does by sampling 15 entries.
const randomWindow = 32

// randomMember picks a member in O(log n): one of the randomWindow first
// members at or after a random hash, wrapping around, that skip does not
// hold. skip must leave at least one member.
func randomMember(c *Ctx, key []byte, gen uint64, skip map[string]struct{}) (string, error) {
	pivot := hashPivot(uint32(c.uint64() >> 32))
	win := make([]string, 0, randomWindow)
	err := ascendWrapped(c, key, gen, pivot, func(sub, _ string) bool {
		m := subMember(sub)
		if _, dup := skip[m]; !dup {
			win = append(win, strings.Clone(m))
		}
		return len(win) < randomWindow
	})
	if err != nil {
		return "", err
	}
	if len(win) == 0 {
		return "", errSetCount
	}
	return win[c.intN(len(win))], nil
}

// randomDistinct picks n distinct members of a set of more than n, one
// randomMember each.
func randomDistinct(c *Ctx, key []byte, gen uint64, n int) ([]string, error) {
	chosen := make(map[string]struct{}, n)
	out := make([]string, 0, n)
	for len(out) < n {
		m, err := randomMember(c, key, gen, chosen)
		if err != nil {
			return nil, err
		}
		chosen[m] = struct{}{}
		out = append(out, m)
	}
	return out, nil
}

func cmdSAdd(c *Ctx, args [][]byte) error {
	key := args[1]
	r, ok, err := getType(c, key, store.TypeSet)
	if err != nil {
		return err
	}
	if !ok {
		r = newSet(c, args[2])
	}
	added := int64(0)
	for _, m := range args[2:] {
		ins, err := setAdd(c, key, &r, m)
		if err != nil {
			return err
		}
		if ins {
			added++
		}
	}
	if added > 0 {
		if err := c.Tx.Put(key, &r); err != nil {
			return err
		}
	}
	c.R.Int(added)
	return nil
}

func cmdSRem(c *Ctx, args [][]byte) error {
	return delMembers(c, args[1], store.TypeSet, args[2:])
}

func cmdSCard(c *Ctx, args [][]byte) error {
	r, _, err := getType(c, args[1], store.TypeSet)
	if err != nil {
		return err
	}
	c.R.Int(r.Count)
	return nil
}

func cmdSIsMember(c *Ctx, args [][]byte) error {
	r, ok, err := getType(c, args[1], store.TypeSet)
	if err != nil {
		return err
	}
	if ok && isMember(c, args[1], &r, args[2]) {
		c.R.Int(1)
	} else {
		c.R.Int(0)
	}
	return nil
}

func cmdSMIsMember(c *Ctx, args [][]byte) error {
	r, ok, err := getType(c, args[1], store.TypeSet)
	if err != nil {
		return err
	}
	c.R.Array(len(args) - 2)
	for _, m := range args[2:] {
		if ok && isMember(c, args[1], &r, m) {
			c.R.Int(1)
		} else {
			c.R.Int(0)
		}
	}
	return nil
}

func cmdSMembers(c *Ctx, args [][]byte) error {
	r, _, err := getType(c, args[1], store.TypeSet)
	if err != nil {
		return err
	}
	c.R.Set(int(r.Count))
	if r.Count == 0 {
		return nil
	}
	return c.Tx.Ascend(store.SpaceElem, args[1], r.Gen, nil, nil, func(sub, _ string) bool {
		c.R.BulkString(subMember(sub))
		return true
	})
}

func cmdSRandMember(c *Ctx, args [][]byte) error {
	if len(args) > 3 {
		return ErrSyntax
	}
	key := args[1]
	if len(args) == 2 {
		r, ok, err := getType(c, key, store.TypeSet)
		if err != nil {
			return err
		}
		if !ok {
			c.R.Null()
			return nil
		}
		m, err := randomMember(c, key, r.Gen, nil)
		if err != nil {
			return err
		}
		c.R.BulkString(m)
		return nil
	}
	count, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	if count == math.MinInt64 { // no absolute value: Redis's range is symmetric
		return errLongRange
	}
	r, exists, err := getType(c, key, store.TypeSet)
	if err != nil {
		return err
	}
	if !exists || count == 0 {
		c.R.Array(0)
		return nil
	}
	if count < 0 {
		return srandmemberRepeat(c, key, &r, -count)
	}
	size := r.Count
	if count >= size {
		ms, err := allMembers(c, key, &r)
		if err != nil {
			return err
		}
		c.R.Strings(ms)
		return nil
	}
	ms, _, err := setSample(c, key, &r, count)
	if err != nil {
		return err
	}
	c.R.Strings(ms)
	return nil
}

// setSample picks count distinct members of the set r of key, 0 < count <
// r.Count, as SRANDMEMBER and SPOP do in Redis: a count above a third of
// the set reads it whole and shuffles, and rest is then the members not
// picked; a smaller count picks them one by one, and rest is nil.
func setSample(c *Ctx, key []byte, r *store.Record, count int64) (picked, rest []string, err error) {
	if count*srandmemberSubStrategyMul > r.Count {
		ms, err := allMembers(c, key, r)
		if err != nil {
			return nil, nil, err
		}
		shuffleFront(c, ms, int(count))
		return ms[:count], ms[count:], nil
	}
	picked, err = randomDistinct(c, key, r.Gen, int(count))
	return picked, nil, err
}

// srandmemberRepeat serves a negative count: n members, each drawn on
// its own, so repeats are allowed.
func srandmemberRepeat(c *Ctx, key []byte, r *store.Record, n int64) error {
	if n > maxRandReply {
		// A reply that could not be built: Redis would try, and grow its
		// output buffer until it dies.
		return errOutOfRange
	}
	if n*srandmemberSubStrategyMul > r.Count {
		ms, err := allMembers(c, key, r)
		if err != nil {
			return err
		}
		c.R.Array(int(n))
		for i := int64(0); i < n; i++ {
			c.R.BulkString(ms[c.intN(len(ms))])
		}
		return nil
	}
	ms := make([]string, n)
	for i := range ms {
		m, err := randomMember(c, key, r.Gen, nil)
		if err != nil {
			return err
		}
		ms[i] = m
	}
	c.R.Strings(ms)
	return nil
}

func cmdSPop(c *Ctx, args [][]byte) error {
	if len(args) > 3 {
		return ErrSyntax
	}
	key := args[1]
	if len(args) == 2 {
		r, ok, err := getType(c, key, store.TypeSet)
		if err != nil {
			return err
		}
		if !ok {
			c.R.Null()
			return nil
		}
		m, err := randomMember(c, key, r.Gen, nil)
		if err != nil {
			return err
		}
		c.Tx.DelElem(store.SpaceElem, key, r.Gen, memberSub([]byte(m)))
		r.Count--
		if err := c.Tx.Put(key, &r); err != nil {
			return err
		}
		c.R.BulkString(m)
		return nil
	}
	count, ok := parseInt(args[2])
	if !ok || count < 0 {
		return errNotPositive
	}
	r, exists, err := getType(c, key, store.TypeSet)
	if err != nil {
		return err
	}
	if !exists || count == 0 {
		c.R.Set(0)
		return nil
	}
	size := r.Count
	if count >= size {
		ms, err := allMembers(c, key, &r)
		if err != nil {
			return err
		}
		c.Tx.Delete(key)
		c.R.Set(len(ms))
		for _, m := range ms {
			c.R.BulkString(m)
		}
		return nil
	}
	popped, remaining, err := setSample(c, key, &r, count)
	if err != nil {
		return err
	}
	if remaining != nil && int64(len(remaining))*spopMoveStrategyMul <= count {
		// Redis builds a new set from the few survivors, so its
		// encoding is chosen afresh: it may go back to intset.
		r.Enc = storedSetEnc(c, remaining)
	}
	for _, m := range popped {
		c.Tx.DelElem(store.SpaceElem, key, r.Gen, memberSub([]byte(m)))
	}
	r.Count -= count
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.Set(len(popped))
	for _, m := range popped {
		c.R.BulkString(m)
	}
	return nil
}

func cmdSMove(c *Ctx, args [][]byte) error {
	src, dst, m := args[1], args[2], args[3]
	sr, sok := c.Tx.Get(src)
	dr, dok := c.Tx.Get(dst)
	if !sok {
		c.R.Int(0)
		return nil
	}
	if sr.Type != store.TypeSet || (dok && dr.Type != store.TypeSet) {
		return ErrWrongType
	}
	if string(src) == string(dst) {
		if isMember(c, src, &sr, m) {
			c.R.Int(1)
		} else {
			c.R.Int(0)
		}
		return nil
	}
	if !c.Tx.DelElem(store.SpaceElem, src, sr.Gen, memberSub(m)) {
		c.R.Int(0)
		return nil
	}
	sr.Count--
	if err := c.Tx.Put(src, &sr); err != nil {
		return err
	}
	if !dok {
		dr = newSet(c, m)
	}
	added, err := setAdd(c, dst, &dr, m)
	if err != nil {
		return err
	}
	if added {
		if err := c.Tx.Put(dst, &dr); err != nil {
			return err
		}
	}
	c.R.Int(1)
	return nil
}

// setOperand is one key of SINTER, SUNION or SDIFF; a missing key is an
// empty set (exists false).
type setOperand struct {
	key    []byte
	r      store.Record
	exists bool
}

// loadSets looks every key up, as Redis does before computing anything:
// a key of another type anywhere is WRONGTYPE, even after a missing one.
func loadSets(c *Ctx, keys [][]byte) ([]setOperand, error) {
	ops := make([]setOperand, len(keys))
	for i, k := range keys {
		r, ok, err := getType(c, k, store.TypeSet)
		if err != nil {
			return nil, err
		}
		ops[i] = setOperand{key: k, r: r, exists: ok}
	}
	return ops, nil
}

// setInter returns the intersection of sets, at most limit members (0:
// all). As in Redis it walks the smallest set and looks each member up
// in the others, so it costs the smallest set times the number of sets.
func setInter(c *Ctx, sets []setOperand, limit int64) ([]string, error) {
	for _, s := range sets {
		if !s.exists {
			return nil, nil
		}
	}
	sets = slices.Clone(sets)
	slices.SortStableFunc(sets, func(a, b setOperand) int {
		switch {
		case a.r.Count < b.r.Count:
			return -1
		case a.r.Count > b.r.Count:
			return 1
		}
		return 0
	})
	var out []string
	err := eachMember(c, sets[0].key, sets[0].r.Gen, func(m string) (bool, error) {
		for i := 1; i < len(sets); i++ {
			if !isMember(c, sets[i].key, &sets[i].r, []byte(m)) {
				return true, nil
			}
		}
		out = append(out, m)
		return limit == 0 || int64(len(out)) < limit, nil
	})
	return out, err
}

// setUnion returns the members of any of sets, each once.
func setUnion(c *Ctx, sets []setOperand) ([]string, error) {
	seen := make(map[string]struct{})
	var out []string
	for _, s := range sets {
		if !s.exists {
			continue
		}
		err := eachMember(c, s.key, s.r.Gen, func(m string) (bool, error) {
			if _, dup := seen[m]; !dup {
				seen[m] = struct{}{}
				out = append(out, m)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setDiff returns the members of the first set in none of the others,
// looking each up in the others (Redis's first SDIFF algorithm).
func setDiff(c *Ctx, sets []setOperand) ([]string, error) {
	first := sets[0]
	if !first.exists {
		return nil, nil
	}
	others := make([]setOperand, 0, len(sets)-1)
	for _, s := range sets[1:] {
		if !s.exists {
			continue
		}
		if string(s.key) == string(first.key) {
			return nil, nil
		}
		others = append(others, s)
	}
	var out []string
	err := eachMember(c, first.key, first.r.Gen, func(m string) (bool, error) {
		for i := range others {
			if isMember(c, others[i].key, &others[i].r, []byte(m)) {
				return true, nil
			}
		}
		out = append(out, m)
		return true, nil
	})
	return out, err
}

// setOp is the computation of SINTER, SUNION or SDIFF.
type setOp func(c *Ctx, sets []setOperand) ([]string, error)

func interAll(c *Ctx, sets []setOperand) ([]string, error) { return setInter(c, sets, 0) }

func cmdSInter(c *Ctx, args [][]byte) error { return setOpReply(c, args[1:], interAll) }
func cmdSUnion(c *Ctx, args [][]byte) error { return setOpReply(c, args[1:], setUnion) }
func cmdSDiff(c *Ctx, args [][]byte) error  { return setOpReply(c, args[1:], setDiff) }

func cmdSInterStore(c *Ctx, args [][]byte) error { return setOpStore(c, args[1], args[2:], interAll) }
func cmdSUnionStore(c *Ctx, args [][]byte) error { return setOpStore(c, args[1], args[2:], setUnion) }
func cmdSDiffStore(c *Ctx, args [][]byte) error  { return setOpStore(c, args[1], args[2:], setDiff) }

func setOpReply(c *Ctx, keys [][]byte, op setOp) error {
	sets, err := loadSets(c, keys)
	if err != nil {
		return err
	}
	ms, err := op(c, sets)
	if err != nil {
		return err
	}
	c.R.Set(len(ms))
	for _, m := range ms {
		c.R.BulkString(m)
	}
	return nil
}

// setOpStore replaces dst, whatever it held (possibly one of the
// operands), by the result as a new set without expiry; an empty result
// deletes dst.
func setOpStore(c *Ctx, dst []byte, keys [][]byte, op setOp) error {
	sets, err := loadSets(c, keys)
	if err != nil {
		return err
	}
	ms, err := op(c, sets)
	if err != nil {
		return err
	}
	if err := storeSet(c, dst, ms); err != nil {
		return err
	}
	c.R.Int(int64(len(ms)))
	return nil
}

// storeSet replaces key by a new set of members (distinct), or deletes it
// when there are none.
func storeSet(c *Ctx, key []byte, members []string) error {
	c.Tx.Delete(key)
	if len(members) == 0 {
		return nil
	}
	r := store.Record{Type: store.TypeSet, Enc: storedSetEnc(c, members), Gen: c.Tx.NextVersion(), Count: int64(len(members))}
	for _, m := range members {
		if _, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, memberSub([]byte(m)), ""); err != nil {
			return err
		}
	}
	return c.Tx.Put(key, &r)
}

func cmdSInterCard(c *Ctx, args [][]byte) error {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		return errNumKeys
	}
	if numkeys > int64(len(args)-2) {
		return errNumKeysArgs
	}
	keys := args[2 : 2+numkeys]
	limit := int64(0)
	for j := 2 + int(numkeys); j < len(args); j++ {
		if !eqFold(args[j], "limit") || j+1 >= len(args) {
			return ErrSyntax
		}
		j++
		n, ok := parseInt(args[j])
		if !ok || n < 0 {
			return errLimitNegative
		}
		limit = n
	}
	sets, err := loadSets(c, keys)
	if err != nil {
		return err
	}
	ms, err := setInter(c, sets, limit)
	if err != nil {
		return err
	}
	c.R.Int(int64(len(ms)))
	return nil
}

func cmdSScan(c *Ctx, args [][]byte) error {
	a, r, ok, err := scanOpen(c, args, store.TypeSet)
	if !ok {
		return err
	}
	var ms []string
	next, err := scanMembers(c, args[1], &r, a, func(m, _ string) {
		ms = append(ms, strings.Clone(m))
	})
	if err != nil {
		return err
	}
	scanReply(c, next, ms)
	return nil
}
