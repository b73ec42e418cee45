package shard

import (
	"math"

	"github.com/shardis/shardis/resp"
)

// Errors Redis words itself that the shared table does not hold because
// only these commands produce them.
const (
	errExpireNXMix      = "ERR NX and XX, GT or LT options at the same time are not compatible"
	errExpireGTLT       = "ERR GT and LT options at the same time are not compatible"
	errSameObject       = "ERR source and destination objects are the same"
	errCopyOtherDB      = "ERR Copying to another database is not allowed in cluster mode"
	redisDatabases      = 16 // Redis's default "databases": COPY's DB range check uses it
	errUnsupportedOptOf = "ERR Unsupported option "
	errIntRange         = "ERR value is out of range, value must between -2147483648 and 2147483647"
)

var keyCommands = []command{
	{name: "del", fn: cmdDel, arity: -2},
	{name: "unlink", fn: cmdDel, arity: -2},
	{name: "exists", fn: cmdExists, arity: -2},
	{name: "touch", fn: cmdExists, arity: -2},
	{name: "type", fn: cmdType, arity: 2},
	{name: "expire", fn: cmdExpire, arity: -3},
	{name: "pexpire", fn: cmdPExpire, arity: -3},
	{name: "expireat", fn: cmdExpireAt, arity: -3},
	{name: "pexpireat", fn: cmdPExpireAt, arity: -3},
	{name: "ttl", fn: cmdTTL, arity: 2},
	{name: "pttl", fn: cmdPTTL, arity: 2},
	{name: "expiretime", fn: cmdExpireTime, arity: 2},
	{name: "pexpiretime", fn: cmdPExpireTime, arity: 2},
	{name: "persist", fn: cmdPersist, arity: 2},
	{name: "rename", fn: cmdRename, arity: 3},
	{name: "renamenx", fn: cmdRenameNX, arity: 3},
	{name: "copy", fn: cmdCopy, arity: -3},
}

func cmdDel(s *Server, c *conn, args [][]byte, now int64) {
	n := 0
	for _, g := range s.groupKeys(args, 1, 1) {
		err := s.update(g.pid, false, now, func(t *txn) error {
			for _, i := range g.idx {
				if t.del(args[i]) {
					n++
				}
			}
			return nil
		})
		if finish(c, err) {
			return
		}
	}
	c.WriteInt(n)
}

// cmdExists serves EXISTS and TOUCH: both count the keys that exist, a key
// named twice counting twice.
func cmdExists(s *Server, c *conn, args [][]byte, now int64) {
	n := 0
	for _, g := range s.groupKeys(args, 1, 1) {
		err := s.view(g.pid, now, func(t *txn) error {
			for _, i := range g.idx {
				if _, ok := t.get(args[i]); ok {
					n++
				}
			}
			return nil
		})
		if finish(c, err) {
			return
		}
	}
	c.WriteInt(n)
}

func cmdType(s *Server, c *conn, args [][]byte, now int64) {
	name := "none"
	err := s.view(s.pid(args[1]), now, func(t *txn) error {
		if r, ok := t.get(args[1]); ok {
			name = typeName(r.typ)
		}
		return nil
	})
	if finish(c, err) {
		return
	}
	c.WriteString(name)
}

// EXPIRE condition flags.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

func cmdExpire(s *Server, c *conn, args [][]byte, now int64) {
	expire(s, c, args, now, now, true, "expire")
}

func cmdPExpire(s *Server, c *conn, args [][]byte, now int64) {
	expire(s, c, args, now, now, false, "pexpire")
}

func cmdExpireAt(s *Server, c *conn, args [][]byte, now int64) {
	expire(s, c, args, now, 0, true, "expireat")
}

func cmdPExpireAt(s *Server, c *conn, args [][]byte, now int64) {
	expire(s, c, args, now, 0, false, "pexpireat")
}

// expire is Redis's expireGenericCommand.
func expire(s *Server, c *conn, args [][]byte, now, base int64, seconds bool, cmd string) {
	flags := 0
	for _, opt := range args[3:] {
		switch {
		case equalFold(opt, "nx"):
			flags |= expNX
		case equalFold(opt, "xx"):
			flags |= expXX
		case equalFold(opt, "gt"):
			flags |= expGT
		case equalFold(opt, "lt"):
			flags |= expLT
		default:
			c.WriteError(sanitizeLine(errUnsupportedOptOf + string(opt)))
			return
		}
	}
	if flags&expNX != 0 && flags&(expXX|expGT|expLT) != 0 {
		c.WriteError(errExpireNXMix)
		return
	}
	if flags&expGT != 0 && flags&expLT != 0 {
		c.WriteError(errExpireGTLT)
		return
	}
	when, ok := parseInt(args[2])
	if !ok {
		c.WriteError(resp.ErrNotInteger)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.WriteError(resp.InvalidExpire(cmd))
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		c.WriteError(resp.InvalidExpire(cmd))
		return
	}
	when += base
	key := args[1]
	done := false
	err := s.update(s.pid(key), false, now, func(t *txn) error {
		r, ok := t.get(key)
		if !ok {
			return nil
		}
		if flags != 0 {
			cur := r.exp // 0: no expiry, which Redis treats as an infinite TTL
			switch {
			case flags&expNX != 0 && cur != 0,
				flags&expXX != 0 && cur == 0,
				flags&expGT != 0 && (cur == 0 || when <= cur),
				flags&expLT != 0 && cur != 0 && when >= cur:
				return nil
			}
		}
		done = true
		if when <= now {
			t.del(key)
			return nil
		}
		return t.put(key, r.typ, when, r.val)
	})
	if finish(c, err) {
		return
	}
	if done {
		c.WriteInt(1)
	} else {
		c.WriteInt(0)
	}
}

