package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LeaderHeader, in a 421 answer of POST /report, carries the map address
// of the voter that leads the controller, so the reporter can retry there
// without guessing.
const LeaderHeader = "Shardis-Leader"

// ReportErrorHeader, in a 409 answer of POST /report, names why the
// controller refused the command (one of the rpKind* values), so a remote
// reporter gets the same sentinel error (ErrStaleEpoch, …) as a local one.
const ReportErrorHeader = "Shardis-Report-Error"

// Errors returned by Agent.Report. Compare with errors.Is.
var (
	// ErrReportRefused means the controller leader decided the report and
	// turned it down; the error also wraps the reason (ErrStaleEpoch,
	// ErrUnknownNode, ErrBadCommand, ErrNotBootstrapped). Repeating the
	// same report cannot succeed: re-read the map and report what holds at
	// its current partition epoch.
	ErrReportRefused = errors.New("cluster: report refused by the controller")
	// ErrNoLeader means no controller leader could be reached before the
	// context ended (election under way, voters unreachable, agent
	// closed). The report may be retried as it is.
	ErrNoLeader = errors.New("cluster: no controller leader reachable")
)

// Tuning constants that are not worth a config field.
const (
	// rpProposeTimeout bounds the Raft commit of one report on the leader.
	rpProposeTimeout = 5 * time.Second
	// rpAttemptTimeout bounds one HTTP exchange with one voter; it leaves
	// the leader time to answer its own timeout.
	rpAttemptTimeout = rpProposeTimeout + 2*time.Second
	// rpMaxBody bounds a report request body.
	rpMaxBody = 64 << 10
)

// Values of ReportErrorHeader.
const (
	rpKindStale           = "stale_epoch"
	rpKindUnknownNode     = "unknown_node"
	rpKindBadCommand      = "bad_command"
	rpKindNotBootstrapped = "not_bootstrapped"
)

// rpKinds maps each refusal kind to its sentinel, in the order checked.
var rpKinds = []struct {
	kind string
	err  error
}{
	{rpKindStale, ErrStaleEpoch},
	{rpKindUnknownNode, ErrUnknownNode},
	{rpKindNotBootstrapped, ErrNotBootstrapped},
	{rpKindBadCommand, ErrBadCommand},
}

// rpRefusalKind returns the ReportErrorHeader value for a transition
// error, or "" when err is not the controller refusing the command.
func rpRefusalKind(err error) string {
	for _, k := range rpKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return ""
}

// rpRemoteError is a refusal decided on another voter: its text, and the
// sentinel its kind names.
type rpRemoteError struct {
	msg  string
	kind error
}

func (e *rpRemoteError) Error() string { return e.msg }
func (e *rpRemoteError) Unwrap() error { return e.kind }

// rpReportable checks that cmd may be sent through Report: a shard's
// InSync, OutOfSync or Handoff report, or an operator's Decommission or
// SetRebalance (sent by a proxy's admin command). Membership and placement
// commands are the controller's own.
func rpReportable(cmd Command) error {
	switch cmd.(type) {
	case InSync, OutOfSync, Handoff, Decommission, SetRebalance:
		return nil
	case nil:
		return fmt.Errorf("%w: nil report", ErrBadCommand)
	}
	return fmt.Errorf("%w: %s is not a report (only %s, %s, %s, %s and %s are)", ErrBadCommand, cmd.CommandType(),
		TypeInSync, TypeOutOfSync, TypeHandoff, TypeDecommission, TypeSetRebalance)
}

// rpReport is the JSON body of a 200 answer of POST /report.
type rpReport struct {
	Epoch uint64 `json:"epoch"`
}

