package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/redistest"
	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/rdb"
)

// fillRedisAllTypes gives a Redis every type in every encoding Redis 7.0 saves:
// small (listpack, intset) and large (hash table, skiplist, many-node
// quicklist) collections, integer, binary, compressible and empty
// strings, keys with TTLs, and one key in database 1.
func fillRedisAllTypes(t *testing.T, rc *redis.Client) {
	t.Helper()
	ctx := context.Background()
	do := func(args ...any) {
		t.Helper()
		if err := rc.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	many := func(cmd, key, prefix string, n int, pairs bool) {
		args := []any{cmd, key}
		for i := range n {
			if pairs && cmd == "zadd" {
				args = append(args, float64(i)/4-10)
			}
			args = append(args, prefix+strconv.Itoa(i))
			if pairs && cmd == "hset" {
				args = append(args, "value-"+strconv.Itoa(i*7))
			}
		}
		do(args...)
	}
	do("set", "str:small", "hello")
	do("set", "str:int", "12345")
	do("set", "str:int64", "1099511627776")
	do("set", "str:negative", "-7")
	do("set", "str:binary", "\x00\xff\r\n\x80bin")
	do("set", "str:long", strings.Repeat("abcdefgh", 2000))
	do("set", "str:empty", "")
	do("set", "42", "an integer key")
	do("set", "{tag}a", "hash-tagged")
	do("pfadd", "hll", "a", "b", "c")
	do("rpush", "list:small", "a", "b", "1", "-2", "")
	many("rpush", "list:big", "element-", 3000, false)
	do("rpush", "list:bigelem", strings.Repeat("x", 10000), "tail")
	do("sadd", "set:intset", "1", "2", "3", "-5", "100000", "-10000000000")
	do("sadd", "set:strings", "a", "b", "c")
	many("sadd", "set:large", "", 1000, false)
	do("hset", "hash:small", "f", "v", "n", "12", "e", "")
	many("hset", "hash:large", "field-", 600, true)
	do("hset", "hash:longvalue", "f", strings.Repeat("v", 100))
	do("zadd", "zset:small", "1", "a", "2.5", "b", "-3", "c")
	do("zadd", "zset:scores", "inf", "top", "-inf", "bottom", "0.1", "tenth", "1e300", "huge")
	many("zadd", "zset:large", "member-", 200, true)
	do("set", "ttl:str", "v", "ex", "1000")
	do("hset", "ttl:hash", "f", "v")
	do("pexpire", "ttl:hash", "500000")
	do("zadd", "ttl:zset", "1", "a")
	do("pexpireat", "ttl:zset", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10))
	do("set", "db1:key", "elsewhere")
	do("move", "db1:key", "1")
}

// servedKey is a key as one server serves it, comparable across servers.
type servedKey struct {
	typ, value, encoding string
	pttl                 time.Duration
}

func readServedKey(t *testing.T, rc *redis.Client, key string) servedKey {
	t.Helper()
	ctx := context.Background()
	var s servedKey
	s.typ = rc.Type(ctx, key).Val()
	var parts []string
	var err error
	switch s.typ {
	case "string":
		var v string
		v, err = rc.Get(ctx, key).Result()
		parts = []string{v}
	case "list":
		parts, err = rc.LRange(ctx, key, 0, -1).Result()
	case "set":
		parts, err = rc.SMembers(ctx, key).Result()
		slices.Sort(parts)
	case "hash":
		var m map[string]string
		m, err = rc.HGetAll(ctx, key).Result()
		for f, v := range m {
			parts = append(parts, f+"="+v)
		}
		slices.Sort(parts)
	case "zset":
		var zs []redis.Z
		zs, err = rc.ZRangeWithScores(ctx, key, 0, -1).Result()
		for _, z := range zs {
			parts = append(parts, fmt.Sprintf("%v=%s", z.Member, strconv.FormatFloat(z.Score, 'g', -1, 64)))
		}
	default:
		t.Fatalf("key %q has type %q", key, s.typ)
	}
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	s.value = strings.Join(parts, "\x00")
	s.encoding = rc.ObjectEncoding(ctx, key).Val()
	s.pttl = rc.PTTL(ctx, key).Val()
	return s
}

