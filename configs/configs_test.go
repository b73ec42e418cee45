package configs

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shardis/shardis/proxy"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/shard"
)

func TestSamplesAreValidAndMatchDefaults(t *testing.T) {
	sh, err := LoadShardFile("shard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Validate(); err != nil {
		t.Errorf("shard.yaml: %v", err)
	}
	wantShard := DefaultShardFile()
	wantShard.ID, wantShard.DataDir = "shard-1", "/var/lib/shardis/shard-1"
	if !reflect.DeepEqual(sh, wantShard) {
		t.Errorf("shard.yaml drifted from DefaultShardFile:\n got %+v\nwant %+v", sh, wantShard)
	}

	px, err := LoadProxyFile("proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := px.Validate(); err != nil {
		t.Errorf("proxy.yaml: %v", err)
	}
	wantProxy := DefaultProxyFile()
	wantProxy.Shards = []Backend{
		{"shard-1", "127.0.0.1:7001"}, {"shard-2", "127.0.0.1:7002"}, {"shard-3", "127.0.0.1:7003"},
	}
	if !reflect.DeepEqual(px, wantProxy) {
		t.Errorf("proxy.yaml drifted from DefaultProxyFile:\n got %+v\nwant %+v", px, wantProxy)
	}

	dev, err := LoadDevFile("dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Validate(); err != nil {
		t.Errorf("dev.yaml: %v", err)
	}
	if !reflect.DeepEqual(dev, DefaultDevFile()) {
		t.Errorf("dev.yaml drifted from DefaultDevFile:\n got %+v\nwant %+v", dev, DefaultDevFile())
	}
}

// yamlKeys lists the YAML keys of a file struct, following inlined structs.
func yamlKeys(typ reflect.Type) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			keys = append(keys, yamlKeys(f.Type)...)
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

