package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/serversecret"
	"github.com/justiceevents/jevents/internal/syndcheck"
	"github.com/justiceevents/jevents/producers/organisers"
)

// The browser tests drive Debian's Chromium (installed by `make test`
// through scripts/deps/40-chromium.sh) with chromedp against the real
// service, as people use it: one browser for the package, a tab per test.
// A missing Chromium fails the tests; it is never a skip. Each page visited
// is saved as a screenshot under $JEVENTS_TEST_ARTIFACTS/web (default:
// testartifacts/web at the repository's root).

const chromiumPath = "/usr/bin/chromium"

var (
	browserMu   sync.Mutex
	browserCtx  context.Context
	browserStop func()
	browserErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserMu.Lock()
	if browserStop != nil {
		browserStop()
	}
	browserMu.Unlock()
	os.Exit(code)
}

// startBrowser starts headless Chromium with the flags this machine's
// closed network needs and a fresh profile.
func startBrowser() (context.Context, func(), error) {
	if _, err := os.Stat(chromiumPath); err != nil {
		return nil, nil, fmt.Errorf("Chromium is missing at %s: run `make test-deps` (scripts/deps/40-chromium.sh installs Debian's chromium)", chromiumPath)
	}
	profile, err := os.MkdirTemp("", "jevents-chromium-")
	if err != nil {
		return nil, nil, err
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"), chromedp.Env("LANG=en_US.UTF-8", "TZ=UTC"))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	stop := func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		stop()
		return nil, nil, fmt.Errorf("start Chromium: %w", err)
	}
	return ctx, stop, nil
}

// tab is a new tab of the package's browser, in a browser context of its
// own, with a deadline, that
// records the dialogs and console errors of its pages.
type tab struct {
	t    *testing.T
	ctx  context.Context
	a    *app
	mu   sync.Mutex
	logs []string // dialogs opened, exceptions, CSP violations
}

func newTab(t *testing.T, a *app) *tab {
	t.Helper()
	browserMu.Lock()
	if browserCtx == nil && browserErr == nil {
		browserCtx, browserStop, browserErr = startBrowser()
	}
	parent, err := browserCtx, browserErr
	browserMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// Its own browser context: no cookie of another test's service (on
	// another port of the same host) reaches this one.
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	tb := &tab{t: t, a: a}
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	console := chromedp.Console(ctx)
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(tcancel)
	tb.ctx = tctx
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.record("dialog: " + ev.Message)
			_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				tb.record("console: " + m.Text)
			}
		}
	}()
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, l := range tb.logs {
			t.Errorf("in the browser: %s", l)
		}
	})
	return tb
}

func (tb *tab) record(s string) {
	tb.mu.Lock()
	tb.logs = append(tb.logs, s)
	tb.mu.Unlock()
}

// do runs actions, failing the test on error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to a path of the app and returns the HTTP status.
func (tb *tab) open(path string) int64 {
	tb.t.Helper()
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(tb.a.base+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// submit clicks a button that posts a form and returns the status of the
// page it leads to (after redirects).
func (tb *tab) submit(sel string) int64 {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) value(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	r, err := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !r.Exists {
		tb.t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return r.Value
}

func (tb *tab) js(expr string) bool {
	tb.t.Helper()
	ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return ok
}

func (tb *tab) url() string {
	tb.t.Helper()
	u, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return u
}

// check holds for every page: the browser loaded under 100 KB for it
// (document and files, as transferred), it fits a phone's width, and it
// ran no script.
func (tb *tab) check(name string) {
	tb.t.Helper()
	weight, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`(() => {
		const n = performance.getEntriesByType('navigation')[0];
		let s = n ? n.transferSize : 0;
		for (const r of performance.getEntriesByType('resource')) s += r.transferSize;
		return s; })()`))
	if err != nil {
		tb.t.Fatal(err)
	}
	if weight >= 100<<10 {
		tb.t.Errorf("%s: %d bytes transferred", name, weight)
	}
	// A schema.org data block (application/ld+json) is data, never run.
	if !tb.js(`document.querySelectorAll('script:not([type="application/ld+json"]), iframe, object, embed, img').length === 0`) {
		tb.t.Errorf("%s: the page holds an element that runs or loads something", name)
	}
	tb.axe(name)
	tb.screenshot(name)
}

// axeDir holds axe-core as web/testdata/axe/package-lock.json pins it
// (installed by scripts/deps/70-axe-core.sh).
const axeScript = "testdata/axe/node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() ([]byte, error) { return os.ReadFile(axeScript) })

// axeRules are the rules every page must pass: axe-core's default set
// (WCAG 2.0, 2.1 and 2.2 A and AA, and its best practices) and
// label-content-name-mismatch (WCAG 2.5.3, "Label in Name": a control's
// accessible name contains its visible text), which axe-core still ships
// as experimental and off.
const axeOptions = `{rules: {'label-content-name-mismatch': {enabled: true}}, resultTypes: ['violations']}`

// axeViolation is one rule a page breaks, with where.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target []any
		HTML   string
	}
}

