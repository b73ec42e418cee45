package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hashicorp/memberlist"
)

// Roles a node advertises in NodeMeta.Role.
const (
	// RoleShard marks a shard process: NodeMeta.RESPAddr is its internal
	// RESP port, which proxies and other shards dial.
	RoleShard = "shard"
	// RoleProxy marks a proxy process: NodeMeta.RESPAddr is its client port.
	RoleProxy = "proxy"
)

// MaxMetaSize is the largest encoded NodeMeta memberlist accepts. memberlist
// panics when handed more, so Encode, Join and UpdateMeta refuse it instead.
const MaxMetaSize = memberlist.MetaMaxSize

// DefaultJoinTimeout bounds Join's attempts to reach a seed when
// MembershipConfig.JoinTimeout is zero.
const DefaultJoinTimeout = 10 * time.Second

// DefaultLeaveTimeout bounds Leave when it is given a zero or negative timeout.
const DefaultLeaveTimeout = 5 * time.Second

// Errors returned by this file's API. Compare with errors.Is.
var (
	// ErrMetaTooLarge refuses metadata that would not fit in MaxMetaSize
	// bytes once encoded.
	ErrMetaTooLarge = errors.New("cluster: node metadata too large")
	// ErrBadMeta refuses bytes that are not an encoded NodeMeta (truncated,
	// or written by an unknown encoding version).
	ErrBadMeta = errors.New("cluster: malformed node metadata")
	// ErrSeedsUnreachable is returned by Join when no seed answered within
	// MembershipConfig.JoinTimeout. The process is not part of any cluster
	// then; retrying later (or exiting and letting a supervisor restart it)
	// is the caller's choice.
	ErrSeedsUnreachable = errors.New("cluster: no seed reachable")
	// ErrMembershipClosed is returned by operations on a Membership after
	// Shutdown.
	ErrMembershipClosed = errors.New("cluster: membership is shut down")
	// ErrMembershipLeft is returned by UpdateMeta after Leave: a member that
	// left cannot come back under the same incarnation; Shutdown it and Join
	// again.
	ErrMembershipLeft = errors.New("cluster: membership has left the cluster")
)

// Tuning constants that are not worth a config field.
const (
	// mlStreamTimeout bounds a TCP exchange with one member (join, state
	// sync, the TCP fallback of a probe). memberlist's LAN default of 10 s
	// would let one black-holed seed stall Join and Leave for that long.
	mlStreamTimeout = 2 * time.Second
	// mlBroadcastWait bounds how long UpdateMeta waits for its broadcast to
	// go out. The update is applied and queued either way; periodic state
	// syncs deliver it if gossip did not.
	mlBroadcastWait = time.Second
	// mlEventBuffer is the capacity of the Events channel. Beyond it events
	// wait in a per-member coalescing queue (see Events).
	mlEventBuffer = 64
	// mlLeaveSyncParallel caps concurrent state syncs during Leave.
	mlLeaveSyncParallel = 8
	// mlMetaVersion is the first byte of every encoded NodeMeta.
	mlMetaVersion = 1
	// mlFlagLeaving, in the second byte of the encoding, announces that the
	// member is leaving gracefully (set by Leave, never by callers).
	mlFlagLeaving = 1 << 0
)

// NodeMeta is what a member tells every other member about itself through
// gossip: enough to route to it, scrape it, and place data across zones.
// Its encoding must fit in MaxMetaSize bytes.
type NodeMeta struct {
	// ID names the node for good: it survives restarts and is what the
	// cluster map refers to. Required; no spaces or control characters.
	ID string
	// Role is RoleShard or RoleProxy.
	Role string
	// RESPAddr is host:port of the shard's internal RESP port or the
	// proxy's client port. Empty only for a node that serves neither yet.
	RESPAddr string
	// AdminAddr is host:port of the metrics/admin HTTP server; may be empty.
	AdminAddr string
	// RaftAddr is host:port of the controller's Raft transport; empty unless
	// the node is a controller voter.
	RaftAddr string
	// Zone is a failure-domain label (rack, availability zone) that
	// placement spreads copies over; may be empty.
	Zone string
}

// mlMetaFieldNames names NodeMeta's fields in encoding order, for errors.
var mlMetaFieldNames = [...]string{"ID", "Role", "RESPAddr", "AdminAddr", "RaftAddr", "Zone"}

func (nm NodeMeta) mlFields() [len(mlMetaFieldNames)]string {
	return [...]string{nm.ID, nm.Role, nm.RESPAddr, nm.AdminAddr, nm.RaftAddr, nm.Zone}
}

