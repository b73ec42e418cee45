package shard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot sessions. A copy being added reads its partition from the
// master in chunks (see the commands in commands_repl.go), so neither side
// ever holds a whole partition besides the store. SHARDIS.SNAPSHOT writes
// a consistent snapshot to a file of its own, holding the partition's read
// lock only for that local write, and opens a session on it; the follower
// reads the file with SHARDIS.SNAPREAD at its own pace and ends with
// SHARDIS.SNAPDONE. Files live under DataDir/snapshots, emptied at start
// (a previous process's sessions died with it); a shard in memory puts
// them in a directory of its own under os.TempDir, removed at Close.
//
// While a session opened for a follower is open, its partition's effect
// log keeps every effect after the snapshot's seq (the pin), so the
// follower continues from the log once loaded instead of needing another
// snapshot, which under heavy writes could go on forever; a session for no
// follower (a backup) pins nothing. The pin outlives SNAPDONE, moving it up with that follower's FETCH
// acknowledgements, until the follower is within half the log's entry
// bound of the partition's seq. A pin holds at most
// Config.SnapshotPinBytes; past it the session is abandoned (its next
// SNAPREAD fails) and the follower starts over. A session idle for
// Config.SnapshotIdleTimeout (no SNAPREAD, or once done no acknowledgement)
// is removed with its file and pin.

// Defaults for zero snapshot Config fields.
const (
	// DefaultSnapshotRate is the snapshot bandwidth the configs package
	// gives a shard: well under a 1 Gbit/s link, so clients and
	// replication keep most of it, and a 1 GiB partition still moves in
	// about 16 s.
	DefaultSnapshotRate = 64 << 20
	// DefaultSnapshotChunkSize stays under the 256 KiB past which the
	// connection's write buffer (redcon's) is dropped after each flush:
	// with 1 MiB chunks every chunk was a fresh allocation, and a
	// master's heap grew by the bytes it sent until the next collection
	// (+50 MiB of RSS for a 115 MB partition, against +0.3 MiB now).
	DefaultSnapshotChunkSize   = 128 << 10
	DefaultSnapshotIdleTimeout = time.Minute
	DefaultSnapshotMaxSessions = 8
	DefaultSnapshotPinBytes    = 64 << 20
)

// maxSnapshotChunk bounds Config.SnapshotChunkSize well below the largest
// reply a follower reads (resp.DefaultMaxReply).
const maxSnapshotChunk = 256 << 20

// Errors of the snapshot session commands.
const (
	errNoSnapshot      = "ERR no such snapshot (unknown, finished or expired)"
	errSnapshotsBusy   = "BUSY too many snapshot sessions open on this shard; retry later"
	errSnapshotDropped = "ERR snapshot abandoned: the partition's writes outgrew the effect log kept for it; take a new snapshot"
)

// snapSession is one open snapshot: a file holding partition pid's
// snapshot at seq.
type snapSession struct {
	id       string
	pid      int
	follower string // who loads it ("" when not named): its acks move the pin after SNAPDONE
	seq      uint64
	size     int64
	file     *os.File // nil once done; guarded by snapSessions.mu

	// catchingUp is set at SNAPDONE when the session keeps its pin for
	// its follower's catching up from the log.
	catchingUp atomic.Bool

	// lastUse is when the session was last read, as a monoNow reading.
	lastUse atomic.Int64
	// dropped is set once the pin outgrew its bound (or the partition was
	// replaced): the session can no longer be continued from the log.
	dropped atomic.Bool
	// pinSeq is the seq after which the partition's log keeps every
	// effect for this session; guarded by the partition's mu, like the
	// partition's pins.
	pinSeq uint64
}

// snapSessions is a shard's open snapshot sessions, its snapshot
// bandwidth and the transfer counters.
type snapSessions struct {
	mu       sync.Mutex
	sessions map[string]*snapSession // guarded by mu
	opening  int                     // sessions being written; guarded by mu
	dir      string                  // where files go, "" until the first; guarded by mu
	ownDir   bool                    // dir was made for this process (in memory): removed at Close
	janitor  bool                    // the expiry loop runs; guarded by mu

	limiter rateLimiter
	// loadBatch overrides snapshotLoadBatch when positive, so tests load
	// small snapshots in several transactions.
	loadBatch int

	sent, received, pinsDropped atomic.Uint64
	// keysLoaded counts the keys (not their elements) of the snapshots
	// loaded completely, for SHARDIS.MOVED.
	keysLoaded atomic.Uint64
}

