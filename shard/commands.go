package shard

import (
	"math"
	"time"

	"github.com/tidwall/redcon"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// handler executes one command. args[0] is the command name; arity has
// been checked. now is the command's time (unix ms), read once so that
// every key of a command sees the same instant, as in Redis.
type handler func(s *Server, c *conn, args [][]byte, now int64)

// command is an entry of the command table.
type command struct {
	name  string // canonical lower-case name, also the metrics label
	fn    handler
	arity int           // Redis convention: n = exactly n args, -n = at least n (name included)
	spec  *resp.Command // the shared command table's entry; nil for internal commands
}

func (e *command) arityOK(n int) bool {
	if e.spec != nil {
		return e.spec.ArityOK(n)
	}
	if e.arity < 0 {
		return n >= -e.arity
	}
	return n == e.arity
}

// commandTable maps lower-case names to commands. It is built once and
// never modified. Each data type adds its commands from its own file
// (stringCommands, keyCommands, …).
var commandTable = buildCommandTable()

func buildCommandTable() map[string]*command {
	t := make(map[string]*command)
	for _, group := range [][]command{stringCommands, keyCommands, connCommands, internalCommands, replCommands, replStreamCommands} {
		for i := range group {
			e := group[i]
			e.spec = resp.Lookup([]byte(e.name))
			t[e.name] = &e
		}
	}
	return t
}

// maxCommandName bounds the names looked up; longer names are unknown.
const maxCommandName = 32

func lookupCommand(name []byte) *command {
	if len(name) > maxCommandName {
		return nil
	}
	var buf [maxCommandName]byte
	for i, c := range name {
		buf[i] = lower(c)
	}
	return commandTable[string(buf[:len(name)])]
}

// handle is redcon's handler: it dispatches one command and records it.
func (s *Server) handle(rc redcon.Conn, cmd redcon.Command) {
	c, _ := rc.Context().(*conn)
	if c == nil {
		c = &conn{Conn: rc}
		rc.SetContext(c)
	}
	defer s.endOfCommand(c, rc)
	if c.quit {
		return // Redis stops reading after QUIT
	}
	start := time.Now()
	args := cmd.Args
	if len(args) == 0 {
		return
	}
	e := lookupCommand(args[0])
	if e == nil {
		c.WriteError(resp.UnknownCommand(args))
		s.metrics.Commands.Observe("unknown", false, time.Since(start))
		return
	}
	c.failed = false
	if !e.arityOK(len(args)) {
		c.WriteError(resp.WrongArgs(e.name))
	} else {
		now := start.UnixMilli()
		if !s.realClock {
			now = s.nowMS()
		}
		// The connection's gate is reused command after command (hold
		// copies what it keeps), which spares an allocation per command.
		g := &c.gate
		*g = roleGate{}
		if s.gate(c, e, args, g) {
			e.fn(s, c, args, now)
			if w := redcon.BaseWriter(rc); g.table != nil && w != nil {
				// Replies leave only once their copies hold what the
				// command did; the whole pipeline waits together.
				c.hold(g, bufferLen(w))
			} else {
				s.awaitReplicas(c, g)
			}
		}
	}
	s.metrics.Commands.Observe(e.name, !c.failed, time.Since(start))
}

// endOfCommand runs after every command. redcon flushes once per batch of
// pipelined commands: the held replies are released before that, and
// before a batch of large replies to a slow reader is written early
// rather than all kept in memory at once.
func (s *Server) endOfCommand(c *conn, rc redcon.Conn) {
	w := redcon.BaseWriter(rc)
	big := w != nil && bufferLen(w) >= flushAt
	if len(rc.PeekPipeline()) == 0 || big {
		s.release(c)
	}
	if big {
		if err := w.Flush(); err != nil {
			rc.Close()
		}
	}
}

// flushAt is the size of buffered replies after which they are written
// before the rest of a batch is executed.
const flushAt = 256 << 10

// pid is the partition of a key.
func (s *Server) pid(key []byte) int { return ring.Partition(key, s.cfg.Partitions) }

// samePartition returns the partition shared by the keys, or false.
func (s *Server) samePartition(keys ...[]byte) (int, bool) {
	p := s.pid(keys[0])
	for _, k := range keys[1:] {
		if s.pid(k) != p {
			return 0, false
		}
	}
	return p, true
}

// keyGroup is the positions (in args) of the keys of one partition.
type keyGroup struct {
	pid int
	idx []int
}

// groupKeys groups the keys at args[first], args[first+step], … by
// partition, keeping each group's keys in argument order.
func (s *Server) groupKeys(args [][]byte, first, step int) []keyGroup {
	var groups []keyGroup
	var byPid map[int]int
	for i := first; i < len(args); i += step {
		p := s.pid(args[i])
		if len(groups) == 1 && groups[0].pid == p {
			groups[0].idx = append(groups[0].idx, i)
			continue
		}
		if byPid == nil {
			byPid = make(map[int]int)
			for gi, g := range groups {
				byPid[g.pid] = gi
			}
		}
		gi, ok := byPid[p]
		if !ok {
			gi = len(groups)
			byPid[p] = gi
			groups = append(groups, keyGroup{pid: p})
		}
		groups[gi].idx = append(groups[gi].idx, i)
	}
	return groups
}

// writeStoreError answers a failed store operation.
func writeStoreError(c *conn, err error) {
	c.WriteError("ERR " + err.Error())
}

// errReply carries a Redis error reply out of a transaction function,
// aborting the transaction.
type errReply string

func (e errReply) Error() string { return string(e) }

// finish writes err as the reply when the transaction failed, and reports
// whether it did. Redis errors returned from inside the transaction are
// written verbatim; store failures get an "ERR" prefix.
func finish(c *conn, err error) bool {
	if err == nil {
		return false
	}
	if r, ok := err.(errReply); ok {
		c.WriteError(string(r))
	} else {
		writeStoreError(c, err)
	}
	return true
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
		case set && equalFold(opt, "nx") && flags&optXX == 0:
			flags |= optNX
		case set && equalFold(opt, "xx") && flags&optNX == 0:
			flags |= optXX
		case set && equalFold(opt, "get"):
			flags |= optGet
		case set && equalFold(opt, "keepttl") && flags&(optPersist|optExpire) == 0:
			flags |= optKeepTTL
		case !set && equalFold(opt, "persist") && flags&(optExpire|optKeepTTL) == 0:
			flags |= optPersist
		case equalFold(opt, "ex") && flags&(optKeepTTL|optPersist|optEXAT|optPX|optPXAT) == 0 && next:
			flags |= optEX
			expire = args[j+1]
			j++
		case equalFold(opt, "px") && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPXAT) == 0 && next:
			flags |= optPX
			expire = args[j+1]
			j++
		case equalFold(opt, "exat") && flags&(optKeepTTL|optPersist|optEX|optPX|optPXAT) == 0 && next:
			flags |= optEXAT
			expire = args[j+1]
			j++
		case equalFold(opt, "pxat") && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPX) == 0 && next:
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

var connCommands = []command{
	{name: "ping", fn: cmdPing, arity: -1},
	{name: "quit", fn: cmdQuit, arity: -1},
}

func cmdPing(s *Server, c *conn, args [][]byte, now int64) {
	switch len(args) {
	case 1:
		c.WriteString("PONG")
	case 2:
		c.WriteBulk(args[1])
	default:
		c.WriteError(resp.WrongArgs("ping"))
	}
}

func cmdQuit(s *Server, c *conn, args [][]byte, now int64) {
	c.WriteString("OK")
	c.quit = true
	_ = c.Close()
}
