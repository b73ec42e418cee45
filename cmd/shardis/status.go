package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/resp"
)

func statusCommand() subcommand {
	c := subcommand{
		name:    "status",
		summary: "show the cluster as a proxy sees it",
		about: `Asks a proxy (SHARDIS.STATUS) for the cluster map and the state of every
shard: map epoch, partitions mastered and held per node, under-replicated
partitions, partition moves in flight and left. --json prints the raw JSON
for scripts. --watch follows the moves with a progress line until none is
left, then prints the status.`,
	}
	newFlags := func() (*flag.FlagSet, *statusOptions) {
		o := &statusOptions{}
		fs := flag.NewFlagSet("status", flag.ContinueOnError)
		fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "proxy client address")
		fs.StringVar(&o.password, "password", "", "proxy password, when it requires AUTH")
		fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
		fs.BoolVar(&o.watch, "watch", false, "follow partition moves until none is left")
		fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the proxy")
		return fs, o
	}
	c.flags = func() *flag.FlagSet { fs, _ := newFlags(); return fs }
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		fs, o := newFlags()
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				printCommandUsage(stdout, c)
				return exitOK
			}
			fmt.Fprintf(stderr, "shardis status: %v\n\n", err)
			printCommandUsage(stderr, c)
			return exitUsage
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "shardis status: unexpected argument %q\n", fs.Arg(0))
			return exitUsage
		}
		if o.watch {
			po := &proxyOptions{addr: o.addr, password: o.password, timeout: o.timeout}
			err := watchStatus(ctx, po, stderr, func(st proxy.Status) bool {
				return st.Migrations.InFlight+st.Migrations.Remaining == 0
			})
			if err != nil {
				fmt.Fprintf(stderr, "shardis status: %v\n", err)
				return exitFailure
			}
		}
		raw, err := fetchStatus(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "shardis status: %v\n", err)
			return exitFailure
		}
		if o.json {
			fmt.Fprintln(stdout, string(raw))
			return exitOK
		}
		var st proxy.Status
		if err := json.Unmarshal(raw, &st); err != nil {
			fmt.Fprintf(stderr, "shardis status: bad answer from %s: %v\n", o.addr, err)
			return exitFailure
		}
		printStatus(stdout, st)
		return exitOK
	}
	return c
}

type statusOptions struct {
	addr, password string
	json, watch    bool
	timeout        time.Duration
}

// fetchStatus sends SHARDIS.STATUS (after AUTH when a password is given)
// and returns the JSON it answers.
func fetchStatus(ctx context.Context, o *statusOptions) ([]byte, error) {
	po := &proxyOptions{addr: o.addr, password: o.password, timeout: o.timeout}
	_, raw, err := po.status(ctx)
	return raw, err
}

func expectOK(rr *resp.ReplyReader) error {
	raw, err := rr.Next()
	if err != nil {
		return err
	}
	if v, _, err := resp.ParseValue(raw); err != nil || v.Kind == resp.KindError {
		return fmt.Errorf("AUTH failed: %q", raw)
	}
	return nil
}

func printStatus(w io.Writer, st proxy.Status) {
	fmt.Fprintf(w, "epoch %d, %d partitions, rf %d, %d under-replicated, migrations %d in flight / %d remaining / %d done\n",
		st.Epoch, st.Partitions, st.RF, st.UnderReplicated, st.Migrations.InFlight, st.Migrations.Remaining, st.Migrations.Done)
	if m := st.Migrations; m.BytesMoved > 0 {
		fmt.Fprintf(w, "copies filled from snapshots: %d keys, %d bytes (since each shard started)\n", m.KeysMoved, m.BytesMoved)
	}
	if st.Migrations.ETASeconds > 0 {
		fmt.Fprintf(w, "moves left: about %s\n", (time.Duration(st.Migrations.ETASeconds) * time.Second).String())
	}
	if st.Rebalance != nil {
		printRebalance(w, *st.Rebalance)
	}
	if len(st.InSync) > 0 {
		var parts []string
		for _, n := range slices.Sorted(maps.Keys(st.InSync)) {
			parts = append(parts, fmt.Sprintf("%d with %d", st.InSync[n], n))
		}
		fmt.Fprintf(w, "partitions by in-sync copies: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tMASTERS\tCOPIES")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", n.ID, n.Addr, n.State, n.Masters, n.Copies)
	}
	_ = tw.Flush()
}
