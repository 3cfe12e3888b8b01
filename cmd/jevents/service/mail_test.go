package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/mailpittest"
)

// syncBuffer collects a service's log for a privacy check.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMailFlow is the organiser's and the editors' mail through the whole
// service and a real SMTP server (mailpit): a receipt on submission, the
// editors told, an editor's edit, the approval with links that answer, a
// rejection with its reason; the organiser's address in no log, page or
// feed.
func TestMailFlow(t *testing.T) {
	mp := mailpittest.Start(t)
	logs := &syncBuffer{}
	cfg := service.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: editorToken,
		Mail:        service.MailConfig{SMTPURL: mp.SMTPURL(), From: "Justice Events <events@events.test>", EditorEmails: []string{"editor@events.test"}},
	}
	s, err := service.New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &app{t: t, svc: s, base: "http://" + s.HTTPAddr(), dir: cfg.DataDir}
	t.Cleanup(a.stop)
	a.waitReady()
	if r := a.do("GET", "/readyz", nil, nil); !bytes.Contains(r.body, []byte(`"degraded":[]`)) {
		t.Errorf("/readyz with SMTP configured: %s", r.body)
	}

	body := validSubmission()
	body["contact"] = map[string]any{"name": "Pat Organiser", "email": "pat.private@example.org"}
	rec := a.submit(body, "mail-flow-1")
	waitMail := func(query string) mailpittest.Message {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if got := mp.Search(query); len(got) > 0 {
				if len(got) > 1 {
					t.Errorf("%d mails for %s, want one", len(got), query)
				}
				return mp.Message(got[0].ID)
			}
			if time.Now().After(deadline) {
				t.Fatalf("no mail for %s", query)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	receipt := waitMail(`to:"pat.private@example.org" subject:"We received"`)
	if !strings.Contains(receipt.Text, rec.ID) {
		t.Errorf("the receipt lacks the tracking id %s:\n%s", rec.ID, receipt.Text)
	}
	told := waitMail(`to:"editor@events.test" subject:"New submission waiting"`)
	if !strings.Contains(told.Text, "https://events.test/moderation") || strings.Contains(told.Raw, "pat.private") {
		t.Errorf("editors' mail:\n%s", told.Text)
	}

	// An editor's edit, then the approval.
	a.waitQueued(rec.ID)
	cur := a.do("GET", "/api/v1/moderation/conferences/"+rec.ID, editor, nil)
	var view struct {
		Version uint64 `json:"version"`
	}
	cur.json(t, &view)
	edit := a.do("PATCH", "/api/v1/conferences/"+rec.ID, map[string]string{"Authorization": editor["Authorization"], "If-Match": strconv.Quote(strconv.FormatUint(view.Version, 10))},
		map[string]any{"title": "National Conference on Human Trafficking 2031"})
	if edit.status != http.StatusOK {
		t.Fatalf("edit: %d %s", edit.status, edit.body)
	}
	changed := waitMail(`to:"pat.private@example.org" subject:"Changed by an editor"`)
	if !strings.Contains(changed.Text, "now: National Conference on Human Trafficking 2031") {
		t.Errorf("changes mail:\n%s", changed.Text)
	}
	a.approve(rec.ID)
	approved := waitMail(`to:"pat.private@example.org" subject:"Published"`)
	for _, link := range []string{"/conferences/" + rec.ID, "/conferences/" + rec.ID + ".ics", "/calendar.ics"} {
		if !strings.Contains(approved.Text, "https://events.test"+link) || !strings.Contains(approved.HTML, `href="https://events.test`+link+`"`) {
			t.Errorf("approval lacks %s", link)
		}
	}
	// The links answer (served here at the service's own address) and
	// the feed shows the edit.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := a.do("GET", "/conferences/"+rec.ID+".ics", nil, nil)
		if r.status == 200 && bytes.Contains(r.body, []byte("2031")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed never showed the approved edit: %d %s", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	other := validSubmission()
	other["title"] = "Not criminal justice at all"
	other["contact"] = map[string]any{"email": "pat.private@example.org"}
	rec2 := a.submit(other, "mail-flow-2")
	a.waitQueued(rec2.ID)
	if r := a.do("POST", "/api/v1/conferences/"+rec2.ID+"/reject", editor, map[string]string{"reason": "not a criminal-justice conference"}); r.status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	rejected := waitMail(`to:"pat.private@example.org" subject:"Not published"`)
	if !strings.Contains(rejected.Text, "not a criminal-justice conference") {
		t.Errorf("rejection lacks the reason:\n%s", rejected.Text)
	}

	// A report from the public: refused for a conference that is not
	// public, checked, listed for editors with its count, mailed to them,
	// resolved.
	if r := a.do("POST", "/api/v1/conferences/"+rec2.ID+"/reports", nil, map[string]string{"reason": "fraudulent"}); r.status != http.StatusNotFound {
		t.Errorf("a report on a rejected conference: %d %s", r.status, r.body)
	}
	if r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/reports", nil, map[string]string{"reason": "bogus"}); r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("reason")) {
		t.Errorf("a report with an unknown reason: %d %s", r.status, r.body)
	}
	var filed []string
	for _, reason := range []string{"fraudulent", "wrong_details"} {
		r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/reports", nil, map[string]string{"reason": reason, "text": "<b>Pay first</b>, they said"})
		if r.status != http.StatusAccepted {
			t.Fatalf("report: %d %s", r.status, r.body)
		}
		var got struct{ ID string }
		r.json(t, &got)
		filed = append(filed, got.ID)
	}
	var open struct {
		Conferences []struct {
			ConferenceID string `json:"conference_id"`
			Count        int    `json:"count"`
		} `json:"conferences"`
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		a.do("GET", "/api/v1/moderation/reports", editor, nil).json(t, &open)
		if len(open.Conferences) == 1 && open.Conferences[0].Count == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open reports: %+v", open)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a.do("GET", "/api/v1/moderation/reports", nil, nil).status != http.StatusUnauthorized {
		t.Error("the open reports answer without an editor")
	}
	reported := waitMail(`to:"editor@events.test" subject:"Listing reported" "Fraudulent"`)
	if !strings.Contains(reported.HTML, "&lt;b&gt;Pay first&lt;/b&gt;") || !strings.Contains(reported.Text, "https://events.test/conferences/"+rec.ID) {
		t.Errorf("report mail:\n%s\n%s", reported.Text, reported.HTML)
	}
	for i, f := range filed {
		verb := []string{"resolve", "dismiss"}[i]
		if r := a.do("POST", "/api/v1/moderation/reports/"+f+"/"+verb, editor, map[string]string{"note": "checked"}); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", verb, r.status, r.body)
		}
	}
	if r := a.do("POST", "/api/v1/moderation/reports/"+filed[0]+"/dismiss", editor, nil); r.status != http.StatusConflict {
		t.Errorf("dismiss a resolved report: %d %s", r.status, r.body)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		open.Conferences = nil
		a.do("GET", "/api/v1/moderation/reports", editor, nil).json(t, &open)
		if len(open.Conferences) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open reports after closing them: %+v", open)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The dead letters: editors only, none here.
	if r := a.do("GET", "/api/v1/notifier/dead-letters", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("dead letters without a token: %d", r.status)
	}
	if r := a.do("GET", "/api/v1/notifier/dead-letters", editor, nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"dead_letters":[]`)) {
		t.Errorf("dead letters: %d %s", r.status, r.body)
	}

	// Privacy: the organiser's address is in no log line, public page,
	// feed or public history.
	for _, path := range []string{"/conferences/" + rec.ID, "/conferences/" + rec.ID + ".ics", "/calendar.ics", "/", "/api/v1/conferences/" + rec.ID,
		"/api/v1/conferences/" + rec.ID + "/history"} {
		if r := a.do("GET", path, nil, nil); bytes.Contains(r.body, []byte("pat.private")) {
			t.Errorf("%s shows the organiser's address", path)
		}
	}
	a.stop()
	if strings.Contains(logs.String(), "pat.private") {
		t.Error("the log names the organiser's address")
	}
}
