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

func TestReplCommandsOverTCP(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReplLogSize = 4
	m := startServer(t, cfg, nil)
	cfg.ID = "s2"
	f := startServer(t, cfg, nil)
	ctx := context.Background()
	mc := redis.NewClient(&redis.Options{Addr: m.Addr(), Protocol: 2, DisableIdentity: true})
	defer mc.Close()
	fc := redis.NewClient(&redis.Options{Addr: f.Addr(), Protocol: 2, DisableIdentity: true})
	defer fc.Close()
	p := m.pid([]byte("{n}"))
	ps := strconv.Itoa(p)

	for i := range 3 {
		if err := mc.Set(ctx, "{n}"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if seq, err := mc.Do(ctx, "SHARDIS.SEQ", p).Int64(); err != nil || seq != 3 {
		t.Fatalf("SHARDIS.SEQ = %d %v", seq, err)
	}
	// Effects in two rounds, one at a time then the rest.
	first, err := mc.Do(ctx, "SHARDIS.EFFECTS", p, 0, 1).Slice()
	if err != nil || len(first) != 1 {
		t.Fatalf("SHARDIS.EFFECTS max 1 = %v %v", first, err)
	}
	if seq, err := fc.Do(ctx, append([]any{"SHARDIS.APPLY", p}, first...)...).Int64(); err != nil || seq != 1 {
		t.Fatalf("SHARDIS.APPLY = %d %v", seq, err)
	}
	rest, err := mc.Do(ctx, "SHARDIS.EFFECTS", p, 1, 100).Slice()
	if err != nil || len(rest) != 2 {
		t.Fatalf("SHARDIS.EFFECTS after 1 = %v %v", rest, err)
	}
	// Replaying the first along with the rest is harmless.
	if seq, err := fc.Do(ctx, append([]any{"SHARDIS.APPLY", p}, append(first, rest...)...)...).Int64(); err != nil || seq != 3 {
		t.Fatalf("SHARDIS.APPLY with a replay = %d %v", seq, err)
	}
	digest := func(c *redis.Client) []any {
		t.Helper()
		d, err := c.Do(ctx, "SHARDIS.DIGEST", p).Slice()
		if err != nil || len(d) != 3 || len(d[1].(string)) != 64 {
			t.Fatalf("SHARDIS.DIGEST = %v %v", d, err)
		}
		return d
	}
	if md, fd := digest(mc), digest(fc); !slices.Equal(md, fd) || md[2] != int64(3) {
		t.Fatalf("digests: master %v follower %v", md, fd)
	}
	if none, err := mc.Do(ctx, "SHARDIS.EFFECTS", p, 3, 10).Slice(); err != nil || len(none) != 0 {
		t.Fatalf("SHARDIS.EFFECTS when up to date = %v %v", none, err)
	}

	// Beyond the log (4 effects kept): a snapshot is needed, and works.
	for i := range 6 {
		mc.Set(ctx, "{n}x", i, 0)
	}
	if err := mc.Do(ctx, "SHARDIS.EFFECTS", p, 3, 10).Err(); err == nil || err.Error() != "SNAPSHOTNEEDED partition "+ps+" seq 9" {
		t.Fatalf("SHARDIS.EFFECTS beyond the log: %v", err)
	}
	snap, err := mc.Do(ctx, "SHARDIS.SNAPSHOT", p).Text()
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := fc.Do(ctx, "SHARDIS.LOADSNAPSHOT", p, snap).Int64(); err != nil || seq != 9 {
		t.Fatalf("SHARDIS.LOADSNAPSHOT = %d %v", seq, err)
	}
	mc.Del(ctx, "{n}0")
	more, err := mc.Do(ctx, "SHARDIS.EFFECTS", p, 9, 10).Slice()
	if err != nil || len(more) != 1 {
		t.Fatalf("SHARDIS.EFFECTS after the snapshot = %v %v", more, err)
	}
	if seq, err := fc.Do(ctx, "SHARDIS.APPLY", p, more[0]).Int64(); err != nil || seq != 10 {
		t.Fatalf("SHARDIS.APPLY after the snapshot = %d %v", seq, err)
	}
	if md, fd := digest(mc), digest(fc); !slices.Equal(md, fd) {
		t.Fatalf("digests after snapshot and effects: master %v follower %v", md, fd)
	}

	// Roles.
	if r, err := fc.Do(ctx, "SHARDIS.ROLE", p).Text(); err != nil || r != "follower" {
		t.Fatalf("SHARDIS.ROLE on the follower = %q %v", r, err)
	}
	if r, err := fc.Do(ctx, "SHARDIS.ROLE", p, "master").Text(); err != nil || r != "master" {
		t.Fatalf("SHARDIS.ROLE MASTER = %q %v", r, err)
	}
	if r, err := mc.Do(ctx, "SHARDIS.ROLE", p).Text(); err != nil || r != "master" {
		t.Fatalf("SHARDIS.ROLE on the master = %q %v", r, err)
	}

	// Exact error replies, over raw RESP.
	rc := dial(t, f.Addr())
	bad := (p + 1) % cfg.Partitions
	wrong := AppendEffect(nil, Effect{Partition: bad, Seq: 11})
	gap := AppendEffect(nil, Effect{Partition: p, Seq: 12})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SHARDIS.SEQ", "16"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SEQ", "-1"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SEQ", "x"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SEQ"}, errR(resp.WrongArgs("shardis.seq"))},
		{[]string{"SHARDIS.EFFECTS", ps, "x", "1"}, errR(resp.ErrNotInteger)},
		{[]string{"SHARDIS.EFFECTS", ps, "-1", "1"}, errR(resp.ErrNotInteger)},
		{[]string{"SHARDIS.EFFECTS", ps, "0", "0"}, errR("ERR max must be positive")},
		{[]string{"SHARDIS.EFFECTS", ps, "11", "5"}, errR("SNAPSHOTNEEDED partition " + ps + " seq 10")},
		{[]string{"SHARDIS.APPLY", ps}, errR(resp.WrongArgs("shardis.apply"))},
		{[]string{"SHARDIS.APPLY", ps, "garbage"}, errR("ERR invalid effect: shard: malformed effect: checksum mismatch")},
		{[]string{"SHARDIS.APPLY", ps, string(wrong)}, errR("ERR invalid effect: shard: malformed effect: effect of partition " + strconv.Itoa(bad) + " applied to partition " + ps)},
		{[]string{"SHARDIS.APPLY", ps, string(gap)}, errR("SEQGAP partition " + ps + " seq 10 next 12")},
		{[]string{"SHARDIS.LOADSNAPSHOT", ps, "junk"}, errR(`ERR invalid snapshot: shard: malformed snapshot: not a snapshot (format "")`)},
		{[]string{"SHARDIS.ROLE", ps, "boss"}, errR(resp.ErrSyntax)},
		{[]string{"SHARDIS.DIGEST", "99999999999999999999"}, errR(errInvalidPartition)},
		{[]string{"SHARDIS.SEQ", ps}, intR(10)},
	} {
		if got := rc.do(tc.args...); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.args, got, tc.want)
		}
	}
	// The connection survived every refusal.
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
