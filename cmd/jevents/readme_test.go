package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/mailpittest"
)

// TestReadmeTryIt runs the shell commands of README.md's "Try it" section,
// in order, as a newcomer would type them, and checks each one's exit status
// and what it answers. README examples are promises: when a command cannot
// run as written, the README is wrong, not this test.
//
// How the commands are run:
//   - Every ```sh block of the section, split into commands by the shell's
//     rules (quotes and backslash-newlines continue a command; # starts a
//     comment). A comment line "# → …" after a command is the answer the
//     README shows: its "key": "value" pairs are checked against the answer
//     ("…" stands for any value).
//   - `go run ./cmd/jevents` is the jevents binary: this test binary, which
//     runs main() when JEVENTS_TEST_MAIN=1, behind a `jevents` script first
//     on PATH (the same code, without compiling it again).
//   - The working directory is a fresh temporary directory holding a copy of
//     examples/, so ./data is a fresh data directory.
//   - The ports are the test's: the service gets JEVENTS_HTTP and
//     JEVENTS_NATS_LISTEN, the CLI JEVENTS_SERVER, and every
//     "127.0.0.1:8080" written in a command becomes the test's HTTP address.
//   - `<id>` is the first "id" in the previous command's answer.
//   - A command that is a bare jevents (serve, or flags only) starts the service in the
//     background; the test waits for /readyz, and stops it with SIGTERM at
//     the end (a clean stop: status 0, no warning). A later one (the mail
//     flow: "stop the service and start it again with mail") stops the
//     running service the same way first, then starts the new one on the
//     same data directory.
//   - The mail flow's mailpit is the test's (internal/mailpittest): every
//     "127.0.0.1:1025" (its SMTP) and "127.0.0.1:8025" (its web page and
//     API) written in a command becomes its address, as 127.0.0.1:8080
//     becomes the service's. The README tells newcomers to start mailpit
//     in another terminal, which is not a command of a block.
//   - A command that only assigns a shell variable (TOKEN=$(…)) is replayed
//     before each later command of the section.
//   - Every other command must exit 0 and meet the expectation this file
//     holds for it (readmeExpectations): a command without one fails the
//     test, so a new README command gets a check. Reads of the read models
//     (calendar.ics) are retried for a few seconds: they follow the log.
func TestReadmeTryIt(t *testing.T) {
	readme, err := os.ReadFile(repoPath(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section, offset := markdownSection(t, string(readme), "## Try it")
	cmds := shellCommands(t, section, offset)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found in README's Try it section", len(cmds))
	}
	checkExampleDates(t, section)

	work := t.TempDir()
	copyDir(t, repoPath(t, "examples"), filepath.Join(work, "examples"))
	bin := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nJEVENTS_TEST_MAIN=1 exec %q \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(bin, "jevents"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	httpAddr, natsAddr := freePort(t), freePort(t)
	mp := mailpittest.Start(t)
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"JEVENTS_HTTP="+httpAddr, "JEVENTS_NATS_LISTEN="+natsAddr, "JEVENTS_SERVER=http://"+httpAddr)

	var (
		server  *exec.Cmd
		logs    = &lockedWriter{}
		prelude []string // variable assignments, replayed before each command
		lastID  string
	)
	t.Cleanup(func() {
		if server != nil && server.ProcessState == nil {
			_ = syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
			_ = server.Wait()
		}
	})
	for _, c := range cmds {
		text := strings.ReplaceAll(c.text, "go run ./cmd/jevents", "jevents")
		text = strings.ReplaceAll(text, "127.0.0.1:8080", httpAddr)
		text = strings.ReplaceAll(text, "127.0.0.1:1025", mp.SMTPAddr)
		text = strings.ReplaceAll(text, "127.0.0.1:8025", strings.TrimPrefix(mp.HTTPURL, "http://"))
		if strings.Contains(text, "<id>") {
			if lastID == "" {
				t.Fatalf("README line %d uses <id>, but the answer before it has no id", c.line)
			}
			text = strings.ReplaceAll(text, "<id>", lastID)
		}
		switch fields := strings.Fields(text); {
		case len(fields) == 1 && fields[0] == "jevents", len(fields) >= 2 && fields[0] == "jevents" && (fields[1] == "serve" || strings.HasPrefix(fields[1], "-")):
			first := server == nil
			if !first { // "stop the service (Ctrl-C) and start it again"
				stopService(t, server, logs)
			}
			server = exec.Command("bash", "-c", "exec "+text)
			server.Dir, server.Env, server.Stdout, server.Stderr = work, env, logs, logs
			server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := server.Start(); err != nil {
				t.Fatal(err)
			}
			waitReady(t, "http://"+httpAddr, logs)
			if !first {
				continue
			}
			abs, _ := filepath.EvalSymlinks(work)
			for _, want := range []string{"data/editor-token", filepath.Join(abs, "data", "nats-user.nk")} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("README line %d: the start-up log does not say where %s is:\n%s", c.line, want, logs)
				}
			}
			continue
		case assignment.MatchString(text):
			prelude = append(prelude, text)
		}
		exp, ok := expectationFor(c.text)
		if !ok {
			t.Fatalf("README line %d: no expectation in readmeExpectations for %q: add one", c.line, c.text)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, errs, code := runShell(t, work, env, strings.Join(append(append([]string(nil), prelude...), text), "\n"))
			err := exp.check(out)
			if code == 0 && err == nil && c.shown != "" {
				err = matchesShown(out, c.shown)
			}
			if code == 0 && err == nil {
				if id := firstID(out); id != "" {
					lastID = id
				}
				t.Logf("README line %d ok: %s", c.line, firstLine(c.text))
				break
			}
			if !exp.retry || time.Now().After(deadline) {
				t.Fatalf("README line %d: %s\nexit %d, %v\nstdout:\n%s\nstderr:\n%s\nservice log:\n%s", c.line, text, code, err, out, errs, logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if server == nil {
		t.Fatal("the Try it section never starts the service")
	}
	stopService(t, server, logs)
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("warnings or errors in the service's log of the walkthrough:\n%s", logs)
	}
}

// stopService stops a service the README started as Ctrl-C would: it must
// exit cleanly within 30 s.
func stopService(t *testing.T, server *exec.Cmd, logs *lockedWriter) {
	t.Helper()
	if err := syscall.Kill(server.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the service's stop: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not stop within 30s of SIGTERM\n%s", logs)
	}
}

// assignment is a command that only sets a shell variable, its value a word
// or a command substitution: TOKEN=$(cat data/editor-token).
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=(\$\([^()]*\)|[^\s;&|])*$`)

// readmeExpectation is what one README command must answer.
type readmeExpectation struct {
	pattern *regexp.Regexp // matches the command as written in the README
	check   func(out string) error
	retry   bool // a read of the read models, which follow the log
}

var readmeExpectations = []readmeExpectation{
	{regexp.MustCompile(`^curl -s -X POST http://127\.0\.0\.1:8080/api/v1/conferences `), jsonField("status", "pending"), false},
	{regexp.MustCompile(`^TOKEN=\$\(cat data/editor-token\)$`), func(string) error { return nil }, false},
	{regexp.MustCompile(`^curl .*-H "Authorization: Bearer \$TOKEN" .*/api/v1/conferences/<id>/approve$`), jsonField("status", "approved"), false},
	{regexp.MustCompile(`^curl -s http://127\.0\.0\.1:8080/calendar\.ics$`), contains("BEGIN:VCALENDAR", "SUMMARY:National Conference on Human Trafficking"), true},
	{regexp.MustCompile(`^curl -s http://127\.0\.0\.1:8080/calendar/types/training\.ics$`), contains("SUMMARY:National Conference on Human Trafficking", "CATEGORIES:Training,"), true},
	{regexp.MustCompile(`^go run ./cmd/jevents submit examples/conference\.json$`), jsonField("status", "pending"), false},
	{regexp.MustCompile(`^go run ./cmd/jevents approve <id>$`), jsonField("status", "approved"), false},
	{regexp.MustCompile(`^go run ./cmd/jevents cancel <id> --reason "venue closed"$`), jsonField("status", "cancelled"), false},
	{regexp.MustCompile(`^go run ./cmd/jevents submit examples/conference\.ics`), contains(`"uid": "reentry-forum-2030@example.org"`, `"status": "pending"`), false},
	{regexp.MustCompile(`^go run ./cmd/jevents reject <id> --reason `), jsonField("status", "rejected"), false},
	{regexp.MustCompile(`^go run ./cmd/jevents rebuild$`), contains(`"projection": "calendar"`, `"projection": "directory"`), false},
	{regexp.MustCompile(`^go run ./cmd/jevents resource edit ovc --url https://ovc\.ojp\.gov/$`), contains(`"id": "ovc"`, `"url"`), false},
	{regexp.MustCompile(`^go run ./cmd/jevents resource add --name "Polaris Project" `), jsonField("id", "polaris-project"), false},
	{regexp.MustCompile(`^go run ./cmd/jevents resource retire ice --reason `), jsonField("status", "retired"), false},
	{regexp.MustCompile(`^curl -s http://127\.0\.0\.1:8080/api/v1/resources/ovc/history$`), contains(`"resource.added.v1"`, `"https://ovc.ojp.gov/"`), false},
	{regexp.MustCompile(`^go run ./cmd/jevents webhooks add https://partner\.example/hooks/jevents --filter topic=courts`), contains(`"secret": "whsec_`, `"status": "active"`, `"filter": "topic=courts"`), false},
	{regexp.MustCompile(`^go run ./cmd/jevents webhooks list`), contains(`"url": "https://partner.example/hooks/jevents"`, `"status": "active"`), false},
	// The mail flow: the service restarted with mailpit sends what
	// happened above (it kept its place in the log).
	{regexp.MustCompile(`^curl -s http://127\.0\.0\.1:8025/api/v1/messages \| jq `), contains("pat@example.org: We received your conference: National Conference on Human Trafficking",
		"pat@example.org: Published: National Conference on Human Trafficking", "sam@example.org: Marked cancelled: Court Technology",
		"you@example.org: New submission waiting: National Conference on Human Trafficking"), true},
	{regexp.MustCompile(`^MAIL=\$\(curl -s -G http://127\.0\.0\.1:8025/api/v1/search `), func(string) error { return nil }, false},
	{regexp.MustCompile(`^curl -s http://127\.0\.0\.1:8025/api/v1/message/\$MAIL \| jq -r \.Text`), contains("Hello Pat Organiser,", "Tracking id: "), true},
}

func expectationFor(cmd string) (readmeExpectation, bool) {
	for _, e := range readmeExpectations {
		if e.pattern.MatchString(cmd) {
			return e, true
		}
	}
	return readmeExpectation{}, false
}

func jsonField(key, want string) func(string) error {
	return func(out string) error {
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			return fmt.Errorf("not a JSON object: %v", err)
		}
		if got := fmt.Sprint(m[key]); got != want {
			return fmt.Errorf("%s is %q, want %q", key, got, want)
		}
		return nil
	}
}

