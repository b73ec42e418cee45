package shard

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

// nullConn is a redcon.Conn that discards replies, to time command
// execution without the network. Methods not overridden are never called
// by the commands benchmarked.
type nullConn struct {
	redcon.Conn
	n   int
	ctx any
}

func (c *nullConn) WriteRaw(b []byte)              { c.n += len(b) }
func (c *nullConn) WriteError(msg string)          { panic(msg) }
func (c *nullConn) Context() any                   { return c.ctx }
func (c *nullConn) SetContext(v any)               { c.ctx = v }
func (c *nullConn) RemoteAddr() string             { return "bench" }
func (c *nullConn) ReadPipeline() []redcon.Command { return nil }
func (c *nullConn) PeekPipeline() []redcon.Command { return nil }

func BenchmarkSetGet(b *testing.B) {
	cfg := testConfig(b)
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	val := []byte("some value of a few bytes")

	b.Run("direct", func(b *testing.B) {
		nc := &nullConn{}
		set := [][]byte{[]byte("SET"), nil, val}
		get := [][]byte{[]byte("GET"), nil}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := keys[i&1023]
			set[1], get[1] = k, k
			s.handle(nc, redcon.Command{Args: set})
			s.handle(nc, redcon.Command{Args: get})
		}
	})

	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Run("tcp-pipeline-64", func(b *testing.B) {
		c := dial(b, s.Addr())
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += 64 {
			n := min(64, b.N-i)
			for j := 0; j < n; j++ {
				k := string(keys[(i+j)&1023])
				c.send("SET", k, string(val))
				c.send("GET", k)
			}
			_ = c.w.Flush()
			for j := 0; j < 2*n; j++ {
				c.read()
			}
		}
	})
}

// BenchmarkPartitionCost measures what holding P file-backed partitions
// costs one shard process: time to open them all, file descriptors,
// goroutines, heap, and idle CPU over two seconds. Run it once per P:
//
//	go test -run '^$' -bench PartitionCost -benchtime 1x ./shard/
func BenchmarkPartitionCost(b *testing.B) {
	for _, p := range []int{64, 256, 1024, 4096} {
		b.Run(fmt.Sprintf("P=%d", p), func(b *testing.B) {
			for range b.N {
				measurePartitionCost(b, p)
			}
		})
	}
}

func measurePartitionCost(b *testing.B, p int) {
	b.StopTimer()
	dir := b.TempDir()
	cfg := fileConfig(b, dir)
	cfg.Sync = SyncEverySec
	cfg.Partitions = p
	// Create every partition file with one key.
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for pid := range p {
		if err := s.update(pid, s.nowMS(), func(tx *txn) error {
			return tx.PutString([]byte(fmt.Sprintf("k%d", pid)), 0, "v")
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	settleGoroutines()

	runtime.GC()
	fds0, g0, heap0 := countFDs(b), runtime.NumGoroutine(), heapInUse()
	b.StartTimer()
	s, err = New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	runtime.GC()
	fds, g, heap := countFDs(b)-fds0, runtime.NumGoroutine()-g0, heapInUse()-heap0
	cpu0 := cpuTime()
	time.Sleep(2 * time.Second) // the measurement window for idle CPU
	idle := (cpuTime() - cpu0).Seconds() / 2 * 100
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fds), "fds")
	b.ReportMetric(float64(g), "goroutines")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(idle, "idle-cpu-%")
}

// settleGoroutines waits until the goroutines of closed stores (BuntDB's
// background managers exit on their next one-second tick) are gone.
func settleGoroutines() {
	prev, stable := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(3 * time.Second); stable < 30 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == prev {
			stable++
		} else {
			prev, stable = n, 0
		}
	}
}

func countFDs(t testing.TB) int {
	ents, err := os.ReadDir(filepath.Join("/proc", "self", "fd"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func heapInUse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
