package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/shard"
)

// keyState is what the backup tests compare of one key: its type, its
// whole value in a canonical form, and its absolute expiry in unix ms
// (-1 for none), which RESTORE … ABSTTL carries over exactly.
type keyState struct {
	typ, val string
	expireAt int64
}

// loadEveryType writes keys of every type, small and large (so both
// encodings of each collection travel), with and without TTLs, and
// returns their names. Keys named "soon:*" expire in ten minutes, the
// others with a TTL in a day.
func loadEveryType(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	pipe := rdb.Pipeline()
	add := func(key string, cmd ...any) {
		keys = append(keys, key)
		pipe.Do(ctx, cmd...)
		if pipe.Len() >= 100 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 150 {
		k := "str:" + strconv.Itoa(i)
		add(k, "SET", k, strings.Repeat("v", i)+"\x00\xff"+strconv.Itoa(i))
	}
	add("str:int", "SET", "str:int", "12345")
	add("str:big", "SET", "str:big", strings.Repeat("0123456789", 30000))
	add("bitmap", "SETBIT", "bitmap", "100003", "1")
	pipe.Do(ctx, "SETBIT", "bitmap", "7", "1")
	add("hll", "PFADD", "hll", "a", "b", "c", "d")
	for i := range 40 {
		k := "hash:" + strconv.Itoa(i)
		add(k, "HSET", k, "f", strconv.Itoa(i), "g", "x")
	}
	big := []any{"HSET", "hash:big"}
	for i := range 300 {
		big = append(big, "field"+strconv.Itoa(i), strings.Repeat("h", i%70))
	}
	add("hash:big", big...)
	for i := range 30 {
		k := "list:" + strconv.Itoa(i)
		add(k, "RPUSH", k, "a", "b", strconv.Itoa(i), "a")
	}
	long := []any{"RPUSH", "list:long"}
	for i := range 1000 {
		long = append(long, strconv.Itoa(i))
	}
	add("list:long", long...)
	add("set:int", "SADD", "set:int", "1", "2", "3", "-7")
	add("set:str", "SADD", "set:str", "x", "y", "z")
	bigSet := []any{"SADD", "set:big"}
	for i := range 600 {
		bigSet = append(bigSet, "m"+strconv.Itoa(i))
	}
	add("set:big", bigSet...)
	for i := range 20 {
		k := "zset:" + strconv.Itoa(i)
		add(k, "ZADD", k, "1", "a", "2.5", "b", "-3", strconv.Itoa(i))
	}
	bigZ := []any{"ZADD", "zset:big"}
	for i := range 200 {
		bigZ = append(bigZ, strconv.Itoa(i*7%13), "member"+strconv.Itoa(i))
	}
	add("zset:big", bigZ...)
	for i := range 25 {
		k := "ttl:" + strconv.Itoa(i)
		add(k, "SET", k, "t", "EX", "86400")
		s := "soon:" + strconv.Itoa(i)
		add(s, "SET", s, "s", "EX", "600")
	}
	add("ttl:hash", "HSET", "ttl:hash", "a", "1")
	pipe.Do(ctx, "PEXPIRE", "ttl:hash", "90000000")
	add("soon:zset", "ZADD", "soon:zset", "1", "a")
	pipe.Do(ctx, "EXPIRE", "soon:zset", "600")
	// A deleted collection leaves a tombstone and elements behind, which
	// must not come back.
	pipe.Do(ctx, "SADD", "gone", "1", "2", "3")
	pipe.Do(ctx, "DEL", "gone")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return keys
}

// stateOf reads every key of keys; missing keys are left out.
func stateOf(t *testing.T, rdb *redis.Client, keys []string) map[string]keyState {
	t.Helper()
	ctx := context.Background()
	out := map[string]keyState{}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var val any
		switch typ {
		case "none":
			continue
		case "string":
			val, err = rdb.Get(ctx, k).Result()
		case "hash":
			var m map[string]string
			m, err = rdb.HGetAll(ctx, k).Result()
			val = fmt.Sprint(m) // fmt sorts map keys
		case "list":
			val, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "set":
			var s []string
			s, err = rdb.SMembers(ctx, k).Result()
			slices.Sort(s)
			val = s
		case "zset":
			val, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		}
		if err != nil {
			t.Fatalf("%s %s: %v", typ, k, err)
		}
		exp, err := rdb.Do(ctx, "PEXPIRETIME", k).Int64()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = keyState{typ: typ, val: fmt.Sprint(val), expireAt: exp}
	}
	return out
}

