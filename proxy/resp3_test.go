package proxy

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// resp3Shard is a fake shard that answers like a Shardis shard after the switch to
// RESP3 on its internal port: replies are given by answer (RESP3, with *-1 for null
// arrays), and every command it receives is recorded.
type resp3Shard struct {
	id     string
	ln     net.Listener
	answer func(args [][]byte) string
	mu     sync.Mutex
	got    [][]string // commands received, guarded by mu
	wg     sync.WaitGroup
	conns  []net.Conn // guarded by mu
}

func startRESP3Shard(tb testing.TB, id string, answer func(args [][]byte) string) *resp3Shard {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &resp3Shard{id: id, ln: ln, answer: answer}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *resp3Shard) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		if string(args[0]) == "SHARDIS.HELLO" {
			w.WriteString("*2\r\n$" + strconv.Itoa(len(s.id)) + "\r\n" + s.id + "\r\n:16\r\n")
		} else {
			strs := make([]string, len(args))
			for i, a := range args {
				strs[i] = string(a)
			}
			s.mu.Lock()
			s.got = append(s.got, strs)
			s.mu.Unlock()
			w.WriteString(s.answer(args))
		}
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
	}
}

func (s *resp3Shard) received() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// shardReplies are what a RESP3 shard sends, keyed by the command line, with what Redis
// 7.0.15 sends a RESP2 and a RESP3 client for it (resp/testdata/redis7-replies.txt).
var shardReplies = []struct{ cmd, shard, resp2, resp3 string }{
	{"ZRANGE z 0 -1 WITHSCORES",
		"*2\r\n*2\r\n$1\r\ne\r\n,-inf\r\n*2\r\n$1\r\na\r\n,1\r\n",
		"*4\r\n$1\r\ne\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n",
		"*2\r\n*2\r\n$1\r\ne\r\n,-inf\r\n*2\r\n$1\r\na\r\n,1\r\n"},
	{"HRANDFIELD h 10 WITHVALUES",
		"*2\r\n*2\r\n$2\r\nf1\r\n$2\r\nv1\r\n*2\r\n$2\r\nf2\r\n$2\r\nv2\r\n",
		"*4\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n",
		"*2\r\n*2\r\n$2\r\nf1\r\n$2\r\nv1\r\n*2\r\n$2\r\nf2\r\n$2\r\nv2\r\n"},
	{"ZMPOP 1 z MIN",
		"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\ne\r\n,-inf\r\n",
		"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\ne\r\n$4\r\n-inf\r\n",
		"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\ne\r\n,-inf\r\n"},
	{"ZPOPMIN z", "*2\r\n$1\r\ne\r\n,-inf\r\n", "*2\r\n$1\r\ne\r\n$4\r\n-inf\r\n", "*2\r\n$1\r\ne\r\n,-inf\r\n"},
	{"HGETALL h",
		"%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n",
		"*4\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n",
		"%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n"},
	{"SMEMBERS s", "~2\r\n$1\r\nc\r\n$1\r\nb\r\n", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n", "~2\r\n$1\r\nc\r\n$1\r\nb\r\n"},
	{"ZSCORE z b", ",2.5\r\n", "$3\r\n2.5\r\n", ",2.5\r\n"},
	{"GET nokey", "_\r\n", "$-1\r\n", "_\r\n"},
	{"LPOP nokey 2", "*-1\r\n", "*-1\r\n", "_\r\n"},
	{"GEOPOS g Palermo nope",
		"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n*-1\r\n",
		"*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n",
		"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"},
	{"LCS {k}1 {k}2 IDX", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n", "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n"},
	{"GET str", "$5\r\nhello\r\n", "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
	{"ZRANGE z 0 -1", "*2\r\n$1\r\ne\r\n$1\r\na\r\n", "*2\r\n$1\r\ne\r\n$1\r\na\r\n", "*2\r\n$1\r\ne\r\n$1\r\na\r\n"},
}

// answerRESP3 is the fake shards' behaviour: the replies above by command line; MGET
// answers each key's value, or _ for keys starting with "missing"; DEL counts its keys;
// anything else gets +OK.
func answerRESP3(args [][]byte) string {
	line := string(bytes.Join(args, []byte(" ")))
	for _, c := range shardReplies {
		if c.cmd == line {
			return c.shard
		}
	}
	switch strings.ToUpper(string(args[0])) {
	case "MGET":
		b := resp.AppendArrayHeader(nil, len(args)-1)
		for _, k := range args[1:] {
			if bytes.HasPrefix(k, []byte("missing")) {
				b = append(b, "_\r\n"...)
			} else {
				b = resp.AppendBulkString(b, "v-"+string(k))
			}
		}
		return string(b)
	case "DEL":
		return ":" + strconv.Itoa(len(args)-1) + "\r\n"
	}
	return "+OK\r\n"
}

// startRESP3Cluster starts a proxy over two fake RESP3 shards.
func startRESP3Cluster(t *testing.T) (*Proxy, map[string]*resp3Shard) {
	t.Helper()
	shards := map[string]*resp3Shard{}
	var backends []Backend
	for _, id := range []string{"s1", "s2"} {
		s := startRESP3Shard(t, id, answerRESP3)
		shards[id] = s
		backends = append(backends, Backend{ID: id, Addr: s.ln.Addr().String()})
	}
	p, err := New(Config{
		Addr:       "127.0.0.1:0",
		Shards:     backends,
		Partitions: 16,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, shards
}

// testClient is a raw RESP client of the proxy.
type testClient struct {
	t  *testing.T
	c  net.Conn
	rr *resp.ReplyReader
}

func dialProxy(t *testing.T, p *Proxy, proto int) *testClient {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tc := &testClient{t: t, c: c, rr: resp.NewReplyReader(c, 0)}
	if proto == resp.RESP3 {
		if r := tc.do("HELLO", "3"); r[0] != '%' {
			t.Fatalf("HELLO 3: %q", r)
		}
	}
	return tc
}

func (tc *testClient) do(args ...string) string {
	tc.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	_ = tc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := tc.c.Write(resp.AppendCommand(nil, bs...)); err != nil {
		tc.t.Fatal(err)
	}
	raw, err := tc.rr.Next()
	if err != nil {
		tc.t.Fatalf("%v: %v", args, err)
	}
	return string(raw)
}

// TestRESP3ShardRepliesReachClientsAsRedisSendsThem: behind a proxy, a RESP2 and a RESP3
// client get byte for byte what Redis 7.0 sends them, from shards answering RESP3.
func TestRESP3ShardRepliesReachClientsAsRedisSendsThem(t *testing.T) {
	p, _ := startRESP3Cluster(t)
	c2, c3 := dialProxy(t, p, resp.RESP2), dialProxy(t, p, resp.RESP3)
	for _, c := range shardReplies {
		args := strings.Fields(c.cmd)
		if got := c2.do(args...); got != c.resp2 {
			t.Errorf("RESP2 %s:\n got %q\nwant %q", c.cmd, got, c.resp2)
		}
		if got := c3.do(args...); got != c.resp3 {
			t.Errorf("RESP3 %s:\n got %q\nwant %q", c.cmd, got, c.resp3)
		}
	}
}

// keysInDistinctPartitions returns n keys with the given prefix whose partitions (of
// 16) all differ.
func keysInDistinctPartitions(prefix string, n int) []string {
	var keys []string
	seen := map[int]bool{}
	for i := 0; len(keys) < n; i++ {
		k := prefix + strconv.Itoa(i)
		if part := ring.Partition([]byte(k), 16); !seen[part] {
			seen[part] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// TestMergesOverRESP3Shards: MGET across shards merges RESP3 nulls into each client's
// null, DEL sums.
func TestMergesOverRESP3Shards(t *testing.T) {
	p, _ := startRESP3Cluster(t)
	keys := keysInDistinctPartitions("k", 6)
	keys[2] = "missing" + keys[2] // a different key, likely elsewhere: fine for MGET
	args := append([]string{"MGET"}, keys...)
	var want2, want3 []byte
	want2 = resp.AppendArrayHeader(want2, len(keys))
	want3 = resp.AppendArrayHeader(want3, len(keys))
	for _, k := range keys {
		if strings.HasPrefix(k, "missing") {
			want2 = append(want2, "$-1\r\n"...)
			want3 = append(want3, "_\r\n"...)
			continue
		}
		want2 = resp.AppendBulkString(want2, "v-"+k)
		want3 = resp.AppendBulkString(want3, "v-"+k)
	}
	if got := dialProxy(t, p, resp.RESP2).do(args...); got != string(want2) {
		t.Errorf("RESP2 MGET: %q, want %q", got, want2)
	}
	if got := dialProxy(t, p, resp.RESP3).do(args...); got != string(want3) {
		t.Errorf("RESP3 MGET: %q, want %q", got, want3)
	}
	del := append([]string{"DEL"}, keys...)
	if got := dialProxy(t, p, resp.RESP3).do(del...); got != ":6\r\n" {
		t.Errorf("DEL: %q", got)
	}
}
