package exec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shardis/shardis/store"
	"github.com/tidwall/buntdb"
)

const (
	listNull      = "_\r\n"
	listNullArray = "*-1\r\n"
	listEmpty     = "*0\r\n"
	listOK        = "+OK\r\n"
)

// la is the RESP array of bulk strings items.
func la(items ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(items))
	for _, it := range items {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(it), it)
	}
	return b.String()
}

// li is the RESP integer n.
func li(n int) string { return ":" + strconv.Itoa(n) + "\r\n" }

// lints is the RESP array of integers ns.
func lints(ns ...int) string {
	out := fmt.Sprintf("*%d\r\n", len(ns))
	for _, n := range ns {
		out += li(n)
	}
	return out
}

type listStep struct {
	want string
	args []string
}

func ls(want string, args ...string) listStep { return listStep{want, args} }

// listRun runs steps in order against a fresh store holding the string
// key "str" (for WRONGTYPE), written directly so that no other type's
// commands are needed.
func listRun(t *testing.T, steps []listStep) *testStore {
	t.Helper()
	s := newTestStore(t)
	s.update(func(tx *store.Txn) error { return tx.PutString([]byte("str"), 0, "v") })
	for _, st := range steps {
		s.expect(st.want, st.args...)
	}
	return s
}

func TestListPushPop(t *testing.T) {
	s := listRun(t, []listStep{
		ls(li(3), "RPUSH", "l", "a", "b", "c"),
		ls(li(5), "lpush", "l", "x", "y"),
		ls(la("y", "x", "a", "b", "c"), "LRANGE", "l", "0", "-1"),
		ls(li(5), "LLEN", "l"),
		ls(li(0), "LPUSHX", "nokey", "a"),
		ls(li(0), "RPUSHX", "nokey", "a", "b"),
		ls(li(0), "LLEN", "nokey"),
		ls(listEmpty, "LRANGE", "nokey", "0", "-1"),
		ls(li(7), "LPUSHX", "l", "z1", "z2"),
		ls(li(8), "RPUSHX", "l", "w"),
		ls(la("z2", "z1", "y", "x", "a", "b", "c", "w"), "LRANGE", "l", "0", "-1"),
		ls(bulk("z2"), "LPOP", "l"),
		ls(bulk("w"), "RPOP", "l"),
		ls(listEmpty, "LPOP", "l", "0"),
		ls(listEmpty, "RPOP", "l", "0"),
		ls(la("z1", "y"), "LPOP", "l", "2"),
		ls(la("c"), "RPOP", "l", "1"),
		ls(la("b", "a", "x"), "RPOP", "l", "100"),
		ls(li(0), "LLEN", "l"),
		ls(listNull, "LPOP", "l"),
		ls(listNull, "RPOP", "l"),
		ls(listNullArray, "LPOP", "l", "1"),
		ls(listNullArray, "RPOP", "l", "0"),
		ls(li(0), "RPUSHX", "l", "a"),
		// Errors: the count is checked before the key.
		ls("-ERR value is out of range, must be positive\r\n", "LPOP", "nokey", "-1"),
		ls("-ERR value is out of range, must be positive\r\n", "RPOP", "nokey", "abc"),
		ls("-ERR value is out of range, must be positive\r\n", "LPOP", "str", "abc"),
		ls("-ERR value is out of range, must be positive\r\n", "LPOP", "nokey", "+1"),
		ls("-ERR wrong number of arguments for 'lpop' command\r\n", "LPOP", "l", "1", "2"),
		ls("-ERR wrong number of arguments for 'rpop' command\r\n", "RPOP", "l", "1", "2"),
		ls(replyWrongType, "LPUSH", "str", "a"),
		ls(replyWrongType, "RPUSH", "str", "a"),
		ls(replyWrongType, "LPUSHX", "str", "a"),
		ls(replyWrongType, "RPUSHX", "str", "a"),
		ls(replyWrongType, "LPOP", "str"),
		ls(replyWrongType, "RPOP", "str", "0"),
		ls(replyWrongType, "LLEN", "str"),
	})
	// Popping everything leaves nothing behind but the string.
	if n := s.m.StorageKeys(); n != 1 {
		t.Errorf("storage keys after popping everything: %d, want 1", n)
	}
}

