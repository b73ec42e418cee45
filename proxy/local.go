package proxy

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/shardis/shardis/resp"
)

// localHandler answers a command on the proxy itself. earlier holds this
// client's dispatched commands that are not answered yet.
type localHandler func(p *Proxy, cl *client, args [][]byte, earlier []*reply) *reply

// adminCommands are Shardis's own commands, outside Redis's command table
// (so COMMAND does not list them). Each takes no arguments unless
// adminArgs says otherwise.
var adminCommands = map[string]localHandler{
	"shardis.status":       cmdStatus,
	"shardis.decommission": cmdDecommission,
	"shardis.rebalance":    cmdRebalance,
	"shardis.backup":       cmdBackup,
	"shardis.backupread":   cmdBackupRead,
	"shardis.backupdone":   cmdBackupDone,
}

// serverVersion is the Redis version whose behaviour Shardis reproduces;
// clients that feature-detect by version read it from HELLO and INFO.
const serverVersion = "7.0.15"

func done(b []byte) *reply { return &reply{out: b} }

func errReply(msg string) *reply { return done(resp.AppendError(nil, msg)) }

func cmdPing(_ *Proxy, _ *client, args [][]byte, _ []*reply) *reply {
	if len(args) > 2 {
		return errReply(resp.WrongArgs("ping"))
	}
	if len(args) == 2 {
		return done(resp.AppendBulk(nil, args[1]))
	}
	return done(resp.AppendSimple(nil, "PONG"))
}

func cmdEcho(_ *Proxy, _ *client, args [][]byte, _ []*reply) *reply {
	return done(resp.AppendBulk(nil, args[1]))
}

func cmdQuit(_ *Proxy, _ *client, _ [][]byte, _ []*reply) *reply {
	r := done(resp.AppendSimple(nil, "OK"))
	r.quit = true
	return r
}

func cmdReset(p *Proxy, cl *client, _ [][]byte, _ []*reply) *reply {
	cl.proto = resp.RESP2
	cl.name = ""
	cl.authed = p.cfg.Password == ""
	return &reply{out: resp.AppendSimple(nil, "RESET"), proto: resp.RESP2}
}

func cmdSelect(_ *Proxy, _ *client, args [][]byte, _ []*reply) *reply {
	n, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil || n < -(1<<31) || n > 1<<31-1 {
		return errReply(resp.ErrNotInteger)
	}
	if n != 0 {
		// One keyspace, like Redis configured with "databases 1".
		return errReply(resp.ErrDBIndexRange)
	}
	return done(resp.AppendSimple(nil, "OK"))
}

func (p *Proxy) checkPassword(user, pass []byte) bool {
	return bytes.Equal(user, []byte("default")) &&
		subtle.ConstantTimeCompare(pass, []byte(p.cfg.Password)) == 1
}

func cmdAuth(p *Proxy, cl *client, args [][]byte, _ []*reply) *reply {
	if len(args) > 3 {
		return errReply(resp.ErrSyntax)
	}
	user, pass := []byte("default"), args[1]
	if len(args) == 3 {
		user, pass = args[1], args[2]
	}
	if p.cfg.Password == "" && len(args) == 2 {
		return errReply(resp.ErrAuthNotConfigured)
	}
	if p.cfg.Password == "" {
		// With no password the default user accepts any password.
		if string(user) == "default" {
			cl.authed = true
			return done(resp.AppendSimple(nil, "OK"))
		}
		return errReply(resp.ErrWrongPass)
	}
	if !p.checkPassword(user, pass) {
		return errReply(resp.ErrWrongPass)
	}
	cl.authed = true
	return done(resp.AppendSimple(nil, "OK"))
}

