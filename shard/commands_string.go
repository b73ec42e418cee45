package shard

import (
	"math"

	"github.com/shardis/shardis/resp"
)

// Errors Redis words itself that the shared table does not hold because
// only these commands produce them.
const (
	errDecrOverflow = "ERR decrement would overflow"
)

var stringCommands = []command{
	{name: "get", fn: cmdGet, arity: 2},
	{name: "set", fn: cmdSet, arity: -3},
	{name: "setnx", fn: cmdSetNX, arity: 3},
	{name: "setex", fn: cmdSetEX, arity: 4},
	{name: "psetex", fn: cmdPSetEX, arity: 4},
	{name: "getset", fn: cmdGetSet, arity: 3},
	{name: "getdel", fn: cmdGetDel, arity: 2},
	{name: "getex", fn: cmdGetEx, arity: -2},
	{name: "mget", fn: cmdMGet, arity: -2},
	{name: "mset", fn: cmdMSet, arity: -3},
	{name: "msetnx", fn: cmdMSetNX, arity: -3},
	{name: "append", fn: cmdAppend, arity: 3},
	{name: "strlen", fn: cmdStrlen, arity: 2},
	{name: "getrange", fn: cmdGetRange, arity: 4},
	{name: "substr", fn: cmdGetRange, arity: 4},
	{name: "setrange", fn: cmdSetRange, arity: 4},
	{name: "incr", fn: cmdIncr, arity: 2},
	{name: "decr", fn: cmdDecr, arity: 2},
	{name: "incrby", fn: cmdIncrBy, arity: 3},
	{name: "decrby", fn: cmdDecrBy, arity: 3},
	{name: "incrbyfloat", fn: cmdIncrByFloat, arity: 3},
}

// getString reads key as a string. A key of another type is WRONGTYPE.
func getString(t *txn, key []byte) (record, bool, error) {
	r, ok := t.get(key)
	if ok && r.typ != typeString {
		return r, false, errReply(resp.ErrWrongType)
	}
	return r, ok, nil
}

func cmdGet(s *Server, c *conn, args [][]byte, now int64) {
	var r record
	var ok bool
	err := s.view(s.pid(args[1]), now, func(t *txn) (err error) {
		r, ok, err = getString(t, args[1])
		return err
	})
	if finish(c, err) {
		return
	}
	if !ok {
		c.WriteNull()
		return
	}
	c.WriteBulkString(r.val)
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
	old    record
	found  bool
	didSet bool
}

// doSet runs Redis's setGenericCommand. It returns the reply error text,
// or "" with the result.
func (s *Server) doSet(a setArgs, now int64) (setResult, error) {
	var when int64
	if a.expire != nil {
		var msg string
		if when, msg = expireAt(a.expire, a.flags, now, a.cmd); msg != "" {
			return setResult{}, errReply(msg)
		}
	}
	var res setResult
	if a.flags&(optNX|optXX|optGet|optKeepTTL) == 0 && (a.expire == nil || when > now) {
		// A plain SET needs nothing of the old record: it saves a
		// lookup, a third of the cost of the command in the store.
		err := s.update(s.pid(a.key), true, now, func(t *txn) error {
			return t.put(a.key, typeString, when, string(a.val))
		})
		res.didSet = true
		return res, err
	}
	err := s.update(s.pid(a.key), true, now, func(t *txn) error {
		r, ok := t.get(a.key)
		if a.flags&optGet != 0 && ok && r.typ != typeString {
			return errReply(resp.ErrWrongType)
		}
		res.old, res.found = r, ok
		if (a.flags&optNX != 0 && ok) || (a.flags&optXX != 0 && !ok) {
			return nil
		}
		exp := when
		if a.flags&optKeepTTL != 0 && ok {
			exp = r.exp
		}
		res.didSet = true
		if exp != 0 && exp <= now {
			t.del(a.key) // an absolute time in the past: the key is gone at once
			return nil
		}
		return t.put(a.key, typeString, exp, string(a.val))
	})
	return res, err
}

func cmdSet(s *Server, c *conn, args [][]byte, now int64) {
	flags, expire, ok := parseStringOptions(args, 3, true)
	if !ok {
		c.WriteError(resp.ErrSyntax)
		return
	}
	res, err := s.doSet(setArgs{key: args[1], val: args[2], flags: flags, expire: expire, cmd: "set"}, now)
	if finish(c, err) {
		return
	}
	switch {
	case flags&optGet != 0:
		if res.found {
			c.WriteBulkString(res.old.val)
		} else {
			c.WriteNull()
		}
	case res.didSet:
		c.WriteString("OK")
	default:
		c.WriteNull()
	}
}

func cmdSetNX(s *Server, c *conn, args [][]byte, now int64) {
	res, err := s.doSet(setArgs{key: args[1], val: args[2], flags: optNX}, now)
	if finish(c, err) {
		return
	}
	if res.didSet {
		c.WriteInt(1)
	} else {
		c.WriteInt(0)
	}
}

