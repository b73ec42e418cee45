package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/shard"
)

func shardCommand() subcommand {
	c := subcommand{
		name:    "shard",
		summary: "run one shard: the partition stores proxies forward to",
		about: `Runs one shard process. It keeps its partitions in --data-dir and serves
the internal RESP protocol on --addr to proxies. It runs until SIGINT or
SIGTERM, then closes its stores cleanly.`,
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