func TestListBinary(t *testing.T) {
	bin := "\x00\r\n\xff"
	listRun(t, []listStep{
		ls(li(3), "RPUSH", "b", bin, "", "*1\r\n"),
		ls(la(bin, "", "*1\r\n"), "LRANGE", "b", "0", "-1"),
		ls(bulk(""), "LINDEX", "b", "1"),
		ls(li(1), "LPOS", "b", ""),
		ls(li(0), "LPOS", "b", bin),
		ls(li(4), "LINSERT", "b", "AFTER", "", bin),
		ls(li(2), "LREM", "b", "0", bin),
		ls(listOK, "LSET", "b", "0", "\x00"),
		ls(la("\x00", "*1\r\n"), "LRANGE", "b", "0", "-1"),
		ls(bulk("*1\r\n"), "LMOVE", "b", "\x00key", "RIGHT", "LEFT"),
		ls(la("*1\r\n"), "LRANGE", "\x00key", "0", "-1"),
		ls(li(0), "LPOS", "b", "\x00"),
		ls(listNull, "LPOS", "b", "\x00\x00"),
	})
}

func TestListRangeIndex(t *testing.T) {
	listRun(t, []listStep{
		ls(li(5), "RPUSH", "l", "a", "b", "c", "d", "e"),
		ls(la("a", "b", "c", "d", "e"), "LRANGE", "l", "-100", "100"),
		ls(la("b", "c"), "LRANGE", "l", "1", "2"),
		ls(la("d", "e"), "LRANGE", "l", "-2", "-1"),
		ls(la("e"), "LRANGE", "l", "4", "4"),
		ls(la("a"), "LRANGE", "l", "-9223372036854775808", "0"),
		ls(la("a", "b", "c", "d", "e"), "LRANGE", "l", "0", "9223372036854775807"),
		ls(listEmpty, "LRANGE", "l", "3", "1"),
		ls(listEmpty, "LRANGE", "l", "5", "10"),
		ls(listEmpty, "LRANGE", "l", "1", "-10"),
		ls(listEmpty, "LRANGE", "l", "-1", "-2"),
		ls(replyNotInt, "LRANGE", "l", "a", "0"),
		ls(replyNotInt, "LRANGE", "l", "0", "1.0"),
		ls(replyNotInt, "LRANGE", "nokey", "0", "x"),
		ls(replyNotInt, "LRANGE", "str", "x", "0"),
		ls(replyWrongType, "LRANGE", "str", "0", "-1"),
		ls(bulk("a"), "LINDEX", "l", "0"),
		ls(bulk("e"), "LINDEX", "l", "4"),
		ls(bulk("e"), "LINDEX", "l", "-1"),
		ls(bulk("a"), "LINDEX", "l", "-5"),
		ls(listNull, "LINDEX", "l", "-6"),
		ls(listNull, "LINDEX", "l", "5"),
		ls(listNull, "LINDEX", "l", "9223372036854775807"),
		ls(listNull, "LINDEX", "l", "-9223372036854775808"),
		ls(replyNotInt, "LINDEX", "l", "abc"),
		// The key is looked up before the index is parsed.
		ls(listNull, "LINDEX", "nokey", "abc"),
		ls(replyWrongType, "LINDEX", "str", "abc"),
	})
}