func (c Config) validateSnapshots() []error {
	var errs []error
	if c.SnapshotRate < 0 {
		errs = append(errs, fmt.Errorf("shard: SnapshotRate (%d) must not be negative (0 is unlimited)", c.SnapshotRate))
	}
	if c.SnapshotChunkSize < 0 || c.SnapshotChunkSize > maxSnapshotChunk {
		errs = append(errs, fmt.Errorf("shard: SnapshotChunkSize (%d) must be from 0 to %d", c.SnapshotChunkSize, maxSnapshotChunk))
	}
	if c.SnapshotIdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("shard: SnapshotIdleTimeout (%s) must not be negative", c.SnapshotIdleTimeout))
	}
	if c.SnapshotMaxSessions < 0 {
		errs = append(errs, fmt.Errorf("shard: SnapshotMaxSessions (%d) must not be negative", c.SnapshotMaxSessions))
	}
	if c.SnapshotPinBytes < 0 {
		errs = append(errs, fmt.Errorf("shard: SnapshotPinBytes (%d) must not be negative", c.SnapshotPinBytes))
	}
	return errs
}

func (c Config) withSnapshotDefaults() Config {
	if c.SnapshotChunkSize == 0 {
		c.SnapshotChunkSize = DefaultSnapshotChunkSize
	}
	if c.SnapshotIdleTimeout == 0 {
		c.SnapshotIdleTimeout = DefaultSnapshotIdleTimeout
	}
	if c.SnapshotMaxSessions == 0 {
		c.SnapshotMaxSessions = DefaultSnapshotMaxSessions
	}
	if c.SnapshotPinBytes == 0 {
		c.SnapshotPinBytes = DefaultSnapshotPinBytes
	}
	return c
}

// SetSnapshotRate sets the bandwidth of the snapshot bytes this shard
// sends, all transfers together, in bytes per second (0 or less:
// unlimited), as Config.SnapshotRate does at start. Chunks already waiting
// keep the wait they were given.
func (s *Server) SetSnapshotRate(bytesPerSec int64) {
	s.repl.snaps.limiter.set(bytesPerSec)
}

// snapshotsDir is where this shard's snapshot files go.
func (s *Server) snapshotsDir() string { return filepath.Join(s.cfg.DataDir, "snapshots") }

// clearSnapshotFiles removes the files of a previous process's sessions.
func (s *Server) clearSnapshotFiles() error {
	if err := os.RemoveAll(s.snapshotsDir()); err != nil {
		return fmt.Errorf("shard: remove old snapshot files: %w", err)
	}
	return nil
}

