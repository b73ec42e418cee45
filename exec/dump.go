package exec

import (
	"errors"
	"fmt"

	"github.com/shardis/shardis/rdb"
	"github.com/shardis/shardis/store"
)

// DUMP and RESTORE speak Redis's RDB serialization (package rdb), so a
// payload moves between Shardis and Redis either way: MIGRATE-style
// tools, redis-shake and the like work against us unchanged.

func init() {
	register(map[string]Func{
		"dump":    cmdDump,
		"restore": cmdRestore,
	})
}

// Errors of RESTORE, worded as Redis words them.
const (
	errBusyKey       = Error("BUSYKEY Target key name already exists.")
	errDumpPayload   = Error("ERR DUMP payload version or checksum are wrong")
	errBadDataFormat = Error("ERR Bad data format")
	errRestoreTTL    = Error("ERR Invalid TTL value, must be >= 0")
	errRestoreIdle   = Error("ERR Invalid IDLETIME value, must be >= 0")
	errRestoreFreq   = Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
)

// cmdDump serves DUMP key. A collection is written in the encoding its
// record holds, as Redis writes the encoding its object has; elements of
// a listpack or hash table come in our (hash) order rather than Redis's
// insertion or table order, which only moves bytes, not content.
func cmdDump(c *Ctx, args [][]byte) error {
	r, ok := c.Tx.Get(args[1])
	if !ok {
		c.R.Null()
		return nil
	}
	v, err := dumpValue(c, args[1], &r)
	if err != nil {
		return err
	}
	c.R.Bulk(rdb.EncodeDump(v))
	return nil
}

// DumpRecord returns the DUMP payload of key, whose record r was read
// through tx (by ScanKeys, say), whether or not r has expired: a tool
// walking a partition decides about expiry itself from r.Exp.
func DumpRecord(tx *store.Txn, key []byte, r *store.Record) ([]byte, error) {
	v, err := dumpValue(&Ctx{Tx: tx, Cfg: &DefaultConfig}, key, r)
	if err != nil {
		return nil, err
	}
	return rdb.EncodeDump(v), nil
}

// dumpValue loads a key's whole value: DUMP is O(n) in Redis too.
func dumpValue(c *Ctx, key []byte, r *store.Record) (rdb.Value, error) {
	var v rdb.Value
	var err error
	switch r.Type {
	case store.TypeString:
		return rdb.Value{Kind: rdb.KindString, Str: []byte(r.Val)}, nil
	case store.TypeList:
		v = rdb.Value{Kind: rdb.KindList, Elems: make([][]byte, 0, r.Count)}
		err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, listSub(r.Head), listSub(r.Tail), func(_, val string) bool {
			v.Elems = append(v.Elems, []byte(val))
			return true
		})
	case store.TypeSet:
		v = rdb.Value{Kind: rdb.KindSet, Enc: rdb.EncHashtable, Elems: make([][]byte, 0, r.Count)}
		if r.Enc == encIntset {
			v.Enc = rdb.EncIntset
		}
		err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, nil, nil, func(sub, _ string) bool {
			v.Elems = append(v.Elems, []byte(subMember(sub)))
			return true
		})
	case store.TypeHash:
		v = rdb.Value{Kind: rdb.KindHash, Enc: rdb.EncHashtable, Fields: make([]rdb.Pair, 0, r.Count)}
		if r.Enc == encListpack {
			v.Enc = rdb.EncListpack
		}
		err = c.Tx.Ascend(store.SpaceElem, key, r.Gen, nil, nil, func(sub, val string) bool {
			v.Fields = append(v.Fields, rdb.Pair{Field: []byte(subMember(sub)), Value: []byte(val)})
			return true
		})
	case store.TypeZSet:
		v = rdb.Value{Kind: rdb.KindZSet, Enc: rdb.EncSkiplist, ZSet: make([]rdb.ZMember, 0, r.Count)}
		if r.Enc == encListpack {
			v.Enc = rdb.EncListpack
		}
		err = c.Tx.Ascend(store.SpaceScore, key, r.Gen, nil, nil, func(sub, _ string) bool {
			if len(sub) >= 8 {
				v.ZSet = append(v.ZSet, rdb.ZMember{Member: []byte(sub[8:]), Score: scoreFrom(sub)})
			}
			return true
		})
	default:
		return v, fmt.Errorf("exec: DUMP of record type %q", r.Type)
	}
	return v, err
}