func TestListSetInsert(t *testing.T) {
	listRun(t, []listStep{
		ls("-ERR no such key\r\n", "LSET", "nokey", "0", "x"),
		ls("-ERR no such key\r\n", "LSET", "nokey", "abc", "x"),
		ls(replyWrongType, "LSET", "str", "0", "x"),
		ls(li(5), "RPUSH", "l", "a", "b", "c", "d", "e"),
		ls(replyNotInt, "LSET", "l", "abc", "x"),
		ls("-ERR index out of range\r\n", "LSET", "l", "5", "x"),
		ls("-ERR index out of range\r\n", "LSET", "l", "-6", "x"),
		ls(listOK, "LSET", "l", "-1", "E"),
		ls(listOK, "LSET", "l", "0", "A"),
		ls(listOK, "LSET", "l", "2", "C"),
		ls(la("A", "b", "C", "d", "E"), "LRANGE", "l", "0", "-1"),

		ls(li(0), "LINSERT", "nokey", "BEFORE", "a", "b"),
		ls(replySyntax, "LINSERT", "nokey", "middle", "a", "b"),
		ls(replySyntax, "LINSERT", "l", "middle", "a", "b"),
		ls(replySyntax, "LINSERT", "str", "middle", "a", "b"),
		ls(replyWrongType, "LINSERT", "str", "before", "a", "b"),
		ls(li(-1), "LINSERT", "l", "before", "zz", "b"),
		ls(li(6), "LINSERT", "l", "before", "A", "0"),
		ls(li(7), "LINSERT", "l", "After", "E", "9"),
		ls(li(8), "LINSERT", "l", "AFTER", "b", "b2"),
		ls(li(9), "LINSERT", "l", "before", "d", "c2"),
		ls(la("0", "A", "b", "b2", "C", "c2", "d", "E", "9"), "LRANGE", "l", "0", "-1"),
		// The first occurrence from the head is the pivot.
		ls(li(10), "LINSERT", "l", "before", "b", "b"),
		ls(li(11), "LINSERT", "l", "after", "b", "x"),
		ls(la("0", "A", "b", "x", "b", "b2", "C", "c2", "d", "E", "9"), "LRANGE", "l", "0", "-1"),
		ls(li(11), "LLEN", "l"),
	})
}

func TestListRemTrim(t *testing.T) {
	s := listRun(t, []listStep{
		ls(replyNotInt, "LREM", "nokey", "abc", "a"),
		ls(li(0), "LREM", "nokey", "0", "a"),
		ls(replyWrongType, "LREM", "str", "0", "a"),
		ls(replyNotInt, "LREM", "str", "x", "a"),
		ls(li(9), "RPUSH", "l", "a", "b", "a", "c", "a", "d", "a", "e", "a"),
		ls(replyNotInt, "LREM", "l", "abc", "a"),
		ls(li(0), "LREM", "l", "0", "zz"),
		ls(li(2), "LREM", "l", "2", "a"),
		ls(la("b", "c", "a", "d", "a", "e", "a"), "LRANGE", "l", "0", "-1"),
		ls(li(1), "LREM", "l", "-1", "a"),
		ls(la("b", "c", "a", "d", "a", "e"), "LRANGE", "l", "0", "-1"),
		ls(li(2), "LREM", "l", "-5", "a"),
		ls(la("b", "c", "d", "e"), "LRANGE", "l", "0", "-1"),
		ls(li(4), "RPUSH", "m", "x", "y", "x", "x"),
		ls(li(3), "LREM", "m", "0", "x"),
		ls(la("y"), "LRANGE", "m", "0", "-1"),
		ls(li(1), "LREM", "m", "-9223372036854775808", "y"),
		ls(li(0), "LLEN", "m"),

		ls(replyNotInt, "LTRIM", "nokey", "a", "b"),
		ls(listOK, "LTRIM", "nokey", "0", "1"),
		ls(replyWrongType, "LTRIM", "str", "0", "1"),
		ls(replyNotInt, "LTRIM", "str", "a", "1"),
		ls(replyNotInt, "LTRIM", "l", "0", "b"),
		ls(listOK, "LTRIM", "l", "0", "-1"),
		ls(la("b", "c", "d", "e"), "LRANGE", "l", "0", "-1"),
		ls(listOK, "LTRIM", "l", "1", "100"),
		ls(la("c", "d", "e"), "LRANGE", "l", "0", "-1"),
		ls(listOK, "LTRIM", "l", "-100", "-2"),
		ls(la("c", "d"), "LRANGE", "l", "0", "-1"),
		ls(li(2), "LLEN", "l"),
		ls(listOK, "LTRIM", "l", "1", "0"),
		ls(li(0), "LLEN", "l"),
		ls(li(3), "RPUSH", "l", "a", "b", "c"),
		ls(listOK, "LTRIM", "l", "3", "5"),
		ls(listEmpty, "LRANGE", "l", "0", "-1"),
		ls(li(3), "RPUSH", "l", "a", "b", "c"),
		ls(listOK, "LTRIM", "l", "1", "1"),
		ls(la("b"), "LRANGE", "l", "0", "-1"),
	})
	if _, ok := s.record("m"); ok {
		t.Error("LREM of every element left the key")
	}
}

