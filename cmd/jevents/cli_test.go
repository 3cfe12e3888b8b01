package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The command lines of every command, as they are typed; afterParse stops
// each one right after parsing (no server is needed).
var everyCommand = [][]string{
	{"serve"}, {"submit", "f.json"}, {"approve", "id"}, {"reject", "id"}, {"cancel", "id"},
	{"rebuild"}, {"setup"}, {"seed"},
	{"resource", "add"}, {"resource", "edit", "ovc"}, {"resource", "retire", "ovc"}, {"resource", "restore", "ovc"},
	{"webhooks", "add", "https://partner.example/h"}, {"webhooks", "list"}, {"webhooks", "remove", "x"}, {"webhooks", "resume", "x"},
	{"webhooks", "deliveries", "x"},
}

var errStop = errors.New("stopped after parsing")

// parsed runs a command line up to its parsing and returns its flags.
func parsed(t *testing.T, args ...string) (*cmdFlags, int, string) {
	t.Helper()
	var got *cmdFlags
	afterParse = func(f *cmdFlags) error { got = f; return errStop }
	defer func() { afterParse = nil }()
	code, _, errs := runCLI(args...)
	return got, code, errs
}

// values are sample values of a flag: two it takes (and how its String
// reads them back) and one it must refuse ("" when any text is valid).
type values struct{ good, goodWant, other, otherWant, bad string }

func flagSample(t *testing.T, f *flag.Flag) values {
	t.Helper()
	same := func(good, other, bad string) values { return values{good, good, other, other, bad} }
	switch f.Name {
	case "role":
		return same("intake,feeds", "projector", "bogus")
	case "nats-listen":
		return same("127.0.0.1:0", "-", "bad")
	case "http":
		return same("127.0.0.1:9999", ":8080", "no-port")
	case "metrics-listen":
		return same("127.0.0.1:9998", "-", "no-port")
	case "public-url":
		return same("https://events.example.org", "http://127.0.0.1:9", "ftp://events.example.org")
	case "trusted-proxies":
		return same("10.0.0.0/8,192.0.2.1", "192.0.2.2", "not-an-address")
	case "embed-origins":
		return same("https://partner.example,http://localhost:3000", "https://other.example", "https://partner.example/path")
	case "smtp-url":
		return same("smtp://mail.example.org:587", "smtps://relay.example.org", "ftp://mail.example.org")
	case "editor-emails":
		return same("ada@example.org", "ada@example.org,bo@example.org", "not an address")
	case "log-format":
		return same("json", "text", "xml")
	case "log-level":
		return same("debug", "warn", "loud")
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return same("true", "false", "maybe")
	}
	switch kind, _ := flag.UnquoteUsage(f); kind {
	case "duration":
		return values{"45m", "45m0s", "2h", "2h0m0s", "30d"}
	case "int", "uint":
		return same("3", "1", "three")
	case "string":
		return same("some-value", "another-value", "")
	}
	t.Fatalf("flag --%s: no sample value for its type", f.Name)
	return values{}
}

// TestEnvironmentGoesThroughTheFlags: for every flag of every command that
// has an environment variable, the variable reaches the flag, a flag on
// the command line wins over it, and a value the flag refuses is refused
// from the variable too, with exit status 2 naming the variable.
func TestEnvironmentGoesThroughTheFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, args := range everyCommand {
		f, code, errs := parsed(t, args...)
		if f == nil || code != exitFailure {
			t.Fatalf("%v: not parsed (exit %d): %s", args, code, errs)
		}
		if len(f.envs) == 0 {
			t.Fatalf("%v: no flag with an environment variable", args)
		}
		for _, b := range f.envs {
			fl := f.Lookup(b.flag)
			v := flagSample(t, fl)
			name := strings.Join(args, " ") + " --" + b.flag + " " + b.variable
			seen[b.variable] = true

			t.Setenv(b.variable, v.good)
			if g, code, errs := parsed(t, args...); g == nil || g.Lookup(b.flag).Value.String() != v.goodWant {
				t.Errorf("%s=%s: exit %d: %s", name, v.good, code, errs)
			}
			// The command line wins over the variable.
			if g, code, errs := parsed(t, append(slices.Clone(args), "--"+b.flag+"="+v.other)...); g == nil || g.Lookup(b.flag).Value.String() != v.otherWant {
				t.Errorf("%s=%s with --%s=%s: exit %d: %s", name, v.good, b.flag, v.other, code, errs)
			}
			if v.bad != "" {
				t.Setenv(b.variable, v.bad)
				_, code, errs := parsed(t, args...)
				if code != exitInput || !strings.Contains(errs, b.variable) || !strings.Contains(errs, "--"+b.flag) {
					t.Errorf("%s=%s: exit %d, %q; want 2 naming the variable and the flag", name, v.bad, code, errs)
				}
			}
			// Empty is unset: the default.
			t.Setenv(b.variable, "")
			if g, _, errs := parsed(t, args...); g == nil || g.Lookup(b.flag).Value.String() != fl.DefValue {
				t.Errorf("%s empty: not the default (%s)", name, errs)
			}
			os.Unsetenv(b.variable)
		}
	}
	// The variables the issue found silently ignored are among them.
	for _, v := range []string{"JEVENTS_FEED_WINDOW", "JEVENTS_LOG_MAX_BYTES", "JEVENTS_NO_SEED", "JEVENTS_REPLICAS", "JEVENTS_NATS_LISTEN", "JEVENTS_EDITOR_TOKEN", "JEVENTS_DATA", "JEVENTS_SERVER"} {
		if !seen[v] {
			t.Errorf("%s is no flag's variable", v)
		}
	}
	// Every flag of serve has a variable (README: Configuration).
	f, _, _ := parsed(t, "serve")
	f.VisitAll(func(fl *flag.Flag) {
		if !slices.ContainsFunc(f.envs, func(b envBinding) bool { return b.flag == fl.Name }) {
			t.Errorf("serve --%s has no environment variable", fl.Name)
		}
	})
}

