package configs

import (
	"path/filepath"
	"testing"
)

func TestDevDefaultIsReplicated(t *testing.T) {
	f := DefaultDevFile()
	if f.RF != 3 || f.Shards != 3 || f.MinInSync() != 2 {
		t.Errorf("default dev cluster: rf %d, shards %d, min in-sync %d; want 3, 3, 2", f.RF, f.Shards, f.MinInSync())
	}
	f.Shards = 2
	got := errLines(f.Validate())
	want := `dev.rf: 3 is more than shards (2): every copy needs a shard of its own; lower --rf or raise --shards`
	if len(got) != 1 || got[0] != want {
		t.Errorf("rf above shards: %q, want %q", got, want)
	}
	f.RF = 1
	if err := f.Validate(); err != nil || f.MinInSync() != 1 {
		t.Errorf("rf 1: %v, min in-sync %d", err, f.MinInSync())
	}
}

func TestDevControllerKeepsRaftInTheShardDir(t *testing.T) {
	f := DefaultDevFile()
	f.Partitions = 16
	dir := filepath.Join("d", "shard-1")
	c := f.ControllerConfig("127.0.0.1:7101", dir)
	if c.DataDir != filepath.Join(dir, "raft") || c.RaftAddr != "127.0.0.1:7101" || len(c.Voters) != 0 {
		t.Errorf("controller %+v: want a single voter with its log in %s", c, filepath.Join(dir, "raft"))
	}
	if c.RF != 3 || c.MinInSync != 2 || c.Partitions != 16 || c.ElectionTimeout != DefaultShardFile().ElectionTimeout {
		t.Errorf("controller shape %+v", c)
	}
	f.Memory = true
	if c := f.ControllerConfig("127.0.0.1:7101", dir); c.DataDir != "" {
		t.Errorf("in memory: raft dir %q", c.DataDir)
	}
}