func cmdSetEX(s *Server, c *conn, args [][]byte, now int64) {
	setex(s, c, args, now, optEX, "setex")
}

func cmdPSetEX(s *Server, c *conn, args [][]byte, now int64) {
	setex(s, c, args, now, optPX, "psetex")
}

func setex(s *Server, c *conn, args [][]byte, now int64, flags int, cmd string) {
	_, err := s.doSet(setArgs{key: args[1], val: args[3], flags: flags, expire: args[2], cmd: cmd}, now)
	if finish(c, err) {
		return
	}
	c.WriteString("OK")
}

func cmdGetSet(s *Server, c *conn, args [][]byte, now int64) {
	res, err := s.doSet(setArgs{key: args[1], val: args[2], flags: optGet}, now)
	if finish(c, err) {
		return
	}
	if res.found {
		c.WriteBulkString(res.old.val)
	} else {
		c.WriteNull()
	}
}

func cmdGetDel(s *Server, c *conn, args [][]byte, now int64) {
	var r record
	var ok bool
	err := s.update(s.pid(args[1]), false, now, func(t *txn) (err error) {
		if r, ok, err = getString(t, args[1]); err != nil || !ok {
			return err
		}
		t.del(args[1])
		return nil
	})
	if finish(c, err) {
		return
	}
	if !ok {
		c.WriteNull()
		return
	}
	c.WriteBulkString(r.val)
}

func cmdGetEx(s *Server, c *conn, args [][]byte, now int64) {
	flags, expire, ok := parseStringOptions(args, 2, false)
	if !ok {
		c.WriteError(resp.ErrSyntax)
		return
	}
	var r record
	err := s.update(s.pid(args[1]), false, now, func(t *txn) (err error) {
		if r, ok, err = getString(t, args[1]); err != nil || !ok {
			return err
		}
		// Redis validates the time only once it knows the key exists.
		var when int64
		if expire != nil {
			var msg string
			if when, msg = expireAt(expire, flags, now, "getex"); msg != "" {
				return errReply(msg)
			}
		}
		switch {
		case flags&(optEXAT|optPXAT) != 0 && when <= now:
			t.del(args[1])
		case expire != nil:
			return t.put(args[1], r.typ, when, r.val)
		case flags&optPersist != 0 && r.exp != 0:
			return t.put(args[1], r.typ, 0, r.val)
		}
		return nil
	})
	if finish(c, err) {
		return
	}
	if !ok {
		c.WriteNull()
		return
	}
	c.WriteBulkString(r.val)
}

func cmdMGet(s *Server, c *conn, args [][]byte, now int64) {
	vals := make([]*string, len(args))
	for _, g := range s.groupKeys(args, 1, 1) {
		err := s.view(g.pid, now, func(t *txn) error {
			for _, i := range g.idx {
				if r, ok := t.get(args[i]); ok && r.typ == typeString {
					v := r.val
					vals[i] = &v
				}
			}
			return nil
		})
		if finish(c, err) {
			return
		}
	}
	c.WriteArray(len(args) - 1)
	for _, v := range vals[1:] {
		if v == nil {
			c.WriteNull()
		} else {
			c.WriteBulkString(*v)
		}
	}
}

func cmdMSet(s *Server, c *conn, args [][]byte, now int64) {
	if len(args)%2 == 0 {
		c.WriteError(resp.WrongArgs("mset"))
		return
	}
	for _, g := range s.groupKeys(args, 1, 2) {
		err := s.update(g.pid, true, now, func(t *txn) error {
			for _, i := range g.idx {
				if err := t.put(args[i], typeString, 0, string(args[i+1])); err != nil {
					return err
				}
			}
			return nil
		})
		if finish(c, err) {
			return
		}
	}
	c.WriteString("OK")
}

func cmdMSetNX(s *Server, c *conn, args [][]byte, now int64) {
	if len(args)%2 == 0 {
		c.WriteError(resp.WrongArgs("msetnx"))
		return
	}
	keys := make([][]byte, 0, len(args)/2)
	for i := 1; i < len(args); i += 2 {
		keys = append(keys, args[i])
	}
	pid, ok := s.samePartition(keys...)
	if !ok {
		c.WriteError(resp.ErrCrossSlot)
		return
	}
	set := false
	err := s.update(pid, true, now, func(t *txn) error {
		for _, k := range keys {
			if _, ok := t.get(k); ok {
				return nil
			}
		}
		for i := 1; i < len(args); i += 2 {
			if err := t.put(args[i], typeString, 0, string(args[i+1])); err != nil {
				return err
			}
		}
		set = true
		return nil
	})
	if finish(c, err) {
		return
	}
	if set {
		c.WriteInt(1)
	} else {
		c.WriteInt(0)
	}
}

