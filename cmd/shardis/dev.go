package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/metrics"
	"github.com/shardis/shardis/node"
	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/shard"
)

// devReadyTimeout bounds how long `shardis dev` waits for its proxy to answer.
const devReadyTimeout = 30 * time.Second

func devCommand() subcommand {
	c := subcommand{
		name:    "dev",
		summary: "run a whole cluster (shards and a proxy) in one process, for development",
		about: `Runs a development cluster in one process: --shards shards on free loopback
ports and one proxy on --addr, with the metrics of every component on
--metrics-addr (labelled node="shard-1", node="proxy", ...). By default it
is the real thing in small: every partition has --rf 3 copies, the shards
gossip, shard-1 runs the controller, and a stopped shard fails over.
--rf 1 runs the shards with a static map instead. Data goes to a temporary
directory removed on exit unless --data-dir is given; a later run on the
same --data-dir comes back with its data and its cluster map. Stop it with
Ctrl-C (SIGINT) or SIGTERM.`,
		flags: func() *flag.FlagSet {
			f := configs.DefaultDevFile()
			var config string
			return roleFlags("dev", &f, (*configs.DevFile).RegisterFlags, &config)
		},
	}
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		f, code, ok := parseRole(c, args, stdout, stderr,
			configs.DefaultDevFile, configs.LoadDevFile, (*configs.DevFile).RegisterFlags)
		if !ok {
			return code
		}
		return runDev(ctx, f, stdout, stderr)
	}
	return c
}

// devCluster is what runDev started, closed in reverse order.
type devCluster struct {
	log     *slog.Logger
	level   *slog.LevelVar // of log; raised to errors only while closing
	web     *httpServer
	shards  []*shard.Server
	proxy   *proxy.Proxy
	nodes   []*node.Shard // with --rf above 1, instead of shards
	pnode   *node.Proxy   // with --rf above 1, instead of proxy
	tempDir string        // removed on close
}

func (d *devCluster) close() {
	// The shards stop one after another and the followers of each warn
	// that their master went away: expected here, so only errors show.
	if d.level.Level() < slog.LevelError {
		d.level.Set(slog.LevelError)
	}
	if d.pnode != nil {
		if err := d.pnode.Close(); err != nil {
			d.log.Error("proxy close", "err", err)
		}
	}
	for i := len(d.nodes) - 1; i >= 0; i-- {
		if err := d.nodes[i].Close(); err != nil {
			d.log.Error("shard close", "node", configs.DevShardID(i), "err", err)
		}
	}
	if d.proxy != nil {
		if err := d.proxy.Close(); err != nil {
			d.log.Error("proxy close", "err", err)
		}
	}
	for i := len(d.shards) - 1; i >= 0; i-- {
		if err := d.shards[i].Close(); err != nil {
			d.log.Error("shard close", "node", configs.DevShardID(i), "err", err)
		}
	}
	if d.web != nil {
		d.web.close()
	}
	if d.tempDir != "" {
		if err := os.RemoveAll(d.tempDir); err != nil {
			d.log.Error("remove data dir", "dir", d.tempDir, "err", err)
		}
	}
}

