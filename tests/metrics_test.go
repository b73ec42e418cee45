package tests

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/metrics"
)

// TestMetricsLintAndContent drives traffic through a cluster whose proxy and
// shards all register on one registry (as `shardis dev` does), then checks
// that the exposition passes client_golang's linter and carries the figures
// an operator needs.
func TestMetricsLintAndContent(t *testing.T) {
	reg := metrics.NewRegistry()
	c := testcluster.Start(t, testcluster.Options{
		Registerer: reg,
	})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer rdb.Close()
	for i := 0; i < 50; i++ {
		key := "metrics:" + strings.Repeat("k", i%7)
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Get(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
		t.Fatal("unknown command did not fail")
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}

	srv := httptest.NewServer(metrics.Handler(reg, false, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	for _, want := range []string{
		`shardis_proxy_commands_total{command="set",node="proxy",result="ok"} 50`,
		`shardis_proxy_commands_total{command="get",node="proxy",result="ok"} 50`,
		`shardis_proxy_commands_total{command="unknown",node="proxy",result="error"} 1`,
		`shardis_proxy_command_duration_seconds_bucket{command="get",node="proxy"`,
		`shardis_proxy_connections{node="proxy"} 1`,
		`shardis_proxy_read_bytes_total{node="proxy"}`,
		`shardis_shard_commands_total{command="set",node="shard-1",result="ok"}`,
		`shardis_shard_connections{node="shard-1"}`,
		`shardis_shard_partitions{node="shard-1"}`,
		`shardis_shard_keys{node="shard-1"}`,
		`shardis_shard_store_bytes{node="shard-1"}`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if n := testutil.CollectAndCount(reg, "shardis_shard_commands_total"); n == 0 {
		t.Error("no shard command counters")
	}
}