// cmdRestore serves RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME
// seconds] [FREQ frequency], checking in Redis's order: options, then an
// existing key, then the TTL, then the payload. IDLETIME and FREQ are
// validated and then ignored, since we keep no LRU or LFU state.
func cmdRestore(c *Ctx, args [][]byte) error {
	key := args[1]
	replace, absTTL := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(args); j++ {
		more := len(args) - j - 1
		switch {
		case eqFold(args[j], "replace"):
			replace = true
		case eqFold(args[j], "absttl"):
			absTTL = true
		case eqFold(args[j], "idletime") && more >= 1 && freq == -1:
			v, ok := parseInt(args[j+1])
			if !ok {
				return ErrNotInt
			}
			if v < 0 {
				return errRestoreIdle
			}
			idle = v
			j++
		case eqFold(args[j], "freq") && more >= 1 && idle == -1:
			v, ok := parseInt(args[j+1])
			if !ok {
				return ErrNotInt
			}
			if v < 0 || v > 255 {
				return errRestoreFreq
			}
			freq = v
			j++
		default:
			return ErrSyntax
		}
	}
	if !replace {
		if _, ok := c.Tx.Get(key); ok {
			return errBusyKey
		}
	}
	ttl, ok := parseInt(args[2])
	if !ok {
		return ErrNotInt
	}
	if ttl < 0 {
		return errRestoreTTL
	}
	v, err := rdb.DecodeDump(args[3])
	if errors.Is(err, rdb.ErrChecksum) {
		return errDumpPayload
	}
	if err != nil {
		return errBadDataFormat
	}
	if replace {
		c.Tx.Delete(key)
	}
	exp := ttl
	if exp != 0 && !absTTL {
		exp += c.Now() // wraps on overflow, into the past, as in Redis
	}
	if exp != 0 && exp <= c.Now() {
		// Already expired: Redis answers OK and creates nothing.
		c.R.OK()
		return nil
	}
	if err := restoreValue(c, key, exp, &v); err != nil {
		return err
	}
	c.R.OK()
	return nil
}

// restoreValue writes a decoded value as key's new record and elements.
func restoreValue(c *Ctx, key []byte, exp int64, v *rdb.Value) error {
	if v.Kind == rdb.KindString {
		return c.Tx.PutString(key, exp, string(v.Str))
	}
	r := store.Record{Exp: exp, Enc: restoredEnc(c.Cfg, v)}
	switch v.Kind {
	case rdb.KindList:
		r.Type, r.Count = store.TypeList, int64(len(v.Elems))
		r.Head, r.Tail = listStart, listStart+r.Count
	case rdb.KindSet:
		r.Type, r.Count = store.TypeSet, int64(len(v.Elems))
	case rdb.KindHash:
		r.Type, r.Count = store.TypeHash, int64(len(v.Fields))
	case rdb.KindZSet:
		r.Type, r.Count = store.TypeZSet, int64(len(v.ZSet))
	}
	// Put first: it gives the new collection its generation.
	if err := c.Tx.Put(key, &r); err != nil {
		return err
	}
	put := func(space byte, sub []byte, val string) error {
		_, err := c.Tx.PutElem(space, key, r.Gen, sub, val)
		return err
	}
	switch v.Kind {
	case rdb.KindList:
		for i, e := range v.Elems {
			if err := put(store.SpaceElem, listSub(r.Head+int64(i)), string(e)); err != nil {
				return err
			}
		}
	case rdb.KindSet:
		for _, m := range v.Elems {
			if err := put(store.SpaceElem, memberSub(m), ""); err != nil {
				return err
			}
		}
	case rdb.KindHash:
		for _, p := range v.Fields {
			if err := put(store.SpaceElem, memberSub(p.Field), string(p.Value)); err != nil {
				return err
			}
		}
	case rdb.KindZSet:
		for _, m := range v.ZSet {
			sb := scoreBytes(m.Score)
			if err := put(store.SpaceElem, memberSub(m.Member), string(sb)); err != nil {
				return err
			}
			if err := put(store.SpaceScore, append(sb, m.Member...), ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// restoredEnc is the encoding Redis 7.0 gives a value it loads, which
// depends on the payload's encoding: a listpack or intset is kept unless
// it has too many entries (its element sizes are not checked), a plain
// hash, set or sorted set is made small only if it qualifies on both
// counts, and a zipmap is checked on both.
func restoredEnc(cfg *Config, v *rdb.Value) byte {
	switch v.Kind {
	case rdb.KindList:
		return encQuicklist
	case rdb.KindSet:
		n := len(v.Elems)
		if n > cfg.SetMaxIntsetEntries {
			return encHashtable
		}
		if v.ObjType == rdb.TypeSetIntset {
			return encIntset
		}
		for _, m := range v.Elems {
			if _, ok := parseInt(m); !ok {
				return encHashtable
			}
		}
		return encIntset
	case rdb.KindHash:
		if len(v.Fields) > cfg.HashMaxListpackEntries {
			return encHashtable
		}
		if v.ObjType == rdb.TypeHash || v.ObjType == rdb.TypeHashZipmap {
			for _, p := range v.Fields {
				if len(p.Field) > cfg.HashMaxListpackValue || len(p.Value) > cfg.HashMaxListpackValue {
					return encHashtable
				}
			}
		}
		return encListpack
	case rdb.KindZSet:
		if len(v.ZSet) > cfg.ZSetMaxListpackEntries {
			return encSkiplist
		}
		if v.ObjType == rdb.TypeZSet || v.ObjType == rdb.TypeZSet2 {
			for _, m := range v.ZSet {
				if len(m.Member) > cfg.ZSetMaxListpackValue {
					return encSkiplist
				}
			}
		}
		return encListpack
	}
	return encNone
}
