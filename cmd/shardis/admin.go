package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/resp"
)

// proxyOptions are the flags of every command that talks to a proxy.
type proxyOptions struct {
	addr, password string
	timeout        time.Duration
}

func (o *proxyOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "proxy client address")
	fs.StringVar(&o.password, "password", "", "proxy password, when it requires AUTH")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "how long to wait for the proxy's answer")
}

// call sends one command to the proxy (after AUTH when a password is
// given) and returns its reply; an error reply is returned as an error.
func (o *proxyOptions) call(ctx context.Context, args ...string) (resp.Value, error) {
	d := net.Dialer{Timeout: o.timeout}
	conn, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return resp.Value{}, fmt.Errorf("cannot reach the proxy at %s: %w", o.addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(o.timeout))
	var req []byte
	if o.password != "" {
		req = resp.AppendCommand(req, []byte("AUTH"), []byte(o.password))
	}
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	req = resp.AppendCommand(req, bargs...)
	if _, err := conn.Write(req); err != nil {
		return resp.Value{}, err
	}
	rr := resp.NewReplyReader(conn, 16<<20)
	if o.password != "" {
		if err := expectOK(rr); err != nil {
			return resp.Value{}, err
		}
	}
	raw, err := rr.Next()
	if err != nil {
		return resp.Value{}, fmt.Errorf("reading from %s: %w", o.addr, err)
	}
	v, _, err := resp.ParseValue(raw)
	if err != nil {
		return resp.Value{}, err
	}
	if v.Kind == resp.KindError {
		return resp.Value{}, fmt.Errorf("%s answered: %s", o.addr, v.Str)
	}
	return v, nil
}

// status fetches and decodes SHARDIS.STATUS.
func (o *proxyOptions) status(ctx context.Context) (proxy.Status, []byte, error) {
	v, err := o.call(ctx, "SHARDIS.STATUS")
	if err != nil {
		return proxy.Status{}, nil, err
	}
	if v.Kind != resp.KindBulk || v.Null {
		return proxy.Status{}, nil, fmt.Errorf("%s answered a %v, not a status (is it a Shardis proxy?)", o.addr, v.Kind)
	}
	raw := append([]byte(nil), v.Str...)
	var st proxy.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return proxy.Status{}, nil, fmt.Errorf("bad answer from %s: %v", o.addr, err)
	}
	return st, raw, nil
}

// parseCommandLine parses args for c; it returns the exit code to stop
// with when it printed help or an error.
func parseCommandLine(c subcommand, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			printCommandUsage(stdout, c)
			return exitOK, false
		}
		fmt.Fprintf(stderr, "shardis %s: %v\n\n", c.name, err)
		printCommandUsage(stderr, c)
		return exitUsage, false
	}
	return 0, true
}

func decommissionCommand() subcommand {
	c := subcommand{
		name:    "decommission",
		summary: "drain a shard so that it can be stopped with no loss of redundancy",
		about: `Usage: shardis decommission [flags] NODE

Asks the cluster (through a proxy) to drain shard NODE: it leaves placement
and its copies move to the other shards, each new copy filled before the old
one is dropped, under the cluster's move limits (see shardis rebalance). The
shard keeps serving until it holds nothing; then shardis status shows it
"drained" and it can be stopped. Refused when fewer than RF shards would
remain. --wait waits until it is drained, printing progress; --cancel puts
the shard back in placement.`,
	}
	type options struct {
		proxyOptions
		wait, cancel bool
		waitFor      time.Duration
	}
	newFlags := func() (*flag.FlagSet, *options) {
		o := &options{}
		fs := flag.NewFlagSet("decommission", flag.ContinueOnError)
		o.bind(fs)
		fs.BoolVar(&o.wait, "wait", false, "wait until the shard is drained")
		fs.DurationVar(&o.waitFor, "wait-timeout", 0, "with --wait, give up after this long (0: no limit)")
		fs.BoolVar(&o.cancel, "cancel", false, "put the shard back in placement instead")
		return fs, o
	}
	c.flags = func() *flag.FlagSet { fs, _ := newFlags(); return fs }
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		fs, o := newFlags()
		if code, ok := parseCommandLine(c, fs, args, stdout, stderr); !ok {
			return code
		}
		if fs.NArg() != 1 {
			fmt.Fprintf(stderr, "shardis decommission: name one shard (got %d arguments)\n", fs.NArg())
			return exitUsage
		}
		id := fs.Arg(0)
		cmd := []string{"SHARDIS.DECOMMISSION", id}
		if o.cancel {
			cmd = append(cmd, "CANCEL")
		}
		if _, err := o.call(ctx, cmd...); err != nil {
			fmt.Fprintf(stderr, "shardis decommission: %v\n", err)
			return exitFailure
		}
		if o.cancel {
			fmt.Fprintf(stdout, "%s is back in placement\n", id)
			return exitOK
		}
		if !o.wait {
			fmt.Fprintf(stdout, "%s is draining; shardis status shows it drained when it can be stopped\n", id)
			return exitOK
		}
		if o.waitFor > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.waitFor)
			defer cancel()
		}
		err := watchStatus(ctx, &o.proxyOptions, stderr, func(st proxy.Status) bool {
			for _, n := range st.Nodes {
				if n.ID == id {
					return n.State == "drained"
				}
			}
			return true // gone from the map: it held nothing and stopped
		})
		if err != nil {
			fmt.Fprintf(stderr, "shardis decommission: %s is not drained: %v\n", id, err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "%s is drained: it holds no copy and can be stopped\n", id)
		return exitOK
	}
	return c
}

