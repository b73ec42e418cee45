package exec

import (
	"math"
	"strings"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

func init() {
	register(map[string]Func{
		"hset":         cmdHSet,
		"hmset":        cmdHMSet,
		"hsetnx":       cmdHSetNX,
		"hget":         cmdHGet,
		"hmget":        cmdHMGet,
		"hdel":         cmdHDel,
		"hlen":         cmdHLen,
		"hstrlen":      cmdHStrLen,
		"hexists":      cmdHExists,
		"hkeys":        cmdHKeys,
		"hvals":        cmdHVals,
		"hgetall":      cmdHGetAll,
		"hincrby":      cmdHIncrBy,
		"hincrbyfloat": cmdHIncrByFloat,
		"hrandfield":   cmdHRandField,
		"hscan":        cmdHScan,
	})
}

// Error replies of the hash commands, worded as Redis 7.0 words them.
const (
	errHashNotInt      = Error("ERR hash value is not an integer")
	errHashNotFloat    = Error("ERR hash value is not a float")
	errIncrOverflow    = Error("ERR increment or decrement would overflow")
	errIncrNaNInf      = Error("ERR value is NaN or Infinity")
	errIncrProducesInf = Error("ERR increment would produce NaN or Infinity")
)

// hashCfg returns the thresholds in force; a Ctx built without a Config
// (tools) behaves as a default Redis.
func hashCfg(c *Ctx) Config {
	if c.Cfg == nil {
		return DefaultConfig
	}
	return c.Cfg.WithDefaults()
}

// hashForWrite returns key's hash record, or a new empty listpack hash
// when the key is missing. The new hash takes its generation at once
// because its fields are written before its record.
func hashForWrite(c *Ctx, key []byte) (store.Record, error) {
	r, ok, err := getType(c, key, store.TypeHash)
	if err != nil {
		return r, err
	}
	if !ok {
		r = store.Record{Type: store.TypeHash, Enc: encListpack, Gen: c.Tx.NextVersion()}
	}
	return r, nil
}

// hashConvert moves a listpack hash to hashtable when Redis would: more
// fields than hash-max-listpack-entries, or any field or value written
// (strs) longer than hash-max-listpack-value. Redis checks the lengths of
// every argument of HSET, even of fields that already existed.
func hashConvert(c *Ctx, r *store.Record, strs ...[]byte) {
	if r.Enc != encListpack {
		return
	}
	cfg := hashCfg(c)
	if r.Count > int64(cfg.HashMaxListpackEntries) {
		r.Enc = encHashtable
		return
	}
	for _, s := range strs {
		if len(s) > cfg.HashMaxListpackValue {
			r.Enc = encHashtable
			return
		}
	}
}

// hashSet stores one field and reports whether it is new, counting it.
func hashSet(c *Ctx, key []byte, r *store.Record, field []byte, val string) (bool, error) {
	replaced, err := c.Tx.PutElem(store.SpaceElem, key, r.Gen, memberSub(field), val)
	if err != nil {
		return false, err
	}
	if !replaced {
		r.Count++
	}
	return !replaced, nil
}

// hashGet reads one field of a hash record.
func hashGet(c *Ctx, key []byte, r *store.Record, field []byte) (string, bool) {
	return c.Tx.GetElem(store.SpaceElem, key, r.Gen, memberSub(field))
}

// hsetGeneric serves HSET and HMSET, returning how many fields are new.
func hsetGeneric(c *Ctx, args [][]byte) (int64, error) {
	if len(args)%2 != 0 {
		return 0, Error(resp.WrongArgs(string(args[0])))
	}
	key := args[1]
	r, err := hashForWrite(c, key)
	if err != nil {
		return 0, err
	}
	var created int64
	for i := 2; i < len(args); i += 2 {
		isNew, err := hashSet(c, key, &r, args[i], string(args[i+1]))
		if err != nil {
			return 0, err
		}
		if isNew {
			created++
		}
	}
	hashConvert(c, &r, args[2:]...)
	return created, c.Tx.Put(key, &r)
}

func cmdHSet(c *Ctx, args [][]byte) error {
	n, err := hsetGeneric(c, args)
	if err != nil {
		return err
	}
	c.R.Int(n)
	return nil
}

func cmdHMSet(c *Ctx, args [][]byte) error {
	if _, err := hsetGeneric(c, args); err != nil {
		return err
	}
	c.R.OK()
	return nil
}

func cmdHSetNX(c *Ctx, args [][]byte) error {
	key, field := args[1], args[2]
	r, ok, err := getType(c, key, store.TypeHash)
	if err != nil {
		return err
	}
	if ok {
		if _, exists := hashGet(c, key, &r, field); exists {
			c.R.Int(0)
			return nil
		}
	} else {
		r = store.Record{Type: store.TypeHash, Enc: encListpack, Gen: c.Tx.NextVersion()}
	}
	if _, err := hashSet(c, key, &r, field, string(args[3])); err != nil {
		return err
	}
	hashConvert(c, &r, field, args[3])
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.Int(1)
	return nil
}

func cmdHGet(c *Ctx, args [][]byte) error {
	r, ok, err := getType(c, args[1], store.TypeHash)
	if err != nil {
		return err
	}
	if !ok {
		c.R.Null()
		return nil
	}
	if v, found := hashGet(c, args[1], &r, args[2]); found {
		c.R.BulkString(v)
	} else {
		c.R.Null()
	}
	return nil
}

func cmdHMGet(c *Ctx, args [][]byte) error {
	r, ok, err := getType(c, args[1], store.TypeHash)
	if err != nil {
		return err
	}
	fields := args[2:]
	c.R.Array(len(fields))
	for _, f := range fields {
		if !ok {
			c.R.Null()
			continue
		}
		if v, found := hashGet(c, args[1], &r, f); found {
			c.R.BulkString(v)
		} else {
			c.R.Null()
		}
	}
	return nil
}

func cmdHDel(c *Ctx, args [][]byte) error {
	return delMembers(c, args[1], store.TypeHash, args[2:])
}

func cmdHLen(c *Ctx, args [][]byte) error {
	r, _, err := getType(c, args[1], store.TypeHash)
	if err != nil {
		return err
	}
	c.R.Int(r.Count) // zero for a missing key
	return nil
}

func cmdHStrLen(c *Ctx, args [][]byte) error {
	r, ok, err := getType(c, args[1], store.TypeHash)
	if err != nil {
		return err
	}
	var n int
	if ok {
		v, _ := hashGet(c, args[1], &r, args[2])
		n = len(v)
	}
	c.R.Int(int64(n))
	return nil
}

func cmdHExists(c *Ctx, args [][]byte) error {
	r, ok, err := getType(c, args[1], store.TypeHash)
	if err != nil {
		return err
	}
	if ok {
		_, ok = hashGet(c, args[1], &r, args[2])
	}
	if ok {
		c.R.Int(1)
	} else {
		c.R.Int(0)
	}
	return nil
}

// hashWalk writes a whole hash: fields, values or both. Count is exact,
// so the header is written first and the elements streamed.
func hashWalk(c *Ctx, args [][]byte, fields, vals bool) error {
	key := args[1]
	r, ok, err := getType(c, key, store.TypeHash)
	if err != nil {
		return err
	}
	if !ok {
		r.Count = 0
	}
	if fields && vals {
		c.R.Map(int(r.Count))
	} else {
		c.R.Array(int(r.Count))
	}
	if !ok {
		return nil
	}
	return c.Tx.Ascend(store.SpaceElem, key, r.Gen, nil, nil, func(sub, val string) bool {
		if fields {
			c.R.BulkString(subMember(sub))
		}
		if vals {
			c.R.BulkString(val)
		}
		return true
	})
}

func cmdHKeys(c *Ctx, args [][]byte) error   { return hashWalk(c, args, true, false) }
func cmdHVals(c *Ctx, args [][]byte) error   { return hashWalk(c, args, false, true) }
func cmdHGetAll(c *Ctx, args [][]byte) error { return hashWalk(c, args, true, true) }

func cmdHIncrBy(c *Ctx, args [][]byte) error {
	key, field := args[1], args[2]
	incr, ok := parseInt(args[3])
	if !ok {
		return ErrNotInt
	}
	r, err := hashForWrite(c, key)
	if err != nil {
		return err
	}
	var cur int64
	if v, found := hashGet(c, key, &r, field); found {
		if cur, ok = parseInt([]byte(v)); !ok {
			return errHashNotInt
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) ||
		(incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		return errIncrOverflow
	}
	cur += incr
	val := formatInt(cur)
	if _, err := hashSet(c, key, &r, field, val); err != nil {
		return err
	}
	hashConvert(c, &r, field, []byte(val))
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.Int(cur)
	return nil
}

// cmdHIncrByFloat adds in long double and stores the sum as Redis's
// ld2string human format, so that repeated increments round exactly as
// they do in Redis.
func cmdHIncrByFloat(c *Ctx, args [][]byte) error {
	key, field := args[1], args[2]
	incr, ok := parseLongDouble(args[3])
	if !ok {
		return ErrNotFloat
	}
	if incr.inf != 0 {
		return errIncrNaNInf
	}
	r, err := hashForWrite(c, key)
	if err != nil {
		return err
	}
	cur := ldValue{f: newLongDouble()}
	if v, found := hashGet(c, key, &r, field); found {
		if cur, ok = parseLongDouble([]byte(v)); !ok {
			return errHashNotFloat
		}
	}
	sum, ok := addLongDouble(cur, incr)
	if !ok {
		return errIncrProducesInf
	}
	val := formatLongDouble(sum)
	if _, err := hashSet(c, key, &r, field, val); err != nil {
		return err
	}
	hashConvert(c, &r, field, []byte(val))
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	c.R.BulkString(val)
	return nil
}

// hashPair is one field of a hash, copied out of the store.
type hashPair struct{ field, val string }

// hashLoad copies every field of a hash, for the HRANDFIELD cases where
// Redis too walks the whole hash (a listpack, or a sample of most of it).
func hashLoad(c *Ctx, key []byte, r *store.Record) ([]hashPair, error) {
	out := make([]hashPair, 0, r.Count)
	err := c.Tx.Ascend(store.SpaceElem, key, r.Gen, nil, nil, func(sub, val string) bool {
		out = append(out, hashPair{strings.Clone(subMember(sub)), strings.Clone(val)})
		return true
	})
	return out, err
}

// hashPick returns a random field of a non-empty hash: uniformly from all
// when given (a loaded listpack, as Redis samples it), else pickElem's.
func hashPick(c *Ctx, key []byte, r *store.Record, all []hashPair) (hashPair, error) {
	if all != nil {
		return all[c.intN(len(all))], nil
	}
	sub, val, _, err := pickElem(c, key, r.Gen)
	return hashPair{subMember(sub), val}, err
}

// hashLoadSmall loads a listpack hash, which HRANDFIELD samples uniformly
// as Redis does; a bigger hash is left in the store (nil).
func hashLoadSmall(c *Ctx, key []byte, r *store.Record) ([]hashPair, error) {
	if r.Enc != encListpack {
		return nil, nil
	}
	return hashLoad(c, key, r)
}

// hashPairReply writes one HRANDFIELD element: a field, or with values
// the RESP3 [field, value] pair (the proxy flattens it for RESP2).
func hashPairReply(c *Ctx, p hashPair, withValues bool) {
	if withValues {
		c.R.Array(2)
		c.R.BulkString(p.field)
		c.R.BulkString(p.val)
		return
	}
	c.R.BulkString(p.field)
}

func cmdHRandField(c *Ctx, args [][]byte) error {
	key := args[1]
	if len(args) == 2 {
		r, ok, err := getType(c, key, store.TypeHash)
		if err != nil {
			return err
		}
		if !ok {
			c.R.Null()
			return nil
		}
		all, err := hashLoadSmall(c, key, &r)
		if err != nil {
			return err
		}
		p, err := hashPick(c, key, &r, all)
		if err != nil {
			return err
		}
		c.R.BulkString(p.field)
		return nil
	}
	l, withValues, err := parseRandCount(args, "withvalues")
	if err != nil {
		return err
	}
	r, ok, err := getType(c, key, store.TypeHash)
	if err != nil {
		return err
	}
	if !ok || l == 0 {
		c.R.Array(0)
		return nil
	}
	if l < 0 {
		return hrandRepeat(c, key, &r, uint64(-l), withValues)
	}
	return hrandDistinct(c, key, &r, uint64(l), withValues)
}

// hrandRepeat serves a negative count: count independent picks, which may
// repeat. A listpack is loaded once and indexed, as Redis samples it.
func hrandRepeat(c *Ctx, key []byte, r *store.Record, count uint64, withValues bool) error {
	all, err := hashLoadSmall(c, key, r)
	if err != nil {
		return err
	}
	c.R.Array(int(count))
	for i := uint64(0); i < count; i++ {
		p, err := hashPick(c, key, r, all)
		if err != nil {
			return err
		}
		hashPairReply(c, p, withValues)
	}
	return nil
}

// hrandDistinct serves a positive count: distinct fields. As in Redis, a
// count covering the hash returns it whole, a count above a third of it
// (or any count on a listpack) samples the whole hash, and a smaller count
// picks at random until it has enough distinct fields.
func hrandDistinct(c *Ctx, key []byte, r *store.Record, count uint64, withValues bool) error {
	size := uint64(r.Count)
	if count >= size {
		c.R.Array(int(size))
		return c.Tx.Ascend(store.SpaceElem, key, r.Gen, nil, nil, func(sub, val string) bool {
			hashPairReply(c, hashPair{subMember(sub), val}, withValues)
			return true
		})
	}
	c.R.Array(int(count))
	if r.Enc == encListpack || count*3 > size {
		all, err := hashLoad(c, key, r)
		if err != nil {
			return err
		}
		shuffleFront(c, all, int(count))
		for _, p := range all[:count] {
			hashPairReply(c, p, withValues)
		}
		return nil
	}
	seen := make(map[string]bool, count)
	for uint64(len(seen)) < count {
		p, err := hashPick(c, key, r, nil)
		if err != nil {
			return err
		}
		if seen[p.field] {
			continue
		}
		seen[p.field] = true
		hashPairReply(c, p, withValues)
	}
	return nil
}

func cmdHScan(c *Ctx, args [][]byte) error {
	a, r, ok, err := scanOpen(c, args, store.TypeHash)
	if !ok {
		return err
	}
	var items []string
	next, err := scanMembers(c, args[1], &r, a, func(field, val string) {
		items = append(items, strings.Clone(field), strings.Clone(val))
	})
	if err != nil {
		return err
	}
	scanReply(c, next, items)
	return nil
}
