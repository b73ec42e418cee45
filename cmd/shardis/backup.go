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
	"hash"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/shard"
	"github.com/shardis/shardis/store"
)

// A backup directory holds one file per partition, each a snapshot in the
// shard's own format (see shard/snapshot.go) exactly as the partition's
// master wrote it, and manifest.json, written last, that lists them with
// their SHA-256. A directory without a manifest is an unfinished backup.
const (
	manifestName = "manifest.json"
	// backupFormat is the manifest's format version.
	backupFormat = 1
	// snapReadSize is the most a shard answers to one SNAPREAD.
	snapReadSize = 1 << 20
	// maxSnapshotItem bounds one key or value of a snapshot: the largest
	// string a shard stores plus a record header, with room to spare.
	maxSnapshotItem = 512<<20 + 64
)

// manifest describes a backup directory.
type manifest struct {
	Format     int    `json:"format"`
	Cluster    string `json:"cluster"`
	Partitions int    `json:"partitions"`
	Keys       int64  `json:"keys"`
	Bytes      int64  `json:"bytes"`
	// Started and Finished are RFC 3339 times: each partition's snapshot
	// is consistent at some instant between them (partitions are not
	// consistent with each other).
	Started  string         `json:"started"`
	Finished string         `json:"finished"`
	Files    []manifestFile `json:"files"`
}

// manifestFile is one partition's snapshot in a manifest.
type manifestFile struct {
	Partition int    `json:"partition"`
	File      string `json:"file"`
	Seq       uint64 `json:"seq"`
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	Keys      int64  `json:"keys"`
}

func snapshotFileName(part int) string { return fmt.Sprintf("partition-%05d.snap", part) }

func backupCommand() subcommand {
	c := subcommand{
		name:    "backup",
		summary: "copy every partition of a cluster to a directory",
		about: `Asks a proxy for a consistent snapshot of every partition (a few at a
time), streams each into DIR/partition-NNNNN.snap, checking its checksum
as it arrives, and writes DIR/manifest.json with the SHA-256 of every
file last. Each partition is consistent at one point in time; partitions
are not consistent with each other. DIR must be empty or not exist.
Restore with 'shardis restore'.`,
	}
	newFlags := func() (*flag.FlagSet, *backupOptions) {
		o := &backupOptions{}
		fs := flag.NewFlagSet("backup", flag.ContinueOnError)
		fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "`HOST:PORT` of a proxy of the cluster")
		fs.StringVar(&o.password, "password", "", "the proxy's `PASSWORD`, when it requires AUTH")
		fs.StringVar(&o.dir, "to", "", "`DIR` to write the backup into (empty or new)")
		fs.IntVar(&o.parallel, "parallel", 4, "`N` partitions copied at the same time, each on its own connection")
		fs.IntVar(&o.retries, "retries", 10, "times a partition is tried again after the cluster refused it (busy, failover)")
		fs.DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for any one reply of the proxy")
		return fs, o
	}
	c.flags = func() *flag.FlagSet { fs, _ := newFlags(); return fs }
	c.run = func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		fs, o := newFlags()
		if code, ok := parseToolFlags(c, fs, args, stdout, stderr); !ok {
			return code
		}
		if o.dir == "" || o.parallel < 1 || o.retries < 0 || o.timeout <= 0 {
			fmt.Fprintf(stderr, "shardis backup: --to is required, --parallel and --timeout must be positive, --retries not negative\n")
			return exitUsage
		}
		m, err := runBackup(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "shardis backup: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "backed up %d partitions of cluster %q to %s: %d keys, %d bytes, %s to %s\n",
			m.Partitions, m.Cluster, o.dir, m.Keys, m.Bytes, m.Started, m.Finished)
		return exitOK
	}
	return c
}

type backupOptions struct {
	addr, password, dir string
	parallel, retries   int
	timeout             time.Duration
}

// parseToolFlags parses the flags of an admin tool; when ok is false the
// caller exits with code.
func parseToolFlags(c subcommand, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if code, ok := parseCommandLine(c, fs, args, stdout, stderr); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shardis %s: unexpected argument %q (flags start with --)\n", c.name, fs.Arg(0))
		return exitUsage, false
	}
	return exitOK, true
}

