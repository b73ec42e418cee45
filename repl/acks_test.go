package repl

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestAcksWaitWakesOnRecord(t *testing.T) {
	a := NewAcks(4, 3)
	followers := []string{"f1", "f2"}
	done := make(chan error, 1)
	go func() { done <- a.Wait(context.Background(), 2, 5, followers, nil) }()
	if err := a.Record(2, "f1", 5); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v with f2 behind", err)
	default:
	}
	if err := a.Record(2, "f2", 7); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if !a.Hold(2, 5, followers) || a.Hold(2, 6, followers) || a.Hold(1, 1, followers) {
		t.Error("Hold disagrees with the positions recorded")
	}
	if pos, ok := a.Acked(2, "f2"); pos != 7 || !ok {
		t.Errorf("Acked = %d %v", pos, ok)
	}
	a.Forget(2, "f2")
	if _, ok := a.Acked(2, "f2"); ok {
		t.Error("Forget kept the follower")
	}
}

func TestAcksWaitEnds(t *testing.T) {
	a := NewAcks(1, 3)
	abort := make(chan struct{})
	close(abort)
	if err := a.Wait(context.Background(), 0, 1, []string{"f"}, abort); !errors.Is(err, ErrAborted) {
		t.Errorf("aborted Wait = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := a.Wait(ctx, 0, 1, []string{"f"}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timed-out Wait = %v", err)
	}
	if err := a.Wait(context.Background(), 0, 0, []string{"f"}, nil); err != nil {
		t.Errorf("Wait for seq 0 = %v", err)
	}
}

// A partition records a bounded number of follower ids; a first report is
// news even at position 0.
func TestAcksBoundsFollowers(t *testing.T) {
	a := NewAcks(1, 3)
	ch := a.Changed(0)
	for i := range 3 {
		if err := a.Record(0, "f"+strconv.Itoa(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ch:
	default:
		t.Error("a first report at position 0 did not wake Changed")
	}
	if err := a.Record(0, "f9", 1); !errors.Is(err, ErrTooManyFollowers) {
		t.Errorf("fourth follower = %v", err)
	}
	if err := a.Record(0, "f1", 4); err != nil {
		t.Errorf("a known follower refused: %v", err)
	}
	names, pos := a.Positions(0, true, nil, nil)
	if len(names) != 3 || len(pos) != 3 {
		t.Errorf("Positions = %v %v", names, pos)
	}
}
