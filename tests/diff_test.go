package tests

// Differential tests: the scripts in testdata/diff/*.txt run against a real
// redis-server and against a Shardis cluster, and the raw reply bytes must
// match: one command at a time over RESP2, the same after HELLO 3 over
// RESP3, and each script sent as one pipeline over RESP2.
//
// Script format, one command per line:
//
//   - Arguments are split the way redis-cli splits its input: blanks separate
//     arguments; "double quotes" allow \xHH, \n, \r, \t, \b, \a, \" and \\;
//     'single quotes' allow \' only. So binary keys and values (NUL bytes,
//     CR/LF, invalid UTF-8) are expressible.
//   - A line whose first non-blank character is # is a comment; blank lines
//     are ignored.
//   - Each script runs on fresh connections against empty servers (FLUSHALL
//     on both sides before it starts).
//
// A line may start with directives (words beginning with ~) that loosen the
// comparison for replies that cannot be byte-identical. They are the only
// ones:
//
//	~int=N      both replies are integers within N of each other (a TTL in
//	            seconds or milliseconds read a moment apart); negative
//	            integers (-1 no expiry, -2 no key) must be equal; any other
//	            reply must match exactly.
//	~set        both replies are arrays (or RESP3 sets) holding the same
//	            elements in any order (KEYS).
//	~mask=a,b   both replies are maps (RESP3) or flat field/value arrays
//	            (RESP2) with the same fields in the same order and the same
//	            values, except that the values of fields a and b need only
//	            have the same RESP type (HELLO's server version and client id).
//	~pairs      both replies hold the same field/value pairs in any order
//	            (HGETALL, HRANDFIELD WITHVALUES, ZRANDMEMBER WITHSCORES): maps
//	            (RESP3), flat arrays of even length (RESP2), or arrays of
//	            2-element arrays (RESP3 HRANDFIELD and ZRANDMEMBER); both
//	            replies must have the same shape.
//	~scan       both replies are [cursor, elements] arrays (HSCAN, SSCAN,
//	            ZSCAN of a small collection): the cursors must be equal and
//	            the elements the same in any order, compared as with ~set,
//	            or as with ~pairs when ~pairs is given too.
//
// SCAN's reply order and cursors depend on the server's internal layout, so
// full SCAN iterations are compared as sets in TestDiffScan, not in scripts.
//
// Intended differences between Shardis and Redis are listed, with a reason,
// in knownDifferences: for those lines Shardis's reply must equal the reply
// given there.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardis/shardis/internal/testcluster"
	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// diffKnown is an intended difference between Shardis and Redis 7.
type diffKnown struct {
	// Command is a script line (without directives) exactly as written.
	Command string
	// Shardis is the exact raw RESP2 reply Shardis must give instead.
	Shardis string
	// Reason says why Shardis differs; the README quotes it.
	Reason string
}

