package repl

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Acks holds, for every partition a master serves, the position each
// follower last reported (the seq through which it applied the partition:
// its acknowledgement), and lets writers wait until the copies they need
// hold a seq. Its methods are safe for concurrent use; they never block
// except Wait, which is woken by Record and never polls.
type Acks struct {
	parts []ackPart // index = partition id
	max   int
}

// ackPart is the acknowledged positions of one partition's followers.
type ackPart struct {
	mu      sync.Mutex
	acked   map[string]uint64 // follower id → applied seq; guarded by mu
	changed chan struct{}     // closed when a position grows or first appears; nil if nobody waits; guarded by mu
}

// Errors of Acks, matched with errors.Is.
var (
	// ErrTooManyFollowers refuses a new follower id beyond the bound,
	// so that stray or hostile ids cannot grow a master's memory.
	ErrTooManyFollowers = errors.New("too many followers of partition")
	// ErrAborted is Wait's answer when its abort channel closed first.
	ErrAborted = errors.New("repl: wait aborted")
)

// NewAcks returns the acknowledgements of partitions partitions, each
// recording at most maxFollowers follower ids (a partition has RF-1
// followers, a few more while it moves).
func NewAcks(partitions, maxFollowers int) *Acks {
	return &Acks{parts: make([]ackPart, partitions), max: maxFollowers}
}

// Record stores follower's position for partition p. A follower's first
// report is news too (at position 0 on an empty partition): whoever waits
// for it to catch up must look.
func (a *Acks) Record(p int, follower string, pos uint64) error {
	ap := &a.parts[p]
	ap.mu.Lock()
	defer ap.mu.Unlock()
	old, known := ap.acked[follower]
	if !known {
		if len(ap.acked) >= a.max {
			return ErrTooManyFollowers
		}
		if ap.acked == nil {
			ap.acked = make(map[string]uint64)
		}
	}
	ap.acked[follower] = pos
	if (pos > old || !known) && ap.changed != nil {
		close(ap.changed)
		ap.changed = nil
	}
	return nil
}

// Acked returns follower's position of p and whether it ever reported p.
func (a *Acks) Acked(p int, follower string) (uint64, bool) {
	ap := &a.parts[p]
	ap.mu.Lock()
	defer ap.mu.Unlock()
	pos, ok := ap.acked[follower]
	return pos, ok
}

// Positions appends to pos the position of p of each of followers (0 for
// one that never reported). With all set, every follower that reported p
// is added to followers first.
func (a *Acks) Positions(p int, all bool, followers []string, pos []uint64) ([]string, []uint64) {
	ap := &a.parts[p]
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if all {
		for f := range ap.acked {
			if !slices.Contains(followers, f) {
				followers = append(followers, f)
			}
		}
	}
	for _, f := range followers {
		pos = append(pos, ap.acked[f])
	}
	return followers, pos
}

// Hold reports whether every one of followers acknowledged seq of p.
func (a *Acks) Hold(p int, seq uint64, followers []string) bool {
	ap := &a.parts[p]
	ap.mu.Lock()
	defer ap.mu.Unlock()
	return ap.hold(seq, followers)
}

func (ap *ackPart) hold(seq uint64, followers []string) bool {
	for _, f := range followers {
		if ap.acked[f] < seq {
			return false
		}
	}
	return true
}

// Forget drops what p knows of follower, so a follower removed from the
// partition stops occupying one of its places; if it reports again it is
// recorded again.
func (a *Acks) Forget(p int, follower string) {
	ap := &a.parts[p]
	ap.mu.Lock()
	defer ap.mu.Unlock()
	delete(ap.acked, follower)
}

// Changed returns a channel closed when some follower's position of p
// grows or first appears. Take it before looking at the positions, so a
// report in between is not missed.
func (a *Acks) Changed(p int) <-chan struct{} {
	ap := &a.parts[p]
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if ap.changed == nil {
		ap.changed = make(chan struct{})
	}
	return ap.changed
}

// Wait blocks until every one of followers acknowledged p through seq. It
// returns ctx's error when ctx ends first, and ErrAborted when abort (nil:
// never) closes first. It costs nothing while nobody calls it.
func (a *Acks) Wait(ctx context.Context, p int, seq uint64, followers []string, abort <-chan struct{}) error {
	ap := &a.parts[p]
	for {
		ap.mu.Lock()
		if ap.hold(seq, followers) {
			ap.mu.Unlock()
			return nil
		}
		if ap.changed == nil {
			ap.changed = make(chan struct{})
		}
		ch := ap.changed
		ap.mu.Unlock()
		select {
		case <-ch:
		case <-abort:
			return ErrAborted
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Notifier broadcasts "something moved" to whoever waits: one channel for
// all waiters instead of one per partition and waiter.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next Notify; nil while nobody waits
}

// Wait returns a channel closed at the next Notify. Subscribe before
// looking at what may move, so that a move in between is not missed.
func (n *Notifier) Wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// Notify wakes everyone waiting.
func (n *Notifier) Notify() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}
