package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shardis/shardis/exec"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
	"github.com/shardis/shardis/shard"
	"github.com/shardis/shardis/store"
)

func restoreCommand() subcommand {
	c := subcommand{
		name:    "restore",
		summary: "load a backup into a cluster",
		about: `Checks a directory written by 'shardis backup' (the manifest, and every
file's SHA-256, checksum and partition) before writing anything, then
restores every key through a proxy with RESTORE … ABSTTL, so each lands
on its owner in the target cluster whatever its partition count and
shards. Keys that expired since the backup are skipped. The target must
be empty (DBSIZE 0) unless --force is given.`,
	}
	newFlags := func() (*flag.FlagSet, *restoreOptions) {
		o := &restoreOptions{}
		fs := flag.NewFlagSet("restore", flag.ContinueOnError)
		fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "`HOST:PORT` of a proxy of the cluster")
		fs.StringVar(&o.password, "password", "", "the proxy's `PASSWORD`, when it requires AUTH")
		fs.StringVar(&o.dir, "from", "", "backup `DIR` to restore")
		fs.BoolVar(&o.force, "force", false, "restore into a cluster that holds keys, replacing keys of the same name")
		fs.IntVar(&o.parallel, "parallel", 4, "`N` partitions restored at the same time, each on its own connection")
		fs.IntVar(&o.pipeline, "pipeline", 128, "`N` RESTOREs in flight on each connection")
		fs.IntVar(&o.retries, "retries", 10, "times a RESTORE is sent again after the cluster could not take it (failover, too few replicas)")
		fs.DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for any one reply of the proxy")
		return fs, o
	}
	c.flags = func() *flag.FlagSet { fs, _ := newFlags(); return fs }
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		fs, o := newFlags()
		if code, ok := parseToolFlags(c, fs, args, stdout, stderr); !ok {
			return code
		}
		if o.dir == "" || o.parallel < 1 || o.pipeline < 1 || o.retries < 0 || o.timeout <= 0 {
			fmt.Fprintf(stderr, "shardis restore: --from is required, --parallel, --pipeline and --timeout must be positive, --retries not negative\n")
			return exitUsage
		}
		sum, err := runRestore(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "shardis restore: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "restored %d keys from %s (backup of cluster %q, %d partitions, finished %s); %d expired keys skipped\n",
			sum.restored, o.dir, sum.m.Cluster, sum.m.Partitions, sum.m.Finished, sum.expired)
		return exitOK
	}
	return c
}

type restoreOptions struct {
	addr, password, dir string
	force               bool
	parallel, pipeline  int
	retries             int
	timeout             time.Duration
	// now is the clock keys are found expired by; nil is time.Now.
	now func() time.Time
}

type restoreSummary struct {
	m                 *manifest
	restored, expired int64
}

func runRestore(ctx context.Context, o *restoreOptions, stderr io.Writer) (*restoreSummary, error) {
	m, err := readManifest(o.dir)
	if err != nil {
		return nil, err
	}
	bar := newProgress(stderr, "verify", m.Bytes, unitBytes)
	err = eachParallel(ctx, len(m.Files), o.parallel, func(ctx context.Context, _, i int) error {
		return verifyBackupFile(o.dir, m.Files[i], m.Partitions, bar)
	})
	bar.Done()
	if err != nil {
		return nil, fmt.Errorf("%w; nothing was restored", err)
	}

	conns, err := dialProxies(ctx, o.addr, o.password, o.timeout, o.parallel)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	v, err := conns[0].do("DBSIZE")
	if err != nil {
		return nil, fmt.Errorf("DBSIZE: %w", err)
	}
	if v.Kind != resp.KindInt {
		return nil, fmt.Errorf("%s answered DBSIZE with no integer", o.addr)
	}
	if v.Int > 0 && !o.force {
		return nil, fmt.Errorf("the cluster at %s holds %d keys; restore into an empty cluster, or give --force to restore over them", o.addr, v.Int)
	}

	now := o.now
	if now == nil {
		now = time.Now
	}
	sum := &restoreSummary{m: m}
	var restored, expired atomic.Int64
	bar = newProgress(stderr, "restore", m.Keys, "keys")
	err = eachParallel(ctx, len(m.Files), len(conns), func(ctx context.Context, w, i int) error {
		r := &partitionRestore{c: conns[w], pipeline: o.pipeline, retries: o.retries, replace: o.force, now: now, bar: bar}
		err := r.run(o.dir, m.Files[i])
		restored.Add(r.restored)
		expired.Add(r.expired)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	})
	bar.Done()
	sum.restored, sum.expired = restored.Load(), expired.Load()
	if err != nil {
		return sum, fmt.Errorf("%w (%d keys were restored before it)", err, sum.restored)
	}
	return sum, nil
}

