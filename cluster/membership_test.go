package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// mlTestConfig returns a loopback config on a random port with a label
// unique to the test, so tests never hear each other's gossip.
func mlTestConfig(t *testing.T, id string, seeds ...string) MembershipConfig {
	t.Helper()
	return MembershipConfig{
		Meta: NodeMeta{
			ID:        id,
			Role:      RoleShard,
			RESPAddr:  "resp-" + id + ":7001",
			AdminAddr: "admin-" + id + ":9101",
			Zone:      "zone-" + id,
		},
		BindAddr:    "127.0.0.1",
		Seeds:       seeds,
		Label:       t.Name(),
		Timing:      DefaultTiming(),
		JoinTimeout: 3 * time.Second,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// mlTestJoin joins and registers a Shutdown for the end of the test.
func mlTestJoin(t *testing.T, cfg MembershipConfig) *Membership {
	t.Helper()
	m, err := Join(cfg)
	if err != nil {
		t.Fatalf("Join(%s): %v", cfg.Meta.ID, err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(); err != nil {
			t.Errorf("Shutdown(%s): %v", cfg.Meta.ID, err)
		}
	})
	return m
}

// mlTestCluster starts n members with IDs ids[i] (or node-i), all joining
// through the first, and waits until every member sees all n alive.
func mlTestCluster(t *testing.T, ids ...string) []*Membership {
	t.Helper()
	var ms []*Membership
	for i, id := range ids {
		var seeds []string
		if i > 0 {
			seeds = []string{ms[0].LocalMember().Addr}
		}
		ms = append(ms, mlTestJoin(t, mlTestConfig(t, id, seeds...)))
	}
	mlWaitFor(t, 5*time.Second, fmt.Sprintf("all %d members see %d alive", len(ms), len(ms)), func() bool {
		for _, m := range ms {
			if m.NumAlive() != len(ms) {
				return false
			}
		}
		return true
	})
	return ms
}

// mlWaitFor polls cond until it holds or timeout passes.
func mlWaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		<-tick.C
	}
}

// mlWaitEvent reads m's events until one satisfies match, and returns it
// with the time it arrived.
func mlWaitEvent(m *Membership, timeout time.Duration, match func(Event) bool) (Event, time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				return Event{}, time.Time{}, errors.New("events channel closed")
			}
			if match(ev) {
				return ev, time.Now(), nil
			}
		case <-timer.C:
			return Event{}, time.Time{}, fmt.Errorf("no matching event within %s", timeout)
		}
	}
}

// mlDrain discards the events already delivered to m.
func mlDrain(m *Membership) {
	for {
		select {
		case <-m.Events():
		default:
			return
		}
	}
}

// mlGone matches the Leave or Fail event of the member called name.
func mlGone(name string) func(Event) bool {
	return func(ev Event) bool {
		return ev.Member.Name == name && (ev.Kind == EventLeave || ev.Kind == EventFail)
	}
}

func TestMembershipMetaRoundTrip(t *testing.T) {
	for _, nm := range []NodeMeta{
		{},
		{ID: "a", Role: RoleProxy},
		{ID: "shard-7", Role: RoleShard, RESPAddr: "10.0.0.7:7001", AdminAddr: "10.0.0.7:9101",
			RaftAddr: "10.0.0.7:7300", Zone: "eu-west-1a"},
		{ID: "ünï", Role: RoleShard, Zone: strings.Repeat("z", 200)},
	} {
		b, err := nm.Encode()
		if err != nil {
			t.Fatalf("Encode(%+v): %v", nm, err)
		}
		got, err := DecodeNodeMeta(b)
		if err != nil || got != nm {
			t.Fatalf("DecodeNodeMeta(Encode(%+v)) = %+v, %v", nm, got, err)
		}
		// Fields appended by a later version are ignored.
		got, err = DecodeNodeMeta(append(b, 3, 'n', 'e', 'w'))
		if err != nil || got != nm {
			t.Fatalf("with trailing field: %+v, %v", got, err)
		}
	}
	b, _ := NodeMeta{ID: "shard-1", Role: RoleShard, RESPAddr: "10.0.0.1:7001", AdminAddr: "10.0.0.1:9101", Zone: "a"}.Encode()
	t.Logf("a typical shard's metadata encodes to %d bytes", len(b))
	if len(b) > 64 {
		t.Errorf("encoding of a typical shard is %d bytes, want it compact (<= 64)", len(b))
	}
}

