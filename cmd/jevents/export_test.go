package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/eventlog/export"
)

// call sends a request to a test's service as an editor and decodes the
// answer's JSON into out (when given).
func call(t *testing.T, method, u string, body any, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, b)
		}
	}
}

// fetchRaw answers a GET without compression: status, ETag, body.
func fetchRaw(t *testing.T, u string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), b
}

// TestExportVerifyImportRestoresEveryFeed: a service with a history
// (submissions, approvals, an edit, a cancellation, a sponsor's rename) is
// exported with `jevents export`, verified by `jevents verify` and by the
// Node script, and imported with `jevents import` into a service started
// on a fresh data directory; every feed, read API and page of the restored
// service then answers the source's bytes and ETag, as of now and as of
// instants in the past. An import into a stream in use is refused.
func TestExportVerifyImportRestoresEveryFeed(t *testing.T) {
	const public = "https://events.test"
	srcDir := t.TempDir()
	src := startProc(t, srcDir, "--public-url", public)

	year := time.Now().Year() + 1
	var ids []string
	for i, topic := range []string{"courts", "trafficking-in-persons", "reentry", "courts"} {
		body := map[string]any{
			"title": fmt.Sprintf("Export conference %d", i), "start": fmt.Sprintf("%d-0%d-1%d", year, i+3, i), "all_day": true,
			"format": "in_person", "location": map[string]string{"city": "Baltimore", "region": "MD"},
			"topics": []string{topic}, "sponsors": []string{"Office for Victims of Crime"},
			"contact": map[string]string{"email": "org@example.org"},
		}
		var rec struct{ ID string }
		req, _ := http.NewRequest(http.MethodPost, src.base+"/api/v1/conferences", bytes.NewReader(must(json.Marshal(body))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("export-%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&rec)
		resp.Body.Close()
		ids = append(ids, rec.ID)
	}
	for _, id := range ids[:3] {
		call(t, http.MethodPost, src.base+"/api/v1/conferences/"+id+"/approve", map[string]string{}, nil)
	}
	past := time.Now()
	time.Sleep(5 * time.Millisecond)
	var c struct{ Version uint64 }
	call(t, http.MethodGet, src.base+"/api/v1/moderation/conferences/"+ids[0], nil, &c)
	req, _ := http.NewRequest(http.MethodPatch, src.base+"/api/v1/conferences/"+ids[0], strings.NewReader(`{"title":"Export conference 0, renamed"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", fmt.Sprintf(`"%d"`, c.Version))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("edit: %v %v", err, resp)
	}
	call(t, http.MethodPost, src.base+"/api/v1/conferences/"+ids[1]+"/cancel", map[string]string{"reason": "venue closed"}, nil)
	var ovc struct{ Version uint64 }
	call(t, http.MethodGet, src.base+"/api/v1/resources/ovc", nil, &ovc)
	req, _ = http.NewRequest(http.MethodPatch, src.base+"/api/v1/resources/ovc", strings.NewReader(`{"name":"Office for Victims of Crime (renamed)"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", fmt.Sprintf(`"%d"`, ovc.Version))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("rename: %v %v", err, resp)
	}

	paths := []string{"/calendar.ics", "/calendar/topics/courts.ics", "/calendar/regions/MD.ics", "/calendar/sponsors/ovc.ics",
		"/calendar.ics?q=renamed", "/conferences/" + ids[0] + ".ics", "/conferences/" + ids[1] + ".ics",
		"/api/v1/conferences", "/api/v1/conferences/" + ids[2], "/api/v1/feeds", "/api/v1/resources", "/api/v1/resources/ovc",
		"/api/v1/resources/ovc/history", "/api/v1/conferences/" + ids[0] + "/history", "/", "/conferences/" + ids[2], "/resources",
		"/calendar.ics?as_of=" + url.QueryEscape(past.UTC().Format(time.RFC3339Nano)),
		"/api/v1/conferences?as_of=" + url.QueryEscape(past.UTC().Format(time.RFC3339Nano))}
	// Wait for the source's read models to hold the rename (the last
	// change), then note every answer.
	waitUntil(t, 20*time.Second, "every change in the calendar", func() bool {
		_, _, b := fetchRaw(t, src.base+"/calendar.ics")
		return bytes.Count(b, []byte("BEGIN:VEVENT")) == 3 && bytes.Contains(b, []byte("(renamed)")) &&
			bytes.Contains(b, []byte("renamed\r\n")) && bytes.Contains(b, []byte("STATUS:CANCELLED"))
	})
	want := map[string][3]string{}
	for _, p := range paths {
		var st int
		var etag string
		var body []byte
		waitUntil(t, 20*time.Second, "the source's "+p, func() bool {
			st, etag, body = fetchRaw(t, src.base+p)
			return st == http.StatusOK && (etag != "" || strings.Contains(p, "history"))
		}, func() string { return fmt.Sprintf("%d ETag %q: %s", st, etag, body) })
		want[p] = [3]string{fmt.Sprint(st), etag, string(body)}
	}

	// Export to a file, signed with a key generated into the data directory.
	file := filepath.Join(t.TempDir(), "backup.jsonl")
	code, out, errs := runCLI("export", "--data", srcDir, file)
	if code != 0 {
		t.Fatalf("export: exit %d: %s %s", code, out, errs)
	}
	pub := filepath.Join(srcDir, export.KeyFile+".pub")
	if !strings.Contains(errs, "generated the signing key") || !strings.Contains(out, `"records"`) {
		t.Fatalf("export said %s / %s", out, errs)
	}
	if code, _, errs := runCLI("export", "--data", srcDir, "--to", "yesterday"); code != 2 || !strings.Contains(errs, "--to") {
		t.Fatalf("export --to yesterday: exit %d %s", code, errs)
	}
	code, out, errs = runCLI("verify", file, "--key", pub)
	if code != 0 || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("verify: exit %d: %s %s", code, out, errs)
	}
	if b, err := exec.Command("node", filepath.Join("..", "..", "docs", "verify-export.mjs"), file, pub).CombinedOutput(); err != nil ||
		!bytes.HasPrefix(b, []byte("ok: ")) {
		t.Fatalf("node verifier: %v %s", err, b)
	}
	// A flipped byte: both name the record, status 1.
	b, _ := os.ReadFile(file)
	lines := bytes.Split(b, []byte("\n"))
	lines[3] = bytes.Replace(lines[3], []byte(`"subject":"events.`), []byte(`"subject":"eventS.`), 1)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	_ = os.WriteFile(bad, bytes.Join(lines, []byte("\n")), 0o600)
	if code, _, errs := runCLI("verify", bad, "--key", pub); code != 1 || !strings.Contains(errs, "record 3:") {
		t.Fatalf("verify of a changed file: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI("verify", file); code != 2 || !strings.Contains(errs, "--key") {
		t.Fatalf("verify without a key: exit %d: %s", code, errs)
	}

	// Restore on a fresh data directory, started without its seed.
	dstDir := t.TempDir()
	dst := startProc(t, dstDir, "--public-url", public, "--no-seed")
	if code, _, errs := runCLI("import", bad, "--data", dstDir, "--key", pub); code != 2 || !strings.Contains(errs, "record 3") {
		t.Fatalf("import of a changed file: exit %d: %s", code, errs)
	}
	code, out, errs = runCLI("import", file, "--data", dstDir, "--key", pub)
	if code != 0 {
		t.Fatalf("import: exit %d: %s %s", code, out, errs)
	}
	if code, _, errs := runCLI("import", file, "--data", dstDir, "--key", pub); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("a second import: exit %d: %s", code, errs)
	}
	for _, p := range paths {
		var st int
		var etag string
		var body []byte
		waitUntil(t, 20*time.Second, p+" restored", func() bool {
			st, etag, body = fetchRaw(t, dst.base+p)
			return fmt.Sprint(st) == want[p][0] && etag == want[p][1] && string(body) == want[p][2]
		}, func() string {
			return fmt.Sprintf("%s: %d ETag %s, the source's %s %s\n%s\n--- the source's:\n%s", p, st, etag, want[p][0], want[p][1], body, want[p][2])
		})
	}
	// The restored read models are what the projections make of the
	// restored log: a dry-run rebuild finds nothing to change, and says
	// how far it got.
	code, out, errs = runCLI("rebuild", "--dry-run", "--data", dstDir, "--public-url", public)
	var rep struct {
		Models []struct {
			Projection                             string
			AddedCount, RemovedCount, ChangedCount int `json:"-"`
			Records                                int
		}
		Feeds struct {
			Compared int
			Changed  []any
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Models) != len(service.ReadModels()) || rep.Feeds.Compared < 10 || len(rep.Feeds.Changed) != 0 ||
		!strings.Contains(errs, "0 added, 0 removed, 0 changed") || !strings.Contains(errs, "nothing was switched") ||
		!strings.Contains(errs, "jevents rebuild: calendar:") {
		t.Fatalf("rebuild --dry-run: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestImportRearmsPlans: an export holds the log, not the plans' stream
// whose messages fire editors' plans. `jevents import` makes the pending
// ones again: a cancellation planned before the export whose instant
// passed before the import fires at once on the restored service, one
// still ahead fires at its instant, and one called off before the export
// never fires.
func TestImportRearmsPlans(t *testing.T) {
	const public = "https://events.test"
	srcDir := t.TempDir()
	src := startProc(t, srcDir, "--public-url", public, "--no-seed")
	year := time.Now().Year() + 1
	var ids []string
	for i := range 3 {
		var rec struct{ ID string }
		call(t, http.MethodPost, src.base+"/api/v1/conferences", map[string]any{
			"title": fmt.Sprintf("Planned conference %d", i), "start": fmt.Sprintf("%d-05-1%d", year, i), "all_day": true,
			"format": "online", "topics": []string{"courts"}, "contact": map[string]string{"email": "org@example.org"},
		}, &rec)
		call(t, http.MethodPost, src.base+"/api/v1/conferences/"+rec.ID+"/approve", map[string]string{}, nil)
		ids = append(ids, rec.ID)
	}
	plan := func(id string, at time.Time) string {
		var res struct{ Scheduled struct{ ID string } }
		call(t, http.MethodPost, src.base+"/api/v1/conferences/"+id+"/cancel",
			map[string]string{"reason": "planned", "at": at.UTC().Format(time.RFC3339)}, &res)
		if res.Scheduled.ID == "" {
			t.Fatalf("no plan for %s", id)
		}
		return res.Scheduled.ID
	}
	passed := time.Now().Add(4 * time.Second)
	plan(ids[0], passed)                             // its instant passes while the log is away
	ahead := plan(ids[1], time.Now().Add(time.Hour)) // still ahead after the import
	calledOff := plan(ids[2], passed)
	call(t, http.MethodDelete, src.base+"/api/v1/conferences/"+ids[2]+"/schedules/"+calledOff, nil, nil)

	file := filepath.Join(t.TempDir(), "backup.jsonl")
	if code, out, errs := runCLI("export", "--data", srcDir, file); code != 0 {
		t.Fatalf("export: exit %d: %s %s", code, out, errs)
	}
	// The source stops before its plan fires: the export says pending.
	_ = src.cmd.Process.Kill()
	_ = src.cmd.Wait()
	if time.Now().After(passed) {
		t.Fatal("the source lived past its plan's instant; the export may not hold it pending")
	}
	time.Sleep(time.Until(passed.Add(2 * time.Second)))

	dstDir := t.TempDir()
	dst := startProc(t, dstDir, "--public-url", public, "--no-seed")
	code, out, errs := runCLI("import", file, "--data", dstDir)
	var sum struct{ Plans int }
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum.Plans != 2 {
		t.Fatalf("import: exit %d, want 2 plans made again: %s %s", code, out, errs)
	}
	status := func(id string) string {
		var c struct{ Status string }
		call(t, http.MethodGet, dst.base+"/api/v1/moderation/conferences/"+id, nil, &c)
		return c.Status
	}
	waitUntil(t, 30*time.Second, "the plan whose instant passed fires on the restored service", func() bool {
		return status(ids[0]) == "cancelled"
	})
	var b struct {
		Status    string
		Scheduled []struct{ ID string }
	}
	call(t, http.MethodGet, dst.base+"/api/v1/moderation/conferences/"+ids[1], nil, &b)
	if b.Status != "approved" || len(b.Scheduled) != 1 || b.Scheduled[0].ID != ahead {
		t.Fatalf("the plan an hour ahead: %+v", b)
	}
	if st := status(ids[2]); st != "approved" {
		t.Fatalf("a plan called off before the export fired: %s", st)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// waitUntil polls ok until it holds or d passes; explain, when given,
// says what was seen last.
func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			msg := ""
			for _, e := range explain {
				msg += "\n" + e()
			}
			t.Fatalf("waited %v for %s%s", d, what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
