package shard

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// A follower stopped while writes go on, whose master restarts meanwhile,
// catches up from the master's stored effect log once back: no snapshot.
func TestFollowerCatchesUpFromRestartedMastersLog(t *testing.T) {
	mcfg := fileConfig(t, t.TempDir())
	mcfg.ID = "m"
	m := startServer(t, mcfg, nil)
	fcfg := fileConfig(t, t.TempDir())
	fcfg.ID = "f1"
	f := startServer(t, fcfg, nil)
	stop := follow(t, m, f)
	rng := rand.New(rand.NewPCG(7, 8))
	c := &sinkConn{}
	for range 300 {
		run(m, c, mixedWrite(rng)...)
	}
	waitAllAcked(t, m, "f1")
	stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		run(m, c, mixedWrite(rng)...)
	}
	m = reopen(t, m, mcfg, nil)
	for range 50 { // and some after the restart
		run(m, c, mixedWrite(rng)...)
	}
	f = startServer(t, fcfg, nil)
	follow(t, m, f)
	waitAllAcked(t, m, "f1")
	sameDigests(t, m, f)
	if n := f.repl.snapshots.Load(); n != 0 {
		t.Fatalf("the follower loaded %d snapshots; the restarted master's log covered its gap", n)
	}
}

// The stored log follows the memory log's bounds: it is trimmed in
// batches as writes go on, and only the effects the memory log holds (and
// at most a batch more) come back after a restart.
func TestStoredLogIsBounded(t *testing.T) {
	cfg := fileConfig(t, t.TempDir())
	cfg.ReplLogSize = 100
	s := startServer(t, cfg, nil)
	p := fillPartition(t, s, "log", 1000, 10)
	stored := func() int {
		n := 0
		p := s.parts[p].Load()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.stored.first != 0 {
			n = int(p.stored.last - p.stored.first + 1)
		}
		return n
	}
	if n := stored(); n < 100 || n > 100+logTrimBatch {
		t.Fatalf("%d effects stored, want the log's 100 and at most %d more", n, logTrimBatch)
	}
	s = reopen(t, s, cfg, nil)
	es, ok := s.EffectsSince(p, 900, 0)
	if !ok || len(es) != 100 {
		t.Fatalf("after a restart: %d effects after seq 900, continues %v", len(es), ok)
	}
	if _, ok := s.EffectsSince(p, 899, 0); ok {
		t.Fatal("after a restart the log holds more than its bound")
	}
	// A FLUSH takes the stored log with it.
	run(s, &sinkConn{}, "SHARDIS.FLUSH")
	s = reopen(t, s, cfg, nil)
	if es, ok := s.EffectsSince(p, 1000, 0); !ok || len(es) != 1 || !es[0].Ops[0].Clear() {
		t.Fatalf("after FLUSH and a restart: %+v %v", es, ok)
	}
	if _, ok := s.EffectsSince(p, 999, 0); ok {
		t.Fatal("effects before a FLUSH came back after a restart")
	}
}

// What the stored log gives back after a restart is what the memory log
// held, for a master's one-effect records and a follower's batches alike,
// small and large effects included.
func TestStoredLogRoundTrip(t *testing.T) {
	m := startServer(t, fileConfig(t, t.TempDir()), nil)
	c := &sinkConn{}
	for i, n := range []int{1, 100, 200, 20000, 3, 70000} {
		run(m, c, "SET", "{rt}"+strings.Repeat("k", i+1), strings.Repeat("v", n))
	}
	run(m, c, "DEL", "{rt}k", "{rt}kk")
	p := m.pid([]byte("{rt}"))
	fcfg := fileConfig(t, t.TempDir())
	fcfg.ID = "f"
	f := startServer(t, fcfg, nil)
	all, _ := m.EffectsSince(p, 0, 0)
	if _, err := f.ApplyEffects(p, all[:4]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ApplyEffects(p, all[4:]); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Server{m, f} {
		cfg := s.cfg
		before, _ := s.EffectsSince(p, 0, 0)
		s = reopen(t, s, cfg, nil)
		after, ok := s.EffectsSince(p, 0, 0)
		if !ok || len(after) != 7 || !reflect.DeepEqual(after, before) {
			t.Fatalf("%s: %d effects after a restart (continues %v), %d before", cfg.ID, len(after), ok, len(before))
		}
		if seq, hash, _ := s.position(p); seq != 7 || hash == 0 || !s.historyMatches(p, 3, mustHistory(t, s, p, 3)) {
			t.Fatalf("%s: position %d/%d after a restart", cfg.ID, seq, hash)
		}
	}
}

func mustHistory(t *testing.T, s *Server, pid int, seq uint64) uint64 {
	t.Helper()
	p := s.parts[pid].Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	h, ok := p.historyAt(seq)
	if !ok {
		t.Fatalf("history at %d unknown", seq)
	}
	return h
}
