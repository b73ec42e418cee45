// Package testcluster starts a whole Shardis cluster — shards and a proxy —
// inside a test process on random loopback ports, and stops it when the test
// ends.
package testcluster

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/shard"
)

// Options shapes a test cluster. Zero fields take the defaults noted.
type Options struct {
	// Shards is the number of shard servers. Default 3.
	Shards int
	// Partitions is the partition count. Default 64 (small keeps tests fast).
	Partitions int
	// InMemory keeps every store in memory.
	InMemory bool
	// Dir is the parent of the shards' data dirs. Default t.TempDir().
	Dir string
	// Password makes the proxy require AUTH.
	Password string
	// Limits bound what one client may send to the proxy.
	Limits resp.Limits
	// Proxy, when non-nil, adjusts the proxy's config before it starts.
	Proxy func(*proxy.Config)
	// Shard, when non-nil, adjusts each shard's config before it starts.
	Shard func(*shard.Config)
	// Registerer, when set, receives every component's metrics, each
	// labelled node="shard-N" or node="proxy" (as `shardis dev` does).
	Registerer prometheus.Registerer
}

// Cluster is a running test cluster.
type Cluster struct {
	// Addr is the proxy's client address (host:port).
	Addr   string
	Proxy  *proxy.Proxy
	Shards []*shard.Server

	t       testing.TB
	opt     Options
	configs []shard.Config
}

// Start starts a cluster and registers its shutdown with t.Cleanup.
func Start(t testing.TB, opt Options) *Cluster {
	t.Helper()
	if opt.Shards == 0 {
		opt.Shards = 3
	}
	if opt.Partitions == 0 {
		opt.Partitions = 64
	}
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	c := &Cluster{t: t, opt: opt}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var backends []proxy.Backend
	for i := 0; i < opt.Shards; i++ {
		cfg := shard.Config{
			ID:         fmt.Sprintf("shard-%d", i+1),
			Addr:       "127.0.0.1:0",
			DataDir:    filepath.Join(opt.Dir, fmt.Sprintf("shard-%d", i+1)),
			InMemory:   opt.InMemory,
			Partitions: opt.Partitions,
			Logger:     logger,
		}
		if opt.Registerer != nil {
			cfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": cfg.ID}, opt.Registerer)
		}
		if opt.Shard != nil {
			opt.Shard(&cfg)
		}
		s := startShard(t, cfg)
		cfg.Addr = s.Addr() // a restart reuses the same port
		c.configs = append(c.configs, cfg)
		c.Shards = append(c.Shards, s)
		backends = append(backends, proxy.Backend{ID: cfg.ID, Addr: s.Addr()})
	}
	pcfg := proxy.Config{
		Addr:       "127.0.0.1:0",
		Shards:     backends,
		Partitions: opt.Partitions,
		Password:   opt.Password,
		Limits:     opt.Limits,
		Logger:     logger,
	}
	if opt.Registerer != nil {
		pcfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": "proxy"}, opt.Registerer)
	}
	if opt.Proxy != nil {
		opt.Proxy(&pcfg)
	}
	p, err := proxy.New(pcfg)
	if err != nil {
		t.Fatalf("testcluster: proxy: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("testcluster: proxy start: %v", err)
	}
	c.Proxy = p
	c.Addr = p.Addr()
	t.Cleanup(c.Stop)
	return c
}

func startShard(t testing.TB, cfg shard.Config) *shard.Server {
	t.Helper()
	s, err := shard.New(cfg)
	if err != nil {
		t.Fatalf("testcluster: shard %s: %v", cfg.ID, err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("testcluster: shard %s start: %v", cfg.ID, err)
	}
	return s
}

// StopShard cleanly stops shard i (its data stays on disk).
func (c *Cluster) StopShard(i int) {
	c.t.Helper()
	if c.Shards[i] != nil {
		if err := c.Shards[i].Close(); err != nil {
			c.t.Errorf("testcluster: stop shard %d: %v", i, err)
		}
		c.Shards[i] = nil
	}
}

// RestartShard starts shard i again on its data dir and address.
func (c *Cluster) RestartShard(i int) {
	c.t.Helper()
	c.StopShard(i)
	c.Shards[i] = startShard(c.t, c.configs[i])
}

// Stop stops the proxy and every shard. It is safe to call twice.
func (c *Cluster) Stop() {
	if c.Proxy != nil {
		if err := c.Proxy.Close(); err != nil {
			c.t.Errorf("testcluster: stop proxy: %v", err)
		}
		c.Proxy = nil
	}
	for i := range c.Shards {
		c.StopShard(i)
	}
}
