package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the jevents binary: with JEVENTS_TEST_MAIN set
// it runs the command line instead of the tests, so the tests can start,
// kill and restart real processes without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("JEVENTS_TEST_MAIN") == "1" {
		main()
		return
	}
	// The cluster tests' nats-server processes (cluster_test.go).
	if os.Getenv("JEVENTS_TEST_NATS_SERVER") == "1" {
		natsServerMain(os.Args[1:])
		return
	}
	// The command line reads JEVENTS_* from the environment; the tests say
	// what they mean with flags, whatever the machine running them exports.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "JEVENTS_") && k != "JEVENTS_TEST_ARTIFACTS" {
			os.Unsetenv(k)
		}
	}
	// Every serve a test starts takes a free port for its operators'
	// listener unless the test names one: the default, 127.0.0.1:9180, may
	// be another service's on the machine running the tests.
	os.Setenv("JEVENTS_METRICS_LISTEN", "127.0.0.1:0")
	code := m.Run()
	removeBuilt() // crash_harness_test.go
	os.Exit(code)
}

const token = "cli-test-Kt3Wq8Zm2Xr7Vp9Lb4Nc6Hj"

// proc is a jevents process started by a test.
type proc struct {
	cmd  *exec.Cmd
	base string
	ops  string // the operators' listener: /metrics
	logs *lockedWriter
}

// testServeArgs are what every test's `jevents serve` gets unless it says
// otherwise (later flags win): an operators' listener on a free port, and
// no intake limits, since tests submit far more from one address than a
// person would (the flood test, flood_test.go, runs with limits).
func testServeArgs(ops string) []string {
	return []string{"--metrics-listen", ops, "--intake-per-address", "-1", "--intake-per-contact", "-1",
		"--intake-quota", "-1", "--intake-quota-bytes", "-1"}
}

// freePort is host:port of a free port for a child process (freePortNum).
func freePort(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", stablePort(t))
}

// startProc runs `jevents serve` on dir as a child process.
func startProc(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	addr, ops := freePort(t), freePort(t)
	args = append(testServeArgs(ops), args...)
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--data", dir, "--http", addr, "--nats-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "JEVENTS_TEST_MAIN=1", "JEVENTS_EDITOR_TOKEN="+token)
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, ops: "http://" + ops, logs: logs}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jevents never became ready:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedWriter collects a child's output safely.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func submission(title string) []byte {
	b, _ := json.Marshal(map[string]any{
		"title": title, "start": fmt.Sprintf("%d-05-04", time.Now().Year()+1), "all_day": true,
		"format": "online", "topics": []string{"courts"}, "contact": map[string]string{"email": "org@example.org"},
	})
	return b
}