// compareStates reports every key whose state differs.
func compareStates(t *testing.T, what string, got, want map[string]keyState) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: key %q missing", what, k)
		case g.typ != w.typ || g.val != w.val:
			t.Errorf("%s: key %q is %s %.80q, want %s %.80q", what, k, g.typ, g.val, w.typ, w.val)
		case g.expireAt != w.expireAt:
			t.Errorf("%s: key %q expires at %d, want %d", what, k, g.expireAt, w.expireAt)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected key %q", what, k)
		}
	}
}

func dbsize(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	n, err := rdb.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBackupAndRestore backs up a loaded replicated cluster of 3 shards
// (16 partitions, RF 3) and restores it into a replicated cluster of 5
// shards with 32 partitions and into a static one of 2 shards with 64,
// comparing every key's type, value and expiry; and checks that a
// damaged, truncated or unfinished backup is refused before anything is
// written, as are a non-empty backup directory and a non-empty target.
func TestBackupAndRestore(t *testing.T) {
	// Acknowledgements may be slow on a busy machine running the race
	// detector: a write must not fail for that here.
	patient := func(_ string, cfg *shard.Config) { cfg.ReplAckTimeout = 20 * time.Second }
	src := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 3, RF: 3, Shard: patient})
	dst := testcluster.StartReplicated(t, testcluster.ReplicatedOptions{Shards: 5, RF: 2, MinInSync: 1, Partitions: 32, Shard: patient})
	static := testcluster.Start(t, testcluster.Options{Shards: 2, Partitions: 64, InMemory: true})
	src.WaitFull(30 * time.Second)
	srcProxy, _ := src.StartProxy()
	srcClient := patientClient(t, srcProxy.Proxy.Addr())
	keys := loadEveryType(t, srcClient)
	want := stateOf(t, srcClient, keys)
	if n := dbsize(t, srcClient); n != int64(len(want)) || n < 300 {
		t.Fatalf("source holds %d keys, the test wrote %d", n, len(want))
	}

	dir := filepath.Join(t.TempDir(), "backup")
	code, out, errOut := runCLI("backup", "--addr", srcProxy.Proxy.Addr(), "--to", dir, "--parallel", "3")
	if code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, fmt.Sprintf("%d keys", len(want))) {
		t.Errorf("backup summary %q does not count %d keys", out, len(want))
	}
	m := readTestManifest(t, dir)
	if m.Format != backupFormat || m.Partitions != testcluster.ReplicatedPartitions || len(m.Files) != m.Partitions ||
		m.Keys != int64(len(want)) || m.Cluster == "" || m.Started == "" || m.Finished == "" {
		t.Fatalf("manifest = %+v", m)
	}
	if _, err := time.Parse(time.RFC3339, m.Finished); err != nil {
		t.Errorf("finished %q: %v", m.Finished, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != m.Partitions+1 {
		t.Errorf("backup dir holds %d files, want %d snapshots and the manifest", len(entries), m.Partitions)
	}

	// A backup never goes into a directory that holds anything.
	code, _, errOut = runCLI("backup", "--addr", srcProxy.Proxy.Addr(), "--to", dir)
	if code != exitFailure || !strings.Contains(errOut, "is not empty") {
		t.Errorf("backup into a full dir: exit %d: %s", code, errOut)
	}
	if m2 := readTestManifest(t, dir); m2.Finished != m.Finished {
		t.Errorf("the refused backup rewrote the manifest")
	}

	dst.WaitFull(30 * time.Second)
	dstProxy, _ := dst.StartProxy()
	dstClient := patientClient(t, dstProxy.Proxy.Addr())
	code, out, errOut = runCLI("restore", "--addr", dstProxy.Proxy.Addr(), "--from", dir, "--pipeline", "16")
	if code != exitOK {
		t.Fatalf("restore: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, fmt.Sprintf("restored %d keys", len(want))) {
		t.Errorf("restore summary %q", out)
	}
	compareStates(t, "5 shards, 32 partitions", stateOf(t, dstClient, keys), want)
	if n := dbsize(t, dstClient); n != int64(len(want)) {
		t.Errorf("target holds %d keys, want %d", n, len(want))
	}

	// The target now holds keys: refused, unless --force.
	code, _, errOut = runCLI("restore", "--addr", dstProxy.Proxy.Addr(), "--from", dir)
	if code != exitFailure || !strings.Contains(errOut, "holds") || !strings.Contains(errOut, "--force") {
		t.Errorf("restore into a full cluster: exit %d: %s", code, errOut)
	}
	if err := dstClient.Set(context.Background(), "str:1", "changed", 0).Err(); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI("restore", "--addr", dstProxy.Proxy.Addr(), "--from", dir, "--force")
	if code != exitOK {
		t.Fatalf("restore --force: exit %d: %s", code, errOut)
	}
	compareStates(t, "after --force", stateOf(t, dstClient, keys), want)

	// Damaged backups are refused whole, naming the file, and the target
	// stays empty.
	staticClient := patientClient(t, static.Addr)
	victim := largestFile(m)
	for _, tc := range []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"flipped byte", func(d string) {
			p := filepath.Join(d, victim.File)
			b := readFile(t, p)
			b[len(b)/2] ^= 0x20
			writeFile(t, p, b)
		}, victim.File},
		{"truncated", func(d string) {
			p := filepath.Join(d, victim.File)
			b := readFile(t, p)
			writeFile(t, p, b[:len(b)-7])
		}, victim.File},
		{"missing file", func(d string) {
			if err := os.Remove(filepath.Join(d, victim.File)); err != nil {
				t.Fatal(err)
			}
		}, victim.File},
		{"missing manifest", func(d string) {
			if err := os.Remove(filepath.Join(d, manifestName)); err != nil {
				t.Fatal(err)
			}
		}, "manifest.json not found"},
		{"manifest with another SHA-256", func(d string) {
			b := bytes.Replace(readFile(t, filepath.Join(d, manifestName)), []byte(victim.SHA256), []byte(strings.Repeat("0", 64)), 1)
			writeFile(t, filepath.Join(d, manifestName), b)
		}, victim.File + ": SHA-256 does not match"},
	} {
		bad := copyDir(t, dir)
		tc.damage(bad)
		code, _, errOut := runCLI("restore", "--addr", static.Addr, "--from", bad)
		if code != exitFailure || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want it to name %q", tc.name, code, errOut, tc.want)
		}
		if n := dbsize(t, staticClient); n != 0 {
			t.Fatalf("%s: the target holds %d keys after a refused restore", tc.name, n)
		}
	}

	// An hour later the keys with ten minutes to live have expired: they
	// are skipped and counted.
	later := func() time.Time { return time.Now().Add(time.Hour) }
	var errb bytes.Buffer
	sum, err := runRestore(context.Background(), &restoreOptions{addr: static.Addr, dir: dir, parallel: 2, pipeline: 64,
		timeout: 10 * time.Second, now: later}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	wantLater := map[string]keyState{}
	for k, s := range want {
		if !strings.HasPrefix(k, "soon:") {
			wantLater[k] = s
		}
	}
	if sum.expired != int64(len(want)-len(wantLater)) || sum.restored != int64(len(wantLater)) {
		t.Errorf("restored %d, skipped %d; want %d and %d", sum.restored, sum.expired, len(wantLater), len(want)-len(wantLater))
	}
	compareStates(t, "2 shards, 64 partitions, an hour later", stateOf(t, staticClient, keys), wantLater)
}

