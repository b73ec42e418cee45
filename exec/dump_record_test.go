package exec

import (
	"testing"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/store"
)

// TestDumpRecordIsDump: DumpRecord gives, for the records a scan of the
// partition finds, the payload DUMP answers; and a payload for a record
// past its expiry too, which DUMP no longer sees.
func TestDumpRecordIsDump(t *testing.T) {
	s := newTestStore(t)
	s.do("SET", "str", "hello")
	s.do("HSET", "hash", "f", "1", "g", "2")
	s.do("RPUSH", "list", "a", "b", "a")
	s.do("SADD", "set", "1", "2", "x")
	s.do("ZADD", "zset", "1", "a", "2.5", "b")
	s.do("SET", "old", "v", "PX", "10")
	want := map[string]string{}
	for _, k := range []string{"str", "hash", "list", "set", "zset", "old"} {
		v, _, err := resp.ParseValue([]byte(s.do("DUMP", k)))
		if err != nil || v.Kind != resp.KindBulk {
			t.Fatalf("DUMP %s: %v", k, err)
		}
		want[k] = string(v.Str)
	}
	s.now += 1000 // "old" has expired
	if got := s.do("DUMP", "old"); got != "_\r\n" {
		t.Fatalf("DUMP of an expired key = %q", got)
	}
	got := map[string]string{}
	err := s.m.View(s.now, func(tx *store.Txn) error {
		var derr error
		serr := tx.ScanKeys(0, func(_ uint32, key string, r store.Record) bool {
			var b []byte
			b, derr = DumpRecord(tx, []byte(key), &r)
			got[key] = string(b)
			return derr == nil
		})
		if derr != nil {
			return derr
		}
		return serr
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("DumpRecord(%s) = %q, DUMP said %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("scan found %d keys, want %d", len(got), len(want))
	}
}
