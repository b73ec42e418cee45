package shard

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/shardis/shardis/resp"
)

// A planned change of master (a move that places another copy first) is a
// handoff the old master drives, so that no write is lost or left
// unacknowledged by it and no two shards serve the partition at once:
//
//  1. HandOff stops the partition at its partition epoch: from then on the
//     gate refuses every client command for it with HANDOFF (the proxy
//     tries again shortly, or by the next map), and commit refuses any
//     write that passed the gate just before (it checks under the
//     partition's lock, so no effect is committed after the seq HandOff
//     reads).
//  2. It waits until the new master acknowledged everything up to that
//     seq; writes waiting for their copies meanwhile complete normally.
//  3. The caller reports the handoff to the controller, whose next map
//     names the new master at a new partition epoch. The old master never
//     serves the partition at the old epoch again: if the report is lost
//     it stays stopped until a newer map (the lease and failover cover a
//     controller that cannot be reached).
//
// The write pause of a handoff is steps 1 to 3 plus the map reaching the
// proxies: a few round trips.

// handoffState holds, per partition, the partition epoch at which it was
// stopped for a handoff (0 for none).
type handoffState struct {
	at []atomic.Uint64
}

func (h *handoffState) init(partitions int) { h.at = make([]atomic.Uint64, partitions) }

// stopped reports whether partition p is stopped for a handoff at epoch.
func (h *handoffState) stopped(p int, epoch uint64) bool {
	return epoch != 0 && h.at[p].Load() == epoch
}

// handoffRefusal is commit's check: a write to a partition stopped for a
// handoff at the applied epoch is refused. Caller holds p.mu.
func (s *Server) handoffRefusal(p *partition) error {
	t := s.roles.table.Load()
	if t == nil || !s.handoff.stopped(p.id, t.roles[p.id].Epoch) {
		return nil
	}
	return errReply(resp.HandoffError{Partition: p.id}.Error())
}

// HandOff stops serving partition p, which this shard masters at
// partition epoch epoch, and returns once shard to (an in-sync copy) has
// acknowledged every write committed before, so that to can be made master
// with nothing missing (see the comment above). The partition stays
// stopped at epoch whatever happens: only a map with a newer partition
// epoch serves it again, on whichever shard it names. When the copies do
// not catch up before ctx ends it returns ctx's error and the copies that
// lag (to report out of sync, which ends the stop with a new epoch); it
// returns an error when the shard does not master p at epoch.
func (s *Server) HandOff(ctx context.Context, p int, to string, epoch uint64) (took time.Duration, lagging []string, err error) {
	if err := s.checkPartition(p); err != nil {
		return 0, nil, err
	}
	start := time.Now()
	t := s.roles.table.Load()
	if t == nil || !t.master[p] || t.roles[p].Epoch != epoch {
		return 0, nil, fmt.Errorf("shard: partition %d is not mastered here at epoch %d", p, epoch)
	}
	s.handoff.at[p].Store(epoch)
	var seq uint64
	if part := s.parts[p].Load(); part != nil {
		part.mu.Lock() // the barrier: commits after it see the stop
		seq = part.seq
		part.mu.Unlock()
	}
	// Every copy writes wait for, not only to: the writes waiting meanwhile
	// are then acknowledged before the map moves the partition.
	others, _, _ := s.copiesToWaitFor(p, false)
	if !slices.Contains(others, to) {
		others = append(others, to)
	}
	if err := s.waitAcked(ctx, p, seq, others, nil); err != nil {
		for _, f := range others {
			if s.Acked(p, f) < seq {
				lagging = append(lagging, f)
			}
		}
		if len(lagging) > 0 || s.replCtx.Err() != nil {
			return time.Since(start), lagging, err
		}
		// Every copy got there just as the wait ended.
	}
	return time.Since(start), nil, nil
}