func TestListPos(t *testing.T) {
	listRun(t, []listStep{
		ls(li(7), "RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"),
		ls(listNull, "LPOS", "nokey", "a"),
		ls(listEmpty, "LPOS", "nokey", "a", "COUNT", "0"),
		ls("-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n", "LPOS", "nokey", "a", "RANK", "0"),
		ls(replyNotInt, "LPOS", "nokey", "a", "RANK", "abc"),
		ls("-ERR COUNT can't be negative\r\n", "LPOS", "nokey", "a", "COUNT", "-1"),
		ls("-ERR COUNT can't be negative\r\n", "LPOS", "nokey", "a", "count", "abc"),
		ls("-ERR MAXLEN can't be negative\r\n", "LPOS", "nokey", "a", "MAXLEN", "-1"),
		ls("-ERR MAXLEN can't be negative\r\n", "LPOS", "nokey", "a", "maxlen", "abc"),
		ls(replySyntax, "LPOS", "nokey", "a", "foo"),
		ls(replySyntax, "LPOS", "nokey", "a", "RANK"),
		ls(replySyntax, "LPOS", "l", "a", "COUNT", "1", "MAXLEN"),
		ls(replyWrongType, "LPOS", "str", "a"),
		ls(replyWrongType, "LPOS", "str", "a", "COUNT", "1"),
		ls(li(0), "LPOS", "l", "a"),
		ls(li(1), "LPOS", "l", "b"),
		ls(li(3), "LPOS", "l", "a", "RANK", "2"),
		ls(li(6), "LPOS", "l", "a", "RANK", "-1"),
		ls(li(3), "LPOS", "l", "a", "rank", "-2"),
		ls(listNull, "LPOS", "l", "a", "RANK", "4"),
		ls(listNull, "LPOS", "l", "zz"),
		ls(lints(0, 3, 6), "LPOS", "l", "a", "COUNT", "0"),
		ls(lints(0, 3), "LPOS", "l", "a", "COUNT", "2"),
		ls(lints(3, 6), "LPOS", "l", "a", "COUNT", "0", "RANK", "2"),
		ls(lints(6, 3, 0), "LPOS", "l", "a", "COUNT", "0", "RANK", "-1"),
		ls(lints(3), "LPOS", "l", "a", "COUNT", "1", "RANK", "-2"),
		ls(lints(0, 3), "LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4"),
		ls(lints(6, 3), "LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4", "RANK", "-1"),
		ls(lints(), "LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4", "RANK", "3"),
		ls(listNull, "LPOS", "l", "c", "MAXLEN", "2"),
		ls(li(2), "LPOS", "l", "c", "MAXLEN", "3"),
		ls(lints(), "LPOS", "l", "zz", "COUNT", "2"),
		// A later option overrides an earlier one.
		ls(lints(0, 3), "LPOS", "l", "a", "COUNT", "1", "COUNT", "2"),
		ls(li(3), "LPOS", "l", "a", "RANK", "1", "RANK", "2"),
		// -MinInt64 overflows in Redis too: the rank is then below every
		// match count, so the first match from the tail is taken.
		ls(li(6), "LPOS", "l", "a", "RANK", "-9223372036854775808"),
		ls(lints(6, 3, 0), "LPOS", "l", "a", "RANK", "-9223372036854775808", "COUNT", "1"),
		ls(listNull, "LPOS", "l", "a", "RANK", "9223372036854775807"),
	})
}

