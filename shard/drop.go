package shard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"
)

// Dropping copies. Once an applied map names this shard nowhere in a
// partition's entry (not master, not in InSync, Replicas or Placed) while
// another shard masters it, the shard deletes its copy: every record and
// the stored effect log at once, the partition reset to seq 0 and marked
// incomplete (so a snapshot must fill it before it serves or follows
// again), and the file shrunk to give the disk space back. A shard that is
// down stays in the placement (Placed) during its grace period, and a
// shard alone holding the acknowledged writes is named there too, so
// neither loses its copy when it comes back to a map that marks it down.
//
// A restarted controller voter replays old maps, which may predate this
// shard's copy of a partition. So the shard records, in DataDir/map-epoch,
// the newest map epoch it applied, and after a restart only a map at least
// as new as that one drops anything: any older map is history it had
// already seen through.

func (s *Server) mapEpochPath() string { return filepath.Join(s.cfg.DataDir, "map-epoch") }

// readMapEpoch loads the newest map epoch this data dir applied.
func (s *Server) readMapEpoch() error {
	b, err := os.ReadFile(s.mapEpochPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shard: read %s: %w", s.mapEpochPath(), err)
	}
	e, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("shard: read %s: %q is not a map epoch", s.mapEpochPath(), b)
	}
	s.roles.dropFloor, s.roles.recorded = e, e
	return nil
}

// recordMapEpoch stores epoch as the newest applied map's, when it is
// newer; durable fsyncs it (before a copy is dropped). Without, the file
// survives a crash of the process, not of the machine: maps change many
// times a second while partitions move, and an fsync per map held up
// applying the next one. Caller holds roles.mu.
func (s *Server) recordMapEpoch(epoch uint64, durable bool) error {
	rm := &s.roles
	if s.cfg.InMemory || epoch <= rm.recorded {
		return nil
	}
	path := s.mapEpochPath()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(epoch, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("shard: write %s: %w", path, err)
	}
	if durable {
		if err := syncFile(tmp); err != nil {
			return fmt.Errorf("shard: write %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("shard: write %s: %w", path, err)
	}
	rm.recorded = epoch
	return nil
}

// placed reports whether r names shard id anywhere.
func placed(r *PartRole, id string) bool {
	return r.Master == id || slices.Contains(r.InSync, id) || slices.Contains(r.Replicas, id) || slices.Contains(r.Placed, id)
}

// dropCopies drops the copies t no longer places on this shard (see
// above). Caller holds roles.mu, after t was applied.
func (s *Server) dropCopies(epoch uint64, t *roleTable) []error {
	if epoch < s.roles.dropFloor {
		return nil
	}
	var drop []*partition
	for pid := range t.roles {
		r := &t.roles[pid]
		if r.Master == "" || placed(r, s.cfg.ID) {
			continue
		}
		if p := s.parts[pid].Load(); p != nil && p.holdsData() {
			drop = append(drop, p)
		}
	}
	if err := s.recordMapEpoch(epoch, len(drop) > 0); err != nil {
		return []error{err}
	}
	var errs []error
	for _, p := range drop {
		pid := p.id
		if err := s.dropCopy(p); err != nil {
			errs = append(errs, fmt.Errorf("shard: drop partition %d: %w", pid, err))
		}
	}
	return errs
}

// holdsData reports whether p holds anything to drop.
func (p *partition) holdsData() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq != 0 || p.keys() != 0 || p.tombstones.Load() != 0
}

// dropCopy deletes p's records, unless it holds none.
func (s *Server) dropCopy(p *partition) error {
	p.mu.Lock()
	keys, seq := p.keys(), p.seq
	if seq == 0 && keys == 0 && p.tombstones.Load() == 0 {
		p.mu.Unlock()
		return nil // dropped already, or never written
	}
	err := s.resetPartition(p, true, true)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.db.Shrink(); err != nil && !errors.Is(err, buntdb.ErrShrinkInProcess) {
		return err
	}
	s.log.Info("copy dropped: the cluster map no longer places it on this shard",
		"shard", s.cfg.ID, "partition", p.id, "keys", keys, "seq", seq)
	return nil
}
