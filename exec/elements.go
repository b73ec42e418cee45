package exec

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/shardis/shardis/store"
)

// Encodings, stored in a collection record's Enc byte, named as OBJECT
// ENCODING names them. A collection's encoding moves up when it crosses a
// Config threshold and, as in Redis, never back down.
const (
	encNone      byte = 0
	encListpack  byte = 'p'
	encHashtable byte = 'h'
	encIntset    byte = 'i'
	encSkiplist  byte = 's'
	encQuicklist byte = 'q'
)

// encodingName is the OBJECT ENCODING name of a collection encoding.
func encodingName(enc byte) string {
	switch enc {
	case encListpack:
		return "listpack"
	case encHashtable:
		return "hashtable"
	case encIntset:
		return "intset"
	case encSkiplist:
		return "skiplist"
	case encQuicklist:
		return "quicklist"
	}
	return "unknown"
}

// Hash, set and sorted-set members are stored in SpaceElem under
// memberHash(member) | member, so that the elements of a collection are
// ordered by a hash: HSCAN, SSCAN and ZSCAN use it as their cursor, which
// stays valid whatever is added or removed between calls (an element
// present for the whole scan is returned, as Redis guarantees).

// memberHash is FNV-1a 32 of a member, the same function as store.KeyHash.
func memberHash(member []byte) uint32 { return store.KeyHash(member) }

// memberSub is the element sub-key of a member.
func memberSub(member []byte) []byte {
	b := make([]byte, 4+len(member))
	binary.BigEndian.PutUint32(b, memberHash(member))
	copy(b[4:], member)
	return b
}

// subMember is the member of an element sub-key made by memberSub.
func subMember(sub string) string {
	if len(sub) < 4 {
		return ""
	}
	return sub[4:]
}

// subHash is the hash prefix of an element sub-key made by memberSub.
func subHash(sub string) uint32 {
	if len(sub) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32([]byte(sub[:4]))
}

// hashPivot is the smallest sub-key with hash h.
func hashPivot(h uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, h)
}

// ascendBatches walks the elements of generation gen of key in space in
// order, copying at most batch of them at a time out of the store and
// handing each batch to fn outside the store's iteration, so that fn may
// read and write the store (which an iteration may not) and a whole
// collection need not be in memory. It stops when fn returns false.
func ascendBatches(c *Ctx, space byte, key []byte, gen uint64, batch int, fn func(subs, vals []string) (bool, error)) error {
	var from []byte
	for {
		subs := make([]string, 0, batch)
		vals := make([]string, 0, batch)
		err := c.Tx.Ascend(space, key, gen, from, nil, func(sub, val string) bool {
			subs = append(subs, strings.Clone(sub))
			vals = append(vals, strings.Clone(val))
			return len(subs) < batch
		})
		if err != nil {
			return err
		}
		if more, err := fn(subs, vals); err != nil || !more {
			return err
		}
		if len(subs) < batch {
			return nil
		}
		from = append([]byte(subs[len(subs)-1]), 0)
	}
}

// delMembers serves HDEL and SREM: it removes members from key's hash or
// set (typ) and replies how many were there, saving the record only when
// something went (an emptied one is deleted by the store).
func delMembers(c *Ctx, key []byte, typ byte, members [][]byte) error {
	r, ok, err := getType(c, key, typ)
	if err != nil {
		return err
	}
	var removed int64
	if ok {
		for _, m := range members {
			if c.Tx.DelElem(store.SpaceElem, key, r.Gen, memberSub(m)) {
				removed++
			}
		}
	}
	if removed > 0 {
		r.Count -= removed
		if err := c.Tx.Put(key, &r); err != nil {
			return err
		}
	}
	c.R.Int(removed)
	return nil
}

