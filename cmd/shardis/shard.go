package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/shardis/shardis/cluster"
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
each) and serve the map on --metrics-addr.`,
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
	if f.Member() {
		return runMemberShard(ctx, f, log, stderr)
	}
	var web *httpServer
	if f.MetricsAddr != "" {
		var err error
		if web, err = listenHTTP(f.MetricsAddr); err != nil {
			fmt.Fprintf(stderr, "shardis shard: %s\n", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
			return exitFailure
		}
		defer web.close()
	}
	reg := metrics.NewRegistry()
	cfg := f.ToShardConfig()
	cfg.Registerer = reg
	cfg.Logger = log.With("node", f.ID)
	s, err := shard.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "shardis shard: %v\n", err)
		return exitFailure
	}
	if err := s.Start(); err != nil {
		fmt.Fprintf(stderr, "shardis shard: %s\n", listenError("shard", f.Addr, "addr", err))
		_ = s.Close()
		return exitFailure
	}
	attrs := []any{"id", f.ID, "addr", s.Addr(), "partitions", f.Partitions}
	if web != nil {
		web.serve(reg, log)
		attrs = append(attrs, "metrics", "http://"+web.addr()+"/metrics")
	}
	log.Info("shard ready", attrs...)
	<-ctx.Done()
	log.Info("shard stopping", "id", f.ID)
	if err := s.Close(); err != nil {
		log.Error("shard close", "err", err)
		return exitFailure
	}
	return exitOK
}

// runMemberShard runs a shard that is a cluster member: it gossips, takes
// its roles from the cluster map, and on a voter also runs the controller,
// whose map endpoint shares the metrics port.
func runMemberShard(ctx context.Context, f configs.ShardFile, log *slog.Logger, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "shardis shard: "+format+"\n", a...)
		return exitFailure
	}
	reg := metrics.NewRegistry()
	cfg := f.ToShardConfig()
	cfg.Registerer = reg
	cfg.Logger = log.With("node", f.ID)
	acfg := cluster.AgentConfig{Membership: f.Membership(f.ID), Logger: log.With("node", f.ID)}
	acfg.Membership.Logger = log.With("node", f.ID, "component", "gossip")
	var web *httpServer
	if ctl := f.ControllerConfig(); ctl != nil {
		ctl.Logger = log.With("node", f.ID, "component", "controller")
		acfg.Controller = ctl
		acfg.MapAddr = f.MetricsAddr
		acfg.AdminHandler = metrics.Handler(reg)
	} else if f.MetricsAddr != "" {
		var err error
		if web, err = listenHTTP(f.MetricsAddr); err != nil {
			return fail("%s", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
		}
		defer web.close()
		acfg.Membership.Meta.AdminAddr = web.addr()
	}
	n, err := node.StartShard(cfg, acfg)
	if err != nil {
		return fail("%v", err)
	}
	attrs := []any{"id", f.ID, "addr", n.Server.Addr(), "gossip", n.Agent.Membership().LocalMember().Addr,
		"partitions", f.Partitions}
	if web != nil {
		web.serve(reg, log)
		attrs = append(attrs, "metrics", "http://"+web.addr()+"/metrics")
	}
	if addr := n.Agent.MapAddr(); addr != "" {
		attrs = append(attrs, "metrics", "http://"+addr+"/metrics", "raft", f.RaftAddr)
	}
	log.Info("shard ready", attrs...)
	<-ctx.Done()
	log.Info("shard stopping", "id", f.ID)
	if err := n.Close(); err != nil {
		log.Error("shard close", "err", err)
		return exitFailure
	}
	return exitOK
}
