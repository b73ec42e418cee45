package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/metrics"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the process could not start or failed while running
	exitUsage   = 2 // bad command line or configuration
)

// subcommand is one `shardis NAME`. run gets the arguments after NAME and
// returns the exit code, so tests can run it in-process; ctx is cancelled on
// SIGINT/SIGTERM.
type subcommand struct {
	name    string
	summary string // one line for the command list
	about   string // paragraph at the top of the command's --help
	// flags returns a FlagSet bound to the defaults; nil for commands without
	// flags. It is what --help prints and what tests check scripts against.
	flags func() *flag.FlagSet
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []subcommand {
	return []subcommand{devCommand(), shardCommand(), proxyCommand(), statusCommand(), decommissionCommand(), rebalanceCommand(), backupCommand(), restoreCommand(), importCommand(), exportCommand(), versionCommand()}
}

func findCommand(name string) (subcommand, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return subcommand{}, false
}

// run dispatches to a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Components log from their own goroutines while the command prints;
	// one lock per stream keeps lines whole whatever the writers are.
	stdout, stderr = &lockedWriter{w: stdout}, &lockedWriter{w: stderr}
	if len(args) == 0 {
		printMainUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			c, ok := findCommand(args[1])
			if !ok {
				fmt.Fprintf(stderr, "shardis: unknown command %q\n\n", args[1])
				printMainUsage(stderr)
				return exitUsage
			}
			printCommandUsage(stdout, c)
			return exitOK
		}
		printMainUsage(stdout)
		return exitOK
	}
	c, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "shardis: unknown command %q\n\n", args[0])
		printMainUsage(stderr)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func printMainUsage(w io.Writer) {
	fmt.Fprint(w, `Shardis is a Redis-compatible data tier that shards keys over many processes.

Usage:
  shardis <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-9s %s\n", "help", "show the flags of a command (shardis help <command>)")
	fmt.Fprint(w, `
Run 'shardis <command> --help' for a command's flags. Every flag can also be
set in a YAML file given with --config; flags given explicitly override it.
`)
}

func printCommandUsage(w io.Writer, c subcommand) {
	fmt.Fprintf(w, "Usage: shardis %s", c.name)
	if c.flags != nil {
		fmt.Fprint(w, " [flags]")
	}
	fmt.Fprintf(w, "\n\n%s\n", c.about)
	if c.flags == nil {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	c.flags().VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "\n      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// roleFlags is the FlagSet of one role: the file's flags plus --config.
func roleFlags[F any](name string, f *F, register func(*F, *flag.FlagSet), configPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed by parseRole
	register(f, fs)
	fs.StringVar(configPath, "config", "", "YAML `FILE` with these settings, keys spelled like the flags; flags given explicitly override it")
	return fs
}

// parseRole builds a role's configuration in three layers: defaults, then the
// --config file, then the flags given explicitly (found with FlagSet.Visit
// and applied again over the file). It validates the result. When ok is false
// the caller exits with code; usage and errors are already printed.
func parseRole[F interface{ Validate() error }](
	c subcommand, args []string, stdout, stderr io.Writer,
	defaults func() F, load func(string) (F, error), register func(*F, *flag.FlagSet),
) (f F, code int, ok bool) {
	f = defaults()
	var configPath string
	fs := roleFlags(c.name, &f, register, &configPath)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(stdout, c)
			return f, exitOK, false
		}
		fmt.Fprintf(stderr, "shardis %s: %v\n\n", c.name, err)
		printCommandUsage(stderr, c)
		return f, exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shardis %s: unexpected argument %q (flags start with --)\n\n", c.name, fs.Arg(0))
		printCommandUsage(stderr, c)
		return f, exitUsage, false
	}
	if configPath != "" {
		fromFile, err := load(configPath)
		if err != nil {
			fmt.Fprintf(stderr, "shardis %s: config: %v\n", c.name, err)
			return f, exitUsage, false
		}
		var ignored string
		over := roleFlags(c.name, &fromFile, register, &ignored)
		var setErr error
		fs.Visit(func(fl *flag.Flag) {
			if err := over.Set(fl.Name, fl.Value.String()); err != nil && setErr == nil {
				setErr = fmt.Errorf("--%s: %w", fl.Name, err)
			}
		})
		if setErr != nil {
			fmt.Fprintf(stderr, "shardis %s: %v\n", c.name, setErr)
			return f, exitUsage, false
		}
		f = fromFile
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "shardis %s: invalid configuration:\n", c.name)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "  %s\n", line)
		}
		return f, exitUsage, false
	}
	return f, exitOK, true
}

// newLogger writes text logs to w. The level was validated with the config.
func newLogger(w io.Writer, level string) *slog.Logger {
	lvl, _ := configs.ParseLogLevel(level)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// listenError turns a failed listen into a message an operator can act on:
// a taken port names the address and the flag that moves it.
func listenError(what, addr, flagName string, err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("%s address %s is already in use (another Shardis or Redis running?); choose another with --%s, e.g. --%s %s",
			what, addr, flagName, flagName, suggestAddr(addr))
	}
	return fmt.Sprintf("cannot listen on %s address %s: %v", what, addr, err)
}

// suggestAddr proposes the next port of addr.
func suggestAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "127.0.0.1:0"
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n <= 0 || n >= 65535 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, fmt.Sprint(n+1))
}

// httpServer serves /metrics and /healthz of one process.
type httpServer struct {
	// profiling adds /debug/pprof/ (the role's --pprof).
	profiling bool
	srv       *http.Server
	ln        net.Listener
	done      chan struct{}
}

// listenHTTP binds addr now (so a taken port fails before anything starts);
// serve starts answering.
func listenHTTP(addr string, profiling bool) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &httpServer{profiling: profiling, ln: ln, done: make(chan struct{})}, nil
}

// serve answers /readyz by ready (nil: ready while serving).
func (h *httpServer) serve(g prometheus.Gatherer, log *slog.Logger, ready func() error) {
	h.srv = &http.Server{Handler: metrics.Handler(g, h.profiling, ready), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
}

func (h *httpServer) addr() string { return h.ln.Addr().String() }

// close stops the server, or only the listener when serve was never called.
func (h *httpServer) close() {
	if h.srv == nil {
		_ = h.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	<-h.done
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// roleFailed reports why `shardis ROLE` could not start.
func roleFailed(stderr io.Writer, role, format string, a ...any) int {
	fmt.Fprintf(stderr, "shardis "+role+": "+format+"\n", a...)
	return exitFailure
}

// memberAgentConfig is the cluster agent config of a shard or proxy that
// is a cluster member, advertising web (when set) as its admin address.
func memberAgentConfig(g configs.Gossip, id string, web *httpServer, log *slog.Logger) cluster.AgentConfig {
	acfg := cluster.AgentConfig{Membership: g.Membership(id), Logger: log.With("node", id)}
	acfg.Membership.Logger = log.With("node", id, "component", "gossip")
	if web != nil {
		acfg.Membership.Meta.AdminAddr = web.addr()
	}
	return acfg
}

// serveUntilDone serves metrics on web (when set), logs that the role is
// ready, and waits for ctx to end; then stop closes what runs.
func serveUntilDone(ctx context.Context, log *slog.Logger, role string, web *httpServer, reg prometheus.Gatherer, ready func() error, stop func() error, attrs []any) int {
	if web != nil {
		web.serve(reg, log, ready)
		attrs = append(attrs, "metrics", "http://"+web.addr()+"/metrics")
	}
	log.Info(role+" ready", attrs...)
	<-ctx.Done()
	log.Info(role + " stopping")
	if err := stop(); err != nil {
		log.Error(role+" close", "err", err)
		return exitFailure
	}
	return exitOK
}
