package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardis/shardis/configs"
)

// stableFlags are the flags scripts and the compose file rely on; removing
// or renaming one must fail a test.
var stableFlags = map[string][]string{
	"dev": {"addr", "metrics-addr", "data-dir", "shards", "memory", "partitions", "password", "config", "log-level"},
	"shard": {"id", "addr", "data-dir", "memory", "partitions", "sync", "metrics-addr", "config", "log-level",
		"max-bulk-len", "max-args", "max-inline-len", "max-query-buffer"},
	"proxy": {"addr", "shard", "partitions", "password", "conns-per-shard", "backend-timeout", "max-clients",
		"max-bulk-len", "max-args", "max-inline-len", "max-query-buffer", "metrics-addr", "config", "log-level"},
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMainHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, name := range []string{"dev", "shard", "proxy", "version", "help"} {
			if !strings.Contains(out, "\n  "+name+" ") {
				t.Errorf("%v: usage does not list %q:\n%s", args, name, out)
			}
		}
	}
}

func TestCommandHelpListsEveryFlag(t *testing.T) {
	for name, stable := range stableFlags {
		c, ok := findCommand(name)
		if !ok {
			t.Fatalf("no command %s", name)
		}
		var all []string
		c.flags().VisitAll(func(f *flag.Flag) { all = append(all, f.Name) })
		for _, s := range stable {
			if !slices.Contains(all, s) {
				t.Errorf("shardis %s lost flag --%s", name, s)
			}
		}
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			code, out, errOut := runCLI(args...)
			if code != 0 || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
			}
			if !strings.HasPrefix(out, "Usage: shardis "+name+" [flags]") {
				t.Errorf("%v: usage starts %q", args, out[:min(len(out), 40)])
			}
			for _, fl := range all {
				if !strings.Contains(out, "\n  --"+fl+" ") && !strings.Contains(out, "\n  --"+fl+"\n") {
					t.Errorf("%v: help does not show --%s:\n%s", args, fl, out)
				}
			}
		}
	}
	code, out, _ := runCLI("shard", "--help")
	for _, want := range []string{"--max-bulk-len SIZE", "(default 512mb)", "--sync POLICY", "(default everysec)",
		"--config FILE", "--id ID"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("shard --help lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("proxy", "--help")
	for _, want := range []string{"--shard ID=HOST:PORT", "--backend-timeout DURATION", "(default 5s)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("proxy --help lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"Usage:", "Commands:"}},
		{[]string{"serve"}, []string{`unknown command "serve"`, "Commands:"}},
		{[]string{"help", "serve"}, []string{`unknown command "serve"`}},
		{[]string{"dev", "--bogus"}, []string{"flag provided but not defined: -bogus", "Usage: shardis dev"}},
		{[]string{"shard", "--partitions", "many"}, []string{`invalid value "many" for flag -partitions`, "Usage: shardis shard"}},
		{[]string{"proxy", "--shard", "nope"}, []string{`"nope" is not ID=HOST:PORT`}},
		{[]string{"proxy", "--max-bulk-len", "1tb"}, []string{`"1tb" is not a size`}},
		{[]string{"dev", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"version", "x"}, []string{`unexpected argument "x"`}},
		{[]string{"shard", "--config", "/nonexistent/shard.yaml"}, []string{"/nonexistent/shard.yaml"}},
	} {
		code, out, errOut := runCLI(c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", c.args, out)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, errOut)
			}
		}
	}
}

