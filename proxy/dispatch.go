package proxy

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// reply is one command's answer in the making. Either out is already the
// client's bytes, or reqs are in flight to shards and finish turns their
// raw replies into the client's bytes.
type reply struct {
	name   string // for metrics: the command table name, or "unknown"
	start  time.Time
	out    []byte
	reqs   []*request
	finish func(reqs []*request, proto int, dst []byte) []byte
	proto  int
	quit   bool // close the connection after this reply
	// flatten is how the command's forwarded reply is reshaped for RESP2 clients.
	flatten resp.Flatten

	// reroute, when set, answers request i again after a shard refused it
	// with NOTMASTER (the map it was routed by is out of date). rt is the
	// map the requests were routed by.
	reroute func(r *reply, i int, rt *routing) ([]byte, error)
	rt      *routing

	// A command forwarded whole (the common case) keeps its request and
	// its partition here rather than in allocations of their own.
	one  [1]*request
	req  request
	part int
	// reuse marks a reply its client may take again once it is answered
	// (see client.newReply).
	reuse bool
}

// newReply returns a reply for a forwarded command, reusing one of the
// client's answered ones: a forwarded command is the common case, and its
// reply (with the request inside) was the largest allocation per command.
// Only the client's own goroutine calls it.
func (cl *client) newReply() *reply {
	if n := len(cl.free); n > 0 {
		r := cl.free[n-1]
		cl.free = cl.free[:n-1]
		return r
	}
	return &reply{reuse: true}
}

// recycle takes back r once it is answered and its bytes copied out: its
// requests are finished, so no backend refers to it any more, and the
// commands dispatched after it no longer look at it.
func (cl *client) recycle(r *reply) {
	if !r.reuse || len(cl.free) >= window {
		return
	}
	*r = reply{reuse: true} // keeps no reply alive; finish uses req.small again
	cl.free = append(cl.free, r)
}

// window bounds how many commands of one client are in flight at once, so a
// client pipelining many large reads cannot make the proxy hold all their
// replies at the same time (64 replies of a 512 KiB value are 32 MiB).
const window = 64

// flushAt is the size of buffered replies after which they are written to
// the client before the rest of its pipeline is answered.
const flushAt = 256 << 10

// handle runs for the first command of every batch redcon reads from a
// client. It takes the rest of the batch, dispatches up to window commands
// ahead, and writes replies strictly in request order.
func (p *Proxy) handle(conn redcon.Conn, first redcon.Command) {
	cl := conn.Context().(*client)
	// The batch's commands and replies live in the client's buffers,
	// cleared once the batch is answered: without pipelining every
	// command is a batch, and these were two allocations each.
	cmds := append(append(cl.cmds[:0], first), conn.ReadPipeline()...)
	replies := slices.Grow(cl.replies[:0], len(cmds))[:len(cmds)]
	defer func() {
		clear(cmds)
		clear(replies)
		cl.cmds, cl.replies = cmds[:0], replies[:0]
	}()
	cl.last = time.Now()
	next := 0          // next command to dispatch
	limit := len(cmds) // nothing after a QUIT is dispatched
	w := redcon.BaseWriter(conn)
	var out []byte
	for i := range cmds {
		for next < limit && next < i+window {
			replies[next] = p.dispatch(cl, cmds[next], replies[i:next])
			if replies[next].quit {
				limit = next + 1
			}
			next++
		}
		r := replies[i]
		replies[i] = nil
		out = p.complete(r, out)
		cl.recycle(r)
		if r.quit {
			conn.WriteRaw(out)
			conn.Close()
			return
		}
		if len(out) >= flushAt {
			conn.WriteRaw(out)
			out = out[:0]
			if err := w.Flush(); err != nil {
				for j := i + 1; j < next; j++ {
					p.complete(replies[j], nil)
				}
				conn.Close()
				return
			}
		}
	}
	conn.WriteRaw(out)
}

