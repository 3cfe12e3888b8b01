package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBulkRejectPage: from the queue page an editor rejects every pending
// submission of one organiser, a selection, and a whole page, each a
// button (no scripts); the queue comes back saying how many.
func TestBulkRejectPage(t *testing.T) {
	a := startApp(t)
	var spam []submitReceipt
	for i := range 4 {
		spam = append(spam, a.submitAPI(fmt.Sprintf("Spam %d", i), nextYear(3, 1+i),
			map[string]any{"contact": map[string]string{"email": "Spam@Example.org"}}))
	}
	var real []submitReceipt
	for i := range 3 {
		real = append(real, a.submitAPI(fmt.Sprintf("Real %d", i), nextYear(4, 1+i), nil))
	}
	a.waitFor("the queue", func() bool { return len(a.pending()) == 7 })
	h := map[string]string{"Cookie": editorSession(t, a)}
	q := a.do("GET", "/moderation", h, nil)
	checkFormPage(t, "queue with bulk forms", q)
	for _, want := range []string{"Reject all 4 from this organiser", "Reject all 3 from this organiser", "Reject selected",
		"Reject all 7 on this page", `<input type="checkbox" form="bulk" name="id" value="` + real[0].ID + `"`} {
		if !strings.Contains(q.body, want) {
			t.Errorf("queue page: no %s", want)
		}
	}
	csrf := q.hidden("csrf")
	post := func(v url.Values) reply {
		v.Set("csrf", csrf)
		return a.post("/moderation/reject", v, h)
	}
	r := post(url.Values{"contact_of": {spam[1].ID}, "idem": {"k1"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=4") {
		t.Fatalf("reject an organiser's: %d %v", r.status, r.header)
	}
	a.waitFor("the organiser's gone", func() bool { return len(a.pending()) == 3 })
	page := a.do("GET", r.header.Get("Location"), h, nil)
	if !strings.Contains(page.body, "Rejected 4 conferences.") {
		t.Error("no notice of the bulk rejection")
	}
	r = post(url.Values{"id": {real[0].ID, real[1].ID}, "scope": {"selected"}, "reason": {"duplicates"}, "idem": {"k2"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=2") {
		t.Fatalf("reject a selection: %d %v", r.status, r.header)
	}
	a.waitFor("the selection gone", func() bool { return len(a.pending()) == 1 })
	q = a.do("GET", "/moderation", h, nil)
	r = post(url.Values{"page_id": {real[2].ID}, "id": {}, "scope": {"page"}, "idem": {"k3"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=1") {
		t.Fatalf("reject the page: %d %v", r.status, r.header)
	}
	a.waitFor("the queue empty", func() bool { return len(a.pending()) == 0 })
	// Without the session's token nothing is rejected.
	if r := a.post("/moderation/reject", url.Values{"csrf": {"x"}, "id": {spam[0].ID}}, h); r.status != http.StatusForbidden {
		t.Fatalf("a forged bulk rejection: %d", r.status)
	}

	// Approve selected: the same form, another button.
	var good []submitReceipt
	for i := range 3 {
		good = append(good, a.submitAPI(fmt.Sprintf("Good %d", i), nextYear(5, 1+i), nil))
	}
	a.waitFor("the good ones", func() bool { return len(a.pending()) == 3 })
	q = a.do("GET", "/moderation", h, nil)
	if !strings.Contains(q.body, `formaction="/moderation/approve">Approve selected</button>`) {
		t.Error("queue page: no Approve selected button")
	}
	v := url.Values{"id": {good[0].ID, good[2].ID}, "scope": {"selected"}, "idem": {"k4"}, "csrf": {q.hidden("csrf")}}
	r = a.post("/moderation/approve", v, h)
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "n=2") {
		t.Fatalf("approve a selection: %d %v", r.status, r.header)
	}
	a.waitFor("the approved gone from the queue", func() bool { return len(a.pending()) == 1 })
	if page := a.do("GET", r.header.Get("Location"), h, nil); !strings.Contains(page.body, "Approved 2 conferences.") {
		t.Error("no notice of the bulk approval")
	}
	if r := a.post("/moderation/approve", url.Values{"csrf": {"x"}, "id": {good[1].ID}}, h); r.status != http.StatusForbidden {
		t.Fatalf("a forged bulk approval: %d", r.status)
	}
}

// TestSignInThrottle: wrong tokens from one address are answered 429 once
// the address has used them up, and the right token still signs in from
// that address.
func TestSignInThrottle(t *testing.T) {
	a := startApp(t)
	r := a.do("GET", "/moderation", nil, nil)
	fc := r.cookie("jevents_form")
	v := url.Values{"csrf": {r.hidden("csrf")}, "next": {"/moderation"}}
	ck := map[string]string{"Cookie": "jevents_form=" + fc.Value}
	var last reply
	for i := range 12 {
		v.Set("token", fmt.Sprintf("guess-%d-Kq8Zr3Vm7Xt2", i))
		last = a.post("/moderation/sign-in", v, ck)
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" || !strings.Contains(last.body, "Too many attempts") {
		t.Fatalf("after 12 wrong tokens: %d %v", last.status, last.header)
	}
	checkFormPage(t, "sign-in 429", last)
	v.Set("token", editorToken)
	if w := a.post("/moderation/sign-in", v, ck); w.status != http.StatusSeeOther || w.cookie("jevents_editor") == nil {
		t.Fatalf("the right token from a throttled address: %d", w.status)
	}
}