func TestListMove(t *testing.T) {
	s := listRun(t, []listStep{
		ls(li(4), "RPUSH", "l", "a", "b", "c", "d"),
		ls(listNull, "LMOVE", "nokey", "l", "LEFT", "RIGHT"),
		// A missing source answers null before the destination's type is
		// checked.
		ls(listNull, "LMOVE", "nokey", "str", "LEFT", "RIGHT"),
		ls(replyWrongType, "LMOVE", "str", "l", "LEFT", "RIGHT"),
		ls(replyWrongType, "LMOVE", "l", "str", "LEFT", "RIGHT"),
		ls(replySyntax, "LMOVE", "l", "l", "middle", "RIGHT"),
		ls(replySyntax, "LMOVE", "l", "l", "left", "middle"),
		ls(replySyntax, "LMOVE", "nokey", "str", "middle", "right"),
		// Same key: rotation.
		ls(bulk("d"), "LMOVE", "l", "l", "RIGHT", "LEFT"),
		ls(la("d", "a", "b", "c"), "LRANGE", "l", "0", "-1"),
		ls(bulk("d"), "LMOVE", "l", "l", "left", "right"),
		ls(la("a", "b", "c", "d"), "LRANGE", "l", "0", "-1"),
		ls(bulk("a"), "LMOVE", "l", "l", "left", "left"),
		ls(bulk("d"), "LMOVE", "l", "l", "right", "right"),
		ls(la("a", "b", "c", "d"), "LRANGE", "l", "0", "-1"),
		// Other key, created on demand.
		ls(bulk("a"), "LMOVE", "l", "n", "LEFT", "RIGHT"),
		ls(bulk("d"), "LMOVE", "l", "n", "RIGHT", "RIGHT"),
		ls(bulk("b"), "LMOVE", "l", "n", "LEFT", "LEFT"),
		ls(la("b", "a", "d"), "LRANGE", "n", "0", "-1"),
		ls(la("c"), "LRANGE", "l", "0", "-1"),
		ls(bulk("c"), "LMOVE", "l", "n", "RIGHT", "LEFT"),
		ls(li(0), "LLEN", "l"),
		ls(la("c", "b", "a", "d"), "LRANGE", "n", "0", "-1"),

		ls(listNull, "RPOPLPUSH", "nokey", "n"),
		ls(listNull, "RPOPLPUSH", "nokey", "str"),
		ls(replyWrongType, "RPOPLPUSH", "str", "n"),
		ls(replyWrongType, "RPOPLPUSH", "n", "str"),
		ls(bulk("d"), "RPOPLPUSH", "n", "n"),
		ls(la("d", "c", "b", "a"), "LRANGE", "n", "0", "-1"),
		ls(bulk("a"), "RPOPLPUSH", "n", "m"),
		ls(bulk("b"), "RPOPLPUSH", "n", "m"),
		ls(la("b", "a"), "LRANGE", "m", "0", "-1"),
		ls(li(1), "RPUSH", "one", "x"),
		ls(bulk("x"), "RPOPLPUSH", "one", "one"),
		ls(bulk("x"), "LMOVE", "one", "one", "LEFT", "RIGHT"),
		ls(la("x"), "LRANGE", "one", "0", "-1"),
		ls(bulk("x"), "LMOVE", "one", "two", "LEFT", "RIGHT"),
		ls(li(0), "LLEN", "one"),
		ls(la("x"), "LRANGE", "two", "0", "-1"),
	})
	if _, ok := s.record("l"); ok {
		t.Error("moving the last element away left the source key")
	}
}