// TestBadEnvironmentStopsServeBeforeTheDataDir: the values the issue saw
// ignored stop `jevents serve` with status 2 naming the variable, and the
// data directory is not created.
func TestBadEnvironmentStopsServeBeforeTheDataDir(t *testing.T) {
	for _, tc := range []struct{ variable, value string }{
		{"JEVENTS_FEED_WINDOW", "30d"},
		{"JEVENTS_LOG_MAX_BYTES", "abc"},
		{"JEVENTS_NO_SEED", "maybe"},
		{"JEVENTS_REPLICAS", "three"},
		{"JEVENTS_NATS_LISTEN", "bad"},
		{"JEVENTS_HTTP", "bad"},
		{"JEVENTS_ROLE", "everything"},
		{"JEVENTS_EDITOR_TOKEN", "too-short"},
		{"JEVENTS_LOG_MAX_BYTES", "1024"}, // parses, and is refused by the configuration's check
	} {
		dir := filepath.Join(t.TempDir(), "data")
		t.Setenv(tc.variable, tc.value)
		began := time.Now()
		// Bounded: a value wrongly taken would start the service.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out, errb bytes.Buffer
		code := run(ctx, []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, &out, &errb)
		cancel()
		errs := errb.String()
		os.Unsetenv(tc.variable)
		if code != exitInput {
			t.Errorf("%s=%s: exit %d (%s), want 2", tc.variable, tc.value, code, errs)
		}
		if name := strings.TrimPrefix(tc.variable, "JEVENTS_"); !strings.Contains(errs, tc.variable) && !strings.Contains(errs, "--"+strings.ReplaceAll(strings.ToLower(name), "_", "-")) {
			t.Errorf("%s=%s: the message names neither the variable nor its flag: %s", tc.variable, tc.value, errs)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s=%s: the data directory was created", tc.variable, tc.value)
		}
		if time.Since(began) > 5*time.Second {
			t.Errorf("%s=%s: took %v", tc.variable, tc.value, time.Since(began))
		}
	}
}

