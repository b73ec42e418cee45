package configs

import (
	"flag"
	"net"
	"strconv"
)

// Advertise is what a cluster member tells the others to dial when the
// address it binds is no good to them: a wildcard (0.0.0.0, [::]) that
// listens on every interface, or an address behind NAT or a container's
// port mapping. It is inlined in the shard's and the proxy's files. An empty
// field means the bound address itself, which must then name one host.
type Advertise struct {
	// AdvertiseAddr is HOST:PORT other nodes dial the RESP listener (Addr)
	// at. It goes in the node's gossip metadata and, for a shard, in the
	// cluster map, where proxies and other shards read it. HOST may be a
	// DNS name (a Kubernetes pod's stable name), which is dialled as such,
	// so the node's IP may change under it. PORT 0 means the port Addr
	// bound.
	AdvertiseAddr string `yaml:"advertise-addr"`
	// AdvertiseGossipAddr is HOST:PORT other members reach the gossip
	// listener (GossipAddr) at. Gossip carries IP addresses, so a DNS name
	// is looked up once, at start. PORT 0 means the port GossipAddr bound.
	AdvertiseGossipAddr string `yaml:"advertise-gossip-addr"`
}

func (a *Advertise) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.AdvertiseAddr, "advertise-addr", a.AdvertiseAddr, "`HOST:PORT` other nodes dial --addr at, put in the gossip metadata and cluster map (empty: --addr itself; required when --addr is 0.0.0.0 or [::] on a cluster member; port 0: the bound port)")
	fs.StringVar(&a.AdvertiseGossipAddr, "advertise-gossip-addr", a.AdvertiseGossipAddr, "`HOST:PORT` other members reach --gossip-addr at; a name is looked up once at start (empty: --gossip-addr itself; required when it is 0.0.0.0 or [::]; port 0: the bound port)")
}

// validate checks the advertised addresses of a node that binds addr (its
// RESP listener) and, as a member, g.GossipAddr.
func (a Advertise) validate(p *problems, addr string, g Gossip) {
	if !g.Member() {
		for _, f := range []struct{ name, v string }{
			{"advertise-addr", a.AdvertiseAddr}, {"advertise-gossip-addr", a.AdvertiseGossipAddr},
		} {
			if f.v != "" {
				p.add(f.name, strconv.Quote(f.v), "needs gossip-addr: only cluster members advertise addresses")
			}
		}
		return
	}
	p.advertised("advertise-addr", a.AdvertiseAddr)
	p.advertised("advertise-gossip-addr", a.AdvertiseGossipAddr)
	p.needAdvertised("addr", addr, "advertise-addr", a.AdvertiseAddr)
	p.needAdvertised("gossip-addr", g.GossipAddr, "advertise-gossip-addr", a.AdvertiseGossipAddr)
	if _, port, err := net.SplitHostPort(g.GossipAddr); err == nil && port == "0" && a.AdvertiseGossipAddr != "" {
		if _, aport, err := net.SplitHostPort(a.AdvertiseGossipAddr); err == nil && aport != "0" {
			p.add("advertise-gossip-addr", strconv.Quote(a.AdvertiseGossipAddr), "names a port while gossip-addr's is 0 (a random port cannot be forwarded): give port 0 or a fixed gossip-addr port")
		}
	}
}

// Wildcard reports whether the listen address addr (HOST:PORT) binds every
// interface, so that nobody can dial the address as written.
func Wildcard(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// advertised checks an optional address to be dialled by others.
func (p *problems) advertised(field, a string) {
	if a == "" {
		return
	}
	if msg := checkAddr(a); msg != "" {
		p.add(field, strconv.Quote(a), msg)
	} else if Wildcard(a) {
		p.add(field, strconv.Quote(a), "must name a host others can dial, not a wildcard")
	}
}

// needAdvertised refuses a wildcard bind that nothing advertises for.
func (p *problems) needAdvertised(field, bind, advField, adv string) {
	if adv == "" && Wildcard(bind) {
		p.add(field, strconv.Quote(bind), "binds every interface, which other nodes cannot dial: give "+advField+" (HOST:PORT they reach this one at)")
	}
}
