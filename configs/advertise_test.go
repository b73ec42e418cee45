package configs

import (
	"slices"
	"strings"
	"testing"
)

// memberShard is a valid controller voter bound to loopback.
func memberShard() ShardFile {
	sh := DefaultShardFile()
	sh.ID, sh.DataDir = "s1", "/d"
	sh.GossipAddr, sh.RaftAddr, sh.MetricsAddr = "127.0.0.1:7946", "127.0.0.1:7101", "127.0.0.1:9121"
	return sh
}

func TestAdvertiseWildcardBindsNeedAnAddress(t *testing.T) {
	if err := memberShard().Validate(); err != nil {
		t.Fatalf("voter on loopback: %v", err)
	}

	sh := memberShard()
	sh.Addr, sh.GossipAddr, sh.RaftAddr = "0.0.0.0:7001", "0.0.0.0:7946", "[::]:7101"
	got := errLines(sh.Validate())
	want := []string{
		`shard.addr: "0.0.0.0:7001" binds every interface, which other nodes cannot dial: give advertise-addr (HOST:PORT they reach this one at)`,
		`shard.gossip-addr: "0.0.0.0:7946" binds every interface, which other nodes cannot dial: give advertise-gossip-addr (HOST:PORT they reach this one at)`,
		`shard.raft-addr: "[::]:7101" binds every interface, which other nodes cannot dial: give advertise-raft-addr (HOST:PORT they reach this one at)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("wildcard binds: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A pod's names and IP, as the Kubernetes manifests give them.
	sh.AdvertiseAddr = "shardis-shard-0.shardis-shard.db.svc.cluster.local:7001"
	sh.AdvertiseGossipAddr = "10.1.2.3:7946"
	sh.AdvertiseRaftAddr = "shardis-shard-0.shardis-shard.db.svc.cluster.local:7101"
	if err := sh.Validate(); err != nil {
		t.Errorf("wildcard binds with advertised addresses: %v", err)
	}
	// ":7001" binds every interface too.
	sh.Addr, sh.AdvertiseAddr = ":7001", ""
	if got := errLines(sh.Validate()); len(got) != 1 || !strings.HasPrefix(got[0], `shard.addr: ":7001" binds every interface`) {
		t.Errorf(":7001 without advertise-addr: %q", got)
	}

	// A standalone shard may bind every interface: it tells nobody.
	solo := DefaultShardFile()
	solo.ID, solo.DataDir, solo.Addr = "s1", "/d", "0.0.0.0:7001"
	if err := solo.Validate(); err != nil {
		t.Errorf("standalone shard on 0.0.0.0: %v", err)
	}
}

func TestAdvertiseBadValues(t *testing.T) {
	sh := memberShard()
	sh.AdvertiseAddr = "0.0.0.0:7001"
	sh.AdvertiseGossipAddr = "10.1.2.3"
	sh.AdvertiseRaftAddr = "h:99999"
	got := errLines(sh.Validate())
	want := []string{
		`shard.advertise-addr: "0.0.0.0:7001" must name a host others can dial, not a wildcard`,
		`shard.advertise-gossip-addr: "10.1.2.3" is not HOST:PORT`,
		`shard.advertise-raft-addr: "h:99999" has no valid port (0 to 65535)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	sh = memberShard()
	sh.GossipAddr, sh.AdvertiseGossipAddr = "0.0.0.0:0", "10.1.2.3:7946"
	got = errLines(sh.Validate())
	if len(got) != 1 || !strings.Contains(got[0], "a random port cannot be forwarded") {
		t.Errorf("advertised gossip port with a random bind: %q", got)
	}
	sh.AdvertiseGossipAddr = "127.0.0.1:0"
	if err := sh.Validate(); err != nil {
		t.Errorf("port 0 meaning the bound port: %v", err)
	}

	sh = DefaultShardFile()
	sh.ID, sh.DataDir = "s1", "/d"
	sh.AdvertiseAddr, sh.AdvertiseRaftAddr = "h:7001", "h:7101"
	got = errLines(sh.Validate())
	want = []string{
		`shard.advertise-addr: "h:7001" needs gossip-addr: only cluster members advertise addresses`,
		`shard.advertise-raft-addr: "h:7101" is set but raft-addr is not`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("advertising on a standalone shard: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAdvertiseProxy(t *testing.T) {
	px := DefaultProxyFile()
	px.Addr, px.GossipAddr, px.Join = "0.0.0.0:6379", "0.0.0.0:7946", []string{"shardis-shard:7946"}
	got := errLines(px.Validate())
	if len(got) != 2 || !strings.HasPrefix(got[0], `proxy.addr: "0.0.0.0:6379" binds every interface`) ||
		!strings.HasPrefix(got[1], `proxy.gossip-addr: "0.0.0.0:7946" binds every interface`) {
		t.Errorf("member proxy on wildcards: %q", got)
	}
	px.AdvertiseAddr, px.AdvertiseGossipAddr = "10.1.2.4:6379", "10.1.2.4:7946"
	if err := px.Validate(); err != nil {
		t.Errorf("with advertised addresses: %v", err)
	}
	if id := px.MemberID(); id != "proxy@10.1.2.4:6379" {
		t.Errorf("member id %q, want it named after the advertised address", id)
	}
	// A proxy with a static shard list is no member: 0.0.0.0 is fine.
	static := DefaultProxyFile()
	static.Addr, static.Shards = "0.0.0.0:6379", []Backend{{ID: "a", Addr: "10.0.0.1:7001"}}
	if err := static.Validate(); err != nil {
		t.Errorf("static proxy on 0.0.0.0: %v", err)
	}
}

func TestWildcard(t *testing.T) {
	for addr, want := range map[string]bool{
		"0.0.0.0:1": true, "[::]:1": true, ":1": true,
		"127.0.0.1:1": false, "shard-1:1": false, "[::1]:1": false, "nonsense": false,
	} {
		if got := Wildcard(addr); got != want {
			t.Errorf("Wildcard(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestShardVoterByList: one command line for every shard of a group, with
// the voters' list and a raft-addr, makes voters of the listed shards only.
func TestShardVoterByList(t *testing.T) {
	sh := memberShard()
	sh.Join = []string{"shardis-shard.db.svc.cluster.local:7946"}
	sh.Voters = []Backend{{ID: "shard-0", Addr: "shard-0:7101"}, {ID: "shard-1", Addr: "shard-1:7101"}}
	for id, voter := range map[string]bool{"shard-0": true, "shard-1": true, "shard-3": false} {
		sh.ID = id
		if err := sh.Validate(); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if sh.Voter() != voter || (sh.ControllerConfig() != nil) != voter {
			t.Errorf("%s: Voter() = %v, controller %v; want %v", id, sh.Voter(), sh.ControllerConfig() != nil, voter)
		}
	}
	// Not a voter, so it must join the cluster.
	sh.ID, sh.Join = "shard-3", nil
	if got := errLines(sh.Validate()); len(got) != 1 || !strings.HasPrefix(got[0], "shard.join: [] is empty") {
		t.Errorf("non-voter without join: %q", got)
	}
	solo := memberShard()
	if !solo.Voter() || solo.ControllerConfig() == nil {
		t.Error("a raft-addr without a voter list is a group of one")
	}
}
