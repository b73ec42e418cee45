package proxy

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/shardis/shardis/resp"
)

// Operator commands on a proxy that is a cluster member, carried out by
// the cluster controller (Config.Admin), so they apply cluster-wide
// whichever proxy they are sent to:
//
//	SHARDIS.DECOMMISSION node [CANCEL]
//	    +OK  node is draining: its copies move to the other nodes, then
//	         SHARDIS.STATUS shows it "drained" and it can be stopped.
//	         CANCEL puts it back in placement.
//	SHARDIS.REBALANCE PAUSE | RESUME
//	    +OK  new partition moves wait (moves in flight finish) | go on.
//	SHARDIS.REBALANCE SET name value [name value ...]
//	    +OK  names: max-moves (partitions moving at once in the cluster),
//	         max-incoming (partitions one node fills at once), rate
//	         (snapshot bytes per second each shard sends; 0 = the
//	         shards' own setting). 0 for the first two means the default.
//
// The settings in force are in SHARDIS.STATUS ("rebalance").

// AdminRequest is one operator change for Config.Admin: either a
// decommission or a change of rebalance settings.
type AdminRequest struct {
	// Decommission names the node to drain, or with Cancel to put back.
	Decommission string
	Cancel       bool
	// Rebalance changes the move settings; nil fields stay as they are.
	Rebalance RebalanceChange
}

// RebalanceChange is a partial change of the rebalance settings.
type RebalanceChange struct {
	Paused      *bool
	MaxMoves    *int
	MaxIncoming *int
	RateBytes   *int64
}

// adminTimeout bounds how long an operator command waits for the
// controller to commit it.
const adminTimeout = 10 * time.Second

// adminMinArgs is the least number of arguments of each admin command
// that takes a variable number (adminArgs has the fixed ones).
var adminMinArgs = map[string]int{
	"shardis.decommission": 1,
	"shardis.rebalance":    1,
}

func cmdDecommission(p *Proxy, _ *client, args [][]byte, _ []*reply) *reply {
	req := AdminRequest{Decommission: string(args[1])}
	switch {
	case len(args) == 3 && strings.EqualFold(string(args[2]), "cancel"):
		req.Cancel = true
	case len(args) != 2:
		return errReply(resp.ErrSyntax)
	}
	return p.admin(req)
}

func cmdRebalance(p *Proxy, _ *client, args [][]byte, _ []*reply) *reply {
	var req AdminRequest
	sub := strings.ToLower(string(args[1]))
	switch {
	case (sub == "pause" || sub == "resume") && len(args) == 2:
		paused := sub == "pause"
		req.Rebalance.Paused = &paused
	case sub == "set" && len(args) >= 4 && len(args)%2 == 0:
		for i := 2; i < len(args); i += 2 {
			v, err := strconv.ParseInt(string(args[i+1]), 10, 64)
			if err != nil || v < 0 {
				return errReply("ERR value of '" + string(args[i]) + "' must be a non-negative integer")
			}
			switch n := int(v); strings.ToLower(string(args[i])) {
			case "max-moves":
				req.Rebalance.MaxMoves = &n
			case "max-incoming":
				req.Rebalance.MaxIncoming = &n
			case "rate":
				req.Rebalance.RateBytes = &v
			default:
				return errReply("ERR unknown rebalance setting '" + string(args[i]) + "' (max-moves, max-incoming, rate)")
			}
		}
	default:
		return errReply("ERR syntax error: SHARDIS.REBALANCE PAUSE | RESUME | SET name value [name value ...]")
	}
	return p.admin(req)
}

func (p *Proxy) admin(req AdminRequest) *reply {
	if p.cfg.Admin == nil {
		return errReply("ERR this proxy is not a cluster member: no controller to send the command to")
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := p.cfg.Admin(ctx, req); err != nil {
		msg := err.Error()
		if i := strings.IndexByte(msg, ' '); i <= 0 || strings.ToUpper(msg[:i]) != msg[:i] {
			msg = "ERR " + msg
		}
		return errReply(msg)
	}
	return done(resp.AppendSimple(nil, "OK"))
}
