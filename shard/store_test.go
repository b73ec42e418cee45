package shard

import (
	"fmt"
	"github.com/shardis/shardis/store"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fileConfig(t testing.TB, dir string) Config {
	cfg := testConfig(t)
	cfg.InMemory = false
	cfg.DataDir = dir
	cfg.Sync = SyncNo
	return cfg
}

// reopen closes s and starts a new server on the same config and clock.
func reopen(t *testing.T, s *Server, cfg Config, clock func() time.Time) *Server {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return startServer(t, cfg, clock)
}

func TestReopenKeepsEveryKey(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	s := startServer(t, cfg, nil)
	c := dial(t, s.Addr())
	const n = 500
	for i := range n {
		c.send("SET", fmt.Sprintf("key:%d", i), fmt.Sprintf("val:%d", i))
	}
	_ = c.w.Flush()
	for range n {
		if r := c.read(); r != okR() {
			t.Fatalf("SET: %q", r)
		}
	}
	s = reopen(t, s, cfg, nil)
	c = dial(t, s.Addr())
	for i := range n {
		if r := c.do("GET", fmt.Sprintf("key:%d", i)); r != bulkR(fmt.Sprintf("val:%d", i)) {
			t.Fatalf("after reopen GET key:%d = %q", i, r)
		}
	}
	if r := c.do("SHARDIS.DBSIZE"); r != intR(n) {
		t.Errorf("DBSIZE after reopen = %q, want %d", r, n)
	}
	// Versions continue from the highest stored one.
	p := s.parts[s.pid([]byte("key:0"))].Load()
	p.mu.Lock()
	v := p.ctr.Version
	p.mu.Unlock()
	if v == 0 {
		t.Error("version counter not restored at open")
	}
	c.do("SET", "key:0", "x")
	r := getRecord(t, s, "key:0")
	if r.Ver != v+1 {
		t.Errorf("version after reopen = %d, want %d", r.Ver, v+1)
	}
}

func getRecord(t *testing.T, s *Server, key string) store.Record {
	t.Helper()
	var r store.Record
	var ok bool
	if err := s.view(s.pid([]byte(key)), s.nowMS(), func(tx *txn) error {
		r, ok = tx.Get([]byte(key))
		return nil
	}); err != nil || !ok {
		t.Fatalf("record %q: ok=%v err=%v", key, ok, err)
	}
	return r
}

func TestExpiryAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	clock := newFakeClock()
	s := startServer(t, cfg, clock.Now)
	c := dial(t, s.Addr())
	c.do("SET", "short", "v", "PX", "1000")
	c.do("SET", "long", "v", "PX", "10000")
	c.do("SET", "forever", "v")

	clock.Advance(2 * time.Second)
	s = reopen(t, s, cfg, clock.Now)
	c = dial(t, s.Addr())
	if r := c.do("GET", "short"); r != nilR() {
		t.Errorf("expired key came back: GET = %q", r)
	}
	// Deleted at open, not only hidden.
	if r := c.do("SHARDIS.DBSIZE"); r != intR(2) {
		t.Errorf("DBSIZE = %q, want 2 (expired key deleted at open)", r)
	}
	if r := c.do("PTTL", "long"); r != intR(8000) {
		t.Errorf("PTTL long = %q, want 8000", r)
	}
	if r := c.do("TTL", "forever"); r != intR(-1) {
		t.Errorf("TTL forever = %q", r)
	}
	// Another restart after the second key's time: it must not come back
	// either, even with the clock then moved back before its expiry.
	clock.Advance(9 * time.Second)
	s = reopen(t, s, cfg, clock.Now)
	clock.Advance(-9 * time.Second)
	s = reopen(t, s, cfg, clock.Now)
	c = dial(t, s.Addr())
	for _, k := range []string{"short", "long"} {
		if r := c.do("EXISTS", k); r != intR(0) {
			t.Errorf("EXISTS %s = %q after its expiry and two restarts", k, r)
		}
	}
	if r := c.do("GET", "forever"); r != bulkR("v") {
		t.Errorf("GET forever = %q", r)
	}
}