func contains(wants ...string) func(string) error {
	return func(out string) error {
		for _, w := range wants {
			if !strings.Contains(out, w) {
				return fmt.Errorf("the answer lacks %s", w)
			}
		}
		return nil
	}
}

// matchesShown checks an answer against the README's "# → …" line: every
// "key": value pair it shows is in the answer's top level, with the same
// value unless the README writes "…".
func matchesShown(out, shown string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return fmt.Errorf("the README shows %s, the answer is not a JSON object: %v", shown, err)
	}
	pairs := regexp.MustCompile(`"([A-Za-z_]+)":\s*("[^"]*"|\{…\}|[^,}\s]+)`).FindAllStringSubmatch(shown, -1)
	if len(pairs) == 0 {
		return fmt.Errorf("no key in the README's answer %q", shown)
	}
	for _, p := range pairs {
		got, ok := m[p[1]]
		if !ok {
			return fmt.Errorf("the README shows %q in the answer; it is missing", p[1])
		}
		if v := p[2]; strings.HasPrefix(v, `"`) && v != `"…"` {
			if want := strings.Trim(v, `"`); fmt.Sprint(got) != want {
				return fmt.Errorf("the README shows %s: %s; the answer has %v", p[1], v, got)
			}
		} else if v != "…" && v != "{…}" && !strings.HasPrefix(v, `"`) && fmt.Sprint(got) != v {
			return fmt.Errorf("the README shows %s: %s; the answer has %v", p[1], v, got)
		}
	}
	return nil
}

