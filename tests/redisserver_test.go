package tests

import (
	"testing"

	"github.com/shardis/shardis/internal/redistest"
)

// startRedisServer starts a real, empty, non-persistent redis-server for
// the test and returns its host:port (see redistest.Start).
func startRedisServer(t testing.TB) string {
	t.Helper()
	return redistest.Start(t)
}