// TestBackupAndRestoreNeedTheirFlags: the directory flags are required.
func TestBackupAndRestoreNeedTheirFlags(t *testing.T) {
	for _, args := range [][]string{{"backup"}, {"restore"}, {"backup", "--to", "x", "--parallel", "0"}, {"restore", "--from", "x", "y"}} {
		if code, _, _ := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// patientClient is a client of the proxy at addr that waits long for
// replies, closed at the end of the test.
func patientClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func readTestManifest(t *testing.T, dir string) manifest {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, manifestName)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func largestFile(m manifest) manifestFile {
	best := m.Files[0]
	for _, f := range m.Files {
		if f.Bytes > best.Bytes {
			best = f
		}
	}
	return best
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the files of dir into a new temporary directory.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		outf, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(outf, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := outf.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// fakeProxy answers RESP commands on a loopback port with answer, one
// connection per goroutine, until the test ends.
func fakeProxy(t *testing.T, answer func(args []string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				rr := resp.NewReplyReader(c, 0)
				for {
					raw, err := rr.Next()
					if err != nil {
						return
					}
					v, _, err := resp.ParseValue(raw)
					if err != nil {
						return
					}
					args := make([]string, len(v.Elems))
					for i, e := range v.Elems {
						args[i] = string(e.Str)
					}
					if _, err := c.Write([]byte(answer(args))); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestRestoreRetriesWritesTheClusterCouldNotTake: a RESTORE refused for
// the moment (here NOTACKED: it may have been applied) is sent again with
// REPLACE, and the restore succeeds; with --retries 0 it fails, naming
// the key and the error.
func TestRestoreRetriesWritesTheClusterCouldNotTake(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Shards: 2, Partitions: 16, InMemory: true})
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer rdb.Close()
	for i := range 40 {
		if err := rdb.Set(context.Background(), "k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "b")
	if code, _, errOut := runCLI("backup", "--addr", c.Addr, "--to", dir); code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}

	var mu sync.Mutex
	tries := map[string][]bool{} // per key, whether each RESTORE had REPLACE
	addr := fakeProxy(t, func(args []string) string {
		switch args[0] {
		case "DBSIZE":
			return ":0\r\n"
		case "RESTORE":
			mu.Lock()
			defer mu.Unlock()
			k := args[1]
			tries[k] = append(tries[k], slices.Contains(args, "REPLACE"))
			if len(tries[k]) == 1 {
				return "-NOTACKED 1 write not acknowledged by every in-sync replica in time; it may or may not survive\r\n"
			}
			return "+OK\r\n"
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runCLI("restore", "--addr", addr, "--from", dir, "--pipeline", "8", "--parallel", "2")
	if code != exitOK || !strings.Contains(out, "restored 40 keys") {
		t.Fatalf("restore: exit %d: %s%s", code, out, errOut)
	}
	mu.Lock()
	for i := range 40 {
		k := "k" + strconv.Itoa(i)
		if got := tries[k]; !slices.Equal(got, []bool{false, true}) {
			t.Errorf("%s: RESTOREs with REPLACE %v, want [false true]", k, got)
		}
	}
	clear(tries)
	mu.Unlock()

	code, _, errOut = runCLI("restore", "--addr", addr, "--from", dir, "--retries", "0")
	if code != exitFailure || !strings.Contains(errOut, "NOTACKED") || !strings.Contains(errOut, `RESTORE "k`) {
		t.Errorf("restore without retries: exit %d: %s", code, errOut)
	}
}

// TestBackupRetriesAndChecksWhatItReceives runs backup against a proxy
// serving the snapshots of a real backup: snapshots refused for the
// moment (BUSY, a session abandoned mid-read) are taken again and the copy
// is byte for byte the original; a snapshot damaged on the way fails the
// backup, naming the partition, with no manifest and no temporary file
// left.
func TestBackupRetriesAndChecksWhatItReceives(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Shards: 2, Partitions: 4, InMemory: true})
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer rdb.Close()
	for i := range 200 {
		if err := rdb.Set(context.Background(), "k"+strconv.Itoa(i), strings.Repeat("v", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	orig := filepath.Join(t.TempDir(), "orig")
	if code, _, errOut := runCLI("backup", "--addr", c.Addr, "--to", orig); code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	m := readTestManifest(t, orig)

	var mu sync.Mutex
	calls := map[string]int{} // by command and partition
	damage := false
	addr := fakeProxy(t, func(args []string) string {
		mu.Lock()
		defer mu.Unlock()
		switch args[0] {
		case "SHARDIS.STATUS":
			return string(resp.AppendBulkString(nil, `{"cluster":"fake","partitions":4}`))
		case "SHARDIS.BACKUP":
			p, _ := strconv.Atoi(args[1])
			calls["backup "+args[1]]++
			if p == 2 && calls["backup 2"] == 1 {
				return "-BUSY too many snapshot sessions open on this shard; retry later\r\n"
			}
			f := m.Files[p]
			b := resp.AppendArrayHeader(nil, 4)
			b = resp.AppendBulkString(b, "s1")
			b = resp.AppendBulkString(b, args[1])
			b = resp.AppendInt(b, int64(f.Seq))
			return string(resp.AppendInt(b, f.Bytes))
		case "SHARDIS.BACKUPREAD":
			p, _ := strconv.Atoi(args[2])
			off, _ := strconv.Atoi(args[3])
			if p == 3 && off > 0 && calls["backup 3"] == 1 {
				return "-ERR snapshot abandoned: the partition's writes outgrew the effect log kept for it; take a new snapshot\r\n"
			}
			data := readFile(t, filepath.Join(orig, m.Files[p].File))
			if damage && p == 1 && len(data) > 40 {
				data[40] ^= 1
			}
			chunk := data[min(off, len(data)):min(off+100, len(data))] // small chunks: many reads
			return string(resp.AppendBulk(nil, chunk))
		case "SHARDIS.BACKUPDONE":
			return "+OK\r\n"
		}
		return "-ERR unexpected " + args[0] + "\r\n"
	})

	dir := filepath.Join(t.TempDir(), "copy")
	code, _, errOut := runCLI("backup", "--addr", addr, "--to", dir, "--parallel", "2")
	if code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	got := readTestManifest(t, dir)
	if got.Cluster != "fake" || got.Keys != m.Keys || len(got.Files) != 4 {
		t.Fatalf("manifest %+v", got)
	}
	for i, f := range got.Files {
		if f != m.Files[i] {
			t.Errorf("partition %d: %+v, want %+v", i, f, m.Files[i])
		}
		if !bytes.Equal(readFile(t, filepath.Join(dir, f.File)), readFile(t, filepath.Join(orig, f.File))) {
			t.Errorf("partition %d: file differs from the original", i)
		}
	}
	if calls["backup 2"] != 2 || calls["backup 3"] != 2 {
		t.Errorf("snapshots taken %v, want partitions 2 and 3 twice", calls)
	}

	mu.Lock()
	damage = true
	mu.Unlock()
	dir = filepath.Join(t.TempDir(), "damaged")
	code, _, errOut = runCLI("backup", "--addr", addr, "--to", dir)
	if code != exitFailure || !strings.Contains(errOut, "partition 1") || !strings.Contains(errOut, "malformed snapshot") {
		t.Errorf("backup of a damaged snapshot: exit %d: %s", code, errOut)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == manifestName || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("a failed backup left %s", e.Name())
		}
	}
}
