package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
)

// roleRun is a `shardis shard` or `shardis proxy` running in process.
type roleRun struct {
	stderr syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startRole runs `shardis args...` in process until the test ends, and
// returns the attributes of its "ready" log line.
func startRole(t *testing.T, args ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &roleRun{cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- run(ctx, args, &syncBuffer{}, &r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-r.done:
			if code != exitOK {
				t.Errorf("shardis %s exited %d:\n%s", args[0], code, r.stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("shardis %s did not stop", args[0])
		}
	})
	ready := regexp.MustCompile(`(?m)^.*msg="` + args[0] + ` ready".*$`)
	var line string
	waitFor(t, "shardis "+args[0]+" to be ready", 20*time.Second, func() bool {
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("shardis %s exited %d early:\n%s", args[0], code, r.stderr.String())
		default:
		}
		line = ready.FindString(r.stderr.String())
		return line != ""
	})
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+)=(\S+)`).FindAllStringSubmatch(line, -1) {
		attrs[m[1]] = m[2]
	}
	return attrs
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return p
}

// TestAdvertiseWildcardBinds runs a voter shard and a member proxy that
// bind every listener to 0.0.0.0 (still reachable on loopback) and
// advertise 127.0.0.1 with the bound ports: gossip, the Raft group, the map
// and the proxy's routes all carry the advertised addresses.
func TestAdvertiseWildcardBinds(t *testing.T) {
	name := fmt.Sprintf("advertise-%d", time.Now().UnixNano())
	shard := startRole(t, "shard", "--id", "s1", "--memory", "--partitions", "8", "--rf", "1", "--min-insync", "1",
		"--cluster-name", name, "--log-level", "info",
		"--addr", "0.0.0.0:0", "--advertise-addr", "127.0.0.1:0",
		"--gossip-addr", "0.0.0.0:0", "--advertise-gossip-addr", "127.0.0.1:0",
		"--raft-addr", "0.0.0.0:0", "--advertise-raft-addr", "127.0.0.1:0",
		"--metrics-addr", "0.0.0.0:0")
	if h, _, _ := net.SplitHostPort(shard["addr"]); !net.ParseIP(h).IsUnspecified() {
		t.Fatalf("shard bound %s, want a wildcard address", shard["addr"])
	}
	respAddr := "127.0.0.1:" + port(t, shard["addr"])
	for what, want := range map[string]string{"advertised": respAddr, "gossip": `^127\.0\.0\.1:\d+$`, "raft": `^127\.0\.0\.1:\d+$`, "metrics": `^http://127\.0\.0\.1:\d+/metrics$`} {
		if got := shard[what]; got != want && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("shard %s = %q, want %q", what, got, want)
		}
	}

	// The cluster map the voter serves names the shard by the advertised
	// address.
	mapURL := strings.TrimSuffix(shard["metrics"], "/metrics") + "/map"
	var st cluster.State
	waitFor(t, "the map to name s1", 10*time.Second, func() bool {
		resp, err := http.Get(mapURL)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		st = cluster.State{}
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Nodes["s1"].Up
	})
	if got := st.Nodes["s1"].RESPAddr; got != respAddr {
		t.Errorf("map: s1 at %q, want the advertised %q", got, respAddr)
	}

	proxy := startRole(t, "proxy", "--id", "p1", "--partitions", "8", "--cluster-name", name, "--map-wait", "10s",
		"--addr", "0.0.0.0:0", "--advertise-addr", "127.0.0.1:0",
		"--gossip-addr", "0.0.0.0:0", "--advertise-gossip-addr", "127.0.0.1:0", "--join", shard["gossip"])
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(proxy["gossip"]) {
		t.Errorf("proxy gossip = %q, want 127.0.0.1", proxy["gossip"])
	}
	client := "127.0.0.1:" + port(t, proxy["addr"])
	rdb := redis.NewClient(&redis.Options{Addr: client})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waitFor(t, "a write through the proxy", 10*time.Second, func() bool { return rdb.Set(ctx, "k", "v", 0).Err() == nil })
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("GET k = %q, %v", got, err)
	}
	status := devStatus(t, client)
	if len(status.Nodes) != 1 || status.Nodes[0].Addr != respAddr {
		t.Errorf("proxy routes to %+v, want s1 at %s", status.Nodes, respAddr)
	}
}

// TestRaftTransportAdvertises: a voter's transport bound to a wildcard
// announces its advertised address, with the bound port for port 0, and a
// name as well as an IP; each is dialled where it announces.
func TestRaftTransportAdvertises(t *testing.T) {
	log := newLogger(&syncBuffer{}, "error")
	byIP, err := raftTransport("0.0.0.0:0", "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer byIP.Close()
	byName, err := raftTransport("127.0.0.1:0", "localhost:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer byName.Close()
	for _, c := range []struct {
		t        *raft.NetworkTransport
		wantHost string
	}{{byIP, "127.0.0.1"}, {byName, "localhost"}} {
		host, p, err := net.SplitHostPort(string(c.t.LocalAddr()))
		if err != nil || host != c.wantHost || p == "0" {
			t.Errorf("announced %q, want %s with the bound port", c.t.LocalAddr(), c.wantHost)
		}
	}
	for _, pair := range [][2]*raft.NetworkTransport{{byName, byIP}, {byIP, byName}} {
		from, to := pair[0], pair[1]
		go func() {
			select {
			case rpc := <-to.Consumer():
				rpc.Respond(&raft.AppendEntriesResponse{Term: 7, Success: true}, nil)
			case <-time.After(10 * time.Second):
			}
		}()
		var resp raft.AppendEntriesResponse
		if err := from.AppendEntries("peer", to.LocalAddr(), &raft.AppendEntriesRequest{Term: 7}, &resp); err != nil || !resp.Success {
			t.Errorf("AppendEntries to %s: %+v, %v", to.LocalAddr(), resp, err)
		}
	}
	if _, err := raftTransport("127.0.0.1:0", "no-port", log); err == nil {
		t.Error("an advertised address without a port was accepted")
	}
}