func TestListMPop(t *testing.T) {
	listRun(t, []listStep{
		ls(li(4), "RPUSH", "l", "a", "b", "c", "d"),
		ls("-ERR numkeys should be greater than 0\r\n", "LMPOP", "0", "l", "LEFT"),
		ls("-ERR numkeys should be greater than 0\r\n", "LMPOP", "-1", "l", "LEFT"),
		ls("-ERR numkeys should be greater than 0\r\n", "LMPOP", "abc", "l", "LEFT"),
		ls(replySyntax, "LMPOP", "2", "l", "LEFT"),
		ls(replySyntax, "LMPOP", "9223372036854775807", "l", "LEFT"),
		ls(replySyntax, "LMPOP", "1", "l", "middle"),
		ls(replySyntax, "LMPOP", "1", "l", "LEFT", "COUNT"),
		ls(replySyntax, "LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"),
		ls(replySyntax, "LMPOP", "1", "l", "LEFT", "foo"),
		ls("-ERR count should be greater than 0\r\n", "LMPOP", "1", "l", "LEFT", "COUNT", "0"),
		ls("-ERR count should be greater than 0\r\n", "LMPOP", "1", "l", "LEFT", "COUNT", "-1"),
		ls("-ERR count should be greater than 0\r\n", "LMPOP", "1", "nokey", "LEFT", "COUNT", "abc"),
		ls(listNullArray, "LMPOP", "1", "nokey", "LEFT"),
		ls(listNullArray, "LMPOP", "2", "nokey", "other", "RIGHT", "COUNT", "5"),
		ls(replyWrongType, "LMPOP", "2", "nokey", "str", "LEFT"),
		// The first non-empty list answers; later keys are not looked at.
		ls("*2\r\n"+bulk("l")+la("a"), "LMPOP", "2", "l", "str", "left"),
		ls("*2\r\n"+bulk("l")+la("d", "c"), "LMPOP", "2", "nokey", "l", "RIGHT", "count", "2"),
		ls("*2\r\n"+bulk("l")+la("b"), "LMPOP", "1", "l", "LEFT", "COUNT", "10"),
		ls(li(0), "LLEN", "l"),
		ls(listNullArray, "LMPOP", "1", "l", "LEFT"),
	})
}

func TestListEncodingAndExpiry(t *testing.T) {
	s := listRun(t, []listStep{ls(li(1), "RPUSH", "l", "a")})
	r, ok := s.record("l")
	if !ok || r.Enc != encQuicklist || r.Type != store.TypeList {
		t.Fatalf("record %+v %v, want a quicklist list", r, ok)
	}
	exp := s.now + 10_000
	s.update(func(tx *store.Txn) error {
		r, _ := tx.Get([]byte("l"))
		r.Exp = exp
		return tx.Put([]byte("l"), &r)
	})
	for _, args := range [][]string{
		{"LPUSH", "l", "b"}, {"RPUSHX", "l", "c"}, {"LSET", "l", "0", "B"},
		{"LINSERT", "l", "AFTER", "B", "x"}, {"LREM", "l", "1", "x"},
		{"LTRIM", "l", "0", "-1"}, {"LMOVE", "l", "l", "LEFT", "RIGHT"}, {"RPOP", "l"},
	} {
		s.do(args...)
		if r, ok := s.record("l"); !ok || r.Exp != exp {
			t.Fatalf("after %v: record %+v %v, want expiry %d kept", args, r, ok, exp)
		}
	}
	s.expect(la("a", "c"), "LRANGE", "l", "0", "-1")
	s.now = exp
	s.expect(li(0), "LLEN", "l")
	s.expect(li(1), "RPUSH", "l", "z")
	if r, _ := s.record("l"); r.Exp != 0 {
		t.Errorf("a list recreated after expiry kept expiry %d", r.Exp)
	}
	s.expect(la("z"), "LRANGE", "l", "0", "-1")
}

