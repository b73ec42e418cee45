package exec

import (
	"math"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// Errors Redis words itself that only these commands produce.
const (
	errExpireNXMix      = Error("ERR NX and XX, GT or LT options at the same time are not compatible")
	errExpireGTLT       = Error("ERR GT and LT options at the same time are not compatible")
	errSameObject       = Error("ERR source and destination objects are the same")
	errCopyOtherDB      = Error("ERR Copying to another database is not allowed in cluster mode")
	redisDatabases      = 16 // Redis's default "databases": COPY's DB range check uses it
	errUnsupportedOptOf = "ERR Unsupported option "
	errIntRange         = Error("ERR value is out of range, value must between -2147483648 and 2147483647")
	errNoLFU            = Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
)

func init() {
	register(map[string]Func{
		"del":         cmdDel,
		"unlink":      cmdDel,
		"exists":      cmdExists,
		"touch":       cmdExists,
		"type":        cmdType,
		"expire":      cmdExpire,
		"pexpire":     cmdPExpire,
		"expireat":    cmdExpireAt,
		"pexpireat":   cmdPExpireAt,
		"ttl":         cmdTTL,
		"pttl":        cmdPTTL,
		"expiretime":  cmdExpireTime,
		"pexpiretime": cmdPExpireTime,
		"persist":     cmdPersist,
		"rename":      cmdRename,
		"renamenx":    cmdRenameNX,
		"copy":        cmdCopy,
		"object":      cmdObject,
	})
}

// cmdDel serves DEL and UNLINK. Both return at once whatever the size of
// a collection: its elements become invisible and are swept in the
// background (so DEL is as cheap as Redis's UNLINK).
func cmdDel(c *Ctx, args [][]byte) error {
	n := int64(0)
	for _, k := range args[1:] {
		if c.Tx.Delete(k) {
			n++
		}
	}
	c.R.Int(n)
	return nil
}

// cmdExists serves EXISTS and TOUCH: both count the keys that exist, a key
// named twice counting twice.
func cmdExists(c *Ctx, args [][]byte) error {
	n := int64(0)
	for _, k := range args[1:] {
		if _, ok := c.Tx.Get(k); ok {
			n++
		}
	}
	c.R.Int(n)
	return nil
}

func cmdType(c *Ctx, args [][]byte) error {
	name := "none"
	if r, ok := c.Tx.Get(args[1]); ok {
		name = store.TypeName(r.Type)
	}
	c.R.Simple(name)
	return nil
}

// EXPIRE condition flags.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

func cmdExpire(c *Ctx, args [][]byte) error    { return expire(c, args, c.Now(), true, "expire") }
func cmdPExpire(c *Ctx, args [][]byte) error   { return expire(c, args, c.Now(), false, "pexpire") }
func cmdExpireAt(c *Ctx, args [][]byte) error  { return expire(c, args, 0, true, "expireat") }
func cmdPExpireAt(c *Ctx, args [][]byte) error { return expire(c, args, 0, false, "pexpireat") }

// expire is Redis's expireGenericCommand.
func expire(c *Ctx, args [][]byte, base int64, seconds bool, cmd string) error {
	flags := 0
	for _, opt := range args[3:] {
		switch {
		case eqFold(opt, "nx"):
			flags |= expNX
		case eqFold(opt, "xx"):
			flags |= expXX
		case eqFold(opt, "gt"):
			flags |= expGT
		case eqFold(opt, "lt"):
			flags |= expLT
		default:
			return Error(sanitizeLine(errUnsupportedOptOf + string(opt)))
		}
	}
	if flags&expNX != 0 && flags&(expXX|expGT|expLT) != 0 {
		return errExpireNXMix
	}
	if flags&expGT != 0 && flags&expLT != 0 {
		return errExpireGTLT
	}
	when, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			return Error(resp.InvalidExpire(cmd))
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		return Error(resp.InvalidExpire(cmd))
	}
	when += base
	key := args[1]
	r, ok := c.Tx.Get(key)
	if !ok {
		c.R.Int(0)
		return nil
	}
	if flags != 0 {
		cur := r.Exp // 0: no expiry, which Redis treats as an infinite TTL
		switch {
		case flags&expNX != 0 && cur != 0,
			flags&expXX != 0 && cur == 0,
			flags&expGT != 0 && (cur == 0 || when <= cur),
			flags&expLT != 0 && cur != 0 && when >= cur:
			c.R.Int(0)
			return nil
		}
	}
	c.R.Int(1)
	if when <= c.Now() {
		c.Tx.Delete(key)
		return nil
	}
	r.Exp = when
	return c.Tx.Put(key, &r)
}

