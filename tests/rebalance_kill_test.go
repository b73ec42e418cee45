package tests

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/ring"
)

// rbPlacedAfterJoin returns the partitions that would place a copy on id
// if it joined the cluster of st now: the controller recomputes placement
// with ring.Assign from the current one, as this does.
func rbPlacedAfterJoin(st cluster.State, id string) []int {
	prev := ring.Table{RF: st.RF, Partitions: make([]ring.Assignment, len(st.Parts))}
	for p, ps := range st.Parts {
		if len(ps.Replicas) > 0 {
			prev.Partitions[p] = ring.Assignment{Master: ps.Replicas[0], Followers: ps.Replicas[1:]}
		}
	}
	members := []ring.Member{{ID: id}}
	for _, n := range st.Nodes {
		members = append(members, ring.Member{ID: n.ID, Zone: n.Zone})
	}
	next := ring.Assign(prev, members, st.RF, len(st.Parts))
	var parts []int
	for p := range st.Parts {
		if slices.Contains(next.Owners(p), id) {
			parts = append(parts, p)
		}
	}
	return parts
}

// rbLeader returns the controller voter (shards 1 to 3) that leads: the
// one that answers a lease request for an unknown node itself (409)
// rather than naming the leader (421).
func rbLeader(c *lcCluster) (string, error) {
	for try := 0; try < 50; try++ {
		for i := 1; i <= 3; i++ {
			url := fmt.Sprintf("http://127.0.0.1:%d/lease?node=rb-nobody", c.base+200+i)
			resp, err := http.Post(url, "text/plain", nil)
			if err != nil {
				continue
			}
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusConflict {
				return "shard-" + strconv.Itoa(i), nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling for an election to end
	}
	return "", fmt.Errorf("no voter of 127.0.0.1:%d-%d answers as the leader", c.base+201, c.base+203)
}

// rbBigKeys writes n values of size bytes under one hash tag in partition
// p, so that moving p takes a while, and returns their keys.
func rbBigKeys(t *testing.T, rdb *redis.Client, p, n, size int) []string {
	t.Helper()
	tag := ""
	for i := 0; tag == ""; i++ {
		if s := "big" + strconv.Itoa(i); ring.Partition([]byte("{"+s+"}"), procPartitions) == p {
			tag = s
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys := make([]string, n)
	for i := 0; i < n; i += 8 {
		pipe := rdb.Pipeline()
		for j := i; j < min(n, i+8); j++ {
			keys[j] = "{" + tag + "}:" + strconv.Itoa(j)
			pipe.Set(ctx, keys[j], rbValue(keys[j], size), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("writing %d values of %d bytes under {%s}: %v", n, size, tag, err)
		}
	}
	return keys
}

// TestRebalanceKillMidMove kill -9s one end of a partition move while it
// runs, restarts it at once, and checks that the move completes: the
// source (the master streaming the snapshot to a joining shard, chosen to
// be the controller's leader as well) in one case, the destination (the
// joining shard) in the other. One partition
// holds 8 MB and snapshots are throttled, so its move lasts long enough to
// be interrupted; a load of reads and writes runs throughout. Nothing acknowledged may be
// lost, and the cluster must settle balanced with every copy in sync.
func TestRebalanceKillMidMove(t *testing.T) {
	for _, victim := range []string{"source", "destination"} {
		t.Run(victim, func(t *testing.T) { rbKillMidMove(t, victim) })
	}
}

func rbKillMidMove(t *testing.T, victim string) {
	begin := time.Now()
	// At the snapshot rate set below, the big partition takes about 4 s
	// to move: long enough to be caught in flight, short enough for a
	// quick test.
	const bigValues, bigSize, rate = 32, 256 << 10, "2m"
	c := rbStart(t, nil)
	initial := c.waitSettled(t, "after start")
	out, err := exec.Command(c.bin, "rebalance", "--addr", c.proxies[0], "set", "rate", rate).CombinedOutput()
	if err != nil {
		t.Fatalf("shardis rebalance set rate %s: %v\n%s", rate, err, out)
	}
	t.Logf("shardis rebalance set rate %s: %s", rate, strings.TrimSpace(string(out)))

	// The big partition is one the joiner will get a copy of.
	joiner := "shard-" + strconv.Itoa(lcShards+1)
	placed := rbPlacedAfterJoin(initial, joiner)
	if len(placed) == 0 {
		t.Fatalf("no partition would place a copy on %s", joiner)
	}
	// The source is the controller's leader, the hardest case: its
	// partitions fail over only once the other voters elected another.
	leader, err := rbLeader(c.lcCluster)
	if err != nil {
		t.Fatalf("the controller's leader: %v", err)
	}
	big := -1
	for _, p := range placed {
		if initial.Parts[p].Master == leader {
			big = p
			break
		}
	}
	if big < 0 {
		t.Fatalf("no partition mastered by the leader %s would place a copy on %s", leader, joiner)
	}
	source := initial.Parts[big].Master
	t0 := time.Now()
	bigKeys := rbBigKeys(t, c.clients[0], big, bigValues, bigSize)
	t.Logf("wrote %d values of %d KB into partition %d (master %s) in %v", bigValues, bigSize>>10, big, source,
		time.Since(t0).Round(time.Millisecond))

	var okOps atomic.Int64
	l := rbStartLoad(t, c.clients, procPartitions, &okOps)
	rbWaitOps(t, &okOps, 1000)
	mark := l.since()
	phases := []rbPhase{{name: "before", from: 0, to: mark}}

	if id := c.add(t); id != joiner {
		t.Fatalf("local-cluster add started %s, want %s", id, joiner)
	}
	// A migration is in flight while the joiner is placed on the big
	// partition but not yet in its in-sync set.
	deadline := time.Now().Add(rbSettleTimeout)
	for {
		st, err := chaosMap(c.lcCluster)
		if err == nil {
			ps := st.Parts[big]
			if slices.Contains(ps.InSync, joiner) {
				t.Fatalf("partition %d moved to %s before the kill could interrupt it (map epoch %d); make it bigger", big, joiner, st.Epoch)
			}
			status, serr := rbFetchStatus(c.clients[0])
			if slices.Contains(ps.Replicas, joiner) && ps.Master == source && serr == nil && status.Migrations["in_flight"] > 0 {
				t.Logf("partition %d in flight at map epoch %d, %v after the join: placed %v, in sync %v; status migrations %v",
					big, st.Epoch, (l.since() - mark).Round(time.Millisecond), ps.Replicas, ps.InSync, status.Migrations)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition %d never showed a move to %s in flight: %v", big, joiner, err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	kill := source
	if victim == "destination" {
		kill = joiner
	}
	c.must(t, nil, "kill", kill)
	killed := l.since()
	if st, err := chaosMap(c.lcCluster); err == nil && slices.Contains(st.Parts[big].InSync, joiner) {
		t.Errorf("partition %d was in sync on %s by the time %s was killed: the kill did not interrupt the move", big, joiner, kill)
	}
	phases = append(phases, rbPhase{name: "moving", from: mark, to: killed})
	c.must(t, nil, "restart", kill)
	restarted := l.since()
	phases = append(phases, rbPhase{name: "down", from: killed, to: restarted})
	t.Logf("kill -9 of the %s %s %v after the join; restarted after %v", victim, kill,
		(killed - mark).Round(time.Millisecond), (restarted - killed).Round(time.Millisecond))

	settled := c.waitSettled(t, "after the restart of "+kill)
	phases = append(phases, rbPhase{name: "settle", from: restarted, to: l.since()})
	c.logMoved(t, "the join", initial, settled, rbDataByPartition(bigKeys, bigSize), []string{joiner})
	mark = l.since()
	rbWaitOps(t, &okOps, 500)
	l.Stop()
	phases = append(phases, rbPhase{name: "after", from: mark, to: l.ended})

	rbReport(t, l, phases)
	// A crash also fails the requests already on their way to the killed
	// shard (CLUSTERDOWN), and one caught in it may outlast the client's
	// timeout; like NOTACKED, their outcome is unknown and the reads check
	// them as such.
	l.checkErrors(t, append(strings.Fields(rbRetryable), "CLUSTERDOWN", "timeout")...)
	l.checkReads(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, rdb := range c.clients {
		l.checkFinal(ctx, t, fmt.Sprintf("through proxy %d", i+1), rdb)
		rbCheckPreload(t, fmt.Sprintf("big values through proxy %d", i+1), rdb, bigKeys, bigSize)
	}
	t.Logf("kill of the %s mid-move took %v", victim, time.Since(begin).Round(time.Millisecond))
}
