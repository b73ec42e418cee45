package shard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tidwall/redcon"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/store"
)

// handler executes one of the shard's own commands (those that are not
// about one partition's data: PING, the internal and replication
// commands). args[0] is the command name; arity has been checked. now is
// the command's time (unix ms).
type handler func(s *Server, c *conn, args [][]byte, now int64)

// command is an entry of the shard's own command table.
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

// commandTable maps lower-case names to the shard's own commands. It is
// built once and never modified. Data commands are exec's.
var commandTable = buildCommandTable()

func buildCommandTable() map[string]*command {
	t := make(map[string]*command)
	for _, group := range [][]command{connCommands, internalCommands, replCommands, replStreamCommands} {
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
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
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
	now := start.UnixMilli()
	if !s.realClock {
		now = s.nowMS()
	}
	c.failed = false
	name := "unknown"
	if e := lookupCommand(args[0]); e != nil {
		name = e.name
		if !e.arityOK(len(args)) {
			c.WriteError(resp.WrongArgs(e.name))
		} else {
			e.fn(s, c, args, now)
		}
	} else if x := exec.Lookup(args[0]); x != nil {
		name = x.Name
		if !x.Spec.ArityOK(len(args)) {
			c.WriteError(resp.WrongArgs(x.Name))
		} else {
			s.runData(c, x, args, now, true)
		}
	} else {
		c.WriteError(resp.UnknownCommand(args))
	}
	s.metrics.Commands.Observe(name, !c.failed, time.Since(start))
}

// runData runs a data command in a transaction of its keys' partition,
// after the role checks, and holds its reply until its copies acknowledge.
// The commands Redis Cluster splits by key (MGET, MSET, DEL, UNLINK,
// EXISTS, TOUCH) run once per partition of their keys and their replies
// are merged.
func (s *Server) runData(c *conn, x *exec.Command, args [][]byte, now int64, gated bool) {
	// The connection's gate is reused command after command (hold copies
	// what it keeps), which spares an allocation per command.
	g := &c.gate
	*g = roleGate{}
	parts, msg := s.partsOf(x, args, g.buf[:0])
	if msg != "" {
		c.WriteError(msg)
		return
	}
	if gated && !s.gate(c, x.Spec, parts, g) {
		return
	}
	mark := c.out.Len()
	var err error
	switch {
	case len(parts) == 0:
		err = s.execIn(0, x, args, now, &c.out, false)
	case len(parts) == 1:
		err = s.execIn(parts[0], x, args, now, &c.out, x.Spec.IsWrite())
	default:
		err = s.execSplit(c, x, args, now)
	}
	if err != nil {
		c.out.Truncate(mark)
		writeStoreError(c, err)
	} else if c.out.Len() > mark && c.out.Bytes()[mark] == '-' {
		c.failed = true
	}
	if g.table != nil {
		// Replies leave only once their copies hold what the command
		// did; the whole pipeline waits together.
		c.hold(g, c.out.Len())
	}
}

// partsOf returns the partitions of a command's keys (found as the proxy
// finds them, movable keys included), or the error to answer: Redis's
// own for arguments that locate no keys, CROSSSLOT for a command that
// must be atomic and names keys of several partitions.
func (s *Server) partsOf(x *exec.Command, args [][]byte, parts []int) ([]int, string) {
	ks, msg := x.Spec.FindKeys(args)
	if msg != "" {
		return nil, msg
	}
	for _, i := range ks.Indexes(len(args)) {
		if p := s.pid(args[i]); !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	if len(parts) > 1 && splitStride(x.Name) == 0 {
		return parts, resp.ErrCrossSlot
	}
	return parts, ""
}

// splitStride is, for a command Redis Cluster clients split by key, the
// distance between its keys in args; 0 for every other command.
func splitStride(name string) int {
	switch name {
	case "mget", "del", "unlink", "exists", "touch":
		return 1
	case "mset":
		return 2
	}
	return 0
}

// execIn runs x in one transaction of partition pid and appends its reply
// to out.
func (s *Server) execIn(pid int, x *exec.Command, args [][]byte, now int64, out *exec.Reply, write bool) error {
	ctx := exec.Ctx{R: out, Cfg: &s.execCfg}
	run := func(t *txn) error {
		ctx.Tx = t
		return ctx.Finish(x.Fn(&ctx, args))
	}
	if !write {
		return s.view(pid, now, run)
	}
	if s.parts[pid].Load() == nil {
		// A partition never written: the command runs against its empty
		// view first, and only one that then writes creates the
		// partition (a DEL or EXPIRE of a missing key creates no file).
		mark := out.Len()
		err := s.view(pid, now, run)
		if !errors.Is(err, store.ErrReadOnly) {
			return err
		}
		out.Truncate(mark)
	}
	return s.update(pid, now, run)
}

// execSplit runs a split-by-key command once per partition of its keys
// and merges the replies as Redis would have answered them in one piece:
// integers add up, MGET's values go back in the client's key order, MSET
// answers OK once.
func (s *Server) execSplit(c *conn, x *exec.Command, args [][]byte, now int64) error {
	stride := splitStride(x.Name)
	if (len(args)-1)%stride != 0 {
		c.WriteError(resp.WrongArgs(x.Name))
		return nil
	}
	groups := s.groupKeys(args, 1, stride)
	vals := make([][]byte, len(args))
	sum := int64(0)
	var part exec.Reply
	for _, g := range groups {
		sub := make([][]byte, 0, 1+len(g.idx)*stride)
		sub = append(sub, args[0])
		for _, i := range g.idx {
			sub = append(sub, args[i:i+stride]...)
		}
		part.Reset()
		if err := s.execIn(g.pid, x, sub, now, &part, x.Spec.IsWrite()); err != nil {
			return err
		}
		b := part.Bytes()
		switch {
		case len(b) > 0 && b[0] == '-':
			c.out.Raw(b)
			return nil
		case x.Name == "mget":
			elems, err := resp.SplitArray(b, nil)
			if err != nil || len(elems) != len(g.idx) {
				return fmt.Errorf("shard: malformed MGET reply %q", b)
			}
			for j, i := range g.idx {
				vals[i] = append([]byte(nil), elems[j]...)
			}
		case b[0] == ':':
			n, _ := strconv.ParseInt(string(b[1:len(b)-2]), 10, 64)
			sum += n
		}
	}
	switch {
	case x.Name == "mget":
		c.out.Array(len(args) - 1)
		for _, v := range vals[1:] {
			c.out.Raw(v)
		}
	case x.Name == "mset":
		c.out.OK()
	default:
		c.out.Int(sum)
	}
	return nil
}

// endOfCommand runs after every command. redcon flushes once per batch of
// pipelined commands: the held replies are released before that, and a
// batch of large replies to a slow reader is written early rather than
// all kept in memory at once.
func (s *Server) endOfCommand(c *conn, rc redcon.Conn) {
	big := c.out.Len() >= flushAt
	if len(rc.PeekPipeline()) == 0 || big || c.quit {
		s.release(c)
		rc.WriteRaw(c.out.Bytes())
		c.out.Reset()
	}
	if c.quit {
		_ = rc.Close() // redcon flushes what was written first
		return
	}
	if big {
		if w := redcon.BaseWriter(rc); w != nil {
			if err := w.Flush(); err != nil {
				rc.Close()
			}
		}
	}
}

// flushAt is the size of buffered replies after which they are written
// before the rest of a batch is executed.
const flushAt = 256 << 10

// pid is the partition of a key.
func (s *Server) pid(key []byte) int { return ring.Partition(key, s.cfg.Partitions) }

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
	var r errReply
	if errors.As(err, &r) {
		c.WriteError(string(r)) // a refusal (see handoff.go), written as it is
		return
	}
	c.WriteError("ERR " + err.Error())
}

// errReply carries a Redis error reply out of a transaction function,
// aborting the transaction.
type errReply = exec.Error

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

// cmdQuit answers OK; the connection closes once the reply is written
// (see endOfCommand).
func cmdQuit(s *Server, c *conn, args [][]byte, now int64) {
	c.WriteString("OK")
	c.quit = true
}