func rebalanceCommand() subcommand {
	c := subcommand{
		name:    "rebalance",
		summary: "pause, resume or limit partition moves",
		about: `Usage: shardis rebalance [flags] pause | resume | set NAME VALUE [NAME VALUE ...]

Partitions move by themselves when shards join or are decommissioned.
pause stops new moves from starting (moves in flight finish); resume lets
them go on. set changes the limits, cluster-wide and at once:
  max-moves N     partitions moving at once in the cluster (0: default 64)
  max-incoming N  partitions one shard fills at once (0: default 16)
  rate BYTES      snapshot bytes per second each shard sends (0: the shards'
                  own --snapshot-rate); suffixes k, m, g (1024-based) allowed
shardis status shows the settings in force.`,
	}
	newFlags := func() (*flag.FlagSet, *proxyOptions) {
		o := &proxyOptions{}
		fs := flag.NewFlagSet("rebalance", flag.ContinueOnError)
		o.bind(fs)
		return fs, o
	}
	c.flags = func() *flag.FlagSet { fs, _ := newFlags(); return fs }
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		fs, o := newFlags()
		if code, ok := parseCommandLine(c, fs, args, stdout, stderr); !ok {
			return code
		}
		rest := fs.Args()
		if len(rest) == 0 {
			fmt.Fprintln(stderr, "shardis rebalance: say pause, resume or set")
			return exitUsage
		}
		cmd := []string{"SHARDIS.REBALANCE", strings.ToUpper(rest[0])}
		switch strings.ToLower(rest[0]) {
		case "pause", "resume":
			if len(rest) != 1 {
				fmt.Fprintf(stderr, "shardis rebalance %s takes no arguments\n", rest[0])
				return exitUsage
			}
		case "set":
			if len(rest) < 3 || len(rest)%2 == 0 {
				fmt.Fprintln(stderr, "shardis rebalance set: give NAME VALUE pairs")
				return exitUsage
			}
			for i := 1; i < len(rest); i += 2 {
				v := rest[i+1]
				if strings.EqualFold(rest[i], "rate") {
					n, err := parseBytes(v)
					if err != nil {
						fmt.Fprintf(stderr, "shardis rebalance set rate: %v\n", err)
						return exitUsage
					}
					v = fmt.Sprint(n)
				}
				cmd = append(cmd, rest[i], v)
			}
		default:
			fmt.Fprintf(stderr, "shardis rebalance: unknown action %q (pause, resume, set)\n", rest[0])
			return exitUsage
		}
		if _, err := o.call(ctx, cmd...); err != nil {
			fmt.Fprintf(stderr, "shardis rebalance: %v\n", err)
			return exitFailure
		}
		st, _, err := o.status(ctx)
		if err != nil || st.Rebalance == nil {
			fmt.Fprintln(stdout, "OK")
			return exitOK
		}
		printRebalance(stdout, *st.Rebalance)
		return exitOK
	}
	return c
}

// parseBytes reads a byte count with an optional k, m or g suffix.
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToLower(s[len(s)-min(1, len(s)):]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a byte count", s)
	}
	return n * mult, nil
}

func printRebalance(w io.Writer, r proxy.RebalanceStatus) {
	state := "running"
	if r.Paused {
		state = "paused"
	}
	rate := "each shard's own"
	if r.RateBytes > 0 {
		rate = fmt.Sprintf("%d bytes/s per shard", r.RateBytes)
	}
	fmt.Fprintf(w, "rebalance %s: at most %d partitions moving, %d filling per shard, rate %s\n",
		state, r.MaxMoves, r.MaxIncoming, rate)
}

// watchStatus polls the proxy's status, drawing migration progress on w,
// until done says so or ctx ends.
func watchStatus(ctx context.Context, o *proxyOptions, w io.Writer, done func(proxy.Status) bool) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last string
	base, based := uint64(0), false
	for {
		st, _, err := o.status(ctx)
		if err == nil {
			if !based {
				base, based = st.Migrations.Done, true
			}
			line := progressLine(st, base)
			if line != last {
				fmt.Fprintln(w, line)
				last = line
			}
			if done(st) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// progressLine is one line of migration progress: a bar of the moves
// done since base (the count when watching began) out of those and the
// ones left, and the counts.
func progressLine(st proxy.Status, base uint64) string {
	m := st.Migrations
	left := m.InFlight + m.Remaining
	const width = 30
	bar := strings.Repeat("#", width)
	if left > 0 {
		done := 0
		if m.Done > base {
			done = int(min(m.Done-base, 1<<30))
		}
		frac := float64(done) / float64(done+left)
		bar = strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	}
	eta := ""
	if m.ETASeconds > 0 {
		eta = fmt.Sprintf(", eta %s", (time.Duration(m.ETASeconds) * time.Second).String())
	}
	return fmt.Sprintf("[%s] moves: %d in flight, %d remaining, %d done; %d keys, %d bytes moved; %d under-replicated%s",
		bar, m.InFlight, m.Remaining, m.Done, m.KeysMoved, m.BytesMoved, st.UnderReplicated, eta)
}