// readManifest reads and checks dir's manifest: its format, and one file
// for every partition, named as backup names them.
func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, manifestName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: %s is not a backup, or one that did not finish", path, dir)
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	bad := func(format string, a ...any) (*manifest, error) {
		return nil, fmt.Errorf("%s: "+format, append([]any{path}, a...)...)
	}
	if m.Format != backupFormat {
		return bad("format %d; this shardis reads format %d", m.Format, backupFormat)
	}
	if m.Partitions <= 0 || len(m.Files) != m.Partitions {
		return bad("%d files for %d partitions", len(m.Files), m.Partitions)
	}
	seen := make([]bool, m.Partitions)
	var keys int64
	for _, f := range m.Files {
		switch {
		case f.Partition < 0 || f.Partition >= m.Partitions:
			return bad("partition %d out of range", f.Partition)
		case seen[f.Partition]:
			return bad("partition %d listed twice", f.Partition)
		case f.File != snapshotFileName(f.Partition):
			// Also keeps every file inside dir.
			return bad("partition %d's file is %q, not %q", f.Partition, f.File, snapshotFileName(f.Partition))
		case len(f.SHA256) != 2*sha256.Size:
			return bad("%s has no SHA-256", f.File)
		case f.Keys < 0 || f.Bytes < 0:
			return bad("%s has negative sizes", f.File)
		}
		seen[f.Partition] = true
		keys += f.Keys
	}
	if keys != m.Keys {
		return bad("files hold %d keys, the total says %d", keys, m.Keys)
	}
	return &m, nil
}

// verifyBackupFile reads one file through and checks it against its
// manifest entry: size, SHA-256, the snapshot's own checksum and form, its
// partition and seq, its key count, and that every key belongs to that
// partition of a cluster of partitions partitions.
func verifyBackupFile(dir string, mf manifestFile, partitions int, bar *progress) error {
	path := filepath.Join(dir, mf.File)
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{path}, a...)...)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := &summer{h: sha256.New(), bar: bar}
	var keys int64
	seq, err := shard.ReadSnapshot(io.TeeReader(f, sum), mf.Partition, maxSnapshotItem, func(key, _ string) error {
		uk, _ := store.UserKey(key)
		if p := ring.Partition([]byte(uk), partitions); p != mf.Partition {
			return fmt.Errorf("%w: key %q belongs to partition %d", shard.ErrBadSnapshot, uk, p)
		}
		if key[0] == store.SpaceKey {
			keys++
		}
		return nil
	})
	switch {
	case err != nil:
		return bad("%v", err)
	case sum.n != mf.Bytes:
		return bad("%d bytes, the manifest says %d", sum.n, mf.Bytes)
	case hex.EncodeToString(sum.h.Sum(nil)) != mf.SHA256:
		return bad("SHA-256 does not match the manifest")
	case seq != mf.Seq:
		return bad("snapshot at seq %d, the manifest says %d", seq, mf.Seq)
	case keys != mf.Keys:
		return bad("%d keys, the manifest says %d", keys, mf.Keys)
	}
	return nil
}

// restoreBatchBytes bounds the RESTORE payloads held for one connection
// while their replies are due (one larger key still goes, alone): they are
// kept to be sent again when the cluster asks for a retry.
const restoreBatchBytes = 16 << 20

