package tests

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// chaosRegInput is one operation on a register key: a SET of a value unique
// to the whole run, or a GET.
type chaosRegInput struct {
	Key   string
	Set   bool
	Value string // the value a SET writes
}

// chaosRegOutput is what a register operation returned.
type chaosRegOutput struct {
	// Value is what a GET read; "" stands for a missing key (values are
	// never empty).
	Value string
	// Unknown marks a SET that was not acknowledged: it may or may not have
	// taken effect.
	Unknown bool
}

// chaosOpen is the return time of an operation whose outcome is unknown:
// porcupine may then place its effect anywhere after its call, or never
// (after every other operation).
const chaosOpen = int64(math.MaxInt64)

// chaosRegisterModel is the sequential specification of a set of registers,
// one per key: a SET replaces the value, a GET returns the current value
// ("" before the first SET). Histories are split by key, so the state of
// each partition is one string.
func chaosRegisterModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range history {
				k := op.Input.(chaosRegInput).Key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			sort.Strings(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() interface{} { return "" },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			in, out := input.(chaosRegInput), output.(chaosRegOutput)
			if in.Set {
				return true, in.Value
			}
			return out.Value == state.(string), state
		},
		DescribeOperation: func(input, output interface{}) string {
			in, out := input.(chaosRegInput), output.(chaosRegOutput)
			switch {
			case in.Set && out.Unknown:
				return fmt.Sprintf("SET %s %s (outcome unknown)", in.Key, in.Value)
			case in.Set:
				return fmt.Sprintf("SET %s %s", in.Key, in.Value)
			default:
				return fmt.Sprintf("GET %s -> %s", in.Key, chaosShowValue(out.Value))
			}
		},
		DescribeState: func(state interface{}) string { return chaosShowValue(state.(string)) },
	}
}

// chaosShowValue prints a register value, "(nil)" for a missing key.
func chaosShowValue(v string) string {
	if v == "" {
		return "(nil)"
	}
	return strconv.Quote(v)
}

// chaosHistory records register operations with call and return times from
// one monotonic clock, from any number of goroutines.
type chaosHistory struct {
	start time.Time // the clock's zero; time.Since uses the monotonic reading
	mu    sync.Mutex
	ops   []porcupine.Operation
}

// chaosNewHistory starts an empty history whose clock starts now.
func chaosNewHistory() *chaosHistory {
	return &chaosHistory{start: time.Now()}
}

// now is the history's clock in nanoseconds. Take it just before sending a
// request (call) and just after its reply (return).
func (h *chaosHistory) now() int64 {
	return int64(time.Since(h.start))
}

// addSet records a SET of a unique value. A SET that was not acknowledged
// (error reply, timeout, broken connection) may still have been applied,
// so it is kept with an open return time rather than dropped.
func (h *chaosHistory) addSet(client int, key, value string, call, ret int64, acked bool) {
	op := porcupine.Operation{
		ClientId: client,
		Input:    chaosRegInput{Key: key, Set: true, Value: value},
		Call:     call,
		Output:   chaosRegOutput{},
		Return:   ret,
	}
	if !acked {
		op.Output = chaosRegOutput{Unknown: true}
		op.Return = chaosOpen
	}
	h.add(op)
}

// addGet records a GET that returned value ("" for a missing key). A GET
// that failed read nothing and constrains nothing; do not record it.
func (h *chaosHistory) addGet(client int, key, value string, call, ret int64) {
	h.add(porcupine.Operation{
		ClientId: client,
		Input:    chaosRegInput{Key: key},
		Call:     call,
		Output:   chaosRegOutput{Value: value},
		Return:   ret,
	})
}

func (h *chaosHistory) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// operations returns a copy of the history so far.
func (h *chaosHistory) operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ops)
}

