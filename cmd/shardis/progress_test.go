package main

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a time a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestProgress(w *bytes.Buffer, total int64, unit string, tty bool) (*progress, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := newProgress(w, "copy", total, unit)
	p.now, p.tty = clock.now, tty
	p.start, p.last = clock.now(), clock.now()
	return p, clock
}

// TestProgressLines checks the output for a log or a pipe: a line every
// lineInterval however often Add is called, and a final line.
func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	p, clock := newTestProgress(&out, 4<<20, unitBytes, false)
	for range 10 {
		clock.advance(time.Second)
		p.Add(200 << 10)
	}
	p.Done()
	p.Done()
	p.Add(1)
	want := "copy: 24% (1000.0 KiB of 4.0 MiB), 200.0 KiB/s\n" +
		"copy: 49% (2.0 MiB of 4.0 MiB), 200.0 KiB/s\n" +
		"copy: 2.0 MiB in 10s (200.0 KiB/s)\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestProgressBar checks the terminal form: one line redrawn in place, at
// most every barInterval, ended by Done.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	p, clock := newTestProgress(&out, 200, "keys", true)
	p.Add(10) // too soon to draw
	clock.advance(barInterval)
	p.Add(40)
	clock.advance(barInterval)
	p.Add(150)
	p.Done()
	got := out.String()
	frames := strings.Split(strings.TrimSuffix(got, "\n"), "\r")[1:]
	if len(frames) != 3 || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("want 3 frames and one newline, got %q", got)
	}
	if want := "copy [=======>" + strings.Repeat(" ", 22) + "]  25%  50 keys / 200 keys  250 keys/s\x1b[K"; frames[0] != want {
		t.Errorf("frame %q\nwant  %q", frames[0], want)
	}
	if want := "copy [" + strings.Repeat("=", 30) + "] 100%  200 keys / 200 keys  500 keys/s\x1b[K"; frames[2] != want {
		t.Errorf("last frame %q\nwant       %q", frames[2], want)
	}
}

// TestProgressUnknownTotal has no percentage to show.
func TestProgressUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	p, clock := newTestProgress(&out, 0, "keys", false)
	clock.advance(lineInterval)
	p.Add(30)
	if got, want := out.String(), "copy: 30 keys, 6 keys/s\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProgressConcurrentAdds(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&lockedWriter{w: &out}, "copy", 0, "keys")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				p.Add(1)
			}
		}()
	}
	wg.Wait()
	p.Done()
	if !strings.HasPrefix(out.String(), "copy: 4000 keys in ") {
		t.Errorf("got %q", out.String())
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&lockedWriter{w: f}) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !isTerminal(&lockedWriter{w: tty}) {
			t.Error("/dev/tty not taken for a terminal")
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB", 1 << 50: "1024.0 TiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%v) = %q, want %q", n, got, want)
		}
	}
}