// partitionRestore restores one backup file through one proxy connection.
type partitionRestore struct {
	c        *proxyConn
	pipeline int
	retries  int
	replace  bool
	now      func() time.Time
	bar      *progress

	pending           []pendingRestore // sent, not yet answered
	pendingBytes      int
	restored, expired int64
}

// pendingRestore is one RESTORE in flight.
type pendingRestore struct {
	key  string
	args [][]byte
}

// run loads the file into a store in memory, then sends RESTORE for each
// of its live keys.
func (r *partitionRestore) run(dir string, mf manifestFile) error {
	path := filepath.Join(dir, mf.File)
	mem, err := store.OpenMem()
	if err != nil {
		return err
	}
	defer mem.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = mem.Update(r.now().UnixMilli(), func(t *store.Txn) error {
		_, err := shard.ReadSnapshot(bufio.NewReaderSize(f, 256<<10), mf.Partition, maxSnapshotItem, t.PutRaw)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	now := r.now().UnixMilli()
	err = mem.View(now, func(t *store.Txn) error {
		var ferr error
		serr := t.ScanKeys(0, func(_ uint32, key string, rec store.Record) bool {
			if rec.Expired(now) {
				r.expired++
				r.bar.Add(1)
				return true
			}
			ferr = r.restore(t, key, &rec)
			return ferr == nil
		})
		return errors.Join(serr, ferr)
	})
	if err == nil {
		err = r.drain()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// restore sends RESTORE for key, draining the replies once pipeline of
// them, or restoreBatchBytes of payload, are due.
func (r *partitionRestore) restore(t *store.Txn, key string, rec *store.Record) error {
	payload, err := exec.DumpRecord(t, []byte(key), rec)
	if err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	args := [][]byte{[]byte("RESTORE"), []byte(key), []byte(strconv.FormatInt(rec.Exp, 10)), payload, []byte("ABSTTL")}
	if r.replace {
		args = append(args, []byte("REPLACE"))
	}
	if err := r.c.send(args...); err != nil {
		return err
	}
	r.pending = append(r.pending, pendingRestore{key: key, args: args})
	r.pendingBytes += len(payload)
	if len(r.pending) >= r.pipeline || r.pendingBytes >= restoreBatchBytes {
		return r.drain()
	}
	return nil
}

// drain reads the replies of the RESTOREs in flight. Those the cluster
// could not take at that moment (a failover, too few replicas, a write
// not acknowledged by every replica) are sent again after a pause, with
// REPLACE, since the first one may have been applied.
func (r *partitionRestore) drain() error {
	for attempt := 1; len(r.pending) > 0; attempt++ {
		if err := r.c.flush(); err != nil {
			return err
		}
		var again []pendingRestore
		var first error
		for _, p := range r.pending {
			v, err := r.c.next()
			var re replyError
			switch {
			case errors.As(err, &re) && retryable(string(re)) && attempt <= r.retries:
				again = append(again, p)
			case errors.As(err, &re):
				if first == nil {
					first = fmt.Errorf("RESTORE %q: %w", p.key, err)
				}
			case err != nil:
				return err
			case v.Kind != resp.KindSimple || string(v.Str) != "OK":
				if first == nil {
					first = fmt.Errorf("RESTORE %q: unexpected reply", p.key)
				}
			default:
				r.restored++
			}
		}
		r.bar.Add(int64(len(r.pending) - len(again)))
		r.pending, r.pendingBytes = r.pending[:0], 0
		if first != nil {
			return first
		}
		if len(again) == 0 {
			return nil
		}
		time.Sleep(min(time.Duration(attempt)*250*time.Millisecond, 2*time.Second))
		for _, p := range again {
			if !r.replace {
				p.args = append(p.args, []byte("REPLACE"))
			}
			if err := r.c.send(p.args...); err != nil {
				return err
			}
			r.pending = append(r.pending, p)
		}
	}
	return nil
}

// retryable reports whether an error reply means the cluster could not
// take a write at that moment, so that it may succeed if sent again.
func retryable(msg string) bool {
	for _, code := range []string{"TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "NOTACKED", "BUSY", "LOADING"} {
		if strings.HasPrefix(msg, code+" ") || msg == code {
			return true
		}
	}
	return false
}
