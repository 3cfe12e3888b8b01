package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/feeds"
)

// /embed is the calendar for partner sites: the upcoming conferences of a
// selection (the feeds' filters: ?topic=&region=&sponsor=&q=) as a small
// HTML list meant for an <iframe>, with no script and no cookie. Its CSP's
// frame-ancestors is Config.EmbedOrigins (any site when none); every other
// page still refuses to be framed. Links open in a new tab, on this site.

// embedItems is how many conferences the list shows; a link leads to the
// rest.
const embedItems = 20

type embedData struct {
	Title       string
	CSS         string
	Base        string // the public URL, for links out of the frame
	Home        string // the calendar with the same selection
	Feed, Atom  string
	Conferences []conferenceView
	More        int
}

// checkOrigins refuses an embed origin that is not scheme://host[:port].
func checkOrigins(origins []string) error {
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" ||
			u.User != nil || u.Fragment != "" || strings.ContainsAny(o, " ;,'\"") {
			return fmt.Errorf("web: embed origin %q is not an origin like https://partner.example", o)
		}
	}
	return nil
}

// embedHeaders are /embed's headers: framed by the configured origins.
func (s *Server) embedHeaders(h http.Header) {
	ancestors := "*"
	if len(s.cfg.EmbedOrigins) > 0 {
		ancestors = strings.Join(s.cfg.EmbedOrigins, " ")
	}
	h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors "+ancestors)
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
}

// EmbedURL is the /embed address of a selection, for the snippet.
func (s *Server) embedURL(f feeds.Filter) string {
	q := url.Values{}
	f.AddQuery(q)
	u := s.absolute("/embed")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// EmbedSnippet is the <iframe> a partner site pastes.
func (s *Server) embedSnippet(f feeds.Filter) string {
	return `<iframe src="` + htmlAttr(s.embedURL(f)) + `" title="Criminal-justice conferences (Justice Events)" width="100%" height="600" loading="lazy" style="border:0"></iframe>`
}

func htmlAttr(v string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&#34;", "<", "&lt;", ">", "&gt;").Replace(v)
}

func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	f, err := feeds.ParseQuery(r.URL.Query())
	if err != nil {
		h := w.Header()
		s.embedHeaders(h)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, "This selection is not valid: use topic, region, sponsor and q as the calendar's feeds do.")
		s.metrics.requests.WithLabelValues("embed", "400").Inc()
		return
	}
	q := url.Values{}
	f.AddQuery(q)
	s.serveWith(w, r, "embed", "embed|"+q.Encode(), s.embedHeaders, func(now time.Time) rendered {
		h := homeQuery{filter: f}
		d := embedData{Title: "Upcoming criminal-justice conferences", CSS: s.cssPath, Base: strings.TrimSuffix(s.absolute("/"), "/"),
			Home: s.absolute("/") + strings.TrimPrefix(h.pageQuery(0), "/"), Feed: s.feedURL(f)}
		if s.cfg.Feeds != nil {
			d.Atom = s.cfg.Feeds.FeedURLAs(f, feeds.Atom)
		} else {
			d.Atom = strings.Replace(d.Feed, ".ics", ".atom", 1)
		}
		t := today(now)
		snap := s.dir.Snapshot()
		for _, l := range s.index().list {
			if l.end.Before(t) || !h.match(l) {
				continue
			}
			if len(d.Conferences) < embedItems {
				d.Conferences = append(d.Conferences, newConference(snap, l.c))
			} else {
				d.More++
			}
		}
		var b bytes.Buffer
		if err := s.tmpl["embed"].ExecuteTemplate(&b, "embed", d); err != nil {
			s.log.Error("page template failed", slog.String("template", "embed"), slog.Any("err", err))
			b.Reset()
			b.WriteString("<!DOCTYPE html><title>Error</title><p>This list could not be shown.</p>")
		}
		return rendered{http.StatusOK, httpcache.NewEntry(b.Bytes(), "text/html; charset=utf-8", "public, max-age=300", time.Time{})}
	})
}
