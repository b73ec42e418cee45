package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/rdb"
)

func importCommand() subcommand {
	c := subcommand{
		name:    "import",
		summary: "load a Redis RDB file (dump.rdb) into a running cluster",
		about: `Reads an RDB file as redis-server saves it (RDB version 11 or older: Redis
7.2 and earlier) and loads every key of database 0 into the cluster through
a proxy, with RESTORE … ABSTTL, so keys keep their values, encodings and
expiry times. The file is streamed: however large, only a few batches of
keys are in memory. Keys already expired are skipped; keys of other
databases and function libraries are skipped with a warning; streams and
module data stop the import with an error.

Without --replace a key that already exists in the cluster stops the
import (BUSYKEY), as RESTORE does; keys loaded before it stay. Progress
(bytes of the file read) goes to stderr, a summary line to stdout.`,
	}
	newFlags := func() (*flag.FlagSet, *importOptions) {
		o := &importOptions{maxValue: rdb.DefaultMaxObject, pipelineBytes: 32 << 20}
		fs := flag.NewFlagSet("import", flag.ContinueOnError)
		fs.StringVar(&o.file, "rdb", "", "the RDB `FILE` to load (required)")
		o.conn.register(fs)
		fs.BoolVar(&o.replace, "replace", false, "overwrite keys that already exist (RESTORE … REPLACE)")
		fs.IntVar(&o.pipeline, "pipeline", 256, "keys sent per round trip to the proxy")
		fs.Var(&o.pipelineBytes, "pipeline-bytes", "a round trip is sent once its payloads reach this `SIZE`, even with fewer keys, so that large values are not held --pipeline at a time")
		fs.Var(&o.maxValue, "max-value", "the largest key or value the file may hold, a `SIZE` (the proxy's max-bulk-len bounds what RESTORE can carry anyway); a larger one stops the import")
		return fs, o
	}
	c.flags = func() *flag.FlagSet { fs, _ := newFlags(); return fs }
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		fs, o := newFlags()
		if code, ok := parseToolFlags(c, fs, args, stdout, stderr); !ok {
			return code
		}
		switch {
		case o.file == "":
			fmt.Fprintf(stderr, "shardis import: --rdb FILE is required\n")
			return exitUsage
		case o.pipeline < 1:
			fmt.Fprintf(stderr, "shardis import: --pipeline must be at least 1, not %d\n", o.pipeline)
			return exitUsage
		case o.pipelineBytes < 1:
			fmt.Fprintf(stderr, "shardis import: --pipeline-bytes must be positive, not %d\n", o.pipelineBytes)
			return exitUsage
		case o.maxValue < 1:
			fmt.Fprintf(stderr, "shardis import: --max-value must be positive, not %d\n", o.maxValue)
			return exitUsage
		}
		start := time.Now()
		stats, err := runImport(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "shardis import: %v\n", err)
		}
		fmt.Fprintf(stdout, "imported %d keys from %s in %s: %d skipped as expired, %d of other databases skipped, %d errors\n",
			stats.loaded, o.file, time.Since(start).Round(time.Millisecond), stats.expired, stats.otherDB, stats.failed)
		if err != nil {
			return exitFailure
		}
		return exitOK
	}
	return c
}

type importOptions struct {
	file          string
	conn          rdbProxy
	replace       bool
	pipeline      int
	pipelineBytes configs.Size
	maxValue      configs.Size
}

// importStats counts what an import did with the file's keys.
type importStats struct {
	loaded, expired, otherDB, failed int64
}

