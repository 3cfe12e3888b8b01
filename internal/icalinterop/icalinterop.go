// Package icalinterop runs iCalendar files through independent parsers that
// real calendar clients use, for the interop tests of the feeds: Mozilla's
// ical.js (Thunderbird), libical (Evolution, GNOME Calendar, Cyrus) and
// Debian's python3-icalendar (khal, Home Assistant). Each parser reads the
// file with a small checker in checkers/ that prints what it read as JSON;
// Read returns it, and Compare checks it against what the test wrote.
//
// The parsers are installed by scripts/deps/20-ical-parsers.sh (make test
// runs it): apt packages nodejs, libical-dev and python3-icalendar, and
// ical.js pinned by checkers/package-lock.json (npm ci). The libical
// checker is compiled on first use into the user cache directory. A missing
// parser fails the test with the command that installs it; set
// JEVENTS_SKIP_INTEROP=1 to skip instead (never in CI).
//
// It imports only the standard library, so that the ical package's own
// tests can use it.
package icalinterop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Parsers are the names of the parsers Read runs, in order.
var Parsers = []string{"ical.js", "libical", "python-icalendar"}

// Calendar is what a parser read from a file.
type Calendar struct {
	Name   string  `json:"name"`    // NAME (RFC 7986)
	WRName string  `json:"wr_name"` // X-WR-CALNAME
	Events []Event `json:"events"`
}

