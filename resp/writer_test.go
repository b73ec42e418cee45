package resp

import (
	"math"
	"strings"
	"testing"
)

func TestErrorTexts(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := []struct{ got, want string }{
		{WrongArgs("GeT"), "ERR wrong number of arguments for 'get' command"},
		{UnknownCommand([][]byte{[]byte("foo"), []byte("a"), []byte("b")}), "ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
		{UnknownCommand([][]byte{[]byte("foo")}), "ERR unknown command 'foo', with args beginning with: "},
		{UnknownCommand(nil), "ERR unknown command '', with args beginning with: "},
		{UnknownCommand([][]byte{[]byte("f"), []byte(long), []byte("b")}), "ERR unknown command 'f', with args beginning with: '" + long[:128] + "' "},
		{UnknownCommand([][]byte{[]byte("f"), []byte("abc"), []byte(long)}), "ERR unknown command 'f', with args beginning with: 'abc' '" + long[:122] + "' "},
		{UnknownCommand([][]byte{[]byte("xx" + long)}), "ERR unknown command 'xx" + long[:126] + "', with args beginning with: "},
		{UnknownCommand([][]byte{[]byte("a\r\nb")}), "ERR unknown command 'a  b', with args beginning with: "},
		{UnknownSubcommand("cLiEnT", "Xx"), "ERR unknown subcommand 'Xx'. Try CLIENT HELP."},
		{InvalidExpire("SET"), "ERR invalid expire time in 'set' command"},
		{ErrProtoExpected('x'), "ERR Protocol error: expected '$', got 'x'"},
		{ErrProtoExpected('\r'), "ERR Protocol error: expected '$', got ' '"},
		{ErrProtoExpected(0xff), "ERR Protocol error: expected '$', got '\xff'"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestEncoders(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"simple", AppendSimple(nil, "OK"), "+OK\r\n"},
		{"error", AppendError(nil, "ERR a\r\nb"), "-ERR a  b\r\n"},
		{"int", AppendInt(nil, -42), ":-42\r\n"},
		{"intmin", AppendInt(nil, math.MinInt64), ":-9223372036854775808\r\n"},
		{"bulk", AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{"bulk nil", AppendBulk(nil, nil), "$0\r\n\r\n"},
		{"bulkstring", AppendBulkString(nil, "hello"), "$5\r\nhello\r\n"},
		{"array", AppendArrayHeader(nil, 3), "*3\r\n"},
		{"null2", AppendNull(nil, RESP2), "$-1\r\n"},
		{"null3", AppendNull(nil, RESP3), "_\r\n"},
		{"nullarr2", AppendNullArray(nil, RESP2), "*-1\r\n"},
		{"nullarr3", AppendNullArray(nil, RESP3), "_\r\n"},
		{"map2", AppendMapHeader(nil, 3, RESP2), "*6\r\n"},
		{"map3", AppendMapHeader(nil, 3, RESP3), "%3\r\n"},
		{"set2", AppendSetHeader(nil, 2, RESP2), "*2\r\n"},
		{"set3", AppendSetHeader(nil, 2, RESP3), "~2\r\n"},
		{"double3", AppendDouble(nil, 1.1, RESP3), ",1.1000000000000001\r\n"},
		{"double2", AppendDouble(nil, 1.1, RESP2), "$18\r\n1.1000000000000001\r\n"},
		{"double int", AppendDouble(nil, 3, RESP3), ",3\r\n"},
		{"double exp", AppendDouble(nil, 1e20, RESP3), ",1e+20\r\n"},
		{"double small", AppendDouble(nil, 1e-5, RESP3), ",1.0000000000000001e-05\r\n"},
		{"double negzero", AppendDouble(nil, math.Copysign(0, -1), RESP3), ",-0\r\n"},
		{"inf3", AppendDouble(nil, math.Inf(1), RESP3), ",inf\r\n"},
		{"-inf3", AppendDouble(nil, math.Inf(-1), RESP3), ",-inf\r\n"},
		{"inf2", AppendDouble(nil, math.Inf(1), RESP2), "$3\r\ninf\r\n"},
		{"-inf2", AppendDouble(nil, math.Inf(-1), RESP2), "$4\r\n-inf\r\n"},
		{"nan3", AppendDouble(nil, math.NaN(), RESP3), ",nan\r\n"},
		{"true3", AppendBool(nil, true, RESP3), "#t\r\n"},
		{"false3", AppendBool(nil, false, RESP3), "#f\r\n"},
		{"true2", AppendBool(nil, true, RESP2), ":1\r\n"},
		{"false2", AppendBool(nil, false, RESP2), ":0\r\n"},
		{"verbatim3", AppendVerbatim(nil, "txt", "Some string", RESP3), "=15\r\ntxt:Some string\r\n"},
		{"verbatim2", AppendVerbatim(nil, "txt", "Some string", RESP2), "$11\r\nSome string\r\n"},
		{"command", AppendCommand(nil, []byte("SET"), []byte("k"), []byte("")), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"},
		{"append", AppendInt([]byte("x"), 1), "x:1\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestEncodersDoNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 1024)
	payload := []byte("hello world")
	allocs := testing.AllocsPerRun(100, func() {
		d := dst[:0]
		d = AppendBulk(d, payload)
		d = AppendInt(d, 123456789)
		d = AppendDouble(d, 3.14, RESP3)
		d = AppendDouble(d, 3.14, RESP2)
		d = AppendMapHeader(d, 2, RESP2)
		d = AppendError(d, ErrWrongType)
		_ = AppendCommand(d, payload, payload)
	})
	if allocs != 0 {
		t.Fatalf("encoders allocated %v times per run", allocs)
	}
}
