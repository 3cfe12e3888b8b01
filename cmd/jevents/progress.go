package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progressEvery is how often a progress line is written when the output is
// not a terminal (a log); on a terminal the line is redrawn at most ten
// times a second.
var progressEvery = 5 * time.Second

// progress reports a long command's progress: done of total, the rate and
// the time left. On a terminal it redraws one line; otherwise (a log, a
// pipe) it writes a line every progressEvery and one at the end.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	what     string // "jevents rebuild"
	unit     string // "events"
	terminal bool
	start    time.Time
	last     time.Time
	drawn    bool
}

func newProgress(w io.Writer, what, unit string) *progress {
	p := &progress{w: w, what: what, unit: unit, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// report says that done of total are done; label names the part (a read
// model) when there are several.
func (p *progress) report(label string, done, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	final := done >= total
	every := progressEvery
	if p.terminal {
		every = 100 * time.Millisecond
	}
	if !final && now.Sub(p.last) < every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 && total >= done {
		eta = (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	if label != "" {
		label = " " + label + ":"
	}
	line := fmt.Sprintf("%s:%s %d/%d %s (%.1f%%), %.0f/s, ETA %s", p.what, label, done, total, p.unit, pct, rate, eta)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
		if final {
			fmt.Fprintln(p.w)
			p.drawn = false
		}
		return
	}
	fmt.Fprintln(p.w, line)
}

// progressLine is a progress reporter for one count.
func progressLine(w io.Writer, what, unit string) func(done, total uint64) {
	p := newProgress(w, what, unit)
	return func(done, total uint64) { p.report("", done, total) }
}
