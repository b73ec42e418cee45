package main

import (
	"context"
	"flag"
	"io"

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
the cluster map through every failover. A member bound to 0.0.0.0 (or [::])
says where it is published with --advertise-addr and --advertise-gossip-addr.
It runs until SIGINT or SIGTERM.`,
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
	var web *httpServer
	if f.MetricsAddr != "" {
		var err error
		if web, err = listenHTTP(f.MetricsAddr, f.Pprof); err != nil {
			return roleFailed(stderr, "proxy", "%s", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
		}
		defer web.close()
	}
	reg := metrics.NewRegistry()
	cfg := f.ToProxyConfig()
	cfg.Release = release()
	cfg.Registerer = reg
	var stop func() error
	var attrs []any
	if f.Member() {
		// A member finds the shards and the cluster map by gossip and
		// follows every newer map.
		id := f.MemberID()
		cfg.Logger = log.With("node", id)
		acfg := memberAgentConfig(f.Gossip, id, web, log)
		if err := applyAdvertise(ctx, &acfg.Membership, f.Advertise); err != nil {
			return roleFailed(stderr, "proxy", "%v", err)
		}
		n, err := node.StartProxy(cfg, acfg, f.MapWait)
		if err != nil {
			return roleFailed(stderr, "proxy", "%v", err)
		}
		local := n.Agent.Membership().LocalMember()
		stop, attrs = n.Close, []any{"id", id, "addr", n.Proxy.Addr(), "advertised", local.Meta.RESPAddr, "gossip", local.Addr}
	} else {
		cfg.Logger = log.With("node", "proxy")
		p, err := proxy.New(cfg)
		if err != nil {
			return roleFailed(stderr, "proxy", "%v", err)
		}
		if err := p.Start(); err != nil {
			_ = p.Close()
			return roleFailed(stderr, "proxy", "%s", listenError("client", f.Addr, "addr", err))
		}
		stop, attrs = p.Close, []any{"addr", p.Addr(), "shards", len(f.Shards)}
	}
	attrs = append(attrs, "partitions", f.Partitions)
	return serveUntilDone(ctx, log, "proxy", web, reg, nil, stop, attrs)
}
