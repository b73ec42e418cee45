package repl

import "testing"

func TestEffectLogCommittedAt(t *testing.T) {
	var l Log
	if _, ok := l.CommittedAt(1, 0); ok {
		t.Fatal("an empty log dated an effect")
	}
	for seq := uint64(1); seq <= 200; seq++ {
		l.Push(Effect{Seq: seq}, int64(seq*10), seq, seq-1, 8, 1<<20)
	}
	for _, tc := range []struct {
		next uint64
		ms   int64
		ok   bool
	}{
		{next: 200, ms: 2000, ok: true},
		{next: 193, ms: 1930, ok: true}, // the oldest logged
		{next: 100, ms: 1930, ok: true}, // gone: dated by the oldest logged
		{next: 201},
		{next: 0},
	} {
		if ms, ok := l.CommittedAt(tc.next, 200); ms != tc.ms || ok != tc.ok {
			t.Errorf("CommittedAt(%d) = %d, %v, want %d, %v", tc.next, ms, ok, tc.ms, tc.ok)
		}
	}
}
