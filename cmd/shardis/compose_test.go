package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/shardis/shardis/configs"
)

type composeFile struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Command []string `yaml:"command"`
		Volumes []string `yaml:"volumes"`
		Ports   []string `yaml:"ports"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

type prometheusFile struct {
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestComposeUsesRealFlags checks docker/compose.yaml against the binary:
// every shardis command parses with the real FlagSets and validates; every
// node is a cluster member joining the shards' gossip addresses; every
// shard binds and advertises its own service name (which resolves to its
// container's IP) for RESP, Raft and the map; the voter lists agree with
// the shards' Raft addresses; and Prometheus scrapes every process's
// metrics address.
func TestComposeUsesRealFlags(t *testing.T) {
	dir := filepath.Join("..", "..", "docker")
	var compose composeFile
	readYAML(t, filepath.Join(dir, "compose.yaml"), &compose)

	shardAddrs := map[string]string{} // shard id -> service:port
	gossip := map[string]bool{}       // shard service:gossip port
	raftAddrs := map[string]string{}  // shard id -> its --raft-addr
	var voterLists []string           // each shard's --voter list, sorted
	var joins []string                // every --join entry
	scrape := map[string]bool{}       // service:port every process serves metrics on
	partitions := map[int]bool{}
	shardis := 0
	for name, svc := range compose.Services {
		if svc.Build.Dockerfile != "docker/Dockerfile" && !strings.HasPrefix(svc.Image, "shardis") {
			continue
		}
		shardis++
		if svc.Build.Dockerfile != "" {
			if _, err := os.Stat(filepath.Join(dir, svc.Build.Context, svc.Build.Dockerfile)); err != nil {
				t.Errorf("%s: build: %v", name, err)
			}
		}
		if len(svc.Command) == 0 {
			t.Errorf("%s: no command", name)
			continue
		}
		sub, args := svc.Command[0], svc.Command[1:]
		c, ok := findCommand(sub)
		if !ok || c.flags == nil {
			t.Errorf("%s: %q is not a shardis subcommand with flags", name, sub)
			continue
		}
		// Every flag named must exist (checked before parsing so the error
		// names the flag and the service).
		fs := c.flags()
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
				if fs.Lookup(n) == nil {
					t.Errorf("%s: shardis %s has no flag --%s", name, sub, n)
				}
			}
		}
		var stdout, stderr bytes.Buffer
		var code int
		switch sub {
		case "shard":
			var f configs.ShardFile
			f, code, _ = parseRole(c, args, &stdout, &stderr,
				configs.DefaultShardFile, configs.LoadShardFile, (*configs.ShardFile).RegisterFlags)
			_, port, _ := net.SplitHostPort(f.Addr)
			shardAddrs[f.ID] = name + ":" + port
			partitions[f.Partitions] = true
			if !f.Member() {
				t.Errorf("%s: not a cluster member (no --gossip-addr)", name)
			}
			_, gport, _ := net.SplitHostPort(f.GossipAddr)
			gossip[name+":"+gport] = true
			joins = append(joins, f.Join...)
			for what, addr := range map[string]string{"addr": f.Addr, "raft-addr": f.RaftAddr, "metrics-addr": f.MetricsAddr} {
				if h, _, _ := net.SplitHostPort(addr); h != name {
					t.Errorf("%s: --%s %q does not name the service (others must reach it there)", name, what, addr)
				}
			}
			raftAddrs[f.ID] = f.RaftAddr
			var vs []string
			for _, v := range f.Voters {
				vs = append(vs, v.ID+"="+v.Addr)
			}
			slices.Sort(vs)
			voterLists = append(voterLists, strings.Join(vs, ","))
			if !f.Memory && !slices.ContainsFunc(svc.Volumes, func(v string) bool { return strings.HasSuffix(v, ":"+f.DataDir) }) {
				t.Errorf("%s: data dir %s is not a volume (%v)", name, f.DataDir, svc.Volumes)
			}
			if f.MetricsAddr != "" {
				_, mport, _ := net.SplitHostPort(f.MetricsAddr)
				scrape[name+":"+mport] = true
			}
		case "proxy":
			var f configs.ProxyFile
			f, code, _ = parseRole(c, args, &stdout, &stderr,
				configs.DefaultProxyFile, configs.LoadProxyFile, (*configs.ProxyFile).RegisterFlags)
			if !f.Member() || len(f.Shards) > 0 {
				t.Errorf("%s: not a cluster member, or with a static shard list", name)
			}
			joins = append(joins, f.Join...)
			partitions[f.Partitions] = true
			_, port, _ := net.SplitHostPort(f.Addr)
			if !slices.ContainsFunc(svc.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
				t.Errorf("%s: client port %s is not published (%v)", name, port, svc.Ports)
			}
			if f.MetricsAddr != "" {
				_, mport, _ := net.SplitHostPort(f.MetricsAddr)
				scrape[name+":"+mport] = true
			}
		default:
			_, code, _ = parseRole(c, args, &stdout, &stderr,
				configs.DefaultDevFile, configs.LoadDevFile, (*configs.DevFile).RegisterFlags)
		}
		if code != 0 {
			t.Errorf("%s: shardis %s rejects its command (exit %d):\n%s", name, sub, code, stderr.String())
		}
	}
	if shardis != 4 || len(shardAddrs) != 3 {
		t.Fatalf("want 3 shards and a proxy, found %d shardis services, shard ids %v", shardis, shardAddrs)
	}
	if len(partitions) != 1 {
		t.Errorf("shards and proxy disagree on --partitions: %v", partitions)
	}
	for _, j := range joins {
		if !gossip[j] {
			t.Errorf("--join %s is not a shard's gossip address %v", j, gossip)
		}
	}
	var want []string
	for id, addr := range raftAddrs {
		want = append(want, id+"="+addr)
	}
	slices.Sort(want)
	for _, vs := range voterLists {
		if vs != strings.Join(want, ",") {
			t.Errorf("--voter %s, want every shard's --raft-addr: %s", vs, strings.Join(want, ","))
		}
	}

	var prom prometheusFile
	readYAML(t, filepath.Join(dir, "prometheus.yml"), &prom)
	targets := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				targets[tg] = true
			}
		}
	}
	for s := range scrape {
		if !targets[s] {
			t.Errorf("prometheus.yml does not scrape %s", s)
		}
	}
	for tg := range targets {
		host, _, _ := net.SplitHostPort(tg)
		if _, ok := compose.Services[host]; !ok && host != "localhost" {
			t.Errorf("prometheus.yml target %s is not a compose service", tg)
		}
	}
	if len(scrape) != 4 {
		t.Errorf("metrics served by %v, want every shard and the proxy", scrape)
	}
	prometheus, ok := compose.Services["prometheus"]
	if !ok || !slices.ContainsFunc(prometheus.Volumes, func(v string) bool {
		return strings.HasPrefix(v, "./prometheus.yml:")
	}) {
		t.Errorf("prometheus service does not mount ./prometheus.yml: %+v", prometheus)
	}
}

func TestDockerfileRunsTheBinary(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, w := range []string{"CGO_ENABLED=0", "./cmd/shardis", "USER 65532", `ENTRYPOINT ["/usr/local/bin/shardis"]`, "EXPOSE 6379 7001 9121"} {
		if !strings.Contains(s, w) {
			t.Errorf("Dockerfile lacks %q", w)
		}
	}
	// The default CMD must be a command the binary accepts.
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "CMD "); ok {
			var args []string
			if err := yaml.Unmarshal([]byte(rest), &args); err != nil || len(args) == 0 {
				t.Fatalf("CMD %q: %v", rest, err)
			}
			c, ok := findCommand(args[0])
			if !ok {
				t.Fatalf("CMD runs unknown command %q", args[0])
			}
			var out, errb bytes.Buffer
			if _, code, _ := parseRole(c, args[1:], &out, &errb,
				configs.DefaultDevFile, configs.LoadDevFile, (*configs.DevFile).RegisterFlags); code != 0 {
				t.Errorf("CMD %v rejected: %s", args, errb.String())
			}
		}
	}
}
