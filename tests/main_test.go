// Package tests holds end-to-end tests of Shardis: an in-process cluster
// driven by real clients, the shardis binary run as separate processes, and
// hostile input on raw connections.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// procBuildState builds the shardis binary at most once per test binary run:
// only the tests that start processes pay for the build, and they share it.
type procBuildState struct {
	dir  string // temporary directory removed by TestMain
	once sync.Once
	path string // the built binary, valid when err is nil
	err  error
	out  []byte // go build output on failure
}

// procBuild is the per-run build of the binary. TestMain owns its directory.
var procBuild procBuildState

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shardis-tests-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: temp dir for the binary:", err)
		os.Exit(2)
	}
	procBuild.dir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// procBinary returns the path of a freshly built shardis binary, building it
// on first use (go build from this module's cmd/shardis).
func procBinary(t testing.TB) string {
	t.Helper()
	procBuild.once.Do(func() {
		procBuild.path = filepath.Join(procBuild.dir, "shardis")
		cmd := exec.Command("go", "build", "-o", procBuild.path, "github.com/shardis/shardis/cmd/shardis")
		procBuild.out, procBuild.err = cmd.CombinedOutput()
	})
	if procBuild.err != nil {
		t.Fatalf("go build ./cmd/shardis: %v\n%s", procBuild.err, procBuild.out)
	}
	return procBuild.path
}
