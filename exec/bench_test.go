package exec

import (
	"strconv"
	"testing"

	"github.com/shardis/shardis/store"
)

// BenchmarkCommands runs single commands of each type against a partition
// in memory, one transaction each as a shard runs them: the cost of the
// command and the store, without the network or replication.
func BenchmarkCommands(b *testing.B) {
	for _, bc := range []struct {
		name  string
		setup [][]string
		args  func(i int) []string
	}{
		{"SET", nil, func(i int) []string { return []string{"SET", "k" + strconv.Itoa(i&1023), "v"} }},
		{"GET", [][]string{{"SET", "k", "v"}}, func(int) []string { return []string{"GET", "k"} }},
		{"HSET", nil, func(i int) []string { return []string{"HSET", "h", "f" + strconv.Itoa(i&4095), "v"} }},
		{"HGET", [][]string{{"HSET", "h", "f", "v"}}, func(int) []string { return []string{"HGET", "h", "f"} }},
		{"LPUSH", nil, func(int) []string { return []string{"LPUSH", "l", "x"} }},
		{"SADD", nil, func(i int) []string { return []string{"SADD", "s", strconv.Itoa(i & 4095)} }},
		{"ZADD", nil, func(i int) []string { return []string{"ZADD", "z", strconv.Itoa(i & 4095), "m" + strconv.Itoa(i&4095)} }},
		{"ZSCORE", [][]string{{"ZADD", "z", "1.5", "m"}}, func(int) []string { return []string{"ZSCORE", "z", "m"} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newTestStore(b)
			for _, a := range bc.setup {
				s.do(a...)
			}
			cmd := Lookup([]byte(bc.name))
			write := cmd.Spec.IsWrite()
			var r Reply
			c := &Ctx{R: &r, Cfg: &s.cfg, Rand: s.rnd}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				args := argv(bc.args(i))
				r.Reset()
				fn := func(t *store.Txn) error {
					c.Tx = t
					return Run(c, args)
				}
				var err error
				if write {
					err = s.m.Update(s.now, fn)
				} else {
					err = s.m.View(s.now, fn)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func argv(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}