func cmdHello(p *Proxy, cl *client, args [][]byte, _ []*reply) *reply {
	proto := cl.proto
	if len(args) >= 2 {
		v, err := strconv.ParseInt(string(args[1]), 10, 64)
		if err != nil {
			return errReply("ERR Protocol version is not an integer or out of range")
		}
		if v != 2 && v != 3 {
			return errReply(resp.ErrNoProto)
		}
		proto = int(v)
	}
	var setname []byte
	authed := cl.authed
	for i := 2; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		switch {
		case opt == "AUTH" && i+2 < len(args):
			if p.cfg.Password == "" {
				if string(args[i+1]) != "default" {
					return errReply(resp.ErrWrongPass)
				}
			} else if !p.checkPassword(args[i+1], args[i+2]) {
				return errReply(resp.ErrWrongPass)
			}
			authed = true
			i += 2
		case opt == "SETNAME" && i+1 < len(args):
			if !validClientName(args[i+1]) {
				return errReply(errClientName)
			}
			setname = args[i+1]
			i++
		default:
			return errReply("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
		}
	}
	if !authed {
		return errReply("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
	}
	cl.authed = true
	cl.proto = proto
	if setname != nil {
		cl.name = string(setname)
	}
	b := resp.AppendMapHeader(nil, 7, proto)
	b = resp.AppendBulkString(b, "server")
	b = resp.AppendBulkString(b, "redis")
	b = resp.AppendBulkString(b, "version")
	b = resp.AppendBulkString(b, serverVersion)
	b = resp.AppendBulkString(b, "proto")
	b = resp.AppendInt(b, int64(proto))
	b = resp.AppendBulkString(b, "id")
	b = resp.AppendInt(b, cl.id)
	b = resp.AppendBulkString(b, "mode")
	b = resp.AppendBulkString(b, "standalone")
	b = resp.AppendBulkString(b, "role")
	b = resp.AppendBulkString(b, "master")
	b = resp.AppendBulkString(b, "modules")
	b = resp.AppendArrayHeader(b, 0)
	return &reply{out: b, proto: proto}
}

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// validClientName applies Redis's rule: printable ASCII without spaces.
func validClientName(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

func cmdClient(p *Proxy, cl *client, args [][]byte, _ []*reply) *reply {
	sub := strings.ToLower(string(args[1]))
	arity := map[string]int{"setname": 3, "getname": 2, "id": 2, "info": 2, "setinfo": 4, "list": -2}
	want, known := arity[sub]
	if !known {
		return errReply(resp.UnknownSubcommand("client", string(args[1])))
	}
	if (want > 0 && len(args) != want) || (want < 0 && len(args) < -want) {
		return errReply(resp.WrongArgs("client|" + sub))
	}
	switch sub {
	case "setname":
		if !validClientName(args[2]) {
			return errReply(errClientName)
		}
		cl.name = string(args[2])
		return done(resp.AppendSimple(nil, "OK"))
	case "getname":
		if cl.name == "" {
			return done(resp.AppendNull(nil, cl.proto))
		}
		return done(resp.AppendBulkString(nil, cl.name))
	case "id":
		return done(resp.AppendInt(nil, cl.id))
	case "setinfo":
		attr := strings.ToLower(string(args[2]))
		if attr != "lib-name" && attr != "lib-ver" {
			return errReply("ERR Unrecognized option '" + string(args[2]) + "'")
		}
		if !validClientName(args[3]) && len(args[3]) > 0 {
			return errReply("ERR " + attr + " cannot contain spaces, newlines or special characters.")
		}
		if attr == "lib-name" {
			cl.libName = string(args[3])
		} else {
			cl.libVer = string(args[3])
		}
		return done(resp.AppendSimple(nil, "OK"))
	case "info":
		return done(resp.AppendVerbatim(nil, "txt", cl.info(time.Now())+"\n", cl.proto))
	default: // list: this proxy's own connection only; others are not tracked
		if len(args) > 2 {
			return errReply(resp.ErrSyntax)
		}
		return done(resp.AppendVerbatim(nil, "txt", cl.info(time.Now())+"\n", cl.proto))
	}
}

func (cl *client) info(now time.Time) string {
	return fmt.Sprintf("id=%d addr=%s laddr=%s name=%s age=%d idle=%d flags=N db=0 resp=%d lib-name=%s lib-ver=%s",
		cl.id, cl.addr, cl.laddr, cl.name, int(now.Sub(cl.created).Seconds()), int(now.Sub(cl.last).Seconds()),
		cl.proto, cl.libName, cl.libVer)
}

func cmdCommand(_ *Proxy, cl *client, args [][]byte, _ []*reply) *reply {
	if len(args) == 1 {
		cmds := resp.Commands()
		b := resp.AppendArrayHeader(nil, len(cmds))
		for _, c := range cmds {
			b = resp.AppendCommandInfo(b, c, cl.proto)
		}
		return done(b)
	}
	sub := strings.ToLower(string(args[1]))
	switch sub {
	case "count":
		if len(args) != 2 {
			return errReply(resp.WrongArgs("command|count"))
		}
		return done(resp.AppendInt(nil, int64(len(resp.Commands()))))
	case "info":
		cmds := resp.Commands()
		if len(args) > 2 {
			cmds = cmds[:0:0]
			for _, name := range args[2:] {
				cmds = append(cmds, resp.Lookup(name))
			}
		}
		b := resp.AppendArrayHeader(nil, len(cmds))
		for _, c := range cmds {
			if c == nil {
				b = resp.AppendNull(b, cl.proto)
				continue
			}
			b = resp.AppendCommandInfo(b, c, cl.proto)
		}
		return done(b)
	case "docs":
		var cmds []*resp.Command
		if len(args) == 2 {
			cmds = resp.Commands()
		} else {
			for _, name := range args[2:] {
				if c := resp.Lookup(name); c != nil {
					cmds = append(cmds, c)
				}
			}
		}
		b := resp.AppendMapHeader(nil, len(cmds), cl.proto)
		for _, c := range cmds {
			b = resp.AppendCommandDocs(b, c, cl.proto)
		}
		return done(b)
	case "list":
		cmds := resp.Commands()
		b := resp.AppendArrayHeader(nil, len(cmds))
		for _, c := range cmds {
			b = resp.AppendBulkString(b, c.Name)
		}
		return done(b)
	case "getkeys":
		if len(args) < 3 {
			return errReply(resp.WrongArgs("command|getkeys"))
		}
		c := resp.Lookup(args[2])
		if c == nil {
			return errReply("ERR Invalid command specified")
		}
		if !c.ArityOK(len(args) - 2) {
			return errReply("ERR Invalid number of arguments specified for command")
		}
		keys := args[2:]
		ks, msg := c.FindKeys(keys)
		if msg != "" {
			return errReply("ERR Invalid arguments specified for command")
		}
		idx := ks.Indexes(len(keys))
		if len(idx) == 0 {
			return errReply("ERR The command has no key arguments")
		}
		b := resp.AppendArrayHeader(nil, len(idx))
		for _, i := range idx {
			b = resp.AppendBulk(b, keys[i])
		}
		return done(b)
	default:
		return errReply(resp.UnknownSubcommand("command", string(args[1])))
	}
}

func cmdTime(_ *Proxy, _ *client, _ [][]byte, _ []*reply) *reply {
	now := time.Now()
	b := resp.AppendArrayHeader(nil, 2)
	b = resp.AppendBulkString(b, strconv.FormatInt(now.Unix(), 10))
	b = resp.AppendBulkString(b, strconv.Itoa(now.Nanosecond()/1000))
	return done(b)
}

// barrier waits until every earlier command of this client is answered.
// Keyspace-wide commands go to every shard, on connections other than the
// ones earlier commands used, so without it a pipelined "SET k v; FLUSHALL"
// could be executed in the other order.
func barrier(earlier []*reply) {
	for _, r := range earlier {
		for _, q := range r.reqs {
			q.wait()
		}
	}
}

// broadcast sends cmd to every shard and waits for all the replies. Commands
// after it in the client's pipeline are dispatched only once it is done.
func (p *Proxy) broadcast(earlier []*reply, args ...[]byte) []*request {
	barrier(earlier)
	rt := p.route.Load()
	reqs := make([]*request, len(rt.pools))
	cmd := resp.AppendCommand(nil, args...)
	for i, pool := range rt.pools {
		reqs[i] = newRequest(cmd)
		pool.conns[0].send(reqs[i])
	}
	for _, q := range reqs {
		q.wait()
	}
	return reqs
}

// shardInts reads an integer reply from each request.
func shardInts(reqs []*request) ([]int64, []byte) {
	if e := firstError(reqs); e != nil {
		return nil, e
	}
	out := make([]int64, len(reqs))
	for i, q := range reqs {
		v, _, err := resp.ParseValue(q.reply)
		if err != nil || v.Kind != resp.KindInt {
			return nil, resp.AppendError(nil, "ERR unexpected reply from shard")
		}
		out[i] = v.Int
	}
	return out, nil
}

func cmdDBSize(p *Proxy, _ *client, _ [][]byte, earlier []*reply) *reply {
	n, e := shardInts(p.broadcast(earlier, []byte("SHARDIS.DBSIZE")))
	if e != nil {
		return done(e)
	}
	var sum int64
	for _, v := range n {
		sum += v
	}
	return done(resp.AppendInt(nil, sum))
}

func cmdFlush(p *Proxy, _ *client, args [][]byte, earlier []*reply) *reply {
	if len(args) > 2 {
		return errReply(resp.ErrSyntax)
	}
	if len(args) == 2 {
		if m := strings.ToUpper(string(args[1])); m != "ASYNC" && m != "SYNC" {
			return errReply(resp.ErrSyntax)
		}
	}
	if e := firstError(p.broadcast(earlier, []byte("SHARDIS.FLUSH"))); e != nil {
		return done(e)
	}
	return done(resp.AppendSimple(nil, "OK"))
}

func cmdKeys(p *Proxy, cl *client, args [][]byte, earlier []*reply) *reply {
	reqs := p.broadcast(earlier, []byte("SHARDIS.KEYS"), args[1])
	if e := firstError(reqs); e != nil {
		return done(e)
	}
	var all []resp.Value
	for _, q := range reqs {
		v, _, err := resp.ParseValue(q.reply)
		if err != nil || v.Kind != resp.KindArray {
			return errReply("ERR unexpected reply from shard")
		}
		all = append(all, v.Elems...)
	}
	return done(resp.AppendValue(nil, resp.Value{Kind: resp.KindArray, Elems: all}, cl.proto))
}

func cmdRandomKey(p *Proxy, cl *client, _ [][]byte, earlier []*reply) *reply {
	barrier(earlier)
	rt := p.route.Load()
	for _, i := range rand.Perm(len(rt.pools)) {
		q := newRequest(resp.AppendCommand(nil, []byte("SHARDIS.RANDOMKEY")))
		rt.pools[i].conns[0].send(q)
		q.wait()
		if q.err != nil {
			return errReply(backendError(q.err))
		}
		if !bytes.HasPrefix(q.reply, []byte("$-1")) && !bytes.HasPrefix(q.reply, []byte("_")) {
			return done(appendForwarded(nil, q, cl.proto, resp.FlattenNone))
		}
	}
	return done(resp.AppendNull(nil, cl.proto))
}

// scanBudget bounds how many partitions one SCAN call may leave half-read
// (each such call examined a full COUNT of keys), so a sparse MATCH over a
// large keyspace answers with a partial page, as Redis does, instead of
// walking everything at once. Partitions read to their end are not counted:
// there are at most P of them, and an empty keyspace then answers cursor 0
// in one call, as Redis does.
const scanBudget = 32

// cmdScan walks the keyspace partition by partition. The cursor is
// partition<<32 | h, where h is the position within the partition's hash
// order; the shard resumes from h, so the walk needs no server-side state
// and returns every key present for the whole walk at least once.
func cmdScan(p *Proxy, cl *client, args [][]byte, earlier []*reply) *reply {
	cursor, ok := parseCursor(args[1])
	if !ok {
		return errReply("ERR invalid cursor")
	}
	count := int64(10)
	var match, typ []byte
	for i := 2; i < len(args); i += 2 {
		opt := strings.ToUpper(string(args[i]))
		if i+1 >= len(args) {
			return errReply(resp.ErrSyntax)
		}
		switch opt {
		case "COUNT":
			n, err := strconv.ParseInt(string(args[i+1]), 10, 64)
			if err != nil {
				return errReply(resp.ErrNotInteger)
			}
			if n < 1 {
				return errReply(resp.ErrSyntax)
			}
			count = n
		case "MATCH":
			match = args[i+1]
		case "TYPE":
			typ = args[i+1]
		default:
			return errReply(resp.ErrSyntax)
		}
	}
	barrier(earlier)
	rt := p.route.Load()
	part, h := int(cursor>>32), cursor&0xffffffff
	var keys []resp.Value
	for partial := 0; part < p.cfg.Partitions && int64(len(keys)) < count && partial < scanBudget; {
		sargs := [][]byte{[]byte("SHARDIS.SCAN"), []byte(strconv.Itoa(part)),
			[]byte(strconv.FormatUint(h, 10)), []byte(strconv.FormatInt(count-int64(len(keys)), 10))}
		if match != nil {
			sargs = append(sargs, []byte("MATCH"), match)
		}
		if typ != nil {
			sargs = append(sargs, []byte("TYPE"), typ)
		}
		bc := rt.connFor(part)
		if bc == nil {
			return errReply(noMaster(part))
		}
		q := newRequest(resp.AppendCommand(nil, sargs...))
		bc.send(q)
		q.wait()
		if q.err != nil {
			return errReply(backendError(q.err))
		}
		v, _, err := resp.ParseValue(q.reply)
		if err != nil {
			return errReply("ERR unexpected reply from shard")
		}
		if v.Kind == resp.KindError {
			return done(append([]byte(nil), q.reply...))
		}
		if v.Kind != resp.KindArray || len(v.Elems) != 2 {
			return errReply("ERR unexpected reply from shard")
		}
		keys = append(keys, v.Elems[1].Elems...)
		if next := v.Elems[0].Int; next < 0 {
			part, h = part+1, 0
		} else {
			h = uint64(next)
			partial++
		}
	}
	next := uint64(part)<<32 | h
	if part >= p.cfg.Partitions {
		next = 0
	}
	b := resp.AppendArrayHeader(nil, 2)
	b = resp.AppendBulkString(b, strconv.FormatUint(next, 10))
	b = resp.AppendValue(b, resp.Value{Kind: resp.KindArray, Elems: keys}, cl.proto)
	return done(b)
}

// parseCursor reads a SCAN cursor the way Redis does (strtoul): an empty
// string is 0, a sign is allowed and a negative value wraps around.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// cmdInfo answers in Redis's INFO format. The keyspace section sums every
// shard's keys.
func cmdInfo(p *Proxy, cl *client, args [][]byte, earlier []*reply) *reply {
	want := map[string]bool{}
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	section := func(name string, body func()) {
		if !all && !want[strings.ToLower(name)] {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + name + "\r\n")
		body()
	}
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	uptime := time.Since(p.started)
	section("Server", func() {
		kv("redis_version", serverVersion)
		kv("shardis_version", p.cfg.release())
		kv("redis_mode", "standalone")
		kv("os", runtime.GOOS)
		kv("arch_bits", strconv.IntSize)
		kv("go_version", runtime.Version())
		kv("process_id", pid)
		kv("tcp_port", portOf(p.Addr()))
		kv("uptime_in_seconds", int64(uptime.Seconds()))
		kv("uptime_in_days", int64(uptime.Hours()/24))
	})
	section("Clients", func() {
		kv("connected_clients", p.clients.Load())
		kv("maxclients", p.cfg.MaxClients)
	})
	section("Stats", func() {
		kv("total_connections_received", p.nextID.Load())
		kv("total_commands_processed", p.cmds.Load())
	})
	section("Cluster", func() {
		rt := p.route.Load()
		kv("cluster_enabled", 0)
		kv("shardis_shards", len(rt.pools))
		kv("shardis_partitions", p.cfg.Partitions)
		kv("shardis_map_epoch", rt.table.Epoch)
	})
	if all || want["keyspace"] {
		stats := p.broadcast(earlier, []byte("SHARDIS.STATS"))
		var keys, expires int64
		for _, q := range stats {
			if q.err != nil {
				return errReply(backendError(q.err))
			}
			v, _, err := resp.ParseValue(q.reply)
			if err == nil && v.Kind == resp.KindArray && len(v.Elems) == 2 {
				keys += v.Elems[0].Int
				expires += v.Elems[1].Int
			}
		}
		section("Keyspace", func() {
			if keys > 0 {
				fmt.Fprintf(&b, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", keys, expires)
			}
		})
	}
	return done(resp.AppendVerbatim(nil, "txt", b.String(), cl.proto))
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}
