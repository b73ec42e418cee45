package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/proxy"
)

func proxyCommand() subcommand {
	c := subcommand{
		name:    "proxy",
		summary: "run one proxy: the address Redis clients connect to",
		about: `Runs one stateless proxy. Redis clients connect to --addr; every key is
hashed to a partition and the command forwarded to the shard that holds it.
List every shard with --shard ID=HOST:PORT. It runs until SIGINT or SIGTERM.`,
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