// ttlTolerance is how far two servers' PTTLs of a key read a moment apart
// may differ: expiry times are absolute, so only the time between the
// reads separates them.
const ttlTolerance = 5 * time.Second

// compareServed checks that got serves every key of want (database 0)
// as want does, and no other key; with encodings, also the OBJECT
// ENCODING of collections.
func compareServed(t *testing.T, want, got *redis.Client, encodings bool) int {
	t.Helper()
	ctx := context.Background()
	keys, err := want.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n := got.DBSize(ctx).Val(); n != int64(len(keys)) {
		t.Errorf("%d keys, want %d", n, len(keys))
	}
	for _, k := range keys {
		w, g := readServedKey(t, want, k), readServedKey(t, got, k)
		if g.typ != w.typ || g.value != w.value {
			t.Errorf("%q: %s %.80q, want %s %.80q", k, g.typ, g.value, w.typ, w.value)
		}
		// A string's encoding after a load follows its length, not its
		// history (PFADD leaves raw what a load makes embstr), in Redis too.
		if encodings && w.typ != "string" && g.encoding != w.encoding {
			t.Errorf("%q: encoding %s, want %s", k, g.encoding, w.encoding)
		}
		if (w.pttl < 0) != (g.pttl < 0) || (w.pttl-g.pttl).Abs() > ttlTolerance {
			t.Errorf("%q: PTTL %v, want %v", k, g.pttl, w.pttl)
		}
	}
	return len(keys)
}

// saveRedis makes Redis SAVE and returns the path of its dump.rdb.
func saveRedis(t *testing.T, rc *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	if err := rc.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cfg := rc.ConfigGet(ctx, "dir").Val()
	name := rc.ConfigGet(ctx, "dbfilename").Val()["dbfilename"]
	return filepath.Join(cfg["dir"], name)
}

