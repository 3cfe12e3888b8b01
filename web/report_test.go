package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestReportAProblem: every conference page links to the report form; a
// report with a reason arrives in the editors' queue with its count; the
// honeypot and a missing form token send nothing; an editor resolves it
// from the queue.
func TestReportAProblem(t *testing.T) {
	a := startApp(t)
	c := a.submitAPI("Reported Conference <b>x</b>", nextYear(6, 1), nil)
	a.approveAPI(c.ID)
	var page reply
	a.waitFor("the conference page", func() bool {
		page = a.do("GET", "/conferences/"+c.ID, nil, nil)
		return page.status == http.StatusOK
	})
	if !strings.Contains(page.body, `<a href="/conferences/`+c.ID+`/report">Report a problem with this listing</a>`) {
		t.Fatal("the conference page has no report link")
	}
	form := a.do("GET", "/conferences/"+c.ID+"/report", nil, nil)
	checkFormPage(t, "report form", form)
	for _, want := range []string{`value="fraudulent"`, `value="wrong_details"`, `value="duplicate"`, `value="cancelled"`, `value="other"`, `name="leave_empty"`} {
		if !strings.Contains(form.body, want) {
			t.Errorf("report form: no %s", want)
		}
	}
	ck := map[string]string{"Cookie": "jevents_form=" + form.cookie("jevents_form").Value}
	csrf := form.hidden("csrf")
	send := func(v url.Values, h map[string]string) reply {
		return a.post("/conferences/"+c.ID+"/report", v, h)
	}
	if r := send(url.Values{"csrf": {csrf}, "reason": {"fraudulent"}, "leave_empty": {"bot"}}, ck); r.status != http.StatusBadRequest {
		t.Errorf("honeypot: %d", r.status)
	}
	if r := send(url.Values{"csrf": {"forged"}, "reason": {"fraudulent"}}, ck); r.status != http.StatusForbidden {
		t.Errorf("forged form token: %d", r.status)
	}
	if r := send(url.Values{"csrf": {csrf}, "reason": {"other"}}, ck); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "says what is wrong") {
		t.Errorf("other without text: %d", r.status)
	}
	r := send(url.Values{"csrf": {csrf}, "reason": {"fraudulent"}, "text": {"<script>alert(1)</script> asks for payment"}}, ck)
	if r.status != http.StatusOK || !strings.Contains(r.body, "your report was sent") {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	if r := a.do("GET", "/conferences/nope/report", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("report form of an unknown conference: %d", r.status)
	}

	h := map[string]string{"Cookie": editorSession(t, a)}
	var q reply
	a.waitFor("the report in the queue", func() bool {
		q = a.do("GET", "/moderation", h, nil)
		return strings.Contains(q.body, "1 open report")
	})
	checkFormPage(t, "queue with reports", q)
	if strings.Contains(q.body, "<script>alert(1)</script>") || !strings.Contains(q.body, "&lt;script&gt;alert(1)&lt;/script&gt; asks for payment") {
		t.Error("the report's text is not shown as text")
	}
	i := strings.Index(q.body, `action="/moderation/reports/`)
	if i < 0 {
		t.Fatal("no resolve button")
	}
	action := q.body[i+len(`action="`):]
	action = action[:strings.IndexByte(action, '"')]
	if r := a.post(action, url.Values{"csrf": {q.hidden("csrf")}}, h); r.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	a.waitFor("the report gone", func() bool {
		return !strings.Contains(a.do("GET", "/moderation", h, nil).body, "open report")
	})
}