// Validate reports every problem with the metadata, so a bad config is
// refused at start-up rather than gossiped to the whole cluster.
func (nm NodeMeta) Validate() error {
	var errs []error
	switch {
	case nm.ID == "":
		errs = append(errs, errors.New("cluster: NodeMeta.ID is empty"))
	case strings.ContainsFunc(nm.ID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		errs = append(errs, fmt.Errorf("cluster: NodeMeta.ID %q contains a space or control character", nm.ID))
	}
	if nm.Role != RoleShard && nm.Role != RoleProxy {
		errs = append(errs, fmt.Errorf("cluster: NodeMeta.Role %q must be %q or %q", nm.Role, RoleShard, RoleProxy))
	}
	for _, f := range []struct{ name, val string }{
		{"RESPAddr", nm.RESPAddr}, {"AdminAddr", nm.AdminAddr}, {"RaftAddr", nm.RaftAddr},
	} {
		if f.val != "" {
			if err := mlCheckHostPort(f.val); err != nil {
				errs = append(errs, fmt.Errorf("cluster: NodeMeta.%s %q: %v", f.name, f.val, err))
			}
		}
	}
	if _, err := nm.Encode(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Encode returns the compact wire form of the metadata (a version byte, a
// flags byte, then each field as a uvarint length and its bytes, in
// declaration order), or ErrMetaTooLarge if it exceeds MaxMetaSize.
func (nm NodeMeta) Encode() ([]byte, error) {
	return mlEncodeMeta(nm, 0)
}

func mlEncodeMeta(nm NodeMeta, flags byte) ([]byte, error) {
	fields := nm.mlFields()
	size := 2
	for _, f := range fields {
		size += mlUvarintLen(uint64(len(f))) + len(f)
	}
	if size > MaxMetaSize {
		return nil, fmt.Errorf("%w: %d bytes encoded for node %.40q, limit %d", ErrMetaTooLarge, size, nm.ID, MaxMetaSize)
	}
	b := make([]byte, 0, size)
	b = append(b, mlMetaVersion, flags)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b, nil
}

func mlUvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// DecodeNodeMeta parses what Encode produced. Bytes after the known fields
// are ignored, so a later version may append fields without breaking older
// readers during a rolling upgrade; a different version byte is an error.
func DecodeNodeMeta(b []byte) (NodeMeta, error) {
	nm, _, err := mlDecodeMeta(b)
	return nm, err
}

func mlDecodeMeta(b []byte) (NodeMeta, byte, error) {
	if len(b) < 2 {
		return NodeMeta{}, 0, fmt.Errorf("%w: %d bytes, want at least 2", ErrBadMeta, len(b))
	}
	if b[0] != mlMetaVersion {
		return NodeMeta{}, 0, fmt.Errorf("%w: encoding version %d, want %d", ErrBadMeta, b[0], mlMetaVersion)
	}
	flags, rest := b[1], b[2:]
	var f [len(mlMetaFieldNames)]string
	for i := range f {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return NodeMeta{}, 0, fmt.Errorf("%w: field %s truncated", ErrBadMeta, mlMetaFieldNames[i])
		}
		f[i] = string(rest[n : n+int(l)])
		rest = rest[n+int(l):]
	}
	return NodeMeta{ID: f[0], Role: f[1], RESPAddr: f[2], AdminAddr: f[3], RaftAddr: f[4], Zone: f[5]}, flags, nil
}

// Timing sets how fast failures are detected and news spreads, traded
// against traffic and false alarms. Each zero field takes DefaultTiming's
// value (unlike memberlist, where some zeros disable a mechanism); negative
// values are invalid.
//
// A failed member is declared dead roughly ProbeInterval (until someone
// probes it) + ProbeInterval (direct then indirect probes) +
// SuspicionMult × max(1, log10(N)) × ProbeInterval (the suspicion period
// during which it may refute) after it stopped answering, then the news
// takes a few GossipIntervals to reach everyone.
type Timing struct {
	// ProbeInterval is how often this member probes one other member
	// (round-robin over a shuffled list). Lower detects faster and costs
	// more packets. Zero means 100 ms.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct probe waits for its ack before
	// IndirectChecks other members are asked to try; set it near the 99th
	// percentile round trip. Must be less than ProbeInterval. Zero means
	// 50 ms.
	ProbeTimeout time.Duration
	// GossipInterval is how often queued news (joins, metadata updates,
	// suspicions, deaths) is sent to three random members instead of waiting
	// to ride on probes. Zero means 20 ms.
	GossipInterval time.Duration
	// PushPullInterval is how often this member exchanges its full member
	// list with one random member over TCP, repairing whatever gossip lost.
	// memberlist stretches it in clusters above 32 members. Zero means 5 s;
	// it cannot be disabled here.
	PushPullInterval time.Duration
	// SuspicionMult scales how long a member that missed its probes stays
	// suspect (and may refute) before it is declared dead:
	// SuspicionMult × max(1, log10(N)) × ProbeInterval. Zero means 2.
	SuspicionMult int
	// IndirectChecks is how many members are asked to probe a member that
	// missed a direct probe, so one bad link does not cause a false
	// suspicion. Zero means 3.
	IndirectChecks int
	// RetransmitMult sets how many times each piece of news is gossiped:
	// RetransmitMult × ceil(log10(N+1)). Zero means 4.
	RetransmitMult int
}

// DefaultTiming is tuned for a LAN or loopback: a member that stops
// answering is declared dead after about 0.3–0.6 s (measured on loopback
// with 3–5 members, 2 busy cores), where memberlist's LAN profile takes
// 5–7 s. The price is a probe every 100 ms per member, and that a member
// stalled for a few hundred milliseconds (long GC pause, starved CPU) can be
// declared dead and then rejoin: consumers should treat a Fail as "gone for
// now", not "gone for good".
func DefaultTiming() Timing {
	return Timing{
		ProbeInterval:    100 * time.Millisecond,
		ProbeTimeout:     50 * time.Millisecond,
		GossipInterval:   20 * time.Millisecond,
		PushPullInterval: 5 * time.Second,
		SuspicionMult:    2,
		IndirectChecks:   3,
		RetransmitMult:   4,
	}
}

// mlWithDefaults returns t with each zero field replaced by its default.
func (t Timing) mlWithDefaults() Timing {
	d := DefaultTiming()
	if t.ProbeInterval == 0 {
		t.ProbeInterval = d.ProbeInterval
	}
	if t.ProbeTimeout == 0 {
		t.ProbeTimeout = d.ProbeTimeout
	}
	if t.GossipInterval == 0 {
		t.GossipInterval = d.GossipInterval
	}
	if t.PushPullInterval == 0 {
		t.PushPullInterval = d.PushPullInterval
	}
	if t.SuspicionMult == 0 {
		t.SuspicionMult = d.SuspicionMult
	}
	if t.IndirectChecks == 0 {
		t.IndirectChecks = d.IndirectChecks
	}
	if t.RetransmitMult == 0 {
		t.RetransmitMult = d.RetransmitMult
	}
	return t
}

func (t Timing) mlValidate() []error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ProbeInterval", t.ProbeInterval}, {"ProbeTimeout", t.ProbeTimeout},
		{"GossipInterval", t.GossipInterval}, {"PushPullInterval", t.PushPullInterval},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("cluster: Timing.%s (%s) is negative", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"SuspicionMult", t.SuspicionMult}, {"IndirectChecks", t.IndirectChecks}, {"RetransmitMult", t.RetransmitMult},
	} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("cluster: Timing.%s (%d) is negative", n.name, n.v))
		}
	}
	if d := t.mlWithDefaults(); len(errs) == 0 && d.ProbeTimeout >= d.ProbeInterval {
		errs = append(errs, fmt.Errorf("cluster: Timing.ProbeTimeout (%s) must be less than Timing.ProbeInterval (%s)", d.ProbeTimeout, d.ProbeInterval))
	}
	return errs
}