// complete waits for r's shard replies and appends the client's bytes.
func (p *Proxy) complete(r *reply, dst []byte) []byte {
	start := len(dst)
	dst = p.answer(r, dst)
	p.cmds.Add(1)
	ok := len(dst) == start || dst[start] != '-'
	p.metrics.Commands.Observe(r.name, ok, time.Since(r.start))
	return dst
}

// answer waits for r's shard replies, sends again what a shard refused
// because the map moved, and appends the client's bytes.
func (p *Proxy) answer(r *reply, dst []byte) []byte {
	if r.out != nil || r.reqs == nil {
		return append(dst, r.out...)
	}
	for _, q := range r.reqs {
		q.wait()
	}
	p.rerouteMoved(r)
	if r.finish != nil {
		return r.finish(r.reqs, r.proto, dst)
	}
	return appendForwarded(dst, r.reqs[0], r.proto, r.flatten)
}

// appendForwarded appends a shard's raw reply converted for the client: RESP3 clients
// get it as it is but for *-1 (the shard's null array, Redis's _), RESP2 clients get
// Redis's RESP2 reply, which for a reply without RESP3 types (the reader noted it) is the
// reply itself unless the command's pairs are flattened.
func appendForwarded(dst []byte, q *request, proto int, f resp.Flatten) []byte {
	if q.err != nil {
		return resp.AppendError(dst, backendError(q.err))
	}
	if proto == resp.RESP3 {
		return resp.ToRESP3(dst, q.reply)
	}
	if q.plain && (f == resp.FlattenNone || len(q.reply) == 0 || q.reply[0] != '*') {
		return append(dst, q.reply...)
	}
	return resp.ToRESP2(dst, q.reply, f)
}

func errorReply(name string, start time.Time, msg string) *reply {
	return &reply{name: name, start: start, out: resp.AppendError(nil, msg)}
}

// dispatch starts one command. earlier holds the replies of this client's
// commands dispatched before it and not yet written: commands that need
// everything before them done (FLUSHALL, SCAN, …) wait for them.
func (p *Proxy) dispatch(cl *client, c redcon.Command, earlier []*reply) *reply {
	start := time.Now()
	args := c.Args
	cmd := resp.Lookup(args[0])
	if cmd == nil {
		lower := strings.ToLower(string(args[0]))
		if h, ok := adminCommands[lower]; ok && cl.authed {
			if n, ok := adminMinArgs[lower]; (ok && len(args) < 1+n) || (!ok && len(args) != 1+adminArgs[lower]) {
				return errorReply("admin", start, resp.WrongArgs(string(args[0])))
			}
			r := h(p, cl, args, earlier)
			r.name, r.start = "admin", start
			return r
		}
		if !cl.authed {
			return errorReply("unknown", start, resp.ErrNoAuth)
		}
		return errorReply("unknown", start, resp.UnknownCommand(args))
	}
	name := cmd.Name
	if !cl.authed && !noAuthCommands[name] {
		return errorReply(name, start, resp.ErrNoAuth)
	}
	if !cmd.ArityOK(len(args)) {
		return errorReply(name, start, resp.WrongArgs(name))
	}
	rt := routes[name]
	if rt.local != nil {
		r := rt.local(p, cl, args, earlier)
		r.name, r.start = name, start
		if r.proto == 0 {
			r.proto = cl.proto
		}
		return r
	}
	var r *reply
	if rt.split != nil {
		if (len(args)-1)%rt.stride != 0 {
			return errorReply(name, start, resp.WrongArgs(name))
		}
		r = p.splitKeys(args, rt.stride, rt.split)
	} else {
		r = p.forward(cl, cmd, &rt, args, c.Raw)
	}
	r.name, r.start, r.proto, r.flatten = name, start, cl.proto, rt.flatten
	return r
}

// noAuthCommands may run before AUTH, as in Redis.
var noAuthCommands = map[string]bool{"auth": true, "hello": true, "quit": true, "reset": true}