// TestListModel runs random commands that move elements (LINSERT and LREM
// anywhere, LTRIM, pushes and pops at both ends) against a slice model,
// comparing the whole list after each.
func TestListModel(t *testing.T) {
	s := newTestStore(t)
	rnd := rand.New(rand.NewPCG(7, 8))
	var model []string
	val := func() string { return strconv.Itoa(rnd.IntN(6)) }
	for step := 0; step < 1500; step++ {
		var args []string
		var want string
		n := len(model)
		switch op := rnd.IntN(8); {
		case op == 0 || (op == 1 && n < 5):
			v := val()
			args, model = []string{"LPUSH", "l", v}, append([]string{v}, model...)
			want = li(len(model))
		case op == 1:
			v := val()
			args, model = []string{"RPUSH", "l", v}, append(model, v)
			want = li(len(model))
		case op == 2:
			pivot, v := val(), val()
			after := rnd.IntN(2) == 0
			where := "BEFORE"
			if after {
				where = "AFTER"
			}
			args = []string{"LINSERT", "l", where, pivot, v}
			k := slices.Index(model, pivot)
			switch {
			case n == 0:
				want = li(0)
			case k < 0:
				want = li(-1)
			default:
				if after {
					k++
				}
				model = slices.Insert(model, k, v)
				want = li(len(model))
			}
		case op == 3:
			cnt, v := rnd.IntN(5)-2, val()
			args = []string{"LREM", "l", strconv.Itoa(cnt), v}
			removed := 0
			if cnt >= 0 {
				for i := 0; i < len(model); {
					if model[i] == v && (cnt == 0 || removed < cnt) {
						model = slices.Delete(model, i, i+1)
						removed++
					} else {
						i++
					}
				}
			} else {
				for i := len(model) - 1; i >= 0; i-- {
					if model[i] == v && removed < -cnt {
						model = slices.Delete(model, i, i+1)
						removed++
					}
				}
			}
			want = li(removed)
		case op == 4 && rnd.IntN(4) == 0:
			lo, hi := rnd.IntN(n+2)-1, n-rnd.IntN(n+2)
			args = []string{"LTRIM", "l", strconv.Itoa(lo), strconv.Itoa(hi)}
			want = listOK
			a, b, ok := clampRange(int64(lo), int64(hi), int64(n))
			if ok {
				model = slices.Clone(model[a : b+1])
			} else {
				model = nil
			}
		case op == 5 && n > 0:
			args, want, model = []string{"LPOP", "l"}, bulk(model[0]), model[1:]
		case op == 6 && n > 0:
			args, want, model = []string{"RPOP", "l"}, bulk(model[n-1]), model[:n-1]
		case op == 7 && n > 0:
			i := rnd.IntN(n)
			v := val()
			args, want = []string{"LSET", "l", strconv.Itoa(i - n*rnd.IntN(2)), v}, listOK
			model[i] = v
		default:
			continue
		}
		s.expect(want, args...)
		s.expect(la(model...), "LRANGE", "l", "0", "-1")
		if t.Failed() {
			t.Fatalf("step %d: %v", step, args)
		}
	}
}

// listCapture is a partition whose transactions record their store
// operations, to count what a command writes.
type listCapture struct {
	t   *testing.T
	db  *buntdb.DB
	c   store.Counters
	cfg Config
}

func newListCapture(t *testing.T) *listCapture {
	db, err := buntdb.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &listCapture{t: t, db: db, cfg: DefaultConfig}
}

// run executes one command in a write transaction and returns its reply
// and the number of storage keys it wrote or deleted.
func (h *listCapture) run(args ...string) (string, int) {
	h.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	var r Reply
	var ops int
	err := h.db.Update(func(tx *buntdb.Tx) error {
		var st store.Txn
		st.Begin(tx, &h.c, 1, true, true)
		if err := Run(&Ctx{Tx: &st, R: &r, Cfg: &h.cfg}, argv); err != nil {
			return err
		}
		ops = len(st.Ops)
		return nil
	})
	if err != nil {
		h.t.Fatalf("%v: %v", args, err)
	}
	return string(r.Bytes()), ops
}

