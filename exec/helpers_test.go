package exec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shardis/shardis/store"
)

// testStore is a partition in memory that runs commands one transaction
// each, as a shard would, at a clock the test sets.
type testStore struct {
	t   testing.TB
	m   *store.Mem
	cfg Config
	rnd *rand.Rand
	now int64 // unix ms
}

func newTestStore(t testing.TB) *testStore {
	m, err := store.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &testStore{t: t, m: m, cfg: DefaultConfig, rnd: rand.New(rand.NewPCG(1, 2)), now: 1_700_000_000_000}
}

// do runs one command and returns its raw RESP3 reply. Read-only
// commands run in a read transaction, as the shard runs them.
func (s *testStore) do(args ...string) string {
	s.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	var r Reply
	c := &Ctx{R: &r, Cfg: &s.cfg, Rand: s.rnd}
	run := func(t *store.Txn) error {
		c.Tx = t
		return Run(c, argv)
	}
	var err error
	if cmd := Lookup(argv[0]); cmd != nil && !cmd.Spec.IsWrite() {
		err = s.m.View(s.now, run)
	} else {
		err = s.m.Update(s.now, run)
	}
	if err != nil {
		s.t.Fatalf("%v: store error %v", args, err)
	}
	return string(r.Bytes())
}

// expect runs a command and checks its raw RESP3 reply.
func (s *testStore) expect(want string, args ...string) {
	s.t.Helper()
	if got := s.do(args...); got != want {
		s.t.Errorf("%s:\n got %q\nwant %q", strings.Join(args, " "), got, want)
	}
}

// record reads key's record straight from the store.
func (s *testStore) record(key string) (store.Record, bool) {
	s.t.Helper()
	var r store.Record
	var ok bool
	if err := s.m.View(s.now, func(t *store.Txn) error { r, ok = t.Get([]byte(key)); return nil }); err != nil {
		s.t.Fatal(err)
	}
	return r, ok
}

// update runs fn in one write transaction, to set keys up straight in the
// store without depending on the commands under test.
func (s *testStore) update(fn func(t *store.Txn) error) {
	s.t.Helper()
	if err := s.m.Update(s.now, fn); err != nil {
		s.t.Fatal(err)
	}
}

// putString stores a string key straight into the store, with the expiry
// exp (unix ms, 0 for none).
func (s *testStore) putString(key, val string, exp int64) {
	s.t.Helper()
	s.update(func(t *store.Txn) error { return t.PutString([]byte(key), exp, val) })
}

// Raw RESP3 replies that the tests of every type expect.
const (
	replyWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
	replyNotInt    = "-ERR value is not an integer or out of range\r\n"
	replySyntax    = "-ERR syntax error\r\n"
)

// bulk is the RESP bulk string of s.
func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }
