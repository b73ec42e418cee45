package shard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shardis/shardis/resp"
)

// Reconnection backoff of a Follow loop: it doubles from the minimum after
// each failed attempt and returns to it once a fetch succeeded.
const (
	followBackoffMin = 50 * time.Millisecond
	followBackoffMax = time.Second
)

// followReplyTimeout is how long, beyond the wait it asked for, a follower
// waits for a FETCH reply before it takes the master for dead and
// reconnects.
const followReplyTimeout = 10 * time.Second

// snapshotTimeout bounds the transfer of one snapshot.
const snapshotTimeout = 5 * time.Minute

// Follow makes the shard follow partitions from the master with id
// masterID at masterAddr: it marks them followers (see SetFollower) and
// starts one goroutine, with one connection, that loops on SHARDIS.FETCH
// with the shard's applied seq of each partition (which the master takes
// as the acknowledgement, under this shard's Config.ID), applies the
// effects it receives, and loads a snapshot whenever the master says its
// log cannot continue from that seq. It reconnects with backoff (50 ms
// doubling to 1 s) until stopped, and resumes from whatever this shard has
// applied, so a restarted file-backed follower catches up from its
// persisted seq. stop ends the loop and returns once it has exited; Close
// ends it too. A partition must be followed by at most one Follow at a
// time. Partition ids out of range are ignored; with none left, Follow
// does nothing.
func (s *Server) Follow(masterID, masterAddr string, partitions []int) (stop func()) {
	ps := make([]int, 0, len(partitions))
	for _, p := range partitions {
		if s.checkPartition(p) == nil {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	ps = slices.Compact(ps)
	if len(ps) == 0 {
		return func() {}
	}

	ctx, cancel := context.WithCancel(s.replCtx)
	done := make(chan struct{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return func() {}
	}
	s.bg.Add(1) // Close waits for the loop before closing the stores
	s.mu.Unlock()
	for _, p := range ps {
		if err := s.SetFollower(p, true); err != nil {
			s.log.Error("cannot make partition a follower", "shard", s.cfg.ID, "partition", p, "err", err)
		}
	}
	f := &follower{s: s, masterID: masterID, addr: masterAddr, parts: ps}
	go func() {
		defer s.bg.Done()
		defer close(done)
		f.loop(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// replicationLag returns, for partition p of a follower, the highest seq
// its master reported (as far as this shard has heard) and the seq it has
// applied; master-applied is how far it lags. Both are 0 for a partition
// never followed nor written.
func (s *Server) replicationLag(p int) (master, applied uint64) {
	applied, err := s.Seq(p)
	if err != nil {
		return 0, 0
	}
	return max(s.repl.masterSeq[p].Load(), applied), applied
}

// follower is the state of one Follow loop.
type follower struct {
	s        *Server
	masterID string
	addr     string
	parts    []int
}

func (f *follower) loop(ctx context.Context) {
	backoff := followBackoffMin
	for {
		progressed, err := f.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = followBackoffMin
		}
		f.s.log.Warn("replication from master interrupted", "shard", f.s.cfg.ID, "master", f.masterID,
			"addr", f.addr, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, followBackoffMax)
	}
}

// session runs the fetch loop over one connection until it fails or ctx
// ends; progressed reports whether any fetch succeeded.
func (f *follower) session(ctx context.Context) (progressed bool, err error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", f.addr)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { _ = nc.Close() })()

	s := f.s
	rr := resp.NewReplyReader(nc, 0)
	bw := bufio.NewWriterSize(nc, 4096)
	wait := s.cfg.ReplFetchMaxWait
	want := make(map[int]bool, len(f.parts))
	for _, p := range f.parts {
		want[p] = true
	}
	fetchAll, fetchMoved := []byte("SHARDIS.FETCH"), []byte("SHARDIS.FETCHMORE")
	args := make([][]byte, 3, 3+2*len(f.parts))
	args[1] = []byte(s.cfg.ID)
	longWait := strconv.AppendInt(nil, wait.Milliseconds(), 10)
	shortWait := strconv.AppendInt(nil, min(wait, loadPollWait).Milliseconds(), 10)
	partArg := make([][]byte, len(f.parts))
	sent := make([]fetchSent, len(f.parts)) // positions the master has
	// Loads end with the session (a partition left half loaded is loaded
	// afresh by the next one).
	lctx, cancelLoads := context.WithCancel(ctx)
	loads := newSnapshotLoads(f)
	defer func() { cancelLoads(); loads.stop() }()
	var lastFull time.Time
	var out []byte
	for {
		// A FETCH names every partition; between two, a FETCHMORE names
		// those whose position moved (see SHARDIS.FETCHMORE).
		full := time.Since(lastFull) >= fullFetchEvery
		args = args[:3]
		args[0] = fetchMoved
		if full {
			args[0], lastFull = fetchAll, time.Now()
		}
		for i, p := range f.parts {
			// A partition being loaded is not fetched meanwhile; one
			// whose last load did not finish holds no position to fetch
			// from and is loaded afresh.
			if loads.running(p) {
				continue
			}
			if s.isIncomplete(p) {
				loads.start(lctx, p)
				lastFull = time.Time{} // the master must forget p's position
				continue
			}
			seq, hash, err := s.position(p)
			if err != nil {
				return progressed, err
			}
			now := fetchSent{seq, hash}
			if !full && sent[i] == now {
				continue
			}
			sent[i] = now
			if partArg[i] == nil {
				partArg[i] = strconv.AppendInt(nil, int64(p), 10)
			}
			pos := strconv.AppendUint(nil, seq, 10)
			pos = append(pos, '/')
			args = append(args, partArg[i], strconv.AppendUint(pos, hash, 10))
		}
		// While partitions load, fetch with a short wait, so that a
		// partition loaded meanwhile is fetched (and acknowledged) soon
		// rather than when a long wait on the others ends.
		args[2] = longWait
		if loads.any() {
			args[2] = shortWait
		}
		if full && len(args) == 3 {
			// Every partition is being loaded: nothing to fetch until a
			// load ends.
			loads.wait(ctx, wait)
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			lastFull = time.Time{}
			continue
		}
		out = resp.AppendCommand(out[:0], args...)
		v, err := f.roundTrip(nc, bw, rr, out, time.Now().Add(wait+followReplyTimeout))
		if err != nil {
			return progressed, err
		}
		got, err := decodeFetchReply(v, want)
		if err != nil {
			return progressed, err
		}
		progressed = true
		for _, g := range got {
			ms := &s.repl.masterSeq[g.p]
			for old := ms.Load(); old < g.seq && !ms.CompareAndSwap(old, g.seq); old = ms.Load() {
			}
			if !g.snapshot {
				_, err := s.ApplyEffects(g.p, g.effects)
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrSeqGap) {
					return progressed, fmt.Errorf("partition %d: %w", g.p, err)
				}
				// Local writes moved this copy on: reset it from the master.
			}
			loads.start(lctx, g.p)
			// The next request is a full FETCH, which leaves g.p out: a
			// FETCHMORE would keep its old position on the master, which
			// would answer "snapshot needed" at once, again and again.
			lastFull = time.Time{}
		}
	}
}

// maxLoadsPerMaster bounds the snapshots one Follow loop loads at once;
// the master bounds its sessions too (Config.SnapshotMaxSessions).
const maxLoadsPerMaster = 2

// loadPollWait is the longest a FETCH waits while snapshots load beside
// it (see session).
const loadPollWait = 50 * time.Millisecond

// loadRetryPause is how long a partition whose load failed waits before
// it is tried again (a master answering BUSY, a connection lost).
const loadRetryPause = 200 * time.Millisecond

// snapshotLoads runs a Follow session's snapshot loads beside its fetch
// loop, each over a connection of its own, so a partition being loaded —
// seconds for a big one at a throttled rate — does not hold up the other
// partitions' replication, nor the acknowledgements their writes wait for.
type snapshotLoads struct {
	f     *follower
	slots chan struct{}
	wg    sync.WaitGroup

	mu    sync.Mutex
	busy  map[int]bool  // partitions being loaded; guarded by mu
	ended chan struct{} // closed and replaced when a load ends; guarded by mu
}

func newSnapshotLoads(f *follower) *snapshotLoads {
	return &snapshotLoads{f: f, slots: make(chan struct{}, maxLoadsPerMaster), busy: map[int]bool{}, ended: make(chan struct{})}
}

// wait returns when a load ends, after d, or when ctx ends.
func (l *snapshotLoads) wait(ctx context.Context, d time.Duration) {
	l.mu.Lock()
	ended := l.ended
	l.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ended:
	case <-t.C:
	case <-ctx.Done():
	}
}

// any reports whether some partition is being loaded.
func (l *snapshotLoads) any() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.busy) > 0
}

func (l *snapshotLoads) running(p int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy[p]
}

// start loads partition p unless it is being loaded already; ctx ends it.
func (l *snapshotLoads) start(ctx context.Context, p int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[p] {
		return
	}
	l.busy[p] = true
	l.wg.Go(func() {
		defer func() {
			l.mu.Lock()
			delete(l.busy, p)
			close(l.ended)
			l.ended = make(chan struct{})
			l.mu.Unlock()
		}()
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		err := l.f.loadOn(ctx, p)
		<-l.slots
		if err != nil && ctx.Err() == nil {
			l.f.s.log.Warn("snapshot load failed; trying again", "shard", l.f.s.cfg.ID, "master", l.f.masterID,
				"partition", p, "err", err)
			t := time.NewTimer(loadRetryPause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	})
}

// stop waits for the loads, which the session's context ends.
func (l *snapshotLoads) stop() { l.wg.Wait() }

// loadOn loads partition p's snapshot over a connection of its own.
func (f *follower) loadOn(ctx context.Context, p int) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", f.addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { _ = nc.Close() })()
	return f.loadSnapshot(ctx, nc, bufio.NewWriterSize(nc, 4096), resp.NewReplyReader(nc, 0), p)
}

// fetchSent is a partition position a follower sent its master.
type fetchSent struct{ seq, hash uint64 }

// fullFetchEvery is how often a follower names all its partitions to its
// master (SHARDIS.FETCH) rather than only those whose position moved
// (SHARDIS.FETCHMORE): a master that forgot an acknowledgement (the map
// took the follower off a partition and gave it back) hears it again
// within this time.
const fullFetchEvery = time.Second

// roundTrip sends one command and reads its reply, which aliases rr's
// buffer until the next read.
func (f *follower) roundTrip(nc net.Conn, bw *bufio.Writer, rr *resp.ReplyReader, cmd []byte, deadline time.Time) (resp.Value, error) {
	if err := nc.SetDeadline(deadline); err != nil {
		return resp.Value{}, err
	}
	if _, err := bw.Write(cmd); err != nil {
		return resp.Value{}, err
	}
	if err := bw.Flush(); err != nil {
		return resp.Value{}, err
	}
	raw, err := rr.Next()
	if err != nil {
		return resp.Value{}, err
	}
	v, _, err := resp.ParseValue(raw)
	return v, err
}

// loadSnapshot fetches partition p's snapshot from the master over the
// session's connection, a chunk at a time as the load reads it, and loads
// it (see Server.loadSnapshot). The session on the master ends with
// SHARDIS.SNAPDONE whether or not the load succeeded, unless the
// connection broke.
func (f *follower) loadSnapshot(ctx context.Context, nc net.Conn, bw *bufio.Writer, rr *resp.ReplyReader, p int) error {
	cmd := resp.AppendCommand(nil, []byte("SHARDIS.SNAPSHOT"), strconv.AppendInt(nil, int64(p), 10), []byte(f.s.cfg.ID))
	v, err := f.roundTrip(nc, bw, rr, cmd, time.Now().Add(snapshotTimeout))
	if err != nil {
		return err
	}
	if v.Kind == resp.KindError {
		return fmt.Errorf("shard: master answered SHARDIS.SNAPSHOT %d with %q", p, v.Str)
	}
	if v.Kind != resp.KindArray || len(v.Elems) != 3 || v.Elems[0].Kind != resp.KindBulk ||
		v.Elems[1].Kind != resp.KindInt || v.Elems[2].Kind != resp.KindInt || v.Elems[1].Int < 0 || v.Elems[2].Int < 0 {
		return fmt.Errorf("shard: SHARDIS.SNAPSHOT %d: reply is not [id, seq, size]", p)
	}
	src := &snapshotSource{f: f, nc: nc, bw: bw, rr: rr, id: string(v.Elems[0].Str), size: v.Elems[2].Int,
		chunk: f.s.cfg.SnapshotChunkSize}
	want := uint64(v.Elems[1].Int)
	seq, err := f.s.loadSnapshot(ctx, p, src)
	if !src.broken {
		done := resp.AppendCommand(nil, []byte("SHARDIS.SNAPDONE"), []byte(src.id))
		if _, derr := f.roundTrip(nc, bw, rr, done, time.Now().Add(followReplyTimeout)); derr != nil && err == nil {
			err = derr
		}
	}
	if err != nil {
		return fmt.Errorf("partition %d: %w", p, err)
	}
	if seq != want {
		return fmt.Errorf("partition %d: snapshot at seq %d, its session said %d", p, seq, want)
	}
	f.s.repl.snapshots.Add(1)
	f.s.log.Info("partition loaded from a snapshot", "shard", f.s.cfg.ID, "master", f.masterID, "partition", p,
		"seq", seq, "bytes", src.size)
	return nil
}

// snapshotSource reads a snapshot session's file from the master with
// SHARDIS.SNAPREAD, one chunk at a time, as it is read.
type snapshotSource struct {
	f      *follower
	nc     net.Conn
	bw     *bufio.Writer
	rr     *resp.ReplyReader
	id     string
	size   int64
	chunk  int
	off    int64  // offset of the next chunk to ask for
	buf    []byte // the current chunk
	rest   []byte // what is left of it
	broken bool   // the connection failed: the master's session is left to expire
	cmd    []byte
}

func (r *snapshotSource) Read(b []byte) (int, error) {
	if len(r.rest) == 0 {
		if r.off >= r.size {
			return 0, io.EOF
		}
		if err := r.fetch(); err != nil {
			return 0, err
		}
	}
	n := copy(b, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// fetch reads the next chunk.
func (r *snapshotSource) fetch() error {
	count := min(int64(r.chunk), r.size-r.off)
	r.cmd = resp.AppendCommand(r.cmd[:0], []byte("SHARDIS.SNAPREAD"), []byte(r.id),
		strconv.AppendInt(nil, r.off, 10), strconv.AppendInt(nil, count, 10))
	v, err := r.f.roundTrip(r.nc, r.bw, r.rr, r.cmd, time.Now().Add(followReplyTimeout))
	if err != nil {
		r.broken = true
		return err
	}
	switch {
	case v.Kind == resp.KindError:
		return fmt.Errorf("shard: master answered SHARDIS.SNAPREAD with %q", v.Str)
	case v.Kind != resp.KindBulk || v.Null:
		return fmt.Errorf("shard: SHARDIS.SNAPREAD: reply is not a bulk")
	case len(v.Str) == 0 || int64(len(v.Str)) > count:
		return fmt.Errorf("shard: SHARDIS.SNAPREAD at %d of %d: %d bytes for %d asked", r.off, r.size, len(v.Str), count)
	}
	// The reply aliases the reader's buffer until the next read.
	r.buf = append(r.buf[:0], v.Str...)
	r.rest = r.buf
	r.off += int64(len(v.Str))
	r.f.s.repl.snaps.received.Add(uint64(len(v.Str)))
	return nil
}