// MembershipConfig configures Join.
type MembershipConfig struct {
	// Meta is what this member advertises; see NodeMeta.
	Meta NodeMeta
	// BindAddr is the IP address gossip listens on (UDP and TCP, same
	// port). Empty means 0.0.0.0, in which case AdvertiseAddr defaults to
	// the host's first private IPv4 address.
	BindAddr string
	// BindPort is the gossip port. Zero picks a free port (tests); read it
	// back from LocalMember().Addr.
	BindPort int
	// AdvertiseAddr is the IP other members reach this one at (NAT,
	// containers). Empty means BindAddr, or a private IP as above.
	AdvertiseAddr string
	// AdvertisePort goes with AdvertiseAddr. Zero means the bound port.
	AdvertisePort int
	// AdvertiseRESPAddr, when set, is gossiped as Meta.RESPAddr in place
	// of what the caller put there, which is usually the address its RESP
	// listener bound: others cannot dial that when it is a wildcard
	// (0.0.0.0:7001) or sits behind NAT. Its host may be a DNS name (a
	// Kubernetes pod's stable name); port 0 keeps Meta.RESPAddr's port,
	// and then an empty Meta.RESPAddr stays empty. Empty means Meta.RESPAddr
	// as given.
	AdvertiseRESPAddr string
	// Seeds are host:port gossip addresses of any existing members. Joining
	// needs one of them to answer. Empty starts a new cluster of one (the
	// first node); listing this node's own address is harmless. Host names
	// are resolved at Join.
	Seeds []string
	// SecretKey, when set, encrypts and authenticates all gossip with
	// AES-GCM; it must be 16, 24 or 32 bytes and the same on every member.
	// A member without the key (or with another) cannot join.
	SecretKey []byte
	// Label is stamped on every gossip packet and stream; members with a
	// different label ignore each other. It keeps separate clusters on one
	// network apart and lets tests run several clusters in one process.
	// At most 255 bytes.
	Label string
	// Timing tunes failure detection; zero fields take DefaultTiming's.
	Timing Timing
	// JoinTimeout bounds how long Join keeps retrying the seeds (with
	// backoff from 50 ms to 1 s) before it gives up with
	// ErrSeedsUnreachable; one attempt can overrun it by up to 2 s per
	// unresponsive seed. Zero means DefaultJoinTimeout.
	JoinTimeout time.Duration
	// Faults, in tests, cuts this member's gossip on demand; nil in
	// production.
	Faults *Faults
	// Logger receives this member's event lines and memberlist's own log
	// lines (at their levels: memberlist DEBUG→Debug, INFO→Info,
	// WARN→Warn, ERR→Error). Nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with the config, naming the field and the
// offending value.
func (c MembershipConfig) Validate() error {
	var errs []error
	if err := c.Meta.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BindAddr != "" && net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.BindAddr %q is not an IP address", c.BindAddr))
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.BindPort (%d) is outside 0-65535", c.BindPort))
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.AdvertiseAddr %q is not an IP address", c.AdvertiseAddr))
	}
	switch {
	case c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.AdvertisePort (%d) is outside 0-65535", c.AdvertisePort))
	case c.AdvertisePort != 0 && c.AdvertiseAddr == "":
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.AdvertisePort (%d) is set without AdvertiseAddr", c.AdvertisePort))
	case c.AdvertisePort != 0 && c.BindPort == 0:
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.AdvertisePort (%d) is set with BindPort 0 (a random port cannot be forwarded)", c.AdvertisePort))
	}
	if c.AdvertiseRESPAddr != "" {
		if err := mlCheckAdvertised(c.AdvertiseRESPAddr); err != nil {
			errs = append(errs, fmt.Errorf("cluster: MembershipConfig.AdvertiseRESPAddr %q: %v", c.AdvertiseRESPAddr, err))
		}
	}
	for i, s := range c.Seeds {
		if err := mlCheckHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("cluster: MembershipConfig.Seeds[%d] %q: %v", i, s, err))
		}
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.SecretKey has %d bytes, want 16, 24 or 32", len(c.SecretKey)))
	}
	if len(c.Label) > memberlist.LabelMaxSize {
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.Label has %d bytes, limit %d", len(c.Label), memberlist.LabelMaxSize))
	}
	errs = append(errs, c.Timing.mlValidate()...)
	if c.JoinTimeout < 0 {
		errs = append(errs, fmt.Errorf("cluster: MembershipConfig.JoinTimeout (%s) is negative", c.JoinTimeout))
	}
	return errors.Join(errs...)
}