// chaosPruneUnread drops the SETs of unknown outcome whose value no GET
// returned. Each SET writes a value no other SET writes, so such a SET can
// always be linearized after every other operation, where it changes
// nothing anyone saw: the history is linearizable with it exactly when it is
// without it. Dropping them keeps the search small when a dead shard makes
// many SETs fail. It returns the kept operations and how many were dropped.
func chaosPruneUnread(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	read := map[[2]string]bool{}
	for _, op := range ops {
		if in := op.Input.(chaosRegInput); !in.Set {
			read[[2]string{in.Key, op.Output.(chaosRegOutput).Value}] = true
		}
	}
	kept := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		in := op.Input.(chaosRegInput)
		if in.Set && op.Output.(chaosRegOutput).Unknown && !read[[2]string{in.Key, in.Value}] {
			continue
		}
		kept = append(kept, op)
	}
	return kept, len(ops) - len(kept)
}

// chaosLinReport is the outcome of a linearizability check of register
// histories.
type chaosLinReport struct {
	result               porcupine.CheckResult
	info                 porcupine.LinearizationInfo
	keys                 int
	sets, gets, unknown  int // operations checked (unknown: SETs of unknown outcome kept)
	pruned               int // SETs of unknown outcome dropped by chaosPruneUnread
	took                 time.Duration
	checked              []porcupine.Operation
	maxUnknownPerKeyName string
	maxUnknownPerKey     int
}

// chaosCheckRegisters checks the register history for linearizability with
// porcupine, giving up (result Unknown) after timeout.
func chaosCheckRegisters(ops []porcupine.Operation, timeout time.Duration) chaosLinReport {
	kept, pruned := chaosPruneUnread(ops)
	r := chaosLinReport{pruned: pruned, checked: kept}
	keys := map[string]bool{}
	unknownPerKey := map[string]int{}
	for _, op := range kept {
		in := op.Input.(chaosRegInput)
		keys[in.Key] = true
		switch {
		case !in.Set:
			r.gets++
		case op.Output.(chaosRegOutput).Unknown:
			r.unknown++
			unknownPerKey[in.Key]++
		default:
			r.sets++
		}
	}
	for k, n := range unknownPerKey {
		if n > r.maxUnknownPerKey || (n == r.maxUnknownPerKey && k < r.maxUnknownPerKeyName) {
			r.maxUnknownPerKey, r.maxUnknownPerKeyName = n, k
		}
	}
	r.keys = len(keys)
	start := time.Now()
	r.result, r.info = porcupine.CheckOperationsVerbose(chaosRegisterModel(), kept, timeout)
	r.took = time.Since(start)
	return r
}

// chaosVisualize writes porcupine's HTML page of a checked history (its
// partial linearizations, and where they fail) into dir and returns its path.
func chaosVisualize(dir string, r chaosLinReport) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "chaos-registers.html")
	return path, porcupine.VisualizePath(chaosRegisterModel(), r.info, path)
}

// chaosWriteCheck is the read-back of acknowledged unique writes.
type chaosWriteCheck struct {
	acked   int      // acknowledged writes checked
	missing []string // acknowledged keys that read back missing
	wrong   []string // acknowledged keys that read back another value
	// ambiguousPresent counts unacknowledged writes that were applied
	// anyway (allowed: their outcome was unknown).
	ambiguousPresent, ambiguous int
}

// lost is the number of acknowledged writes that did not survive.
func (c chaosWriteCheck) lost() int { return len(c.missing) + len(c.wrong) }

// chaosCheckWrites compares what was read back (nil: missing) with the
// acknowledged writes (key -> value) and the unacknowledged ones. Every
// acknowledged key must read back its value; an unacknowledged key may be
// missing or hold its value, but nothing else.
func chaosCheckWrites(acked, ambiguous map[string]string, read map[string]*string) chaosWriteCheck {
	c := chaosWriteCheck{acked: len(acked), ambiguous: len(ambiguous)}
	for k, want := range acked {
		switch v := read[k]; {
		case v == nil:
			c.missing = append(c.missing, k)
		case *v != want:
			c.wrong = append(c.wrong, k)
		}
	}
	for k, want := range ambiguous {
		switch v := read[k]; {
		case v == nil:
		case *v == want:
			c.ambiguousPresent++
		default:
			c.wrong = append(c.wrong, k)
		}
	}
	sort.Strings(c.missing)
	sort.Strings(c.wrong)
	return c
}

