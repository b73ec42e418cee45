package exec

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestMemoryCommand checks MEMORY's replies whose shape and errors were
// recorded from redis-server 7.0.15 (RESP3).
func TestMemoryCommand(t *testing.T) {
	s := newTestStore(t)
	s.do("set", "k", "v")
	help := "*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n+    Return memory problems reports.\r\n+MALLOC-STATS\r\n+    Return internal statistics report from the memory allocator.\r\n+PURGE\r\n+    Attempt to purge dirty pages for reclamation by the allocator.\r\n+STATS\r\n+    Return information about the memory usage of the server.\r\n+USAGE <key> [SAMPLES <count>]\r\n+    Return memory in bytes used by <key> and its value. Nested values are\r\n+    sampled up to <count> times (default: 5, 0 means sample all).\r\n+HELP\r\n+    Prints this help.\r\n"
	for _, c := range []struct {
		want string
		args []string
	}{
		{help, []string{"memory", "help"}},
		{help, []string{"MEMORY", "Help"}},
		{"-ERR wrong number of arguments for 'memory|help' command\r\n", []string{"memory", "help", "x"}},
		{"-ERR wrong number of arguments for 'memory|usage' command\r\n", []string{"memory", "usage"}},
		{"_\r\n", []string{"memory", "usage", "nokey"}},
		{"-ERR syntax error\r\n", []string{"memory", "usage", "k", "samples"}},
		{"-ERR syntax error\r\n", []string{"memory", "usage", "k", "samples", "-1"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"memory", "usage", "k", "samples", "x"}},
		{"-ERR syntax error\r\n", []string{"memory", "usage", "k", "foo"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"memory", "usage", "nokey", "samples", "x"}},
		{"-ERR syntax error\r\n", []string{"memory", "usage", "nokey", "foo"}},
		{"-ERR unknown subcommand 'foo'. Try MEMORY HELP.\r\n", []string{"memory", "foo"}},
		{"+OK\r\n", []string{"memory", "purge"}},
		{"-ERR wrong number of arguments for 'memory|purge' command\r\n", []string{"memory", "purge", "x"}},
		{"-ERR wrong number of arguments for 'memory|stats' command\r\n", []string{"memory", "stats", "x"}},
		{"-ERR wrong number of arguments for 'memory|doctor' command\r\n", []string{"memory", "doctor", "x"}},
		{"-ERR wrong number of arguments for 'memory|malloc-stats' command\r\n", []string{"memory", "malloc-stats", "x"}},
		{"=49\r\ntxt:Stats not supported for the current allocator\r\n", []string{"memory", "malloc-stats"}},
		{"=109\r\ntxt:Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n\r\n", []string{"memory", "doctor"}},
		// "k" → record key 'k'|hash|k (6 B → 8), value header+"v" (18 B → 24).
		{":112\r\n", []string{"memory", "usage", "k"}},
		{":112\r\n", []string{"memory", "usage", "k", "samples", "1", "samples", "0"}},
	} {
		s.expect(c.want, c.args...)
	}
	stats := s.do("memory", "stats")
	if !strings.HasPrefix(stats, "%28\r\n$14\r\npeak.allocated\r\n:") || !strings.Contains(stats, "$4\r\ndb.0\r\n%3\r\n") ||
		!strings.Contains(stats, "$19\r\nfragmentation.bytes\r\n:") {
		t.Errorf("memory stats: %q", stats)
	}
}

func TestMemoryAllocSize(t *testing.T) {
	// Go's size classes (runtime/sizeclasses.go) at these lengths.
	for n, want := range map[int]int64{0: 0, 1: 8, 8: 8, 9: 16, 24: 24, 33: 48, 50: 64, 100: 112, 250: 256, 257: 288, 300: 320, 1000: 1024} {
		if got := memAllocSize(n); got != want {
			t.Errorf("memAllocSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestMemoryUsageSamples: a big collection is estimated from its first
// SAMPLES elements, exactly with SAMPLES 0; a small encoding is always
// measured whole.
func TestMemoryUsageSamples(t *testing.T) {
	s := newTestStore(t)
	usage := func(args ...string) int64 {
		t.Helper()
		got := s.do(append([]string{"memory", "usage"}, args...)...)
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(got, ":"), "\r\n"), 10, 64)
		if err != nil {
			t.Fatalf("memory usage %v: %q", args, got)
		}
		return n
	}
	s.do("hset", "small", "f", "v", "g", strings.Repeat("v", 40))
	if one, all := usage("small", "samples", "1"), usage("small", "samples", "0"); one != all {
		t.Errorf("listpack hash: samples 1 gives %d, all %d: not measured whole", one, all)
	}
	// A hashtable set whose members grow: sampling a few is an estimate,
	// sampling all is the exact sum.
	args := []string{"sadd", "big"}
	for i := 0; i < 600; i++ {
		args = append(args, strings.Repeat("m", 1+i%97)+strconv.Itoa(i))
	}
	s.do(args...)
	all, def, all2 := usage("big", "samples", "0"), usage("big"), usage("big", "samples", "600")
	if all != all2 {
		t.Errorf("samples 0 = %d, samples 600 = %d", all, all2)
	}
	if def == all || def <= 0 {
		t.Errorf("default sampling %d, exact %d: expected an estimate", def, all)
	}
	s.do("zadd", "z", "1", "a")
	s.do("rpush", "l", "a")
	s.do("sadd", "st", "a")
	z, l, st := usage("z"), usage("l"), usage("st")
	if z <= st || l <= 0 {
		t.Errorf("zset %d (two items a member) should cost more than set %d; list %d", z, st, l)
	}
}

// TestMemoryUsageMatchesHeap checks the model against what the store
// really allocates: the heap growth of filling a big hash is within 15%
// of MEMORY USAGE ... SAMPLES 0.
func TestMemoryUsageMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	s := newTestStore(t)
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	for i := 0; i < 20; i++ {
		args := []string{"hset", "h"}
		for j := 0; j < 1000; j++ {
			args = append(args, "field:"+strconv.Itoa(i*1000+j), strings.Repeat("v", 20+j%40))
		}
		s.do(args...)
	}
	grew := heap() - before
	got := s.do("memory", "usage", "h", "samples", "0")
	n, _ := strconv.ParseInt(strings.TrimSuffix(got[1:], "\r\n"), 10, 64)
	t.Logf("memory usage %d, heap grew %d", n, grew)
	if d := float64(n-grew) / float64(grew); d > 0.15 || d < -0.15 {
		t.Errorf("memory usage %d, heap grew %d (%.0f%% off)", n, grew, 100*d)
	}
}
