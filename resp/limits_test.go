package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeConn serves chunks to Read and records what is written.
type fakeConn struct {
	chunks [][]byte
	out    bytes.Buffer
	gen    func(p []byte) (int, error) // used when chunks run out, if set
}

func (f *fakeConn) Read(p []byte) (int, error) {
	for len(f.chunks) > 0 {
		c := f.chunks[0]
		n := copy(p, c)
		if n == len(c) {
			f.chunks = f.chunks[1:]
		} else {
			f.chunks[0] = c[n:]
		}
		if n > 0 {
			return n, nil
		}
	}
	if f.gen != nil {
		return f.gen(p)
	}
	return 0, io.EOF
}
func (f *fakeConn) Write(p []byte) (int, error)      { return f.out.Write(p) }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return nil }
func (f *fakeConn) RemoteAddr() net.Addr             { return nil }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// splitEvery cuts s into pieces of n bytes.
func splitEvery(s string, n int) [][]byte {
	var out [][]byte
	for len(s) > n {
		out = append(out, []byte(s[:n]))
		s = s[n:]
	}
	return append(out, []byte(s))
}

// readAllLimited drains a LimitConn over chunks, reading with a buffer of bufSize.
func readAllLimited(chunks [][]byte, l Limits, bufSize int) (delivered, written string, err error) {
	fc := &fakeConn{chunks: chunks}
	c := LimitConn(fc, l)
	var got bytes.Buffer
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			return got.String(), fc.out.String(), err
		}
	}
}

const validPipeline = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\r\n\r\n" +
	"PING\r\n" + "\r\n" + "set a 'b c'\n" + "*1\r\n$4\r\nPING\r\n" + "*2\r\n$3\r\nGET\r\n$0\r\n\r\n" +
	"*0\r\n" + "*-1\r\n" + "*1\r\n$4\r\nPING\r\n"

func TestLimitConnPassesValidPipelines(t *testing.T) {
	// Empty multibulks and empty lines are dropped; inline commands arrive as multibulk.
	want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\r\n\r\n" +
		"*1\r\n$4\r\nPING\r\n" + "*3\r\n$3\r\nset\r\n$1\r\na\r\n$3\r\nb c\r\n" + "*1\r\n$4\r\nPING\r\n" +
		"*2\r\n$3\r\nGET\r\n$0\r\n\r\n" + "*1\r\n$4\r\nPING\r\n"
	for _, chunk := range []int{1, 2, 3, 5, 7, 64, 4096} {
		for _, bufSize := range []int{1, 3, 100, 4096} {
			got, written, err := readAllLimited(splitEvery(validPipeline, chunk), Limits{}, bufSize)
			if err != io.EOF || got != want || written != "" {
				t.Fatalf("chunk %d buf %d: got %q, wrote %q, err %v", chunk, bufSize, got, written, err)
			}
		}
	}
}