// Event is what a parser read from one VEVENT. Start and End are UTC
// instants (2027-03-14T06:00:00Z) for DATE-TIME values and YYYY-MM-DD for
// DATE values; "floating:…" when the parser found no zone.
type Event struct {
	UID         string   `json:"uid"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Location    string   `json:"location"`
	URL         string   `json:"url"`
	Status      string   `json:"status"`
	Categories  []string `json:"categories"`
	Start       string   `json:"start"`
	End         string   `json:"end"`
	Props       []string `json:"props"`      // property names, as the parser lists them
	Components  []string `json:"components"` // nested components (VALARM would be an injection)
}

// checkers is the directory of the checker scripts, next to this file.
func checkers() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "checkers")
}

const install = "run scripts/install-test-deps.sh (or scripts/deps/20-ical-parsers.sh) as root"

// missing fails (or, with JEVENTS_SKIP_INTEROP=1, skips) a test whose
// parser is not installed.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("JEVENTS_SKIP_INTEROP") == "1" {
		t.Skipf("interop parser missing (%s); skipped because JEVENTS_SKIP_INTEROP=1", what)
	}
	t.Fatalf("interop parser missing: %s; %s", what, install)
}

var (
	libicalOnce sync.Once
	libicalBin  string
	libicalErr  error
)

// libical compiles the libical checker once per source version into the
// user cache directory and returns its path.
func libical(t testing.TB) string {
	t.Helper()
	libicalOnce.Do(func() {
		src := filepath.Join(checkers(), "libical.c")
		code, err := os.ReadFile(src)
		if err != nil {
			libicalErr = err
			return
		}
		flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libical").Output()
		if err != nil {
			libicalErr = fmt.Errorf("pkg-config libical: %w (is libical-dev installed?)", err)
			return
		}
		sum := sha256.Sum256(append(code, flags...))
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "jevents-icalinterop", hex.EncodeToString(sum[:8]))
		bin := filepath.Join(dir, "libical_check")
		if _, err := os.Stat(bin); err == nil {
			libicalBin = bin
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			libicalErr = err
			return
		}
		tmp := bin + fmt.Sprintf(".%d", os.Getpid())
		args := append([]string{"-O2", "-Wall", "-o", tmp, src}, strings.Fields(string(flags))...)
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			libicalErr = fmt.Errorf("compile %s: %v\n%s", src, err, out)
			return
		}
		libicalErr = os.Rename(tmp, bin)
		libicalBin = bin
	})
	if libicalErr != nil {
		missing(t, "libical checker: "+libicalErr.Error())
	}
	return libicalBin
}

// command returns the command that runs parser on path.
func command(t testing.TB, parser, path string) *exec.Cmd {
	t.Helper()
	switch parser {
	case "ical.js":
		node, err := exec.LookPath("node")
		if err != nil {
			missing(t, "node")
		}
		if _, err := os.Stat(filepath.Join(checkers(), "node_modules", "ical.js", "package.json")); err != nil {
			missing(t, "ical.js in "+filepath.Join(checkers(), "node_modules"))
		}
		cmd := exec.Command(node, filepath.Join(checkers(), "icaljs.mjs"), path)
		// A zone ical.js failed to resolve would turn into local time:
		// UTC makes that show as a wrong instant.
		cmd.Env = append(os.Environ(), "TZ=UTC")
		return cmd
	case "libical":
		cmd := exec.Command(libical(t), path)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		return cmd
	case "python-icalendar":
		py := os.Getenv("JEVENTS_PYTHON")
		if py == "" {
			py = "/usr/bin/python3" // Debian's, which has python3-icalendar
		}
		if err := exec.Command(py, "-c", "import icalendar").Run(); err != nil {
			missing(t, py+" with python3-icalendar")
		}
		return exec.Command(py, filepath.Join(checkers(), "pyicalendar.py"), path)
	}
	t.Fatalf("unknown parser %q", parser)
	return nil
}

// Read runs parser on the file at path and returns what it read; a parser
// that fails or prints no JSON fails the test.
func Read(t testing.TB, parser, path string) Calendar {
	t.Helper()
	cmd := command(t, parser, path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s rejects %s: %v\n%s", parser, path, err, stderr.String())
		}
		t.Fatalf("%s: %v", parser, err)
	}
	var c Calendar
	if err := json.Unmarshal(stdout.Bytes(), &c); err != nil {
		t.Fatalf("%s printed no JSON for %s: %v\n%s\n%s", parser, path, err, stdout.String(), stderr.String())
	}
	return c
}

// Allowed are the only properties a feed's VEVENT may carry; anything else
// (ATTENDEE, ATTACH, ORGANIZER, …) read back by a parser was injected.
var Allowed = []string{"CATEGORIES", "CLASS", "CREATED", "DESCRIPTION", "DTEND", "DTSTAMP", "DTSTART",
	"LAST-MODIFIED", "LOCATION", "SEQUENCE", "STATUS", "SUMMARY", "TRANSP", "UID", "URL"}

// Compare checks that got, read by parser, holds exactly the events of
// want (matched by UID, in any order) with equal text, categories, status
// and times, no property outside Allowed and no nested component.
//
// Where a parser is known to misread a correct file (KnownBugs), a field
// may instead equal exactly that parser's known wrong reading of the
// expected value; the test log says so. Any other difference fails.
func Compare(t testing.TB, parser string, got, want Calendar) {
	t.Helper()
	field := func(uid, name, got, want string) {
		t.Helper()
		if got == want {
			return
		}
		for _, b := range KnownBugs {
			if b.Parser == parser && b.Field == name {
				if wrong := b.Wrong(want); wrong != want && got == wrong {
					t.Logf("%s: %s of %s: known parser bug, accepted: %s", parser, name, uid, b.Why)
					return
				}
			}
		}
		t.Errorf("%s: %s of %s\n got %q\nwant %q", parser, name, uid, got, want)
	}
	field("the calendar", "name", got.Name, want.Name)
	field("the calendar", "x-wr-calname", got.WRName, want.WRName)
	if len(got.Events) != len(want.Events) {
		t.Fatalf("%s: %d VEVENTs, want %d (text injected or dropped an event)", parser, len(got.Events), len(want.Events))
	}
	byUID := map[string]Event{}
	for _, e := range got.Events {
		byUID[e.UID] = e
	}
	for _, w := range want.Events {
		g, ok := byUID[w.UID]
		if !ok {
			t.Errorf("%s: no VEVENT with UID %q", parser, w.UID)
			continue
		}
		field(w.UID, "summary", g.Summary, w.Summary)
		field(w.UID, "description", g.Description, w.Description)
		field(w.UID, "location", g.Location, w.Location)
		field(w.UID, "url", g.URL, w.URL)
		field(w.UID, "status", g.Status, w.Status)
		field(w.UID, "categories", strings.Join(g.Categories, listSep), strings.Join(w.Categories, listSep))
		field(w.UID, "start", g.Start, w.Start)
		if w.End != "" {
			field(w.UID, "end", g.End, w.End)
		}
		for _, p := range g.Props {
			if !slices.Contains(Allowed, p) {
				t.Errorf("%s: VEVENT %s has a %s property: injected", parser, w.UID, p)
			}
		}
		if len(g.Components) > 0 {
			t.Errorf("%s: VEVENT %s has nested %v: injected", parser, w.UID, g.Components)
		}
	}
}
