package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/rdb"
)

func TestImportExportHelp(t *testing.T) {
	for name, want := range map[string][]string{
		"import": {"--rdb FILE", "--addr", "--password", "--replace", "--pipeline", "--max-value SIZE", "(default 512mb)", "BUSYKEY"},
		"export": {"--rdb FILE", "--addr", "--password", "--count", "(default 1000)", "not one point in time", "FILE.tmp"},
	} {
		code, out, errOut := runCLI(name, "--help")
		if code != exitOK || errOut != "" || !strings.HasPrefix(out, "Usage: shardis "+name+" [flags]") {
			t.Errorf("%s --help: exit %d, stderr %q, out %.40q", name, code, errOut, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s --help lacks %q:\n%s", name, w, out)
			}
		}
	}
	if _, out, _ := runCLI("help"); !strings.Contains(out, "\n  import ") || !strings.Contains(out, "\n  export ") {
		t.Errorf("the command list lacks import or export:\n%s", out)
	}
}

// TestExportEmpty writes a cluster with no keys: a valid file of none.
func TestExportEmpty(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{InMemory: true, Shards: 1, Partitions: 8})
	file := filepath.Join(t.TempDir(), "empty.rdb")
	code, out, errOut := runCLI("export", "--rdb", file, "--addr", c.Addr)
	if code != exitOK || !strings.HasPrefix(out, "exported 0 keys to "+file) {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	f, err := os.Open(file)
	noErr(t, err)
	defer f.Close()
	r, err := rdb.NewReader(f, rdb.ReaderOptions{})
	noErr(t, err)
	if e, err := r.Next(); err == nil || e != nil {
		t.Errorf("a key in an empty export: %v, %v", e, err)
	}
}

func TestExportErrors(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{InMemory: true, Shards: 1, Partitions: 8})
	sh := redis.NewClient(&redis.Options{Addr: c.Addr, Protocol: 2})
	defer sh.Close()
	noErr(t, sh.Set(context.Background(), "k", "v", 0).Err())
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file flag", []string{"--addr", c.Addr}, exitUsage, "--rdb FILE is required"},
		{"bad count", []string{"--rdb", filepath.Join(dir, "x.rdb"), "--count", "0"}, exitUsage, "--count must be at least 1"},
		{"extra argument", []string{"--rdb", filepath.Join(dir, "x.rdb"), "more"}, exitUsage, `unexpected argument "more"`},
		{"no directory", []string{"--rdb", filepath.Join(dir, "missing", "x.rdb"), "--addr", c.Addr}, exitFailure, "no such file or directory"},
		{"no proxy", []string{"--rdb", filepath.Join(dir, "x.rdb"), "--addr", "127.0.0.1:1"}, exitFailure, "cannot reach the proxy"},
	} {
		code, out, errOut := runCLI(append([]string{"export"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d (want %d), stderr lacks %q:\n%s%s", tc.name, code, tc.code, tc.want, out, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed exports left files: %v", entries)
	}
}