// firstID is the first "id" in a JSON answer, depth first.
func firstID(out string) string {
	var v any
	if json.Unmarshal([]byte(out), &v) != nil {
		return ""
	}
	var find func(any) string
	find = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["id"].(string); ok && id != "" {
				return id
			}
			for _, k := range []string{"items", "entries"} {
				if id := find(x[k]); id != "" {
					return id
				}
			}
		case []any:
			for _, e := range x {
				if id := find(e); id != "" {
					return id
				}
			}
		}
		return ""
	}
	return find(v)
}

func runShell(t *testing.T, dir string, env []string, script string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("bash: %v", err)
	}
	return out.String(), errb.String(), code
}

func waitReady(t *testing.T, base string, logs *lockedWriter) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service never became ready:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readmeCommand is one command of a shell block.
type readmeCommand struct {
	text  string // comments removed, continuation lines joined
	shown string // the "# → …" line after it, without the arrow
	line  int    // in README.md
}

// markdownSection returns the text from heading to the next heading of the
// same level, and the number of the document's lines before it.
func markdownSection(t *testing.T, doc, heading string) (string, int) {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	rest := doc[i+1+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest, strings.Count(doc[:i+1+len(heading)], "\n")
}

// shellCommands splits the ```sh blocks of a section into commands, by the
// shell's quoting rules.
func shellCommands(t *testing.T, section string, offset int) []readmeCommand {
	t.Helper()
	var cmds []readmeCommand
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatchIndex(section, -1)
	if len(blocks) == 0 {
		t.Fatal("no ```sh block in the section")
	}
	for _, b := range blocks {
		body := section[b[2]:b[3]]
		line := offset + strings.Count(section[:b[2]], "\n") + 1
		var (
			cur            strings.Builder
			start          = line
			single, double bool
			inComment      bool
			comment        strings.Builder
			prevSpace      = true
		)
		flush := func() {
			text := strings.TrimSpace(cur.String())
			c := strings.TrimSpace(comment.String())
			switch {
			case text != "":
				cmds = append(cmds, readmeCommand{text: text, line: start})
			case strings.HasPrefix(c, "→") && len(cmds) > 0:
				cmds[len(cmds)-1].shown = strings.TrimSpace(strings.TrimPrefix(c, "→"))
			}
			cur.Reset()
			comment.Reset()
			inComment, prevSpace = false, true
		}
		rs := []rune(body)
		for i := 0; i < len(rs); i++ {
			r := rs[i]
			switch {
			case inComment:
				if r == '\n' {
					flush()
					line++
					start = line
				} else {
					comment.WriteRune(r)
				}
				continue
			case r == '\\' && !single && i+1 < len(rs) && rs[i+1] == '\n':
				i++ // a continuation line
				line++
				cur.WriteRune(' ')
				continue
			case r == '\'' && !double:
				single = !single
			case r == '"' && !single:
				double = !double
			case r == '#' && !single && !double && prevSpace:
				inComment = true
				continue
			case r == '\n' && !single && !double:
				flush()
				line++
				start = line
				continue
			case r == '\n':
				line++
			}
			cur.WriteRune(r)
			prevSpace = r == ' ' || r == '\t' || r == '\n'
		}
		if single || double {
			t.Fatalf("README line %d: an unterminated quote in a shell block", start)
		}
		flush()
	}
	return cmds
}

// checkExampleDates fails when the dates the README and the example files
// submit have passed: the walkthrough would then show nothing in the feeds,
// and the README would need new dates, not this test.
func checkExampleDates(t *testing.T, section string) {
	t.Helper()
	text := section
	for _, f := range []string{"examples/conference.json", "examples/conference.ics"} {
		b, err := os.ReadFile(repoPath(t, f))
		if err != nil {
			t.Fatal(err)
		}
		text += string(b)
	}
	today := time.Now().Format("20060102")
	dates := regexp.MustCompile(`"(?:start|end)":\s*"(\d{4})-(\d\d)-(\d\d)|(?m)^DT(?:START|END)[^:\r\n]*:(\d{4})(\d\d)(\d\d)`)
	found := 0
	for _, m := range dates.FindAllStringSubmatch(text, -1) {
		found++
		if d := m[1] + m[2] + m[3] + m[4] + m[5] + m[6]; d < today {
			t.Errorf("README or examples/ submit a conference date that has passed (%s): move the examples' dates forward", m[0])
		}
	}
	if found < 4 {
		t.Errorf("found only %d conference dates to check in README and examples/", found)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