func cmdTTL(c *Ctx, args [][]byte) error         { return ttl(c, args, false, false) }
func cmdPTTL(c *Ctx, args [][]byte) error        { return ttl(c, args, true, false) }
func cmdExpireTime(c *Ctx, args [][]byte) error  { return ttl(c, args, false, true) }
func cmdPExpireTime(c *Ctx, args [][]byte) error { return ttl(c, args, true, true) }

// ttl is Redis's ttlGenericCommand: -2 for a missing key, -1 without an
// expiry, else the remaining time (or the absolute time), in seconds
// rounded to the nearest or in milliseconds.
func ttl(c *Ctx, args [][]byte, ms, abs bool) error {
	r, ok := c.Tx.Get(args[1])
	switch {
	case !ok:
		c.R.Int(-2)
	case r.Exp == 0:
		c.R.Int(-1)
	default:
		v := r.Exp
		if !abs {
			v = max(r.Exp-c.Now(), 0)
		}
		if !ms {
			v = (v + 500) / 1000
		}
		c.R.Int(v)
	}
	return nil
}

func cmdPersist(c *Ctx, args [][]byte) error {
	r, ok := c.Tx.Get(args[1])
	if !ok || r.Exp == 0 {
		c.R.Int(0)
		return nil
	}
	c.R.Int(1)
	r.Exp = 0
	return c.Tx.Put(args[1], &r)
}

func cmdRename(c *Ctx, args [][]byte) error   { return rename(c, args, false) }
func cmdRenameNX(c *Ctx, args [][]byte) error { return rename(c, args, true) }

// rename is Redis's renameGenericCommand. A collection's elements are
// stored under its key's name, so renaming one copies them: O(n), where
// Redis is O(1).
func rename(c *Ctx, args [][]byte, nx bool) error {
	src, dst := args[1], args[2]
	r, ok := c.Tx.Get(src)
	if !ok {
		return Error(resp.ErrNoSuchKey)
	}
	if string(src) == string(dst) {
		if nx {
			c.R.Int(0)
		} else {
			c.R.OK()
		}
		return nil
	}
	if _, exists := c.Tx.Get(dst); exists {
		if nx {
			c.R.Int(0)
			return nil
		}
		c.Tx.Delete(dst)
	}
	if err := copyValue(c, src, r, dst); err != nil {
		return err
	}
	c.Tx.Delete(src)
	if nx {
		c.R.Int(1)
	} else {
		c.R.OK()
	}
	return nil
}

// copyValue writes a copy of src's value r (with its expiry) under dst,
// which must not exist.
func copyValue(c *Ctx, src []byte, r store.Record, dst []byte) error {
	if !store.IsCollection(r.Type) {
		return c.Tx.Put(dst, &r)
	}
	gen := c.Tx.NextVersion()
	for _, space := range []byte{store.SpaceElem, store.SpaceScore} {
		if err := copyElems(c, space, src, r.Gen, dst, gen); err != nil {
			return err
		}
	}
	r.Gen = gen
	return c.Tx.Put(dst, &r)
}

// copyBatch bounds the elements read before they are written: a store
// iteration cannot write, and a whole collection need not be in memory.
const copyBatch = 1024