func runBackup(ctx context.Context, o *backupOptions, stderr io.Writer) (*manifest, error) {
	started := time.Now()
	if err := prepareBackupDir(o.dir); err != nil {
		return nil, err
	}
	conns, err := dialProxies(ctx, o.addr, o.password, o.timeout, o.parallel)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	st, err := conns[0].status()
	if err != nil {
		return nil, err
	}
	if st.Partitions <= 0 {
		return nil, fmt.Errorf("%s reports %d partitions", o.addr, st.Partitions)
	}
	m := &manifest{Format: backupFormat, Cluster: st.Cluster, Partitions: st.Partitions,
		Files: make([]manifestFile, st.Partitions)}
	bar := newProgress(stderr, "backup", 0, unitBytes)
	err = eachParallel(ctx, st.Partitions, len(conns), func(ctx context.Context, w, part int) error {
		f, err := backupWithRetries(ctx, conns[w], o, part, bar)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("partition %d: %w", part, err)
		}
		m.Files[part] = f
		return nil
	})
	bar.Done()
	if err != nil {
		return nil, fmt.Errorf("%w (%s holds no manifest: it is not a backup)", err, o.dir)
	}
	for _, f := range m.Files {
		m.Keys += f.Keys
		m.Bytes += f.Bytes
	}
	m.Started = started.UTC().Format(time.RFC3339)
	m.Finished = time.Now().UTC().Format(time.RFC3339)
	if err := syncDir(o.dir); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSynced(o.dir, manifestName, append(b, '\n')); err != nil {
		return nil, err
	}
	return m, nil
}

// prepareBackupDir makes dir, or checks that it is an empty directory:
// files of two backups never mix.
func prepareBackupDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty (%s, …): a backup goes into an empty or new directory", dir, entries[0].Name())
	}
	return nil
}