// knownDifferences lists every intended difference between Shardis and a
// standalone redis-server 7.0 that the diff corpus exercises.
var knownDifferences = []diffKnown{
	{
		Command: "SELECT 1",
		Shardis: "-ERR DB index is out of range\r\n",
		Reason:  "Shardis has one keyspace (database 0), like a Redis configured with `databases 1`; Redis Cluster refuses SELECT 1 as well",
	},
	{
		Command: "CLIENT SETINFO LIB-NAME mylib",
		Shardis: "+OK\r\n",
		Reason:  "Shardis accepts CLIENT SETINFO as Redis 7.2 does, because go-redis v9 sends it at every connect; Redis 7.0 does not know it",
	},
	{
		Command: "CLIENT SETINFO LIB-VER 1.0",
		Shardis: "+OK\r\n",
		Reason:  "Shardis accepts CLIENT SETINFO as Redis 7.2 does, because go-redis v9 sends it at every connect; Redis 7.0 does not know it",
	},
	{
		Command: "COMMAND INFO get",
		Shardis: "*1\r\n" + diffCommandInfoGet,
		Reason:  "COMMAND INFO gives name, arity, flags, key positions and ACL categories like Redis, but no command tips, key specifications or subcommands (empty arrays)",
	},
	{
		Command: "COMMAND INFO set",
		Shardis: "*1\r\n" + diffCommandInfoSet,
		Reason:  "COMMAND INFO gives name, arity, flags, key positions and ACL categories like Redis, but no command tips, key specifications or subcommands (empty arrays)",
	},
	{
		Command: "COMMAND INFO get set",
		Shardis: "*2\r\n" + diffCommandInfoGet + diffCommandInfoSet,
		Reason:  "COMMAND INFO gives name, arity, flags, key positions and ACL categories like Redis, but no command tips, key specifications or subcommands (empty arrays)",
	},
	{
		Command: "MSETNX diff:cross:a 1 diff:cross:b 2",
		Shardis: "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
		Reason:  "atomic multi-key commands need every key in one partition, as in Redis Cluster; use hash tags ({tag}a, {tag}b) to group keys",
	},
	{
		Command: "RENAME diff:cross:a diff:cross:b",
		Shardis: "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
		Reason:  "RENAME moves a key atomically, so both names must be in one partition, as in Redis Cluster",
	},
	{
		Command: "RENAMENX diff:cross:a diff:cross:b",
		Shardis: "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
		Reason:  "RENAMENX moves a key atomically, so both names must be in one partition, as in Redis Cluster",
	},
	{
		Command: "COPY diff:cross:a diff:cross:b",
		Shardis: "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
		Reason:  "COPY writes its destination atomically with reading its source, so both must be in one partition, as in Redis Cluster",
	},
	{
		Command: "COPY {t}cz {t}cz4 DB 1",
		Shardis: "-ERR Copying to another database is not allowed in cluster mode\r\n",
		Reason:  "Shardis has one keyspace (database 0), and answers COPY … DB n as Redis Cluster does",
	},
	{
		Command: "HSCAN r -1",
		Shardis: "*2\r\n$1\r\n0\r\n*0\r\n",
		Reason:  "HSCAN, SSCAN and ZSCAN cursors are positions in a hash order of the members, so a cursor Shardis never returned (here -1, read as 2^64-1) is past the end; Redis ignores the cursor of a small (listpack or intset) collection and returns it whole",
	},
	{
		Command: "GET hll:cached",
		Shardis: "$27\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ\r\n",
		Reason:  "PFCOUNT is read-only in Shardis (served by any copy), so it does not write the computed cardinality back into the HyperLogLog's header as Redis does: the header keeps its stale-cache flag; registers and counts are the same",
	},
	{
		Command: "OBJECT ENCODING b",
		Shardis: "$6\r\nembstr\r\n",
		Reason:  "OBJECT ENCODING names a string by what Redis would choose when storing its current value; Redis reports raw for a short string built by SETBIT (as by APPEND or SETRANGE), which is not tracked",
	},
	{
		Command: "OBJECT ENCODING h",
		Shardis: "$6\r\nembstr\r\n",
		Reason:  "OBJECT ENCODING names a string by what Redis would choose when storing its current value; Redis reports raw for a HyperLogLog of 44 bytes or less (PFADD builds a raw string), which is not tracked",
	},
	{
		Command: "OBJECT ENCODING {t}hll",
		Shardis: "$6\r\nembstr\r\n",
		Reason:  "OBJECT ENCODING names a string by what Redis would choose when storing its current value; Redis reports raw for a HyperLogLog of 44 bytes or less (PFADD builds a raw string), which is not tracked",
	},
	{
		Command: "SORT {u}list BY w_*",
		Shardis: "-" + diffSortByDenied + "\r\n",
		Reason:  diffSortPatternReason,
	},
	{
		Command: "SORT {u}list GET o_*",
		Shardis: "-" + diffSortGetDenied + "\r\n",
		Reason:  diffSortPatternReason,
	},
	{
		Command: "SORT {u}list BY {u}w_* GET o_*",
		Shardis: "-" + diffSortGetDenied + "\r\n",
		Reason:  diffSortPatternReason,
	},
	{
		Command: "SORT_RO {u}list BY w_*->f",
		Shardis: "-" + diffSortByDenied + "\r\n",
		Reason:  diffSortPatternReason,
	},
	{
		Command: "SORT {u}list BY nosort GET {v}o_*",
		Shardis: "-" + diffSortGetDenied + "\r\n",
		Reason:  diffSortPatternReason,
	},
	{
		Command: "SORT {u}list STORE {v}dst",
		Shardis: "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
		Reason:  "SORT … STORE writes its destination atomically with reading the sorted key, so both must be in one partition, as in Redis Cluster",
	},
}

// The errors Shardis gives, as Redis Cluster 7.4 does, for a SORT BY or GET
// pattern whose keys may be in another slot than the sorted key's.
const (
	diffSortByDenied      = "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."
	diffSortGetDenied     = "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."
	diffSortPatternReason = "SORT's BY and GET patterns name other keys, which must be in the sorted key's partition: as Redis Cluster (7.4 wording) does, Shardis refuses a pattern without the sorted key's {tag} (BY nosort and GET # name no key and are allowed); a standalone Redis accepts any pattern"
)

// The COMMAND INFO entries Shardis gives for GET and SET (RESP2).
const (
	diffCommandInfoGet = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n"
	diffCommandInfoSet = "*10\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*0\r\n*0\r\n*0\r\n"
)

// diffCrossKeys are the key names the CROSSSLOT lines of the corpus use; they
// must fall in different partitions for the known differences to hold.
var diffCrossKeys = []string{"diff:cross:a", "diff:cross:b"}