// TestImportExport moves a Redis dataset of every type through Shardis and
// back: redis-server SAVEs, `shardis import` loads the file into a
// cluster, `shardis export` writes it out again, and a second
// redis-server loads that file; each step is compared key by key.
func TestImportExport(t *testing.T) {
	ctx := context.Background()
	src := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	defer src.Close()
	fillRedisAllTypes(t, src)
	dump := saveRedis(t, src)

	const pw = "import-secret"
	c := testcluster.Start(t, testcluster.Options{InMemory: true, Password: pw})
	sh := redis.NewClient(&redis.Options{Addr: c.Addr, Password: pw, Protocol: 2})
	defer sh.Close()

	code, out, errOut := runCLI("import", "--rdb", dump, "--addr", c.Addr, "--password", pw, "--pipeline", "7")
	if code != exitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	n := src.DBSize(ctx).Val()
	if want := fmt.Sprintf("imported %d keys from %s", n, dump); !strings.HasPrefix(out, want) ||
		!strings.Contains(out, "0 skipped as expired, 1 of other databases skipped, 0 errors") {
		t.Errorf("import summary %q, want %q…", out, want)
	}
	if !strings.Contains(errOut, "warning: skipped 1 keys of databases other than 0") || !strings.Contains(errOut, "import: ") {
		t.Errorf("import stderr lacks the warning or the final progress line:\n%s", errOut)
	}
	if compareServed(t, src, sh, false) < 25 {
		t.Fatal("too few keys compared")
	}

	// Again without --replace: the first key already there stops it.
	code, out, errOut = runCLI("import", "--rdb", dump, "--addr", c.Addr, "--password", pw)
	if code != exitFailure || !strings.Contains(errOut, "BUSYKEY") || !strings.Contains(errOut, `RESTORE of key "`) ||
		!strings.Contains(out, "imported 0 keys") || strings.Contains(out, " 0 errors") {
		t.Errorf("import over existing keys: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if err := sh.Set(ctx, "str:small", "changed", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = runCLI("import", "--rdb", dump, "--addr", c.Addr, "--password", pw, "--replace", "--pipeline-bytes", "1kb"); code != exitOK {
		t.Fatalf("import --replace: exit %d\n%s%s", code, out, errOut)
	}
	compareServed(t, src, sh, false)

	// Out again, into a file a second redis-server starts on.
	dir := t.TempDir()
	file := filepath.Join(dir, "export.rdb")
	if err := os.WriteFile(file, []byte("an older export"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("export", "--rdb", file, "--addr", c.Addr, "--password", pw, "--count", "10", "--pipeline", "3")
	if code != exitOK {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	if want := fmt.Sprintf("exported %d keys to %s", n, file); !strings.HasPrefix(out, want) {
		t.Errorf("export summary %q, want %q…", out, want)
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("%s.tmp left behind: %v", file, err)
	}
	back := redis.NewClient(&redis.Options{Addr: startRedisOnFile(t, dir, "export.rdb")})
	defer back.Close()
	compareServed(t, src, back, true)
}

// TestImportSkipsExpired loads a file with a key already expired, one
// expiring later and one without TTL.
func TestImportSkipsExpired(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	file := writeTestRDB(t, func(w *rdb.Writer) {
		str := func(s string) rdb.Value { return rdb.Value{Kind: rdb.KindString, Str: []byte(s)} }
		noErr(t, w.WriteValue([]byte("gone"), str("old"), now.Add(-time.Second).UnixMilli()))
		noErr(t, w.WriteValue([]byte("later"), str("soon"), now.Add(100*time.Second).UnixMilli()))
		noErr(t, w.WriteValue([]byte("plain"), str("kept"), rdb.NoExpire))
	})
	c := testcluster.Start(t, testcluster.Options{InMemory: true, Shards: 1, Partitions: 8})
	sh := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer sh.Close()
	code, out, errOut := runCLI("import", "--rdb", file, "--addr", c.Addr)
	if code != exitOK || !strings.Contains(out, "imported 2 keys") || !strings.Contains(out, "1 skipped as expired") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	if n := sh.Exists(ctx, "gone").Val(); n != 0 {
		t.Error("expired key imported")
	}
	if ttl := sh.PTTL(ctx, "later").Val(); (ttl - 100*time.Second).Abs() > ttlTolerance {
		t.Errorf("later: PTTL %v", ttl)
	}
	if v := sh.Get(ctx, "plain").Val(); v != "kept" || sh.PTTL(ctx, "plain").Val() != -time.Nanosecond {
		t.Errorf("plain: %q, PTTL %v", v, sh.PTTL(ctx, "plain").Val())
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeTestRDB makes an RDB file in a temporary directory.
func writeTestRDB(t *testing.T, fill func(w *rdb.Writer)) string {
	t.Helper()
	var buf bytes.Buffer
	w := rdb.NewWriter(&buf, rdb.Header{})
	fill(w)
	noErr(t, w.Close())
	file := filepath.Join(t.TempDir(), "dump.rdb")
	noErr(t, os.WriteFile(file, buf.Bytes(), 0o644))
	return file
}

// TestImportErrors checks that each failure stops the import with exit 1
// and a message that says what and where.
func TestImportErrors(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{InMemory: true, Shards: 1, Partitions: 8, Password: "pw"})
	good := writeTestRDB(t, func(w *rdb.Writer) {
		noErr(t, w.WriteValue([]byte("k"), rdb.Value{Kind: rdb.KindString, Str: []byte("v")}, rdb.NoExpire))
	})
	big := writeTestRDB(t, func(w *rdb.Writer) {
		noErr(t, w.WriteValue([]byte("big"), rdb.Value{Kind: rdb.KindString, Str: []byte("0123456789abcdefghijklmnopqrstuvwxyzABCD")}, rdb.NoExpire))
	})
	data, err := os.ReadFile(good)
	noErr(t, err)
	dir := t.TempDir()
	put := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		noErr(t, os.WriteFile(p, b, 0o644))
		return p
	}
	corrupt := slices.Clone(data)
	corrupt[len(corrupt)-1] ^= 1
	// A stream key: type 15, the key, and what would follow.
	stream := append(slices.Clone(data[:len(data)-9]), rdb.TypeStreamListpacks, 6, 'e', 'v', 'e', 'n', 't', 's', 1)
	// A set of no members, which RESTORE refuses as Redis does.
	badValue := append(slices.Clone(data[:len(data)-9]), rdb.TypeSet, 1, 's', 0)
	badValue = appendEOFNoChecksum(badValue)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no file flag", []string{"--addr", c.Addr}, exitUsage, []string{"--rdb FILE is required"}},
		{"bad pipeline", []string{"--rdb", good, "--pipeline", "0"}, exitUsage, []string{"--pipeline must be at least 1"}},
		{"bad pipeline-bytes", []string{"--rdb", good, "--pipeline-bytes", "0"}, exitUsage, []string{"--pipeline-bytes must be positive"}},
		{"bad max-value", []string{"--rdb", good, "--max-value", "lots"}, exitUsage, []string{`"lots" is not a size`}},
		{"too large", []string{"--rdb", big, "--addr", c.Addr, "--password", "pw", "--max-value", "30"}, exitFailure, []string{`key "big"`, "larger than the reader's limit"}},
		{"missing file", []string{"--rdb", filepath.Join(dir, "none.rdb"), "--addr", c.Addr}, exitFailure, []string{"none.rdb", "no such file"}},
		{"not rdb", []string{"--rdb", put("text.rdb", []byte("hello world")), "--addr", c.Addr}, exitFailure, []string{"not an RDB file"}},
		{"checksum", []string{"--rdb", put("crc.rdb", corrupt), "--addr", c.Addr, "--password", "pw"}, exitFailure, []string{"checksum does not match"}},
		{"truncated", []string{"--rdb", put("cut.rdb", data[:len(data)-12]), "--addr", c.Addr, "--password", "pw"}, exitFailure, []string{"ends in the middle"}},
		{"stream", []string{"--rdb", put("stream.rdb", stream), "--addr", c.Addr, "--password", "pw"}, exitFailure, []string{`key "events"`, "is a stream"}},
		{"bad value", []string{"--rdb", put("bad.rdb", badValue), "--addr", c.Addr, "--password", "pw"}, exitFailure, []string{`RESTORE of key "s"`, "Bad data format"}},
		{"wrong password", []string{"--rdb", good, "--addr", c.Addr, "--password", "nope"}, exitFailure, []string{"refused PING", "WRONGPASS"}},
		{"no proxy", []string{"--rdb", good, "--addr", "127.0.0.1:1", "--timeout", "2s"}, exitFailure, []string{"cannot reach the proxy at 127.0.0.1:1"}},
	} {
		code, out, errOut := runCLI(append([]string{"import"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, w, errOut)
			}
		}
	}
}

// appendEOFNoChecksum ends a file whose records are b with EOF and a
// checksum of 0, which the reader does not verify, as Redis does not.
func appendEOFNoChecksum(b []byte) []byte {
	b = append(b, 0xFF)
	return append(b, make([]byte, 8)...)
}

// startRedisOnFile starts redis-server on an existing RDB file, as an
// operator would after an export, and returns its address once it has
// loaded the file and answers PING.
func startRedisOnFile(t *testing.T, dir, file string) string {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		if addr, ok := tryRedisOnFile(t, dir, file); ok {
			return addr
		}
	}
	t.Fatal("redis-server did not start on a free port in 5 attempts")
	return ""
}

func tryRedisOnFile(t *testing.T, dir, file string) (string, bool) {
	t.Helper()
	port := freeLoopbackPort(t)
	var log bytes.Buffer // read only once the process has exited
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--dbfilename", file, "--save", "", "--appendonly", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v (run `make deps` to install it)", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rc.Close()
	up := false
	testcluster.WaitFor(t, 10*time.Second, "redis-server to load "+file, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		up = rc.Ping(context.Background()).Err() == nil
		return up
	})
	if !up {
		if strings.Contains(log.String(), "Address already in use") {
			return "", false
		}
		t.Fatalf("redis-server exited:\n%s", log.String())
	}
	return addr, true
}

// freeLoopbackPort is a loopback port free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