// mlCheckAdvertised checks an address to be dialled by others: a host
// that is not a wildcard, and a port (0 meaning the bound one).
func mlCheckAdvertised(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return errors.New("host must be one others can dial, not empty or a wildcard")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number in 0-65535", port)
	}
	return nil
}

// mlAdvertiseRESP returns meta with RESPAddr replaced by adv (see
// MembershipConfig.AdvertiseRESPAddr).
func mlAdvertiseRESP(meta NodeMeta, adv string) NodeMeta {
	if adv == "" {
		return meta
	}
	host, port, _ := net.SplitHostPort(adv)
	if port == "0" {
		_, bound, err := net.SplitHostPort(meta.RESPAddr)
		if err != nil {
			return meta
		}
		port = bound
	}
	meta.RESPAddr = net.JoinHostPort(host, port)
	return meta
}

func mlCheckHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("empty host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q is not a number in 1-65535", port)
	}
	return nil
}

// MemberState is how a member stands in this member's view.
//
// There is no "suspect" state: memberlist v0.7.0 does not tell its users
// when it suspects a member (its Node.State is never filled in outside
// merges), so a member is Alive until it is declared Dead or Left.
type MemberState int

// Member states.
const (
	// MemberAlive is a member that answers probes (or has not yet been
	// declared dead after it stopped).
	MemberAlive MemberState = iota
	// MemberDead is a member declared failed: it stopped answering probes
	// without announcing a leave. It may still be running (stalled or cut
	// off) and come back as Alive.
	MemberDead
	// MemberLeft is a member that announced a graceful leave.
	MemberLeft
)

// String returns the state's lower-case name, as logged.
func (s MemberState) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberDead:
		return "dead"
	case MemberLeft:
		return "left"
	}
	return "MemberState(" + strconv.Itoa(int(s)) + ")"
}

// Member is one incarnation of a node as seen through gossip.
type Member struct {
	// Name is memberlist's name for this incarnation: Meta.ID, "/", and a
	// start-time stamp. A restarted node has a new Name and the same ID;
	// for one ID, later incarnations have greater Names (by wall-clock
	// start time).
	Name string
	// ID is the node's stable identity (Meta.ID; derived from Name if the
	// metadata could not be decoded).
	ID string
	// Addr is the gossip host:port.
	Addr string
	// Meta is the member's last known metadata.
	Meta NodeMeta
	// State is MemberAlive in Members() and in Join/Update events,
	// MemberLeft in Leave events and MemberDead in Fail events.
	State MemberState
	// Leaving is set once the member has announced that it is leaving
	// gracefully (Leave was called), shortly before it is gone. Routing
	// should start avoiding it.
	Leaving bool
}

// EventKind says what happened to a member.
type EventKind int

// Event kinds.
const (
	// EventJoin: a member became alive (new, or back after being declared
	// dead). Also delivered for the local member right after Join.
	EventJoin EventKind = iota
	// EventUpdate: an alive member changed its metadata (or Leaving).
	EventUpdate
	// EventLeave: a member left gracefully (it called Leave).
	EventLeave
	// EventFail: a member was declared dead without having announced a
	// leave.
	EventFail
)

// String returns the kind's lower-case name, as logged.
func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventLeave:
		return "leave"
	case EventFail:
		return "fail"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one change in membership.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Member is the member it happened to, with its metadata as last known
	// (for Leave and Fail: as it was before it went away).
	Member Member
}

