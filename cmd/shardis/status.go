package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
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
partitions. --json prints the raw JSON for scripts.`,
	}
	newFlags := func() (*flag.FlagSet, *statusOptions) {
		o := &statusOptions{}
		fs := flag.NewFlagSet("status", flag.ContinueOnError)
		fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "proxy client address")
		fs.StringVar(&o.password, "password", "", "proxy password, when it requires AUTH")
		fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
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
	json           bool
	timeout        time.Duration
}

// fetchStatus sends SHARDIS.STATUS (after AUTH when a password is given)
// and returns the JSON it answers.
func fetchStatus(ctx context.Context, o *statusOptions) ([]byte, error) {
	d := net.Dialer{Timeout: o.timeout}
	conn, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the proxy at %s: %w", o.addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(o.timeout))
	var req []byte
	if o.password != "" {
		req = resp.AppendCommand(req, []byte("AUTH"), []byte(o.password))
	}
	req = resp.AppendCommand(req, []byte("SHARDIS.STATUS"))
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	rr := resp.NewReplyReader(conn, 16<<20)
	if o.password != "" {
		if err := expectOK(rr); err != nil {
			return nil, err
		}
	}
	raw, err := rr.Next()
	if err != nil {
		return nil, fmt.Errorf("reading from %s: %w", o.addr, err)
	}
	v, _, err := resp.ParseValue(raw)
	if err != nil {
		return nil, err
	}
	if v.Kind == resp.KindError {
		return nil, fmt.Errorf("%s answered: %s", o.addr, v.Str)
	}
	if v.Kind != resp.KindBulk || v.Null {
		return nil, fmt.Errorf("%s answered %q, not a status (is it a Shardis proxy?)", o.addr, raw)
	}
	return append([]byte(nil), v.Str...), nil
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
	fmt.Fprintf(w, "epoch %d, %d partitions, rf %d, %d under-replicated, migrations %d in flight / %d remaining\n",
		st.Epoch, st.Partitions, st.RF, st.UnderReplicated, st.Migrations.InFlight, st.Migrations.Remaining)
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