func TestValidationErrorsNameFieldAndValue(t *testing.T) {
	code, _, errOut := runCLI("shard", "--partitions", "300", "--sync", "sometimes", "--log-level", "loud")
	if code != exitUsage {
		t.Errorf("exit %d", code)
	}
	for _, w := range []string{
		`shard.id: "" is required`,
		`shard.data-dir: "" is required unless memory is set`,
		"shard.partitions: 300 is not a power of two",
		`shard.sync: "sometimes" is not a sync policy`,
		`shard.log-level: "loud" is not a log level`,
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	code, _, errOut = runCLI("proxy", "--conns-per-shard", "0")
	if code != exitUsage || !strings.Contains(errOut, "proxy.shard: [] is empty") ||
		!strings.Contains(errOut, "proxy.conns-per-shard: 0 must be positive") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
	code, _, errOut = runCLI("dev", "--shards", "0")
	if code != exitUsage || !strings.Contains(errOut, "dev.shards: 0 is out of range") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	c, _ := findCommand("proxy")
	parse := func(args ...string) (configs.ProxyFile, int, string) {
		var out, errb bytes.Buffer
		f, code, _ := parseRole(c, args, &out, &errb,
			configs.DefaultProxyFile, configs.LoadProxyFile, (*configs.ProxyFile).RegisterFlags)
		return f, code, errb.String()
	}
	file := writeConfig(t, `
addr: 0.0.0.0:7000
partitions: 64
password: fromfile
backend-timeout: 2s
max-bulk-len: 1mb
shard:
  - {id: a, addr: "10.0.0.1:7001"}
  - {id: b, addr: "10.0.0.2:7001"}
`)
	// File over defaults.
	f, code, errOut := parse("--config", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := configs.DefaultProxyFile()
	want.Addr, want.Partitions, want.Password, want.BackendTimeout, want.MaxBulkLen = "0.0.0.0:7000", 64, "fromfile", 2*time.Second, 1<<20
	want.Shards = []configs.Backend{{ID: "a", Addr: "10.0.0.1:7001"}, {ID: "b", Addr: "10.0.0.2:7001"}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("file:\n got %+v\nwant %+v", f, want)
	}

	// Flags over the file, wherever --config sits among them; --shard
	// replaces the file's list; a flag set to its default still wins.
	for _, args := range [][]string{
		{"--partitions", "128", "--config", file, "--shard", "x=h:1", "--shard", "y=h:2", "--backend-timeout", "5s", "--password="},
		{"--config=" + file, "--partitions=128", "--shard=x=h:1,y=h:2", "--backend-timeout=5s", "--password", ""},
	} {
		f, code, errOut = parse(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		w := want
		w.Partitions, w.BackendTimeout, w.Password = 128, 5*time.Second, ""
		w.Shards = []configs.Backend{{ID: "x", Addr: "h:1"}, {ID: "y", Addr: "h:2"}}
		if !reflect.DeepEqual(f, w) {
			t.Errorf("%v:\n got %+v\nwant %+v", args, f, w)
		}
	}

	// Flags alone over defaults.
	f, code, _ = parse("--shard", "x=h:1", "--max-clients", "5")
	w := configs.DefaultProxyFile()
	w.Shards, w.MaxClients = []configs.Backend{{ID: "x", Addr: "h:1"}}, 5
	if code != 0 || !reflect.DeepEqual(f, w) {
		t.Errorf("flags only: exit %d\n got %+v\nwant %+v", code, f, w)
	}

	// Unknown key in the file: exit 2 naming the key.
	bad := writeConfig(t, "shard:\n  - {id: a, addr: \"h:1\"}\nmax_clients: 3\n")
	_, code, errOut = parse("--config", bad)
	if code != exitUsage || !strings.Contains(errOut, "max_clients") || !strings.Contains(errOut, "line 3") {
		t.Errorf("unknown key: exit %d: %s", code, errOut)
	}
	// Invalid value from the file is reported like a flag's.
	bad = writeConfig(t, "shard:\n  - {id: a, addr: \"h:1\"}\npartitions: 300\n")
	_, code, errOut = parse("--config", bad)
	if code != exitUsage || !strings.Contains(errOut, "proxy.partitions: 300 is not a power of two") {
		t.Errorf("invalid file: exit %d: %s", code, errOut)
	}
}

func TestSampleConfigsLoadThroughTheCLI(t *testing.T) {
	for _, c := range []struct{ cmd, file string }{
		{"shard", "shard.yaml"}, {"proxy", "proxy.yaml"}, {"dev", "dev.yaml"},
	} {
		cmd, _ := findCommand(c.cmd)
		var out, errb bytes.Buffer
		path := filepath.Join("..", "..", "configs", c.file)
		var code int
		switch c.cmd {
		case "shard":
			_, code, _ = parseRole(cmd, []string{"--config", path}, &out, &errb,
				configs.DefaultShardFile, configs.LoadShardFile, (*configs.ShardFile).RegisterFlags)
		case "proxy":
			_, code, _ = parseRole(cmd, []string{"--config", path}, &out, &errb,
				configs.DefaultProxyFile, configs.LoadProxyFile, (*configs.ProxyFile).RegisterFlags)
		case "dev":
			_, code, _ = parseRole(cmd, []string{"--config", path}, &out, &errb,
				configs.DefaultDevFile, configs.LoadDevFile, (*configs.DevFile).RegisterFlags)
		}
		if code != 0 {
			t.Errorf("%s --config %s: exit %d: %s", c.cmd, path, code, errb.String())
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != 0 || !strings.HasPrefix(out, "shardis ") || !strings.Contains(out, "go1.") {
		t.Errorf("exit %d: %q", code, out)
	}
}

func TestDevPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	code, out, errOut := runCLI("dev", "--addr", addr, "--metrics-addr", "", "--memory")
	if code != exitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	for _, w := range []string{"client address " + addr + " is already in use", "--addr"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q: %s", w, errOut)
		}
	}
	// The metrics port is checked the same way.
	code, _, errOut = runCLI("dev", "--addr", "127.0.0.1:0", "--metrics-addr", addr, "--memory")
	if code != exitFailure || !strings.Contains(errOut, "metrics address "+addr+" is already in use") ||
		!strings.Contains(errOut, "--metrics-addr") {
		t.Errorf("metrics port: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI("shard", "--id", "s1", "--memory", "--addr", addr)
	if code != exitFailure || !strings.Contains(errOut, addr) || !strings.Contains(errOut, "--addr") {
		t.Errorf("shard: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI("proxy", "--shard", "s1=127.0.0.1:1", "--addr", addr)
	if code != exitFailure || !strings.Contains(errOut, addr) || !strings.Contains(errOut, "--addr") {
		t.Errorf("proxy: exit %d: %s", code, errOut)
	}
}

func TestSuggestAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:6379": "127.0.0.1:6380", "[::1]:9121": "[::1]:9122", "h:65535": "h:0", "junk": "127.0.0.1:0",
	} {
		if got := suggestAddr(in); got != want {
			t.Errorf("suggestAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