// Membership is this process's seat in the gossip cluster. Its methods are
// safe for concurrent use.
type Membership struct {
	ml     *memberlist.Memberlist // set once in Join, before it is shared
	name   string                 // memberlist name of this incarnation
	id     string                 // stable ID (Meta.ID)
	log    *slog.Logger
	events *mlEventQueue

	opMu   sync.Mutex     // serialises UpdateMeta, Leave and Shutdown; guards left and closed
	left   bool           // Leave was called
	closed bool           // Shutdown was called
	syncWG sync.WaitGroup // Leave's state-sync goroutines

	metaMu   sync.Mutex // guards meta and metaNode
	meta     []byte     // encoded local metadata, handed to memberlist
	metaNode NodeMeta   // decoded form of meta
	advRESP  string     // MembershipConfig.AdvertiseRESPAddr, applied to every meta

	viewMu sync.RWMutex
	view   map[string]Member // live members by Name; guarded by viewMu
	local  Member            // this member's latest state; guarded by viewMu

	stop     chan struct{}  // closed by Shutdown: ends the rejoin loop
	rejoinWG sync.WaitGroup // the rejoin loop
}

// Join starts gossip on the configured address and joins the cluster
// through Seeds (or starts a new one when Seeds is empty). It returns once
// this member is part of the cluster; the other members' views converge
// within a few gossip rounds.
//
// Each Join runs under a fresh memberlist name (Meta.ID plus a start-time
// stamp), because memberlist refuses a known name that reappears at another
// address until the old entry expires, while that member's own Join still
// reports success. A restarted node therefore shows up as a new Member with
// the same ID, and for a short while its old incarnation may still be
// listed until it is declared dead (see Members).
//
// If no seed answers within JoinTimeout, Join stops gossip and returns an
// error wrapping ErrSeedsUnreachable; one answering seed is enough.
func Join(cfg MembershipConfig) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Meta = mlAdvertiseRESP(cfg.Meta, cfg.AdvertiseRESPAddr)
	meta, err := mlEncodeMeta(cfg.Meta, 0)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	timing := cfg.Timing.mlWithDefaults()
	name := fmt.Sprintf("%s/%016x%04x", cfg.Meta.ID, uint64(time.Now().UnixNano()), rand.Uint32()&0xffff)
	logger = logger.With("node", cfg.Meta.ID)

	m := &Membership{
		name:     name,
		id:       cfg.Meta.ID,
		log:      logger,
		events:   mlNewEventQueue(),
		meta:     meta,
		metaNode: cfg.Meta,
		advRESP:  cfg.AdvertiseRESPAddr,
		view:     make(map[string]Member),
		stop:     make(chan struct{}),
	}

	mc := memberlist.DefaultLANConfig()
	mc.Name = name
	mc.BindAddr = cfg.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "0.0.0.0"
	}
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertiseAddr != "" && mc.AdvertisePort == 0 {
		// memberlist would advertise port 0; with BindPort 0 it replaces
		// this with the port it bound.
		mc.AdvertisePort = cfg.BindPort
	}
	mc.Label = cfg.Label
	if len(cfg.SecretKey) > 0 {
		mc.SecretKey = bytes.Clone(cfg.SecretKey)
	}
	mc.ProbeInterval = timing.ProbeInterval
	mc.ProbeTimeout = timing.ProbeTimeout
	mc.GossipInterval = timing.GossipInterval
	mc.PushPullInterval = timing.PushPullInterval
	mc.SuspicionMult = timing.SuspicionMult
	mc.IndirectChecks = timing.IndirectChecks
	mc.RetransmitMult = timing.RetransmitMult
	mc.TCPTimeout = mlStreamTimeout
	mc.Delegate = mlDelegate{m}
	mc.Events = mlDelegate{m}
	mc.LogOutput = nil
	mc.Logger = log.New(mlLogWriter{logger.With("component", "memberlist")}, "", 0)

	if cfg.Faults != nil {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: start gossip on %s:%d: %w", mc.BindAddr, cfg.BindPort, err)
		}
		if mc.BindPort == 0 {
			mc.BindPort = nt.GetAutoBindPort()
			if mc.AdvertisePort == 0 {
				mc.AdvertisePort = mc.BindPort
			}
		}
		mc.Transport = newFlTransport(nt, cfg.Faults)
	}
	m.events.start()
	ml, err := memberlist.Create(mc)
	if err != nil {
		m.events.stop()
		return nil, fmt.Errorf("cluster: start gossip on %s:%d: %w", mc.BindAddr, cfg.BindPort, err)
	}
	m.ml = ml

	if len(cfg.Seeds) > 0 {
		timeout := cfg.JoinTimeout
		if timeout == 0 {
			timeout = DefaultJoinTimeout
		}
		if err := m.mlJoinSeeds(cfg.Seeds, timeout); err != nil {
			_ = m.Shutdown()
			return nil, err
		}
	}
	if len(cfg.Seeds) > 0 {
		m.rejoinWG.Add(1)
		go m.mlRejoin(cfg.Seeds)
	}
	m.log.Info("gossip started", "name", name, "addr", m.LocalMember().Addr, "members", m.NumAlive())
	return m, nil
}