func TestMembershipMetaDecodeErrors(t *testing.T) {
	good, _ := NodeMeta{ID: "a", Role: RoleShard, RESPAddr: "h:1"}.Encode()
	for name, b := range map[string][]byte{
		"nil":             nil,
		"one byte":        {mlMetaVersion},
		"bad version":     append([]byte{9}, good[1:]...),
		"no fields":       {mlMetaVersion, 0},
		"truncated field": good[:len(good)-1],
		"huge length":     {mlMetaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":      {mlMetaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if nm, err := DecodeNodeMeta(b); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: DecodeNodeMeta(%x) = %+v, %v; want ErrBadMeta", name, b, nm, err)
		}
	}
}

func FuzzMembershipDecodeNodeMeta(f *testing.F) {
	b, _ := NodeMeta{ID: "a", Role: RoleShard, RESPAddr: "h:1", Zone: "z"}.Encode()
	f.Add(b)
	f.Add([]byte{1, 0, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		nm, err := DecodeNodeMeta(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a prefix-compatible form.
		again, err := nm.Encode()
		if err != nil {
			t.Fatalf("decoded %+v from %d bytes but cannot re-encode: %v", nm, len(b), err)
		}
		if nm2, err := DecodeNodeMeta(again); err != nil || nm2 != nm {
			t.Fatalf("re-decode: %+v, %v; want %+v", nm2, err, nm)
		}
	})
}

func TestMembershipMetaTooLarge(t *testing.T) {
	base := NodeMeta{ID: "big", Role: RoleShard}
	baseLen := func() int { b, _ := base.Encode(); return len(b) }()
	// Zone's length prefix is 2 bytes for 128..16383 bytes, 1 below.
	fits := base
	fits.Zone = strings.Repeat("z", MaxMetaSize-baseLen-1)
	if b, err := fits.Encode(); err != nil || len(b) != MaxMetaSize {
		t.Fatalf("Encode of exactly %d bytes: len %d, %v", MaxMetaSize, len(b), err)
	}
	over := fits
	over.Zone += "z"
	if _, err := over.Encode(); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("Encode of %d bytes: %v, want ErrMetaTooLarge", MaxMetaSize+1, err)
	}
	if err := over.Validate(); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("Validate: %v, want ErrMetaTooLarge", err)
	}

	// Join refuses it instead of letting memberlist panic.
	cfg := mlTestConfig(t, "big")
	cfg.Meta.Zone = strings.Repeat("z", 600)
	if m, err := Join(cfg); !errors.Is(err, ErrMetaTooLarge) {
		if m != nil {
			_ = m.Shutdown()
		}
		t.Fatalf("Join with 600-byte zone: %v, want ErrMetaTooLarge", err)
	}

	// So does UpdateMeta, and the old metadata stays in effect.
	ms := mlTestCluster(t, "a", "b")
	bigMeta := ms[0].LocalMember().Meta
	bigMeta.Zone = strings.Repeat("z", 600)
	if err := ms[0].UpdateMeta(bigMeta); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("UpdateMeta with 600-byte zone: %v, want ErrMetaTooLarge", err)
	}
	if z := ms[0].LocalMember().Meta.Zone; z != "zone-a" {
		t.Fatalf("after refused UpdateMeta, local zone is %q", z)
	}
	mlWaitFor(t, time.Second, "b still sees a's old zone", func() bool {
		for _, mem := range ms[1].Members() {
			if mem.ID == "a" {
				return mem.Meta.Zone == "zone-a"
			}
		}
		return false
	})
}

