package service_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
)

// waitFor polls path until cond holds for its answer, and returns it.
func (a *app) waitFor(path string, header map[string]string, cond func(response) bool) response {
	a.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := a.do("GET", path, header, nil)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("GET %s never met the condition: %d %s", path, r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func total(t *testing.T, r response) int {
	var l struct {
		Total int `json:"total"`
	}
	if r.status != http.StatusOK {
		return -1
	}
	r.json(t, &l)
	return l.Total
}

// TestDirectoryDoneWhen is issue 4's "done when": on a fresh start
// /resources shows the 14 published entries under their topic; an editor
// changes one and sees the change and its history; a conference sponsored
// by OVC appears in OVC's sponsor feed, and OVC's new name shows there.
func TestDirectoryDoneWhen(t *testing.T) {
	a := startApp(t, t.TempDir())
	a.waitFor("/api/v1/resources", nil, func(r response) bool { return total(t, r) == 14 })
	page := a.do("GET", "/resources", nil, nil)
	if page.status != 200 || strings.Count(string(page.body), `<article class="entry"`) != 14 ||
		!strings.Contains(string(page.body), "Trafficking in Persons - Related Resources") ||
		!strings.Contains(string(page.body), "Links from the NCJRS Web site to non-Federal sites") {
		t.Fatalf("/resources: %d\n%s", page.status, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}

	// An editor changes OVC: a stale edit is refused and appends nothing,
	// the current one lands and shows on the page and in the history.
	var ovc struct {
		Version uint64 `json:"version"`
	}
	a.do("GET", "/api/v1/resources/ovc", nil, nil).json(t, &ovc)
	before := a.streamMessages()
	stale := a.do("PATCH", "/api/v1/resources/ovc", map[string]string{"Authorization": editor["Authorization"], "If-Match": strconv.Quote(strconv.FormatUint(ovc.Version-1, 10))},
		map[string]any{"url": "https://stale.example/"})
	if stale.status != http.StatusConflict || a.streamMessages() != before {
		t.Fatalf("stale edit: %d %s", stale.status, stale.body)
	}
	edit := a.do("PATCH", "/api/v1/resources/ovc", map[string]string{"Authorization": editor["Authorization"], "If-Match": strconv.Quote(strconv.FormatUint(ovc.Version, 10))},
		map[string]any{"name": "Office for Victims of Crime, OJP", "url": "https://ovc.ojp.gov/"})
	if edit.status != http.StatusOK {
		t.Fatalf("edit: %d %s", edit.status, edit.body)
	}
	a.waitFor("/resources/ovc", nil, func(r response) bool {
		return r.status == 200 && strings.Contains(string(r.body), "Office for Victims of Crime, OJP") && strings.Contains(string(r.body), `href="https://ovc.ojp.gov/"`)
	})
	var h struct {
		Entries []struct {
			Type    string `json:"type"`
			Actor   string `json:"actor"`
			Changes []struct {
				Field string          `json:"field"`
				From  json.RawMessage `json:"from"`
				To    json.RawMessage `json:"to"`
			} `json:"changes"`
		} `json:"entries"`
	}
	hist := a.do("GET", "/api/v1/resources/ovc/history", editor, nil)
	hist.json(t, &h)
	if len(h.Entries) != 2 || h.Entries[0].Type != "resource.added.v1" || h.Entries[0].Actor != "seed" ||
		h.Entries[1].Type != "resource.updated.v1" || h.Entries[1].Actor != "editor" || len(h.Entries[1].Changes) != 2 ||
		h.Entries[1].Changes[0].Field != "name" || string(h.Entries[1].Changes[0].From) != `"Office for Victims of Crime"` {
		t.Fatalf("history: %s", hist.body)
	}

	// A conference naming OVC by acronym is linked to it and appears in
	// OVC's sponsor feed once approved.
	sub := validSubmission()
	sub["sponsors"] = []string{"ovc", "Baltimore Anti-Trafficking Coalition"}
	rec := a.submit(sub, "")
	a.approve(rec.ID)
	uid := rec.ID + "@events.test"
	evs, _ := a.feedEvents("/calendar/sponsors/ovc.ics", hasUID(uid))
	if len(evs) != 1 || !strings.Contains(text(t, evs[0], goical.PropDescription), "Sponsors: Office for Victims of Crime, OJP; Baltimore Anti-Trafficking Coalition") {
		t.Fatalf("sponsor feed: %+v", evs)
	}
	var conf struct {
		Details struct {
			Sponsors []struct{ ID, Name string } `json:"sponsors"`
		} `json:"details"`
	}
	a.do("GET", "/api/v1/conferences/"+rec.ID, nil, nil).json(t, &conf)
	if len(conf.Details.Sponsors) != 2 || conf.Details.Sponsors[0].ID != "ovc" || conf.Details.Sponsors[1].ID != "" {
		t.Fatalf("sponsors stored as %+v", conf.Details.Sponsors)
	}
	a.waitFor("/resources/ovc", nil, func(r response) bool {
		return strings.Contains(string(r.body), "National Conference on Human Trafficking")
	})

	// Renaming OVC renames it in the feed and the conference API.
	a.do("GET", "/api/v1/resources/ovc", nil, nil).json(t, &ovc)
	if r := a.do("PATCH", "/api/v1/resources/ovc", map[string]string{"Authorization": editor["Authorization"], "If-Match": strconv.FormatUint(ovc.Version, 10)},
		map[string]any{"name": "Office for Victims of Crime (renamed)"}); r.status != 200 {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	a.feedEvents("/calendar/sponsors/ovc.ics", func(evs []goical.Event) bool {
		return len(evs) == 1 && strings.Contains(text(t, evs[0], goical.PropDescription), "Sponsors: Office for Victims of Crime (renamed); ")
	})
	a.waitFor("/calendar/sponsors/ovc.ics", nil, func(r response) bool {
		return strings.Contains(string(r.body), "X-WR-CALNAME:Justice Events: Office for Victims of Crime (renamed)\r\n")
	})
	a.waitFor("/api/v1/conferences/"+rec.ID, nil, func(r response) bool {
		return strings.Contains(string(r.body), `"name":"Office for Victims of Crime (renamed)"`)
	})

	// The conference's history is public once published, without the
	// organiser's contact.
	ch := a.do("GET", "/api/v1/conferences/"+rec.ID+"/history", nil, nil)
	if ch.status != 200 || strings.Contains(string(ch.body), "@example.org") || !strings.Contains(string(ch.body), "conference.approved.v1") {
		t.Fatalf("conference history: %d %s", ch.status, ch.body)
	}

	// Retired, OVC leaves the directory's views.
	if r := a.do("POST", "/api/v1/resources/ovc/retire", editor, map[string]any{"reason": "test"}); r.status != 200 {
		t.Fatalf("retire: %d %s", r.status, r.body)
	}
	a.waitFor("/resources/ovc", nil, func(r response) bool { return r.status == http.StatusGone })
	a.waitFor("/api/v1/resources", nil, func(r response) bool { return total(t, r) == 13 })
}

// startAppWith is startApp with a changed configuration.
func startAppWith(t *testing.T, dir string, change func(*service.Config)) *app {
	t.Helper()
	cfg := service.Config{DataDir: dir, NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test", EditorToken: editorToken}
	change(&cfg)
	return bootApp(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestSeedOnlyOnce: a restart does not seed again, --no-seed does not
// seed, and a rebuild covers the directory.
func TestSeedOnlyOnce(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir)
	a.waitFor("/api/v1/resources", nil, func(r response) bool { return total(t, r) == 14 })
	if r := a.do("POST", "/api/v1/resources/ice/retire", editor, nil); r.status != 200 {
		t.Fatalf("retire: %d", r.status)
	}
	n := a.streamMessages()
	a.stop()

	b := startApp(t, dir)
	if m := b.streamMessages(); m != n {
		t.Fatalf("a restart appended %d events", m-n)
	}
	b.waitFor("/api/v1/resources", nil, func(r response) bool { return total(t, r) == 13 })
	nc, err := service.ConnectLocal(b.dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	res, err := service.Rebuild(context.Background(), js, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || len(res) != len(service.ReadModels()) || res[1].Projection != "directory" || res[1].Sequence != n {
		t.Fatalf("rebuild: %+v, %v", res, err)
	}
	b.waitFor("/api/v1/resources?status=all", nil, func(r response) bool { return total(t, r) == 14 })

	c := startAppWith(t, t.TempDir(), func(c *service.Config) { c.NoSeed = true })
	if m := c.streamMessages(); m != 0 {
		t.Fatalf("--no-seed appended %d events", m)
	}
	if r := c.waitFor("/api/v1/resources", nil, func(r response) bool { return r.status == 200 }); total(t, r) != 0 {
		t.Fatalf("--no-seed: %s", r.body)
	}
}
