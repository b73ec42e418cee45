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
	"github.com/shardis/shardis/proxy"
)

func proxyCommand() subcommand {
	c := subcommand{
		name:    "proxy",
		summary: "run one proxy: the address Redis clients connect to",
		about: `Runs one stateless proxy. Redis clients connect to --addr; every key is
hashed to a partition and the command forwarded to the shard that holds it.
List every shard with --shard ID=HOST:PORT, or make the proxy a cluster
member with --gossip-addr and --join: it then finds the shards and follows
the cluster map through every failover. It runs until SIGINT or SIGTERM.`,
		flags: func() *flag.FlagSet {
			f := configs.DefaultProxyFile()
			var config string
			return roleFlags("proxy", &f, (*configs.ProxyFile).RegisterFlags, &config)
		},
	}
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		f, code, ok := parseRole(c, args, stdout, stderr,
			configs.DefaultProxyFile, configs.LoadProxyFile, (*configs.ProxyFile).RegisterFlags)
		if !ok {
			return code
		}
		return runProxy(ctx, f, stderr)
	}
	return c
}

func runProxy(ctx context.Context, f configs.ProxyFile, stderr io.Writer) int {
	log := newLogger(stderr, f.LogLevel)
	if f.Member() {
		return runMemberProxy(ctx, f, log, stderr)
	}
	var web *httpServer
	if f.MetricsAddr != "" {
		var err error
		if web, err = listenHTTP(f.MetricsAddr); err != nil {
			fmt.Fprintf(stderr, "shardis proxy: %s\n", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
			return exitFailure
		}
		defer web.close()
	}
	reg := metrics.NewRegistry()
	cfg := f.ToProxyConfig()
	cfg.Registerer = reg
	cfg.Logger = log.With("node", "proxy")
	p, err := proxy.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "shardis proxy: %v\n", err)
		return exitFailure
	}
	if err := p.Start(); err != nil {
		fmt.Fprintf(stderr, "shardis proxy: %s\n", listenError("client", f.Addr, "addr", err))
		_ = p.Close()
		return exitFailure
	}
	attrs := []any{"addr", p.Addr(), "shards", len(f.Shards), "partitions", f.Partitions}
	if web != nil {
		web.serve(reg, log)
		attrs = append(attrs, "metrics", "http://"+web.addr()+"/metrics")
	}
	log.Info("proxy ready", attrs...)
	<-ctx.Done()
	log.Info("proxy stopping")
	if err := p.Close(); err != nil {
		log.Error("proxy close", "err", err)
		return exitFailure
	}
	return exitOK
}

// runMemberProxy runs a proxy that is a cluster member: it finds the shards
// and the cluster map by gossip and follows every newer map.
func runMemberProxy(ctx context.Context, f configs.ProxyFile, log *slog.Logger, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "shardis proxy: "+format+"\n", a...)
		return exitFailure
	}
	var web *httpServer
	if f.MetricsAddr != "" {
		var err error
		if web, err = listenHTTP(f.MetricsAddr); err != nil {
			return fail("%s", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
		}
		defer web.close()
	}
	reg := metrics.NewRegistry()
	cfg := f.ToProxyConfig()
	cfg.Registerer = reg
	cfg.Logger = log.With("node", f.MemberID())
	id := f.MemberID()
	acfg := cluster.AgentConfig{Membership: f.Membership(id), Logger: log.With("node", id)}
	acfg.Membership.Logger = log.With("node", id, "component", "gossip")
	if web != nil {
		acfg.Membership.Meta.AdminAddr = web.addr()
	}
	n, err := node.StartProxy(cfg, acfg, f.MapWait)
	if err != nil {
		return fail("%v", err)
	}
	attrs := []any{"id", id, "addr", n.Proxy.Addr(), "partitions", f.Partitions}
	if web != nil {
		web.serve(reg, log)
		attrs = append(attrs, "metrics", "http://"+web.addr()+"/metrics")
	}
	log.Info("proxy ready", attrs...)
	<-ctx.Done()
	log.Info("proxy stopping")
	if err := n.Close(); err != nil {
		log.Error("proxy close", "err", err)
		return exitFailure
	}
	return exitOK
}
