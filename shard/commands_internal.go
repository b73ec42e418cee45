package shard

import (
	"math"
	"math/rand/v2"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// eqFold reports whether b is s (lower case), ignoring ASCII case.
var eqFold = exec.EqFold

// Internal commands, sent by proxies only. Their replies are fixed formats
// the proxy parses:
//
//	SHARDIS.HELLO                     *2 $id :partitions
//	SHARDIS.SCAN p cursor count [MATCH pat] [TYPE t]
//	                                  *2 :next *N $key…  (next -1: partition done)
//	SHARDIS.KEYS pattern              *N $key…
//	SHARDIS.DBSIZE                    :keys (expired keys not yet reaped included)
//	SHARDIS.FLUSH                     +OK
//	SHARDIS.RANDOMKEY                 $key or $-1
//	SHARDIS.STATS                     *2 :keys :keys-with-expiry
var internalCommands = []command{
	{name: "shardis.hello", fn: cmdHello, arity: 1},
	{name: "shardis.scan", fn: cmdScan, arity: -4},
	{name: "shardis.keys", fn: cmdKeys, arity: 2},
	{name: "shardis.dbsize", fn: cmdDBSize, arity: 1},
	{name: "shardis.flush", fn: cmdFlush, arity: 1},
	{name: "shardis.randomkey", fn: cmdRandomKey, arity: 1},
	{name: "shardis.stats", fn: cmdStats, arity: 1},
}

// Error replies of internal commands (never seen by clients as such).
const (
	errInvalidPartition = "ERR invalid partition"
	errInvalidCursor    = "ERR invalid cursor"
)

func cmdHello(s *Server, c *conn, args [][]byte, now int64) {
	c.WriteArray(2)
	c.WriteBulkString(s.cfg.ID)
	c.WriteInt(s.cfg.Partitions)
}

// scanArgs is a parsed SHARDIS.SCAN.
type scanArgs struct {
	pid    int
	cursor uint32
	count  int
	match  []byte // nil: every key
	typ    []byte // nil: every type
}

func (s *Server) parseScan(args [][]byte) (scanArgs, string) {
	var a scanArgs
	p, ok := exec.ParseInt(args[1])
	if !ok || p < 0 || p >= int64(s.cfg.Partitions) {
		return a, errInvalidPartition
	}
	a.pid = int(p)
	cur, ok := exec.ParseInt(args[2])
	if !ok || cur < 0 || cur > math.MaxUint32 {
		return a, errInvalidCursor
	}
	a.cursor = uint32(cur)
	n, ok := exec.ParseInt(args[3])
	if !ok {
		return a, resp.ErrNotInteger
	}
	if n < 1 {
		return a, resp.ErrSyntax
	}
	a.count = int(min(n, math.MaxInt32))
	for j := 4; j < len(args); j += 2 {
		if j+1 >= len(args) {
			return a, resp.ErrSyntax
		}
		switch {
		case eqFold(args[j], "match"):
			a.match = args[j+1]
		case eqFold(args[j], "type"):
			a.typ = args[j+1]
		default:
			return a, resp.ErrSyntax
		}
	}
	return a, ""
}

// scanPartition returns the next batch of keys of a partition in hash
// order from cursor: about count records, extended so that every record of
// the last hash is in the same batch, which makes the next hash a complete
// cursor. next is -1 when the partition is exhausted. Filters apply after
// the batch is chosen, as in Redis.
func (s *Server) scanPartition(a scanArgs, now int64) (next int64, keys []string, err error) {
	next = -1
	err = s.view(a.pid, now, func(t *txn) error {
		visited := 0
		var last uint32
		return t.ScanKeys(a.cursor, func(h uint32, key string, r store.Record) bool {
			if visited >= a.count && h != last {
				next = int64(h)
				return false
			}
			visited++
			last = h
			if r.Expired(now) {
				return true
			}
			if a.typ != nil && !eqFold(a.typ, store.TypeName(r.Type)) {
				return true
			}
			if a.match != nil && !exec.GlobMatch(a.match, []byte(key)) {
				return true
			}
			keys = append(keys, key)
			return true
		})
	})
	return next, keys, err
}

func cmdScan(s *Server, c *conn, args [][]byte, now int64) {
	a, msg := s.parseScan(args)
	if msg != "" {
		c.WriteError(msg)
		return
	}
	next, keys, err := s.scanPartition(a, now)
	if finish(c, err) {
		return
	}
	c.WriteArray(2)
	c.WriteInt64(next)
	c.WriteArray(len(keys))
	for _, k := range keys {
		c.WriteBulkString(k)
	}
}

func cmdKeys(s *Server, c *conn, args [][]byte, now int64) {
	pattern := args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	var keys []string
	for pid := range s.parts {
		if s.parts[pid].Load() == nil || !s.serves(pid) {
			continue
		}
		err := s.view(pid, now, func(t *txn) error {
			return t.ScanKeys(0, func(_ uint32, key string, r store.Record) bool {
				if r.Expired(now) {
					return true
				}
				if all || exec.GlobMatch(pattern, []byte(key)) {
					keys = append(keys, key)
				}
				return true
			})
		})
		if finish(c, err) {
			return
		}
	}
	c.WriteArray(len(keys))
	for _, k := range keys {
		c.WriteBulkString(k)
	}
}

// dbsize is the number of records on the shard, expired ones not yet
// reaped included, as Redis's DBSIZE counts them. Each partition's two
// counts are read under its write lock, so they agree with each other (a
// commit updates the expiry index just after the store).
// serves reports whether the keyspace commands (DBSIZE, KEYS, FLUSH,
// RANDOMKEY) cover partition pid here: every partition until roles are
// applied, then only those this shard masters, so that a proxy asking every
// shard counts each key once and not once per copy.
func (s *Server) serves(pid int) bool {
	t := s.roles.table.Load()
	return t == nil || t.master[pid]
}

func (s *Server) dbsize() (keys, expiring int64) {
	for pid := range s.parts {
		if p := s.parts[pid].Load(); p != nil && s.serves(pid) {
			p.mu.Lock()
			keys += int64(p.keys())
			expiring += p.expiring.Load()
			p.mu.Unlock()
		}
	}
	return keys, expiring
}

func cmdDBSize(s *Server, c *conn, args [][]byte, now int64) {
	n, _ := s.dbsize()
	c.WriteInt64(n)
}

func cmdStats(s *Server, c *conn, args [][]byte, now int64) {
	n, e := s.dbsize()
	c.WriteArray(2)
	c.WriteInt64(n)
	c.WriteInt64(e)
}

func cmdFlush(s *Server, c *conn, args [][]byte, now int64) {
	for pid := range s.parts {
		if !s.serves(pid) {
			continue // its master flushes it, and the followers by replication
		}
		if finish(c, s.flushPartition(pid)) {
			return
		}
	}
	c.WriteString("OK")
}

// randomKeyTries bounds the partitions tried by SHARDIS.RANDOMKEY before it
// falls back to walking them all in order.
const randomKeyTries = 8

func cmdRandomKey(s *Server, c *conn, args [][]byte, now int64) {
	key, ok, err := s.randomKey(now)
	if finish(c, err) {
		return
	}
	if !ok {
		c.WriteNull()
		return
	}
	c.WriteBulkString(key)
}

// randomKey picks a partition with probability proportional to its size,
// then the first live key at or after a random hash (wrapping around).
func (s *Server) randomKey(now int64) (string, bool, error) {
	type sized struct {
		pid int
		n   int
	}
	var parts []sized
	total := 0
	for pid := range s.parts {
		if p := s.parts[pid].Load(); p != nil && s.serves(pid) {
			if n := p.keys(); n > 0 {
				parts = append(parts, sized{pid, n})
				total += n
			}
		}
	}
	if total == 0 {
		return "", false, nil
	}
	order := make([]int, 0, len(parts)+randomKeyTries)
	for range randomKeyTries {
		x := rand.IntN(total)
		for _, p := range parts {
			if x < p.n {
				order = append(order, p.pid)
				break
			}
			x -= p.n
		}
	}
	for _, p := range parts {
		order = append(order, p.pid)
	}
	for _, pid := range order {
		key, ok, err := s.randomKeyIn(pid, rand.Uint32(), now)
		if err != nil || ok {
			return key, ok, err
		}
	}
	return "", false, nil
}

func (s *Server) randomKeyIn(pid int, pivot uint32, now int64) (key string, found bool, err error) {
	err = s.view(pid, now, func(t *txn) error {
		pick := func(_ uint32, k string, r store.Record) bool {
			if r.Expired(now) {
				return true
			}
			key, found = k, true
			return false
		}
		if err := t.ScanKeys(pivot, pick); err != nil || found {
			return err
		}
		return t.DescendKeys(pivot, pick)
	})
	return key, found, err
}