// forward sends a command whose keys all live in one partition to that
// partition's master. Commands with keys in several partitions answer
// CROSSSLOT, like Redis Cluster.
//
// raw, the client's own encoding of the command (always a multibulk: the
// input limiter rewrites inline commands), is sent as it is instead of
// being encoded again. It points into redcon's read buffer, which stays
// valid until handle returns; handle returns only after every request it
// dispatched is answered, and a request is answered only after it was
// written.
func (p *Proxy) forward(cl *client, cmd *resp.Command, route *route, args [][]byte, raw []byte) *reply {
	ks, msg := cmd.FindKeys(args)
	if msg != "" {
		return &reply{out: resp.AppendError(nil, msg)}
	}
	part, ok := p.partitionOf(ks, args)
	if !ok {
		return &reply{out: resp.AppendError(nil, resp.ErrCrossSlot)}
	}
	if part < 0 {
		return &reply{out: resp.AppendError(nil, "ERR command has no key to route by")}
	}
	rt := p.route.Load()
	bc := rt.connFor(part)
	if bc == nil {
		return &reply{out: resp.AppendError(nil, noMaster(part))}
	}
	if len(raw) == 0 || raw[0] != '*' {
		raw = resp.AppendCommand(nil, args...)
	}
	r := cl.newReply()
	r.rt, r.reroute, r.part = rt, rerouteForwarded, part
	q := &r.req
	q.cmd, q.done = raw, make(chan struct{})
	bc.send(q)
	r.one[0] = q
	r.reqs = r.one[:]
	return r
}

// partitionOf returns the partition of the keys at ks, -1 when there are none, and
// false when they are not all in one partition.
func (p *Proxy) partitionOf(ks resp.KeySpan, args [][]byte) (int, bool) {
	if ks.AnyPart {
		return 0, true
	}
	part := -1
	same := func(i int) bool {
		q := ring.Partition(args[i], p.cfg.Partitions)
		if part < 0 {
			part = q
		}
		return q == part
	}
	if ks.First > 0 && ks.First < len(args) {
		last, step := min(ks.Last, len(args)-1), max(ks.Step, 1)
		for i := ks.First; i <= last; i += step {
			if !same(i) {
				return part, false
			}
		}
	}
	if ks.Extra > 0 && ks.Extra < len(args) && !same(ks.Extra) {
		return part, false
	}
	return part, true
}

// rerouteForwarded sends a forwarded command again by rt.
// A request its shard could not be sent (errShardUnsent) comes back as
// that error, so that it can be tried again.
func rerouteForwarded(r *reply, _ int, rt *routing) ([]byte, error) {
	bc := rt.connFor(r.part)
	if bc == nil {
		return resp.AppendError(nil, noMaster(r.part)), nil
	}
	q := newRequest(r.req.cmd)
	bc.send(q)
	q.wait()
	if q.err != nil {
		if errors.Is(q.err, errShardUnsent) {
			return nil, q.err
		}
		return resp.AppendError(nil, backendError(q.err)), nil
	}
	return q.reply, nil
}

// connFor returns the connection for partition part on its master, or nil
// when the map names no master for it.
func (rt *routing) connFor(part int) *backendConn {
	if pool := rt.master[part]; pool != nil {
		return pool.connFor(part)
	}
	return nil
}

// noMaster is the client's error for a partition without a master.
func noMaster(part int) string {
	return "CLUSTERDOWN partition " + strconv.Itoa(part) + " has no master"
}

