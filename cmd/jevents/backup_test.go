package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/embednats"
)

// natsCLI runs the NATS CLI (scripts/deps/60-nats-cli.sh) against the
// embedded server of the jevents serve on dataDir, with the URL and nkey
// that server wrote into its nats-context.json, as README shows operators.
func natsCLI(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("nats")
	if err != nil {
		t.Fatal("the NATS CLI is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	b, err := os.ReadFile(filepath.Join(dataDir, embednats.ContextFile))
	if err != nil {
		t.Fatal(err)
	}
	var ctx struct{ URL, NKey string }
	if err := json.Unmarshal(b, &ctx); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--server", ctx.URL, "--nkey", ctx.NKey}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestNATSBackupRestore is the operators' alternative to export/import, as
// docs/backup.md describes it: `nats stream backup` of the event stream
// and of the plans' stream while the service runs, and, on a fresh data
// directory, `nats stream restore` of both in place of the empty ones the
// service made, then `jevents rebuild`: every feed and ETag is the
// source's, and a plan still pending in the source is pending here. Neither
// holds the editor token nor the export signing key (a fresh data
// directory generates its own).
func TestNATSBackupRestore(t *testing.T) {
	const public = "https://events.test"
	srcDir := t.TempDir()
	src := startProc(t, srcDir, "--public-url", public)
	year := time.Now().Year() + 1
	var ids []string
	for i := range 3 {
		var rec struct{ ID string }
		call(t, http.MethodPost, src.base+"/api/v1/conferences", map[string]any{
			"title": fmt.Sprintf("Backup conference %d", i), "start": fmt.Sprintf("%d-05-1%d", year, i), "all_day": true,
			"format": "online", "topics": []string{"courts"}, "sponsors": []string{"Office for Victims of Crime"},
			"contact": map[string]string{"email": "org@example.org"},
		}, &rec)
		ids = append(ids, rec.ID)
	}
	call(t, http.MethodPost, src.base+"/api/v1/conferences/"+ids[0]+"/approve", map[string]string{}, nil)
	call(t, http.MethodPost, src.base+"/api/v1/conferences/"+ids[1]+"/approve", map[string]string{}, nil)
	// A plan for tomorrow: its event is in the log, its message in
	// JEVENTS_SCHEDULES.
	call(t, http.MethodPost, src.base+"/api/v1/conferences/"+ids[1]+"/cancel",
		map[string]string{"reason": "the grant ends", "at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, nil)
	paths := []string{"/calendar.ics", "/calendar/sponsors/ovc.ics", "/api/v1/conferences", "/api/v1/resources", "/"}
	want := map[string][2]string{}
	waitUntil(t, 20*time.Second, "both conferences in the feed", func() bool {
		_, _, b := fetchRaw(t, src.base+"/calendar.ics")
		return strings.Count(string(b), "BEGIN:VEVENT") == 2
	})
	for _, p := range paths {
		st, etag, body := fetchRaw(t, src.base+p)
		if st != http.StatusOK || etag == "" {
			t.Fatalf("source %s: %d %q", p, st, etag)
		}
		want[p] = [2]string{etag, string(body)}
	}

	backup := t.TempDir()
	for _, stream := range []string{"JEVENTS", "JEVENTS_SCHEDULES"} {
		if out, err := natsCLI(t, srcDir, "stream", "backup", stream, filepath.Join(backup, stream), "--no-consumers", "--no-progress"); err != nil {
			t.Fatalf("nats stream backup %s: %v\n%s", stream, err, out)
		}
	}

	dstDir := t.TempDir()
	dst := startProc(t, dstDir, "--public-url", public, "--no-seed")
	for _, stream := range []string{"JEVENTS", "JEVENTS_SCHEDULES"} {
		if out, err := natsCLI(t, dstDir, "stream", "restore", filepath.Join(backup, stream), "--no-progress"); err == nil {
			t.Fatalf("restoring %s over the stream the service made succeeded: %s", stream, out)
		}
		if out, err := natsCLI(t, dstDir, "stream", "rm", stream, "-f"); err != nil {
			t.Fatalf("nats stream rm %s: %v\n%s", stream, err, out)
		}
		if out, err := natsCLI(t, dstDir, "stream", "restore", filepath.Join(backup, stream), "--no-progress"); err != nil {
			t.Fatalf("nats stream restore %s: %v\n%s", stream, err, out)
		}
	}
	// No `jevents rebuild` beside the running all-in-one process: it sees
	// the restored (recreated) stream and rebuilds its read models itself
	// (issue 9); a second rebuild at once would race it for the next
	// generation.
	for _, p := range paths {
		var st int
		var etag string
		var body []byte
		waitUntil(t, 30*time.Second, p+" restored", func() bool {
			st, etag, body = fetchRaw(t, dst.base+p)
			return st == http.StatusOK && etag == want[p][0] && string(body) == want[p][1]
		}, func() string { return fmt.Sprintf("%s: %d %s, want %s\n%s", p, st, etag, want[p][0], body) })
	}
	// The plan is pending in the restored log and its message is there to
	// fire.
	var view struct {
		Scheduled []struct {
			ID string `json:"id"`
		} `json:"scheduled"`
	}
	req, _ := http.NewRequest(http.MethodGet, dst.base+"/api/v1/moderation/conferences/"+ids[1], nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&view)
	resp.Body.Close()
	if len(view.Scheduled) != 1 || view.Scheduled[0].ID == "" {
		t.Fatalf("restored conference's plans: %+v", view)
	}
	out, err := natsCLI(t, dstDir, "stream", "subjects", "JEVENTS_SCHEDULES")
	if err != nil || !strings.Contains(out, "schedules.plan."+ids[1]+"."+view.Scheduled[0].ID) {
		t.Fatalf("the plan's message is not in the restored JEVENTS_SCHEDULES: %v\n%s", err, out)
	}
	// Secrets are not in NATS: the new data directory has its own.
	for _, f := range []string{"nats-user.nk"} {
		a, _ := os.ReadFile(filepath.Join(srcDir, f))
		b, _ := os.ReadFile(filepath.Join(dstDir, f))
		if string(a) == string(b) {
			t.Fatalf("%s is the same in both data directories", f)
		}
	}
}

// testBackupR3 (TestCluster): the operators' backup of the cluster's R3
// event stream, `nats stream backup` as admin, restores onto a single
// server with `nats stream restore --replicas 1` (a backup keeps its
// stream's replica count, which one server cannot hold), and that server's
// feeds, once rebuilt from it, answer the cluster's bytes and ETags.
func testBackupR3(t *testing.T, c *testCluster, r *roles) {
	bin, err := exec.LookPath("nats")
	if err != nil {
		t.Fatal("the NATS CLI is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	auth := []string{"--server", c.urls()}
	if c.secure {
		auth = append(auth, "--nkey", c.seeds["admin"], "--tlsca", c.caFile)
	} else {
		auth = append(auth, "--user", "admin", "--password", c.pass["admin"])
	}
	paths := []string{"/calendar.ics", "/api/v1/conferences", "/api/v1/resources"}
	snapshot := func(base string) map[string]string {
		out := map[string]string{}
		for _, p := range paths {
			st, etag, body := fetchRaw(t, base+p)
			out[p] = fmt.Sprintf("%d %s\n%s", st, etag, body)
		}
		return out
	}
	before := snapshot(r.feeds.base)
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "JEVENTS")
	cmd := exec.Command(bin, append(auth, "stream", "backup", "JEVENTS", dir, "--no-consumers", "--no-progress")...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nats stream backup: %v\n%s", err, out)
	}
	if after := snapshot(r.feeds.base); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("the cluster's feeds changed while the backup ran; the test needs a quiet log")
	}

	dstDir := t.TempDir()
	dst := startProc(t, dstDir, "--public-url", "https://events.test", "--no-seed")
	if out, err := natsCLI(t, dstDir, "stream", "rm", "JEVENTS", "-f"); err != nil {
		t.Fatalf("nats stream rm: %v\n%s", err, out)
	}
	if out, err := natsCLI(t, dstDir, "stream", "restore", dir, "--no-progress"); err == nil {
		t.Fatalf("an R3 backup restored onto one server without --replicas: %s", out)
	}
	if out, err := natsCLI(t, dstDir, "stream", "restore", dir, "--replicas", "1", "--no-progress"); err != nil {
		t.Fatalf("nats stream restore --replicas 1: %v\n%s", err, out)
	}
	// No `jevents rebuild` beside the running all-in-one process: it sees
	// the restored (recreated) stream and rebuilds its read models itself
	// (issue 9); a second rebuild at once would race it for the next
	// generation.
	var got map[string]string
	waitUntil(t, 30*time.Second, "the restored server's feeds", func() bool {
		got = snapshot(dst.base)
		return fmt.Sprint(got) == fmt.Sprint(before)
	}, func() string {
		head := func(s string) string { return s[:min(len(s), 400)] }
		return fmt.Sprintf("restored:\n%s\ncluster:\n%s", head(got["/calendar.ics"]), head(before["/calendar.ics"]))
	})
}