// openSnapshot writes partition pid's snapshot to a file and opens a
// session on it, pinning the partition's effect log from the snapshot's
// seq when a follower is named.
func (s *Server) openSnapshot(pid int, follower string) (*snapSession, error) {
	sn := &s.repl.snaps
	sn.mu.Lock()
	if sn.withFiles()+sn.opening >= s.cfg.SnapshotMaxSessions {
		sn.mu.Unlock()
		return nil, errReply(errSnapshotsBusy)
	}
	if err := s.startSnapshotJanitor(); err != nil {
		sn.mu.Unlock()
		return nil, err
	}
	dir, err := s.snapshotDirLocked()
	if err != nil {
		sn.mu.Unlock()
		return nil, err
	}
	sn.opening++
	sn.mu.Unlock()
	defer func() {
		sn.mu.Lock()
		sn.opening--
		sn.mu.Unlock()
	}()

	var idb [12]byte
	_, _ = rand.Read(idb[:])
	ss := &snapSession{id: hex.EncodeToString(idb[:]), pid: pid, follower: follower}
	f, err := os.CreateTemp(dir, fmt.Sprintf("%04d-*.snap", pid))
	if err != nil {
		return nil, fmt.Errorf("create snapshot file: %w", err)
	}
	ss.file = f
	fail := func(err error) (*snapSession, error) {
		s.unpin(ss)
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	// Pin first, at the seq before the snapshot: every effect after the
	// snapshot's own seq is then kept too. A snapshot read by no follower
	// (a backup) continues from nothing: it pins nothing.
	if follower != "" {
		s.pin(ss)
	}
	if ss.seq, err = s.WriteSnapshot(pid, f); err != nil {
		return fail(fmt.Errorf("write snapshot: %w", err))
	}
	s.movePin(ss, ss.seq)
	if ss.dropped.Load() {
		return fail(errReply(errSnapshotDropped)) // writes outran even the local write
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	ss.size = fi.Size()
	ss.lastUse.Store(monoNow())
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.sessions == nil {
		sn.sessions = make(map[string]*snapSession)
	}
	sn.sessions[ss.id] = ss
	return ss, nil
}

// snapshotDirLocked returns the directory for snapshot files, making it
// at first use. Caller holds snaps.mu.
func (s *Server) snapshotDirLocked() (string, error) {
	sn := &s.repl.snaps
	if sn.dir != "" {
		return sn.dir, nil
	}
	if s.cfg.InMemory {
		dir, err := os.MkdirTemp("", "shardis-snapshots-")
		if err != nil {
			return "", fmt.Errorf("create snapshot dir: %w", err)
		}
		sn.dir, sn.ownDir = dir, true
		return dir, nil
	}
	if err := os.MkdirAll(s.snapshotsDir(), 0o755); err != nil {
		return "", fmt.Errorf("create snapshot dir: %w", err)
	}
	sn.dir = s.snapshotsDir()
	return sn.dir, nil
}

// withFiles counts the sessions holding a file. Caller holds mu.
func (sn *snapSessions) withFiles() int {
	n := 0
	for _, ss := range sn.sessions {
		if ss.file != nil {
			n++
		}
	}
	return n
}

// session returns the open session id and its file, refreshing its idle
// time.
func (s *Server) session(id string) (*snapSession, *os.File, error) {
	sn := &s.repl.snaps
	sn.mu.Lock()
	ss := sn.sessions[id]
	var f *os.File
	if ss != nil {
		f = ss.file
	}
	sn.mu.Unlock()
	switch {
	case f == nil:
		return nil, nil, errReply(errNoSnapshot)
	case ss.dropped.Load():
		return nil, nil, errReply(errSnapshotDropped)
	}
	ss.lastUse.Store(monoNow())
	return ss, f, nil
}

// readSnapshotChunk reads up to count bytes of session id at offset,
// waiting for the shard's snapshot bandwidth. At or past the end it
// returns no bytes.
func (s *Server) readSnapshotChunk(ctx context.Context, id string, offset, count int64, buf []byte) ([]byte, error) {
	ss, f, err := s.session(id)
	if err != nil {
		return nil, err
	}
	if offset >= ss.size || count == 0 {
		return buf[:0], nil
	}
	n := min(count, ss.size-offset, int64(s.cfg.SnapshotChunkSize))
	n = s.repl.snaps.limiter.clip(n)
	if err := s.repl.snaps.limiter.wait(ctx, n); err != nil {
		return nil, err
	}
	buf = slices.Grow(buf[:0], int(n))[:n]
	if _, err := f.ReadAt(buf, offset); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return nil, errReply(errNoSnapshot) // removed while this read waited
		}
		return nil, err
	}
	if ss.dropped.Load() {
		return nil, errReply(errSnapshotDropped)
	}
	ss.lastUse.Store(monoNow())
	s.repl.snaps.sent.Add(uint64(n))
	return buf, nil
}

// closeSession ends session id (SNAPDONE): its file goes, and its pin
// too unless it was opened for a follower still to catch up from the log.
// It reports false when no such session holds a file.
func (s *Server) closeSession(id string) bool {
	sn := &s.repl.snaps
	sn.mu.Lock()
	ss := sn.sessions[id]
	if ss == nil || ss.file == nil {
		sn.mu.Unlock()
		return false
	}
	f := ss.file
	ss.file = nil
	keep := ss.follower != "" && !ss.dropped.Load()
	if keep {
		ss.catchingUp.Store(true)
		ss.lastUse.Store(monoNow())
	} else {
		delete(sn.sessions, id)
	}
	sn.mu.Unlock()
	s.removeFile(f)
	if !keep {
		s.unpin(ss)
	}
	return true
}