// axe injects axe-core into the current page (through the DevTools
// protocol: the page itself still runs no script, and its
// Content-Security-Policy is untouched) and fails the test for every
// violation it finds.
func (tb *tab) axe(name string) {
	tb.t.Helper()
	for _, v := range tb.axeRun() {
		var where []string
		for _, n := range v.Nodes[:min(3, len(v.Nodes))] {
			where = append(where, fmt.Sprintf("%v %s", n.Target, n.HTML))
		}
		tb.t.Errorf("%s: axe-core: %s (%s): %s, %d element(s): %s", name, v.ID, v.Impact, v.Help, len(v.Nodes), strings.Join(where, "; "))
	}
}

func (tb *tab) axeRun() []axeViolation {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.t.Fatalf("axe-core is missing (%v): run `make test-deps` (scripts/deps/70-axe-core.sh installs it)", err)
	}
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[chromedp.Void](`window.axe === undefined ? (0, eval)(`+strconv.Quote(string(src))+`) : 0`)); err != nil {
		tb.t.Fatalf("inject axe-core: %v", err)
	}
	out, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, `+axeOptions+`).then(r => r.violations.map(v =>
		({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({target: n.target, html: n.html}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("axe-core: %v", err)
	}
	return out
}

// screenshot saves the whole page as <artifacts>/web/<name>.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := artifactsDir(tb.t)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// artifactsDir is $JEVENTS_TEST_ARTIFACTS/web, or testartifacts/web at the
// repository's root.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("JEVENTS_TEST_ARTIFACTS")
	if dir == "" {
		root, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatal("no go.mod above the test's directory")
			}
			root = parent
		}
		dir = filepath.Join(root, "testartifacts")
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// onPhone checks that the current page fits a phone's width, and saves
// it as seen there.
func (tb *tab) onPhone(path, name string) {
	tb.t.Helper()
	tb.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	defer tb.do("desktop", chromedp.ResetViewport())
	if st := tb.open(path); st != 200 {
		tb.t.Fatalf("%s on a phone: %d", path, st)
	}
	if !tb.js(`document.documentElement.scrollWidth <= window.innerWidth`) {
		tb.t.Errorf("%s is wider than a phone", path)
	}
	tb.axe(name)
	tb.screenshot(name)
}

// fetch reads a URL the page offers with a plain HTTP client.
func fetch(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBrowserSubmitApproveSubscribe is the newcomer's path: add a
// conference through the form (first with mistakes), sign in as editor
// and approve it, find it on the calendar with filters, and subscribe to
// a feed that holds it.
func TestBrowserSubmitApproveSubscribe(t *testing.T) {
	a := startApp(t)
	other := a.submitAPI("Corrections Leadership Institute", nextYear(6, 20), map[string]any{"topics": []string{"corrections"}})
	a.approveAPI(other.ID)
	tb := newTab(t, a)

	if st := tb.open("/submit"); st != 200 {
		t.Fatalf("/submit: %d", st)
	}
	tb.check("submit")
	// A submission with mistakes: the messages stand next to their fields
	// and what was typed is kept.
	tb.do("fill in with mistakes",
		chromedp.SendKeys(chromedp.ID("description"), "Two days on technology in the courtroom."),
		chromedp.SetValue(chromedp.ID("start_date"), nextYear(6, 12)),
		chromedp.SetValue(chromedp.ID("end_date"), nextYear(6, 10)),
		chromedp.SendKeys(chromedp.ID("city"), "Baltimore"),
		chromedp.SendKeys(chromedp.ID("region"), "ZZ"),
		chromedp.SendKeys(chromedp.ID("sponsors"), "Office for Victims of Crime"),
		chromedp.SendKeys(chromedp.ID("contact_email"), "pat-at-example.org"),
	)
	if st := tb.submit("#submit"); st != http.StatusUnprocessableEntity {
		t.Fatalf("invalid submission: %d", st)
	}
	for field, msg := range map[string]string{"title": "Is required", "end_date": "Must not be before the start",
		"region": "Must be a US state", "topics": "Must name at least one topic", "contact_email": "Is not a valid e-mail address"} {
		if got := tb.text("#" + field + "-error"); !strings.Contains(got, msg) {
			t.Errorf("%s: message %q", field, got)
		}
		// Next to its field, and named by it for screen readers.
		if !tb.js(fmt.Sprintf(`(() => { const e = document.getElementById(%q), f = document.getElementById(%q);
			const box = e.closest('.field, fieldset');
			return box !== null && box.contains(f) && (f.getAttribute('aria-describedby') || '').split(' ').includes(e.id); })()`,
			field+"-error", field)) {
			t.Errorf("%s: the message is not next to the field", field)
		}
	}
	if tb.value("#region") != "ZZ" || tb.value("#contact_email") != "pat-at-example.org" || tb.value("#city") != "Baltimore" ||
		tb.value("#start_date") != nextYear(6, 12) || !strings.Contains(tb.value("#description"), "technology in the courtroom") {
		t.Error("the values typed are not kept")
	}
	if !strings.Contains(tb.text(".error-summary"), "Please correct these 5 fields") {
		t.Errorf("summary: %q", tb.text(".error-summary"))
	}
	tb.check("submit-errors")

	title := "Court Technology Summit " + nextYear(6, 12)
	tb.do("correct it",
		chromedp.SendKeys(chromedp.ID("title"), title),
		chromedp.SetValue(chromedp.ID("end_date"), nextYear(6, 13)),
		chromedp.SetValue(chromedp.ID("region"), "MD"),
		chromedp.SetValue(chromedp.ID("contact_email"), "pat@example.org"),
		chromedp.Click(chromedp.ID("topic-courts")),
	)
	if st := tb.submit("#submit"); st != 200 {
		t.Fatalf("valid submission: %d", st)
	}
	id := tb.text("#tracking")
	if !strings.HasSuffix(tb.url(), "/submit/done/"+id) {
		t.Fatalf("confirmation at %s", tb.url())
	}
	tb.check("submitted")

	// The editor signs in and approves it from the queue.
	if st := tb.open("/moderation"); st != 200 || !strings.Contains(tb.text("h1"), "sign in") {
		t.Fatalf("/moderation: %d", st)
	}
	tb.check("sign-in")
	tb.do("token", chromedp.SendKeys(chromedp.ID("token"), editorToken))
	if st := tb.submit(`form[action="/moderation/sign-in"] button`); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	approve := `form[action="/moderation/conferences/` + id + `/approve"] button`
	a.waitFor("the submission in the queue", func() bool {
		tb.open("/moderation")
		return tb.js(fmt.Sprintf(`document.querySelector(%q) !== null`, approve))
	})
	if !strings.Contains(tb.text("#q-"+id+" ~ dl"), "pat@example.org") {
		t.Error("the queue does not show the organiser's e-mail")
	}
	tb.check("moderation-queue")
	if st := tb.open("/moderation/conferences/" + id); st != 200 {
		t.Fatalf("editor's page: %d", st)
	}
	tb.check("moderation-conference")
	if st := tb.open("/moderation/conferences/" + id + "/edit"); st != 200 || tb.value("#title") != title {
		t.Fatalf("edit form: %d", st)
	}
	tb.check("moderation-edit")
	tb.open("/moderation")
	if st := tb.submit(approve); st != 200 || !strings.Contains(tb.text(".notice"), "Approved") {
		t.Fatalf("approve: %d", st)
	}
	tb.check("moderation-approved")

	// Anyone finds it on the calendar with filters: topic, state and a
	// keyword, chosen in the form.
	a.waitFor("the approved conference on the calendar", func() bool {
		_, body := fetch(t, a.base+"/")
		return strings.Contains(body, `href="/conferences/`+id+`"`)
	})
	tb.open("/")
	tb.check("home")
	tb.do("filter",
		chromedp.Click(chromedp.CSS(`details.more-filters > summary`)),
		chromedp.Click(chromedp.CSS(`details.facet:nth-of-type(1) summary`)),
		chromedp.Click(chromedp.CSS(`input[name="topic"][value="courts"]`)),
		chromedp.Click(chromedp.CSS(`details.facet:nth-of-type(2) summary`)),
		chromedp.Click(chromedp.CSS(`input[name="region"][value="MD"]`)),
		chromedp.SendKeys(chromedp.ID("q"), "technology"),
	)
	if st := tb.submit(`.filters button[type="submit"]`); st != 200 {
		t.Fatalf("filtered: %d", st)
	}
	if u := tb.url(); !strings.Contains(u, "topic=courts") || !strings.Contains(u, "region=MD") || !strings.Contains(u, "q=technology") {
		t.Fatalf("filter URL %s", u)
	}
	if !tb.js(fmt.Sprintf(`document.querySelector('.results a[href="/conferences/%s"]') !== null`, id)) ||
		tb.js(fmt.Sprintf(`document.querySelector('.results a[href="/conferences/%s"]') !== null`, other.ID)) {
		t.Fatal("the filtered list is wrong")
	}
	tb.check("home-filtered")

	// The subscribe box offers the selection's feed: the plain .ics
	// address holds the conference; the webcal:// link is the same feed.
	feed := tb.value("#feed-url")
	if href := tb.attr("a.ics", "href"); href != feed {
		t.Errorf("feed link %q, address %q", href, feed)
	}
	if webcal := tb.attr(".subscribe .apps a", "href"); webcal != "webcal://"+strings.TrimPrefix(feed, "http://") {
		t.Errorf("webcal link %q for %q", webcal, feed)
	}
	st, ics := fetch(t, feed)
	host := strings.Split(strings.TrimPrefix(a.base, "http://"), ":")[0]
	if st != 200 || !strings.Contains(ics, "UID:"+id+"@"+host) || !strings.Contains(ics, "SUMMARY:"+title) || strings.Contains(ics, other.ID) {
		t.Fatalf("the feed %s (%d):\n%s", feed, st, ics)
	}

	// The conference's page, from the list.
	if st := tb.submit(fmt.Sprintf(`.results a[href="/conferences/%s"]`, id)); st != 200 {
		t.Fatalf("conference page: %d", st)
	}
	if tb.text("h1") != title || tb.attr(`.facts a[href^="/resources/"]:not([href*="topics"])`, "href") != "/resources/ovc" ||
		tb.attr(`a[href="/conferences/`+id+`.ics"]`, "href") == "" || !tb.js(`document.querySelector('a[href="/resources/topics/courts"]') !== null`) {
		t.Fatal("the conference page lacks its links")
	}
	if strings.Contains(tb.text("main"), "pat@example.org") {
		t.Fatal("the public page shows the organiser's e-mail")
	}
	st, one := fetch(t, a.base+"/conferences/"+id+".ics")
	if st != 200 || !strings.Contains(one, "UID:"+id+"@"+host) {
		t.Fatalf("the conference's feed: %d", st)
	}
	tb.check("conference")

	for _, p := range []struct{ path, name string }{{"/resources", "resources"}, {"/resources/topics/courts", "topic"}, {"/resources/ovc", "resource"}} {
		if st := tb.open(p.path); st != 200 {
			t.Fatalf("%s: %d", p.path, st)
		}
		tb.check(p.name)
	}
	if !tb.js(fmt.Sprintf(`document.querySelector('a[href="/conferences/%s"]') !== null`, id)) {
		t.Error("the sponsor's page does not link the conference")
	}
	tb.onPhone("/", "phone-home")
	tb.onPhone("/submit", "phone-submit")
	tb.onPhone("/conferences/"+id, "phone-conference")
	tb.onPhone("/moderation", "phone-moderation")
}

// TestBrowserKeyboardOnly: the form is completed with Tab, typing, Space
// and Enter alone; focus is always visible and never reaches the
// honeypot.
func TestBrowserKeyboardOnly(t *testing.T) {
	a := startApp(t)
	tb := newTab(t, a)
	if st := tb.open("/submit"); st != 200 {
		t.Fatalf("/submit: %d", st)
	}
	var focused []string
	// tabTo presses Tab until the element with the id has the focus.
	tabTo := func(id string) {
		t.Helper()
		for range 80 {
			cur, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
			if err != nil {
				t.Fatal(err)
			}
			focused = append(focused, cur)
			if cur == id {
				if !tb.js(`getComputedStyle(document.activeElement).outlineStyle !== 'none'`) {
					t.Errorf("no visible focus on #%s", id)
				}
				return
			}
			tb.do("Tab", chromedp.KeyEvent("\t"))
		}
		t.Fatalf("Tab never reached #%s (focus went through %q)", id, focused)
	}
	typeIn := func(id, s string) {
		t.Helper()
		tabTo(id)
		tb.do("type", chromedp.KeyEvent(s))
	}
	y := fmt.Sprint(time.Now().Year() + 1)
	title := "Keyboard Access Conference " + y
	typeIn("title", title)
	tb.screenshot("keyboard-focus")
	typeIn("description", "Typed with the keyboard alone.")
	typeIn("start_date", "0915"+y) // the date field of an en-US browser: month, day, year
	typeIn("end_date", "0916"+y)
	typeIn("city", "Annapolis")
	typeIn("region", "MD")
	typeIn("topic-courts", " ")
	typeIn("topic-victims-of-crime", " ")
	typeIn("contact_email", "keys@example.org")
	if tb.value("#start_date") != y+"-09-15" || tb.value("#end_date") != y+"-09-16" {
		t.Fatalf("dates typed: %q %q", tb.value("#start_date"), tb.value("#end_date"))
	}
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.KeyEvent("\r"))
	if err != nil || resp.Status != 200 || !strings.Contains(tb.url(), "/submit/done/") {
		t.Fatalf("Enter: %v %v at %s", err, resp, tb.url())
	}
	for _, f := range focused {
		if f == "leave_empty" {
			t.Fatal("the keyboard reached the honeypot")
		}
	}
	tb.screenshot("keyboard-done")
	a.waitFor("the typed conference in the queue", func() bool { return count(a.pending(), title) == 1 })
}

// TestBrowserHostileText: markup, quotes and line breaks typed into the
// form are shown as text on the form, the editors' pages and the public
// pages: no dialog, no injected element.
func TestBrowserHostileText(t *testing.T) {
	a := startApp(t)
	tb := newTab(t, a)
	title := `<script>alert("title")</script> Summit`
	sponsor := `"><img src=x onerror=alert(1)>`
	desc := "Line one\r\n<b onmouseover=alert(2)>bold</b>\r\n\"><svg onload=alert(3)>"
	tb.open("/submit")
	tb.do("fill in",
		chromedp.SetValue(chromedp.ID("title"), title),
		chromedp.SendKeys(chromedp.ID("description"), desc),
		chromedp.SetValue(chromedp.ID("start_date"), nextYear(4, 2)),
		chromedp.SetValue(chromedp.ID("city"), `</p><h1>Injected</h1>`),
		chromedp.SetValue(chromedp.ID("region"), "MD"),
		chromedp.SendKeys(chromedp.ID("sponsors"), sponsor),
		chromedp.SetValue(chromedp.ID("contact_email"), `x"><script>alert(4)</script>@example.org`),
		chromedp.Click(chromedp.ID("topic-courts")),
	)
	// Invalid (the e-mail): shown again, as text.
	if st := tb.submit("#submit"); st != http.StatusUnprocessableEntity {
		t.Fatalf("hostile and invalid: %d", st)
	}
	if tb.value("#title") != title || tb.value("#sponsors") != sponsor {
		t.Fatalf("kept values: %q %q", tb.value("#title"), tb.value("#sponsors"))
	}
	noInjection := func(where string) {
		t.Helper()
		// The one script element a page may have is its schema.org data
		// block (never run: CSP allows no script).
		if !tb.js(`document.querySelectorAll('script:not([type="application/ld+json"]), img, svg, b, iframe').length === 0 && document.querySelectorAll('h1').length === 1`) {
			t.Errorf("%s: an element was injected", where)
		}
	}
	noInjection("the form")
	tb.check("hostile-form")
	tb.do("fix the e-mail", chromedp.SetValue(chromedp.ID("contact_email"), "hostile@example.org"))
	if st := tb.submit("#submit"); st != 200 {
		t.Fatalf("hostile submission: %d", st)
	}
	id := tb.text("#tracking")

	tb.open("/moderation")
	tb.do("sign in", chromedp.SendKeys(chromedp.ID("token"), editorToken))
	tb.submit(`form[action="/moderation/sign-in"] button`)
	a.waitFor("the hostile conference in the queue", func() bool {
		tb.open("/moderation")
		return tb.js(fmt.Sprintf(`document.getElementById('q-%s') !== null`, id))
	})
	if got := tb.text("#q-" + id); got != title {
		t.Errorf("queue title %q", got)
	}
	noInjection("the queue")
	tb.check("hostile-queue")
	if st := tb.submit(`form[action="/moderation/conferences/` + id + `/approve"] button`); st != 200 || !strings.Contains(tb.text(".notice"), "Approved") {
		t.Fatalf("approve: %d at %s", st, tb.url())
	}
	a.waitFor("the hostile conference's page", func() bool { return tb.open("/conferences/"+id) == 200 })
	if got := tb.text("h1"); got != title {
		t.Errorf("h1 %q", got)
	}
	if got := tb.text("article"); !strings.Contains(got, "<b onmouseover=alert(2)>bold</b>") || !strings.Contains(got, `"><svg onload=alert(3)>`) {
		t.Errorf("description %q", got)
	}
	if got := tb.text(".facts"); !strings.Contains(got, sponsor) || !strings.Contains(got, `</p><h1>Injected</h1>`) {
		t.Errorf("facts %q", got)
	}
	noInjection("the conference page")
	// The schema.org Event as a crawler's browser reads it: one data
	// block, whose name is the title, "<script>" and all, type-checked
	// against schema.org's types (schema-dts).
	ld, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('script[type="application/ld+json"]')).map(s => s.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ld) != 1 {
		t.Fatalf("%d JSON-LD blocks on the conference page", len(ld))
	}
	var ev struct {
		Type string `json:"@type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(ld[0]), &ev); err != nil || ev.Type != "Event" || ev.Name != title {
		t.Errorf("JSON-LD read in Chromium: %+v (%v) from %s", ev, err, ld[0])
	}
	syndcheck.TypeCheckJSONLD(t, syndcheck.LD{Type: "Event", JSON: ld[0]})
	tb.check("hostile-conference")
	tb.open("/?q=" + strings.ReplaceAll(`"><script>alert(5)</script>`, " ", "+"))
	noInjection("a search for markup")
	tb.open("/")
	noInjection("the calendar")
	if !regexp.MustCompile(`Summit`).MatchString(tb.text(".results")) {
		t.Error("the calendar does not list it")
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.logs) > 0 {
		t.Fatalf("the pages ran something: %q", tb.logs)
	}
}

// TestBrowserResultsFirstOnPhone: on a phone, the results of a filtered
// list start on the first screen: the filters the selection used are
// counted in a closed box above them, not spread out before them (they
// were 3,400 px down).
func TestBrowserResultsFirstOnPhone(t *testing.T) {
	a := startApp(t)
	c := a.submitAPI("Phone Courts Conference", nextYear(6, 3), nil)
	a.approveAPI(c.ID)
	tb := newTab(t, a)
	tb.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	for _, path := range []string{"/", "/?topic=courts&topic=reentry&region=MD&region=VA&region=DC&q=courts", "/?from=" + nextYear(1, 1) + "&sponsor=OVC&topic=courts"} {
		if st := tb.open(path); st != 200 {
			t.Fatalf("%s: %d", path, st)
		}
		top, err := chromedp.Run(tb.ctx, chromedp.Evaluate[float64](`document.getElementById('h-results').getBoundingClientRect().top`))
		if err != nil {
			t.Fatal(err)
		}
		if top > 844-100 {
			t.Errorf("%s: on a phone the results start %.0f px down", path, top)
		}
	}
	// The filters are one tap away and say how many are chosen.
	if got := tb.text("details.more-filters > summary"); !strings.Contains(got, "(3 chosen)") {
		t.Errorf("the closed filters say %q", got)
	}
	tb.screenshot("phone-home-filtered")
}

// TestBrowserAxeEveryPage runs axe-core on every kind of page, public,
// forms (with and without errors), error pages and the editors' pages,
// at a desktop's width and a phone's: none may have a violation.
func TestBrowserAxeEveryPage(t *testing.T) {
	a := startApp(t)
	pub := a.submitAPI("Axe Published Conference", nextYear(6, 10), map[string]any{"sponsors": []string{"Office for Victims of Crime"},
		"description": "A published conference.", "url": "https://example.org/axe"})
	a.approveAPI(pub.ID)
	gone := a.submitAPI("Axe Cancelled Conference", nextYear(6, 11), map[string]any{"format": "online", "location": nil})
	a.approveAPI(gone.ID)
	if st := a.api("POST", "/api/v1/conferences/"+gone.ID+"/cancel", map[string]string{"reason": "Venue closed."}, nil, nil); st != 200 {
		t.Fatalf("cancel: %d", st)
	}
	no := a.submitAPI("Axe Rejected Conference", nextYear(6, 12), nil)
	if st := a.api("POST", "/api/v1/conferences/"+no.ID+"/reject", nil, nil, nil); st != 200 {
		t.Fatalf("reject: %d", st)
	}
	wait := a.submitAPI("Axe Pending Conference", nextYear(6, 13), map[string]any{"format": "hybrid"})
	a.waitFor("the cancellation on its page", func() bool {
		return strings.Contains(a.do("GET", "/conferences/"+gone.ID, nil, nil).body, "This conference is cancelled")
	})
	a.waitFor("the pending one in the queue", func() bool { return count(a.pending(), "Axe Pending Conference") == 1 })
	var hook struct{ ID string }
	if st := a.api("POST", "/api/v1/webhooks", map[string]string{"url": "https://partner.example/hook", "filter": "topic=courts&past=all"}, nil, &hook); st != http.StatusCreated {
		t.Fatalf("register a webhook: %d", st)
	}
	tb := newTab(t, a)
	month := nextYear(6, 1)[:7]
	public := []string{"/", "/?topic=courts&region=MD&q=axe", "/?topic=astrology&from=soon", "/month/" + month,
		"/month/" + month + "?topic=courts", "/month/1990-01", "/month/nope", "/conferences/" + pub.ID, "/conferences/" + gone.ID,
		"/conferences/nope", "/resources", "/resources/topics/courts", "/resources/ovc", "/resources/nope", "/no-such-page",
		"/submit", "/submit/done/" + wait.ID, "/moderation"}
	editors := []string{"/moderation", "/moderation/conferences/" + wait.ID, "/moderation/conferences/" + pub.ID,
		"/moderation/conferences/" + gone.ID, "/moderation/conferences/" + no.ID, "/moderation/conferences/" + wait.ID + "/edit",
		"/moderation/conferences/nope", "/moderation/webhooks", "/moderation/webhooks/" + hook.ID, "/moderation/webhooks/nope", "/moderation/mail"}
	// every checks the current set of pages at both widths.
	every := func(paths []string, extra func(phone bool)) {
		t.Helper()
		for _, phone := range []bool{false, true} {
			width := "desktop"
			if phone {
				width = "phone"
				tb.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
			}
			for _, path := range paths {
				tb.open(path)
				name := width + " " + path
				tb.axe(name)
				if phone && !tb.js(`document.documentElement.scrollWidth <= window.innerWidth`) {
					t.Errorf("%s is wider than a phone", name)
				}
			}
			if extra != nil {
				extra(phone)
			}
			tb.do("desktop", chromedp.ResetViewport())
		}
	}
	every(public, func(phone bool) {
		// The forms as shown again with their errors: /submit empty, and
		// a wrong token on the sign-in page.
		tb.open("/submit")
		if st := tb.submit("#submit"); st != http.StatusUnprocessableEntity {
			t.Fatalf("empty submission: %d", st)
		}
		tb.axe(fmt.Sprintf("submit with errors (phone %v)", phone))
		tb.open("/moderation")
		tb.do("wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token"))
		tb.submit(`form[action="/moderation/sign-in"] button`)
		tb.axe(fmt.Sprintf("sign-in refused (phone %v)", phone))
	})
	tb.open("/moderation")
	tb.do("token", chromedp.SendKeys(chromedp.ID("token"), editorToken))
	if st := tb.submit(`form[action="/moderation/sign-in"] button`); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	every(editors, func(phone bool) {
		if st := tb.open("/moderation/conferences/" + wait.ID + "/edit"); st != 200 {
			t.Fatalf("edit form: %d at %s", st, tb.url())
		}
		tb.do("break the title", chromedp.SetValue(chromedp.CSS("input#title"), " "))
		if st := tb.submit(`form.conference-form button[type="submit"]`); st != http.StatusUnprocessableEntity {
			t.Fatalf("edit without a title: %d", st)
		}
		tb.axe(fmt.Sprintf("edit with errors (phone %v)", phone))
		// Webhooks: the registration form with its errors, and the
		// answer showing the secret once.
		tb.open("/moderation/webhooks")
		tb.do("bad webhook", chromedp.SetValue(chromedp.ID("hook-url"), "https://partner.example/axe"), chromedp.SetValue(chromedp.ID("hook-filter"), "colour=red"))
		if st := tb.submit(`form[action="/moderation/webhooks"] button[type="submit"]`); st != http.StatusUnprocessableEntity {
			t.Fatalf("webhook with a bad filter: %d", st)
		}
		tb.axe(fmt.Sprintf("webhook registration with errors (phone %v)", phone))
		tb.open("/moderation/webhooks")
		tb.do("good webhook", chromedp.SetValue(chromedp.ID("hook-url"), "https://partner.example/axe"))
		if st := tb.submit(`form[action="/moderation/webhooks"] button[type="submit"]`); st != http.StatusCreated || !strings.HasPrefix(tb.value("#hook-secret"), "whsec_") {
			t.Fatalf("webhook registration: %d", st)
		}
		tb.axe(fmt.Sprintf("webhook registered (phone %v)", phone))
	})
}

// TestBrowserReportAProblem: a visitor follows "Report a problem with this
// listing" from a conference page, picks a reason, writes, sends (no
// script); an editor sees it in the queue with its count and resolves it.
func TestBrowserReportAProblem(t *testing.T) {
	a := startApp(t)
	c := a.submitAPI("Conference to report", nextYear(7, 1), nil)
	a.approveAPI(c.ID)
	tb := newTab(t, a)
	a.waitFor("the conference page", func() bool { return tb.open("/conferences/"+c.ID) == 200 })
	if st := tb.submit(`a[href="/conferences/` + c.ID + `/report"]`); st != 200 {
		t.Fatalf("report link: %d", st)
	}
	tb.check("report-form")
	tb.do("fill in the report",
		chromedp.Click(chromedp.ID("reason-duplicate")),
		chromedp.SendKeys(chromedp.ID("text"), "Listed again as <i>another</i> entry."))
	if st := tb.submit("#send-report"); st != 200 || !strings.Contains(tb.text("h1"), "your report was sent") {
		t.Fatalf("send: %d %q", st, tb.text("h1"))
	}
	tb.check("report-sent")

	tb.open("/moderation")
	tb.do("token", chromedp.SendKeys(chromedp.ID("token"), editorToken))
	if st := tb.submit(`form[action="/moderation/sign-in"] button`); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	a.waitFor("the report in the queue", func() bool {
		tb.open("/moderation")
		return strings.Contains(tb.text("main"), "1 open report")
	})
	if !strings.Contains(tb.text(".reports"), "Listed again as <i>another</i> entry.") {
		t.Errorf("the queue shows the report as %q", tb.text(".reports"))
	}
	tb.check("queue-reports")
	if st := tb.submit(`.reports form[action$="/resolve"] button`); st != 200 {
		t.Fatalf("resolve: %d", st)
	}
	a.waitFor("the report resolved", func() bool {
		tb.open("/moderation")
		return !strings.Contains(tb.text("main"), "open report")
	})
}

// TestBrowserOrganiserProposes: the organiser opens their private link
// (as the receipt mail carries it), proposes a new title through the
// filled submission form, and sees their proposal waiting, field by field;
// an editor accepts it from the queue; the pages pass axe.
func TestBrowserOrganiserProposes(t *testing.T) {
	a := startApp(t)
	c := a.submitAPI("Conference with a typo", nextYear(8, 3), nil)
	keys, err := serversecret.Load(a.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	link := "/organiser/" + organisers.NewLinks(keys, 0).Token(c.ID, domain.Contact{Email: "pat.organiser@example.org"}, time.Now())
	tb := newTab(t, a)
	if st := tb.open(link); st != 200 || !strings.Contains(tb.text(".status"), "Waiting for an editor") {
		t.Fatalf("private page: %d %q", st, tb.text(".status"))
	}
	tb.check("organiser")
	if st := tb.submit(`a[href$="/propose"]`); st != 200 {
		t.Fatalf("propose link: %d", st)
	}
	tb.check("organiser-propose")
	tb.do("fix the title", chromedp.SetValue(chromedp.ID("title"), "Conference without a typo"))
	if st := tb.submit("#send-proposal"); st != 200 || !strings.Contains(tb.text("main"), "Your proposed changes are with the editors") {
		t.Fatalf("send: %d %q", st, tb.text("main"))
	}
	if got := tb.text("table.diff"); !strings.Contains(got, "Conference with a typo") || !strings.Contains(got, "Conference without a typo") {
		t.Fatalf("the proposal as the page shows it: %q", got)
	}
	tb.check("organiser-proposed")

	// The editor sees it field by field in the queue and accepts it.
	tb.open("/moderation")
	tb.do("token", chromedp.SendKeys(chromedp.ID("token"), editorToken))
	if st := tb.submit(`form[action="/moderation/sign-in"] button`); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	a.waitFor("the proposal in the queue", func() bool {
		tb.open("/moderation")
		return strings.Contains(tb.text("main"), "The organiser proposes changes")
	})
	tb.check("queue-proposal")
	if st := tb.submit(`#accept-` + c.ID); st != 200 || !strings.Contains(tb.text("main"), "Accepted the organiser's proposed changes") {
		t.Fatalf("accept: %d %q", st, tb.text("main"))
	}
	if tb.open(link); !strings.Contains(tb.text("h1"), "Conference without a typo") {
		t.Fatalf("the private page after the acceptance: %q", tb.text("h1"))
	}
}