// chaosCounter is what the clients saw of one INCR counter.
type chaosCounter struct {
	acked     int64   // INCRs answered with an integer
	ambiguous int64   // INCRs that failed or timed out: may or may not have counted
	replies   []int64 // the values acknowledged INCRs returned
}

// chaosCounterCheck is the verdict on one counter against its final value.
type chaosCounterCheck struct {
	final, acked, ambiguous int64
	// lost is how many acknowledged increments are missing from the final
	// value (acked - final when positive).
	lost int64
	// excess is how many unacknowledged increments counted anyway.
	excess int64
	// extra is how far the final value exceeds every increment sent (a
	// double-applied INCR).
	extra int64
	// repeated lists values two acknowledged INCRs both returned: one of
	// the two increments was lost and counted again.
	repeated []int64
	// beyond is the largest acknowledged reply above the final value, or 0.
	beyond int64
}

// ok reports whether the counter kept every acknowledged increment and
// counted nothing twice.
func (c chaosCounterCheck) ok() bool {
	return c.lost == 0 && c.extra == 0 && len(c.repeated) == 0 && c.beyond == 0
}

// chaosCheckCounter judges a counter whose final value was read back.
func chaosCheckCounter(c chaosCounter, final int64) chaosCounterCheck {
	r := chaosCounterCheck{final: final, acked: c.acked, ambiguous: c.ambiguous}
	if final < c.acked {
		r.lost = c.acked - final
	} else {
		r.excess = min(final-c.acked, c.ambiguous)
		r.extra = max(0, final-c.acked-c.ambiguous)
	}
	seen := map[int64]bool{}
	for _, v := range c.replies {
		if seen[v] {
			r.repeated = append(r.repeated, v)
		}
		seen[v] = true
		if v > final && v > r.beyond {
			r.beyond = v
		}
	}
	slices.Sort(r.repeated)
	return r
}

// chaosOp builds a hand-made register operation for the checker's tests:
// times in arbitrary units, ret < 0 for an open (unknown) SET.
func chaosOp(client int, set bool, key, value string, call, ret int64) porcupine.Operation {
	h := &chaosHistory{}
	if set {
		h.addSet(client, key, value, call, ret, ret >= 0)
	} else {
		h.addGet(client, key, value, call, ret)
	}
	return h.ops[0]
}

