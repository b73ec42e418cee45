package proxy

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/shardis/shardis/resp"
)

// snapData is the snapshot every fake shard holds, whatever the partition.
const snapData = "0123456789abcdef"

// answerSnapshots is a fake shard's side of the snapshot commands: a
// snapshot "<id>-p<p>" of snapData for every partition but 5, which it
// says it does not master.
func answerSnapshots(id string) func(args [][]byte) string {
	return func(args [][]byte) string {
		switch string(args[0]) {
		case "SHARDIS.SNAPSHOT":
			if string(args[1]) == "5" {
				return "-ERR this shard does not master partition 5\r\n"
			}
			b := resp.AppendArrayHeader(nil, 3)
			b = resp.AppendBulkString(b, id+"-p"+string(args[1]))
			b = resp.AppendInt(b, 42)
			b = resp.AppendInt(b, int64(len(snapData)))
			return string(b)
		case "SHARDIS.SNAPREAD":
			if !strings.HasPrefix(string(args[1]), id+"-") {
				return "-ERR no snapshot " + string(args[1]) + "\r\n"
			}
			off, _ := strconv.Atoi(string(args[2]))
			n, _ := strconv.Atoi(string(args[3]))
			off = min(off, len(snapData))
			return string(resp.AppendBulkString(nil, snapData[off:min(off+n, len(snapData))]))
		case "SHARDIS.SNAPDONE":
			return "+OK\r\n"
		}
		return "-ERR unexpected " + string(args[0]) + "\r\n"
	}
}

// TestBackupCommandsReachTheShardThatTookTheSnapshot: SHARDIS.BACKUP goes
// to the partition's master and names it; BACKUPREAD and BACKUPDONE go to
// the shard named; bad arguments and shard errors reach the client as
// Redis-style errors.
func TestBackupCommandsReachTheShardThatTookTheSnapshot(t *testing.T) {
	var backends []Backend
	shards := map[string]*resp3Shard{}
	for _, id := range []string{"s1", "s2"} {
		s := startRESP3Shard(t, id, answerSnapshots(id))
		shards[id] = s
		backends = append(backends, Backend{ID: id, Addr: s.ln.Addr().String()})
	}
	p, err := New(Config{Addr: "127.0.0.1:0", Shards: backends, Partitions: 16,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	for _, proto := range []int{resp.RESP2, resp.RESP3} {
		c := dialProxy(t, p, proto)
		for part := range 16 {
			if part == 5 {
				continue
			}
			master := p.route.Load().master[part].id
			snap := master + "-p" + strconv.Itoa(part)
			want := "*4\r\n$2\r\n" + master + "\r\n$" + strconv.Itoa(len(snap)) + "\r\n" + snap + "\r\n:42\r\n:16\r\n"
			if got := c.do("SHARDIS.BACKUP", strconv.Itoa(part)); got != want {
				t.Fatalf("RESP%d BACKUP %d = %q, want %q", proto, part, got, want)
			}
			var read string
			for off := 0; ; off += 5 {
				got := c.do("SHARDIS.BACKUPREAD", master, snap, strconv.Itoa(off), "5")
				v, _, err := resp.ParseValue([]byte(got))
				if err != nil || v.Kind != resp.KindBulk {
					t.Fatalf("BACKUPREAD = %q", got)
				}
				if len(v.Str) == 0 {
					break
				}
				read += string(v.Str)
			}
			if read != snapData {
				t.Fatalf("read %q, want %q", read, snapData)
			}
			if got := c.do("SHARDIS.BACKUPDONE", master, snap); got != "+OK\r\n" {
				t.Fatalf("BACKUPDONE = %q", got)
			}
		}
		other := map[string]string{"s1": "s2", "s2": "s1"}[p.route.Load().master[0].id]
		for _, tc := range []struct{ cmd, want string }{
			{"SHARDIS.BACKUP 5", "-ERR this shard does not master partition 5\r\n"},
			{"SHARDIS.BACKUP 16", "-ERR invalid partition\r\n"},
			{"SHARDIS.BACKUP -1", "-ERR invalid partition\r\n"},
			{"SHARDIS.BACKUP x", "-ERR invalid partition\r\n"},
			{"SHARDIS.BACKUP", "-ERR wrong number of arguments for 'shardis.backup' command\r\n"},
			{"SHARDIS.BACKUP 1 2", "-ERR wrong number of arguments for 'shardis.backup' command\r\n"},
			{"SHARDIS.BACKUPREAD s1 x 0", "-ERR wrong number of arguments for 'shardis.backupread' command\r\n"},
			{"SHARDIS.BACKUPREAD s9 x 0 5", "-ERR no shard \"s9\" in the cluster map\r\n"},
			{"SHARDIS.BACKUPDONE s9 x", "-ERR no shard \"s9\" in the cluster map\r\n"},
			// A snapshot read from a shard that did not take it.
			{"SHARDIS.BACKUPREAD " + other + " " + p.route.Load().master[0].id + "-p0 0 5",
				"-ERR no snapshot " + p.route.Load().master[0].id + "-p0\r\n"},
		} {
			if got := c.do(strings.Fields(tc.cmd)...); got != tc.want {
				t.Errorf("RESP%d %s = %q, want %q", proto, tc.cmd, got, tc.want)
			}
		}
	}
}

// TestBackupCommandsNeedAuth: with a password, the backup commands are
// refused before AUTH, like every other command.
func TestBackupCommandsNeedAuth(t *testing.T) {
	s := startRESP3Shard(t, "s1", answerSnapshots("s1"))
	p, err := New(Config{Addr: "127.0.0.1:0", Shards: []Backend{{ID: "s1", Addr: s.ln.Addr().String()}},
		Partitions: 16, Password: "pw", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := dialProxy(t, p, resp.RESP2)
	if got := c.do("SHARDIS.BACKUP", "0"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Fatalf("BACKUP before AUTH = %q", got)
	}
	if got := c.do("AUTH", "pw"); got != "+OK\r\n" {
		t.Fatalf("AUTH = %q", got)
	}
	if got := c.do("SHARDIS.BACKUP", "0"); !strings.HasPrefix(got, "*4\r\n$2\r\ns1\r\n") {
		t.Fatalf("BACKUP after AUTH = %q", got)
	}
}