// diffPartitions is the partition count of the cluster the diff runs against.
const diffPartitions = 64

// diffReplyTimeout bounds the wait for one reply, so a server that never
// answers fails the test instead of hanging it.
const diffReplyTimeout = 10 * time.Second

// diffMaxMismatches caps the mismatches reported per script; past it the
// script stops (later lines usually only repeat an earlier divergence).
const diffMaxMismatches = 40

// diffRequiredCommands must each appear in the corpus: the coverage the
// differential test promises.
var diffRequiredCommands = []string{
	"PING", "ECHO", "SELECT", "HELLO", "AUTH", "COMMAND", "CLIENT", "DBSIZE",
	"FLUSHALL", "FLUSHDB", "GET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET",
	"GETDEL", "GETEX", "MGET", "MSET", "MSETNX", "APPEND", "STRLEN", "GETRANGE",
	"SUBSTR", "SETRANGE", "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT",
	"DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "PEXPIRE", "EXPIREAT",
	"PEXPIREAT", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "TOUCH",
	"RENAME", "RENAMENX", "COPY", "SCAN", "KEYS", "RANDOMKEY",
}

// TestDiff runs the corpus against redis-server and Shardis.
func TestDiff(t *testing.T) {
	scripts := diffLoadCorpus(t)
	redisAddr := startRedisServer(t)
	shardisAddr := diffStartShardis(t)
	diffRunCorpus(t, scripts, diffSide{"redis", redisAddr}, diffSide{"shardis", shardisAddr}, knownDifferences)
}

// TestDiffCorpusSelfCheck runs the corpus against two redis-servers: it
// proves every script is deterministic, so a mismatch against Shardis is
// Shardis's.
func TestDiffCorpusSelfCheck(t *testing.T) {
	scripts := diffLoadCorpus(t)
	a := startRedisServer(t)
	b := startRedisServer(t)
	diffRunCorpus(t, scripts, diffSide{"redis-a", a}, diffSide{"redis-b", b}, nil)
}

// TestDiffCorpusCoverage checks that every promised command is exercised and
// that the key names behind the CROSSSLOT known differences really are in
// different partitions.
func TestDiffCorpusCoverage(t *testing.T) {
	scripts := diffLoadCorpus(t)
	seen := map[string]int{}
	total := 0
	for _, s := range scripts {
		for _, l := range s.Lines {
			seen[strings.ToUpper(l.Args[0])]++
			total++
		}
	}
	for _, c := range diffRequiredCommands {
		if seen[c] == 0 {
			t.Errorf("corpus never runs %s", c)
		}
	}
	if total < 300 {
		t.Errorf("corpus has %d commands, want at least 300", total)
	}
	t.Logf("corpus: %d scripts, %d commands", len(scripts), total)
	if ring.Partition([]byte(diffCrossKeys[0]), diffPartitions) == ring.Partition([]byte(diffCrossKeys[1]), diffPartitions) {
		t.Errorf("%q and %q share a partition at P=%d: pick other names", diffCrossKeys[0], diffCrossKeys[1], diffPartitions)
	}
	lines := map[string]bool{}
	for _, s := range scripts {
		for _, l := range s.Lines {
			lines[l.Command] = true
		}
	}
	for _, k := range knownDifferences {
		if !lines[k.Command] {
			t.Errorf("known difference %q is not a line of the corpus", k.Command)
		}
	}
}

// TestDiffScan writes the same keys on both sides and compares full SCAN
// iterations (with MATCH, COUNT and TYPE) as sets, since cursors and order
// legitimately differ.
func TestDiffScan(t *testing.T) {
	sides := []diffSide{{"redis", startRedisServer(t)}, {"shardis", diffStartShardis(t)}}
	setup := [][]string{{"FLUSHALL"}}
	for i := 0; i < 300; i++ {
		setup = append(setup, []string{"SET", fmt.Sprintf("scan:str:%d", i), "v"})
	}
	for i := 0; i < 20; i++ {
		setup = append(setup, []string{"SET", fmt.Sprintf("{scan}tag:%d", i), "v"})
	}
	setup = append(setup,
		[]string{"SET", "scan:bin:\x00\xff\r\n", "v"},
		[]string{"SET", "scan:ünïcødé", "v"},
		[]string{"SET", "other", "v"},
	)
	queries := [][]string{
		{},
		{"COUNT", "1"},
		{"COUNT", "1000"},
		{"MATCH", "scan:str:1*"},
		{"MATCH", "scan:str:1*", "COUNT", "7"},
		{"MATCH", "{scan}*"},
		{"MATCH", "*\x00*"},
		{"MATCH", "scan:ü*"},
		{"MATCH", "nomatch*"},
		{"TYPE", "string"},
		{"TYPE", "hash"},
		{"MATCH", "o*", "TYPE", "string", "COUNT", "3"},
	}
	results := make([][][]string, len(sides))
	for si, side := range sides {
		c := diffDial(t, side.Addr)
		for _, cmd := range setup {
			r, err := c.do(cmd)
			if err != nil || string(r.Raw) != "+OK\r\n" {
				t.Fatalf("%s: %q: %q %v", side.Name, cmd, r.Raw, err)
			}
		}
		for _, q := range queries {
			results[si] = append(results[si], diffScanAll(t, c, side.Name, q))
		}
	}
	for qi, q := range queries {
		a, b := results[0][qi], results[1][qi]
		if !slices.Equal(a, b) {
			t.Errorf("SCAN %q: %s found %d keys, %s found %d\n  %s: %q\n  %s: %q",
				q, sides[0].Name, len(a), sides[1].Name, len(b), sides[0].Name, a, sides[1].Name, b)
		}
	}
	if n := len(results[0][0]); n != 323 {
		t.Errorf("full scan of redis found %d keys, want 323", n)
	}
}