// runImport loads the file, stopping at the first error.
func runImport(ctx context.Context, o *importOptions, stderr io.Writer) (importStats, error) {
	var stats importStats
	f, err := os.Open(o.file)
	if err != nil {
		return stats, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return stats, err
	}
	r, err := rdb.NewReader(f, rdb.ReaderOptions{MaxObject: int64(o.maxValue)})
	if err != nil {
		return stats, fmt.Errorf("%s: %w", o.file, err)
	}
	client, err := o.conn.dial(ctx)
	if err != nil {
		return stats, err
	}
	defer client.Close()

	prog := newProgress(stderr, "import", st.Size(), unitBytes)
	defer prog.Done()
	var read int64 // bytes of the file reported to prog
	b := importBatch{replace: o.replace}
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return stats, fmt.Errorf("%s: %w", o.file, err)
		}
		switch {
		case e.DB != 0:
			stats.otherDB++
		case e.ExpireAt != rdb.NoExpire && e.ExpireAt <= time.Now().UnixMilli():
			stats.expired++
		default:
			b.add(e)
		}
		if len(b.keys) >= o.pipeline || b.bytes >= int64(o.pipelineBytes) {
			if err := b.send(ctx, client, &stats); err != nil {
				return stats, err
			}
		}
		prog.Add(r.Offset() - read)
		read = r.Offset()
	}
	if err := b.send(ctx, client, &stats); err != nil {
		return stats, err
	}
	prog.Add(r.Offset() - read)
	prog.Done()
	if stats.otherDB > 0 {
		fmt.Fprintf(stderr, "shardis import: warning: skipped %d keys of databases other than 0 (Shardis has only database 0)\n", stats.otherDB)
	}
	if r.Functions > 0 {
		fmt.Fprintf(stderr, "shardis import: warning: skipped %d function libraries (Shardis has no FUNCTION)\n", r.Functions)
	}
	return stats, nil
}

// importBatch is the RESTOREs of one round trip.
type importBatch struct {
	replace bool
	keys    [][]byte
	args    [][]any
	bytes   int64
}

func (b *importBatch) add(e *rdb.Entry) {
	ttl := int64(0)
	if e.ExpireAt != rdb.NoExpire {
		ttl = e.ExpireAt
	}
	payload := e.Dump()
	args := []any{"RESTORE", e.Key, ttl, payload, "ABSTTL"}
	if b.replace {
		args = append(args, "REPLACE")
	}
	b.keys = append(b.keys, e.Key)
	b.args = append(b.args, args)
	b.bytes += int64(len(e.Key) + len(payload))
}

// send sends the batch in one pipeline and empties it. Every RESTORE's
// reply is checked; the first refusal, in file order, is the error.
func (b *importBatch) send(ctx context.Context, client *redis.Client, stats *importStats) error {
	if len(b.keys) == 0 {
		return nil
	}
	pipe := client.Pipeline()
	cmds := make([]*redis.Cmd, len(b.args))
	for i, a := range b.args {
		cmds[i] = pipe.Do(ctx, a...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	var first error
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			stats.failed++
			if first == nil {
				first = fmt.Errorf("key %q: %w", b.keys[i], err)
			}
			continue
		}
		stats.loaded++
	}
	b.keys, b.args, b.bytes = b.keys[:0], b.args[:0], 0
	if first != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return fmt.Errorf("RESTORE of %w", first)
	}
	return nil
}

// rdbProxy is how the import and export commands reach a proxy: one
// go-redis connection.
type rdbProxy struct {
	addr, password string
	timeout        time.Duration
}

func (p *rdbProxy) register(fs *flag.FlagSet) {
	fs.StringVar(&p.addr, "addr", "127.0.0.1:6379", "proxy client address")
	fs.StringVar(&p.password, "password", "", "proxy password, when it requires AUTH")
	fs.DurationVar(&p.timeout, "timeout", 30*time.Second, "how long to wait for the proxy to answer one round trip")
}

// dial connects and checks the proxy answers (and takes the password),
// so that a wrong address or password is reported before any work.
func (p *rdbProxy) dial(ctx context.Context) (*redis.Client, error) {
	// A plain dial first: go-redis would log its own failures to stderr.
	d := net.Dialer{Timeout: p.timeout}
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the proxy at %s: %w", p.addr, err)
	}
	conn.Close()
	client := redis.NewClient(&redis.Options{
		Addr:         p.addr,
		Password:     p.password,
		Protocol:     2,
		DialTimeout:  p.timeout,
		ReadTimeout:  p.timeout,
		WriteTimeout: p.timeout,
		// A command sent again after a lost reply may have run: a RESTORE
		// would then fail with BUSYKEY. Nothing is retried.
		MaxRetries:    -1,
		DialerRetries: 1,
		PoolSize:      1,
	})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return nil, fmt.Errorf("the proxy at %s refused PING: %w", p.addr, err)
		}
		return nil, fmt.Errorf("cannot reach the proxy at %s: %w", p.addr, err)
	}
	return client, nil
}
