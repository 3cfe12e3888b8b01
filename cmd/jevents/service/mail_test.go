package service_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/mailpittest"
	"github.com/justiceevents/jevents/internal/testca"
)

// TestMailFlow is the organiser's and the editors' mail through the whole
// service and a real SMTP server (mailpit): a receipt on submission, the
// editors told, an editor's edit, the approval with links that answer, a
// rejection with its reason; the organiser's address in no log, page or
// feed.
func TestMailFlow(t *testing.T) {
	mp := mailpittest.Start(t)
	logs := &syncWriter{}
	cfg := service.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: editorToken,
		Mail:        service.MailConfig{SMTPURL: mp.SMTPURL(), From: "Justice Events <events@events.test>", EditorEmails: []string{"editor@events.test"}},
	}
	a := bootApp(t, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
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

// TestUndeliveredMailPage: the editors' page of dead letters, through real
// HTTP with a session and CSRF tokens. A mail the server refuses (550)
// shows with the server's answer and a masked address; after the server
// is fixed, "Send again" delivers it; "Drop" removes another for good; the
// navigation counts them; nobody without a session sees or changes them.
func TestUndeliveredMailPage(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Option{"--smtp-allowed-recipients", `@events\.test$`})
	cfg := service.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: editorToken,
		Mail:        service.MailConfig{SMTPURL: mp.SMTPURL(), From: "Justice Events <events@events.test>"},
	}
	a := bootApp(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))

	for i, addr := range []string{"Retry.Me@refused.example", "drop.me@refused.example"} {
		body := validSubmission()
		body["title"] = fmt.Sprintf("Undelivered %d", i)
		body["contact"] = map[string]any{"email": addr}
		a.submit(body, fmt.Sprintf("undelivered-%d", i))
	}
	type letter struct {
		Key   string `json:"key"`
		To    string `json:"to"`
		Error string `json:"error"`
	}
	letters := func() map[string]letter {
		var got struct {
			DeadLetters []letter `json:"dead_letters"`
		}
		a.do("GET", "/api/v1/notifier/dead-letters", editor, nil).json(t, &got)
		out := map[string]letter{}
		for _, l := range got.DeadLetters {
			out[strings.ToLower(l.To)] = l
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(letters()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("dead letters: %+v", letters())
		}
		time.Sleep(100 * time.Millisecond)
	}
	retryKey, dropKey := letters()["retry.me@refused.example"].Key, letters()["drop.me@refused.example"].Key

	// Nobody without a session: the sign-in page, and a post changes nothing.
	if r := a.send("GET", "/moderation/mail", nil, nil); !bytes.Contains(r.body, []byte(`action="/moderation/sign-in"`)) || bytes.Contains(r.body, []byte("refused.example")) {
		t.Errorf("anonymous GET /moderation/mail: %d\n%.400s", r.status, r.body)
	}
	for _, verb := range []string{"retry", "drop"} {
		if r := a.send("POST", "/moderation/mail/"+dropKey+"/"+verb, nil, url.Values{"csrf": {"x"}}); r.status != http.StatusForbidden {
			t.Errorf("anonymous %s: %d", verb, r.status)
		}
	}
	cookie, csrf := a.signIn(editorToken)
	sess := map[string]string{"Cookie": cookie}
	if r := a.send("POST", "/moderation/mail/"+dropKey+"/drop", sess, url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Errorf("drop with a wrong CSRF token: %d", r.status)
	}
	if len(letters()) != 2 {
		t.Fatal("a refused request changed the dead letters")
	}

	page := a.send("GET", "/moderation/mail", sess, nil)
	if page.status != 200 {
		t.Fatalf("GET /moderation/mail: %d %s", page.status, page.body)
	}
	for _, want := range []string{"Undelivered mail (2)", "Receipt to the organiser", "R***@refused.example", "d***@refused.example", "550",
		`action="/moderation/mail/` + retryKey + `/retry"`, `action="/moderation/mail/` + dropKey + `/drop"`} {
		if !bytes.Contains(page.body, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if bytes.Contains(bytes.ToLower(page.body), []byte("retry.me@")) || bytes.Contains(page.body, []byte("drop.me@")) {
		t.Errorf("the page shows a whole address:\n%s", page.body)
	}
	if q := a.send("GET", "/moderation", sess, nil); !bytes.Contains(q.body, []byte(`<a href="/moderation/mail">Undelivered mail (2)</a>`)) {
		t.Error("the queue's navigation does not count the undelivered mail")
	}

	// The server is fixed: send again, and it arrives.
	mp.Restart()
	r := a.send("POST", "/moderation/mail/"+retryKey+"/retry", sess, url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/moderation/mail?done=retry" {
		t.Fatalf("retry: %d %s", r.status, r.header.Get("Location"))
	}
	deadline = time.Now().Add(20 * time.Second)
	for len(mp.Search(`to:"retry.me@refused.example"`)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the retried mail never arrived; dead letters: %+v", letters())
		}
		time.Sleep(100 * time.Millisecond)
	}
	r = a.send("POST", "/moderation/mail/"+dropKey+"/drop", sess, url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/moderation/mail?done=drop" {
		t.Fatalf("drop: %d %s", r.status, r.header.Get("Location"))
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(letters()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("dead letters after retry and drop: %+v", letters())
		}
		time.Sleep(100 * time.Millisecond)
	}
	page = a.send("GET", "/moderation/mail", sess, nil)
	if !bytes.Contains(page.body, []byte("Every mail was delivered.")) || !bytes.Contains(page.body, []byte("Undelivered mail (0)")) {
		t.Errorf("the page after retry and drop:\n%s", page.body)
	}
	if r := a.send("POST", "/moderation/mail/"+dropKey+"/drop", sess, url.Values{"csrf": {csrf}}); r.header.Get("Location") != "/moderation/mail?done=gone" {
		t.Errorf("drop of a letter already gone: %d %s", r.status, r.header.Get("Location"))
	}
	time.Sleep(2 * time.Second)
	if got := mp.Search(`to:"drop.me@refused.example"`); len(got) != 0 {
		t.Errorf("the dropped mail was sent: %+v", got)
	}
	if got := mp.Search(`to:"retry.me@refused.example"`); len(got) != 1 {
		t.Errorf("%d copies of the retried mail, want 1", len(got))
	}
	// The API drops through the same method.
	if r := a.do("DELETE", "/api/v1/notifier/dead-letters/"+dropKey, nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("DELETE without a token: %d", r.status)
	}
	if r := a.do("DELETE", "/api/v1/notifier/dead-letters/"+dropKey, editor, nil); r.status != http.StatusNotFound {
		t.Errorf("DELETE of a dropped letter: %d %s", r.status, r.body)
	}
}

// TestMailOverSTARTTLSWithPrivateCA: the service's own path to a secured
// SMTP server — --smtp-url with a user, the password from
// JEVENTS_SMTP_PASSWORD, the server's private CA from --smtp-ca-file: the
// receipt arrives through a mailpit that requires STARTTLS and AUTH, and
// /readyz is not degraded. A CA file without a certificate is a
// configuration error.
func TestMailOverSTARTTLSWithPrivateCA(t *testing.T) {
	dir := t.TempDir()
	ca, key := testca.New(t)
	testca.Issue(t, ca, key, dir, "smtp", true)
	testca.WritePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	if err := os.WriteFile(filepath.Join(dir, "auth"), []byte("jevents:0ut-of-the-url\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailpittest.Start(t, mailpittest.Option{"--smtp-tls-cert", filepath.Join(dir, "smtp.pem"), "--smtp-tls-key", filepath.Join(dir, "smtp-key.pem"),
		"--smtp-auth-file", filepath.Join(dir, "auth"), "--smtp-require-starttls"})
	t.Setenv("JEVENTS_SMTP_PASSWORD", "0ut-of-the-url")
	cfg := service.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: editorToken,
		Mail:        service.MailConfig{SMTPURL: "smtp://jevents@" + mp.SMTPAddr, SMTPCAFile: filepath.Join(dir, "ca.pem")},
	}
	bad := cfg
	bad.Mail.SMTPCAFile = filepath.Join(dir, "auth")
	if _, err := service.New(bad, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "--smtp-ca-file") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
	a := bootApp(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.submit(validSubmission(), "secure-smtp")
	if got := mp.WaitCount(1, 20*time.Second); got != 1 {
		t.Fatalf("%d mails through STARTTLS + AUTH, want 1; /readyz: %s", got, a.do("GET", "/readyz", nil, nil).body)
	}
	if r := a.do("GET", "/readyz", nil, nil); !bytes.Contains(r.body, []byte(`"degraded":[]`)) {
		t.Errorf("/readyz: %s", r.body)
	}
}

// TestEditorDigestThroughService: --editor-digest reaches the notifier:
// two submissions, one digest per editor listing both, no immediate
// editors' mail; the organisers' receipts are sent at once.
func TestEditorDigestThroughService(t *testing.T) {
	mp := mailpittest.Start(t)
	cfg := service.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: editorToken,
		Mail: service.MailConfig{SMTPURL: mp.SMTPURL(), EditorEmails: []string{"editor@events.test"},
			EditorDigest: 3 * time.Second},
	}
	a := bootApp(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Both inside one window: start just after a window begins.
	time.Sleep(time.Until(time.Now().Truncate(3 * time.Second).Add(3*time.Second + 50*time.Millisecond)))
	var ids []string
	for i := range 2 {
		body := validSubmission()
		body["title"] = fmt.Sprintf("Digest through the service %d", i)
		ids = append(ids, a.submit(body, fmt.Sprintf("digest-%d", i)).ID)
	}
	// Each submission in exactly one digest (one digest, unless a slow
	// machine let the two straddle a window's end), and no other mail to
	// the editor.
	count := func() map[string]int {
		seen := map[string]int{}
		for _, d := range mp.Search(`to:"editor@events.test"`) {
			m := mp.Message(d.ID)
			if !strings.Contains(m.Subject, "new submission") || !strings.Contains(m.Subject, " waiting (") {
				t.Fatalf("a mail to the editor that is not a digest: %q", m.Subject)
			}
			for _, id := range ids {
				if strings.Contains(m.Text, "https://events.test/moderation/conferences/"+id) {
					seen[id]++
				}
			}
		}
		return seen
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(count()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("digests list %v, want both %v", count(), ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate would have arrived by now
	seen := count()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s listed in %d digests, want 1", id, seen[id])
		}
	}
	if n := len(mp.Search(`subject:"We received your conference"`)); n != 2 {
		t.Errorf("%d receipts, want 2", n)
	}
}
