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

func TestEffectLogKeep(t *testing.T) {
	var l Log
	push := func(from, to uint64) {
		for seq := from; seq <= to; seq++ {
			l.Push(Effect{Seq: seq}, 0, seq, seq-1, 8, 1<<20)
		}
	}
	push(1, 20)
	if l.Len() != 8 {
		t.Fatalf("%d effects logged, want the bound of 8", l.Len())
	}
	l.Keep(20)
	push(21, 100)
	if _, ok := l.Since(20, 100, 0); !ok || l.Len() != 80 {
		t.Fatalf("kept from 20: %d effects logged, continues from 20: %v", l.Len(), ok)
	}
	if h, ok := l.HistoryAt(20, 100); !ok || h != 20 {
		t.Fatalf("HistoryAt(20) = %d, %v while kept", h, ok)
	}
	if l.Bytes() != 80*32 {
		t.Fatalf("Bytes = %d, want %d", l.Bytes(), 80*32)
	}
	l.Unkeep()
	l.Trim(8, 1<<20)
	if _, ok := l.Since(20, 100, 0); ok || l.Len() != 8 {
		t.Fatalf("after Unkeep: %d effects logged, continues from 20: %v", l.Len(), ok)
	}
	l.Keep(100)
	l.Reset()
	push(1, 20)
	if l.Len() != 8 {
		t.Fatal("Reset must end Keep")
	}
}
