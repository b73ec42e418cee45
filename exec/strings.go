package exec

import (
	"math"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// errDecrOverflow is DECRBY's own wording for negating math.MinInt64.
const errDecrOverflow = Error("ERR decrement would overflow")

func init() {
	register(map[string]Func{
		"get":         cmdGet,
		"set":         cmdSet,
		"setnx":       cmdSetNX,
		"setex":       cmdSetEX,
		"psetex":      cmdPSetEX,
		"getset":      cmdGetSet,
		"getdel":      cmdGetDel,
		"getex":       cmdGetEx,
		"mget":        cmdMGet,
		"mset":        cmdMSet,
		"msetnx":      cmdMSetNX,
		"append":      cmdAppend,
		"strlen":      cmdStrlen,
		"getrange":    cmdGetRange,
		"substr":      cmdGetRange,
		"setrange":    cmdSetRange,
		"incr":        cmdIncr,
		"decr":        cmdDecr,
		"incrby":      cmdIncrBy,
		"decrby":      cmdDecrBy,
		"incrbyfloat": cmdIncrByFloat,
	})
}

// getString reads key as a string. A key of another type is WRONGTYPE.
func getString(c *Ctx, key []byte) (store.Record, bool, error) {
	return getType(c, key, store.TypeString)
}

func cmdGet(c *Ctx, args [][]byte) error {
	r, ok, err := getString(c, args[1])
	if err != nil {
		return err
	}
	if !ok {
		c.R.Null()
		return nil
	}
	c.R.BulkString(r.Val)
	return nil
}

// setArgs is one SET-family request.
type setArgs struct {
	key, val []byte
	flags    int
	expire   []byte // EX/PX/EXAT/PXAT argument, nil if none
	cmd      string // for the invalid-expire error
}

// setResult is what a SET-family request found and did.
type setResult struct {
	old    store.Record
	found  bool
	didSet bool
}

// doSet runs Redis's setGenericCommand.
func doSet(c *Ctx, a setArgs) (setResult, error) {
	now := c.Now()
	var when int64
	if a.expire != nil {
		var msg string
		if when, msg = expireAt(a.expire, a.flags, now, a.cmd); msg != "" {
			return setResult{}, Error(msg)
		}
	}
	var res setResult
	if a.flags&(optNX|optXX|optGet|optKeepTTL) == 0 && (a.expire == nil || when > now) {
		// A plain SET needs nothing of the old record (Put leaves a
		// replaced collection's elements to the sweep): it saves a
		// lookup, a third of the command's cost in the store.
		res.didSet = true
		return res, c.Tx.PutString(a.key, when, string(a.val))
	}
	r, ok := c.Tx.Get(a.key)
	if a.flags&optGet != 0 && ok && r.Type != store.TypeString {
		return res, ErrWrongType
	}
	res.old, res.found = r, ok
	if (a.flags&optNX != 0 && ok) || (a.flags&optXX != 0 && !ok) {
		return res, nil
	}
	exp := when
	if a.flags&optKeepTTL != 0 && ok {
		exp = r.Exp
	}
	res.didSet = true
	if exp != 0 && exp <= now {
		c.Tx.Delete(a.key) // an absolute time in the past: the key is gone at once
		return res, nil
	}
	return res, c.Tx.PutString(a.key, exp, string(a.val))
}

func cmdSet(c *Ctx, args [][]byte) error {
	flags, expire, ok := parseStringOptions(args, 3, true)
	if !ok {
		return ErrSyntax
	}
	res, err := doSet(c, setArgs{key: args[1], val: args[2], flags: flags, expire: expire, cmd: "set"})
	if err != nil {
		return err
	}
	switch {
	case flags&optGet != 0:
		if res.found {
			c.R.BulkString(res.old.Val)
		} else {
			c.R.Null()
		}
	case res.didSet:
		c.R.OK()
	default:
		c.R.Null()
	}
	return nil
}

func cmdSetNX(c *Ctx, args [][]byte) error {
	res, err := doSet(c, setArgs{key: args[1], val: args[2], flags: optNX})
	if err != nil {
		return err
	}
	c.R.Int(b2i(res.didSet))
	return nil
}

func cmdSetEX(c *Ctx, args [][]byte) error  { return setex(c, args, optEX, "setex") }
func cmdPSetEX(c *Ctx, args [][]byte) error { return setex(c, args, optPX, "psetex") }

func setex(c *Ctx, args [][]byte, flags int, cmd string) error {
	if _, err := doSet(c, setArgs{key: args[1], val: args[3], flags: flags, expire: args[2], cmd: cmd}); err != nil {
		return err
	}
	c.R.OK()
	return nil
}

func cmdGetSet(c *Ctx, args [][]byte) error {
	res, err := doSet(c, setArgs{key: args[1], val: args[2], flags: optGet})
	if err != nil {
		return err
	}
	if res.found {
		c.R.BulkString(res.old.Val)
	} else {
		c.R.Null()
	}
	return nil
}

func cmdGetDel(c *Ctx, args [][]byte) error {
	r, ok, err := getString(c, args[1])
	if err != nil {
		return err
	}
	if !ok {
		c.R.Null()
		return nil
	}
	c.Tx.Delete(args[1])
	c.R.BulkString(r.Val)
	return nil
}

func cmdGetEx(c *Ctx, args [][]byte) error {
	flags, expire, ok := parseStringOptions(args, 2, false)
	if !ok {
		return ErrSyntax
	}
	r, ok, err := getString(c, args[1])
	if err != nil {
		return err
	}
	if !ok {
		c.R.Null()
		return nil
	}
	now := c.Now()
	// Redis validates the time only once it knows the key exists.
	var when int64
	if expire != nil {
		var msg string
		if when, msg = expireAt(expire, flags, now, "getex"); msg != "" {
			return Error(msg)
		}
	}
	switch {
	case flags&(optEXAT|optPXAT) != 0 && when <= now:
		c.Tx.Delete(args[1])
	case expire != nil:
		err = c.Tx.PutString(args[1], when, r.Val)
	case flags&optPersist != 0 && r.Exp != 0:
		err = c.Tx.PutString(args[1], 0, r.Val)
	}
	if err != nil {
		return err
	}
	c.R.BulkString(r.Val)
	return nil
}

// cmdMGet answers for the keys it is given; a shard runs it once per
// partition and merges the arrays in the client's order.
func cmdMGet(c *Ctx, args [][]byte) error {
	c.R.Array(len(args) - 1)
	for _, k := range args[1:] {
		if r, ok := c.Tx.Get(k); ok && r.Type == store.TypeString {
			c.R.BulkString(r.Val)
		} else {
			c.R.Null()
		}
	}
	return nil
}

func cmdMSet(c *Ctx, args [][]byte) error {
	if len(args)%2 == 0 {
		return Error(resp.WrongArgs("mset"))
	}
	for i := 1; i < len(args); i += 2 {
		if err := c.Tx.PutString(args[i], 0, string(args[i+1])); err != nil {
			return err
		}
	}
	c.R.OK()
	return nil
}

func cmdMSetNX(c *Ctx, args [][]byte) error {
	if len(args)%2 == 0 {
		return Error(resp.WrongArgs("msetnx"))
	}
	for i := 1; i < len(args); i += 2 {
		if _, ok := c.Tx.Get(args[i]); ok {
			c.R.Int(0)
			return nil
		}
	}
	for i := 1; i < len(args); i += 2 {
		if err := c.Tx.PutString(args[i], 0, string(args[i+1])); err != nil {
			return err
		}
	}
	c.R.Int(1)
	return nil
}

func cmdAppend(c *Ctx, args [][]byte) error {
	r, ok, err := getString(c, args[1])
	if err != nil {
		return err
	}
	if !ok {
		c.R.Int(int64(len(args[2])))
		return c.Tx.PutString(args[1], 0, string(args[2]))
	}
	n := len(r.Val) + len(args[2])
	if int64(n) > c.Cfg.MaxStringLen {
		return Error(resp.ErrStringTooLong)
	}
	c.R.Int(int64(n))
	return c.Tx.PutString(args[1], r.Exp, r.Val+string(args[2]))
}

func cmdStrlen(c *Ctx, args [][]byte) error {
	r, _, err := getString(c, args[1])
	if err != nil {
		return err
	}
	c.R.Int(int64(len(r.Val)))
	return nil
}

func cmdGetRange(c *Ctx, args [][]byte) error {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		return ErrNotInt
	}
	r, _, err := getString(c, args[1])
	if err != nil {
		return err
	}
	str := r.Val
	n := int64(len(str))
	if start < 0 && end < 0 && start > end {
		c.R.BulkString("")
		return nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	end = max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.R.BulkString("")
		return nil
	}
	c.R.BulkString(str[start : end+1])
	return nil
}