// TestChaosCheckerRegister proves the linearizability check can fail: it
// must accept valid register histories and reject invalid ones.
func TestChaosCheckerRegister(t *testing.T) {
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"sequential", []porcupine.Operation{
			chaosOp(0, false, "k", "", 0, 1),
			chaosOp(0, true, "k", "a", 2, 3),
			chaosOp(1, false, "k", "a", 4, 5),
			chaosOp(1, true, "k", "b", 6, 7),
			chaosOp(0, false, "k", "b", 8, 9),
		}, porcupine.Ok},
		{"concurrent read may see old or new", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(0, true, "k", "b", 2, 10),
			chaosOp(1, false, "k", "a", 3, 4),
			chaosOp(2, false, "k", "b", 5, 6),
		}, porcupine.Ok},
		{"read of a value never written", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(1, false, "k", "zzz", 2, 3),
		}, porcupine.Illegal},
		{"stale read after a later write completed", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(0, true, "k", "b", 2, 3),
			chaosOp(1, false, "k", "a", 4, 5),
		}, porcupine.Illegal},
		{"acknowledged write lost (read nil after it)", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(1, false, "k", "", 2, 3),
		}, porcupine.Illegal},
		{"read flips back to an older value", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(0, true, "k", "b", 2, 20),
			chaosOp(1, false, "k", "b", 3, 4),
			chaosOp(2, false, "k", "a", 5, 6),
		}, porcupine.Illegal},
		{"unknown SET seen later", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(0, true, "k", "b", 2, -1),
			chaosOp(1, false, "k", "a", 3, 4),
			chaosOp(1, false, "k", "b", 50, 51),
		}, porcupine.Ok},
		{"unknown SET never applied", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(0, true, "k", "b", 2, -1),
			chaosOp(1, false, "k", "a", 50, 51),
		}, porcupine.Ok},
		{"unknown SET seen before it was sent", []porcupine.Operation{
			chaosOp(0, true, "k", "a", 0, 1),
			chaosOp(1, false, "k", "b", 2, 3),
			chaosOp(0, true, "k", "b", 10, -1),
		}, porcupine.Illegal},
		{"keys are independent", []porcupine.Operation{
			chaosOp(0, true, "k1", "a", 0, 1),
			chaosOp(1, true, "k2", "b", 0, 1),
			chaosOp(0, false, "k2", "b", 2, 3),
			chaosOp(1, false, "k1", "a", 2, 3),
		}, porcupine.Ok},
		{"one bad key fails the whole check", []porcupine.Operation{
			chaosOp(0, true, "k1", "a", 0, 1),
			chaosOp(1, true, "k2", "b", 0, 1),
			chaosOp(0, false, "k2", "a", 2, 3),
		}, porcupine.Illegal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := chaosCheckRegisters(tc.ops, 10*time.Second)
			if r.result != tc.want {
				t.Errorf("check = %v, want %v", r.result, tc.want)
			}
		})
	}
}

// TestChaosCheckerVisualization checks that a failed check can be written
// out as porcupine's HTML page, as the chaos test does on failure.
func TestChaosCheckerVisualization(t *testing.T) {
	r := chaosCheckRegisters([]porcupine.Operation{
		chaosOp(0, true, "k", "a", 0, 1),
		chaosOp(0, true, "k", "b", 2, -1),
		chaosOp(1, false, "k", "zzz", 3, 4),
	}, 10*time.Second)
	if r.result != porcupine.Illegal {
		t.Fatalf("check = %v, want Illegal", r.result)
	}
	path, err := chaosVisualize(t.TempDir(), r)
	if err != nil {
		t.Fatalf("visualization: %v", err)
	}
	if b := procTail(path, 1<<20); len(b) < 1000 {
		t.Errorf("visualization %s has %d bytes; want an HTML page", path, len(b))
	}
}

// TestChaosCheckerPrune checks that only SETs of unknown outcome nobody
// read are dropped.
func TestChaosCheckerPrune(t *testing.T) {
	ops := []porcupine.Operation{
		chaosOp(0, true, "k", "a", 0, 1),     // acknowledged: kept
		chaosOp(0, true, "k", "b", 2, -1),    // unknown, read: kept
		chaosOp(0, true, "k", "c", 3, -1),    // unknown, never read: dropped
		chaosOp(0, true, "j", "b", 3, -1),    // unknown, "b" read on k only: dropped
		chaosOp(1, false, "k", "b", 10, 11),  // GET: kept
		chaosOp(1, false, "k", "", 12, 13),   // GET: kept
		chaosOp(1, true, "j", "d", 14, 15),   // acknowledged: kept
		chaosOp(1, false, "j", "d", 16, 17),  // GET: kept
		chaosOp(1, true, "j", "e", 18, -1),   // unknown, read: kept
		chaosOp(2, false, "j", "e", 19, 100), // GET: kept
	}
	kept, pruned := chaosPruneUnread(ops)
	if pruned != 2 || len(kept) != 8 {
		t.Fatalf("pruned %d, kept %d; want 2 and 8", pruned, len(kept))
	}
	for _, op := range kept {
		in := op.Input.(chaosRegInput)
		if in.Set && (in.Value == "c" || in.Key == "j" && in.Value == "b") {
			t.Errorf("kept %v, an unknown SET nobody read", in)
		}
	}
	// The full history is not linearizable (k reads nil after "a" was
	// acknowledged); pruning must not change that.
	if r := chaosCheckRegisters(ops, 10*time.Second); r.result != porcupine.Illegal {
		t.Errorf("check = %v, want Illegal", r.result)
	}
}

