package shard

import (
	"context"
	"fmt"
	"github.com/shardis/shardis/store"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/resp"
)

// keysInDifferentPartitions returns two keys of s in different partitions.
func keysInDifferentPartitions(s *Server) (string, string) {
	a := "a"
	for i := 0; ; i++ {
		b := "b" + strconv.Itoa(i)
		if s.pid([]byte(a)) != s.pid([]byte(b)) {
			return a, b
		}
	}
}

func TestCrossPartition(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	c := dial(t, s.Addr())
	a, b := keysInDifferentPartitions(s)
	cross := errR(resp.ErrCrossSlot)
	for _, args := range [][]string{
		{"MSETNX", a, "1", b, "2"},
		{"RENAME", a, b},
		{"RENAMENX", a, b},
		{"COPY", a, b},
		{"COPY", a, b, "DB", "16"}, // Redis Cluster checks slots before options
	} {
		if r := c.do(args...); r != cross {
			t.Errorf("%v = %q, want CROSSSLOT", args, r)
		}
	}
	// Commands that Redis Cluster splits work across partitions here.
	if r := c.do("MSET", a, "1", b, "2"); r != okR() {
		t.Fatalf("MSET across partitions = %q", r)
	}
	if r := c.do("MGET", b, a, "nokey"); r != arrR(bulkR("2"), bulkR("1"), nilR()) {
		t.Errorf("MGET = %q", r)
	}
	if r := c.do("EXISTS", a, b, a); r != intR(3) {
		t.Errorf("EXISTS = %q", r)
	}
	if r := c.do("TOUCH", a, b); r != intR(2) {
		t.Errorf("TOUCH = %q", r)
	}
	if r := c.do("DEL", a, b, "nokey"); r != intR(2) {
		t.Errorf("DEL = %q", r)
	}
	if r := c.do("UNLINK", a, b); r != intR(0) {
		t.Errorf("UNLINK = %q", r)
	}
}

func TestInternalCommands(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	c := dial(t, s.Addr())
	if r := c.do("SHARDIS.HELLO"); r != "*2\r\n$2\r\ns1\r\n:16\r\n" {
		t.Errorf("HELLO = %q", r)
	}
	if r := c.do("shardis.randomkey"); r != nilR() {
		t.Errorf("RANDOMKEY on an empty shard = %q", r)
	}
	if r := c.do("SHARDIS.KEYS", "*"); r != arrR() {
		t.Errorf("KEYS on an empty shard = %q", r)
	}
	c.do("MSET", "user:1", "a", "user:2", "b", "item:1", "c")
	c.do("SET", "user:3", "d", "EX", "100")
	r := c.do("SHARDIS.KEYS", "user:*")
	for _, k := range []string{"user:1", "user:2", "user:3"} {
		if !strings.Contains(r, bulkR(k)) {
			t.Errorf("KEYS user:* = %q lacks %s", r, k)
		}
	}
	if !strings.HasPrefix(r, "*3\r\n") {
		t.Errorf("KEYS user:* = %q, want 3 keys", r)
	}
	if r := c.do("SHARDIS.DBSIZE"); r != intR(4) {
		t.Errorf("DBSIZE = %q", r)
	}
	if r := c.do("SHARDIS.STATS"); r != arrR(intR(4), intR(1)) {
		t.Errorf("STATS = %q", r)
	}
	seen := map[string]bool{}
	for range 200 {
		r := c.do("SHARDIS.RANDOMKEY")
		if !strings.HasPrefix(r, "$") || r == nilR() {
			t.Fatalf("RANDOMKEY = %q", r)
		}
		seen[r] = true
	}
	if len(seen) < 2 {
		t.Errorf("RANDOMKEY returned only %v in 200 calls", seen)
	}
	if r := c.do("SHARDIS.FLUSH"); r != okR() {
		t.Errorf("FLUSH = %q", r)
	}
	if r := c.do("SHARDIS.STATS"); r != arrR(intR(0), intR(0)) {
		t.Errorf("STATS after FLUSH = %q", r)
	}
	if r := c.do("GET", "user:1"); r != nilR() {
		t.Errorf("GET after FLUSH = %q", r)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{cmd("SHARDIS.SCAN", "16", "0", "10"), errR(errInvalidPartition)},
		{cmd("SHARDIS.SCAN", "-1", "0", "10"), errR(errInvalidPartition)},
		{cmd("SHARDIS.SCAN", "0", "4294967296", "10"), errR(errInvalidCursor)},
		{cmd("SHARDIS.SCAN", "0", "0", "0"), errR(resp.ErrSyntax)},
		{cmd("SHARDIS.SCAN", "0", "0", "x"), errR(resp.ErrNotInteger)},
		{cmd("SHARDIS.SCAN", "0", "0", "10", "MATCH"), errR(resp.ErrSyntax)},
		{cmd("SHARDIS.SCAN", "0", "0", "10", "FOO", "x"), errR(resp.ErrSyntax)},
		{cmd("SHARDIS.SCAN", "0", "0"), errR("ERR wrong number of arguments for 'shardis.scan' command")},
		{cmd("SHARDIS.HELLO", "x"), errR("ERR wrong number of arguments for 'shardis.hello' command")},
		{cmd("SHARDIS.SCAN", "0", "4294967295", "10"), arrR(intR(-1), arrR())},
	} {
		if r := c.do(bad.args...); r != bad.want {
			t.Errorf("%v = %q, want %q", bad.args, r, bad.want)
		}
	}
}

