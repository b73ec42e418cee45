package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestShardReplicationExposition checks the replication collector's output
// as an operator reads it: one lag series per follower, the age only where
// the shard could date the writes, and both roles always present.
func TestShardReplicationExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewShardReplication(reg, func() ShardReplication {
		return ShardReplication{Masters: 3, Followers: 5, Lag: map[string]FollowerLag{
			"f1": {OldestKnown: true},
			"f2": {Effects: 7, Oldest: 1500 * time.Millisecond, OldestKnown: true},
			"f3": {Effects: 2}, // lagging, undated
		}, SnapshotBytesSent: 4096, SnapshotBytesReceived: 1024, SnapshotSessions: 2, SnapshotPinsDropped: 1, SnapshotsLoaded: 3}
	})
	want := `
# HELP shardis_shard_partitions_by_role Partitions this shard masters or follows in the applied cluster map (before any map: follower-flagged partitions, the rest as master).
# TYPE shardis_shard_partitions_by_role gauge
shardis_shard_partitions_by_role{role="follower"} 5
shardis_shard_partitions_by_role{role="master"} 3
# HELP shardis_shard_replication_lag_effects Effects (seqs) a follower has not acknowledged, summed over the partitions this shard masters, by follower id.
# TYPE shardis_shard_replication_lag_effects gauge
shardis_shard_replication_lag_effects{follower="f1"} 0
shardis_shard_replication_lag_effects{follower="f2"} 7
shardis_shard_replication_lag_effects{follower="f3"} 2
# HELP shardis_shard_replication_oldest_unacked_seconds Age of the oldest write a follower has not acknowledged on the partitions this shard masters (0 when none), by follower id.
# TYPE shardis_shard_replication_oldest_unacked_seconds gauge
shardis_shard_replication_oldest_unacked_seconds{follower="f1"} 0
shardis_shard_replication_oldest_unacked_seconds{follower="f2"} 1.5
# HELP shardis_shard_snapshot_pins_dropped_total Snapshot sessions abandoned because the partition's writes outgrew the effect log kept for them.
# TYPE shardis_shard_snapshot_pins_dropped_total counter
shardis_shard_snapshot_pins_dropped_total 1
# HELP shardis_shard_snapshot_received_bytes_total Snapshot bytes this shard received for the partitions it loads.
# TYPE shardis_shard_snapshot_received_bytes_total counter
shardis_shard_snapshot_received_bytes_total 1024
# HELP shardis_shard_snapshot_sent_bytes_total Snapshot bytes this shard sent to copies being loaded.
# TYPE shardis_shard_snapshot_sent_bytes_total counter
shardis_shard_snapshot_sent_bytes_total 4096
# HELP shardis_shard_snapshot_sessions Snapshot sessions open on this shard.
# TYPE shardis_shard_snapshot_sessions gauge
shardis_shard_snapshot_sessions 2
# HELP shardis_shard_snapshots_loaded_total Snapshots this shard's followed partitions loaded.
# TYPE shardis_shard_snapshots_loaded_total counter
shardis_shard_snapshots_loaded_total 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
}

// TestHandlerReadyz: /readyz answers 503 with the reason while ready
// reports one, and 200 once it does not; /healthz is 200 throughout.
func TestHandlerReadyz(t *testing.T) {
	var notReady atomic.Bool
	notReady.Store(true)
	srv := httptest.NewServer(Handler(NewRegistry(), false, func() error {
		if notReady.Load() {
			return errors.New("3 copies catching up")
		}
		return nil
	}))
	defer srv.Close()
	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "3 copies catching up") {
		t.Errorf("/readyz while not ready: %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz while not ready: %d", code)
	}
	notReady.Store(false)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz when ready: %d", code)
	}
}

// TestHandlerProfilingIsOptIn checks /debug/pprof/ is served only when asked
// for, next to /metrics and /healthz.
func TestHandlerProfilingIsOptIn(t *testing.T) {
	for _, profiling := range []bool{false, true} {
		srv := httptest.NewServer(Handler(NewRegistry(), profiling, nil))
		get := func(path string) int {
			res, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		for path, want := range map[string]int{
			"/metrics":                  200,
			"/healthz":                  200,
			"/debug/pprof/":             map[bool]int{false: 404, true: 200}[profiling],
			"/debug/pprof/heap?debug=1": map[bool]int{false: 404, true: 200}[profiling],
		} {
			if got := get(path); got != want {
				t.Errorf("profiling %v: GET %s = %d, want %d", profiling, path, got, want)
			}
		}
		srv.Close()
	}
}