func TestMembershipConfigValidate(t *testing.T) {
	ok := mlTestConfig(t, "a", "127.0.0.1:7946")
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*MembershipConfig)
		want []string // substrings the error must contain: field and value
	}{
		{"empty ID", func(c *MembershipConfig) { c.Meta.ID = "" }, []string{"NodeMeta.ID is empty"}},
		{"space in ID", func(c *MembershipConfig) { c.Meta.ID = "a b" }, []string{"NodeMeta.ID", `"a b"`}},
		{"role", func(c *MembershipConfig) { c.Meta.Role = "master" }, []string{"NodeMeta.Role", `"master"`}},
		{"resp addr", func(c *MembershipConfig) { c.Meta.RESPAddr = "nope" }, []string{"NodeMeta.RESPAddr", `"nope"`}},
		{"raft port", func(c *MembershipConfig) { c.Meta.RaftAddr = "h:0" }, []string{"NodeMeta.RaftAddr", `"h:0"`}},
		{"bind addr", func(c *MembershipConfig) { c.BindAddr = "localhost" }, []string{"BindAddr", `"localhost"`}},
		{"bind port", func(c *MembershipConfig) { c.BindPort = 70000 }, []string{"BindPort", "70000"}},
		{"advertise addr", func(c *MembershipConfig) { c.AdvertiseAddr = "x" }, []string{"AdvertiseAddr", `"x"`}},
		{"advertise port alone", func(c *MembershipConfig) { c.AdvertisePort = 9 }, []string{"AdvertisePort", "9", "without AdvertiseAddr"}},
		{"advertise port random bind", func(c *MembershipConfig) { c.AdvertiseAddr = "10.0.0.1"; c.AdvertisePort = 9 }, []string{"AdvertisePort", "BindPort 0"}},
		{"seed", func(c *MembershipConfig) { c.Seeds = []string{"h:1", "nohost"} }, []string{"Seeds[1]", `"nohost"`}},
		{"key", func(c *MembershipConfig) { c.SecretKey = make([]byte, 10) }, []string{"SecretKey", "10 bytes"}},
		{"label", func(c *MembershipConfig) { c.Label = strings.Repeat("l", 256) }, []string{"Label", "256 bytes"}},
		{"negative probe", func(c *MembershipConfig) { c.Timing.ProbeInterval = -time.Second }, []string{"Timing.ProbeInterval", "-1s"}},
		{"negative mult", func(c *MembershipConfig) { c.Timing.SuspicionMult = -1 }, []string{"Timing.SuspicionMult", "-1"}},
		{"probe timeout", func(c *MembershipConfig) { c.Timing.ProbeTimeout = 200 * time.Millisecond }, []string{"Timing.ProbeTimeout (200ms)", "Timing.ProbeInterval (100ms)"}},
		{"join timeout", func(c *MembershipConfig) { c.JoinTimeout = -time.Second }, []string{"JoinTimeout", "-1s"}},
		{"advertise resp wildcard", func(c *MembershipConfig) { c.AdvertiseRESPAddr = "0.0.0.0:7001" }, []string{"AdvertiseRESPAddr", `"0.0.0.0:7001"`, "wildcard"}},
		{"advertise resp no port", func(c *MembershipConfig) { c.AdvertiseRESPAddr = "shard-1" }, []string{"AdvertiseRESPAddr", `"shard-1"`}},
	} {
		c := ok
		c.Seeds = slices.Clone(ok.Seeds)
		tc.mod(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: Validate accepted %+v", tc.name, c)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
		if m, jerr := Join(c); jerr == nil {
			_ = m.Shutdown()
			t.Errorf("%s: Join accepted an invalid config", tc.name)
		}
	}
	// Every problem is reported, not just the first.
	c := ok
	c.BindPort, c.SecretKey = -1, []byte("short")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "BindPort") || !strings.Contains(err.Error(), "SecretKey") {
		t.Errorf("two problems, got %v", err)
	}
}

func TestMembershipTimingDefaults(t *testing.T) {
	if got := (Timing{}).mlWithDefaults(); got != DefaultTiming() {
		t.Errorf("zero Timing = %+v, want DefaultTiming %+v", got, DefaultTiming())
	}
	got := Timing{ProbeInterval: time.Second, RetransmitMult: 7}.mlWithDefaults()
	want := DefaultTiming()
	want.ProbeInterval, want.RetransmitMult = time.Second, 7
	if got != want {
		t.Errorf("partial Timing = %+v, want %+v", got, want)
	}
	if errs := DefaultTiming().mlValidate(); len(errs) != 0 {
		t.Errorf("DefaultTiming invalid: %v", errs)
	}
}