// backupWithRetries runs backupPartition, again after a pause when the
// cluster refused it for the moment (too many snapshots at once, a
// failover, a snapshot session the shard gave up under heavy writes), up
// to o.retries times.
func backupWithRetries(ctx context.Context, c *proxyConn, o *backupOptions, part int, bar *progress) (manifestFile, error) {
	for attempt := 1; ; attempt++ {
		f, err := backupPartition(c, o.dir, part, bar)
		var re replyError
		if err == nil || !errors.As(err, &re) || permanent(string(re)) || attempt > o.retries {
			return f, err
		}
		t := time.NewTimer(min(time.Duration(attempt)*250*time.Millisecond, 2*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return f, err
		case <-t.C:
		}
	}
}

// permanent reports whether an error reply would come again however
// often the command is sent: every other one is worth a retry, since a
// snapshot is only read.
func permanent(msg string) bool {
	for _, p := range []string{"ERR invalid partition", "ERR unknown command", "ERR wrong number of arguments", "NOAUTH", "WRONGPASS", "NOPERM"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// backupPartition copies partition part's snapshot into dir, verifying it
// as it arrives, and returns its manifest entry. bar counts the bytes
// received, including those of an attempt that fails.
func backupPartition(c *proxyConn, dir string, part int, bar *progress) (mf manifestFile, err error) {
	v, err := c.do("SHARDIS.BACKUP", strconv.Itoa(part))
	if err != nil {
		return mf, err
	}
	if v.Kind != resp.KindArray || len(v.Elems) != 4 || v.Elems[2].Kind != resp.KindInt || v.Elems[3].Kind != resp.KindInt {
		return mf, errors.New("unexpected reply to SHARDIS.BACKUP (is the proxy of this version?)")
	}
	shardID, id := string(v.Elems[0].Str), string(v.Elems[1].Str)
	seq, size := uint64(v.Elems[2].Int), v.Elems[3].Int
	// Best effort: the shard drops an idle snapshot after a while anyway.
	defer func() { _, _ = c.do("SHARDIS.BACKUPDONE", shardID, id) }()

	mf = manifestFile{Partition: part, File: snapshotFileName(part), Seq: seq}
	tmp := filepath.Join(dir, mf.File+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return mf, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	sum := &summer{h: sha256.New()}
	src := &snapChunks{c: c, shard: shardID, id: id, size: size, bar: bar}
	got, err := shard.ReadSnapshot(io.TeeReader(src, io.MultiWriter(bw, sum)), part, maxSnapshotItem,
		func(key, _ string) error {
			if key[0] == store.SpaceKey {
				mf.Keys++
			}
			return nil
		})
	switch {
	case src.err != nil:
		// The reader failed, not the snapshot: report why.
		return mf, src.err
	case err != nil:
		return mf, err
	case got != seq:
		return mf, fmt.Errorf("snapshot is at seq %d, the shard announced %d", got, seq)
	case sum.n != size:
		return mf, fmt.Errorf("snapshot has %d bytes, the shard announced %d", sum.n, size)
	}
	mf.Bytes, mf.SHA256 = sum.n, hex.EncodeToString(sum.h.Sum(nil))
	if err = bw.Flush(); err != nil {
		return mf, err
	}
	if err = f.Sync(); err != nil {
		return mf, err
	}
	if err = f.Close(); err != nil {
		return mf, err
	}
	return mf, os.Rename(tmp, filepath.Join(dir, mf.File))
}

// summer hashes and counts what is written to it, and adds it to bar
// when set.
type summer struct {
	h   hash.Hash
	n   int64
	bar *progress
}

func (s *summer) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.bar != nil {
		s.bar.Add(int64(len(p)))
	}
	return s.h.Write(p)
}

// snapChunks reads a snapshot held by a shard, SNAPREAD by SNAPREAD.
type snapChunks struct {
	c         *proxyConn
	shard, id string
	size, off int64
	buf       []byte // unread part of the last chunk; aliases c's reply buffer
	end       bool
	err       error // why a read failed
	bar       *progress
}

func (s *snapChunks) Read(p []byte) (n int, err error) {
	defer func() {
		if err != nil && err != io.EOF {
			s.err = err
		}
	}()
	for len(s.buf) == 0 {
		if s.end {
			return 0, io.EOF
		}
		v, err := s.c.do("SHARDIS.BACKUPREAD", s.shard, s.id, strconv.FormatInt(s.off, 10), strconv.Itoa(snapReadSize))
		if err != nil {
			return 0, err
		}
		if v.Kind != resp.KindBulk || v.Null {
			return 0, errors.New("unexpected reply to SHARDIS.BACKUPREAD")
		}
		if s.off+int64(len(v.Str)) > s.size {
			return 0, fmt.Errorf("shard %s sent more than the %d bytes it announced", s.shard, s.size)
		}
		s.buf, s.end = v.Str, len(v.Str) == 0
		s.off += int64(len(v.Str))
		s.bar.Add(int64(len(v.Str)))
	}
	n = copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// writeFileSynced writes dir/name through a synced temporary file renamed
// into place, then syncs dir, so a crash leaves the old state or the new.
func writeFileSynced(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// eachParallel calls fn(ctx, w, i) for every i in [0, n) on workers
// goroutines, w being the worker's number. The first error cancels ctx
// for the others and is returned.
func eachParallel(ctx context.Context, n, workers int, fn func(ctx context.Context, w, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, w, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// proxyConn is one connection to a proxy for the admin tools: commands
// in, replies out, in order. It is used by one goroutine.
type proxyConn struct {
	addr    string
	conn    net.Conn
	bw      *bufio.Writer
	rr      *resp.ReplyReader
	timeout time.Duration
	stop    func() bool
}

// replyError is an error reply of the proxy.
type replyError string

func (e replyError) Error() string { return string(e) }

// dialProxies opens n connections to the proxy at addr, each
// authenticated with password when it is set, and closed when ctx ends.
func dialProxies(ctx context.Context, addr, password string, timeout time.Duration, n int) ([]*proxyConn, error) {
	var conns []*proxyConn
	for range n {
		c, err := dialProxy(ctx, addr, password, timeout)
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func dialProxy(ctx context.Context, addr, password string, timeout time.Duration) (*proxyConn, error) {
	d := net.Dialer{Timeout: min(timeout, 10*time.Second)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the proxy at %s: %w", addr, err)
	}
	c := &proxyConn{addr: addr, conn: conn, bw: bufio.NewWriterSize(conn, 64<<10),
		rr: resp.NewReplyReader(bufio.NewReaderSize(conn, 64<<10), 2*snapReadSize+16<<20), timeout: timeout}
	c.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	if password != "" {
		if _, err := c.do("AUTH", password); err != nil {
			c.close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, nil
}

func (c *proxyConn) close() {
	c.stop()
	_ = c.conn.Close()
}

func closeAll(conns []*proxyConn) {
	for _, c := range conns {
		c.close()
	}
}

// send buffers one command.
func (c *proxyConn) send(args ...[]byte) error {
	_, err := c.bw.Write(resp.AppendCommand(nil, args...))
	return err
}

// flush writes the buffered commands.
func (c *proxyConn) flush() error {
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	return c.bw.Flush()
}

// next reads one reply: an error reply is a replyError. The value aliases
// the connection's buffer and is valid until the next call.
func (c *proxyConn) next() (resp.Value, error) {
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	raw, err := c.rr.Next()
	if err != nil {
		return resp.Value{}, fmt.Errorf("reading from %s: %w", c.addr, err)
	}
	v, _, err := resp.ParseValue(raw)
	if err != nil {
		return resp.Value{}, fmt.Errorf("reading from %s: %w", c.addr, err)
	}
	if v.Kind == resp.KindError {
		return v, replyError(v.Str)
	}
	return v, nil
}

// do sends one command and reads its reply (see next).
func (c *proxyConn) do(args ...string) (resp.Value, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if err := c.send(bs...); err != nil {
		return resp.Value{}, err
	}
	if err := c.flush(); err != nil {
		return resp.Value{}, fmt.Errorf("writing to %s: %w", c.addr, err)
	}
	return c.next()
}

// status asks for SHARDIS.STATUS.
func (c *proxyConn) status() (proxy.Status, error) {
	var st proxy.Status
	v, err := c.do("SHARDIS.STATUS")
	if err != nil {
		return st, fmt.Errorf("SHARDIS.STATUS: %w", err)
	}
	if v.Kind != resp.KindBulk || json.Unmarshal(v.Str, &st) != nil {
		return st, fmt.Errorf("%s answered SHARDIS.STATUS with no status (is it a Shardis proxy?)", c.addr)
	}
	return st, nil
}