// TestListLargeIsPointWise grows a 10,000-element list from both ends,
// shrinks and regrows it so that positions wander from where it started,
// and checks that end pushes, pops, LSET and LINDEX stay correct
// everywhere and write a constant number of storage keys, and that
// LINSERT/LREM/LTRIM near an end touch only the near side.
func TestListLargeIsPointWise(t *testing.T) {
	h := newListCapture(t)
	const n = 10_000
	var model []string
	push := func(cmd string, vals []string) {
		t.Helper()
		h.run(append([]string{cmd, "big"}, vals...)...)
		if cmd == "LPUSH" {
			head := slices.Clone(vals)
			slices.Reverse(head)
			model = append(head, model...)
		} else {
			model = append(model, vals...)
		}
	}
	vals := func(prefix string, k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}
	push("LPUSH", vals("L", n/2))
	push("RPUSH", vals("R", n/2))
	if got, _ := h.run("LPOP", "big", strconv.Itoa(n/4)); got != la(model[:n/4]...) {
		t.Fatal("LPOP count differs from the model")
	}
	model = model[n/4:]
	want := slices.Clone(model[len(model)-n/4:])
	slices.Reverse(want)
	if got, _ := h.run("RPOP", "big", strconv.Itoa(n/4)); got != la(want...) {
		t.Fatal("RPOP count differs from the model")
	}
	model = model[:len(model)-n/4]
	push("RPUSH", vals("N", n/4-1))
	push("LPUSH", vals("M", n/4-1))
	for i, cmd := range []string{"LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPOP", "RPOP"} {
		v := "P" + strconv.Itoa(i)
		var got, want string
		var ops int
		switch cmd {
		case "LPUSH", "RPUSH":
			got, ops = h.run(cmd, "big", v)
			if cmd == "LPUSH" {
				model = append([]string{v}, model...)
			} else {
				model = append(model, v)
			}
			want = li(len(model))
		case "LPOP":
			want, model = bulk(model[0]), model[1:]
			got, ops = h.run(cmd, "big")
		case "RPOP":
			want, model = bulk(model[len(model)-1]), model[:len(model)-1]
			got, ops = h.run(cmd, "big")
		}
		if got != want || ops != 2 {
			t.Fatalf("%s = %q (%d storage keys written), want %q (2)", cmd, got, ops, want)
		}
	}
	if got, _ := h.run("LLEN", "big"); got != li(n) {
		t.Fatalf("LLEN = %q, want %d", got, n)
	}
	for _, i := range []int{0, 1, n / 2, n/2 + 1, n - 2, n - 1, -1, -n} {
		j := i
		if j < 0 {
			j += n
		}
		if got, _ := h.run("LINDEX", "big", strconv.Itoa(i)); got != bulk(model[j]) {
			t.Errorf("LINDEX %d = %q, want %q", i, got, bulk(model[j]))
		}
		v := "S" + strconv.Itoa(i)
		if got, ops := h.run("LSET", "big", strconv.Itoa(i), v); got != listOK || ops != 2 {
			t.Errorf("LSET %d = %q (%d keys), want OK (2 keys)", i, got, ops)
		}
		model[j] = v
		if got, _ := h.run("LINDEX", "big", strconv.Itoa(i)); got != bulk(v) {
			t.Errorf("LINDEX %d after LSET = %q, want %q", i, got, bulk(v))
		}
	}
	if got, _ := h.run("LRANGE", "big", "4998", "5001"); got != la(model[4998:5002]...) {
		t.Errorf("LRANGE middle = %q, want %q", got, la(model[4998:5002]...))
	}
	// Insert after the third element: the three before it move, plus the
	// new one and the record.
	if got, ops := h.run("LINSERT", "big", "AFTER", model[2], "ins"); got != li(n+1) || ops != 5 {
		t.Errorf("LINSERT near the head = %q (%d keys), want %d (5 keys)", got, ops, n+1)
	}
	model = slices.Insert(model, 3, "ins")
	// Remove the element before the last: one moves, one goes, plus the
	// record.
	last := model[len(model)-2]
	if got, ops := h.run("LREM", "big", "-1", last); got != li(1) || ops != 3 {
		t.Errorf("LREM near the tail = %q (%d keys), want 1 (3 keys)", got, ops)
	}
	model = slices.Delete(model, len(model)-2, len(model)-1)
	if got, ops := h.run("LTRIM", "big", "1", "-2"); got != listOK || ops != 3 {
		t.Errorf("LTRIM of one at each end = %q (%d keys), want OK (3 keys)", got, ops)
	}
	model = model[1 : len(model)-1]
	if got, _ := h.run("LRANGE", "big", "0", "-1"); got != la(model...) {
		t.Error("LRANGE 0 -1 differs from the model")
	}
}