func TestMembershipEventQueueCoalesces(t *testing.T) {
	q := mlNewEventQueue()
	ev := func(kind EventKind, name, zone string) Event {
		return Event{Kind: kind, Member: Member{Name: name, ID: name, Meta: NodeMeta{ID: name, Zone: zone}}}
	}
	// No consumer yet: pushes must not block, however many.
	q.push(ev(EventJoin, "a", "1"))
	q.push(ev(EventJoin, "b", "1"))
	for i := range 10000 {
		q.push(ev(EventUpdate, "a", fmt.Sprint(i)))
	}
	q.push(ev(EventJoin, "c", "1"))
	q.push(ev(EventFail, "b", "1"))
	q.push(ev(EventFail, "d", "1"))
	q.push(ev(EventJoin, "d", "2")) // came back: the consumer must see it alive
	q.start()
	var got []string
	for range 4 {
		e := <-q.out
		got = append(got, fmt.Sprintf("%s:%s:%s", e.Member.Name, e.Kind, e.Member.Meta.Zone))
	}
	want := []string{"a:join:9999", "b:fail:1", "c:join:1", "d:join:2"}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	select {
	case e := <-q.out:
		t.Errorf("unexpected extra event %+v", e)
	default:
	}
	// Later events are delivered in order once the backlog is gone.
	q.push(ev(EventUpdate, "c", "2"))
	if e := <-q.out; e.Kind != EventUpdate || e.Member.Meta.Zone != "2" {
		t.Errorf("after backlog: %+v", e)
	}
	q.stop()
	if _, ok := <-q.out; ok {
		t.Error("out not closed by stop")
	}
	q.push(ev(EventJoin, "e", "1")) // after stop: must not block or panic
}