// removeSession releases ss's pin and file; ss has left the session map.
func (s *Server) removeSession(ss *snapSession) {
	s.unpin(ss)
	s.repl.snaps.mu.Lock()
	f := ss.file
	ss.file = nil
	s.repl.snaps.mu.Unlock()
	if f != nil {
		s.removeFile(f)
	}
}

func (s *Server) removeFile(f *os.File) {
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cannot remove a snapshot file", "shard", s.cfg.ID, "file", f.Name(), "err", err)
	}
}

// ackPins moves the pins of partition pid's sessions that follower
// finished loading up to its acknowledged position pos, and releases those
// it no longer needs: the follower is then close enough that the log's
// own bounds keep what it still has to fetch (unless large effects make
// the byte bound the tighter one; it then needs another snapshot).
func (s *Server) ackPins(pid int, follower string, pos uint64) {
	p := s.parts[pid].Load()
	if p == nil || !p.pinned.Load() {
		return
	}
	var done []*snapSession
	p.mu.Lock()
	for i := 0; i < len(p.pins); {
		ss := p.pins[i]
		if ss.follower != follower || !ss.catchingUp.Load() || pos < ss.pinSeq {
			i++
			continue
		}
		ss.pinSeq = pos
		ss.lastUse.Store(monoNow())
		if p.seq-min(pos, p.seq) <= uint64(s.replLogSize()/2) {
			p.pins = slices.Delete(p.pins, i, i+1)
			done = append(done, ss)
			continue
		}
		i++
	}
	p.keepPinned()
	p.log.Trim(s.replLogSize(), s.replLogBytes())
	p.mu.Unlock()
	if len(done) > 0 {
		sn := &s.repl.snaps
		sn.mu.Lock()
		for _, ss := range done {
			delete(sn.sessions, ss.id)
		}
		sn.mu.Unlock()
	}
}

