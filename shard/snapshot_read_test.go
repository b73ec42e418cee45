package shard

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/shardis/shardis/store"
)

// TestReadSnapshotStreamsAndVerifies: ReadSnapshot hands over every
// record WriteSnapshot wrote, and refuses any flipped byte, any
// truncation, another partition's snapshot and an item over the limit.
func TestReadSnapshotStreamsAndVerifies(t *testing.T) {
	m := newTestServer(t, testConfig(t), nil)
	c := &sinkConn{}
	p := m.pid([]byte("{r}"))
	for i := range 40 {
		run(m, c, "SET", "{r}"+strconv.Itoa(i), "value"+strconv.Itoa(i))
	}
	run(m, c, "HSET", "{r}h", "a", "1", "b", "2")
	snap, seq := snapshotOf(t, m, p)

	var keys, others int
	got, err := ReadSnapshot(bytes.NewReader(snap), p, 1<<10, func(k, _ string) error {
		if k[0] == store.SpaceKey {
			keys++
		} else {
			others++
		}
		return nil
	})
	if err != nil || got != seq {
		t.Fatalf("ReadSnapshot = %d, %v; want %d", got, err, seq)
	}
	if keys != 41 || others != 2 {
		t.Fatalf("%d key records and %d others, want 41 and 2", keys, others)
	}

	read := func(b []byte, pid int, maxItem uint64) error {
		_, err := ReadSnapshot(bytes.NewReader(b), pid, maxItem, func(string, string) error { return nil })
		return err
	}
	for i := range snap {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x01
		if err := read(bad, p, 1<<10); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
		if err := read(snap[:i], p, 1<<10); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
	if err := read(snap, (p+1)%16, 1<<10); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("another partition: %v", err)
	}
	if err := read(snap, p, 4); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("items over the limit: %v", err)
	}
	stop := errors.New("stop")
	if _, err := ReadSnapshot(bytes.NewReader(snap), p, 1<<10, func(string, string) error { return stop }); err != stop {
		t.Errorf("fn's error came back as %v", err)
	}
}
