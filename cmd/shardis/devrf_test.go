package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shardis/shardis/proxy"
)

// TestDevReplicated runs `shardis dev --rf 3` in process: the cluster
// serves through the proxy, every partition has three copies, and Ctrl-C
// stops it cleanly.
func TestDevReplicated(t *testing.T) {
	d := startDev(t, 60*time.Second, "--rf", "3", "--memory", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--partitions", "16", "--log-level", "error")
	r := d.ready
	if !strings.Contains(d.stdout.String(), "3 copies of each") {
		t.Errorf("banner: %q", d.stdout.String())
	}
	exerciseCluster(t, r)

	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"status", "--addr", r.clientAddr, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("status: %d %s", code, errb.String())
	}
	var st proxy.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	copies := 0
	for _, n := range st.Nodes {
		copies += n.Copies
	}
	if st.RF != 3 || len(st.Nodes) != 3 || copies != 3*16 || st.UnderReplicated != 0 {
		t.Errorf("status = %+v, want rf 3, 3 nodes, 48 copies", st)
	}

	d.stop(t, 30*time.Second)
}