// splitKeys sends a multi-key command as one sub-command per backend
// connection, each carrying the keys (and, for MSET, values) that belong
// there; merge puts the sub-replies back together in the client's order.
// Keys of one partition always travel on the same connection, so this
// keeps per-key ordering.
func (p *Proxy) splitKeys(args [][]byte, stride int, merge func(g *keyGroups, reqs []*request, proto int, dst []byte) []byte) *reply {
	rt := p.route.Load()
	g := &keyGroups{n: (len(args) - 1) / stride}
	for i := 1; i+stride-1 < len(args); i += stride {
		part := ring.Partition(args[i], p.cfg.Partitions)
		bc := rt.connFor(part)
		if bc == nil {
			return &reply{out: resp.AppendError(nil, noMaster(part))}
		}
		// A command has few groups (at most one per backend connection):
		// a linear search beats a map.
		gi := slices.Index(g.conns, bc)
		if gi < 0 {
			gi = len(g.conns)
			g.conns = append(g.conns, bc)
			g.args = append(g.args, [][]byte{args[0]})
			g.index = append(g.index, nil)
		}
		g.args[gi] = append(g.args[gi], args[i:i+stride]...)
		g.index[gi] = append(g.index[gi], (i-1)/stride)
	}
	reqs := make([]*request, len(g.conns))
	for gi, bc := range g.conns {
		reqs[gi] = newRequest(resp.AppendCommand(nil, g.args[gi]...))
		bc.send(reqs[gi])
	}
	return &reply{reqs: reqs, rt: rt, finish: func(reqs []*request, proto int, dst []byte) []byte {
		return merge(g, reqs, proto, dst)
	}, reroute: func(_ *reply, gi int, _ *routing) ([]byte, error) {
		// Split the refused group again by the new map: the merged answer
		// has the shape a single group's reply has (array, count or OK).
		return p.answer(p.splitKeys(g.args[gi], stride, merge), nil), nil
	}}
}

// keyGroups records how a multi-key command was split: for group i, the
// connection, the sub-command's arguments, and the position in the client's
// command of each of its keys.
type keyGroups struct {
	n     int
	conns []*backendConn
	args  [][][]byte
	index [][]int
}

// firstError returns the client's bytes for the first failed sub-request,
// or nil when none failed.
func firstError(reqs []*request) []byte {
	for _, q := range reqs {
		if q.err != nil {
			return resp.AppendError(nil, backendError(q.err))
		}
		if len(q.reply) > 0 && q.reply[0] == '-' {
			return q.reply
		}
		if len(q.reply) > 0 && q.reply[0] == '!' {
			// A RESP3 blob error: every client reads its simple-error form.
			return resp.ToRESP2(nil, q.reply, resp.FlattenNone)
		}
	}
	return nil
}

func mergeArrays(g *keyGroups, reqs []*request, proto int, dst []byte) []byte {
	if e := firstError(reqs); e != nil {
		return append(dst, e...)
	}
	if len(reqs) == 1 {
		return appendForwarded(dst, reqs[0], proto, resp.FlattenNone)
	}
	// Each shard's elements are copied as they came, in the client's
	// order, without decoding them.
	elems := make([][]byte, g.n)
	var parts [][]byte
	for gi, q := range reqs {
		var err error
		parts, err = resp.SplitArray(q.reply, parts[:0])
		if err != nil || len(parts) != len(g.index[gi]) {
			return resp.AppendError(dst, "ERR unexpected reply from shard")
		}
		for k, pos := range g.index[gi] {
			elems[pos] = parts[k]
		}
	}
	dst = resp.AppendArrayHeader(dst, len(elems))
	for _, e := range elems {
		if proto == resp.RESP3 {
			dst = resp.ToRESP3(dst, e)
		} else {
			dst = resp.ToRESP2(dst, e, resp.FlattenNone)
		}
	}
	return dst
}

func sumInts(_ *keyGroups, reqs []*request, _ int, dst []byte) []byte {
	if e := firstError(reqs); e != nil {
		return append(dst, e...)
	}
	var sum int64
	for _, q := range reqs {
		v, _, err := resp.ParseValue(q.reply)
		if err != nil || v.Kind != resp.KindInt {
			return resp.AppendError(dst, "ERR unexpected reply from shard")
		}
		sum += v.Int
	}
	return resp.AppendInt(dst, sum)
}

