package shard

import (
	"slices"
	"time"

	"github.com/shardis/shardis/metrics"
)

// Replication metrics. They are computed when scraped, from the state the
// replication stream keeps anyway (the followers' acknowledged positions,
// the partitions' seqs and effect logs), so writes and fetches pay nothing
// for them beyond the commit time the effect log keeps with each effect.
//
// Which partitions this shard masters, and who follows them, comes from
// the applied cluster map (ApplyRoles): a follower named in the map that
// never fetched lags by the partition's whole seq. Before any map is
// applied the shard masters every partition not flagged follower, and its
// followers are the ids that fetched from it.

// replicationStats reads the shard's replication state for
// metrics.NewShardReplication. It takes each partition's locks in turn,
// never two at once, and is safe for concurrent use.
func (s *Server) replicationStats() metrics.ShardReplication {
	sn := &s.repl.snaps
	out := metrics.ShardReplication{
		Lag:                   make(map[string]metrics.FollowerLag),
		SnapshotBytesSent:     sn.sent.Load(),
		SnapshotBytesReceived: sn.received.Load(),
		SnapshotSessions:      s.openSessions(),
		SnapshotPinsDropped:   sn.pinsDropped.Load(),
		SnapshotsLoaded:       s.repl.snapshots.Load(),
	}
	id := s.cfg.ID
	t := s.roles.table.Load()
	nowMS := s.nowMS()
	var followers []string
	var pos []uint64
	for p := range s.cfg.Partitions {
		followers, pos = followers[:0], pos[:0]
		if t != nil {
			r := t.roles[p]
			if r.Master != id {
				if r.Master != "" && (slices.Contains(r.InSync, id) || slices.Contains(r.Replicas, id)) {
					out.Followers++
				}
				continue
			}
			for _, f := range copies(r) {
				if f != id && !slices.Contains(followers, f) {
					followers = append(followers, f)
				}
			}
		} else if s.IsFollower(p) {
			out.Followers++
			continue
		}
		out.Masters++
		// Positions first, then the seq: a position read earlier is at
		// most the seq read later, so the lag is never negative.
		followers, pos = s.ackedPositions(p, t == nil, followers, pos)
		seq, times := s.lagTimes(p, pos)
		for i, f := range followers {
			l := out.Lag[f] // OldestKnown means "dated by some log" until the end
			if pos[i] < seq {
				l.Effects += seq - pos[i]
				if times[i] != 0 {
					l.Oldest = max(l.Oldest, time.Duration(max(0, nowMS-times[i]))*time.Millisecond)
					l.OldestKnown = true
				}
			}
			out.Lag[f] = l
		}
	}
	for f, l := range out.Lag {
		l.OldestKnown = l.OldestKnown || l.Effects == 0
		out.Lag[f] = l
	}
	return out
}

// ackedPositions appends to pos the acknowledged position of p of each of
// followers (0 for one that never fetched). With all set, every follower
// that fetched p is added to followers first.
func (s *Server) ackedPositions(p int, all bool, followers []string, pos []uint64) ([]string, []uint64) {
	return s.repl.acks.Positions(p, all, followers, pos)
}

// lagTimes returns partition p's seq and, for each position in pos below
// it, when the effect after it was committed (unix ms; 0 when the log
// cannot tell).
func (s *Server) lagTimes(p int, pos []uint64) (seq uint64, times []int64) {
	times = make([]int64, len(pos))
	part := s.parts[p].Load()
	if part == nil {
		return 0, times
	}
	part.mu.Lock()
	defer part.mu.Unlock()
	for i, at := range pos {
		if at < part.seq {
			times[i], _ = part.log.CommittedAt(at+1, part.seq)
		}
	}
	return part.seq, times
}
