package exec

import (
	"math"
	"runtime"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

func init() {
	register(map[string]Func{"memory": cmdMemory})
}

// buntItemOverhead is what one BuntDB item costs in memory beyond the
// allocations of its key and value strings: the item struct and its share
// of B-tree nodes. Measured here (buntdb v1.3.0, Go 1.26, :memory:, no
// TTLs, one index) as the HeapAlloc growth after runtime.GC over 200,000
// Sets of fresh strings, minus the strings' size-class-rounded lengths:
// 80.7 B per item for key/value lengths 16/0, 24/8, 40/16, 64/50 and
// 100/100 alike (about 90 B per key once typical strings' rounding is
// folded in).
const buntItemOverhead = 80

// memSamplesDefault is Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES.
const memSamplesDefault = 5

// memAllocSize approximates the bytes Go's allocator gives a string of n
// bytes: size classes 8 bytes apart up to 32, 16 apart up to 256, then
// an eighth of the power of two below.
func memAllocSize(n int) int64 {
	if n == 0 {
		return 0
	}
	step := 8
	switch {
	case n > 256:
		step = 1
		for step*2 < n {
			step *= 2
		}
		step /= 8
	case n > 32:
		step = 16
	}
	return int64((n + step - 1) / step * step)
}

// memItemCost is the memory one BuntDB item with these key and value
// lengths takes.
func memItemCost(keyLen, valLen int) int64 {
	return buntItemOverhead + memAllocSize(keyLen) + memAllocSize(valLen)
}

// memElemKeyLen is the length of a storage key made by store.ElemKey.
func memElemKeyLen(key []byte, subLen int) int {
	return 1 + 4 + memUvarintLen(uint64(len(key))) + len(key) + 8 + subLen
}

func memUvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// memRecordCost is the memory of a key record alone.
func memRecordCost(key []byte, r *store.Record) int64 {
	val := 17 + len(r.Val) // header: type, version, expiry
	if store.IsCollection(r.Type) {
		val = 17 + 33 // encoding, generation, count, head, tail
	}
	return memItemCost(len(store.RecordKey(key)), val)
}

// memoryUsage is MEMORY USAGE's figure for key: the bytes its storage
// keys cost in our store (the key record plus, for a collection, every
// element, two items per sorted-set member), not Redis's jemalloc figure
// for its own encodings, so that it answers "what does this key cost
// here". As in Redis, a collection in a small encoding (bounded by the
// listpack and intset thresholds) is measured whole; a bigger one has its
// first samples elements measured and their mean multiplied by the
// count (samples <= 0: all of them).
func memoryUsage(c *Ctx, key []byte, r *store.Record, samples int64) (int64, error) {
	total := memRecordCost(key, r)
	if !store.IsCollection(r.Type) || r.Count == 0 {
		return total, nil
	}
	if samples <= 0 || r.Enc == encListpack || r.Enc == encIntset {
		samples = math.MaxInt64
	}
	var sum, seen int64
	cost := func(sub, val string) bool {
		switch r.Type {
		case store.TypeZSet:
			sum += memItemCost(memElemKeyLen(key, len(sub)), len(val))
			sum += memItemCost(memElemKeyLen(key, 8+len(subMember(sub))), 0)
		default:
			sum += memItemCost(memElemKeyLen(key, len(sub)), len(val))
		}
		seen++
		return seen < samples
	}
	var from []byte
	if r.Type == store.TypeList {
		from = listSub(r.Head)
	}
	if err := c.Tx.Ascend(store.SpaceElem, key, r.Gen, from, nil, cost); err != nil {
		return 0, err
	}
	if seen == 0 {
		return total, nil
	}
	if seen >= r.Count {
		return total + sum, nil
	}
	return total + int64(float64(sum)/float64(seen)*float64(r.Count)), nil
}

// cmdMemory serves MEMORY USAGE and HELP as Redis does, and the
// server-wide subcommands in Redis's reply shapes: STATS with this
// process's Go heap figures where Redis gives jemalloc's (and 0 for what a
// partition transaction cannot see: key counts, clients, buffers), DOCTOR
// with Redis's "no issue" report, MALLOC-STATS with Redis's answer when
// its allocator keeps no statistics, and PURGE with OK (Go returns memory
// to the system on its own schedule).
func cmdMemory(c *Ctx, args [][]byte) error {
	sub := args[1]
	fixed := func(name string) error {
		if len(args) != 2 {
			return Error(resp.WrongArgs("memory|" + name))
		}
		return nil
	}
	switch {
	case eqFold(sub, "help"):
		if err := fixed("help"); err != nil {
			return err
		}
		c.R.Help(memoryHelp)
	case eqFold(sub, "usage"):
		return memoryUsageCmd(c, args)
	case eqFold(sub, "stats"):
		if err := fixed("stats"); err != nil {
			return err
		}
		memoryStats(c)
	case eqFold(sub, "doctor"):
		if err := fixed("doctor"); err != nil {
			return err
		}
		c.R.Verbatim("txt", "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n")
	case eqFold(sub, "malloc-stats"):
		if err := fixed("malloc-stats"); err != nil {
			return err
		}
		c.R.Verbatim("txt", "Stats not supported for the current allocator")
	case eqFold(sub, "purge"):
		if err := fixed("purge"); err != nil {
			return err
		}
		c.R.OK()
	default:
		return Error(resp.UnknownSubcommand("memory", string(sub)))
	}
	return nil
}

// memoryUsageCmd is MEMORY USAGE key [SAMPLES count]: options are checked
// before the key is looked up, a missing key is a null.
func memoryUsageCmd(c *Ctx, args [][]byte) error {
	if len(args) < 3 {
		return Error(resp.WrongArgs("memory|usage"))
	}
	samples := int64(memSamplesDefault)
	for j := 3; j < len(args); j++ {
		if !eqFold(args[j], "samples") || j+1 >= len(args) {
			return ErrSyntax
		}
		n, ok := parseInt(args[j+1])
		if !ok {
			return ErrNotInt
		}
		if n < 0 {
			return ErrSyntax
		}
		samples = n
		j++
	}
	r, ok := c.Tx.Get(args[2])
	if !ok {
		c.R.Null()
		return nil
	}
	n, err := memoryUsage(c, args[2], &r, samples)
	if err != nil {
		return err
	}
	c.R.Int(n)
	return nil
}

// memoryStats writes MEMORY STATS in Redis 7.0's shape and order.
func memoryStats(c *Ctx) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	alloc := int64(m.HeapAlloc)
	active := int64(m.HeapInuse)
	resident := int64(m.HeapSys - m.HeapReleased)
	sys := int64(m.Sys)
	ratio := func(a, b int64) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	ints := func(pairs ...any) {
		for i := 0; i < len(pairs); i += 2 {
			c.R.BulkString(pairs[i].(string))
			switch v := pairs[i+1].(type) {
			case int64:
				c.R.Int(v)
			case float64:
				c.R.Double(v)
			}
		}
	}
	c.R.Map(28)
	ints("peak.allocated", alloc, "total.allocated", alloc, "startup.allocated", int64(0),
		"replication.backlog", int64(0), "clients.slaves", int64(0), "clients.normal", int64(0),
		"cluster.links", int64(0), "aof.buffer", int64(0), "lua.caches", int64(0),
		"functions.caches", int64(0))
	c.R.BulkString("db.0")
	c.R.Map(3)
	ints("overhead.hashtable.main", int64(0), "overhead.hashtable.expires", int64(0),
		"overhead.hashtable.slot-to-keys", int64(0))
	ints("overhead.total", int64(0), "keys.count", int64(0), "keys.bytes-per-key", int64(0),
		"dataset.bytes", alloc, "dataset.percentage", 100.0, "peak.percentage", 100.0,
		"allocator.allocated", alloc, "allocator.active", active, "allocator.resident", resident,
		"allocator-fragmentation.ratio", ratio(active, alloc), "allocator-fragmentation.bytes", active-alloc,
		"allocator-rss.ratio", ratio(resident, active), "allocator-rss.bytes", resident-active,
		"rss-overhead.ratio", ratio(sys, resident), "rss-overhead.bytes", sys-resident,
		"fragmentation", ratio(sys, alloc), "fragmentation.bytes", sys-alloc)
}

var memoryHelp = []string{
	"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
	"HELP",
	"    Prints this help.",
}
