package tests

import (
	"bufio"
	"fmt"
	"net"
	"testing"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/resp"
)

// BenchmarkProxyRoundTrip measures GET and SET through an in-process proxy
// and three in-memory shards over loopback, one client, at pipeline depths
// 1, 16 and 128. ns/op is per command.
func BenchmarkProxyRoundTrip(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{InMemory: true})
	for _, cmd := range []string{"GET", "SET"} {
		for _, depth := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("%s/depth=%d", cmd, depth), func(b *testing.B) {
				benchRoundTrip(b, c.Addr, cmd, depth)
			})
		}
	}
}

func benchRoundTrip(b *testing.B, addr, cmd string, depth int) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var batch []byte
	for i := 0; i < depth; i++ {
		key := []byte(fmt.Sprintf("bench:%d", i))
		if cmd == "SET" {
			batch = resp.AppendCommand(batch, []byte("SET"), key, []byte("0123456789"))
		} else {
			batch = resp.AppendCommand(batch, []byte("GET"), key)
		}
	}
	rr := resp.NewReplyReader(bufio.NewReaderSize(conn, 64<<10), 1<<20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if _, err := conn.Write(batch); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < depth; j++ {
			raw, err := rr.Next()
			if err != nil {
				b.Fatal(err)
			}
			if len(raw) > 0 && raw[0] == '-' {
				b.Fatalf("error reply %q", raw)
			}
		}
	}
}
