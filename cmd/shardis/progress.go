package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress output: a bar redrawn in place on a terminal, at most every
// barInterval; elsewhere (a log, a pipe) a line every lineInterval, so a
// log of a long run neither floods nor stays silent.
const (
	barInterval  = 200 * time.Millisecond
	lineInterval = 5 * time.Second
	barWidth     = 30
)

// unitBytes makes a progress count bytes (shown as KiB, MiB …); any other
// unit is a plain count followed by the unit's name ("keys").
const unitBytes = "bytes"

// progress reports how far a long command has got. Make one with
// newProgress, call Add as work is done and Done once at the end. It is
// safe for concurrent use.
type progress struct {
	mu       sync.Mutex // guards the fields below
	w        io.Writer
	label    string
	unit     string
	total    int64 // <= 0: unknown
	n        int64
	tty      bool
	now      func() time.Time // replaced in tests
	start    time.Time
	last     time.Time // of the last output
	finished bool
}

// newProgress reports to w the progress of label towards total units
// (unitBytes or a name such as "keys"; total <= 0 if unknown). Nothing is
// printed before the first Add.
func newProgress(w io.Writer, label string, total int64, unit string) *progress {
	p := &progress{w: w, label: label, unit: unit, total: total, tty: isTerminal(w), now: time.Now}
	p.start = p.now()
	p.last = p.start
	return p
}

// Add counts n more units done.
func (p *progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.n += n
	now := p.now()
	switch {
	case p.tty && now.Sub(p.last) >= barInterval:
		fmt.Fprintf(p.w, "\r%s\x1b[K", p.bar(now))
	case !p.tty && now.Sub(p.last) >= lineInterval:
		fmt.Fprintln(p.w, p.line(now))
	default:
		return
	}
	p.last = now
}

// Done prints the final state, ending the bar's line. Later calls, and
// Adds after it, do nothing.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	now := p.now()
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", p.bar(now))
		return
	}
	fmt.Fprintf(p.w, "%s: %s in %s (%s)\n", p.label, p.amount(p.n), now.Sub(p.start).Round(100*time.Millisecond), p.rate(now))
}

// bar is "label [=====>    ]  45%  1.2 GiB / 2.6 GiB  34.0 MiB/s".
func (p *progress) bar(now time.Time) string {
	if p.total <= 0 {
		return fmt.Sprintf("%s %s  %s", p.label, p.amount(p.n), p.rate(now))
	}
	frac := min(float64(p.n)/float64(p.total), 1)
	fill := int(frac * barWidth)
	b := strings.Repeat("=", fill)
	if fill < barWidth {
		b += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	return fmt.Sprintf("%s [%s] %3.0f%%  %s / %s  %s", p.label, b, 100*frac, p.amount(p.n), p.amount(p.total), p.rate(now))
}

// line is "label: 45% (1.2 GiB of 2.6 GiB), 34.0 MiB/s".
func (p *progress) line(now time.Time) string {
	if p.total <= 0 {
		return fmt.Sprintf("%s: %s, %s", p.label, p.amount(p.n), p.rate(now))
	}
	frac := min(float64(p.n)/float64(p.total), 1)
	return fmt.Sprintf("%s: %.0f%% (%s of %s), %s", p.label, 100*frac, p.amount(p.n), p.amount(p.total), p.rate(now))
}

func (p *progress) amount(n int64) string {
	if p.unit == unitBytes {
		return formatBytes(float64(n))
	}
	return fmt.Sprintf("%d %s", n, p.unit)
}

func (p *progress) rate(now time.Time) string {
	secs := now.Sub(p.start).Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	r := float64(p.n) / secs
	if p.unit == unitBytes {
		return formatBytes(r) + "/s"
	}
	return fmt.Sprintf("%.0f %s/s", r, p.unit)
}

// formatBytes is n in the largest binary unit that keeps it at least 1.
func formatBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// isTerminal reports whether w is a terminal, looking through the locks
// run puts around stdout and stderr.
func isTerminal(w io.Writer) bool {
	if l, ok := w.(*lockedWriter); ok {
		w = l.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
