package configs

import (
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/shardis/shardis/cluster"
)

// DefaultClusterName is the gossip label of a cluster whose nodes name none.
const DefaultClusterName = "shardis"

// Gossip is how a shard or proxy takes part in cluster membership. It is
// inlined in both files. A node without GossipAddr is not a cluster member:
// a shard then serves every partition it is asked for, and a proxy routes
// by its static --shard list.
type Gossip struct {
	// GossipAddr is IP:PORT the gossip listener binds (UDP and TCP).
	GossipAddr string `yaml:"gossip-addr"`
	// Join lists gossip addresses of existing members, any one of which is
	// enough to join.
	Join []string `yaml:"join"`
	// GossipKey, base64 of 16, 24 or 32 bytes, encrypts all gossip; every
	// member needs the same key.
	GossipKey string `yaml:"gossip-key"`
	// ClusterName keeps clusters sharing a network apart: members with a
	// different name ignore each other.
	ClusterName string `yaml:"cluster-name"`
	// Zone is a failure-domain label (rack, availability zone).
	Zone string `yaml:"zone"`
	// ProbeInterval and SuspicionMult tune failure detection: a silent
	// member is declared dead after about SuspicionMult × ProbeInterval
	// (more in large clusters) plus a probe timeout of half the interval.
	ProbeInterval time.Duration `yaml:"probe-interval"`
	SuspicionMult int           `yaml:"suspicion-mult"`
}

// DefaultGossip returns the gossip defaults: not a member until GossipAddr
// is set, and failure detection in about half a second.
func DefaultGossip() Gossip {
	t := cluster.DefaultTiming()
	return Gossip{ClusterName: DefaultClusterName, ProbeInterval: t.ProbeInterval, SuspicionMult: t.SuspicionMult}
}

// Member reports whether the node is configured as a cluster member.
func (g Gossip) Member() bool { return g.GossipAddr != "" }

func (g *Gossip) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&g.GossipAddr, "gossip-addr", g.GossipAddr, "`IP:PORT` of the gossip listener (UDP and TCP); set it to make this node a cluster member")
	fs.Var(&stringList{list: &g.Join}, "join", "gossip `IP:PORT` of an existing member; repeat the flag or give a comma-separated list")
	fs.StringVar(&g.GossipKey, "gossip-key", g.GossipKey, "`BASE64` of a 16, 24 or 32-byte key encrypting all gossip (the same on every member)")
	fs.StringVar(&g.ClusterName, "cluster-name", g.ClusterName, "`NAME` of the cluster; members with another name ignore this one")
	fs.StringVar(&g.Zone, "zone", g.Zone, "failure-domain `LABEL` (rack, availability zone) of this node")
	fs.DurationVar(&g.ProbeInterval, "probe-interval", g.ProbeInterval, "`DURATION` between failure-detection probes of one other member")
	fs.IntVar(&g.SuspicionMult, "suspicion-mult", g.SuspicionMult, "probe intervals (`COUNT`) a silent member stays suspect before it is declared dead")
}

func (g Gossip) validate(p *problems) {
	if !g.Member() {
		if len(g.Join) > 0 {
			p.add("join", strconv.Quote(strings.Join(g.Join, ",")), "needs gossip-addr (this node's own gossip address)")
		}
		return
	}
	if host, port, err := net.SplitHostPort(g.GossipAddr); err != nil || net.ParseIP(host) == nil {
		p.add("gossip-addr", strconv.Quote(g.GossipAddr), "is not IP:PORT")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("gossip-addr", strconv.Quote(g.GossipAddr), "has no valid port (0 to 65535)")
	}
	for i, j := range g.Join {
		p.addr(fmt.Sprintf("join[%d]", i), j, false)
	}
	if _, err := g.key(); err != nil {
		p.add("gossip-key", "(hidden)", err.Error())
	}
	if g.ClusterName == "" || len(g.ClusterName) > 255 {
		p.add("cluster-name", strconv.Quote(g.ClusterName), "must be 1 to 255 bytes")
	}
	p.positive("probe-interval", int64(g.ProbeInterval), g.ProbeInterval.String())
	p.positive("suspicion-mult", int64(g.SuspicionMult), strconv.Itoa(g.SuspicionMult))
}

func (g Gossip) key() ([]byte, error) {
	if g.GossipKey == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(g.GossipKey)
	if err != nil {
		return nil, fmt.Errorf("is not base64")
	}
	if n := len(k); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("decodes to %d bytes (want 16, 24 or 32)", n)
	}
	return k, nil
}

// Membership builds the runtime gossip config for a node with this id.
// Validate must have passed.
func (g Gossip) Membership(id string) cluster.MembershipConfig {
	host, port, _ := net.SplitHostPort(g.GossipAddr)
	n, _ := strconv.Atoi(port)
	key, _ := g.key()
	t := cluster.DefaultTiming()
	t.ProbeInterval = g.ProbeInterval
	t.ProbeTimeout = g.ProbeInterval / 2
	t.SuspicionMult = g.SuspicionMult
	return cluster.MembershipConfig{
		Meta:      cluster.NodeMeta{ID: id, Zone: g.Zone},
		BindAddr:  host,
		BindPort:  n,
		Seeds:     append([]string(nil), g.Join...),
		SecretKey: key,
		Label:     g.ClusterName,
		Timing:    t,
	}
}

// stringList is a repeatable, comma-separated list flag. The first Set
// replaces the list (which may hold the file's values); later ones append.
type stringList struct {
	list    *[]string
	touched bool
}

func (s *stringList) String() string {
	if s == nil || s.list == nil {
		return ""
	}
	return strings.Join(*s.list, ",")
}

func (s *stringList) Set(v string) error {
	var add []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			add = append(add, item)
		}
	}
	if len(add) == 0 {
		return fmt.Errorf("%q is empty", v)
	}
	if !s.touched {
		*s.list = nil
		s.touched = true
	}
	*s.list = append(*s.list, add...)
	return nil
}
