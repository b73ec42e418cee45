package shard

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/resp"
)

// SHARDIS.SNAPSHOT over TCP gives what WriteSnapshot writes, refuses bad
// partitions with an exact error, and the connection survives; the
// internal commands no production path sends are gone.
func TestSnapshotCommandOverTCP(t *testing.T) {
	cfg := testConfig(t)
	m := startServer(t, cfg, nil)
	ctx := context.Background()
	mc := redis.NewClient(&redis.Options{Addr: m.Addr(), Protocol: 2, DisableIdentity: true})
	defer mc.Close()
	p := m.pid([]byte("{n}"))
	for i := range 3 {
		if err := mc.Set(ctx, "{n}"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := mc.Do(ctx, "SHARDIS.SNAPSHOT", p).Text()
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	if _, err := m.WriteSnapshot(p, &want); err != nil {
		t.Fatal(err)
	}
	if snap != want.String() {
		t.Fatalf("SHARDIS.SNAPSHOT differs from WriteSnapshot (%d and %d bytes)", len(snap), want.Len())
	}
	rc := dial(t, m.Addr())
	for _, tc := range []struct {
		args []string
		want string
	}{
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
