package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/web"
)

// TestEmbed: /embed lists the selection's upcoming conferences with no
// script and no cookie, may be framed by any site (no origins configured)
// or only by the configured ones, and the home page's subscribe box offers
// the <iframe> snippet of the selection.
func TestEmbed(t *testing.T) {
	now := time.Now().UTC()
	cal := calSource{
		calendar.Key("a"): conference("a", `Courts </iframe><script>x</script> summit`, now.AddDate(0, 1, 0), 2, domain.StatusApproved, []string{"courts"}),
		calendar.Key("b"): conference("b", "Reentry forum", now.AddDate(0, 1, 5), 1, domain.StatusApproved, []string{"reentry"}),
		calendar.Key("c"): conference("c", "Old courts meeting", now.AddDate(0, -1, 0), 1, domain.StatusApproved, []string{"courts"}),
	}
	s := newSite(t, seeded(), cal)
	p := s.get("/embed?topic=courts", nil)
	if p.status != 200 {
		t.Fatalf("/embed: %d", p.status)
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.HasSuffix(csp, "frame-ancestors *") || p.header.Get("X-Frame-Options") != "" || p.header.Get("Set-Cookie") != "" {
		t.Errorf("headers %v", p.header)
	}
	if !strings.Contains(p.body, `id="c-a"`) || strings.Contains(p.body, `id="c-b"`) || strings.Contains(p.body, `id="c-c"`) {
		t.Errorf("the list is not the upcoming courts conferences:\n%s", p.body)
	}
	for _, raw := range []string{"<script", "<iframe", "<form", "<img"} {
		if strings.Contains(p.body, raw) {
			t.Errorf("raw %q in /embed", raw)
		}
	}
	if r := s.get("/embed?topic=nonsense", nil); r.status != 400 {
		t.Errorf("a bad selection: %d", r.status)
	}
	// Other pages still refuse frames.
	if h := s.get("/", nil).header; h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("home headers %v", h)
	}
	home := s.get("/?topic=courts", nil)
	snippet := `&lt;iframe src=&#34;https://events.example/embed?topic=courts&#34;`
	if !strings.Contains(home.body, snippet) && !strings.Contains(home.body, strings.ReplaceAll(snippet, "&#34;", "&amp;#34;")) {
		t.Errorf("the subscribe box offers no snippet of the selection")
	}

	// Configured origins: only they may frame it; a bad one stops New.
	u, _ := url.Parse("https://events.example")
	only := newSiteWith(t, seeded(), cal, web.Config{PublicURL: u, EmbedOrigins: []string{"https://partner.example", "http://localhost:3000"}})
	if got := only.get("/embed", nil).header.Get("Content-Security-Policy"); !strings.HasSuffix(got, "frame-ancestors https://partner.example http://localhost:3000") {
		t.Errorf("CSP %q", got)
	}
	if _, err := web.New(web.Config{PublicURL: u, EmbedOrigins: []string{"https://partner.example/path; script-src *"}}, directory.NewIndex(seeded()), cal, quiet, nil); err == nil {
		t.Error("a bad origin is taken")
	}
}
