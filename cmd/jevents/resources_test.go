package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitResources polls the directory API until it lists n resources.
func waitResources(t *testing.T, base string, query string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/resources" + query)
		if err == nil {
			var l struct {
				Total int `json:"total"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&l)
			resp.Body.Close()
			if l.Total == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the directory never listed %d resources%s", n, query)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCLIDirectory: `jevents serve` seeds the directory on its first start;
// `jevents seed` against it adds nothing; `jevents resource` adds, edits,
// retires and restores, with exit status 2 for refused input.
func TestCLIDirectory(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	waitResources(t, p.base, "", 14)

	// Without --nats, seed works on the embedded server of --data, with
	// the credentials it generated there.
	code, out, errs := runCLI("seed", "--data", dir)
	var res struct{ Added, Existing []string }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Added) != 0 || len(res.Existing) != 14 {
		t.Fatalf("seed on a seeded log: exit %d: %s %s", code, out, errs)
	}
	if code, out, _ := runCLI("seed", "--dry-run"); code != 0 || !strings.Contains(out, `"id": "orr"`) || !strings.Contains(out, "1-866-401-5510") {
		t.Fatalf("seed --dry-run: exit %d: %s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "page.txt")
	_ = os.WriteFile(bad, []byte("Astrology - Related Resources\n\nX Office\nDoes.\n"), 0o600)
	if code, _, errs := runCLI("seed", "--file", bad, "--data", dir); code != 2 || !strings.Contains(errs, "line 1") {
		t.Fatalf("seed of a bad page: exit %d: %s", code, errs)
	}

	server := []string{"--server", p.base, "--token", token}
	code, out, errs = runCLI(append(append([]string{"resource", "add"}, server...),
		"--name", "National Center for Missing & Exploited Children", "--short-name", "NCMEC", "--kind", "organization",
		"--topic", "victims-of-crime,trafficking-in-persons", "--phone", "1-800-843-5678=CyberTipline")...)
	if code != 0 || !strings.Contains(out, `"id": "ncmec"`) {
		t.Fatalf("resource add: exit %d: %s %s", code, out, errs)
	}
	code, _, errs = runCLI(append(append([]string{"resource", "add"}, server...), "--name", "X", "--kind", "club", "--topic", "courts")...)
	if code != 2 || !strings.Contains(errs, "kind") {
		t.Fatalf("invalid resource: exit %d: %s", code, errs)
	}
	file := filepath.Join(t.TempDir(), "resource.json")
	_ = os.WriteFile(file, []byte(`{"name":"Polaris Project","kind":"organization","topics":["trafficking-in-persons"],"url":"https://polarisproject.org/"}`), 0o600)
	if code, out, errs := runCLI(append(append([]string{"resource", "add"}, server...), file)...); code != 0 || !strings.Contains(out, `"id": "polaris-project"`) {
		t.Fatalf("resource add FILE: exit %d: %s %s", code, out, errs)
	}
	waitResources(t, p.base, "", 16)

	code, out, errs = runCLI(append(append([]string{"resource", "edit"}, server...), "--url", "https://www.missingkids.org/", "ncmec")...)
	if code != 0 || !strings.Contains(out, `"url"`) {
		t.Fatalf("resource edit: exit %d: %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(append(append([]string{"resource", "edit"}, server...), "--if-match", "1", "--name", "Stale", "ncmec")...); code != 1 || !strings.Contains(errs, "409") {
		t.Fatalf("stale edit: exit %d: %s", code, errs)
	}
	if code, _, _ := runCLI(append(append([]string{"resource", "edit"}, server...), "ncmec")...); code != 2 {
		t.Fatalf("edit without fields: exit %d", code)
	}
	code, out, errs = runCLI(append(append([]string{"resource", "retire"}, server...), "--reason", "test", "ncmec")...)
	if code != 0 || !strings.Contains(out, `"retired"`) {
		t.Fatalf("resource retire: exit %d: %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(append(append([]string{"resource", "retire"}, server...), "ncmec")...); code != 1 || !strings.Contains(errs, "409") {
		t.Fatalf("second retire: exit %d: %s", code, errs)
	}
	code, out, errs = runCLI(append(append([]string{"resource", "restore"}, server...), "ncmec")...)
	if code != 0 || !strings.Contains(out, `"active"`) {
		t.Fatalf("resource restore: exit %d: %s %s", code, out, errs)
	}

	for _, args := range [][]string{
		{"resource"},
		{"resource", "frobnicate"},
		{"resource", "retire", "--server", p.base, "--data", t.TempDir(), "ncmec"}, // no token anywhere
		{"resource", "add", "--server", p.base, "--token", token, "--name", "X", file},
	} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
