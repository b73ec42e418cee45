package testcluster

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, for at most d, and fails the test
// naming what when it never does. Conditions a cluster signals (a map
// adopted) are better waited for by Replicated.WaitState; this is for the
// others (a write accepted, a metric reached).
func WaitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}
