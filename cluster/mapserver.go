package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// MapEpochHeader carries the epoch of the map in a 200 answer of GET /map,
// so a client (or an operator with curl -I) can tell the version without
// decoding the body.
const MapEpochHeader = "Shardis-Map-Epoch"

// agMaxMapSize bounds a map body a follower accepts.
const agMaxMapSize = 64 << 20

// agServe runs the map endpoint until Close.
func (a *Agent) agServe() {
	defer a.wg.Done()
	if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("map endpoint stopped", "addr", a.mapAddr, "err", err)
	}
}

// agServeMap answers GET /map?after=<epoch>: the held map as JSON (State's
// encoding) as soon as its epoch is above after, or 204 No Content once
// MapLongPoll has passed without one. A missing after means 0, so the first
// request of a new follower returns at once when a map exists. While the
// agent stops it answers 503, so the client moves to another voter.
func (a *Agent) agServeMap(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			http.Error(w, "after must be an epoch (unsigned integer)", http.StatusBadRequest)
			return
		}
		after = n
	}
	ch, stop := a.Watch()
	defer stop()
	a.holding.Add(1)
	defer a.holding.Add(-1)
	timer := time.NewTimer(a.longPoll)
	defer timer.Stop()
	for {
		sn := a.snap.Load()
		if sn.s.Epoch > after {
			body, err := sn.agEncoded()
			if err != nil {
				a.log.Error("cannot encode the cluster map", "epoch", sn.s.Epoch, "err", err)
				http.Error(w, "cannot encode the cluster map", http.StatusInternalServerError)
				return
			}
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			h.Set(MapEpochHeader, strconv.FormatUint(sn.s.Epoch, 10))
			h.Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			// Covers Close too: the server's base context is the agent's.
			if a.ctx.Err() != nil {
				http.Error(w, "agent stopping", http.StatusServiceUnavailable)
			}
			return
		}
	}
}

// agFollowVoters keeps the held map fresh on a non-voter: it long-polls one
// live voter's map endpoint after another, staying with the same voter
// while it answers and moving to the next (in ID order) when it fails,
// with a backoff of agBackoffMin doubling up to agBackoffMax.
func (a *Agent) agFollowVoters() {
	defer a.wg.Done()
	backoff := agBackoffMin
	target := ""
	for a.ctx.Err() == nil {
		sources := a.agMapSources()
		if len(sources) == 0 {
			a.log.Debug("no voter known yet to fetch the map from", "retry_in", backoff)
			if !a.agSleep(backoff) {
				return
			}
			backoff = min(2*backoff, agBackoffMax)
			continue
		}
		if !slices.Contains(sources, target) {
			// Spread followers over voters rather than all on the first.
			target = sources[rand.IntN(len(sources))]
		}
		cur := target
		a.target.Store(&cur)
		err := a.agPoll(target)
		if err == nil {
			backoff = agBackoffMin
			continue
		}
		if a.ctx.Err() != nil {
			return
		}
		a.log.Debug("map fetch failed; trying another voter", "voter", target, "err", err, "retry_in", backoff)
		target = sources[(slices.Index(sources, target)+1)%len(sources)]
		if !a.agSleep(backoff) {
			return
		}
		backoff = min(2*backoff, agBackoffMax)
	}
}

// agPoll makes one long-poll to the map endpoint at addr and adopts what
// it returns. It gives up early when membership stops listing addr as a
// live voter, so a voter that died or is cut off costs one failure
// detection, not a long-poll timeout.
func (a *Agent) agPoll(addr string) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.longPoll+agPollSlack)
	defer cancel()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-a.memberKick:
				if !slices.Contains(a.agMapSources(), addr) {
					cancel()
					return
				}
			}
		}
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()

	after := a.State().Epoch
	url := "http://" + addr + "/map?after=" + strconv.FormatUint(after, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("map endpoint %s answered %s", addr, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, agMaxMapSize+1))
	if err != nil {
		return fmt.Errorf("read map from %s: %w", addr, err)
	}
	s, err := agDecodeMap(body, resp.Header.Get(MapEpochHeader))
	if err != nil {
		return fmt.Errorf("map from %s: %w", addr, err)
	}
	a.agAdopt(s)
	return nil
}

// agDecodeMap parses and checks a map endpoint's answer: a valid,
// bootstrapped state whose epoch matches the header.
func agDecodeMap(body []byte, epochHeader string) (State, error) {
	if len(body) > agMaxMapSize {
		return State{}, fmt.Errorf("map larger than %d bytes", agMaxMapSize)
	}
	var s State
	if err := json.Unmarshal(body, &s); err != nil {
		return State{}, fmt.Errorf("decode: %w", err)
	}
	if err := s.Validate(); err != nil {
		return State{}, err
	}
	if !s.Bootstrapped() || s.Epoch == 0 {
		return State{}, errors.New("map is not bootstrapped")
	}
	if epochHeader != strconv.FormatUint(s.Epoch, 10) {
		return State{}, fmt.Errorf("header epoch %q differs from map epoch %d", epochHeader, s.Epoch)
	}
	return s, nil
}
