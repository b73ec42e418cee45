package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shardis/shardis/cluster"
	"github.com/shardis/shardis/configs"
)

// lookupTimeout bounds the name lookup of an advertised gossip address.
const lookupTimeout = 10 * time.Second

// applyAdvertise makes a member tell the others the addresses of a (see
// configs.Advertise): its RESP address, its gossip address (a name looked
// up now, since gossip carries IPs), and its metrics address when the
// metrics server binds every interface.
func applyAdvertise(ctx context.Context, mc *cluster.MembershipConfig, a configs.Advertise) error {
	mc.AdvertiseRESPAddr = a.AdvertiseAddr
	if a.AdvertiseGossipAddr != "" {
		host, port, err := net.SplitHostPort(a.AdvertiseGossipAddr)
		if err != nil {
			return fmt.Errorf("advertise-gossip-addr %q: %v", a.AdvertiseGossipAddr, err)
		}
		ip, err := lookupIP(ctx, host)
		if err != nil {
			return fmt.Errorf("advertise-gossip-addr %q: %v", a.AdvertiseGossipAddr, err)
		}
		mc.AdvertiseAddr = ip
		mc.AdvertisePort, _ = strconv.Atoi(port)
	}
	if mc.Meta.AdminAddr != "" && configs.Wildcard(mc.Meta.AdminAddr) {
		// The same host the agent gives a voter's map endpoint.
		host := mc.AdvertiseAddr
		if ip := net.ParseIP(mc.BindAddr); host == "" && ip != nil && !ip.IsUnspecified() {
			host = mc.BindAddr
		}
		if host != "" {
			_, port, _ := net.SplitHostPort(mc.Meta.AdminAddr)
			mc.Meta.AdminAddr = net.JoinHostPort(host, port)
		}
	}
	return nil
}

// lookupIP returns host if it is an IP, else its first IPv4 address (or
// first address if it has no IPv4 one).
func lookupIP(ctx context.Context, host string) (string, error) {
	if net.ParseIP(host) != nil {
		return host, nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", err
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("%s has no address", host)
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a.IP.String(), nil
		}
	}
	return addrs[0].IP.String(), nil
}

// raftTransport binds a voter's Raft transport on bind and announces adv
// (port 0: the bound port) as its address. hashicorp/raft's own TCP
// transport announces only IP addresses, while a voter whose IP changes
// (a rescheduled Kubernetes pod) must be known by a stable DNS name to stay
// in the group. The caller closes it after the controller.
func raftTransport(bind, adv string, log *slog.Logger) (*raft.NetworkTransport, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(adv)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("advertise-raft-addr %q: %v", adv, err)
	}
	if port == "0" {
		port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	s := &raftStream{Listener: ln, adv: raftAddr(net.JoinHostPort(host, port))}
	// The pool size and I/O timeout of raft.NewTCPTransport as the
	// controller calls it.
	return raft.NewNetworkTransport(s, 3, 10*time.Second, raftLogWriter{log}), nil
}

// raftStream is a Raft stream layer over a TCP listener that announces
// another address than the one it bound.
type raftStream struct {
	net.Listener
	adv raftAddr
}

// Addr is what the transport announces as this voter's address.
func (s *raftStream) Addr() net.Addr { return s.adv }

// Dial connects to another voter, by name or IP.
func (s *raftStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return (&net.Dialer{Timeout: timeout}).Dial("tcp", string(addr))
}

// raftAddr is an announced HOST:PORT, whose host may be a name.
type raftAddr string

func (a raftAddr) Network() string { return "tcp" }
func (a raftAddr) String() string  { return string(a) }

// raftLogWriter passes the transport's log lines, formatted by hclog as
// "TIME [LEVEL] raft-net: message", to the process's logger at their level.
type raftLogWriter struct{ log *slog.Logger }

func (w raftLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for mark, l := range map[string]slog.Level{"[ERROR]": slog.LevelError, "[WARN]": slog.LevelWarn, "[DEBUG]": slog.LevelDebug, "[TRACE]": slog.LevelDebug} {
		if strings.Contains(line, mark) {
			level = l
		}
	}
	if _, msg, ok := strings.Cut(line, "raft-net: "); ok {
		line = msg
	}
	w.log.Log(context.Background(), level, line, "component", "raft-net")
	return len(p), nil
}
