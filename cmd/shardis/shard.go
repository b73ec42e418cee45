package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"sync/atomic"

	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/node"
	"github.com/shardis/shardis/shard"
)

func shardCommand() subcommand {
	c := subcommand{
		name:    "shard",
		summary: "run one shard: the partition stores proxies forward to",
		about: `Runs one shard process. It keeps its partitions in --data-dir and serves
the internal RESP protocol on --addr to proxies. It runs until SIGINT or
SIGTERM, then closes its stores cleanly.

With --gossip-addr it is a cluster member: it joins the members at --join,
takes its roles (master or follower of each partition) from the cluster map
and replicates. Shards given --raft-addr also run the controller that
decides the map (one, three or five of them; list them all with --voter on
each) and serve the map on --metrics-addr; a shard that --voter does not
name is no voter, whatever its --raft-addr.

A member bound to 0.0.0.0 (or [::]) tells the others where to dial it with
--advertise-addr, --advertise-gossip-addr and, on a voter,
--advertise-raft-addr.`,
		flags: func() *flag.FlagSet {
			f := configs.DefaultShardFile()
			var config string
			return roleFlags("shard", &f, (*configs.ShardFile).RegisterFlags, &config)
		},
	}
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		f, code, ok := parseRole(c, args, stdout, stderr,
			configs.DefaultShardFile, configs.LoadShardFile, (*configs.ShardFile).RegisterFlags)
		if !ok {
			return code
		}
		return runShard(ctx, f, stderr)
	}
	return c
}

func runShard(ctx context.Context, f configs.ShardFile, stderr io.Writer) int {
	log := newLogger(stderr, f.LogLevel)
	reg := metrics.NewRegistry()
	cfg := f.ToShardConfig()
	cfg.Registerer = reg
	cfg.Logger = log.With("node", f.ID)
	ctl := f.ControllerConfig()
	// A voter serves its metrics on the map endpoint's port (the agent
	// listens there); every other shard on its own HTTP server.
	var web *httpServer
	if f.MetricsAddr != "" && ctl == nil {
		var err error
		if web, err = listenHTTP(f.MetricsAddr, f.Pprof); err != nil {
			return roleFailed(stderr, "shard", "%s", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
		}
		defer web.close()
	}
	var stop func() error
	attrs := []any{"id", f.ID}
	// A voter serves /readyz from its agent before the node exists.
	var readyFn atomic.Pointer[func() error]
	ready := func() error {
		if fn := readyFn.Load(); fn != nil {
			return (*fn)()
		}
		return errors.New("starting")
	}
	if f.Member() {
		// A member gossips, takes its roles from the cluster map and, on
		// a voter, also runs the controller.
		acfg := memberAgentConfig(f.Gossip, f.ID, web, log)
		if err := applyAdvertise(ctx, &acfg.Membership, f.Advertise); err != nil {
			return roleFailed(stderr, "shard", "%v", err)
		}
		closeRaft := func() error { return nil }
		if ctl != nil {
			ctl.Logger = log.With("node", f.ID, "component", "controller")
			if f.AdvertiseRaftAddr != "" {
				t, err := raftTransport(f.RaftAddr, f.AdvertiseRaftAddr, log.With("node", f.ID))
				if err != nil {
					return roleFailed(stderr, "shard", "%s", listenError("raft", f.RaftAddr, "raft-addr", err))
				}
				ctl.Transport, closeRaft = t, t.Close
			}
			acfg.Controller = ctl
			acfg.MapAddr = f.MetricsAddr
			acfg.AdminHandler = metrics.Handler(reg, f.Pprof, ready)
		}
		n, err := node.StartShard(cfg, acfg)
		if err != nil {
			_ = closeRaft()
			return roleFailed(stderr, "shard", "%v", err)
		}
		// The controller does not close a transport it was given.
		stop = func() error { return errors.Join(n.Close(), closeRaft()) }
		nodeReady := n.Ready
		readyFn.Store(&nodeReady)
		local := n.Agent.Membership().LocalMember()
		attrs = append(attrs, "addr", n.Server.Addr(), "advertised", local.Meta.RESPAddr, "gossip", local.Addr)
		if addr := n.Agent.MapAddr(); addr != "" {
			attrs = append(attrs, "metrics", "http://"+addr+"/metrics", "raft", local.Meta.RaftAddr)
		}
	} else {
		s, err := shard.New(cfg)
		if err != nil {
			return roleFailed(stderr, "shard", "%v", err)
		}
		if err := s.Start(); err != nil {
			_ = s.Close()
			return roleFailed(stderr, "shard", "%s", listenError("shard", f.Addr, "addr", err))
		}
		stop = s.Close
		attrs = append(attrs, "addr", s.Addr())
		always := func() error { return nil }
		readyFn.Store(&always)
	}
	attrs = append(attrs, "partitions", f.Partitions)
	return serveUntilDone(ctx, log, "shard", web, reg, ready, stop, attrs)
}
