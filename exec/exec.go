// Package exec runs every Redis command as a plain function over one
// partition's store transaction, writing its answer into a reply value: no
// sockets, no connections, no replication, so several commands can run in
// one transaction and each is tested against a store in memory.
package exec

import (
	"math/rand/v2"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// Func executes one command whose name and arity have been checked.
// args[0] is the command name. It writes exactly one reply into c.R, or
// returns an error: an Error is the command's Redis error reply; any other
// error is a store failure. A command validates everything before its
// first write, so an error never leaves half a command applied (the caller
// may still roll the transaction back).
type Func func(c *Ctx, args [][]byte) error

// Error is a command's error reply, worded exactly as Redis words it
// (without the leading '-').
type Error string

func (e Error) Error() string { return string(e) }

// Common error replies.
const (
	ErrWrongType = Error(resp.ErrWrongType)
	ErrSyntax    = Error(resp.ErrSyntax)
	ErrNotInt    = Error(resp.ErrNotInteger)
	ErrNotFloat  = Error(resp.ErrNotFloat)
)

// Error replies that commands of several types give, worded as Redis
// words them: one constant each, so that their wording cannot drift apart
// between the types.
const (
	errOutOfRange    = Error("ERR value is out of range")
	errNotPositive   = Error("ERR value is out of range, must be positive")
	errLongRange     = Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	errNumKeys       = Error("ERR numkeys should be greater than 0")
	errCountPositive = Error("ERR count should be greater than 0")
	errLimitNegative = Error("ERR LIMIT can't be negative")
)

// Config holds the thresholds at which Redis changes a collection's
// encoding; OBJECT ENCODING reports the same encoding at the same sizes.
// Zero fields take Redis 7.0's defaults.
type Config struct {
	HashMaxListpackEntries int // hash-max-listpack-entries, default 512
	HashMaxListpackValue   int // hash-max-listpack-value, default 64
	SetMaxIntsetEntries    int // set-max-intset-entries, default 512
	ZSetMaxListpackEntries int // zset-max-listpack-entries, default 128
	ZSetMaxListpackValue   int // zset-max-listpack-value, default 64
	// MaxStringLen bounds a string a command may build (APPEND,
	// SETRANGE, SETBIT): proto-max-bulk-len, default 512 MiB.
	MaxStringLen int64
}

// WithDefaults returns cfg with every zero field set to its default.
func (cfg Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.HashMaxListpackEntries, 512)
	def(&cfg.HashMaxListpackValue, 64)
	def(&cfg.SetMaxIntsetEntries, 512)
	def(&cfg.ZSetMaxListpackEntries, 128)
	def(&cfg.ZSetMaxListpackValue, 64)
	if cfg.MaxStringLen == 0 {
		cfg.MaxStringLen = 512 << 20
	}
	return cfg
}

// DefaultConfig is Config{}.WithDefaults().
var DefaultConfig = Config{}.WithDefaults()

// Ctx is what a command sees: one partition's transaction, the reply to
// write, the encoding thresholds and a source of randomness. It is used
// by one goroutine.
type Ctx struct {
	Tx  *store.Txn
	R   *Reply
	Cfg *Config
	// Rand serves SPOP, SRANDMEMBER, HRANDFIELD and the like; tests seed
	// it. nil uses the process's generator.
	Rand *rand.Rand
}

// Now is the command's time in unix ms.
func (c *Ctx) Now() int64 { return c.Tx.Now() }

func (c *Ctx) intN(n int) int {
	if c.Rand != nil {
		return c.Rand.IntN(n)
	}
	return rand.IntN(n)
}

func (c *Ctx) uint64() uint64 {
	if c.Rand != nil {
		return c.Rand.Uint64()
	}
	return rand.Uint64()
}

// Command is an entry of the command table.
type Command struct {
	Name string // lower case
	Fn   Func
	// Spec is the shared command table's entry (arity, flags, keys).
	Spec *resp.Command
}

var table = map[string]*Command{}

// register adds a data type's commands; each type's file calls it from
// init. A name without an entry in resp's table is a programming error.
func register(cmds map[string]Func) {
	for name, fn := range cmds {
		spec := resp.Lookup([]byte(name))
		if spec == nil {
			panic("exec: " + name + " has no entry in resp's command table")
		}
		if _, dup := table[name]; dup {
			panic("exec: " + name + " registered twice")
		}
		table[name] = &Command{Name: name, Fn: fn, Spec: spec}
	}
}

// maxName bounds the names looked up; longer names are unknown.
const maxName = 32

// Lookup returns the command named name (any case), or nil.
func Lookup(name []byte) *Command {
	if len(name) > maxName {
		return nil
	}
	var buf [maxName]byte
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return table[string(buf[:len(name)])]
}

// Run executes one command against tx and appends its reply to r. It
// checks the arity; an error reply is written into r, and only a store
// failure is returned.
func Run(c *Ctx, args [][]byte) error {
	cmd := Lookup(args[0])
	if cmd == nil {
		c.R.Error(resp.UnknownCommand(args))
		return nil
	}
	if !cmd.Spec.ArityOK(len(args)) {
		c.R.Error(resp.WrongArgs(cmd.Name))
		return nil
	}
	return c.Finish(cmd.Fn(c, args))
}

// Finish writes err as the reply when it is an Error, and returns any
// other error.
func (c *Ctx) Finish(err error) error {
	if e, ok := err.(Error); ok {
		c.R.Error(string(e))
		return nil
	}
	return err
}

// eqFold reports whether b is s, ignoring ASCII case; s is lower case.
// Option names are matched this way, without allocating.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// EqFold is eqFold for the shard's own commands.
func EqFold(b []byte, s string) bool { return eqFold(b, s) }

// parseMPop parses "numkeys key... where [COUNT count]" from args[1], the
// arguments of LMPOP and ZMPOP, which Redis checks alike and in this
// order; where parses the end to pop from (LEFT|RIGHT, MIN|MAX). count is
// 1 without COUNT.
func parseMPop(args [][]byte, where func([]byte) (bool, error)) (keys [][]byte, end bool, count int64, err error) {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		return nil, false, 0, errNumKeys
	}
	if numkeys >= int64(len(args)-2) {
		return nil, false, 0, ErrSyntax
	}
	whereAt := 2 + int(numkeys)
	if end, err = where(args[whereAt]); err != nil {
		return nil, false, 0, err
	}
	count = -1
	for j := whereAt + 1; j < len(args); j++ {
		if count == -1 && eqFold(args[j], "count") && j+1 < len(args) {
			j++
			v, ok := parseInt(args[j])
			if !ok || v < 1 {
				return nil, false, 0, errCountPositive
			}
			count = v
			continue
		}
		return nil, false, 0, ErrSyntax
	}
	if count == -1 {
		count = 1
	}
	return args[2:whereAt], end, count, nil
}

// getType returns key's live record if it has type typ; a record of
// another type is WRONGTYPE.
func getType(c *Ctx, key []byte, typ byte) (store.Record, bool, error) {
	r, ok := c.Tx.Get(key)
	if ok && r.Type != typ {
		return r, false, ErrWrongType
	}
	return r, ok, nil
}
