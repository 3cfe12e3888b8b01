package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	code := m.Run()
	removeBuilt() // crash_harness_test.go
	os.Exit(code)
}

const token = "cli-test-editor-token-0123456789"

// proc is a jevents process started by a test.
type proc struct {
	cmd  *exec.Cmd
	base string
	logs *lockedWriter
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProc runs `jevents serve` on dir as a child process.
func startProc(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--data", dir, "--http", addr, "--nats-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "JEVENTS_TEST_MAIN=1", "JEVENTS_EDITOR_TOKEN="+token)
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, logs: logs}
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