// startSnapshotJanitor starts, once, the loop that removes idle sessions
// and, when the shard closes, every session. Caller holds snaps.mu.
func (s *Server) startSnapshotJanitor() error {
	sn := &s.repl.snaps
	if sn.janitor {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	sn.janitor = true
	s.bg.Add(1) // Close waits for the loop, which runs until every handler returned
	go func() {
		defer s.bg.Done()
		s.snapshotJanitor()
	}()
	return nil
}

func (s *Server) snapshotJanitor() {
	idle := s.cfg.SnapshotIdleTimeout
	t := time.NewTicker(min(max(idle/4, time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			s.expireSessions(-1)
			return
		case <-t.C:
			s.expireSessions(idle)
		}
	}
}

// expireSessions removes the sessions idle for longer than idle (all of
// them when idle is negative, and then the directory this process made).
func (s *Server) expireSessions(idle time.Duration) {
	sn := &s.repl.snaps
	now := monoNow()
	var gone []*snapSession
	sn.mu.Lock()
	for id, ss := range sn.sessions {
		if idle < 0 || time.Duration(now-ss.lastUse.Load()) > idle {
			gone = append(gone, ss)
			delete(sn.sessions, id)
		}
	}
	dir, own := sn.dir, sn.ownDir
	sn.mu.Unlock()
	for _, ss := range gone {
		if idle >= 0 {
			s.log.Warn("snapshot session expired unused", "shard", s.cfg.ID, "partition", ss.pid, "session", ss.id,
				"follower", ss.follower, "catching_up", ss.catchingUp.Load(), "idle_timeout", idle)
		}
		s.removeSession(ss)
	}
	if idle < 0 && own {
		_ = os.RemoveAll(dir)
	}
}

// openSessions counts the open snapshot sessions.
func (s *Server) openSessions() int {
	sn := &s.repl.snaps
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return len(sn.sessions)
}

// pin makes ss's partition log keep every effect after its seq now.
func (s *Server) pin(ss *snapSession) {
	p := s.parts[ss.pid].Load()
	if p == nil {
		return // never written: a copy starting at seq 0 continues from its log
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ss.pinSeq = p.seq
	p.pins = append(p.pins, ss)
	p.keepPinned()
}

// movePin moves ss's pin to seq (at least the seq it pinned at).
func (s *Server) movePin(ss *snapSession, seq uint64) {
	p := s.parts[ss.pid].Load()
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if slices.Contains(p.pins, ss) {
		ss.pinSeq = seq
		p.keepPinned()
		p.log.Trim(s.replLogSize(), s.replLogBytes())
	}
}

// unpin releases ss's pin.
func (s *Server) unpin(ss *snapSession) {
	p := s.parts[ss.pid].Load()
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.pins, ss); i >= 0 {
		p.pins = slices.Delete(p.pins, i, i+1)
		p.keepPinned()
		p.log.Trim(s.replLogSize(), s.replLogBytes())
	}
}

// keepPinned makes p's log keep what its oldest pin needs. Caller holds
// p.mu.
func (p *partition) keepPinned() {
	p.pinned.Store(len(p.pins) > 0)
	if len(p.pins) == 0 {
		p.log.Unkeep()
		return
	}
	low := p.pins[0].pinSeq
	for _, ss := range p.pins[1:] {
		low = min(low, ss.pinSeq)
	}
	p.log.Keep(low)
}

// checkPins gives up p's oldest pins while its log holds more than the
// pin bound (or its usual bound, if larger). Caller holds p.mu.
func (s *Server) checkPins(p *partition) {
	limit := max(s.cfg.SnapshotPinBytes, s.replLogBytes())
	for len(p.pins) > 0 && p.log.Bytes() > limit {
		oldest := 0
		for i, ss := range p.pins {
			if ss.pinSeq < p.pins[oldest].pinSeq {
				oldest = i
			}
		}
		ss := p.pins[oldest]
		s.dropPin(p, oldest, "the writes since the snapshot outgrew the bound of its pin")
		s.log.Warn("snapshot session abandoned: writes outran it", "shard", s.cfg.ID, "partition", p.id,
			"session", ss.id, "seq", ss.pinSeq, "pin_bytes", s.cfg.SnapshotPinBytes)
	}
	p.log.Trim(s.replLogSize(), s.replLogBytes())
}

// dropPins abandons every session pinned on p, whose log is being
// replaced or no longer kept. Caller holds p.mu.
func (s *Server) dropPins(p *partition, why string) {
	for len(p.pins) > 0 {
		s.dropPin(p, 0, why)
	}
}

func (s *Server) dropPin(p *partition, i int, why string) {
	ss := p.pins[i]
	ss.dropped.Store(true)
	p.pins = slices.Delete(p.pins, i, i+1)
	p.keepPinned()
	s.repl.snaps.pinsDropped.Add(1)
	s.log.Debug("snapshot pin dropped", "shard", s.cfg.ID, "partition", p.id, "session", ss.id, "why", why)
}

// rateLimiter is a token bucket over bytes: wait takes n bytes' worth,
// sleeping while the bucket is in debt, so concurrent transfers share the
// rate in the order they asked.
type rateLimiter struct {
	mu     sync.Mutex
	rate   int64   // bytes per second; 0 = unlimited
	tokens float64 // bytes available; negative is debt
	last   int64   // monoNow of the last refill
}

// rateBurst is the idle time a bucket saves up, as a fraction of a second:
// a transfer of n bytes at rate r takes at least n/r - rateBurst seconds.
const rateBurst = 0.1

func (l *rateLimiter) set(rate int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(monoNow())
	l.rate = max(rate, 0)
	l.tokens = min(l.tokens, float64(l.rate)*rateBurst)
}

// refill adds the tokens earned since last. Caller holds mu.
func (l *rateLimiter) refill(now int64) {
	if l.rate > 0 {
		l.tokens += float64(now-l.last) / float64(time.Second) * float64(l.rate)
		l.tokens = min(l.tokens, float64(l.rate)*rateBurst)
	}
	l.last = now
}

// clip bounds one request to about a quarter second of bandwidth (at
// least 4 KiB), so a follower's reply deadline holds at any rate.
func (l *rateLimiter) clip(n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return n
	}
	return min(n, max(l.rate/4, 4<<10))
}

// wait takes n bytes from the bucket, waiting until they are earned or ctx
// ends.
func (l *rateLimiter) wait(ctx context.Context, n int64) error {
	l.mu.Lock()
	if l.rate <= 0 {
		l.mu.Unlock()
		return nil
	}
	l.refill(monoNow())
	l.tokens -= float64(n)
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / float64(l.rate) * float64(time.Second))
	}
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