// TestKill9DuringBurstLosesNothing: every submission that got a 202 before
// a SIGKILL is there after a restart on the same data directory.
func TestKill9DuringBurstLosesNothing(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	var (
		mu       sync.Mutex
		accepted []string
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				req, _ := http.NewRequest("POST", p.base+"/api/v1/conferences", bytes.NewReader(submission(fmt.Sprintf("Burst %d-%d", w, i))))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // the process is gone: not acknowledged
				}
				var rec struct {
					ID string `json:"id"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, rec.ID)
					mu.Unlock()
				}
			}
		})
	}
	// Kill once the burst is well under way.
	for deadline := time.Now().Add(30 * time.Second); ; {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if n >= 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	stop.Store(true)
	wg.Wait()
	if len(accepted) < 50 {
		t.Fatalf("only %d submissions accepted before the kill", len(accepted))
	}

	q := startProc(t, dir)
	for _, id := range accepted {
		req, _ := http.NewRequest("GET", q.base+"/api/v1/moderation/conferences/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("accepted submission %s lost after kill -9: %d", id, resp.StatusCode)
		}
	}
	t.Logf("%d acknowledged submissions all present after kill -9 and restart", len(accepted))
}

// TestSignalShutsDownCleanly: SIGTERM stops the service with status 0.
func TestSignalShutsDownCleanly(t *testing.T) {
	p := startProc(t, t.TempDir())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30s after SIGTERM")
	}
	// A clean stop is no news: no warning (such as "nats disconnected
	// err=<nil>") and no error.
	if logs := p.logs.String(); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "msg=stopped") {
		t.Errorf("the log of a clean stop:\n%s", logs)
	}
}

// runCLI runs the command line in-process.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLISubmitAndModerate(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	file := filepath.Join(t.TempDir(), "conference.json")
	if err := os.WriteFile(file, submission("Submitted from the command line"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("submit", "--server", p.base, file)
	if code != 0 {
		t.Fatalf("submit: exit %d: %s", code, errs)
	}
	var rec struct{ ID, Status string }
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Status != "pending" {
		t.Fatalf("submit printed %q (%v)", out, err)
	}
	// The same file again is the same conference.
	if _, out2, _ := runCLI("submit", "--server", p.base, file); !strings.Contains(out2, rec.ID) {
		t.Fatalf("resubmitting the file gave %s", out2)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"title": "", "start": "soon"}`), 0o600)
	code, _, errs = runCLI("submit", "--server", p.base, bad)
	if code != 2 || !strings.Contains(errs, "title") || !strings.Contains(errs, "start") {
		t.Fatalf("invalid file: exit %d, %q", code, errs)
	}
	if code, _, _ := runCLI("submit", "--server", p.base, filepath.Join(dir, "missing.json")); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
	if code, _, _ := runCLI("frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}

	// Without a token the editor commands are refused; with it they work.
	if code, _, errs := runCLI("approve", "--server", p.base, "--data", t.TempDir(), rec.ID); code == 0 {
		t.Fatalf("approve without a token succeeded: %s", errs)
	}
	code, out, errs = runCLI("approve", "--server", p.base, "--token", token, rec.ID)
	if code != 0 || !strings.Contains(out, `"approved"`) {
		t.Fatalf("approve: exit %d: %s %s", code, out, errs)
	}
	code, _, errs = runCLI("reject", "--server", p.base, "--token", token, rec.ID)
	if code != 1 || !strings.Contains(errs, "409") {
		t.Fatalf("rejecting an approved conference: exit %d: %s", code, errs)
	}
	code, out, errs = runCLI("cancel", "--server", p.base, "--token", token, "--reason", "venue closed", rec.ID)
	if code != 0 || !strings.Contains(out, `"cancelled"`) {
		t.Fatalf("cancel: exit %d: %s %s", code, out, errs)
	}
}

// TestSecondServeOnOneDataDirStopsAtOnce: a second `jevents serve` on a
// data directory in use exits at once with status 1, naming the first
// one's PID and the directory, and touches nothing; after the first stops,
// a restart serves every submission the first acknowledged.
func TestSecondServeOnOneDataDirStopsAtOnce(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	var accepted []string
	for i := range 20 {
		req, _ := http.NewRequest("POST", p.base+"/api/v1/conferences", bytes.NewReader(submission(fmt.Sprintf("Owner %d", i))))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&rec)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("submit: %d", resp.StatusCode)
		}
		accepted = append(accepted, rec.ID)
	}

	second := exec.Command(os.Args[0], "serve", "--data", dir, "--http", freePort(t), "--nats-listen", freePort(t))
	second.Env = append(os.Environ(), "JEVENTS_TEST_MAIN=1", "JEVENTS_EDITOR_TOKEN="+token)
	var out lockedWriter
	second.Stdout, second.Stderr = &out, &out
	began := time.Now()
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("second serve: %v, want exit status 1\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		_ = second.Process.Kill()
		t.Fatalf("the second serve on %s is still running after 10s:\n%s", dir, out.String())
	}
	t.Logf("refused after %v: %s", time.Since(began).Round(time.Millisecond), strings.TrimSpace(out.String()))
	if msg := out.String(); !strings.Contains(msg, "PID "+strconv.Itoa(p.cmd.Process.Pid)) || !strings.Contains(msg, dir) {
		t.Errorf("the refusal does not name the holder's PID %d and %s:\n%s", p.cmd.Process.Pid, dir, msg)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("first serve: %v\n%s", err, p.logs)
	}
	q := startProc(t, dir)
	for _, id := range accepted {
		req, _ := http.NewRequest("GET", q.base+"/api/v1/moderation/conferences/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("acknowledged submission %s missing after the restart: %d", id, resp.StatusCode)
		}
	}
}