func cmdSetRange(c *Ctx, args [][]byte) error {
	offset, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	if offset < 0 {
		return Error(resp.ErrOffsetRange)
	}
	val := args[3]
	r, ok, err := getString(c, args[1])
	if err != nil {
		return err
	}
	if len(val) == 0 {
		c.R.Int(int64(len(r.Val))) // nothing to write: the current length (0 if missing)
		return nil
	}
	if offset > c.Cfg.MaxStringLen-int64(len(val)) {
		return Error(resp.ErrStringTooLong)
	}
	end := int(offset) + len(val)
	buf := make([]byte, max(end, len(r.Val)))
	copy(buf, r.Val)
	copy(buf[offset:], val)
	exp := int64(0)
	if ok {
		exp = r.Exp
	}
	c.R.Int(int64(len(buf)))
	return c.Tx.PutString(args[1], exp, string(buf))
}

func cmdIncr(c *Ctx, args [][]byte) error { return incrBy(c, args[1], 1) }
func cmdDecr(c *Ctx, args [][]byte) error { return incrBy(c, args[1], -1) }

func cmdIncrBy(c *Ctx, args [][]byte) error {
	n, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	return incrBy(c, args[1], n)
}

func cmdDecrBy(c *Ctx, args [][]byte) error {
	n, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	if n == math.MinInt64 {
		return errDecrOverflow
	}
	return incrBy(c, args[1], -n)
}