// TestChaosCheckerHistory checks the recorder: open return times for
// unacknowledged SETs, a clock that never goes back, and safe concurrent
// use.
func TestChaosCheckerHistory(t *testing.T) {
	h := chaosNewHistory()
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				call := h.now()
				ret := h.now()
				if ret < call {
					t.Errorf("clock went back: %d then %d", call, ret)
				}
				h.addSet(c, "k", fmt.Sprintf("%d-%d", c, i), call, ret, i%2 == 0)
			}
		}(c)
	}
	wg.Wait()
	ops := h.operations()
	if len(ops) != 400 {
		t.Fatalf("%d operations recorded, want 400", len(ops))
	}
	open := 0
	for _, op := range ops {
		if op.Output.(chaosRegOutput).Unknown {
			open++
			if op.Return != chaosOpen {
				t.Errorf("unacknowledged SET with return %d, want open", op.Return)
			}
		}
	}
	if open != 200 {
		t.Errorf("%d unacknowledged SETs, want 200", open)
	}
}

// TestChaosLostWrites checks the accounting of acknowledged writes.
func TestChaosLostWrites(t *testing.T) {
	s := func(v string) *string { return &v }
	acked := map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}
	ambiguous := map[string]string{"x": "9", "y": "8", "z": "7"}
	read := map[string]*string{
		"a": s("1"), "b": nil, "c": s("3"), "d": s("other"),
		"x": s("9"), "y": nil, "z": s("not-7"),
	}
	c := chaosCheckWrites(acked, ambiguous, read)
	if c.acked != 4 || c.lost() != 3 {
		t.Errorf("acked %d, lost %d; want 4 and 3", c.acked, c.lost())
	}
	if !slices.Equal(c.missing, []string{"b"}) || !slices.Equal(c.wrong, []string{"d", "z"}) {
		t.Errorf("missing %v, wrong %v; want [b] and [d z]", c.missing, c.wrong)
	}
	if c.ambiguous != 3 || c.ambiguousPresent != 1 {
		t.Errorf("ambiguous %d (%d present); want 3 (1 present)", c.ambiguous, c.ambiguousPresent)
	}
	all := map[string]*string{"a": s("1"), "b": s("2"), "c": s("3"), "d": s("4")}
	if c := chaosCheckWrites(acked, ambiguous, all); c.lost() != 0 || c.ambiguousPresent != 0 {
		t.Errorf("everything read back: lost %d, ambiguous present %d; want 0 and 0", c.lost(), c.ambiguousPresent)
	}
}

// TestChaosCounterCheck checks the accounting of INCRs.
func TestChaosCounterCheck(t *testing.T) {
	c := chaosCounter{acked: 5, ambiguous: 3, replies: []int64{1, 2, 4, 5, 7}}
	for _, tc := range []struct {
		final              int64
		ok                 bool
		lost, excess, extr int64
	}{
		{7, true, 0, 2, 0},
		{8, true, 0, 3, 0},
		{9, false, 0, 3, 1}, // more than every INCR sent: one counted twice
		{5, false, 0, 0, 0}, // a reply of 7 was acknowledged, yet the value is 5
		{4, false, 1, 0, 0}, // an acknowledged increment is missing
	} {
		r := chaosCheckCounter(c, tc.final)
		if r.ok() != tc.ok || r.lost != tc.lost || r.excess != tc.excess || r.extra != tc.extr {
			t.Errorf("final %d: ok %v lost %d excess %d extra %d; want %v %d %d %d",
				tc.final, r.ok(), r.lost, r.excess, r.extra, tc.ok, tc.lost, tc.excess, tc.extr)
		}
	}
	// Two acknowledged INCRs returning the same value: one increment was
	// lost and the count went on, even though the final value looks fine.
	r := chaosCheckCounter(chaosCounter{acked: 3, ambiguous: 1, replies: []int64{1, 2, 2}}, 3)
	if r.ok() || !slices.Equal(r.repeated, []int64{2}) {
		t.Errorf("repeated replies: ok %v, repeated %v; want a failure naming 2", r.ok(), r.repeated)
	}
}