// TestSignalDuringStartUp: SIGTERM at any moment of the start-up stops the
// process within seconds with status 0, and the data directory is free for
// the next start.
func TestSignalDuringStartUp(t *testing.T) {
	dir := t.TempDir()
	for _, after := range []time.Duration{0, 10 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--http", freePort(t), "--nats-listen", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "JEVENTS_TEST_MAIN=1", "JEVENTS_EDITOR_TOKEN="+token)
		var out lockedWriter
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		sent := time.Now()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// 0: the signal came after the handler was installed; a signal
			// before that (the first milliseconds of the process) is the
			// default action, termination.
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM) {
				t.Errorf("SIGTERM %v after the start: %v\n%s", after, err, out.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("SIGTERM %v after the start: still running after 10s\n%s", after, out.String())
		}
		if took := time.Since(sent); took > 5*time.Second {
			t.Errorf("SIGTERM %v after the start: stopped after %v", after, took)
		}
	}
	// Free, and whole.
	p := startProc(t, dir)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("a start after the interrupted ones: %v\n%s", err, p.logs)
	}
}

// TestEditorCommandsRefusedWithoutIdentity: every editors' command is
// refused without a token (exit 2, saying how to give one, before any
// request) and with a token the server's gate does not accept (exit 2,
// the server's 401 and its title), and changes nothing.
func TestEditorCommandsRefusedWithoutIdentity(t *testing.T) {
	p := startProc(t, t.TempDir())
	t.Setenv("JEVENTS_EDITOR_TOKEN", "") // an empty variable counts as unset
	empty := t.TempDir()                 // a data directory without an editor-token file
	commands := [][]string{
		{"approve", "some-id"}, {"reject", "some-id", "--reason", "spam"}, {"cancel", "some-id"},
		{"resource", "add", "--name", "Polaris Project", "--kind", "organization", "--topic", "trafficking-in-persons"},
		{"resource", "edit", "ovc", "--url", "https://ovc.ojp.gov/", "--if-match", "1"},
		{"resource", "retire", "ice", "--reason", "listed under HSI"}, {"resource", "restore", "ice"},
	}
	nameOf := func(c []string) string {
		if c[0] == "resource" {
			return c[0] + " " + c[1]
		}
		return c[0]
	}
	covered := map[string]bool{} // every editors' command of everyCommand
	for _, c := range everyCommand {
		if c[0] == "approve" || c[0] == "reject" || c[0] == "cancel" || c[0] == "resource" {
			covered[nameOf(c)] = false
		}
	}
	for _, c := range commands {
		name := nameOf(c)
		if _, ok := covered[name]; !ok {
			t.Fatalf("%s is not an editors' command of everyCommand", name)
		}
		covered[name] = true
		args := append(slices.Clone(c), "--server", p.base, "--data", empty)
		code, out, errs := runCLI(args...)
		if code != 2 || out != "" || !strings.Contains(errs, "no editor token") || !strings.Contains(errs, "JEVENTS_EDITOR_TOKEN") {
			t.Errorf("%s without a token: exit %d, %q %q", name, code, out, errs)
		}
		code, out, errs = runCLI(append(args, "--token", "not-an-editor-Zx8Qm4Kr7Vt2Lp9Wc5Nb3Hd")...)
		if code != 2 || out != "" || !strings.Contains(errs, "401 Editor token not accepted") {
			t.Errorf("%s with a wrong token: exit %d, %q %q", name, code, out, errs)
		}
	}
	for name, ok := range covered {
		if !ok {
			t.Errorf("editors' command %q is not checked here", name)
		}
	}
	// Nothing changed: ice is still listed, and nothing was added.
	resp, err := http.Get(p.base + "/api/v1/resources/ice")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"status":"active"`)) {
		t.Fatalf("ice after refused commands: %d %s", resp.StatusCode, b)
	}
}
