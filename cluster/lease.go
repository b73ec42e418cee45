package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ctlLeases is the leader's side of master leases: when it last granted
// each node a lease, and since when it leads. A node's partitions may be
// given to others (NodeDown) only once no lease the node may still hold
// can be running: its last grant here has expired, and so has any grant a
// previous leader may have made, which a new leader cannot know of, so it
// waits one lease duration from its election.
type ctlLeases struct {
	mu      sync.Mutex
	granted map[string]time.Time // node → end of its last lease, this voter's clock
	since   time.Time            // when this voter became leader; zero while not
	retry   time.Time            // earliest moment a deferred NodeDown may go
}

func (l *ctlLeases) leadership(leader bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.granted = nil
	l.since = time.Time{}
	if leader {
		l.since = now
	}
}

func (l *ctlLeases) grant(node string, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.granted == nil {
		l.granted = make(map[string]time.Time)
	}
	if end.After(l.granted[node]) {
		l.granted[node] = end
	}
}

// heldUntil returns until when node may still hold a lease.
func (l *ctlLeases) heldUntil(node string, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	until := l.granted[node]
	if inherited := l.since.Add(d); until.Before(inherited) {
		until = inherited
	}
	return until
}

func (l *ctlLeases) deferDown(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retry = at
}

// GrantLease, on the leader, grants node (in its process incarnation) a
// master lease of the returned duration, counted by the node from before
// it asked. It refuses on a replica that does not lead (a
// *NotLeaderError), and with ErrUnknownNode for a node the map does not
// have up — a node marked down may already have lost its partitions to
// others — or has up under another incarnation: a restarted process gets
// no lease until the map has taken its old self down and it up again.
func (c *Controller) GrantLease(node, incarnation string) (time.Duration, error) {
	d := c.cfg.LeaseDuration
	if !c.IsLeader() {
		return 0, c.ctlLeaderErr(nil)
	}
	n, ok := c.State().Nodes[node]
	if !ok || !n.Up {
		return 0, fmt.Errorf("%w: %q is not up in the cluster map", ErrUnknownNode, node)
	}
	if n.Incarnation != "" && incarnation != "" && n.Incarnation != incarnation {
		return 0, fmt.Errorf("%w: %q restarted; the cluster map still has its previous process", ErrUnknownNode, node)
	}
	if d > 0 {
		c.leases.grant(node, time.Now().Add(d))
	}
	return d, nil
}

// DeferredDownUntil returns when the last Reconcile's deferred NodeDown
// (held back by a lease) may be proposed, or the zero time if none was.
func (c *Controller) DeferredDownUntil() time.Time {
	c.leases.mu.Lock()
	defer c.leases.mu.Unlock()
	return c.leases.retry
}

// lsGrant is the JSON body of a 200 answer of POST /lease.
type lsGrant struct {
	// MS is the lease's duration in milliseconds; 0 means leases are off.
	MS int64 `json:"ms"`
}

// agServeLease answers POST /lease?node=ID&incarnation=NAME: on the leader 200 with the
// lease duration, or 409 when the node is not up in the map; on another
// voter 421 naming the leader, like /report.
func (a *Agent) agServeLease(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	node, inc := r.URL.Query().Get("node"), r.URL.Query().Get("incarnation")
	if node == "" {
		http.Error(w, "node is required", http.StatusBadRequest)
		return
	}
	d, err := a.ctl.GrantLease(node, inc)
	switch {
	case errors.Is(err, ErrNotLeader):
		a.agMisdirected(w, err)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(lsGrant{MS: d.Milliseconds()})
}

// Lease tuning that is not worth a config field.
const (
	// lsRetry is the pause after a failed lease request before the next.
	lsRetry = 20 * time.Millisecond
	// lsRenewFraction: a lease is renewed every duration/lsRenewFraction,
	// so a couple of lost requests do not let it lapse.
	lsRenewFraction = 4
)

// agLeaseLoop keeps this node's master lease renewed for as long as the
// agent runs, telling OnLease the end of every lease it gets.
func (a *Agent) agLeaseLoop(id string, onLease func(until time.Time)) {
	defer a.wg.Done()
	leader := ""
	for {
		start := time.Now()
		d, at, err := a.agRequestLease(id, leader)
		wait := lsRetry
		if err == nil {
			leader = at
			if d > 0 {
				onLease(start.Add(d))
				wait = d / lsRenewFraction
			} else {
				onLease(time.Time{}) // leases are off: nothing to keep
				wait = time.Second
			}
		} else {
			leader = ""
			a.log.Debug("master lease not renewed", "err", err)
		}
		if !a.agSleep(max(0, wait-time.Since(start))) {
			return
		}
	}
}

// agRequestLease asks for a lease: on this voter when it leads, else at
// hint (the last leader) and then every live voter, following a voter's
// redirect to the leader. It returns the duration and where it was got.
func (a *Agent) agRequestLease(id, hint string) (time.Duration, string, error) {
	if a.ctl != nil && a.ctl.IsLeader() {
		d, err := a.ctl.GrantLease(id, a.ml.LocalMember().Name)
		return d, "", err
	}
	sources := a.agVotersLeaderFirst(hint)
	if len(sources) == 0 {
		return 0, "", errors.New("no live voter known")
	}
	var last error
	for _, addr := range sources {
		d, redirect, err := a.agPostLease(addr, id)
		if err == nil {
			return d, addr, nil
		}
		last = err
		if redirect != "" && redirect != addr {
			if d, _, err := a.agPostLease(redirect, id); err == nil {
				return d, redirect, nil
			}
		}
	}
	return 0, "", last
}

// agPostLease makes one POST /lease to addr.
func (a *Agent) agPostLease(addr, id string) (d time.Duration, redirect string, err error) {
	ctx, cancel := context.WithTimeout(a.ctx, lsAttemptTimeout)
	defer cancel()
	u := "http://" + addr + "/lease?node=" + url.QueryEscape(id) + "&incarnation=" + url.QueryEscape(a.ml.LocalMember().Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(nil))
	if err != nil {
		return 0, "", err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return 0, "", err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var g lsGrant
		if err := json.Unmarshal(body, &g); err != nil {
			return 0, "", fmt.Errorf("lease answer from %s: %w", addr, err)
		}
		return time.Duration(g.MS) * time.Millisecond, "", nil
	case http.StatusMisdirectedRequest:
		return 0, resp.Header.Get(LeaderHeader), fmt.Errorf("voter %s does not lead", addr)
	}
	return 0, "", fmt.Errorf("voter %s answered %s: %s", addr, resp.Status, strings.TrimSpace(string(body)))
}

// lsAttemptTimeout bounds one lease request: an answer later than this
// would grant little of the lease anyway.
const lsAttemptTimeout = 250 * time.Millisecond
