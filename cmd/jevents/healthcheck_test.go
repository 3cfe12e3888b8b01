package main

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestHealthcheck: `jevents healthcheck` exits 0 for a ready process, and 1
// naming what it waits for when the process is not ready (here: a feed
// server whose NATS cluster cannot be reached) or not there at all;
// --live asks /healthz.
func TestHealthcheck(t *testing.T) {
	p := startProc(t, t.TempDir())
	ops := strings.TrimPrefix(p.ops, "http://")
	for _, args := range [][]string{{"healthcheck", "--metrics-listen", ops}, {"healthcheck", "--live", "--metrics-listen", ops}} {
		if code, out, errs := runCLI(args...); code != exitOK || out == "" {
			t.Errorf("%v on a ready process: exit %d\n%s%s", args, code, out, errs)
		}
	}
	// The variable serve reads is the one healthcheck reads (the image sets
	// it, and its health check passes no argument).
	t.Setenv("JEVENTS_METRICS_LISTEN", ops)
	if code, _, errs := runCLI("healthcheck"); code != exitOK {
		t.Errorf("healthcheck with JEVENTS_METRICS_LISTEN=%s: exit %d: %s", ops, code, errs)
	}

	// A feed server that cannot reach NATS: its operators' listener
	// answers, /readyz says 503 and why.
	notReady := freePort(t)
	cmd := exec.Command(os.Args[0], "serve", "--role", "feeds", "--nats", "nats://"+freePort(t), "--nats-user", "feeds",
		"--http", freePort(t), "--metrics-listen", notReady, "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "JEVENTS_TEST_MAIN=1")
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var code int
	var errs string
	waitFor(t, 30*time.Second, "the operators' listener of a process that cannot reach NATS", func() error {
		code, _, errs = runCLI("healthcheck", "--metrics-listen", notReady)
		if strings.Contains(errs, "connection refused") {
			return errorString(errs)
		}
		return nil
	})
	if code != exitFailure || !strings.Contains(errs, "503") || !strings.Contains(errs, "waiting_for") {
		t.Errorf("healthcheck of a process that is not ready: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI("healthcheck", "--live", "--metrics-listen", notReady); code != exitFailure || !strings.Contains(errs, "nats disconnected") {
		t.Errorf("healthcheck --live of a process without NATS: exit %d, %q", code, errs)
	}
	// Nobody listening.
	if code, _, errs := runCLI("healthcheck", "--metrics-listen", freePort(t), "--timeout", "1s"); code != exitFailure {
		t.Errorf("healthcheck with nothing listening: exit %d, %q", code, errs)
	}
	// An address on every interface is asked on loopback (the image's
	// 0.0.0.0:9180); - has nothing to ask.
	_, port, _ := strings.Cut(ops, ":")
	if code, _, errs := runCLI("healthcheck", "--metrics-listen", "0.0.0.0:"+port); code != exitOK {
		t.Errorf("healthcheck --metrics-listen 0.0.0.0:%s: exit %d, %q", port, code, errs)
	}
	if code, _, errs := runCLI("healthcheck", "--metrics-listen", "-"); code != exitInput {
		t.Errorf("healthcheck --metrics-listen -: exit %d, %q", code, errs)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestVersion: `jevents version` and `jevents --version` name the build and
// the Go version (TestDockerfileBuildsAStaticBinary checks a version given
// at link time).
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errs := runCLI(args...)
		if code != exitOK || !strings.HasPrefix(out, "jevents ") || !strings.Contains(out, runtime.Version()) || !strings.Contains(out, "revision ") {
			t.Errorf("jevents %v: exit %d, %q %q", args, code, out, errs)
		}
	}
	if code, _, _ := runCLI("version", "extra"); code != exitInput {
		t.Errorf("jevents version extra: exit %d, want %d", code, exitInput)
	}
	b := readBuildInfo()
	if b.Version == "" || b.Revision == "" || b.GoVersion != runtime.Version() {
		t.Errorf("build info %+v", b)
	}
}
