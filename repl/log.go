package repl

// Log is a bounded FIFO of a partition's latest effects, consecutive
// in seq and ending at the partition's seq. It grows only as effects come,
// so idle partitions cost nothing.
type Log struct {
	entries []Effect // entries[head:] are live
	// hash[i] is the history hash after entries[i]; base is the hash
	// before entries[head], so the log can tell the hash at every seq it
	// covers, from the one before its oldest effect to its newest.
	hash []uint64
	base uint64
	// at[i] is when entries[i] was committed on this shard (unix ms, the
	// command time), so a master can tell how old a follower's oldest
	// unacknowledged write is (see repl_metrics.go).
	at    []int64
	head  int
	bytes int
	// keeping says that no effect after seq keep leaves the log, whatever
	// the bounds (see Keep).
	keep    uint64
	keeping bool
}

// Len is the number of effects logged.
func (l *Log) Len() int { return len(l.entries) - l.head }

func size(e *Effect) int {
	n := 32
	for _, op := range e.Ops {
		n += 48 + len(op.Key) + len(op.Value)
	}
	return n
}

// Push appends effect e, committed at atMS (unix ms) with history hash
// hash after it and prevHash before it, then trims the log to maxEntries
// and maxBytes (see Trim).
func (l *Log) Push(e Effect, atMS int64, hash, prevHash uint64, maxEntries, maxBytes int) {
	if l.Len() == 0 {
		l.base = prevHash
	}
	l.entries = append(l.entries, e)
	l.at = append(l.at, atMS)
	l.hash = append(l.hash, hash)
	l.bytes += size(&e)
	l.Trim(maxEntries, maxBytes)
}

// Trim drops the oldest effects while the log holds more than maxEntries
// or maxBytes, keeping the newest whatever its size and, while Keep holds,
// every effect after its seq.
func (l *Log) Trim(maxEntries, maxBytes int) {
	for l.Len() > 1 && (l.Len() > maxEntries || l.bytes > maxBytes) {
		if l.keeping && l.entries[l.head].Seq > l.keep {
			break
		}
		l.bytes -= size(&l.entries[l.head])
		l.entries[l.head] = Effect{} // let the ops be collected
		l.base = l.hash[l.head]
		l.head++
	}
	if l.head >= 64 && l.head*2 >= len(l.entries) {
		n := copy(l.entries, l.entries[l.head:])
		clear(l.entries[n:])
		l.entries = l.entries[:n]
		l.at = l.at[:copy(l.at, l.at[l.head:])]
		l.hash = l.hash[:copy(l.hash, l.hash[l.head:])]
		l.head = 0
	}
}

// Keep makes the log hold every effect after seq, whatever the bounds of
// Push and Trim, until Unkeep or Reset: a copy loading a snapshot taken at
// seq continues from those effects once it has loaded it. What the log
// holds then grows with every Push; the caller watches Bytes and gives up
// the keep past its own bound.
func (l *Log) Keep(seq uint64) { l.keep, l.keeping = seq, true }

// Unkeep ends Keep; the next Push or Trim applies the bounds again.
func (l *Log) Unkeep() { l.keep, l.keeping = 0, false }

// Bytes is the approximate memory the logged effects take.
func (l *Log) Bytes() int { return l.bytes }

// CommittedAt returns when the effect with seq next was committed, for a
// log ending at seq last (next in 1..last). When next has left the log it
// returns the time of the oldest effect logged: next is older still. It
// reports false when the log holds no effect to tell by.
func (l *Log) CommittedAt(next, last uint64) (ms int64, ok bool) {
	n := uint64(l.Len())
	if n == 0 || next == 0 || next > last {
		return 0, false
	}
	i := l.head
	if first := last - n + 1; next > first { // first: seq of the oldest logged effect
		i += int(next - first)
	}
	return l.at[i], true
}

// Reset empties the log and ends Keep, as when the partition it follows
// was replaced (a snapshot load) or stopped keeping one.
func (l *Log) Reset() { *l = Log{} }

// Since returns up to max logged effects after afterSeq, oldest first
// (max <= 0: all), for a log ending at seq last; they share their Ops with
// the log. It reports false when the log cannot continue from afterSeq:
// the effects after it were dropped (or never logged), or afterSeq is
// beyond last.
func (l *Log) Since(afterSeq, last uint64, max int) ([]Effect, bool) {
	switch {
	case afterSeq > last:
		return nil, false
	case afterSeq == last:
		return nil, true
	}
	n := l.Len()
	first := last - uint64(n) + 1 // seq of the oldest logged effect
	if n == 0 || afterSeq+1 < first {
		return nil, false
	}
	live := l.entries[l.head+int(afterSeq+1-first):]
	if max > 0 && len(live) > max {
		live = live[:max]
	}
	return live, true
}

// HistoryAt returns the history hash at seq for a log ending at seq last,
// when the log covers it: from the seq before its oldest effect to last.
func (l *Log) HistoryAt(seq, last uint64) (uint64, bool) {
	n := uint64(l.Len())
	if seq > last || n == 0 {
		return 0, false
	}
	first := last - n + 1 // seq of the oldest logged effect
	switch {
	case seq+1 < first:
		return 0, false
	case seq+1 == first:
		return l.base, true
	}
	return l.hash[l.head+int(seq-first)], true
}