func cmdAppend(s *Server, c *conn, args [][]byte, now int64) {
	var n int
	err := s.update(s.pid(args[1]), true, now, func(t *txn) error {
		r, ok, err := getString(t, args[1])
		if err != nil {
			return err
		}
		if !ok {
			n = len(args[2])
			return t.put(args[1], typeString, 0, string(args[2]))
		}
		n = len(r.val) + len(args[2])
		if int64(n) > s.limits.MaxBulkLen {
			return errReply(resp.ErrStringTooLong)
		}
		return t.put(args[1], typeString, r.exp, r.val+string(args[2]))
	})
	if finish(c, err) {
		return
	}
	c.WriteInt(n)
}

func cmdStrlen(s *Server, c *conn, args [][]byte, now int64) {
	var n int
	err := s.view(s.pid(args[1]), now, func(t *txn) error {
		r, _, err := getString(t, args[1])
		n = len(r.val)
		return err
	})
	if finish(c, err) {
		return
	}
	c.WriteInt(n)
}

func cmdGetRange(s *Server, c *conn, args [][]byte, now int64) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.WriteError(resp.ErrNotInteger)
		return
	}
	var r record
	err := s.view(s.pid(args[1]), now, func(t *txn) (err error) {
		r, _, err = getString(t, args[1])
		return err
	})
	if finish(c, err) {
		return
	}
	str := r.val
	n := int64(len(str))
	if start < 0 && end < 0 && start > end {
		c.WriteBulkString("")
		return
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
		c.WriteBulkString("")
		return
	}
	c.WriteBulkString(str[start : end+1])
}

func cmdSetRange(s *Server, c *conn, args [][]byte, now int64) {
	offset, ok := parseInt(args[2])
	if !ok {
		c.WriteError(resp.ErrNotInteger)
		return
	}
	if offset < 0 {
		c.WriteError(resp.ErrOffsetRange)
		return
	}
	val := args[3]
	var n int
	err := s.update(s.pid(args[1]), len(val) > 0, now, func(t *txn) error {
		r, ok, err := getString(t, args[1])
		if err != nil {
			return err
		}
		if len(val) == 0 {
			n = len(r.val) // nothing to write: the current length (0 if missing)
			return nil
		}
		if offset > s.limits.MaxBulkLen-int64(len(val)) {
			return errReply(resp.ErrStringTooLong)
		}
		end := int(offset) + len(val)
		buf := make([]byte, max(end, len(r.val)))
		copy(buf, r.val)
		copy(buf[offset:], val)
		n = len(buf)
		exp := int64(0)
		if ok {
			exp = r.exp
		}
		return t.put(args[1], typeString, exp, string(buf))
	})
	if finish(c, err) {
		return
	}
	c.WriteInt(n)
}

func cmdIncr(s *Server, c *conn, args [][]byte, now int64) { incrBy(s, c, args[1], 1, now) }
func cmdDecr(s *Server, c *conn, args [][]byte, now int64) { incrBy(s, c, args[1], -1, now) }

func cmdIncrBy(s *Server, c *conn, args [][]byte, now int64) {
	n, ok := parseInt(args[2])
	if !ok {
		c.WriteError(resp.ErrNotInteger)
		return
	}
	incrBy(s, c, args[1], n, now)
}

func cmdDecrBy(s *Server, c *conn, args [][]byte, now int64) {
	n, ok := parseInt(args[2])
	if !ok {
		c.WriteError(resp.ErrNotInteger)
		return
	}
	if n == math.MinInt64 {
		c.WriteError(errDecrOverflow)
		return
	}
	incrBy(s, c, args[1], -n, now)
}

func incrBy(s *Server, c *conn, key []byte, incr int64, now int64) {
	var v int64
	err := s.update(s.pid(key), true, now, func(t *txn) error {
		r, ok, err := getString(t, key)
		if err != nil {
			return err
		}
		if ok {
			var valid bool
			if v, valid = parseInt([]byte(r.val)); !valid {
				return errReply(resp.ErrNotInteger)
			}
		}
		if (incr < 0 && v < 0 && incr < math.MinInt64-v) ||
			(incr > 0 && v > 0 && incr > math.MaxInt64-v) {
			return errReply(resp.ErrOverflow)
		}
		v += incr
		return t.put(key, typeString, r.exp, formatInt(v))
	})
	if finish(c, err) {
		return
	}
	c.WriteInt64(v)
}

func cmdIncrByFloat(s *Server, c *conn, args [][]byte, now int64) {
	var out string
	err := s.update(s.pid(args[1]), true, now, func(t *txn) error {
		r, ok, err := getString(t, args[1])
		if err != nil {
			return err
		}
		cur := ldValue{f: newLongDouble()}
		if ok {
			if cur, ok = parseLongDouble([]byte(r.val)); !ok {
				return errReply(resp.ErrNotFloat)
			}
		}
		incr, ok := parseLongDouble(args[2])
		if !ok {
			return errReply(resp.ErrNotFloat)
		}
		sum, ok := addLongDouble(cur, incr)
		if !ok {
			return errReply(resp.ErrNaNOrInf)
		}
		out = formatLongDouble(sum)
		return t.put(args[1], typeString, r.exp, out)
	})
	if finish(c, err) {
		return
	}
	c.WriteBulkString(out)
}
