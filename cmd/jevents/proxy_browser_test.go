package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// testBrowserThroughProxy: Debian's Chromium goes the whole way through the
// proxy, over TLS with the test's certificate (trusted by its public key,
// nothing else): it submits a conference on the form (intake), signs in
// and approves it on the moderation pages (editors), finds it on the
// calendar (feeds) and takes the subscribe box's feed address, which the
// test then fetches through the proxy. Screenshots go to
// $JEVENTS_TEST_ARTIFACTS/cluster/ (default testartifacts/cluster/).
func testBrowserThroughProxy(t *testing.T, px *webProxy) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatal("Chromium is missing: run scripts/install-test-deps.sh (make test does)")
	}
	profile := t.TempDir()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// events.test is the proxy on loopback; its certificate is the one
		// the test made (Chromium trusts exactly that public key).
		chromedp.Flag("host-resolver-rules", "MAP "+siteName+" 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", px.spki),
		chromedp.Env("LANG=en_US.UTF-8", "TZ=UTC"))
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelT()

	shots := filepath.Join(os.Getenv("JEVENTS_TEST_ARTIFACTS"), "cluster")
	if os.Getenv("JEVENTS_TEST_ARTIFACTS") == "" {
		shots = repoPath(t, ".") + "/testartifacts/cluster"
	}
	_ = os.MkdirAll(shots, 0o755)
	shot := func(name string) {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(shots, "proxy-"+name+".png"), png, 0o644)
		}
	}
	open := func(path string) int64 {
		t.Helper()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(px.url(path)))
		if err != nil {
			t.Fatalf("open %s through the proxy: %v", path, err)
		}
		return resp.Status
	}
	click := func(sel string) int64 {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
		return resp.Status
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	exists := func(sel string) bool {
		ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
		return ok
	}

	// Submit on the form: intake, through the proxy.
	year := strconv.Itoa(time.Now().Year() + 1)
	title := "Reentry Practitioners Forum " + year
	if st := open("/submit"); st != http.StatusOK {
		t.Fatalf("/submit through the proxy: %d", st)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("title"), title),
		chromedp.SendKeys(chromedp.ID("description"), "Two days for reentry practitioners."),
		chromedp.SetValue(chromedp.ID("start_date"), year+"-09-14"),
		chromedp.SetValue(chromedp.ID("end_date"), year+"-09-15"),
		chromedp.SendKeys(chromedp.ID("city"), "Denver"),
		chromedp.SetValue(chromedp.ID("region"), "CO"),
		chromedp.SendKeys(chromedp.ID("contact_email"), "forum@example.org"),
		chromedp.Click(chromedp.ID("topic-courts")),
	); err != nil {
		t.Fatalf("fill in the form: %v", err)
	}
	if st := click("#submit"); st != http.StatusOK {
		shot("submit-failed")
		t.Fatalf("submit the form through the proxy: %d", st)
	}
	id := text("#tracking")
	shot("submitted")

	// Sign in and approve: editors, through the same origin.
	if st := open("/moderation"); st != http.StatusOK {
		t.Fatalf("/moderation through the proxy: %d", st)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), token)); err != nil {
		t.Fatal(err)
	}
	if st := click(`form[action="/moderation/sign-in"] button`); st != http.StatusOK {
		t.Fatalf("sign in through the proxy: %d", st)
	}
	approve := `form[action="/moderation/conferences/` + id + `/approve"] button`
	waitFor(t, 30*time.Second, "the submission in the queue", func() error {
		open("/moderation")
		if !exists(approve) {
			return fmt.Errorf("no approve button for %s", id)
		}
		return nil
	})
	shot("queue")
	if st := click(approve); st != http.StatusOK || !strings.Contains(text(".notice"), "Approved") {
		t.Fatalf("approve through the proxy: %d", st)
	}

	// On the calendar (feeds), and subscribed to.
	waitFor(t, 30*time.Second, "the approved conference on the calendar", func() error {
		open("/")
		if !exists(`a[href="/conferences/` + id + `"]`) {
			return fmt.Errorf("not on / yet")
		}
		return nil
	})
	shot("home")
	feed, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#feed-url")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(feed, "https://"+siteName+"/") {
		t.Fatalf("the subscribe box offers %q, not an address of the site", feed)
	}
	// The address as a calendar app would fetch it (events.test on 443
	// is the proxy).
	st, ics := send(t, px.client(""), http.MethodGet, feed, nil)
	if st != http.StatusOK || !strings.Contains(ics, "UID:"+uidOf(id)) || !strings.Contains(ics, "SUMMARY:"+title) {
		t.Fatalf("the feed %s through the proxy: %d\n%.400s", feed, st, ics)
	}
}