// mlRejoinInterval is how often a member that sees none of its seeds alive
// joins them again.
const mlRejoinInterval = time.Second

// mlRejoin heals a partition of the gossip itself: after a network split
// each side has declared the other dead, and memberlist alone may never
// contact dead members again, so a member that sees none of its seeds
// alive joins them anew until it does.
func (m *Membership) mlRejoin(seeds []string) {
	defer m.rejoinWG.Done()
	t := time.NewTicker(mlRejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		alive := map[string]bool{}
		for _, mem := range m.Members() {
			if mem.Name != m.name {
				alive[mem.Addr] = true
			}
		}
		seen := false
		for _, s := range seeds {
			seen = seen || mlSeedAlive(s, alive)
		}
		if seen {
			continue
		}
		m.opMu.Lock()
		if !m.left && !m.closed {
			if n, err := m.ml.Join(seeds); n > 0 {
				m.log.Info("rejoined the cluster through its seeds", "seeds_reached", n)
			} else {
				m.log.Debug("seeds still unreachable", "err", err)
			}
		}
		m.opMu.Unlock()
	}
}

// mlSeedResolveTimeout bounds the name lookup of one seed in the rejoin
// loop.
const mlSeedResolveTimeout = time.Second

// mlSeedAlive reports whether seed is the gossip address of a member in
// alive (keyed by IP:PORT). A seed given by name (a DNS name for several
// members, such as a Kubernetes headless service) is looked up, so a member
// that joined through a name is not taken for cut off, and does not join
// everyone again every second, while it sees the members behind it.
func mlSeedAlive(seed string, alive map[string]bool) bool {
	if alive[seed] {
		return true
	}
	host, port, err := net.SplitHostPort(seed)
	if err != nil || net.ParseIP(host) != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), mlSeedResolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if alive[net.JoinHostPort(ip, port)] {
			return true
		}
	}
	return false
}