// ascendWrapped walks the elements of generation gen of key in SpaceElem
// from pivot to the last and then from the first up to pivot, until fn
// returns false: a walk from a random point of the hash order that still
// meets every element once. The random picks of sets, hashes and sorted
// sets all start this way.
func ascendWrapped(c *Ctx, key []byte, gen uint64, pivot []byte, fn func(sub, val string) bool) error {
	stopped := false
	walk := func(sub, val string) bool {
		stopped = !fn(sub, val)
		return !stopped
	}
	if err := c.Tx.Ascend(store.SpaceElem, key, gen, pivot, nil, walk); err != nil || stopped {
		return err
	}
	return c.Tx.Ascend(store.SpaceElem, key, gen, nil, pivot, walk)
}

// pickElem returns a random element of a hash or sorted set in O(log n),
// copied out of the store: the first at or after a random hash value,
// wrapping around (found is false only when there is none). Elements after
// a wide gap of hash values come up more often, much as a Redis dict's
// random bucket walk favours some entries; HRANDFIELD and ZRANDMEMBER
// never use it where Redis itself picks uniformly from a listpack.
func pickElem(c *Ctx, key []byte, gen uint64) (sub, val string, found bool, err error) {
	err = ascendWrapped(c, key, gen, hashPivot(uint32(c.uint64())), func(s, v string) bool {
		sub, val, found = strings.Clone(s), strings.Clone(v), true
		return false
	})
	return sub, val, found, err
}

// shuffleFront moves n elements of s chosen uniformly at random to its
// front (a partial Fisher-Yates shuffle), for the random samples of most
// of a loaded collection that SRANDMEMBER, SPOP, HRANDFIELD and
// ZRANDMEMBER take as Redis does.
func shuffleFront[T any](c *Ctx, s []T, n int) {
	for i := 0; i < n; i++ {
		j := i + c.intN(len(s)-i)
		s[i], s[j] = s[j], s[i]
	}
}

// parseRandCount parses the "count [option]" of HRANDFIELD (option
// WITHVALUES) and ZRANDMEMBER (WITHSCORES) from args[2], which Redis
// checks alike and in this order; with is the option's name.
func parseRandCount(args [][]byte, with string) (count int64, withOpt bool, err error) {
	count, ok := parseInt(args[2])
	if !ok {
		return 0, false, ErrNotInt
	}
	if count == math.MinInt64 { // no absolute value: Redis's range is symmetric
		return 0, false, errLongRange
	}
	if len(args) > 4 || (len(args) == 4 && !eqFold(args[3], with)) {
		return 0, false, ErrSyntax
	}
	if len(args) == 4 {
		// Redis refuses counts whose reply (two bulks each) would
		// overflow its length arithmetic.
		if count < -math.MaxInt64/2 || count > math.MaxInt64/2 {
			return 0, false, errOutOfRange
		}
		withOpt = true
	}
	return count, withOpt, nil
}

// scanArgs are the options of SCAN, HSCAN, SSCAN and ZSCAN.
type scanArgs struct {
	cursor uint64
	match  []byte // nil: every element
	count  int
	typ    []byte // SCAN's TYPE; nil: any
}

const errInvalidCursor = Error("ERR invalid cursor")

// parseScanArgs parses "cursor [MATCH pattern] [COUNT count] [TYPE type]"
// starting at args[i] (the cursor); withType allows TYPE (SCAN only).
func parseScanArgs(args [][]byte, i int, withType bool) (scanArgs, error) {
	a := scanArgs{count: 10}
	// Redis reads the cursor with strtoul, which takes a sign: -1 is a
	// valid (huge) cursor.
	cur, err := strconv.ParseUint(string(args[i]), 10, 64)
	if err != nil {
		n, ierr := strconv.ParseInt(string(args[i]), 10, 64)
		if ierr != nil {
			return a, errInvalidCursor
		}
		cur = uint64(n)
	}
	a.cursor = cur
	for i++; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return a, ErrSyntax
		}
		switch {
		case eqFold(args[i], "match"):
			a.match = args[i+1]
			if len(a.match) == 1 && a.match[0] == '*' {
				a.match = nil
			}
		case eqFold(args[i], "count"):
			n, ok := parseInt(args[i+1])
			if !ok {
				return a, ErrNotInt
			}
			if n < 1 {
				return a, ErrSyntax
			}
			a.count = int(min(n, 1<<20))
		case withType && eqFold(args[i], "type"):
			a.typ = args[i+1]
		default:
			return a, ErrSyntax
		}
	}
	return a, nil
}

