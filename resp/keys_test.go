package resp

import "testing"

func TestParseLong(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63} {
		if got, ok := parseLong([]byte(in)); !ok || got != want {
			t.Errorf("parseLong(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-", "+1", "01", "-0", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "99999999999999999999", "1e3"} {
		if _, ok := parseLong([]byte(in)); ok {
			t.Errorf("parseLong(%q) accepted", in)
		}
	}
}