// scanAll runs SHARDIS.SCAN over every partition and returns the keys in
// the order returned.
func scanAll(t *testing.T, c *rawClient, partitions, count int, extra ...string) []string {
	t.Helper()
	var keys []string
	for p := range partitions {
		cursor := "0"
		for {
			args := append([]string{"SHARDIS.SCAN", strconv.Itoa(p), cursor, strconv.Itoa(count)}, extra...)
			next, batch := parseScanReply(t, c.do(args...))
			keys = append(keys, batch...)
			if next == -1 {
				break
			}
			cursor = strconv.FormatInt(next, 10)
		}
	}
	return keys
}

func parseScanReply(t *testing.T, r string) (int64, []string) {
	t.Helper()
	lines := strings.Split(r, "\r\n")
	if len(lines) < 3 || lines[0] != "*2" || !strings.HasPrefix(lines[1], ":") || !strings.HasPrefix(lines[2], "*") {
		t.Fatalf("bad SCAN reply %q", r)
	}
	next, _ := strconv.ParseInt(lines[1][1:], 10, 64)
	n, _ := strconv.Atoi(lines[2][1:])
	var keys []string
	for i := range n {
		keys = append(keys, lines[4+2*i])
	}
	return next, keys
}

func TestScanCoversEveryKeyOnce(t *testing.T) {
	clock := newFakeClock()
	s := startServer(t, testConfig(t), clock.Now)
	c := dial(t, s.Addr())
	const n = 1000
	for i := range n {
		c.send("SET", fmt.Sprintf("key:%d", i), "v")
	}
	c.send("SET", "gone", "v", "PX", "1")
	_ = c.w.Flush()
	for range n + 1 {
		c.read()
	}
	clock.Advance(time.Millisecond)
	for _, count := range []int{1, 7, 100, 5000} {
		keys := scanAll(t, c, 16, count)
		seen := map[string]int{}
		for _, k := range keys {
			seen[k]++
		}
		for i := range n {
			if k := fmt.Sprintf("key:%d", i); seen[k] != 1 {
				t.Fatalf("count %d: %s returned %d times", count, k, seen[k])
			}
		}
		if len(keys) != n {
			t.Errorf("count %d: %d keys returned, want %d (expired key must be skipped)", count, len(keys), n)
		}
	}
	// Filters apply after the batch is chosen.
	keys := scanAll(t, c, 16, 10, "MATCH", "key:1*", "TYPE", "string")
	if len(keys) != 111 {
		t.Errorf("MATCH key:1* returned %d keys, want 111", len(keys))
	}
	if keys := scanAll(t, c, 16, 10, "TYPE", "hash"); len(keys) != 0 {
		t.Errorf("TYPE hash returned %d keys", len(keys))
	}
}