// agServeReport answers POST /report, whose body is an EncodeCommand
// InSync or OutOfSync: on the leader it is proposed and answered 200 with
// {"epoch": n} (the state epoch after it), or 409 with the reason the
// controller refused it (and ReportErrorHeader); on another voter 421 with
// LeaderHeader naming the leader's map address when known. Anything but
// those two commands is 400; 503 means the commit did not finish in time
// or the agent is stopping, and the report may be retried.
func (a *Agent) agServeReport(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rpMaxBody+1))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > rpMaxBody {
		http.Error(w, "report too large", http.StatusRequestEntityTooLarge)
		return
	}
	cmd, err := DecodeCommand(body)
	if err == nil {
		err = rpReportable(cmd)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !a.ctl.IsLeader() {
		a.agMisdirected(w, nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rpProposeTimeout)
	defer cancel()
	s, err := a.ctl.Propose(ctx, cmd)
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(MapEpochHeader, strconv.FormatUint(s.Epoch, 10))
		_ = json.NewEncoder(w).Encode(rpReport{Epoch: s.Epoch})
	case errors.Is(err, ErrNotLeader):
		a.agMisdirected(w, err)
	case rpRefusalKind(err) != "":
		w.Header().Set(ReportErrorHeader, rpRefusalKind(err))
		http.Error(w, err.Error(), http.StatusConflict)
	default:
		a.log.Debug("report not committed", "type", cmd.CommandType(), "err", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	}
}

// agMisdirected answers 421 with the leader's map address when membership
// knows it.
func (a *Agent) agMisdirected(w http.ResponseWriter, err error) {
	if addr := a.agLeaderMapAddr(); addr != "" {
		w.Header().Set(LeaderHeader, addr)
	}
	msg := ErrNotLeader.Error()
	if err != nil {
		msg = err.Error()
	}
	http.Error(w, msg, http.StatusMisdirectedRequest)
}

// agLeaderMapAddr returns the map address of the live voter that leads as
// this voter's controller knows it, or "".
func (a *Agent) agLeaderMapAddr() string {
	if a.ctl == nil {
		return ""
	}
	// By ID as well as by address: the address the leader's Raft
	// messages carry is the one it bound (an IP), which differs from the
	// configured one when that names a host.
	id, raftAddr := a.ctl.Leader()
	if id == "" && raftAddr == "" {
		return ""
	}
	for _, m := range a.ml.Members() {
		if m.Meta.RaftAddr != "" && (m.ID == id || m.Meta.RaftAddr == raftAddr) && m.Meta.AdminAddr != "" && m.State == MemberAlive {
			return m.Meta.AdminAddr
		}
	}
	return ""
}

// Report sends a shard's InSync or OutOfSync report to the controller
// leader and returns the state epoch after it was applied (a report that
// changed nothing returns the current epoch). A voter that leads proposes
// it locally; any other node posts it to a live voter, following that
// voter's redirect to the leader once and trying the other voters when
// one cannot be reached, until ctx ends.
//
// The error wraps ErrReportRefused and the reason when the leader turned
// the report down (ErrStaleEpoch: the partition epoch moved on), and
// ErrNoLeader when no leader answered before ctx ended or the agent
// closed. A command that is not InSync or OutOfSync wraps ErrBadCommand.
// If leadership moves while the report commits, the retry at the new
// leader can be refused as stale although the first try applied: check
// the map before treating a stale refusal as lost.
func (a *Agent) Report(ctx context.Context, cmd Command) (uint64, error) {
	if err := rpReportable(cmd); err != nil {
		return 0, err
	}
	body, err := EncodeCommand(cmd)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(a.ctx, cancel)()

	backoff := agBackoffMin
	var last error
	for {
		if a.ctl != nil && a.ctl.IsLeader() {
			pctx, pcancel := context.WithTimeout(ctx, rpProposeTimeout)
			s, err := a.ctl.Propose(pctx, cmd)
			pcancel()
			switch {
			case err == nil:
				return s.Epoch, nil
			case rpRefusalKind(err) != "":
				return 0, fmt.Errorf("%w: %w", ErrReportRefused, err)
			}
			last = err
		} else {
			epoch, done, err := a.agReportRemote(ctx, body)
			if done {
				return epoch, err
			}
			last = err
		}
		if ctx.Err() != nil || !rpSleep(ctx, backoff) {
			if a.ctx.Err() != nil {
				return 0, fmt.Errorf("%w: agent closed (last error: %v)", ErrNoLeader, last)
			}
			return 0, fmt.Errorf("%w: %w (last error: %v)", ErrNoLeader, ctx.Err(), last)
		}
		backoff = min(2*backoff, agBackoffMax)
	}
}

// agReportRemote makes one pass over the live voters, the known leader
// first. done says the report was decided (accepted, or refused with err);
// otherwise err is the last failure.
func (a *Agent) agReportRemote(ctx context.Context, body []byte) (epoch uint64, done bool, err error) {
	sources := a.agVotersLeaderFirst("")
	if len(sources) == 0 {
		return 0, false, errors.New("no live voter known")
	}
	for _, addr := range sources {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		epoch, done, err = a.agReportVia(ctx, addr, body)
		if done {
			return epoch, done, err
		}
	}
	return 0, false, err
}

// agVotersLeaderFirst returns the live voters' map addresses, the leader
// (as this node's controller knows it, else hint, the last one that
// answered as leader) first.
func (a *Agent) agVotersLeaderFirst(hint string) []string {
	sources := a.agMapSources()
	if lead := a.agLeaderMapAddr(); lead != "" {
		hint = lead
	}
	if hint != "" {
		sources = append([]string{hint}, slices.DeleteFunc(sources, func(s string) bool { return s == hint })...)
	}
	return sources
}

// agReportVia posts the report to the voter at addr and, if that voter
// redirects, once to the leader it names.
func (a *Agent) agReportVia(ctx context.Context, addr string, body []byte) (uint64, bool, error) {
	epoch, redirect, done, err := a.agPostReport(ctx, addr, body)
	if done || redirect == "" || redirect == addr {
		return epoch, done, err
	}
	epoch, _, done, err = a.agPostReport(ctx, redirect, body)
	return epoch, done, err
}

// agPostReport makes one POST /report to addr. It returns the epoch and
// done=true when the leader decided (err then says whether it refused),
// or the leader's address from a 421, or the failure.
func (a *Agent) agPostReport(ctx context.Context, addr string, body []byte) (epoch uint64, redirect string, done bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, rpAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/report", bytes.NewReader(body))
	if err != nil {
		return 0, "", false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, "", false, err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, rpMaxBody))
	if err != nil {
		return 0, "", false, fmt.Errorf("read report answer from %s: %w", addr, err)
	}
	text := strings.TrimSpace(string(msg))
	switch resp.StatusCode {
	case http.StatusOK:
		var rep rpReport
		if err := json.Unmarshal(msg, &rep); err != nil {
			return 0, "", false, fmt.Errorf("report answer from %s: %w", addr, err)
		}
		return rep.Epoch, "", true, nil
	case http.StatusConflict:
		kind := ErrBadCommand
		h := resp.Header.Get(ReportErrorHeader)
		for _, k := range rpKinds {
			if k.kind == h {
				kind = k.err
			}
		}
		return 0, "", true, fmt.Errorf("%w: %w", ErrReportRefused, &rpRemoteError{msg: text, kind: kind})
	case http.StatusBadRequest:
		return 0, "", true, fmt.Errorf("%w: voter %s: %s", ErrBadCommand, addr, text)
	case http.StatusMisdirectedRequest:
		return 0, resp.Header.Get(LeaderHeader), false, fmt.Errorf("voter %s does not lead: %s", addr, text)
	}
	return 0, "", false, fmt.Errorf("voter %s answered %s: %s", addr, resp.Status, text)
}

// rpSleep waits d or until ctx ends; it reports whether to go on.
func rpSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