// mlJoinSeeds retries memberlist's Join with backoff until one seed
// answers or timeout has passed.
func (m *Membership) mlJoinSeeds(seeds []string, timeout time.Duration) error {
	start := time.Now()
	deadline := start.Add(timeout)
	backoff := 50 * time.Millisecond
	var lastErr error
	attempts := 0
	for {
		attempts++
		n, err := m.ml.Join(seeds)
		if n > 0 {
			m.log.Debug("joined cluster", "seeds_reached", n, "attempts", attempts)
			return nil
		}
		lastErr = err
		if time.Now().Add(backoff).After(deadline) {
			break
		}
		m.log.Debug("no seed reachable yet; retrying", "seeds", seeds, "err", err, "retry_in", backoff)
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
	// memberlist's multierror text spans lines; keep log lines single.
	why := "no answer"
	if lastErr != nil {
		why = mlOneLine(lastErr)
	}
	return fmt.Errorf("%w: %d attempts over %s to %v: %s", ErrSeedsUnreachable, attempts,
		time.Since(start).Round(time.Millisecond), seeds, why)
}

// mlOneLine flattens memberlist's multi-line "N errors occurred: * …"
// text into "…; …".
func mlOneLine(err error) string {
	parts := strings.Split(strings.Join(strings.Fields(err.Error()), " "), " * ")
	if len(parts) > 1 && strings.HasSuffix(parts[0], "occurred:") {
		parts = parts[1:]
	}
	return strings.Join(parts, "; ")
}

// Members returns the live members (this one included), sorted by ID and
// then Name, so every caller with the same view gets the same slice.
//
// While a node restarts, both incarnations can be listed under one ID until
// the old one is declared dead; the later incarnation sorts last. Callers
// that key by ID should prefer it (or wait for the Fail of the old Name).
func (m *Membership) Members() []Member {
	m.viewMu.RLock()
	out := make([]Member, 0, len(m.view))
	for _, mem := range m.view {
		out = append(out, mem)
	}
	m.viewMu.RUnlock()
	slices.SortFunc(out, func(a, b Member) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// NumAlive returns len(Members()) without building the slice.
func (m *Membership) NumAlive() int {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	return len(m.view)
}

// LocalMember returns this member as the cluster sees it: its Name, its
// advertised gossip address (the port picked when BindPort was 0), and its
// current metadata. State becomes MemberLeft after Leave.
func (m *Membership) LocalMember() Member {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	return m.local
}

// Events delivers membership changes in the order they were observed,
// starting with this member's own Join. Receiving is optional, and a slow
// consumer never blocks gossip: once the channel's 64 slots are full,
// further events wait in a queue that keeps one event per member Name, a
// newer event replacing an older undelivered one (a Join followed by
// Updates stays a Join). No member's latest change is lost, and the backlog
// is bounded by the number of member incarnations. A consumer that needs
// only the current view can call Members after any event: Members already
// reflects it.
//
// The channel is closed by Shutdown; undelivered events are dropped then.
func (m *Membership) Events() <-chan Event {
	return m.events.out
}

// UpdateMeta replaces this member's metadata and gossips it; the others see
// an EventUpdate. The ID cannot change. The new metadata is in effect
// locally when UpdateMeta returns, and UpdateMeta waits up to a second for
// the first broadcast; a slower spread is finished by gossip and the
// periodic state syncs.
func (m *Membership) UpdateMeta(meta NodeMeta) error {
	meta = mlAdvertiseRESP(meta, m.advRESP)
	if err := meta.Validate(); err != nil {
		return err
	}
	if meta.ID != m.id {
		return fmt.Errorf("cluster: UpdateMeta: NodeMeta.ID %q differs from this member's ID %q; Join again to change it", meta.ID, m.id)
	}
	b, err := mlEncodeMeta(meta, 0)
	if err != nil {
		return err
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.closed {
		return ErrMembershipClosed
	}
	if m.left {
		return ErrMembershipLeft
	}
	m.mlSetMeta(b, meta)
	if err := m.ml.UpdateNode(mlBroadcastWait); err != nil {
		m.log.Debug("metadata update still spreading", "err", err)
	}
	return nil
}

func (m *Membership) mlSetMeta(b []byte, meta NodeMeta) {
	m.metaMu.Lock()
	m.meta, m.metaNode = b, meta
	m.metaMu.Unlock()
}

// Leave announces a graceful departure, so the others report EventLeave
// for this member instead of EventFail and stop probing it at once. Call it
// before Shutdown on a clean stop. Gossip keeps running (and Members keeps
// answering) until Shutdown; a member that left cannot rejoin: Shutdown and
// Join again.
//
// Leave first gossips the Leaving flag and pushes it to every live member
// over TCP, then announces the departure, all within timeout (zero or
// negative means DefaultLeaveTimeout). A member that misses both reports
// EventFail. Calling Leave again is a no-op.
func (m *Membership) Leave(timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultLeaveTimeout
	}
	deadline := time.Now().Add(timeout)
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.closed {
		return ErrMembershipClosed
	}
	if m.left {
		return nil
	}
	m.left = true

	m.metaMu.Lock()
	meta := m.metaNode
	m.metaMu.Unlock()
	b, err := mlEncodeMeta(meta, mlFlagLeaving)
	if err != nil {
		return err // cannot happen: the same metadata without the flag fitted
	}
	m.mlSetMeta(b, meta)
	if err := m.ml.UpdateNode(timeout / 4); err != nil {
		m.log.Debug("leaving flag still spreading", "err", err)
	}
	m.mlSyncPeers(deadline)

	if err := m.ml.Leave(max(time.Until(deadline), 10*time.Millisecond)); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	m.log.Info("left cluster")
	return nil
}

// mlSyncPeers exchanges full state with every other live member over TCP,
// which hands them this member's Leaving flag reliably before the leave
// announcement (which travels by gossip) can overtake it. It returns at the
// deadline at the latest; stragglers finish within mlStreamTimeout and are
// waited for by Shutdown.
func (m *Membership) mlSyncPeers(deadline time.Time) {
	var addrs []string
	for _, mem := range m.Members() {
		if mem.Name != m.name {
			addrs = append(addrs, mem.Addr)
		}
	}
	if len(addrs) == 0 {
		return
	}
	done := make(chan struct{})
	sem := make(chan struct{}, mlLeaveSyncParallel)
	var wg sync.WaitGroup
	for _, a := range addrs {
		wg.Add(1)
		m.syncWG.Add(1)
		go func() {
			defer m.syncWG.Done()
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if time.Now().After(deadline) {
				return
			}
			if _, err := m.ml.Join([]string{a}); err != nil {
				m.log.Debug("state sync before leave failed", "peer", a, "err", err)
			}
		}()
	}
	m.syncWG.Add(1)
	go func() {
		defer m.syncWG.Done()
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline) / 2)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// Shutdown stops gossip, waits for this Membership's goroutines and closes
// the Events channel. Without a prior Leave the others detect the absence by
// probing and report EventFail. It is idempotent; later calls return nil.
func (m *Membership) Shutdown() error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	close(m.stop)
	m.opMu.Unlock()
	m.rejoinWG.Wait() // it takes opMu: wait without holding it
	m.opMu.Lock()
	err := m.ml.Shutdown()
	m.syncWG.Wait()
	m.events.stop()
	if err != nil {
		return fmt.Errorf("cluster: shutdown gossip: %w", err)
	}
	return nil
}

// mlObserve records a memberlist notification in the view and queues the
// event. memberlist calls it with its node lock held, so it must neither
// block nor call back into memberlist.
func (m *Membership) mlObserve(kind EventKind, n *memberlist.Node) {
	mem := Member{Name: n.Name, Addr: n.Address()}
	meta, flags, err := mlDecodeMeta(n.Meta)
	if err != nil {
		m.log.Warn("member has unreadable metadata", "name", n.Name, "err", err)
		mem.ID = n.Name
		if i := strings.LastIndexByte(n.Name, '/'); i > 0 {
			mem.ID = n.Name[:i]
		}
	} else {
		mem.ID, mem.Meta = meta.ID, meta
		mem.Leaving = flags&mlFlagLeaving != 0
	}

	m.viewMu.Lock()
	switch kind {
	case EventJoin, EventUpdate:
		mem.State = MemberAlive
		m.view[n.Name] = mem
	default:
		// memberlist reports both a failure and a graceful leave through
		// NotifyLeave, without the node's state; the Leaving flag that Leave
		// spreads first tells them apart.
		kind, mem.State = EventFail, MemberDead
		if mem.Leaving || n.Name == m.name {
			kind, mem.State = EventLeave, MemberLeft
		}
		delete(m.view, n.Name)
	}
	if n.Name == m.name {
		m.local = mem
	}
	m.viewMu.Unlock()

	attrs := []any{"member", mem.ID, "name", mem.Name, "addr", mem.Addr, "role", mem.Meta.Role}
	switch kind {
	case EventJoin:
		m.log.Info("member joined", attrs...)
	case EventUpdate:
		m.log.Debug("member updated", append(attrs, "leaving", mem.Leaving)...)
	case EventLeave:
		m.log.Info("member left", attrs...)
	case EventFail:
		m.log.Warn("member failed", attrs...)
	}
	m.events.push(Event{Kind: kind, Member: mem})
}

// mlDelegate adapts Membership to memberlist's callbacks without putting
// them in Membership's method set. All methods are called from memberlist's
// goroutines and must not block.
type mlDelegate struct{ m *Membership }

var (
	_ memberlist.Delegate      = mlDelegate{}
	_ memberlist.EventDelegate = mlDelegate{}
)

func (d mlDelegate) NodeMeta(limit int) []byte {
	d.m.metaMu.Lock()
	defer d.m.metaMu.Unlock()
	if len(d.m.meta) > limit {
		// Unreachable: every setter checked MaxMetaSize. Advertising nothing
		// beats memberlist's panic.
		return nil
	}
	return bytes.Clone(d.m.meta)
}

func (mlDelegate) NotifyMsg([]byte)                  {}
func (mlDelegate) GetBroadcasts(int, int) [][]byte   { return nil }
func (mlDelegate) LocalState(bool) []byte            { return nil }
func (mlDelegate) MergeRemoteState([]byte, bool)     {}
func (d mlDelegate) NotifyJoin(n *memberlist.Node)   { d.m.mlObserve(EventJoin, n) }
func (d mlDelegate) NotifyUpdate(n *memberlist.Node) { d.m.mlObserve(EventUpdate, n) }
func (d mlDelegate) NotifyLeave(n *memberlist.Node)  { d.m.mlObserve(EventLeave, n) }

// mlEventQueue hands events to a channel without ever blocking the
// producer: undelivered events wait in a per-Name coalescing queue.
type mlEventQueue struct {
	out  chan Event
	wake chan struct{} // capacity 1: "pending is not empty"
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	order   []string         // Names with a pending event, oldest first; guarded by mu
	pending map[string]Event // guarded by mu
}

func mlNewEventQueue() *mlEventQueue {
	return &mlEventQueue{
		out:     make(chan Event, mlEventBuffer),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		pending: make(map[string]Event),
	}
}

func (q *mlEventQueue) start() {
	q.wg.Add(1)
	go q.run()
}

// stop ends delivery, closes out and waits for the delivery goroutine.
func (q *mlEventQueue) stop() {
	close(q.done)
	q.wg.Wait()
}

// push queues e; it never blocks on the consumer.
func (q *mlEventQueue) push(e Event) {
	q.mu.Lock()
	name := e.Member.Name
	if old, ok := q.pending[name]; ok {
		if old.Kind == EventJoin && e.Kind == EventUpdate {
			e.Kind = EventJoin // the consumer has not seen the Join yet
		}
	} else {
		q.order = append(q.order, name)
	}
	q.pending[name] = e
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *mlEventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return Event{}, false
	}
	name := q.order[0]
	q.order = q.order[1:]
	if len(q.order) == 0 {
		q.order = nil
	}
	e := q.pending[name]
	delete(q.pending, name)
	return e, true
}

func (q *mlEventQueue) run() {
	defer q.wg.Done()
	defer close(q.out)
	for {
		e, ok := q.pop()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return
			}
		}
		select {
		case q.out <- e:
		case <-q.done:
			return
		}
	}
}

// mlLogWriter turns memberlist's "[LEVEL] memberlist: message" lines into
// slog records at the matching level.
type mlLogWriter struct{ log *slog.Logger }

func (w mlLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\r\n")
	level := slog.LevelInfo
	if strings.HasPrefix(line, "[") {
		if i := strings.IndexByte(line, ']'); i > 0 {
			switch line[1:i] {
			case "DEBUG", "TRACE":
				level = slog.LevelDebug
			case "WARN", "WARNING":
				level = slog.LevelWarn
			case "ERR", "ERROR":
				level = slog.LevelError
			}
			line = strings.TrimSpace(line[i+1:])
		}
	}
	if level > slog.LevelDebug && strings.Contains(line, net.ErrClosed.Error()) {
		// memberlist's probes race its own Shutdown, which closed the
		// socket: nothing an operator can act on.
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if w.log.Enabled(ctx, level) {
		w.log.Log(ctx, level, strings.TrimPrefix(line, "memberlist: "))
	}
	return len(p), nil
}