func TestScanWhileKeysChange(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	c := dial(t, s.Addr())
	const stable = 500
	for i := range stable {
		c.send("SET", fmt.Sprintf("stable:%d", i), "v")
	}
	_ = c.w.Flush()
	for range stable {
		c.read()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	churnErr := make(chan string, 1)
	w := dial(t, s.Addr())
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := fmt.Sprintf("churn:%d", i)
			w.send("SET", k, "v")
			w.send("DEL", fmt.Sprintf("churn:%d", i-50))
			_ = w.w.Flush()
			if r, err := w.rr.Next(); err != nil || string(r) != okR() {
				churnErr <- fmt.Sprintf("SET: %q %v", r, err)
				return
			}
			if _, err := w.rr.Next(); err != nil {
				churnErr <- err.Error()
				return
			}
		}
	}()
	keys := scanAll(t, c, 16, 3)
	close(stop)
	wg.Wait()
	select {
	case e := <-churnErr:
		t.Fatal(e)
	default:
	}
	seen := map[string]int{}
	for _, k := range keys {
		seen[k]++
	}
	for i := range stable {
		if k := fmt.Sprintf("stable:%d", i); seen[k] != 1 {
			t.Errorf("%s returned %d times during churn", k, seen[k])
		}
	}
}

func TestScanKeepsSameHashTogether(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	// Craft storage keys sharing hash 7 (real FNV collisions are rare).
	err := s.update(0, s.nowMS(), func(tx *txn) error {
		for _, sk := range []string{store.HashPivot(5) + "a", store.HashPivot(7) + "x", store.HashPivot(7) + "y", store.HashPivot(7) + "z", store.HashPivot(9) + "b"} {
			if err := tx.PutRaw(sk, strRecord(1, 0, "v")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	next, keys, err := s.scanPartition(scanArgs{pid: 0, cursor: 6, count: 1}, s.nowMS())
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	if next != 9 || strings.Join(keys, ",") != "x,y,z" {
		t.Errorf("scan from 6 count 1 = next %d keys %v, want 9 [x y z]", next, keys)
	}
	next, keys, _ = s.scanPartition(scanArgs{pid: 0, cursor: 9, count: 1}, s.nowMS())
	if next != -1 || len(keys) != 1 || keys[0] != "b" {
		t.Errorf("scan from 9 = next %d keys %v, want -1 [b]", next, keys)
	}
}

func TestPipelineAndQuit(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	c := dial(t, s.Addr())
	const n = 2000
	for range n {
		c.send("INCR", "counter")
	}
	c.send("QUIT")
	c.send("PING")
	_ = c.w.Flush()
	for i := range n {
		if r := c.read(); r != intR(int64(i+1)) {
			t.Fatalf("reply %d = %q", i, r)
		}
	}
	if r := c.read(); r != okR() {
		t.Fatalf("QUIT = %q", r)
	}
	if b, err := c.rr.Next(); err == nil {
		t.Errorf("reply after QUIT: %q", b)
	}
}

func TestGoRedisClient(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 2, DisableIdentity: true})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q %v", v, err)
	}
	if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
		t.Fatalf("GET missing: %v", err)
	}
	if f, err := rdb.IncrByFloat(ctx, "f", 0.1).Result(); err != nil || f != 0.1 {
		t.Fatalf("INCRBYFLOAT = %v %v", f, err)
	}
	if err := rdb.Incr(ctx, "k").Err(); err == nil || err.Error() != resp.ErrNotInteger {
		t.Fatalf("INCR on text: %v", err)
	}
	vals, err := rdb.MGet(ctx, "k", "missing", "f").Result()
	if err != nil || len(vals) != 3 || vals[0] != "v" || vals[1] != nil || vals[2] != "0.1" {
		t.Fatalf("MGET = %v %v", vals, err)
	}
}

func TestMetrics(t *testing.T) {
	s := startServer(t, testConfig(t), nil)
	c := dial(t, s.Addr())
	c.do("SET", "k", "v")
	c.do("INCR", "k")
	c.do("NOSUCH")
	s.updateGauges()
	mfs, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + ","
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			found[mf.GetName()+"{"+labels+"}"] = v
		}
	}
	if found["shardis_shard_read_bytes_total{}"] == 0 || found["shardis_shard_written_bytes_total{}"] == 0 {
		t.Errorf("byte counters not updated: %v", found)
	}
	for name, want := range map[string]float64{
		"shardis_shard_commands_total{command=set,result=ok,}":        1,
		"shardis_shard_commands_total{command=incr,result=error,}":    1,
		"shardis_shard_commands_total{command=unknown,result=error,}": 1,
		"shardis_shard_keys{}":                       1,
		"shardis_shard_partitions{}":                 1,
		"shardis_shard_connections{}":                1,
		"shardis_shard_connections_accepted_total{}": 1,
	} {
		if got, ok := found[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}
