package shard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/resp"
)

// snapshotSession opens a snapshot session of p over c (for follower,
// if given) and returns its id, seq and size.
func snapshotSession(t *testing.T, c *rawClient, p int, follower ...string) (string, uint64, int64) {
	t.Helper()
	c.send(append([]string{"SHARDIS.SNAPSHOT", strconv.Itoa(p)}, follower...)...)
	if err := c.w.Flush(); err != nil {
		t.Fatal(err)
	}
	raw, err := c.rr.Next()
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := resp.ParseValue(raw)
	if err != nil || v.Kind != resp.KindArray || len(v.Elems) != 3 {
		t.Fatalf("SHARDIS.SNAPSHOT %d = %q", p, raw)
	}
	return string(v.Elems[0].Str), uint64(v.Elems[1].Int), v.Elems[2].Int
}

// SHARDIS.SNAPSHOT opens a session whose SNAPREAD chunks are what
// WriteSnapshot writes, SNAPDONE ends it, and every bad request gets an
// exact error while the connection survives.
func TestSnapshotCommandOverTCP(t *testing.T) {
	cfg := testConfig(t)
	cfg.SnapshotChunkSize = 100
	m := startServer(t, cfg, nil)
	ctx := context.Background()
	mc := redis.NewClient(&redis.Options{Addr: m.Addr(), Protocol: 2, DisableIdentity: true})
	defer mc.Close()
	p := m.pid([]byte("{n}"))
	for i := range 30 {
		if err := mc.Set(ctx, "{n}"+strconv.Itoa(i), "value "+strconv.Itoa(i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var want strings.Builder
	wantSeq, err := m.WriteSnapshot(p, &want)
	if err != nil {
		t.Fatal(err)
	}
	rc := dial(t, m.Addr())
	id, seq, size := snapshotSession(t, rc, p)
	if seq != wantSeq || size != int64(want.Len()) {
		t.Fatalf("session at seq %d of %d bytes, want seq %d of %d bytes", seq, size, wantSeq, want.Len())
	}
	var got []byte
	for len(got) < int(size) {
		chunk, err := mc.Do(ctx, "SHARDIS.SNAPREAD", id, len(got), 1000).Text()
		if err != nil {
			t.Fatal(err)
		}
		if len(chunk) == 0 || len(chunk) > cfg.SnapshotChunkSize {
			t.Fatalf("chunk of %d bytes at %d, the chunk size is %d", len(chunk), len(got), cfg.SnapshotChunkSize)
		}
		got = append(got, chunk...)
	}
	if string(got) != want.String() {
		t.Fatal("the chunks differ from WriteSnapshot")
	}
	files := func() int {
		m.repl.snaps.mu.Lock()
		dir := m.repl.snaps.dir
		m.repl.snaps.mu.Unlock()
		f, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
		return len(f)
	}
	if files() != 1 {
		t.Fatalf("%d snapshot files while one session is open", files())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SHARDIS.SNAPREAD", id, strconv.FormatInt(size, 10), "10"}, bulkR("")},
		{[]string{"SHARDIS.SNAPREAD", id, "99999999", "10"}, bulkR("")},
		{[]string{"SHARDIS.SNAPREAD", id, "0", "0"}, bulkR("")},
		{[]string{"SHARDIS.SNAPREAD", id, "0", "8"}, bulkR(want.String()[:8])},
		{[]string{"SHARDIS.SNAPREAD", id, "-1", "10"}, errR(resp.ErrNotInteger)},
		{[]string{"SHARDIS.SNAPREAD", id, "0", "x"}, errR(resp.ErrNotInteger)},
		{[]string{"SHARDIS.SNAPREAD", id, "0", "99999999999999999999"}, errR(resp.ErrNotInteger)},
		{[]string{"SHARDIS.SNAPREAD", "nope", "0", "10"}, errR(errNoSnapshot)},
		{[]string{"SHARDIS.SNAPREAD", id, "0"}, errR(resp.WrongArgs("shardis.snapread"))},
		{[]string{"SHARDIS.SNAPDONE", "nope"}, errR(errNoSnapshot)},
		{[]string{"SHARDIS.SNAPDONE", id}, okR()},
		{[]string{"SHARDIS.SNAPDONE", id}, errR(errNoSnapshot)},
		{[]string{"SHARDIS.SNAPREAD", id, "0", "10"}, errR(errNoSnapshot)},
		{[]string{"SHARDIS.SNAPSHOT", "16"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SNAPSHOT", "-1"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SNAPSHOT", "99999999999999999999"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SNAPSHOT"}, errR(resp.WrongArgs("shardis.snapshot"))},
		{[]string{"SHARDIS.APPLY", "0", "x"}, errR(resp.UnknownCommand([][]byte{[]byte("SHARDIS.APPLY"), []byte("0"), []byte("x")}))},
		{[]string{"SHARDIS.LOADSNAPSHOT", "0", "x"}, errR(resp.UnknownCommand([][]byte{[]byte("SHARDIS.LOADSNAPSHOT"), []byte("0"), []byte("x")}))},
	} {
		if got := rc.do(tc.args...); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := rc.do("PING"); got != simpleR("PONG") {
		t.Fatalf("PING = %q", got)
	}
	if files() != 0 || m.openSessions() != 0 {
		t.Fatalf("%d files and %d sessions left after SNAPDONE", files(), m.openSessions())
	}
}

// Sessions beyond the bound are refused with BUSY until one ends; a
// session left idle expires with its file; Close removes the rest and the
// directory an in-memory shard made for them.
func TestSnapshotSessionLimits(t *testing.T) {
	cfg := testConfig(t)
	cfg.SnapshotMaxSessions = 2
	cfg.SnapshotIdleTimeout = time.Hour
	m := startServer(t, cfg, nil)
	run(m, &sinkConn{}, "SET", "k", "v")
	p := m.pid([]byte("k"))
	rc := dial(t, m.Addr())
	a, _, _ := snapshotSession(t, rc, p)
	snapshotSession(t, rc, p)
	if got := rc.do("SHARDIS.SNAPSHOT", strconv.Itoa(p)); got != errR(errSnapshotsBusy) {
		t.Fatalf("a third session = %q, want BUSY", got)
	}
	if got := rc.do("SHARDIS.SNAPDONE", a); got != okR() {
		t.Fatalf("SNAPDONE = %q", got)
	}
	snapshotSession(t, rc, p)
	m.repl.snaps.mu.Lock()
	dir := m.repl.snaps.dir
	m.repl.snaps.mu.Unlock()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("snapshot dir %s after Close: %v", dir, err)
	}

	// Idle sessions expire.
	cfg.SnapshotIdleTimeout = 50 * time.Millisecond
	m = startServer(t, cfg, nil)
	run(m, &sinkConn{}, "SET", "k", "v")
	rc = dial(t, m.Addr())
	id, _, _ := snapshotSession(t, rc, p)
	if got := rc.do("SHARDIS.SNAPREAD", id, "0", "4"); !strings.HasPrefix(got, "$4\r\n") {
		t.Fatalf("SNAPREAD of a fresh session = %q", got)
	}
	waitFor(t, 10*time.Second, func() bool { return m.openSessions() == 0 })
	if got := rc.do("SHARDIS.SNAPREAD", id, "0", "4"); got != errR(errNoSnapshot) {
		t.Fatalf("SNAPREAD of an expired session = %q", got)
	}
	m.repl.snaps.mu.Lock()
	dir = m.repl.snaps.dir
	m.repl.snaps.mu.Unlock()
	if f, _ := filepath.Glob(filepath.Join(dir, "*")); len(f) != 0 {
		t.Fatalf("files left by an expired session: %q", f)
	}
}

// A file-backed shard keeps its snapshot files under its data dir and
// removes what a previous process left there.
func TestSnapshotFilesUnderDataDir(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	m := startServer(t, cfg, nil)
	run(m, &sinkConn{}, "SET", "k", "v")
	rc := dial(t, m.Addr())
	snapshotSession(t, rc, m.pid([]byte("k")))
	files, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	if len(files) != 1 {
		t.Fatalf("snapshot files under the data dir: %q", files)
	}
	stale := filepath.Join(dir, "snapshots", "0001-stale.snap")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	reopen(t, m, cfg, nil)
	if left, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*")); len(left) != 0 {
		t.Fatalf("files of the previous process left: %q", left)
	}
}

// The meta record is never seen as a key, whatever lists keys.
func TestMetaRecordIsNotAKey(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(t, dir)
	s := startServer(t, cfg, nil)
	c := dial(t, s.Addr())
	var want []string
	write := func() {
		want = nil
		for i := range 40 {
			k := "k" + strconv.Itoa(i)
			c.do("SET", k, "v")
			want = append(want, k)
		}
		c.do("SET", "", "empty key")
		want = append(want, "")
		slices.Sort(want)
	}
	check := func(stage string) {
		t.Helper()
		withMeta := 0
		for p := range cfg.Partitions {
			if seq, _ := s.Seq(p); seq > 0 {
				withMeta++
			}
		}
		if withMeta < cfg.Partitions/2 {
			t.Fatalf("%s: only %d partitions have a meta record to hide", stage, withMeta)
		}
		if r := c.do("SHARDIS.DBSIZE"); r != intR(int64(len(want))) {
			t.Fatalf("%s: DBSIZE = %q, want %d", stage, r, len(want))
		}
		if r := c.do("SHARDIS.STATS"); r != arrR(intR(int64(len(want))), intR(0)) {
			t.Fatalf("%s: STATS = %q", stage, r)
		}
		got := scanAll(t, c, cfg.Partitions, 3)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: SCAN = %q", stage, got)
		}
		keys := strings.Split(c.do("SHARDIS.KEYS", "*"), "\r\n")
		if keys[0] != "*"+strconv.Itoa(len(want)) {
			t.Fatalf("%s: KEYS * answered %d keys, want %d", stage, len(keys), len(want))
		}
		for range 200 {
			r := c.do("SHARDIS.RANDOMKEY")
			k := strings.Split(r, "\r\n")
			if len(k) < 2 || !strings.HasPrefix(r, "$") {
				t.Fatalf("%s: RANDOMKEY = %q", stage, r)
			}
			if _, ok := slices.BinarySearch(want, k[1]); !ok {
				t.Fatalf("%s: RANDOMKEY = %q, not a key", stage, r)
			}
		}
		for p := range cfg.Partitions {
			n := 0
			for _, k := range want {
				if s.pid([]byte(k)) == p {
					n++
				}
			}
			if _, _, keys := mustDigest(t, s, p); keys != n {
				t.Fatalf("%s: partition %d digest counts %d keys, want %d", stage, p, keys, n)
			}
		}
	}
	write()
	check("after writes")
	s = reopen(t, s, cfg, nil)
	c = dial(t, s.Addr())
	check("after restart")
	if r := c.do("SHARDIS.FLUSH"); r != okR() {
		t.Fatalf("FLUSH = %q", r)
	}
	if r := c.do("SHARDIS.DBSIZE"); r != intR(0) {
		t.Fatalf("DBSIZE after FLUSH = %q", r)
	}
	if r := c.do("SHARDIS.RANDOMKEY"); r != nilR() {
		t.Fatalf("RANDOMKEY after FLUSH = %q", r)
	}
	write()
	check("after FLUSH and writes")
}