// diffScanAll iterates SCAN to the end and returns the sorted, deduplicated
// keys (SCAN may return a key twice).
func diffScanAll(t *testing.T, c *diffConn, side string, opts []string) []string {
	t.Helper()
	cursor := "0"
	seen := map[string]bool{}
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatalf("%s: SCAN %q never ends", side, opts)
		}
		r, err := c.do(append([]string{"SCAN", cursor}, opts...))
		if err != nil {
			t.Fatalf("%s: SCAN %q: %v", side, opts, err)
		}
		if r.Kind != '*' || len(r.Elems) != 2 || r.Elems[0].Kind != '$' || r.Elems[1].Kind != '*' {
			t.Fatalf("%s: SCAN %s %q: malformed reply %q", side, cursor, opts, r.Raw)
		}
		for _, k := range r.Elems[1].Elems {
			seen[k.Str] = true
		}
		cursor = r.Elems[0].Str
		if cursor == "0" {
			break
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestDiffSplitArgs pins the redis-cli style argument splitting of scripts.
func TestDiffSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "SET a b", want: []string{"SET", "a", "b"}},
		{in: "  SET\t a   b  ", want: []string{"SET", "a", "b"}},
		{in: `SET "a b" ""`, want: []string{"SET", "a b", ""}},
		{in: `SET "\x00\xff\n\r\t\"\\" x`, want: []string{"SET", "\x00\xff\n\r\t\"\\", "x"}},
		{in: `SET 'it\'s' '\n'`, want: []string{"SET", "it's", `\n`}},
		{in: `SET "\q" x`, want: []string{"SET", "q", "x"}},
		{in: `SET "\x4" x`, want: []string{"SET", `x4`, "x"}},
		{in: `SET ünï cødé`, want: []string{"SET", "ünï", "cødé"}},
		{in: `SET a"b" c`, want: []string{"SET", "ab", "c"}}, // a quote inside a word opens a quoted part, as in Redis
		{in: `SET "a`, err: true},
		{in: `SET "a"b`, err: true},
		{in: `SET 'a`, err: true},
		{in: `SET 'a'b`, err: true},
	}
	for _, c := range cases {
		got, err := diffSplitArgs(c.in)
		if c.err {
			if err == nil {
				t.Errorf("diffSplitArgs(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("diffSplitArgs(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestDiffCompare pins the directives' comparison rules.
func TestDiffCompare(t *testing.T) {
	parse := func(s string) diffReply {
		r, err := diffReadReply(bufio.NewReader(strings.NewReader(s)))
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		return r
	}
	cases := []struct {
		dir  diffDirectives
		a, b string
		ok   bool
	}{
		{diffDirectives{}, "+OK\r\n", "+OK\r\n", true},
		{diffDirectives{}, "$1\r\na\r\n", "+a\r\n", false},
		{diffDirectives{IntTolerance: 2, HasInt: true}, ":100\r\n", ":98\r\n", true},
		{diffDirectives{IntTolerance: 2, HasInt: true}, ":100\r\n", ":97\r\n", false},
		{diffDirectives{IntTolerance: 2, HasInt: true}, ":-1\r\n", ":-2\r\n", false},
		{diffDirectives{IntTolerance: 2, HasInt: true}, ":-1\r\n", ":0\r\n", false},
		{diffDirectives{IntTolerance: 2, HasInt: true}, "-ERR x\r\n", "-ERR x\r\n", true},
		{diffDirectives{Set: true}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n", true},
		{diffDirectives{Set: true}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\na\r\n$1\r\na\r\n", false},
		{diffDirectives{Set: true}, "*0\r\n", "~0\r\n", false},
		{diffDirectives{Mask: []string{"id"}}, "*4\r\n$2\r\nid\r\n:1\r\n$1\r\nx\r\n:2\r\n", "*4\r\n$2\r\nid\r\n:7\r\n$1\r\nx\r\n:2\r\n", true},
		{diffDirectives{Mask: []string{"id"}}, "*4\r\n$2\r\nid\r\n:1\r\n$1\r\nx\r\n:2\r\n", "*4\r\n$2\r\nid\r\n:7\r\n$1\r\nx\r\n:3\r\n", false},
		{diffDirectives{Mask: []string{"id"}}, "%1\r\n$2\r\nid\r\n:1\r\n", "%1\r\n$2\r\nid\r\n$1\r\n1\r\n", false},
		{diffDirectives{Mask: []string{"id"}}, "%1\r\n$2\r\nid\r\n:1\r\n", "*2\r\n$2\r\nid\r\n:1\r\n", false},
		{diffDirectives{Pairs: true}, "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "*4\r\n$1\r\nb\r\n:2\r\n$1\r\na\r\n:1\r\n", true},
		{diffDirectives{Pairs: true}, "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "*4\r\n$1\r\na\r\n:2\r\n$1\r\nb\r\n:1\r\n", false},
		{diffDirectives{Pairs: true}, "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\nb\r\n:2\r\n$1\r\na\r\n:1\r\n", true},
		{diffDirectives{Pairs: true}, "%1\r\n$1\r\na\r\n:1\r\n", "*2\r\n$1\r\na\r\n:1\r\n", false},
		{diffDirectives{Pairs: true}, "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1\r\n", true},
		{diffDirectives{Pairs: true}, "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "*4\r\n$1\r\na\r\n,1\r\n$1\r\nb\r\n,2\r\n", false},
		{diffDirectives{Pairs: true}, "*3\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n", "*3\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n", false},
		{diffDirectives{Pairs: true}, "*0\r\n", "*0\r\n", true},
		{diffDirectives{Pairs: true}, "-ERR x\r\n", "-ERR x\r\n", true},
		{diffDirectives{Scan: true}, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n", true},
		{diffDirectives{Scan: true}, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\n5\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n", false},
		{diffDirectives{Scan: true}, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", false},
		{diffDirectives{Scan: true, Pairs: true}, "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n", true},
		{diffDirectives{Scan: true, Pairs: true}, "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n", false},
		{diffDirectives{Scan: true}, "-ERR invalid cursor\r\n", "-ERR invalid cursor\r\n", true},
	}
	for _, c := range cases {
		if got := diffEqual(c.dir, parse(c.a), parse(c.b)); got != c.ok {
			t.Errorf("diffEqual(%+v, %q, %q) = %v, want %v", c.dir, c.a, c.b, got, c.ok)
		}
	}
}

// diffStartShardis starts an in-memory Shardis cluster and returns its
// proxy's client address.
func diffStartShardis(t testing.TB) string {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Shards: 3, Partitions: diffPartitions, InMemory: true})
	return c.Addr
}

// diffSide names one server of a comparison.
type diffSide struct {
	Name string
	Addr string
}

// diffScript is one parsed corpus file.
type diffScript struct {
	Name  string
	Lines []diffLine
}

// diffLine is one command of a script.
type diffLine struct {
	No      int
	Command string // the line without directives, for messages and knownDifferences
	Args    []string
	Dir     diffDirectives
}

// diffDirectives loosen the comparison of one line; the zero value compares
// bytes exactly.
type diffDirectives struct {
	HasInt       bool
	IntTolerance int64
	Set          bool
	Mask         []string
	Pairs        bool
	Scan         bool
}

// diffLoadCorpus parses every testdata/diff/*.txt script.
func diffLoadCorpus(t testing.TB) []diffScript {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "diff", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no scripts in testdata/diff")
	}
	sort.Strings(paths)
	var scripts []diffScript
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := diffParseScript(filepath.Base(p), string(data))
		if err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, s)
	}
	return scripts
}

// diffParseScript parses one script's text.
func diffParseScript(name, text string) (diffScript, error) {
	s := diffScript{Name: name}
	for i, raw := range strings.Split(text, "\n") {
		no := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var dir diffDirectives
		for strings.HasPrefix(line, "~") {
			word, rest, _ := strings.Cut(line, " ")
			line = strings.TrimSpace(rest)
			name, arg, _ := strings.Cut(word, "=")
			switch name {
			case "~int":
				n, err := strconv.ParseInt(arg, 10, 64)
				if err != nil || n < 0 {
					return s, fmt.Errorf("%s:%d: ~int needs a tolerance: %q", s.Name, no, word)
				}
				dir.HasInt, dir.IntTolerance = true, n
			case "~set":
				dir.Set = true
			case "~pairs":
				dir.Pairs = true
			case "~scan":
				dir.Scan = true
			case "~mask":
				if arg == "" {
					return s, fmt.Errorf("%s:%d: ~mask needs field names", s.Name, no)
				}
				dir.Mask = strings.Split(arg, ",")
			default:
				return s, fmt.Errorf("%s:%d: unknown directive %q", s.Name, no, word)
			}
		}
		args, err := diffSplitArgs(line)
		if err != nil {
			return s, fmt.Errorf("%s:%d: %v", s.Name, no, err)
		}
		if len(args) == 0 {
			return s, fmt.Errorf("%s:%d: directives without a command", s.Name, no)
		}
		s.Lines = append(s.Lines, diffLine{No: no, Command: line, Args: args, Dir: dir})
	}
	return s, nil
}

// diffSplitArgs splits a line into arguments like redis-cli (sdssplitargs).
func diffSplitArgs(line string) ([]string, error) {
	raw, ok := resp.SplitArgs([]byte(line))
	if !ok {
		return nil, errors.New("unbalanced quotes")
	}
	args := make([]string, len(raw))
	for i, a := range raw {
		args[i] = string(a)
	}
	return args, nil
}

// diffReply is one parsed RESP2/RESP3 reply with its exact bytes.
type diffReply struct {
	Kind  byte   // the type byte: + - : $ * _ , # ! = ( % ~ > |
	Raw   []byte // the whole reply as received
	Str   string // simple and bulk payloads (and the header payload of others)
	Null  bool   // $-1 or *-1
	Elems []diffReply
}

// diffMaxBulk and diffMaxElems bound what the reader accepts, so a broken
// server cannot make the test allocate without bound.
const (
	diffMaxBulk  = 64 << 20
	diffMaxElems = 1 << 20
)

// diffReadReply reads exactly one reply.
func diffReadReply(r *bufio.Reader) (diffReply, error) {
	line, err := diffReadLine(r)
	if err != nil {
		return diffReply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return diffReply{}, fmt.Errorf("malformed reply line %q", line)
	}
	rep := diffReply{Kind: line[0], Raw: line, Str: string(line[1 : len(line)-2])}
	count := func() (int, error) {
		n, err := strconv.Atoi(rep.Str)
		if err != nil || n < -1 {
			return 0, fmt.Errorf("bad length in %q", rep.Raw)
		}
		return n, nil
	}
	switch rep.Kind {
	case '+', '-', ':', '_', ',', '#', '(':
		return rep, nil
	case '$', '!', '=':
		n, err := count()
		if err != nil {
			return rep, err
		}
		if n == -1 {
			rep.Null, rep.Str = true, ""
			return rep, nil
		}
		if n > diffMaxBulk {
			return rep, fmt.Errorf("bulk of %d bytes", n)
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return rep, err
		}
		if body[n] != '\r' || body[n+1] != '\n' {
			return rep, fmt.Errorf("bulk of %d bytes not ended by CRLF: %q", n, body)
		}
		rep.Raw = append(rep.Raw, body...)
		rep.Str = string(body[:n])
		return rep, nil
	case '*', '~', '>', '%', '|':
		n, err := count()
		if err != nil {
			return rep, err
		}
		if n == -1 {
			rep.Null = true
			return rep, nil
		}
		if n > diffMaxElems {
			return rep, fmt.Errorf("aggregate of %d elements", n)
		}
		if rep.Kind == '%' || rep.Kind == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			e, err := diffReadReply(r)
			if err != nil {
				return rep, err
			}
			rep.Raw = append(rep.Raw, e.Raw...)
			rep.Elems = append(rep.Elems, e)
		}
		if rep.Kind == '|' { // an attribute comes before the reply it annotates
			e, err := diffReadReply(r)
			if err != nil {
				return rep, err
			}
			rep.Raw = append(rep.Raw, e.Raw...)
			rep.Elems = append(rep.Elems, e)
		}
		return rep, nil
	default:
		return rep, fmt.Errorf("unknown reply type in %q", rep.Raw)
	}
}

// diffReadLine reads one line of any length, including its CRLF.
func diffReadLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		line = append(line, part...)
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull) && len(line) < diffMaxBulk:
			continue
		default:
			return line, err
		}
	}
}

// diffEqual compares two replies under a line's directives.
func diffEqual(d diffDirectives, a, b diffReply) bool {
	switch {
	case d.Scan:
		if a.Kind != '*' || b.Kind != '*' || len(a.Elems) != 2 || len(b.Elems) != 2 {
			return bytes.Equal(a.Raw, b.Raw)
		}
		if !bytes.Equal(a.Elems[0].Raw, b.Elems[0].Raw) {
			return false
		}
		inner := diffDirectives{Pairs: d.Pairs, Set: !d.Pairs}
		return diffEqual(inner, a.Elems[1], b.Elems[1])
	case d.Pairs && a.Kind == b.Kind && (a.Kind == '*' || a.Kind == '%') && !a.Null && !b.Null:
		pa, oka := diffPairs(a)
		pb, okb := diffPairs(b)
		return oka && okb && slices.Equal(pa, pb)
	case d.HasInt && a.Kind == ':' && b.Kind == ':':
		x, err1 := strconv.ParseInt(a.Str, 10, 64)
		y, err2 := strconv.ParseInt(b.Str, 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if x < 0 || y < 0 {
			return x == y
		}
		diff := x - y
		if diff < 0 {
			diff = -diff
		}
		return diff <= d.IntTolerance
	case d.Set && a.Kind == b.Kind && (a.Kind == '*' || a.Kind == '~') && !a.Null && !b.Null:
		if len(a.Elems) != len(b.Elems) {
			return false
		}
		sa, sb := diffSortedRaw(a.Elems), diffSortedRaw(b.Elems)
		return slices.Equal(sa, sb)
	case len(d.Mask) > 0 && a.Kind == b.Kind && (a.Kind == '*' || a.Kind == '%') && !a.Null && !b.Null:
		if len(a.Elems) != len(b.Elems) || len(a.Elems)%2 != 0 {
			return false
		}
		for i := 0; i < len(a.Elems); i += 2 {
			ka, kb := a.Elems[i], b.Elems[i]
			va, vb := a.Elems[i+1], b.Elems[i+1]
			if !bytes.Equal(ka.Raw, kb.Raw) {
				return false
			}
			if slices.Contains(d.Mask, ka.Str) {
				if va.Kind != vb.Kind {
					return false
				}
				continue
			}
			if !bytes.Equal(va.Raw, vb.Raw) {
				return false
			}
		}
		return true
	}
	return bytes.Equal(a.Raw, b.Raw)
}

// diffPairs returns the field/value pairs of a map, a flat array of even
// length or an array of 2-element arrays, each as the raw bytes of field and
// value, sorted; the shape is part of each pair so that a flat array never
// equals an array of arrays.
func diffPairs(r diffReply) ([]string, bool) {
	var out []string
	nested := r.Kind == '*' && len(r.Elems) > 0 && r.Elems[0].Kind == '*'
	switch {
	case nested:
		for _, e := range r.Elems {
			if e.Kind != '*' || len(e.Elems) != 2 {
				return nil, false
			}
			out = append(out, fmt.Sprintf("nested %q %q", e.Elems[0].Raw, e.Elems[1].Raw))
		}
	default:
		if len(r.Elems)%2 != 0 {
			return nil, false
		}
		for i := 0; i < len(r.Elems); i += 2 {
			out = append(out, fmt.Sprintf("flat %q %q", r.Elems[i].Raw, r.Elems[i+1].Raw))
		}
	}
	sort.Strings(out)
	return out, true
}

func diffSortedRaw(elems []diffReply) []string {
	out := make([]string, len(elems))
	for i, e := range elems {
		out[i] = string(e.Raw)
	}
	sort.Strings(out)
	return out
}

// diffConn is a raw RESP connection that sends one command and reads
// exactly one reply.
type diffConn struct {
	c net.Conn
	r *bufio.Reader
}

// diffDial connects to addr and closes the connection when the test ends.
func diffDial(t testing.TB, addr string) *diffConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &diffConn{c: c, r: bufio.NewReader(c)}
}

// diffEncode encodes a command as a RESP array of bulk strings.
func diffEncode(args []string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

func (c *diffConn) do(args []string) (diffReply, error) {
	if err := c.c.SetDeadline(time.Now().Add(diffReplyTimeout)); err != nil {
		return diffReply{}, err
	}
	if _, err := c.c.Write(diffEncode(args)); err != nil {
		return diffReply{}, err
	}
	return diffReadReply(c.r)
}

// pipeline sends every command in one write and reads one reply per
// command; it returns the replies read before any error.
func (c *diffConn) pipeline(cmds [][]string) ([]diffReply, error) {
	if err := c.c.SetDeadline(time.Now().Add(diffReplyTimeout)); err != nil {
		return nil, err
	}
	var buf []byte
	for _, args := range cmds {
		buf = append(buf, diffEncode(args)...)
	}
	werr := make(chan error, 1)
	go func() { // write while reading, so neither side's buffers can fill up
		_, err := c.c.Write(buf)
		werr <- err
	}()
	var replies []diffReply
	var rerr error
	for range cmds {
		r, err := diffReadReply(c.r)
		if err != nil {
			rerr = err
			break
		}
		replies = append(replies, r)
	}
	if err := <-werr; err != nil && rerr == nil {
		rerr = err
	}
	return replies, rerr
}

// diffNth returns the i-th pipelined reply, or the error that cut the
// pipeline short before it.
func diffNth(replies []diffReply, i int, err error) (diffReply, error) {
	if i < len(replies) {
		return replies[i], nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return diffReply{}, err
}

// diffRunCorpus runs every script on both sides, over RESP2 and RESP3, and
// reports each reply that differs. known, when non-nil, gives the replies
// side b must give instead for intended differences (RESP2 only; over RESP3
// those lines are compared only for the error type).
func diffRunCorpus(t *testing.T, scripts []diffScript, a, b diffSide, known []diffKnown) {
	knownBy := map[string]diffKnown{}
	for _, k := range known {
		knownBy[k.Command] = k
	}
	for _, pass := range diffPasses {
		t.Run(pass.Name, func(t *testing.T) {
			for _, s := range scripts {
				t.Run(strings.TrimSuffix(s.Name, ".txt"), func(t *testing.T) {
					diffRunScript(t, s, pass, a, b, knownBy)
				})
			}
		})
	}
}

// diffPass is one way of running the whole corpus.
type diffPass struct {
	Name      string
	Proto     int  // 2, or 3 to send HELLO 3 first
	Pipelined bool // send a script's commands in one write, then read every reply
}

// diffPasses: one command at a time over RESP2 and over RESP3, and the whole
// script pipelined (replies must come back in order even when the commands
// of one pipeline go to different shards).
var diffPasses = []diffPass{
	{Name: "resp2", Proto: 2},
	{Name: "resp3", Proto: 3},
	{Name: "resp2-pipelined", Proto: 2, Pipelined: true},
}

// diffQuote quotes a reply for a message, shortening very long ones.
func diffQuote(b []byte) string {
	const max = 600
	if len(b) > max {
		return fmt.Sprintf("%q... (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func diffRunScript(t *testing.T, s diffScript, pass diffPass, a, b diffSide, known map[string]diffKnown) {
	ca, cb := diffDial(t, a.Addr), diffDial(t, b.Addr)
	for _, side := range []struct {
		diffSide
		c *diffConn
	}{{a, ca}, {b, cb}} {
		r, err := side.c.do([]string{"FLUSHALL"})
		if err != nil || string(r.Raw) != "+OK\r\n" {
			t.Fatalf("%s: FLUSHALL: %q %v", side.Name, r.Raw, err)
		}
		if pass.Proto == 3 {
			r, err := side.c.do([]string{"HELLO", "3"})
			if err != nil || r.Kind != '%' {
				t.Fatalf("%s: HELLO 3: %q %v", side.Name, r.Raw, err)
			}
		}
	}
	var pipeA, pipeB []diffReply
	var pipeErrA, pipeErrB error
	if pass.Pipelined {
		cmds := make([][]string, len(s.Lines))
		for i, l := range s.Lines {
			cmds[i] = l.Args
		}
		pipeA, pipeErrA = ca.pipeline(cmds)
		pipeB, pipeErrB = cb.pipeline(cmds)
	}
	mismatches := 0
	for i, l := range s.Lines {
		var ra, rb diffReply
		var errA, errB error
		if pass.Pipelined {
			ra, errA = diffNth(pipeA, i, pipeErrA)
			rb, errB = diffNth(pipeB, i, pipeErrB)
		} else {
			ra, errA = ca.do(l.Args)
			rb, errB = cb.do(l.Args)
		}
		if errA != nil || errB != nil {
			t.Fatalf("%s:%d: %s\n  %s: %s (%v)\n  %s: %s (%v)\n  (connection broken: script stopped)",
				s.Name, l.No, l.Command, a.Name, diffQuote(ra.Raw), errA, b.Name, diffQuote(rb.Raw), errB)
		}
		if k, ok := known[l.Command]; ok {
			want := k.Shardis
			ok := string(rb.Raw) == want
			if pass.Proto == 3 {
				ok = rb.Kind == want[0] && strings.HasPrefix(string(rb.Raw), want[:strings.IndexAny(want, " \r")])
			}
			if !ok {
				t.Errorf("%s:%d: %s (known difference: %s)\n  want %s: %q\n  got  %s: %s",
					s.Name, l.No, l.Command, k.Reason, b.Name, want, b.Name, diffQuote(rb.Raw))
				mismatches++
			}
			continue
		}
		if !diffEqual(l.Dir, ra, rb) {
			t.Errorf("%s:%d: %s\n  %s: %s\n  %s: %s", s.Name, l.No, l.Command, a.Name, diffQuote(ra.Raw), b.Name, diffQuote(rb.Raw))
			mismatches++
		}
		if mismatches >= diffMaxMismatches {
			t.Fatalf("%s: %d mismatches, script stopped", s.Name, mismatches)
		}
	}
}