// chaosElemID names one collection element in the element checks: the
// collection's key and the member (a hash field), so that elements of every
// collection are checked like unique string writes are.
func chaosElemID(key, member string) string { return key + "\x00" + member }

// chaosElemCheck is the read-back of the collection elements the workload
// added.
type chaosElemCheck struct {
	chaosWriteCheck
	// foreign are elements present that no operation added: a write
	// applied where it was not sent, or corrupted data.
	foreign []string
	// dups are list elements present more than once: an RPUSH applied
	// twice (every pushed value is unique, and nothing retries).
	dups []string
}

// failed counts everything the check refuses.
func (c chaosElemCheck) failed() int { return c.lost() + len(c.foreign) + len(c.dups) }

// chaosCheckElems judges the elements read back (by chaosElemID: the
// value of a hash field, the score of a sorted-set member, "" for a set or
// list member) against those acknowledged and those whose add was not
// acknowledged, as chaosCheckWrites judges unique writes: every
// acknowledged element must be there with its value, an unacknowledged one
// may be missing, and nothing else may be there. seen counts how many
// times each element was read (lists may hold duplicates).
func chaosCheckElems(acked, ambiguous map[string]string, read map[string]*string, seen map[string]int) chaosElemCheck {
	c := chaosElemCheck{chaosWriteCheck: chaosCheckWrites(acked, ambiguous, read)}
	for id, v := range read {
		if v == nil {
			continue
		}
		_, a := acked[id]
		_, b := ambiguous[id]
		if !a && !b {
			c.foreign = append(c.foreign, id)
		}
	}
	for id, n := range seen {
		if n > 1 {
			c.dups = append(c.dups, id)
		}
	}
	sort.Strings(c.foreign)
	sort.Strings(c.dups)
	return c
}

// TestChaosElemCheck checks the accounting of collection elements.
func TestChaosElemCheck(t *testing.T) {
	s := func(v string) *string { return &v }
	e := chaosElemID
	acked := map[string]string{e("h", "a"): "1", e("h", "b"): "2", e("s", "a"): "", e("z", "a"): "3"}
	ambiguous := map[string]string{e("s", "x"): "", e("z", "y"): "9"}
	read := map[string]*string{
		e("h", "a"): s("1"), e("h", "b"): s("other"), // a changed value
		e("s", "x"): s(""), // an unacknowledged add applied: allowed
		e("z", "y"): s("9"),
		e("l", "q"): s(""), // added by nobody
	}
	seen := map[string]int{e("l", "q"): 2}
	c := chaosCheckElems(acked, ambiguous, read, seen)
	if !slices.Equal(c.missing, []string{e("s", "a"), e("z", "a")}) || !slices.Equal(c.wrong, []string{e("h", "b")}) {
		t.Errorf("missing %q, wrong %q", c.missing, c.wrong)
	}
	if !slices.Equal(c.foreign, []string{e("l", "q")}) || !slices.Equal(c.dups, []string{e("l", "q")}) {
		t.Errorf("foreign %q, dups %q", c.foreign, c.dups)
	}
	if c.ambiguousPresent != 2 || c.failed() != 5 {
		t.Errorf("ambiguous present %d, failed %d; want 2 and 5", c.ambiguousPresent, c.failed())
	}
	all := map[string]*string{e("h", "a"): s("1"), e("h", "b"): s("2"), e("s", "a"): s(""), e("z", "a"): s("3")}
	if c := chaosCheckElems(acked, ambiguous, all, nil); c.failed() != 0 {
		t.Errorf("everything acknowledged read back: %d failures", c.failed())
	}
}
