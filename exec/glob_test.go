package exec

import (
	"context"

	"github.com/redis/go-redis/v9"
	"testing"

	"github.com/shardis/shardis/internal/redistest"
)

var globCases = []struct {
	pattern, str string
	want         bool
}{
	{"*", "", true},
	{"*", "anything", true},
	{"", "", true},
	{"", "a", false},
	{"a", "a", true},
	{"a", "b", false},
	{"a", "aa", false},
	{"a*", "a", true},
	{"a*", "abc", true},
	{"a*", "ba", false},
	{"*a", "ba", true},
	{"*a", "ab", false},
	{"a*b*c", "aXbYc", true},
	{"a*b*c", "aXbY", false},
	{"a**b", "ab", true},
	{"***", "", false}, // stringmatchlen needs a byte to enter its loop
	{"h?llo", "hello", true},
	{"h?llo", "hllo", false},
	{"?", "", false},
	{"??", "a", false},
	{"h[ae]llo", "hallo", true},
	{"h[ae]llo", "hillo", false},
	{"h[^e]llo", "hallo", true},
	{"h[^e]llo", "hello", false},
	{"h[a-b]llo", "hbllo", true},
	{"h[a-b]llo", "hcllo", false},
	{"h[b-a]llo", "hallo", true}, // reversed range
	{"[a-]", "-", false},         // "a-]" is a range a..']'
	{"[a-]", "]", true},          // ']' (0x5d) lies in the reversed range ']'..'a'
	{"[a-]", "a", true},
	{"[a-]x", "bx", false},
	{"[]]", "]", false},
	{"[\\]]", "]", true},
	{"[\\", "\\", true},
	{"[abc", "a", true}, // unterminated class runs to the end
	{"[abc", "ab", false},
	{"[abc", "d", false},
	{"[^abc", "d", true},
	{"[", "a", false},
	{"[^", "a", true},
	{"\\*", "*", true},
	{"\\*", "a", false},
	{"\\?", "?", true},
	{"\\[a]", "[a]", true},
	{"a\\", "a\\", true},
	{"a\\", "a", false},
	{"\\", "\\", true},
	{"*\\", "ab\\", true},
	{"[\\-]", "-", true},
	{"[a\\-z]", "b", false},
	{"[a\\-z]", "-", true},
	{"*[a-z]", "9a", true},
	{"*[", "a", false},
	{"a*[", "ab", false},
	{"*?", "", false},
	{"*?", "a", true},
	{"a*", "", false},
	{"[\x80-\xff]", "\x90", true},
	{"[\x00-\x7f]", "\x90", false}, // signed char: 0x90 is negative, below 0x00
	{"[\x80-\x7f]", "\x90", true},
	{"[\x80-\x7f]", "a", true},
	{"[a-z]", "\xe9", false},
	{"*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	{"user:*:name", "user:42:name", true},
	{"user:*:name", "user:42:mail", false},
	{"{*}*", "{tag}key", true},
}

func TestGlobMatch(t *testing.T) {
	for _, c := range globCases {
		if got := globMatch([]byte(c.pattern), []byte(c.str)); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.str, got, c.want)
		}
	}
}

// TestGlobAgainstRedis checks globCases with KEYS on a real redis-server
// started for the test.
func TestGlobAgainstRedis(t *testing.T) {
	addr := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	for _, gc := range globCases {
		c.FlushAll(ctx)
		c.Set(ctx, gc.str, "1", 0)
		keys, err := c.Keys(ctx, gc.pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		got := len(keys) == 1 && keys[0] == gc.str
		if got != gc.want {
			t.Errorf("redis KEYS %q on %q matched=%v, table says %v", gc.pattern, gc.str, got, gc.want)
		}
	}
}

func FuzzGlobMatch(f *testing.F) {
	for _, c := range globCases {
		f.Add(c.pattern, c.str)
	}
	f.Fuzz(func(t *testing.T, pattern, str string) {
		globMatch([]byte(pattern), []byte(str)) // must not panic
	})
}