func TestLimitConnViolations(t *testing.T) {
	small := Limits{MaxBulkLen: 10, MaxArgs: 3, MaxInlineLen: 20, MaxQueryBuffer: 30}
	prefix := "*1\r\n$4\r\nPING\r\nPING\r\n"
	delivered := "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n" // the inline PING arrives as multibulk
	tests := []struct {
		name  string
		in    string
		l     Limits
		reply string // "" means close without reply
	}{
		{"huge bulk", "*1\r\n$99999999999\r\n", Limits{}, ErrProtoBulkLen},
		{"bulk > proto-max-bulk-len", "*1\r\n$536870913\r\n", Limits{}, ErrProtoBulkLen},
		{"bulk > limit", "*1\r\n$11\r\n", small, ErrProtoBulkLen},
		{"negative bulk", "*1\r\n$-1\r\n", Limits{}, ErrProtoBulkLen},
		{"-0 bulk", "*1\r\n$-0\r\n", Limits{}, ErrProtoBulkLen},
		{"plus bulk", "*1\r\n$+4\r\nPING\r\n", Limits{}, ErrProtoBulkLen},
		{"leading zero bulk", "*1\r\n$04\r\nPING\r\n", Limits{}, ErrProtoBulkLen},
		{"empty bulk len", "*1\r\n$\r\n", Limits{}, ErrProtoBulkLen},
		{"garbage bulk len", "*1\r\n$1x\r\n", Limits{}, ErrProtoBulkLen},
		{"bad payload end", "*1\r\n$4\r\nPINGxx", Limits{}, ErrProtoBulkLen},
		{"args > INT_MAX", "*2147483648\r\n", Limits{}, ErrProtoMultibulkLen},
		{"args > limit", "*4\r\n", small, ErrProtoMultibulkLen},
		{"args garbage", "*1x\r\n", Limits{}, ErrProtoMultibulkLen},
		{"args plus", "*+1\r\n", Limits{}, ErrProtoMultibulkLen},
		{"args leading zero", "*01\r\n", Limits{}, ErrProtoMultibulkLen},
		{"args empty", "*\r\n", Limits{}, ErrProtoMultibulkLen},
		{"args -0", "*-0\r\n", Limits{}, ErrProtoMultibulkLen},
		{"args CR without LF", "*1\rx", Limits{}, ErrProtoMultibulkLen},
		{"expected dollar", "*1\r\nxPING\r\n", Limits{}, ErrProtoExpected('x')},
		{"expected dollar CR", "*1\r\n\r\n", Limits{}, ErrProtoExpected('\r')},
		{"long count line", "*" + strings.Repeat("1", 70000), Limits{}, ErrProtoMbulkCountTooBig},
		{"long bulk line", "*1\r\n$" + strings.Repeat("1", 70000), Limits{}, ErrProtoBulkCountTooBig},
		{"long inline", "PING " + strings.Repeat("a", 70000), Limits{}, ErrProtoInlineTooBig},
		{"long inline with newline", "PING " + strings.Repeat("a", 16) + "\r\n", small, ErrProtoInlineTooBig},
		{"query buffer", "*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n", small, ""},
		{"unauth args", "*11\r\n", Limits{RequireAuth: true}, ErrProtoUnauthMultibulkLen},
		{"unauth bulk", "*1\r\n$16385\r\n", Limits{RequireAuth: true}, ErrProtoUnauthBulkLen},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 1 << 20} {
			got, written, err := readAllLimited(splitEvery(prefix+tt.in, chunk), tt.l, 1<<17)
			// Split reads may already have delivered the start of the offending command,
			// never all of it; read whole, it is not delivered at all.
			rest, ok := strings.CutPrefix(got, delivered)
			if !ok || len(rest) >= len(tt.in) || !strings.HasPrefix(tt.in, rest) || (chunk > len(tt.in) && rest != "") {
				t.Errorf("%s/%d: delivered %.60q, want %q", tt.name, chunk, got, delivered)
			}
			wantOut := ""
			if tt.reply != "" {
				wantOut = "-" + tt.reply + "\r\n"
			}
			if written != wantOut {
				t.Errorf("%s/%d: wrote %q, want %q", tt.name, chunk, written, wantOut)
			}
			var le *LimitError
			if tt.reply == "" && err != ErrQueryBufferLimit || tt.reply != "" && (!errors.As(err, &le) || le.Reply != tt.reply) {
				t.Errorf("%s/%d: err %v", tt.name, chunk, err)
			}
		}
	}
}

func TestLimitConnAtLimits(t *testing.T) {
	l := Limits{MaxBulkLen: 10, MaxArgs: 3, MaxInlineLen: 20, MaxQueryBuffer: 60}
	in := "*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$0\r\n\r\n" + "PING " + strings.Repeat("a", 10) + " bbbb\r\n"
	got, written, err := readAllLimited(splitEvery(in, 2), l, 4096)
	want := in[:strings.Index(in, "PING")] + "*3\r\n$4\r\nPING\r\n$10\r\n" + strings.Repeat("a", 10) + "\r\n$4\r\nbbbb\r\n"
	if err != io.EOF || got != want || written != "" {
		t.Fatalf("got %q, wrote %q, err %v", got, written, err)
	}
	// Authenticating lifts the unauthenticated limits.
	fc := &fakeConn{chunks: [][]byte{[]byte("*11\r\n")}}
	c := LimitConn(fc, Limits{RequireAuth: true}).(*LimitedConn)
	c.SetAuthenticated(true)
	buf := make([]byte, 100)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "*11\r\n" {
		t.Fatalf("after auth: %q %v", buf[:n], err)
	}
}