func runDev(ctx context.Context, f configs.DevFile, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "shardis dev: "+format+"\n", a...)
		return exitFailure
	}
	level := new(slog.LevelVar)
	lvl, _ := configs.ParseLogLevel(f.LogLevel) // validated
	level.Set(lvl)
	d := &devCluster{log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})), level: level}
	defer d.close()

	// Ports first: a taken port should fail before anything is created.
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return fail("%s", listenError("client", f.Addr, "addr", err))
	}
	_ = ln.Close()
	if f.MetricsAddr != "" {
		if d.web, err = listenHTTP(f.MetricsAddr, f.Pprof); err != nil {
			return fail("%s", listenError("metrics", f.MetricsAddr, "metrics-addr", err))
		}
	}

	dataDir := f.DataDir
	switch {
	case dataDir != "":
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return fail("data dir: %v", err)
		}
		if !f.Memory {
			if err := checkDevDir(dataDir, f.RF); err != nil {
				return fail("%v", err)
			}
		}
	case !f.Memory:
		if dataDir, err = os.MkdirTemp("", "shardis-dev-"); err != nil {
			return fail("data dir: %v", err)
		}
		d.tempDir = dataDir
	}

	// One registry for the whole process: each component's series carry a
	// node label, and the Go/process collectors are registered once.
	reg := metrics.NewRegistry()
	if f.RF > 1 {
		addr, err := startReplicatedDev(ctx, f, d, reg, dataDir)
		if err != nil {
			if ctx.Err() != nil {
				return exitOK // stopped while starting
			}
			return fail("%v", err)
		}
		if d.web != nil {
			d.web.serve(reg, d.log, nil)
		}
		printReady(stdout, f, addr, d, dataDir)
		<-ctx.Done()
		d.log.Info("stopping dev cluster")
		return exitOK
	}
	var backends []proxy.Backend
	for i := range f.Shards {
		cfg := f.ShardConfig(i, dataDir)
		cfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": cfg.ID}, reg)
		cfg.Logger = d.log.With("node", cfg.ID)
		if cfg.DataDir != "" {
			if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
				return fail("%s: data dir: %v", cfg.ID, err)
			}
		}
		s, err := shard.New(cfg)
		if err != nil {
			return fail("%s: %v", cfg.ID, err)
		}
		if err := s.Start(); err != nil {
			_ = s.Close()
			return fail("%s: %v", cfg.ID, err)
		}
		d.shards = append(d.shards, s)
		backends = append(backends, proxy.Backend{ID: cfg.ID, Addr: s.Addr()})
	}

	pcfg := f.ProxyConfig(backends)
	pcfg.Release = release()
	pcfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": "proxy"}, reg)
	pcfg.Logger = d.log.With("node", "proxy")
	p, err := proxy.New(pcfg)
	if err != nil {
		return fail("proxy: %v", err)
	}
	if err := p.Start(); err != nil {
		_ = p.Close()
		return fail("%s", listenError("client", f.Addr, "addr", err))
	}
	d.proxy = p
	if d.web != nil {
		d.web.serve(reg, d.log, nil)
	}

	if err := waitServing(ctx, p.Addr(), devReadyTimeout); err != nil {
		if ctx.Err() != nil {
			return exitOK // stopped while starting
		}
		return fail("proxy on %s did not answer: %v", p.Addr(), err)
	}
	printReady(stdout, f, p.Addr(), d, dataDir)

	<-ctx.Done()
	d.log.Info("stopping dev cluster")
	return exitOK
}