func allOK(_ *keyGroups, reqs []*request, _ int, dst []byte) []byte {
	if e := firstError(reqs); e != nil {
		return append(dst, e...)
	}
	return resp.AppendSimple(dst, "OK")
}

// notMaster reports whether a shard's reply is NOTMASTER: the shard does
// not master the partition at the map epoch it has, so it ran nothing and
// the request can be sent again by a newer map.
func notMaster(reply []byte) bool {
	_, ok := resp.ParseRefusal(reply).(resp.NotMasterError)
	return ok
}

// noLease reports whether a shard's reply is NOLEASE (the shard masters
// the partition but lost contact with the controller) or HANDOFF (it is
// handing the partition over): it ran nothing. Either it serves again soon
// or a newer map moves the partition.
func noLease(reply []byte) bool {
	switch resp.ParseRefusal(reply).(type) {
	case resp.NoLeaseError, resp.HandoffError:
		return true // a handoff ends with the map naming the new master
	}
	return false
}

// Pauses before a refused or unsent request is sent again by the same map
// (unless a newer map comes first). NOTMASTER says the shard and the proxy
// disagree about the partition's master: either the proxy's map is older
// (a newer one is on its way) or the shard's is (it has not applied the map
// that made it master yet), so after a short pause the same shard is asked
// again. NOLEASE clears when the lease comes back. A request that could not
// be sent (shard down, or being redialled) waits longer: a restart or a
// failover takes at least that.
const (
	leaseRetry  = 20 * time.Millisecond
	unsentRetry = 50 * time.Millisecond
)

// rerouteMoved sends again the requests of r that a shard refused with
// NOTMASTER or NOLEASE, or that could not be sent to a shard that is down:
// by a newer map as soon as one comes, else by the same map after a short
// pause. It waits at most Config.RetryBudget; then the client gets
// TRYAGAIN (safe for a client to retry: nothing ran), or the
// connection error of an unsent request.
func (p *Proxy) rerouteMoved(r *reply) {
	if r.reroute == nil {
		return
	}
	deadline := time.Now().Add(p.cfg.RetryBudget)
	for i, q := range r.reqs {
		rt := r.rt
		for (q.err == nil && (notMaster(q.reply) || noLease(q.reply))) || p.awaitsFailover(q) {
			retry := leaseRetry
			if q.err != nil {
				retry = unsentRetry
			}
			pause := time.Now().Add(retry)
			if pause.After(deadline) {
				pause = deadline
			}
			next := p.awaitNewMap(rt, pause)
			if next == nil && time.Now().Before(deadline) {
				next = rt // no newer map yet: ask by the same one again
			}
			if next == nil {
				if q.err == nil {
					q.reply = resp.AppendError(q.reply[:0], "TRYAGAIN the shard no longer masters this key's partition and no newer cluster map arrived in time")
				}
				break // an unsent request's client gets the CLUSTERDOWN error
			}
			rt = next
			p.metrics.Rerouted.Inc()
			b, err := r.reroute(r, i, rt)
			q.err = err
			q.reply = append(q.reply[:0], b...)
			q.plain = false // the hint was about the refusal
		}
	}
}

// awaitsFailover reports whether q failed because its shard is down
// before it was sent, on a proxy that follows a cluster map: such a
// request is sent again by the map that fails the partition over.
func (p *Proxy) awaitsFailover(q *request) bool {
	return p.cfg.WaitForFailover && q.err != nil && errors.Is(q.err, errShardUnsent)
}

// awaitNewMap waits until the routing map is no longer old, or until
// deadline (then it returns nil).
func (p *Proxy) awaitNewMap(old *routing, deadline time.Time) *routing {
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	for {
		changed := p.mapChanged()
		if rt := p.route.Load(); rt != old {
			return rt
		}
		d := time.Until(deadline)
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}