func TestTTLFollowsClock(t *testing.T) {
	clock := newFakeClock()
	s := startServer(t, testConfig(t), clock.Now)
	c := dial(t, s.Addr())
	c.do("SET", "k", "v", "EX", "10")
	clock.Advance(2500 * time.Millisecond)
	if r := c.do("PTTL", "k"); r != intR(7500) {
		t.Errorf("PTTL = %q, want 7500", r)
	}
	if r := c.do("TTL", "k"); r != intR(8) { // (7500+500)/1000, as Redis rounds
		t.Errorf("TTL = %q, want 8", r)
	}
	clock.Advance(7500 * time.Millisecond)
	if r := c.do("GET", "k"); r != nilR() {
		t.Errorf("GET at expiry = %q, want nil", r)
	}
	if r := c.do("TTL", "k"); r != intR(-2) {
		t.Errorf("TTL at expiry = %q, want -2", r)
	}
	// A write finding the expired record replaces it cleanly.
	if r := c.do("SETNX", "k", "new"); r != intR(1) {
		t.Errorf("SETNX over an expired key = %q", r)
	}
	if r := c.do("TTL", "k"); r != intR(-1) {
		t.Errorf("TTL of the new key = %q", r)
	}
}

func TestActiveExpiry(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig(t)
	cfg.ExpiryInterval = 5 * time.Millisecond
	s := startServer(t, cfg, clock.Now)
	c := dial(t, s.Addr())
	const n = 3000 // more than one reaper batch per partition
	for i := range n {
		c.send("SET", fmt.Sprintf("k%d", i), "v", "PX", "1000")
	}
	c.send("SET", "keep", "v")
	c.send("SET", "later", "v", "PX", "5000")
	_ = c.w.Flush()
	for range n + 2 {
		c.read()
	}
	if r := c.do("SHARDIS.STATS"); r != arrR(intR(n+2), intR(n+1)) {
		t.Fatalf("STATS = %q", r)
	}
	clock.Advance(time.Second)
	waitFor(t, 5*time.Second, func() bool { return c.do("SHARDIS.DBSIZE") == intR(2) })
	if r := c.do("SHARDIS.STATS"); r != arrR(intR(2), intR(1)) {
		t.Errorf("STATS after expiry = %q", r)
	}
	if r := c.do("EXISTS", "keep", "later"); r != intR(2) {
		t.Errorf("EXISTS keep later = %q", r)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPartitionsOpenLazily(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	s := startServer(t, cfg, nil)
	c := dial(t, s.Addr())
	files := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "partitions", "*.db"))
		return m
	}
	c.do("GET", "a")
	c.do("DEL", "a")
	c.do("EXPIRE", "a", "10")
	if f := files(); len(f) != 0 {
		t.Fatalf("reads and no-op deletes created files: %v", f)
	}
	c.do("SET", "a", "1")
	want := filepath.Join(dir, "partitions", fmt.Sprintf("%04d.db", s.pid([]byte("a"))))
	if f := files(); len(f) != 1 || f[0] != want {
		t.Fatalf("files after one SET = %v, want [%s]", f, want)
	}
	s = reopen(t, s, cfg, nil)
	if got := s.openCount.Load(); got != 1 {
		t.Errorf("partitions open after restart = %d, want 1", got)
	}
}

func TestPartitionCountMismatch(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Partitions = 32
	s, err = New(cfg)
	if err == nil {
		_ = s.Close()
		t.Fatal("New accepted a data dir created with another partition count")
	}
	if !strings.Contains(err.Error(), "16 partitions") || !strings.Contains(err.Error(), "Partitions=32") {
		t.Errorf("error does not name both counts: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.ID = "" }, "ID is required"},
		{func(c *Config) { c.Partitions = 0 }, "Partitions: 0"},
		{func(c *Config) { c.Partitions = 100 }, "Partitions: 100"},
		{func(c *Config) { c.InMemory = false }, "DataDir is required"},
		{func(c *Config) { c.Sync = "sometimes" }, `Sync ("sometimes")`},
		{func(c *Config) { c.ExpiryInterval = -time.Second }, "ExpiryInterval (-1s)"},
	} {
		cfg := testConfig(t)
		c.mod(&cfg)
		s, err := New(cfg)
		if err == nil {
			_ = s.Close()
			t.Errorf("config %+v accepted", cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q does not contain %q", err, c.want)
		}
	}
}

func TestStartPortTaken(t *testing.T) {
	a := startServer(t, testConfig(t), nil)
	cfg := testConfig(t)
	cfg.Addr = a.Addr()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Start()
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("Start on a taken port: %v", err)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	s, err := New(fileConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
}