func flagNames(register func(*flag.FlagSet)) []string {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	register(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

func TestEveryFlagHasTheSameYAMLKeyAndTheSampleSetsIt(t *testing.T) {
	sh, px, dev := DefaultShardFile(), DefaultProxyFile(), DefaultDevFile()
	for _, c := range []struct {
		sample   string
		typ      reflect.Type
		register func(*flag.FlagSet)
	}{
		{"shard.yaml", reflect.TypeOf(sh), sh.RegisterFlags},
		{"proxy.yaml", reflect.TypeOf(px), px.RegisterFlags},
		{"dev.yaml", reflect.TypeOf(dev), dev.RegisterFlags},
	} {
		keys := yamlKeys(c.typ)
		flags := flagNames(c.register)
		slices.Sort(keys)
		slices.Sort(flags)
		if !slices.Equal(keys, flags) {
			t.Errorf("%s: YAML keys %v differ from flags %v", c.sample, keys, flags)
		}
		data, err := os.ReadFile(c.sample)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s does not document key %q", c.sample, k)
			}
		}
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKeepsDefaultsForMissingKeys(t *testing.T) {
	f, err := LoadShardFile(writeFile(t, "id: a\nmemory: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultShardFile()
	want.ID, want.Memory = "a", true
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got %+v want %+v", f, want)
	}
	empty, err := LoadDevFile(writeFile(t, "# nothing\n"))
	if err != nil || !reflect.DeepEqual(empty, DefaultDevFile()) {
		t.Errorf("empty file: %+v, %v", empty, err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name, body string
		load       func(string) error
		want       []string
	}{
		{"unknown key", "id: a\npartitons: 16\n",
			func(p string) error { _, err := LoadShardFile(p); return err },
			[]string{"line 2", "partitons"}},
		{"unknown nested key", "shard:\n  - id: a\n    adr: h:1\n",
			func(p string) error { _, err := LoadProxyFile(p); return err },
			[]string{"line 3", "adr"}},
		{"bad duration", "backend-timeout: 5\n",
			func(p string) error { _, err := LoadProxyFile(p); return err },
			[]string{"line 1", "Duration"}},
		{"bad size", "max-bulk-len: 12xb\n",
			func(p string) error { _, err := LoadProxyFile(p); return err },
			[]string{"line 1", `"12xb" is not a size`}},
		{"bad type", "shards: three\n",
			func(p string) error { _, err := LoadDevFile(p); return err },
			[]string{"line 1", "three"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, c.body)
			err := c.load(p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := LoadShardFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestValidateReportsEveryProblem(t *testing.T) {
	px := DefaultProxyFile()
	px.Addr = "localhost"
	px.Partitions = 300
	px.ConnsPerShard = 0
	px.BackendTimeout = -time.Second
	px.LogLevel = "loud"
	px.MetricsAddr = "h:99999"
	px.Shards = []Backend{{"a", "h:1"}, {"a", "h:1"}, {"", ""}}
	px.MaxBulkLen = 2 << 30
	got := errLines(px.Validate())
	want := []string{
		`proxy.addr: "localhost" is not HOST:PORT`,
		`proxy.shard[1].id: "a" is also the id of shard[0]`,
		`proxy.shard[1].addr: "h:1" is also the address of shard[0]`,
		`proxy.shard[2].id: "" is required`,
		`proxy.shard[2].addr: "" is required (HOST:PORT)`,
		`proxy.partitions: 300 is not a power of two`,
		`proxy.conns-per-shard: 0 must be positive`,
		`proxy.backend-timeout: -1s must be positive`,
		`proxy.metrics-addr: "h:99999" has no valid port (0 to 65535)`,
		`proxy.log-level: "loud" is not a log level (debug, info, warn, error)`,
		`proxy.max-bulk-len: 2gb is larger than max-query-buffer (1gb): such a value could never be read`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	empty := DefaultProxyFile()
	if got := errLines(empty.Validate()); !slices.Equal(got, []string{
		"proxy.shard: [] is empty: give at least one shard (--shard ID=HOST:PORT), or join a cluster (--gossip-addr, --join)"}) {
		t.Errorf("no shards: %q", got)
	}

	sh := DefaultShardFile()
	sh.Partitions = 32768
	sh.Sync = "sometimes"
	sh.ExpiryInterval = 0
	sh.MaxArgs = 0
	got = errLines(sh.Validate())
	want = []string{
		`shard.id: "" is required (e.g. --id shard-1)`,
		`shard.data-dir: "" is required unless memory is set`,
		`shard.partitions: 32768 is out of range (1 to 16384)`,
		`shard.sync: "sometimes" is not a sync policy (always, everysec, no)`,
		`shard.expiry-interval: 0s must be positive`,
		`shard.max-args: 0 must be positive`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	dev := DefaultDevFile()
	dev.Shards = 0
	dev.Partitions = 0
	got = errLines(dev.Validate())
	want = []string{
		`dev.shards: 0 is out of range (1 to 64)`,
		`dev.partitions: 0 is out of range (1 to 16384)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	f, err := LoadProxyFile("proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.RegisterFlags(fs)
	err = fs.Parse([]string{
		"--partitions", "1024", "--shard", "x=10.0.0.1:7001,y=10.0.0.2:7001",
		"--shard=z=10.0.0.3:7001", "--max-query-buffer", "2gb", "--backend-timeout=250ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultProxyFile()
	want.Partitions = 1024
	want.Shards = []Backend{{"x", "10.0.0.1:7001"}, {"y", "10.0.0.2:7001"}, {"z", "10.0.0.3:7001"}}
	want.MaxQueryBuffer = 2 << 30
	want.BackendTimeout = 250 * time.Millisecond
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got %+v\nwant %+v", f, want)
	}

	// Without --shard the file's list stays.
	g, _ := LoadProxyFile("proxy.yaml")
	fs = flag.NewFlagSet("proxy", flag.ContinueOnError)
	g.RegisterFlags(fs)
	if err := fs.Parse([]string{"--addr", "0.0.0.0:6380"}); err != nil {
		t.Fatal(err)
	}
	if len(g.Shards) != 3 || g.Addr != "0.0.0.0:6380" {
		t.Errorf("got %+v", g)
	}
}

func TestShardFlagErrors(t *testing.T) {
	for _, arg := range []string{"noequals", "=h:1", "a=", "a=host", "a=h:70000", ","} {
		var list []Backend
		if err := (&backendList{list: &list}).Set(arg); err == nil {
			t.Errorf("--shard %q accepted: %v", arg, list)
		}
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Size
	}{
		{"0", 0}, {"100", 100}, {"1k", 1000}, {"1kb", 1024}, {"64KB", 64 << 10},
		{"1m", 1e6}, {"512mb", 512 << 20}, {"1g", 1e9}, {"1gb", 1 << 30}, {"10b", 10}, {" 2 mb ", 2 << 20},
	} {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
		back, err := ParseSize(got.String())
		if err != nil || back != got {
			t.Errorf("%d prints as %q which parses to %d, %v", got, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "mb", "-1", "1.5mb", "1tb", "99999999999gb"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	var l struct {
		A Size `yaml:"a"`
		B Size `yaml:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: 1048576\nb: 3kb\n"), &l); err != nil || l.A != 1<<20 || l.B != 3<<10 {
		t.Errorf("yaml: %+v %v", l, err)
	}
	out, err := yaml.Marshal(struct {
		A Size `yaml:"a"`
		B Size `yaml:"b"`
	}{512 << 20, 1000})
	if err != nil || string(out) != "a: 512mb\nb: 1000\n" {
		t.Errorf("marshal: %q %v", out, err)
	}
	if err := yaml.Unmarshal([]byte("a: [1]\n"), &l); err == nil || !strings.Contains(err.Error(), "expected a size, got a list") {
		t.Errorf("list as size: %v", err)
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, s := range []string{"debug", "info", "warn", "error", "INFO"} {
		if _, err := ParseLogLevel(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseLogLevel("trace"); err == nil {
		t.Error("trace accepted")
	}
}

func TestRuntimeConfigs(t *testing.T) {
	sh := DefaultShardFile()
	sh.ID, sh.DataDir, sh.Sync, sh.MaxArgs = "s1", "/d", "always", 7
	sc := sh.ToShardConfig()
	wantLimits := resp.Limits{}.WithDefaults()
	wantLimits.MaxArgs = 7
	want := shard.Config{ID: "s1", Addr: "127.0.0.1:7001", DataDir: "/d", Partitions: DefaultPartitions,
		Sync: shard.SyncAlways, ExpiryInterval: 100 * time.Millisecond, SweepBatch: 128, Limits: wantLimits,
		MinInSync: 2, CommitLevel: shard.CommitAll, ReplAckTimeout: shard.DefaultReplAckTimeout,
		Standalone: true, SnapshotRate: shard.DefaultSnapshotRate, SnapshotChunkSize: shard.DefaultSnapshotChunkSize,
		SnapshotIdleTimeout: shard.DefaultSnapshotIdleTimeout, SnapshotMaxSessions: shard.DefaultSnapshotMaxSessions,
		SnapshotPinBytes: shard.DefaultSnapshotPinBytes}
	if !reflect.DeepEqual(sc, want) {
		t.Errorf("shard config %+v want %+v", sc, want)
	}

	px, _ := LoadProxyFile("proxy.yaml")
	px.Password = "pw"
	pc := px.ToProxyConfig()
	wantP := proxy.Config{Addr: "127.0.0.1:6379",
		Shards:     []proxy.Backend{{ID: "shard-1", Addr: "127.0.0.1:7001"}, {ID: "shard-2", Addr: "127.0.0.1:7002"}, {ID: "shard-3", Addr: "127.0.0.1:7003"}},
		Partitions: DefaultPartitions, Password: "pw", ConnsPerShard: 2, BackendTimeout: 5 * time.Second, RetryBudget: 2 * time.Second,
		MaxPipeline: 4096, MaxClients: 10000, Limits: resp.Limits{}.WithDefaults()}
	if !reflect.DeepEqual(pc, wantP) {
		t.Errorf("proxy config %+v want %+v", pc, wantP)
	}

	dev := DefaultDevFile()
	dev.Partitions, dev.Password = 64, "pw"
	s2 := dev.ShardConfig(1, "/tmp/x")
	if s2.ID != "shard-2" || s2.Addr != "127.0.0.1:0" || s2.DataDir != filepath.Join("/tmp/x", "shard-2") ||
		s2.Partitions != 64 || s2.InMemory || s2.Sync != shard.SyncEverySec {
		t.Errorf("dev shard config %+v", s2)
	}
	dev.Memory = true
	if s := dev.ShardConfig(0, "/tmp/x"); !s.InMemory || s.DataDir != "" {
		t.Errorf("dev memory shard config %+v", s)
	}
	backends := []proxy.Backend{{ID: "shard-1", Addr: "127.0.0.1:1"}}
	p := dev.ProxyConfig(backends)
	if p.Addr != dev.Addr || p.Partitions != 64 || p.Password != "pw" || !reflect.DeepEqual(p.Shards, backends) ||
		p.ConnsPerShard != 2 || p.MaxClients != 10000 {
		t.Errorf("dev proxy config %+v", p)
	}
}

// TestValidateCluster checks the cluster settings of shards and proxies:
// each problem is named with its field and value.
func TestValidateCluster(t *testing.T) {
	sh := DefaultShardFile()
	sh.ID, sh.DataDir = "s1", "/d"
	sh.Join = []string{"127.0.0.1:7946"}
	sh.Voters = []Backend{{ID: "s1", Addr: "127.0.0.1:7101"}}
	sh.MinInSync = 4
	sh.CommitLevel = "some"
	got := errLines(sh.Validate())
	want := []string{
		`shard.join: "127.0.0.1:7946" needs gossip-addr (this node's own gossip address)`,
		`shard.raft-addr: "" needs gossip-addr: a controller voter is a cluster member`,
		`shard.metrics-addr: "" is required on a controller voter: the cluster map is served there`,
		`shard.voter: "s1=127.0.0.1:7101" is set but raft-addr is not`,
		`shard.min-insync: 4 is out of range (1 to rf, 3)`,
		`shard.commit-level: "some" is not a commit level (all, master)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("shard: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	sh = DefaultShardFile()
	sh.ID, sh.DataDir, sh.GossipAddr, sh.GossipKey = "s2", "/d", "localhost:7946", "not base64!"
	got = errLines(sh.Validate())
	want = []string{
		`shard.gossip-addr: "localhost:7946" is not IP:PORT`,
		`shard.gossip-key: (hidden) is not base64`,
		`shard.join: [] is empty: a shard that is not a controller voter must join one (--join IP:PORT)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("shard member: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	px, err := LoadProxyFile("proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	px.GossipAddr = "127.0.0.1:7946"
	got = errLines(px.Validate())
	if len(got) != 1 || !strings.HasPrefix(got[0], "proxy.shard: ") || !strings.Contains(got[0], "must be empty on a cluster member") {
		t.Errorf("member proxy with a shard list: %q", got)
	}
	px.Shards, px.Join = nil, []string{"127.0.0.1:7947"}
	if err := px.Validate(); err != nil {
		t.Errorf("member proxy: %v", err)
	}
	if id := px.MemberID(); id != "proxy@127.0.0.1:6379" {
		t.Errorf("default member id %q", id)
	}
	m := px.Membership(px.MemberID())
	if m.BindAddr != "127.0.0.1" || m.BindPort != 7946 || m.Label != DefaultClusterName || len(m.Seeds) != 1 {
		t.Errorf("membership config %+v", m)
	}
}