// TestLimitConnStreamsWithoutBuffering pushes a 64 MiB argument through the conn and
// checks that nothing is allocated per read: memory stays O(1).
func TestLimitConnStreamsWithoutBuffering(t *testing.T) {
	const size = 64 << 20
	remaining := size + 2
	fc := &fakeConn{chunks: [][]byte{[]byte("*2\r\n$3\r\nSET\r\n$67108864\r\n")}}
	fc.gen = func(p []byte) (int, error) {
		if remaining == 0 {
			return 0, io.EOF
		}
		n := len(p)
		if n > remaining {
			n = remaining
		}
		for i := range p[:n] {
			p[i] = 'x'
		}
		remaining -= n
		if remaining == 0 {
			p[n-2], p[n-1] = '\r', '\n'
		}
		return n, nil
	}
	c := LimitConn(fc, Limits{})
	buf := make([]byte, 32<<10)
	total := 0
	allocs := testing.AllocsPerRun(1, func() {
		for {
			n, err := c.Read(buf)
			total += n
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs > 0 {
		t.Errorf("allocations while streaming: %v", allocs)
	}
	if want := len("*2\r\n$3\r\nSET\r\n$67108864\r\n") + size + 2; total != want {
		t.Errorf("delivered %d bytes, want %d", total, want)
	}
}

func TestLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lln := LimitListener(ln, Limits{})
	done := make(chan string, 1)
	go func() {
		c, err := lln.Accept()
		if err != nil {
			done <- err.Error()
			return
		}
		defer c.Close()
		var got bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				done <- got.String()
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n*1\r\n$99999999999\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "-"+ErrProtoBulkLen+"\r\n" {
		t.Fatalf("reply %q, %v", line, err)
	}
	if got := <-done; got != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("server read %q", got)
	}
}

func TestLimitsDefaultsAndValidate(t *testing.T) {
	if (Limits{}).WithDefaults() != DefaultLimits {
		t.Fatalf("WithDefaults: %+v", (Limits{}).WithDefaults())
	}
	if err := DefaultLimits.Validate(); err != nil {
		t.Fatal(err)
	}
	err := Limits{MaxBulkLen: -1, MaxArgs: -1, MaxInlineLen: -1, MaxQueryBuffer: -1}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Fatalf("Validate: %v", err)
	}
}

// TestInlineCommands checks that inline commands reach the server as the
// multibulk Redis would have parsed them from the same line.
func TestInlineCommands(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: nothing delivered
		err  string
	}{
		{"PING\r\n", []string{"PING"}, ""},
		{"PING\n", []string{"PING"}, ""},
		{"  set  k   v \r\n", []string{"set", "k", "v"}, ""},
		{"\r\n", nil, ""},
		{"   \n", nil, ""},
		{`set k "a b"` + "\r\n", []string{"set", "k", "a b"}, ""},
		{`set k "\x41\x00\n\t\\\""` + "\r\n", []string{"set", "k", "A\x00\n\t\\\""}, ""},
		{`set k 'it\'s'` + "\r\n", []string{"set", "k", "it's"}, ""},
		{`set k 'a\nb'` + "\r\n", []string{"set", "k", `a\nb`}, ""},
		{`set k "" ''` + "\r\n", []string{"set", "k", "", ""}, ""},
		{`set k"v" x` + "\r\n", []string{"set", "kv", "x"}, ""},
		{"set k v\x00w x\r\n", []string{"set", "k", "v"}, ""},
		{"\x00set\r\n", nil, ""},
		{`set k "v` + "\r\n", nil, ErrProtoUnbalancedQuotes},
		{`set k "v"x` + "\r\n", nil, ErrProtoUnbalancedQuotes},
		{`set k 'v` + "\r\n", nil, ErrProtoUnbalancedQuotes},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 4, 1 << 20} {
			got, written, _ := readAllLimited(splitEvery(tt.in, chunk), Limits{}, 4096)
			want := ""
			if tt.want != nil {
				args := make([][]byte, len(tt.want))
				for i, a := range tt.want {
					args[i] = []byte(a)
				}
				want = string(AppendCommand(nil, args...))
			}
			if got != want {
				t.Errorf("%q/%d: delivered %q, want %q", tt.in, chunk, got, want)
			}
			wantOut := ""
			if tt.err != "" {
				wantOut = "-" + tt.err + "\r\n"
			}
			if written != wantOut {
				t.Errorf("%q/%d: wrote %q, want %q", tt.in, chunk, written, wantOut)
			}
		}
	}
	// Too many arguments on one line count as a too big inline request.
	_, written, _ := readAllLimited(splitEvery("a b c d\r\n", 3), Limits{MaxArgs: 3}, 4096)
	if written != "-"+ErrProtoInlineTooBig+"\r\n" {
		t.Errorf("4 inline args with MaxArgs 3: wrote %q", written)
	}
}