func incrBy(c *Ctx, key []byte, incr int64) error {
	r, ok, err := getString(c, key)
	if err != nil {
		return err
	}
	var v int64
	if ok {
		var valid bool
		if v, valid = parseInt([]byte(r.Val)); !valid {
			return ErrNotInt
		}
	}
	if (incr < 0 && v < 0 && incr < math.MinInt64-v) ||
		(incr > 0 && v > 0 && incr > math.MaxInt64-v) {
		return Error(resp.ErrOverflow)
	}
	v += incr
	c.R.Int(v)
	return c.Tx.PutString(key, r.Exp, formatInt(v))
}

func cmdIncrByFloat(c *Ctx, args [][]byte) error {
	r, ok, err := getString(c, args[1])
	if err != nil {
		return err
	}
	cur := ldValue{f: newLongDouble()}
	if ok {
		if cur, ok = parseLongDouble([]byte(r.Val)); !ok {
			return ErrNotFloat
		}
	}
	incr, ok := parseLongDouble(args[2])
	if !ok {
		return ErrNotFloat
	}
	sum, ok := addLongDouble(cur, incr)
	if !ok {
		return Error(resp.ErrNaNOrInf)
	}
	out := formatLongDouble(sum)
	c.R.BulkString(out)
	return c.Tx.PutString(args[1], r.Exp, out)
}

// b2i is 1 for true, 0 for false: Redis's integer replies to yes/no
// questions.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Expiry flags of SET and GETEX options (Redis's OBJ_* flags).
const (
	optNX = 1 << iota
	optXX
	optGet
	optKeepTTL
	optPersist
	optEX
	optPX
	optEXAT
	optPXAT
)

const optExpire = optEX | optPX | optEXAT | optPXAT

// parseStringOptions parses SET's (set true) or GETEX's options from
// args[start:] exactly as Redis's parseExtendedStringArgumentsOrReply: any
// repeated, conflicting or unknown option is a syntax error.
func parseStringOptions(args [][]byte, start int, set bool) (flags int, expire []byte, ok bool) {
	for j := start; j < len(args); j++ {
		opt := args[j]
		next := j+1 < len(args)
		switch {
		case set && eqFold(opt, "nx") && flags&optXX == 0:
			flags |= optNX
		case set && eqFold(opt, "xx") && flags&optNX == 0:
			flags |= optXX
		case set && eqFold(opt, "get"):
			flags |= optGet
		case set && eqFold(opt, "keepttl") && flags&(optPersist|optExpire) == 0:
			flags |= optKeepTTL
		case !set && eqFold(opt, "persist") && flags&(optExpire|optKeepTTL) == 0:
			flags |= optPersist
		case eqFold(opt, "ex") && flags&(optKeepTTL|optPersist|optEXAT|optPX|optPXAT) == 0 && next:
			flags |= optEX
			expire = args[j+1]
			j++
		case eqFold(opt, "px") && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPXAT) == 0 && next:
			flags |= optPX
			expire = args[j+1]
			j++
		case eqFold(opt, "exat") && flags&(optKeepTTL|optPersist|optEX|optPX|optPXAT) == 0 && next:
			flags |= optEXAT
			expire = args[j+1]
			j++
		case eqFold(opt, "pxat") && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPX) == 0 && next:
			flags |= optPXAT
			expire = args[j+1]
			j++
		default:
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// expireAt converts an EX/PX/EXAT/PXAT argument to an absolute unix-ms
// time as Redis's getExpireMillisecondsOrReply, or returns the error reply.
func expireAt(arg []byte, flags int, now int64, cmd string) (int64, string) {
	v, ok := parseInt(arg)
	if !ok {
		return 0, resp.ErrNotInteger
	}
	seconds := flags&(optEX|optEXAT) != 0
	if v <= 0 || (seconds && v > math.MaxInt64/1000) {
		return 0, resp.InvalidExpire(cmd)
	}
	if seconds {
		v *= 1000
	}
	if flags&(optEX|optPX) != 0 {
		if v > math.MaxInt64-now {
			return 0, resp.InvalidExpire(cmd) // Redis detects the wrap-around
		}
		v += now
	}
	return v, ""
}
