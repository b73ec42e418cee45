package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// rpPostReport posts body to a voter's /report and returns the answer.
func rpPostReport(t *testing.T, addr string, body []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/report", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// rpEncode encodes a command or fails the test.
func rpEncode(t *testing.T, cmd Command) []byte {
	t.Helper()
	b, err := EncodeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rpWaitEverywhere waits until every agent's map satisfies cond for
// partition p.
func rpWaitEverywhere(t *testing.T, nodes []*agTestNode, what string, p int, cond func(PartState) bool) {
	t.Helper()
	agWaitFor(t, 5*time.Second, what+" on every agent", func() bool {
		for _, n := range nodes {
			s := n.a.State()
			if p >= len(s.Parts) || !cond(s.Parts[p]) {
				return false
			}
		}
		return true
	})
}

// TestReport runs the report path on 3 voters and one non-voter shard
// (4 shards, RF 3): the non-voter reports a replica in sync through a
// voter's map server, a repeat at the old epoch is refused as stale, a
// report to a non-leader voter is redirected to the leader, OutOfSync
// drops the follower again, and what is not a report is 400.
func TestReport(t *testing.T) {
	nodes := agTestCluster(t, agTestSpec{voters: 3, shards: 1, partitions: 8})
	s := agConverge(t, nodes, 10*time.Second)
	shard := nodes[3]
	if shard.voter || shard.role != RoleShard {
		t.Fatalf("node %s is not the non-voter shard", shard.id)
	}

	// A partition with a follower that is placed, not master-designate and
	// not in sync yet: reporting it in sync leaves mastership where it is.
	p, r := -1, ""
	for i, ps := range s.Parts {
		for _, id := range ps.Replicas[1:] {
			if id != ps.Master && !slices.Contains(ps.InSync, id) {
				p, r = i, id
				break
			}
		}
		if p >= 0 {
			break
		}
	}
	if p < 0 {
		t.Fatalf("no out-of-sync follower to report: %s", ctlJSON(t, s))
	}
	ps := s.Parts[p]
	t.Logf("partition %d: master %s, replicas %v, in sync %v, epoch %d; reporting %s in sync",
		p, ps.Master, ps.Replicas, ps.InSync, ps.Epoch, r)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := InSync{Partition: p, Node: r, PartEpoch: ps.Epoch}
	epoch, err := shard.a.Report(ctx, in)
	if err != nil {
		t.Fatalf("Report(%+v) from non-voter %s: %v", in, shard.id, err)
	}
	if epoch <= s.Epoch {
		t.Errorf("Report returned epoch %d, want > %d", epoch, s.Epoch)
	}
	rpWaitEverywhere(t, nodes, r+" in sync for the partition", p, func(ps PartState) bool {
		return slices.Contains(ps.InSync, r)
	})
	after := shard.a.State().Parts[p]
	if after.Epoch <= ps.Epoch || after.Master != ps.Master {
		t.Errorf("after InSync: partition %+v, want epoch above %d and master still %s", after, ps.Epoch, ps.Master)
	}

	// The same report at the old epoch is refused, also over HTTP.
	_, err = shard.a.Report(ctx, in)
	if !errors.Is(err, ErrReportRefused) || !errors.Is(err, ErrStaleEpoch) || errors.Is(err, ErrNoLeader) {
		t.Errorf("repeated Report at the old epoch: %v, want a refusal wrapping ErrStaleEpoch", err)
	}

	// A non-leader voter answers 421 naming the leader, and the agent's
	// client follows that redirect.
	lead := agLeader(t, nodes)
	var other *agTestNode
	for _, n := range nodes {
		if n.voter && n != lead {
			other = n
			break
		}
	}
	out := OutOfSync{Partition: p, Node: r, PartEpoch: after.Epoch}
	resp, body := rpPostReport(t, other.a.MapAddr(), rpEncode(t, out))
	if resp.StatusCode != http.StatusMisdirectedRequest || resp.Header.Get(LeaderHeader) != lead.a.MapAddr() {
		t.Fatalf("POST /report to follower %s: %s %q, leader header %q, want 421 naming %s",
			other.id, resp.Status, body, resp.Header.Get(LeaderHeader), lead.a.MapAddr())
	}
	epoch, done, err := shard.a.agReportVia(ctx, other.a.MapAddr(), rpEncode(t, out))
	if err != nil || !done {
		t.Fatalf("OutOfSync via follower %s: done %v, %v", other.id, done, err)
	}
	if epoch <= after.Epoch {
		t.Errorf("OutOfSync returned epoch %d, want > %d", epoch, after.Epoch)
	}
	rpWaitEverywhere(t, nodes, r+" out of sync for the partition", p, func(ps PartState) bool {
		return !slices.Contains(ps.InSync, r) && ps.Epoch > after.Epoch
	})

	// A non-leader voter's own Report reaches the leader too.
	cur := other.a.State().Parts[p]
	epoch, err = other.a.Report(ctx, InSync{Partition: p, Node: r, PartEpoch: cur.Epoch})
	if err != nil {
		t.Fatalf("Report from follower voter %s: %v", other.id, err)
	}
	rpWaitEverywhere(t, nodes, r+" in sync again", p, func(ps PartState) bool {
		return slices.Contains(ps.InSync, r)
	})
	if got := lead.a.Controller().State().Epoch; got < epoch {
		t.Errorf("leader at epoch %d after a report answered epoch %d", got, epoch)
	}

	// Only InSync and OutOfSync are reports.
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"NodeDown", rpEncode(t, NodeDown{ID: r, AtMS: 1})},
		{"Bootstrap", rpEncode(t, Bootstrap{RF: 3, MinInSync: 2, Partitions: 8})},
		{"not json", []byte("{")},
		{"unknown type", []byte(`{"type":"drop_all","cmd":{}}`)},
	} {
		for _, n := range []*agTestNode{lead, other} {
			if resp, body := rpPostReport(t, n.a.MapAddr(), c.body); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("POST /report %s to %s: %s %q, want 400", c.name, n.id, resp.Status, body)
			}
		}
	}
	if _, err := shard.a.Report(ctx, NodeDown{ID: r}); !errors.Is(err, ErrBadCommand) {
		t.Errorf("Report(NodeDown): %v, want ErrBadCommand", err)
	}
	if st := lead.a.Controller().State(); !st.Nodes[r].Up {
		t.Errorf("%s down after a refused NodeDown report", r)
	}
	if resp, err := http.Get("http://" + lead.a.MapAddr() + "/report"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /report: %s, want 405", resp.Status)
		}
	}
}

// TestReportNoLeader checks that a report nobody can take ends with
// ErrNoLeader when its context does, not a refusal.
func TestReportNoLeader(t *testing.T) {
	nodes := agTestCluster(t, agTestSpec{voters: 1, shards: 1})
	s := agConverge(t, nodes, 5*time.Second)
	shard := nodes[1]
	agKill(t, nodes[0])
	agWaitFor(t, 5*time.Second, "the voter gone from the shard's membership", func() bool {
		return len(shard.a.agMapSources()) == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := shard.a.Report(ctx, InSync{Partition: 0, Node: shard.id, PartEpoch: s.Parts[0].Epoch})
	if !errors.Is(err, ErrNoLeader) || errors.Is(err, ErrReportRefused) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Report with no voter: %v, want ErrNoLeader and the deadline", err)
	}
	if err != nil && !strings.Contains(err.Error(), "no live voter") {
		t.Errorf("Report with no voter: %v, want the last failure named", err)
	}
}