// copyElems copies every element of one space of src's generation srcGen
// to dst's generation dstGen.
func copyElems(c *Ctx, space byte, src []byte, srcGen uint64, dst []byte, dstGen uint64) error {
	return ascendBatches(c, space, src, srcGen, copyBatch, func(subs, vals []string) (bool, error) {
		for i, sub := range subs {
			if _, err := c.Tx.PutElem(space, dst, dstGen, []byte(sub), vals[i]); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// cmdCopy is Redis's copyCommand as a cluster node runs it: only database
// 0 exists, so a valid other index is refused as Redis Cluster refuses it.
func cmdCopy(c *Ctx, args [][]byte) error {
	src, dst := args[1], args[2]
	replace := false
	db := int64(0)
	for j := 3; j < len(args); j++ {
		switch {
		case eqFold(args[j], "replace"):
			replace = true
		case eqFold(args[j], "db") && j+1 < len(args):
			v, ok := parseInt(args[j+1])
			if !ok {
				return ErrNotInt
			}
			if v < math.MinInt32 || v > math.MaxInt32 {
				return errIntRange
			}
			if v < 0 || v >= redisDatabases {
				return Error(resp.ErrDBIndexRange)
			}
			db = v
			j++
		default:
			return ErrSyntax
		}
	}
	if db != 0 {
		return errCopyOtherDB
	}
	if string(src) == string(dst) {
		return errSameObject
	}
	r, ok := c.Tx.Get(src)
	if !ok {
		c.R.Int(0)
		return nil
	}
	if _, exists := c.Tx.Get(dst); exists {
		if !replace {
			c.R.Int(0)
			return nil
		}
		c.Tx.Delete(dst)
	}
	c.R.Int(1)
	return copyValue(c, src, r, dst)
}

// cmdObject serves OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT and HELP.
func cmdObject(c *Ctx, args [][]byte) error {
	sub := args[1]
	if eqFold(sub, "help") && len(args) == 2 {
		c.R.Help(objectHelp)
		return nil
	}
	if len(args) != 3 || !(eqFold(sub, "encoding") || eqFold(sub, "freq") || eqFold(sub, "idletime") || eqFold(sub, "refcount")) {
		return Error(sanitizeLine("ERR unknown subcommand or wrong number of arguments for '" + string(sub) + "'. Try OBJECT HELP."))
	}
	r, ok := c.Tx.Get(args[2])
	if !ok {
		c.R.Null()
		return nil
	}
	switch {
	case eqFold(sub, "encoding"):
		c.R.BulkString(objectEncoding(&r))
	case eqFold(sub, "freq"):
		return errNoLFU
	case eqFold(sub, "idletime"):
		// No access times are kept (no LRU eviction): every key reads as
		// just used.
		c.R.Int(0)
	default:
		n := int64(1)
		if v, ok := parseInt([]byte(r.Val)); r.Type == store.TypeString && ok && v >= 0 && v < sharedIntegers {
			n = math.MaxInt32 // Redis's shared integer objects
		}
		c.R.Int(n)
	}
	return nil
}

// sharedIntegers is Redis's OBJ_SHARED_INTEGERS: strings holding 0..9999
// are shared objects with a refcount of INT_MAX.
const sharedIntegers = 10000

// embstrMax is the longest string Redis keeps in the embstr encoding.
const embstrMax = 44

// objectEncoding is what OBJECT ENCODING reports for r. A string is named
// by what Redis would choose when storing its current value (int, embstr,
// raw); Redis also reports raw for a short string grown by APPEND or
// SETRANGE, which is not tracked.
func objectEncoding(r *store.Record) string {
	if store.IsCollection(r.Type) {
		return encodingName(r.Enc)
	}
	if len(r.Val) <= 20 {
		if _, ok := parseInt([]byte(r.Val)); ok {
			return "int"
		}
	}
	if len(r.Val) <= embstrMax {
		return "embstr"
	}
	return "raw"
}

var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// sanitizeLine replaces CR and LF with spaces, as Redis does in error
// replies that quote client input.
func sanitizeLine(msg string) string {
	b := []byte(msg)
	for i, ch := range b {
		if ch == '\r' || ch == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// SanitizeLine is sanitizeLine for the shard's own commands.
func SanitizeLine(msg string) string { return sanitizeLine(msg) }