func cmdTTL(s *Server, c *conn, args [][]byte, now int64)         { ttl(s, c, args, now, false, false) }
func cmdPTTL(s *Server, c *conn, args [][]byte, now int64)        { ttl(s, c, args, now, true, false) }
func cmdExpireTime(s *Server, c *conn, args [][]byte, now int64)  { ttl(s, c, args, now, false, true) }
func cmdPExpireTime(s *Server, c *conn, args [][]byte, now int64) { ttl(s, c, args, now, true, true) }

// ttl is Redis's ttlGenericCommand: -2 for a missing key, -1 without an
// expiry, else the remaining time (or the absolute time), in seconds
// rounded to the nearest or in milliseconds.
func ttl(s *Server, c *conn, args [][]byte, now int64, ms, abs bool) {
	var r record
	var ok bool
	err := s.view(s.pid(args[1]), now, func(t *txn) error {
		r, ok = t.get(args[1])
		return nil
	})
	if finish(c, err) {
		return
	}
	switch {
	case !ok:
		c.WriteInt(-2)
	case r.exp == 0:
		c.WriteInt(-1)
	default:
		v := r.exp
		if !abs {
			v = max(r.exp-now, 0)
		}
		if !ms {
			v = (v + 500) / 1000
		}
		c.WriteInt64(v)
	}
}

func cmdPersist(s *Server, c *conn, args [][]byte, now int64) {
	done := false
	err := s.update(s.pid(args[1]), false, now, func(t *txn) error {
		r, ok := t.get(args[1])
		if !ok || r.exp == 0 {
			return nil
		}
		done = true
		return t.put(args[1], r.typ, 0, r.val)
	})
	if finish(c, err) {
		return
	}
	if done {
		c.WriteInt(1)
	} else {
		c.WriteInt(0)
	}
}

func cmdRename(s *Server, c *conn, args [][]byte, now int64)   { rename(s, c, args, now, false) }
func cmdRenameNX(s *Server, c *conn, args [][]byte, now int64) { rename(s, c, args, now, true) }

// rename is Redis's renameGenericCommand; both keys must share a partition.
func rename(s *Server, c *conn, args [][]byte, now int64, nx bool) {
	src, dst := args[1], args[2]
	pid, ok := s.samePartition(src, dst)
	if !ok {
		c.WriteError(resp.ErrCrossSlot)
		return
	}
	renamed := false
	err := s.update(pid, false, now, func(t *txn) error {
		r, ok := t.get(src)
		if !ok {
			return errReply(resp.ErrNoSuchKey)
		}
		if string(src) == string(dst) {
			renamed = !nx
			return nil
		}
		if _, exists := t.get(dst); exists && nx {
			return nil
		}
		if err := t.put(dst, r.typ, r.exp, r.val); err != nil {
			return err
		}
		t.del(src)
		renamed = true
		return nil
	})
	if finish(c, err) {
		return
	}
	switch {
	case !nx:
		c.WriteString("OK")
	case renamed:
		c.WriteInt(1)
	default:
		c.WriteInt(0)
	}
}

// cmdCopy is Redis's copyCommand as a cluster node runs it: only database
// 0 exists, so a valid other index is refused as Redis Cluster refuses it.
func cmdCopy(s *Server, c *conn, args [][]byte, now int64) {
	src, dst := args[1], args[2]
	pid, ok := s.samePartition(src, dst)
	if !ok {
		c.WriteError(resp.ErrCrossSlot)
		return
	}
	replace := false
	db := int64(0)
	for j := 3; j < len(args); j++ {
		switch {
		case equalFold(args[j], "replace"):
			replace = true
		case equalFold(args[j], "db") && j+1 < len(args):
			v, ok := parseInt(args[j+1])
			if !ok {
				c.WriteError(resp.ErrNotInteger)
				return
			}
			if v < math.MinInt32 || v > math.MaxInt32 {
				c.WriteError(errIntRange)
				return
			}
			if v < 0 || v >= redisDatabases {
				c.WriteError(resp.ErrDBIndexRange)
				return
			}
			db = v
			j++
		default:
			c.WriteError(resp.ErrSyntax)
			return
		}
	}
	if db != 0 {
		c.WriteError(errCopyOtherDB)
		return
	}
	if string(src) == string(dst) {
		c.WriteError(errSameObject)
		return
	}
	copied := false
	err := s.update(pid, false, now, func(t *txn) error {
		r, ok := t.get(src)
		if !ok {
			return nil
		}
		if _, exists := t.get(dst); exists && !replace {
			return nil
		}
		copied = true
		return t.put(dst, r.typ, r.exp, r.val)
	})
	if finish(c, err) {
		return
	}
	if copied {
		c.WriteInt(1)
	} else {
		c.WriteInt(0)
	}
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
