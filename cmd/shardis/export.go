package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/rdb"
)

func exportCommand() subcommand {
	c := subcommand{
		name:    "export",
		summary: "write the cluster's keys to a Redis RDB file (dump.rdb)",
		about: `Walks every key through a proxy (SCAN), reads each with DUMP and
PEXPIRETIME, and writes an RDB file (version 10) that redis-server 7.0 and
later load, with values, encodings and expiry times as they are. The file
is written to FILE.tmp, synced, then renamed to FILE, so FILE is never
half written.

The export is not one point in time: the cluster keeps serving while it
runs, and a key written, changed or deleted during it may or may not be in
the file, in its old or new state. Stop writes first for an exact copy.
Progress (keys written, of DBSIZE at the start) goes to stderr, a summary
line to stdout.`,
	}
	newFlags := func() (*flag.FlagSet, *exportOptions) {
		o := &exportOptions{}
		fs := flag.NewFlagSet("export", flag.ContinueOnError)
		fs.StringVar(&o.file, "rdb", "", "the RDB `FILE` to write (required; replaced if it exists)")
		o.conn.register(fs)
		fs.IntVar(&o.count, "count", 1000, "keys asked of each SCAN (its COUNT)")
		fs.IntVar(&o.pipeline, "pipeline", 256, "keys read per round trip to the proxy (DUMP and PEXPIRETIME each)")
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
			fmt.Fprintf(stderr, "shardis export: --rdb FILE is required\n")
			return exitUsage
		case o.count < 1:
			fmt.Fprintf(stderr, "shardis export: --count must be at least 1, not %d\n", o.count)
			return exitUsage
		case o.pipeline < 1:
			fmt.Fprintf(stderr, "shardis export: --pipeline must be at least 1, not %d\n", o.pipeline)
			return exitUsage
		}
		start := time.Now()
		n, size, err := runExport(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "shardis export: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "exported %d keys to %s (%s) in %s\n", n, o.file, formatBytes(float64(size)), time.Since(start).Round(time.Millisecond))
		return exitOK
	}
	return c
}

type exportOptions struct {
	file            string
	conn            rdbProxy
	count, pipeline int
}

// runExport writes the file and returns how many keys it holds and its
// size. On an error FILE.tmp is removed and FILE left as it was.
func runExport(ctx context.Context, o *exportOptions, stderr io.Writer) (keys, size int64, err error) {
	client, err := o.conn.dial(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer client.Close()
	total, err := client.DBSize(ctx).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("DBSIZE: %w", err)
	}
	tmp := o.file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	prog := newProgress(stderr, "export", total, "keys")
	defer prog.Done()
	w := rdb.NewWriter(f, rdb.Header{Keys: uint64(max(total, 0))})
	var cursor uint64
	for {
		var batch []string
		batch, cursor, err = client.Scan(ctx, cursor, "", int64(o.count)).Result()
		if err != nil {
			return 0, 0, fmt.Errorf("SCAN: %w", err)
		}
		// SCAN of Shardis returns each key once (it walks each partition in
		// hash order, whole hashes at a time), which the file needs: Redis
		// refuses a file with a key twice.
		for len(batch) > 0 {
			n := min(len(batch), o.pipeline)
			written, err := exportBatch(ctx, client, w, batch[:n])
			if err != nil {
				return 0, 0, err
			}
			keys += written
			prog.Add(int64(n))
			batch = batch[n:]
		}
		if cursor == 0 {
			break
		}
	}
	if err = w.Close(); err != nil {
		return 0, 0, err
	}
	if err = f.Sync(); err != nil {
		return 0, 0, err
	}
	if size, err = f.Seek(0, io.SeekCurrent); err != nil {
		return 0, 0, err
	}
	if err = f.Close(); err != nil {
		return 0, 0, err
	}
	if err = os.Rename(tmp, o.file); err != nil {
		return 0, 0, err
	}
	// The rename is durable once the directory is synced.
	if d, derr := os.Open(filepath.Dir(o.file)); derr == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("sync %s: %w", filepath.Dir(o.file), err)
		}
	}
	return keys, size, nil
}

// exportBatch reads keys with one pipeline and writes those still there.
func exportBatch(ctx context.Context, client *redis.Client, w *rdb.Writer, keys []string) (int64, error) {
	pipe := client.Pipeline()
	dumps := make([]*redis.StringCmd, len(keys))
	exps := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		dumps[i] = pipe.Dump(ctx, k)
		exps[i] = redis.NewIntCmd(ctx, "PEXPIRETIME", k)
		_ = pipe.Process(ctx, exps[i])
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	var written int64
	for i, k := range keys {
		payload, err := dumps[i].Bytes()
		if errors.Is(err, redis.Nil) {
			continue // deleted since SCAN listed it
		}
		if err != nil {
			return written, fmt.Errorf("DUMP of key %q: %w", k, err)
		}
		exp, err := exps[i].Result()
		if err != nil {
			return written, fmt.Errorf("PEXPIRETIME of key %q: %w", k, err)
		}
		switch exp {
		case -2:
			continue // deleted between DUMP and PEXPIRETIME
		case -1:
			exp = rdb.NoExpire
		}
		if err := w.WriteDump([]byte(k), payload, exp); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}