// startReplicatedDev starts the shards as cluster members (shard-1 also runs
// the controller, a single Raft voter keeping its log in shard-1's data
// dir) and the proxy routing by their map, then waits until the map has
// every shard as it runs now and every partition has enough in-sync copies
// to take writes. It returns the proxy's address.
//
// Addresses are new loopback ports at every run. A data dir used before
// still works: its map names the shards by ID, and each shard that comes
// back under a new address (and a new gossip incarnation) is taken down
// and up again in the map with that address, its copies catching up like
// those of a shard that restarted.
func startReplicatedDev(ctx context.Context, f configs.DevFile, d *devCluster, reg *prometheus.Registry, dataDir string) (string, error) {
	raftAddr, err := freeLoopbackAddr()
	if err != nil {
		return "", err
	}
	label := fmt.Sprintf("shardis-dev-%d-%d", os.Getpid(), time.Now().UnixNano())
	minInSync := f.MinInSync()
	agentConfig := func(id string, seeds []string) cluster.AgentConfig {
		return cluster.AgentConfig{
			Membership: cluster.MembershipConfig{
				Meta: cluster.NodeMeta{ID: id}, BindAddr: "127.0.0.1", Seeds: seeds, Label: label,
				Timing: cluster.DefaultTiming(), Logger: d.log.With("node", id, "component", "gossip"),
			},
			Logger: d.log.With("node", id),
		}
	}
	var seeds []string
	for i := range f.Shards {
		cfg := f.ShardConfig(i, dataDir)
		cfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": cfg.ID}, reg)
		cfg.Logger = d.log.With("node", cfg.ID)
		cfg.MinInSync = minInSync
		if cfg.DataDir != "" {
			if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
				return "", fmt.Errorf("%s: data dir: %v", cfg.ID, err)
			}
		}
		acfg := agentConfig(cfg.ID, seeds)
		if i == 0 {
			acfg.Controller = f.ControllerConfig(raftAddr, cfg.DataDir)
			acfg.Controller.Logger = d.log.With("node", cfg.ID, "component", "controller")
			acfg.MapAddr = "127.0.0.1:0"
		}
		n, err := node.StartShard(cfg, acfg)
		if err != nil {
			return "", fmt.Errorf("%s: %v", cfg.ID, err)
		}
		d.nodes = append(d.nodes, n)
		if i == 0 {
			seeds = []string{n.Agent.Membership().LocalMember().Addr}
		}
	}
	// Wait for the catch-up reports: writes need MinInSync copies in sync,
	// and the banner promises RF.
	first := d.nodes[0].Agent
	changed, stop := first.Watch()
	defer stop()
	deadline := time.NewTimer(devReadyTimeout)
	defer deadline.Stop()
	for !writable(first.State(), d.nodes) {
		select {
		case <-changed:
		case <-deadline.C:
			return "", fmt.Errorf("the shards did not bring every copy of every partition in sync within %v", devReadyTimeout)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	pcfg := f.ProxyConfig(nil)
	pcfg.Release = release()
	pcfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": "proxy"}, reg)
	pcfg.Logger = d.log.With("node", "proxy")
	pn, err := node.StartProxy(pcfg, agentConfig("proxy", seeds), devReadyTimeout)
	if err != nil {
		return "", fmt.Errorf("proxy: %v", err)
	}
	d.pnode = pn
	return pn.Proxy.Addr(), nil
}

// writable reports whether the map has every shard up as it runs now (its
// gossip incarnation and RESP address: a map restored from an earlier run
// names older ones) and every partition can take writes, with every copy
// placed on an up shard in sync. (A shard of an earlier run that this one
// does not start stays down in the map, and its copies out of sync.)
func writable(st cluster.State, nodes []*node.Shard) bool {
	if !st.Bootstrapped() {
		return false
	}
	for _, n := range nodes {
		local := n.Agent.Membership().LocalMember()
		info, ok := st.Nodes[local.ID]
		if !ok || !info.Up || info.Incarnation != local.Name || info.RESPAddr != local.Meta.RESPAddr {
			return false
		}
	}
	for p, ps := range st.Parts {
		if !st.CanWrite(p) {
			return false
		}
		for _, id := range ps.Replicas {
			if st.Nodes[id].Up && !slices.Contains(ps.InSync, id) {
				return false
			}
		}
	}
	return true
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func printReady(w io.Writer, f configs.DevFile, addr string, d *devCluster, dataDir string) {
	host, port, _ := net.SplitHostPort(addr)
	cli := "redis-cli -p " + port
	if host != "127.0.0.1" && host != "localhost" && host != "::1" {
		cli = "redis-cli -h " + host + " -p " + port
	}
	if f.Password != "" {
		cli += " --askpass"
	}
	fmt.Fprintf(w, "Shardis is ready: %s\n", cli)
	copies := fmt.Sprintf("%d copies", f.RF)
	if f.RF == 1 {
		copies = "1 copy"
	}
	fmt.Fprintf(w, "  clients:  %s (%d shards, %d partitions, %s of each)\n", addr, f.Shards, f.Partitions, copies)
	if d.web != nil {
		fmt.Fprintf(w, "  metrics:  http://%s/metrics\n", d.web.addr())
	}
	switch {
	case d.tempDir != "":
		fmt.Fprintf(w, "  data dir: %s (temporary, removed on exit)\n", dataDir)
	case dataDir != "":
		fmt.Fprintf(w, "  data dir: %s (kept on exit)\n", dataDir)
	default:
		fmt.Fprintf(w, "  data dir: none (in memory)\n")
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// waitServing polls addr with PING until any RESP reply comes back (an
// error reply such as NOAUTH also proves the proxy serves).
func waitServing(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = pingOnce(ctx, addr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func pingOnce(ctx context.Context, addr string) error {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line[0] != '+' && line[0] != '-' {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// devDirFile records in a kept data dir how it was created.
const devDirFile = "dev.json"

// devDir is the content of devDirFile.
type devDir struct {
	// RF is the copies of every partition: 1 lays the data out by a
	// static map, more by a replicated cluster's map, so a data dir cannot
	// change between the two, nor (its map being kept) between RFs.
	RF int `json:"rf"`
}

// checkDevDir refuses a data dir created with another RF, and records rf
// in a new one. A data dir from before devDirFile has shard files and no
// Raft log when it was created with RF 1, the default then.
func checkDevDir(dir string, rf int) error {
	path := filepath.Join(dir, devDirFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var had devDir
		if err := json.Unmarshal(b, &had); err != nil {
			return fmt.Errorf("data dir: %s: %v", path, err)
		}
		return sameDevRF(dir, had.RF, rf)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("data dir: %v", err)
	}
	first := filepath.Join(dir, configs.DevShardID(0))
	if _, err := os.Stat(filepath.Join(first, "meta.json")); err == nil {
		if _, err := os.Stat(filepath.Join(first, "raft")); errors.Is(err, os.ErrNotExist) {
			if err := sameDevRF(dir, 1, rf); err != nil {
				return err
			}
		}
	}
	b, _ = json.Marshal(devDir{RF: rf})
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("data dir: %v", err)
	}
	return nil
}

func sameDevRF(dir string, had, rf int) error {
	if had == rf {
		return nil
	}
	return fmt.Errorf("data dir %s holds a cluster created with --rf %d; start it with --rf %d, or give another --data-dir for --rf %d", dir, had, had, rf)
}