// TestFlagsAfterArguments: flags are read wherever they stand, -- ends
// them, and stray or missing arguments are refused.
func TestFlagsAfterArguments(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		pos    []string
		flags  map[string]string
		status int
	}{
		{[]string{"reject", "abc", "--reason", "not ours", "--server", "http://x"}, []string{"abc"}, map[string]string{"reason": "not ours", "server": "http://x"}, exitFailure},
		{[]string{"reject", "--reason", "not ours", "abc"}, []string{"abc"}, map[string]string{"reason": "not ours"}, exitFailure},
		{[]string{"cancel", "abc", "--reason=venue closed"}, []string{"abc"}, map[string]string{"reason": "venue closed"}, exitFailure},
		{[]string{"resource", "edit", "ovc", "--url", "https://ovc.ojp.gov/"}, []string{"ovc"}, map[string]string{"url": "https://ovc.ojp.gov/"}, exitFailure},
		{[]string{"resource", "edit", "ovc", "--name", "X", "file.json"}, []string{"ovc", "file.json"}, map[string]string{"name": "X"}, exitFailure},
		{[]string{"resource", "retire", "ice", "--reason", "listed under HSI"}, []string{"ice"}, map[string]string{"reason": "listed under HSI"}, exitFailure},
		{[]string{"submit", "x.ics", "--topic", "courts"}, []string{"x.ics"}, nil, exitFailure},
		{[]string{"reject", "--", "--odd-id"}, []string{"--odd-id"}, nil, exitFailure},
		{[]string{"rebuild", "extra"}, nil, nil, exitInput},
		{[]string{"setup", "--nats", "nats://x:4222", "extra"}, nil, nil, exitInput},
		{[]string{"seed", "extra"}, nil, nil, exitInput},
		{[]string{"serve", "extra"}, nil, nil, exitInput},
		{[]string{"approve"}, nil, nil, exitInput},
		{[]string{"approve", "a", "b"}, nil, nil, exitInput},
		{[]string{"resource", "retire", "a", "b"}, nil, nil, exitInput},
		{[]string{"resource", "edit"}, nil, nil, exitInput},
		{[]string{"submit"}, nil, nil, exitInput},
		{[]string{"reject", "abc", "--no-such-flag"}, nil, nil, exitInput},
	} {
		f, code, errs := parsed(t, tc.args...)
		if code != tc.status {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, code, tc.status, errs)
			continue
		}
		if tc.status == exitInput {
			if !strings.Contains(errs, "-h") {
				t.Errorf("%q: the refusal does not point to -h: %s", tc.args, errs)
			}
			continue
		}
		if !slices.Equal(f.args, tc.pos) {
			t.Errorf("%q: arguments %q, want %q", tc.args, f.args, tc.pos)
		}
		for k, v := range tc.flags {
			if got := f.Lookup(k).Value.String(); got != v {
				t.Errorf("%q: --%s is %q, want %q", tc.args, k, got, v)
			}
		}
	}
}

// TestHelp: jevents --help, -h and help list the commands (not serve's
// flags); every command's -h shows its arguments, an example and its
// flags; `help COMMAND` is the command's -h.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}} {
		code, out, _ := runCLI(args...)
		if code != exitOK || !strings.Contains(out, "Commands:") || strings.Contains(out, "-log-max-bytes") {
			t.Errorf("%v: exit %d:\n%s", args, code, out)
		}
		for _, c := range commands {
			if !strings.Contains(out, "\n  "+c.name) {
				t.Errorf("%v does not list %s", args, c.name)
			}
		}
	}
	for _, args := range append(slices.Clone(everyCommand), []string{"help"}) {
		name := args[0]
		if name == "resource" || name == "webhooks" {
			name += " " + args[1]
		}
		cmd := append(strings.Fields(name), "-h")
		code, out, errs := runCLI(cmd...)
		if code != exitOK || !strings.HasPrefix(out, "Usage: jevents "+name) || !strings.Contains(out, "Example:\n  jevents "+name) ||
			!strings.Contains(out, "Flags") || errs != "" {
			t.Errorf("%v: exit %d, stderr %q:\n%s", cmd, code, errs, out)
		}
		if code, again, _ := runCLI(append([]string{"help"}, strings.Fields(name)...)...); code != exitOK || again != out {
			t.Errorf("help %s differs from %s -h", name, name)
		}
	}
	// The log-level commands say truthfully what they dial without --nats.
	for _, cmd := range []string{"rebuild", "seed", "setup", "export"} {
		_, out, _ := runCLI(cmd, "-h")
		if !strings.Contains(out, "nats-context.json") || strings.Contains(out, "empty embeds a server") {
			t.Errorf("%s -h does not say what it connects to without --nats:\n%s", cmd, out)
		}
	}
	if code, out, _ := runCLI("resource", "-h"); code != exitOK || !strings.Contains(out, "retire ID") {
		t.Errorf("resource -h: exit %d:\n%s", code, out)
	}
	if code, _, _ := runCLI("help", "frobnicate"); code != exitInput {
		t.Errorf("help of an unknown command: exit %d", code)
	}
}

// TestLocalCommandsNeedARunningService: without --nats and without a
// service on --data, rebuild says where it looked instead of dialling a
// default address.
func TestLocalCommandsNeedARunningService(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"rebuild", "seed", "setup", "export"} {
		code, _, errs := runCLI(cmd, "--data", dir)
		if code != exitFailure || !strings.Contains(errs, dir) || !strings.Contains(errs, "jevents serve --data") {
			t.Errorf("%s without a service: exit %d: %s", cmd, code, errs)
		}
	}
}