// scanOpen begins HSCAN, SSCAN or ZSCAN of args[1], a collection of type
// typ, checking as Redis does the cursor, then the key, and only then the
// options. ok is false when the scan is over before it starts: an error,
// or a missing key, whose empty scan it has replied.
func scanOpen(c *Ctx, args [][]byte, typ byte) (a scanArgs, r store.Record, ok bool, err error) {
	a, optErr := parseScanArgs(args, 2, false)
	if optErr == errInvalidCursor {
		return a, r, false, optErr
	}
	if r, ok, err = getType(c, args[1], typ); err != nil {
		return a, r, false, err
	}
	if !ok {
		scanReply(c, 0, nil)
		return a, r, false, nil
	}
	return a, r, optErr == nil, optErr
}

// scanReply writes a scan's reply: the next cursor and the elements.
func scanReply(c *Ctx, next uint64, items []string) {
	c.R.Array(2)
	c.R.BulkString(strconv.FormatUint(next, 10))
	c.R.Strings(items)
}

// scanMembers serves HSCAN, SSCAN and ZSCAN over a hash-ordered
// collection: it calls emit for up to about a.count elements from the
// cursor on that match a.match and returns the next cursor (0 when done).
// A collection in a small encoding is returned whole, as Redis does.
func scanMembers(c *Ctx, key []byte, r *store.Record, a scanArgs, emit func(member, val string)) (uint64, error) {
	small := r.Enc == encListpack || r.Enc == encIntset
	if a.cursor > 0xffffffff {
		return 0, nil
	}
	from := hashPivot(uint32(a.cursor))
	if small {
		from = nil
	}
	next := uint64(0)
	seen := 0
	var lastHash uint32
	err := c.Tx.Ascend(store.SpaceElem, key, r.Gen, from, nil, func(sub, val string) bool {
		h := subHash(sub)
		if !small && seen >= a.count && h != lastHash {
			next = uint64(h)
			return false
		}
		seen++
		lastHash = h
		m := subMember(sub)
		if a.match == nil || globMatch(a.match, []byte(m)) {
			emit(m, val)
		}
		return true
	})
	if next == 0 && err == nil {
		// Hash 0 is also the first cursor; the scan is over.
		return 0, nil
	}
	return next, err
}

// Sorted sets keep each member twice: in SpaceElem under memberSub(member)
// with its score (scoreBytes) as the value, for ZSCORE and ZADD; and in
// SpaceScore under scoreBytes(score) | member with an empty value, ordered
// as Redis orders a sorted set (by score, then member bytes).

// scoreBytes encodes f so that byte order is numeric order: IEEE 754 with
// the sign bit flipped for positives and every bit inverted for negatives.
// -0 is stored as 0, as Redis treats them as equal.
func scoreBytes(f float64) []byte {
	if f == 0 {
		f = 0
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), u)
}

// scoreFrom decodes the first 8 bytes of b as made by scoreBytes.
func scoreFrom(b string) float64 {
	if len(b) < 8 {
		return 0
	}
	u := binary.BigEndian.Uint64([]byte(b[:8]))
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u)
}

// Lists keep element i (0 = head) in SpaceElem under listSub(Head+i): the
// record's Head and Tail are positions counted out from the middle, so
// pushes at either end are one put each.

// listStart is Head and Tail of a new list.
const listStart int64 = 0

// listSub is the sub-key of list position pos, ordered as pos is.
func listSub(pos int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(pos)^(1<<63))
}

// subPos is the position of a sub-key made by listSub.
func subPos(sub string) int64 {
	if len(sub) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64([]byte(sub[:8])) ^ (1 << 63))
}