// mlSyncBuffer is a bytes.Buffer safe for the concurrent writes of a
// slog handler shared by memberlist's goroutines.
type mlSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *mlSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *mlSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMembershipLogsToSlog(t *testing.T) {
	var buf mlSyncBuffer
	w := mlLogWriter{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, line := range []string{
		"[DEBUG] memberlist: d1\n", "[INFO] memberlist: i1\n", "[WARN] memberlist: w1\n",
		"[ERR] memberlist: e1\n", "[ERR] Failed to shutdown transport: e2\n", "plain\n",
		"[ERR] memberlist: Failed to send UDP ping: write udp 127.0.0.1:1->127.0.0.1:2: use of closed network connection\n",
	} {
		if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	for _, want := range []string{
		"level=DEBUG msg=d1", "level=INFO msg=i1", "level=WARN msg=w1", "level=ERROR msg=e1",
		`level=ERROR msg="Failed to shutdown transport: e2"`, "level=INFO msg=plain",
		`level=DEBUG msg="Failed to send UDP ping`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log output lacks %q:\n%s", want, buf.String())
		}
	}

	// A real member routes memberlist's own lines (and its events) there.
	var joined mlSyncBuffer
	cfg := mlTestConfig(t, "logger")
	cfg.Logger = slog.New(slog.NewTextHandler(&joined, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := mlTestJoin(t, cfg)
	if err := m.Shutdown(); err != nil {
		t.Fatal(err)
	}
	out := joined.String()
	for _, want := range []string{"component=memberlist", "Using dynamic bind port", "msg=\"member joined\" node=logger"} {
		if !strings.Contains(out, want) {
			t.Errorf("member log lacks %q:\n%s", want, out)
		}
	}
}

func TestMembershipJoinFive(t *testing.T) {
	ids := []string{"s1", "s2", "s3", "p1", "s4"}
	ms := mlTestCluster(t, ids...)
	want := map[string]Member{}
	for i, m := range ms {
		lm := m.LocalMember()
		cfg := mlTestConfig(t, ids[i])
		if lm.ID != ids[i] || lm.Meta != cfg.Meta || lm.State != MemberAlive || lm.Leaving {
			t.Fatalf("LocalMember of %s = %+v", ids[i], lm)
		}
		if !strings.HasPrefix(lm.Name, ids[i]+"/") {
			t.Errorf("Name %q does not start with the ID", lm.Name)
		}
		if host, port, err := net.SplitHostPort(lm.Addr); err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("LocalMember(%s).Addr = %q", ids[i], lm.Addr)
		}
		want[lm.ID] = lm
	}
	for _, m := range ms {
		got := m.Members()
		if len(got) != len(ids) {
			t.Fatalf("%s sees %d members", m.LocalMember().ID, len(got))
		}
		for _, mem := range got {
			if w := want[mem.ID]; mem != w {
				t.Errorf("%s sees %+v, want %+v", m.LocalMember().ID, mem, w)
			}
		}
	}
	// The first event on every member is its own Join.
	for _, m := range ms {
		ev := <-m.Events()
		if ev.Kind != EventJoin || ev.Member.Name != m.LocalMember().Name {
			t.Errorf("%s: first event %+v, want own join", m.LocalMember().ID, ev)
		}
	}
}

func TestMembershipUpdateMeta(t *testing.T) {
	ms := mlTestCluster(t, "a", "b", "c")
	mlDrain(ms[2])
	meta := ms[0].LocalMember().Meta
	meta.AdminAddr, meta.RaftAddr = "127.0.0.1:9999", "127.0.0.1:7300"
	if err := ms[0].UpdateMeta(meta); err != nil {
		t.Fatal(err)
	}
	if got := ms[0].LocalMember().Meta; got != meta {
		t.Errorf("local meta after update = %+v", got)
	}
	ev, _, err := mlWaitEvent(ms[2], 3*time.Second, func(ev Event) bool { return ev.Member.ID == "a" })
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != EventUpdate || ev.Member.Meta != meta || ev.Member.State != MemberAlive {
		t.Errorf("c got %+v, want update to %+v", ev, meta)
	}
	mlWaitFor(t, 3*time.Second, "b sees a's new metadata", func() bool {
		return slices.ContainsFunc(ms[1].Members(), func(m Member) bool { return m.ID == "a" && m.Meta == meta })
	})
	meta.ID = "other"
	if err := ms[0].UpdateMeta(meta); err == nil || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("UpdateMeta changing the ID: %v", err)
	}
}

func TestMembershipLeave(t *testing.T) {
	ms := mlTestCluster(t, "a", "b", "c", "d")
	leaver := ms[1].LocalMember()
	for _, m := range ms {
		mlDrain(m)
	}
	if err := ms[1].Leave(2 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	for _, i := range []int{0, 2, 3} {
		ev, _, err := mlWaitEvent(ms[i], 3*time.Second, mlGone(leaver.Name))
		if err != nil {
			t.Fatalf("%s: %v", ms[i].LocalMember().ID, err)
		}
		if ev.Kind != EventLeave || ev.Member.State != MemberLeft || ev.Member.ID != "b" || !ev.Member.Leaving {
			t.Errorf("%s got %+v, want a Leave of b", ms[i].LocalMember().ID, ev)
		}
		if n := ms[i].NumAlive(); n != 3 {
			t.Errorf("%s sees %d alive after b left", ms[i].LocalMember().ID, n)
		}
	}
	if st := ms[1].LocalMember().State; st != MemberLeft {
		t.Errorf("leaver's own state %s, want left", st)
	}
	if err := ms[1].Leave(time.Second); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if err := ms[1].UpdateMeta(leaver.Meta); !errors.Is(err, ErrMembershipLeft) {
		t.Errorf("UpdateMeta after Leave: %v, want ErrMembershipLeft", err)
	}
}

func TestMembershipFailDetection(t *testing.T) {
	ms := mlTestCluster(t, "a", "b", "c", "d")
	victim := ms[3].LocalMember()
	for _, m := range ms {
		mlDrain(m)
	}
	start := time.Now()
	if err := ms[3].Shutdown(); err != nil {
		t.Fatal(err)
	}
	type result struct {
		id  string
		ev  Event
		at  time.Time
		err error
	}
	results := make(chan result, 3)
	for _, m := range ms[:3] {
		go func() {
			ev, at, err := mlWaitEvent(m, 5*time.Second, mlGone(victim.Name))
			results <- result{m.LocalMember().ID, ev, at, err}
		}()
	}
	var worst time.Duration
	for range 3 {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s: %v", r.id, r.err)
		}
		if r.ev.Kind != EventFail || r.ev.Member.State != MemberDead || r.ev.Member.ID != "d" {
			t.Errorf("%s got %+v, want a Fail of d", r.id, r.ev)
		}
		d := r.at.Sub(start)
		worst = max(worst, d)
		t.Logf("%s declared d dead after %s (DefaultTiming, 4 members, loopback)", r.id, d.Round(time.Millisecond))
	}
	if worst > 2*time.Second {
		t.Errorf("slowest failure detection %s, want under 2s", worst)
	}
	for _, m := range ms[:3] {
		if slices.ContainsFunc(m.Members(), func(mem Member) bool { return mem.ID == "d" }) {
			t.Errorf("%s still lists d", m.LocalMember().ID)
		}
	}
}

func TestMembershipRestartSameID(t *testing.T) {
	ms := mlTestCluster(t, "a", "b", "c")
	old := ms[2].LocalMember()
	if err := ms[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	// Same ID, new incarnation, new port; seeds through b this time.
	cfg := mlTestConfig(t, "c", ms[1].LocalMember().Addr)
	cfg.Meta.AdminAddr = "127.0.0.1:9202"
	again := mlTestJoin(t, cfg)
	cur := again.LocalMember()
	if cur.ID != old.ID || cur.Name == old.Name || cur.Name <= old.Name {
		t.Fatalf("new incarnation %q of %q should sort after %q", cur.Name, cur.ID, old.Name)
	}
	t.Logf("old %s at %s, new %s at %s", old.Name, old.Addr, cur.Name, cur.Addr)
	for _, m := range []*Membership{ms[0], ms[1], again} {
		mlWaitFor(t, 5*time.Second, m.LocalMember().ID+" sees exactly the new c alive", func() bool {
			var cs []Member
			for _, mem := range m.Members() {
				if mem.ID == "c" {
					cs = append(cs, mem)
				}
			}
			return m.NumAlive() == 3 && len(cs) == 1 && cs[0].Name == cur.Name && cs[0].Meta.AdminAddr == "127.0.0.1:9202"
		})
	}
}

func TestMembershipEncryption(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	cfgA := mlTestConfig(t, "a")
	cfgA.SecretKey = key
	a := mlTestJoin(t, cfgA)
	cfgB := mlTestConfig(t, "b", a.LocalMember().Addr)
	cfgB.SecretKey = key
	b := mlTestJoin(t, cfgB)
	mlWaitFor(t, 3*time.Second, "a and b see each other", func() bool { return a.NumAlive() == 2 && b.NumAlive() == 2 })

	for name, intruderKey := range map[string][]byte{
		"other key": bytes.Repeat([]byte{8}, 32),
		"short key": bytes.Repeat([]byte{7}, 16),
		"no key":    nil,
	} {
		cfg := mlTestConfig(t, "x", a.LocalMember().Addr)
		cfg.SecretKey = intruderKey
		cfg.JoinTimeout = 300 * time.Millisecond
		start := time.Now()
		m, err := Join(cfg)
		if err == nil {
			_ = m.Shutdown()
			t.Fatalf("%s: intruder joined", name)
		}
		if !errors.Is(err, ErrSeedsUnreachable) {
			t.Errorf("%s: %v, want ErrSeedsUnreachable", name, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: Join took %s to give up", name, d)
		}
		t.Logf("%s: refused after %s: %v", name, time.Since(start).Round(time.Millisecond), err)
	}
	if a.NumAlive() != 2 || b.NumAlive() != 2 {
		t.Errorf("after intrusion attempts: a sees %d, b sees %d", a.NumAlive(), b.NumAlive())
	}
}

func TestMembershipSeedsUnreachable(t *testing.T) {
	// A port nobody listens on: bind, note, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	cfg := mlTestConfig(t, "lonely", dead)
	cfg.JoinTimeout = 400 * time.Millisecond
	start := time.Now()
	m, err := Join(cfg)
	if err == nil {
		_ = m.Shutdown()
		t.Fatal("Join through a dead seed succeeded")
	}
	d := time.Since(start)
	if !errors.Is(err, ErrSeedsUnreachable) || !strings.Contains(err.Error(), dead) {
		t.Errorf("error %v, want ErrSeedsUnreachable naming %s", err, dead)
	}
	if d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %s, want about the 400ms JoinTimeout", d)
	}
}

func TestMembershipMembersOrder(t *testing.T) {
	ms := mlTestCluster(t, "node-c", "node-a", "node-d", "node-b")
	first := ms[0].Members()
	var ids []string
	for _, mem := range first {
		ids = append(ids, mem.ID)
	}
	if want := []string{"node-a", "node-b", "node-c", "node-d"}; !slices.Equal(ids, want) {
		t.Fatalf("Members IDs %v, want %v", ids, want)
	}
	for _, m := range ms {
		for range 3 {
			if got := m.Members(); !slices.Equal(got, first) {
				t.Fatalf("%s: Members %v differs from %v", m.LocalMember().ID, got, first)
			}
		}
	}
}

func TestMembershipShutdown(t *testing.T) {
	ms := mlTestCluster(t, "a", "b")
	m := ms[1]
	for range 2 {
		if err := m.Shutdown(); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
	mlWaitFor(t, time.Second, "Events closed", func() bool {
		select {
		case _, ok := <-m.Events():
			return !ok
		default:
			return false
		}
	})
	if err := m.Leave(time.Second); !errors.Is(err, ErrMembershipClosed) {
		t.Errorf("Leave after Shutdown: %v", err)
	}
	if err := m.UpdateMeta(m.LocalMember().Meta); !errors.Is(err, ErrMembershipClosed) {
		t.Errorf("UpdateMeta after Shutdown: %v", err)
	}
}

// TestMembershipAdvertiseRESPAddr: a node whose RESP listener bound every
// interface gossips the address it advertises, with the bound port when the
// advertised one is 0, and keeps it through UpdateMeta.
func TestMembershipAdvertiseRESPAddr(t *testing.T) {
	a := mlTestJoin(t, mlTestConfig(t, "a"))
	cfg := mlTestConfig(t, "b", a.LocalMember().Addr)
	cfg.Meta.RESPAddr = "0.0.0.0:7001"
	cfg.AdvertiseRESPAddr = "shard-b.example:0"
	b := mlTestJoin(t, cfg)
	const want = "shard-b.example:7001"
	if got := b.LocalMember().Meta.RESPAddr; got != want {
		t.Errorf("local RESPAddr = %q, want %q", got, want)
	}
	mlWaitFor(t, 3*time.Second, "a sees b's advertised RESP address", func() bool {
		return slices.ContainsFunc(a.Members(), func(m Member) bool { return m.ID == "b" && m.Meta.RESPAddr == want })
	})
	meta := b.LocalMember().Meta
	meta.Zone = "z2"
	if err := b.UpdateMeta(meta); err != nil {
		t.Fatal(err)
	}
	if got := b.LocalMember().Meta; got.RESPAddr != want || got.Zone != "z2" {
		t.Errorf("meta after UpdateMeta = %+v", got)
	}
}

// TestMembershipSeedByName: a seed given by name counts as alive when a
// member behind one of its addresses is, so the rejoin loop leaves a healthy
// member alone.
func TestMembershipSeedByName(t *testing.T) {
	alive := map[string]bool{"127.0.0.1:7946": true}
	for seed, want := range map[string]bool{
		"127.0.0.1:7946": true,
		"localhost:7946": true,
		"localhost:7947": false,
		"127.0.0.2:7946": false,
	} {
		if got := mlSeedAlive(seed, alive); got != want {
			t.Errorf("mlSeedAlive(%q) = %v, want %v", seed, got, want)
		}
	}
}
