package feeds

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

func serve(t *testing.T) (*httptest.Server, *Server) {
	t.Helper()
	s := newServer(t, newSource(sample(t)...))
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, s.Routes(nil), nil, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

func request(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A bare transport: no transparent gzip, so the test sees the bytes.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestFeedHTTP(t *testing.T) {
	srv, _ := serve(t)
	for _, tt := range []struct {
		path, file string
	}{
		{"/calendar.ics", "justice-events.ics"},
		{"/calendar/topics/courts.ics", "justice-events-courts.ics"},
		{"/calendar/regions/NY.ics", "justice-events-NY.ics"},
		{"/calendar/regions/ny.ics", "justice-events-NY.ics"},
		{"/calendar/sponsors/Office%20for%20Victims%20of%20Crime.ics", "justice-events-office-for-victims-of-crime.ics"},
		{"/calendar.ics?topic=courts&region=NY&q=bail", "justice-events-search.ics"},
		{"/calendar.ics?topic=courts&topic=reentry", "justice-events-search.ics"},
		{"/conferences/c-summit.ics", "justice-events-conference-c-summit.ics"},
		{"/conferences/c-old.ics", "justice-events-conference-c-old.ics"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := request(t, "GET", srv.URL+tt.path, nil)
			h := resp.Header
			if resp.StatusCode != 200 || h.Get("Content-Type") != "text/calendar; charset=utf-8" || !bytes.HasPrefix(body, []byte("BEGIN:VCALENDAR\r\n")) {
				t.Fatalf("%d %v", resp.StatusCode, h)
			}
			etag, lm := h.Get("ETag"), h.Get("Last-Modified")
			if !strings.HasPrefix(etag, `"`) || lm == "" || h.Get("Cache-Control") != "public, max-age=3600" ||
				h.Get("Vary") != "Accept-Encoding" || h.Get("Content-Disposition") != `inline; filename="`+tt.file+`"` {
				t.Fatalf("headers %v", h)
			}
			// HEAD: the same headers, no body.
			head, hb := request(t, "HEAD", srv.URL+tt.path, nil)
			if head.StatusCode != 200 || len(hb) != 0 || head.Header.Get("ETag") != etag || head.Header.Get("Content-Length") != h.Get("Content-Length") {
				t.Fatalf("HEAD: %d, %d bytes, %v", head.StatusCode, len(hb), head.Header)
			}
			// 304 to either validator.
			for _, v := range []map[string]string{{"If-None-Match": etag}, {"If-None-Match": `"x", W/` + etag}, {"If-Modified-Since": lm}} {
				r, b := request(t, "GET", srv.URL+tt.path, v)
				if r.StatusCode != http.StatusNotModified || len(b) != 0 || r.Header.Get("ETag") != etag {
					t.Fatalf("%v: %d", v, r.StatusCode)
				}
			}
			if r, _ := request(t, "GET", srv.URL+tt.path, map[string]string{"If-None-Match": `"other"`}); r.StatusCode != 200 {
				t.Fatalf("another ETag: %d", r.StatusCode)
			}
			if before := time.Now().Add(-400 * 24 * time.Hour).UTC().Format(http.TimeFormat); true {
				if r, _ := request(t, "GET", srv.URL+tt.path, map[string]string{"If-Modified-Since": before}); r.StatusCode != 200 {
					t.Fatalf("If-Modified-Since long ago: %d", r.StatusCode)
				}
			}
			// gzip when asked, and only then (small feeds are not worth it).
			if len(body) >= 1024 {
				r, zb := request(t, "GET", srv.URL+tt.path, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
				if r.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("no gzip: %v", r.Header)
				}
				zr, err := gzip.NewReader(bytes.NewReader(zb))
				if err != nil {
					t.Fatal(err)
				}
				if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, body) {
					t.Fatal("the gzip form differs from the feed")
				}
				if r, _ := request(t, "GET", srv.URL+tt.path, map[string]string{"Accept-Encoding": "gzip;q=0"}); r.Header.Get("Content-Encoding") != "" {
					t.Fatal("gzip;q=0 got gzip")
				}
			}
		})
	}
}

func TestFeedHTTPRefusals(t *testing.T) {
	srv, _ := serve(t)
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/calendar/topics/gardening.ics", 404},
		{"/calendar/topics/Courts.ics", 404},
		{"/calendar/topics/courts", 404},
		{"/calendar/regions/ZZ.ics", 404},
		{"/calendar/regions/Maryland.ics", 404},
		{"/conferences/c-pending.ics", 404},
		{"/conferences/c-rejected.ics", 404},
		{"/conferences/nope.ics", 404},
		{"/conferences/c-summit", 404},
		{"/calendar.ics?topic=gardening", 400},
		{"/calendar.ics?region=ZZ", 400},
		{"/calendar.ics?q=" + strings.Repeat("x", 201), 400},
		{"/calendar.ics?" + strings.Repeat("topic=courts&", 51), 400},
		{"/calendar.ics?past=yes", 400},
		{"/calendar/topics/courts.ics?past=1", 400},
	} {
		resp, body := request(t, "GET", srv.URL+tt.path, nil)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, _ := request(t, "POST", srv.URL+"/calendar.ics", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// TestPastAllHTTP: ?past=all works on every list feed, facet paths too,
// and on the read API; the feed names itself and says so.
func TestPastAllHTTP(t *testing.T) {
	srv, _ := serve(t)
	for _, path := range []string{"/calendar.ics?past=all", "/calendar/topics/courts.ics?past=all",
		"/calendar/regions/NY.ics?past=all", "/calendar/sponsors/Office%20for%20Victims%20of%20Crime.ics?past=all",
		"/calendar.ics?topic=courts&past=all"} {
		resp, body := request(t, "GET", srv.URL+path, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "?past=all\r\n") || // SOURCE
			!strings.Contains(string(body), "Every past conference stays in this feed") {
			t.Errorf("%s: %d\n%s", path, resp.StatusCode, body)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "-all.ics") && !strings.Contains(cd, "search-all") {
			t.Errorf("%s: Content-Disposition %q", path, cd)
		}
	}
	resp, body := request(t, "GET", srv.URL+"/api/v1/conferences?past=all", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ics":"https://events.test/calendar.ics?past=all"`) {
		t.Errorf("the read API with ?past=all: %d %s", resp.StatusCode, body)
	}
}

// TestWebcalLinks: every place that offers a feed offers its webcal form.
func TestWebcalLinks(t *testing.T) {
	srv, _ := serve(t)
	_, body := request(t, "GET", srv.URL+"/api/v1/conferences/c-summit", nil)
	var view ConferenceView
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	if view.Links.ICS != "https://events.test/conferences/c-summit.ics" || view.Links.Webcal != "webcal://events.test/conferences/c-summit.ics" {
		t.Fatalf("conference links %+v", view.Links)
	}
	_, body = request(t, "GET", srv.URL+"/api/v1/conferences?topic=courts&region=NY", nil)
	var list ConferenceList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if list.Links.ICS != "https://events.test/calendar.ics?region=NY&topic=courts" || list.Links.Webcal != "webcal://events.test/calendar.ics?region=NY&topic=courts" ||
		list.Total != 1 || list.Items[0].ID != "c-bail" || list.Items[0].Links.Webcal == "" {
		t.Fatalf("list %+v", list)
	}
	_, body = request(t, "GET", srv.URL+"/api/v1/feeds", nil)
	var index FeedIndex
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range index.Feeds {
		kinds[f.Kind]++
		if !strings.HasPrefix(f.ICS, "https://events.test/") || f.Webcal != Webcal(f.ICS) || !strings.HasPrefix(f.Webcal, "webcal://") || f.Name == "" {
			t.Fatalf("feed %+v", f)
		}
		// Every listed feed is served.
		path := strings.TrimPrefix(f.ICS, "https://events.test")
		if resp, _ := request(t, "GET", srv.URL+path, nil); resp.StatusCode != 200 {
			t.Fatalf("listed feed %s: %d", path, resp.StatusCode)
		}
	}
	if kinds["all"] != 1 || kinds["topic"] != 15 || kinds["region"] != 56 || kinds["sponsor"] != 3 {
		t.Fatalf("feed kinds %v", kinds)
	}
	// Every feed names its own address (SOURCE) in https form.
	_, ics := request(t, "GET", srv.URL+"/calendar/sponsors/Polaris%20Project.ics", nil)
	if !bytes.Contains(bytes.ReplaceAll(ics, []byte("\r\n "), nil), []byte("SOURCE;VALUE=URI:https://events.test/calendar/sponsors/Polaris%20Project.ics\r\n")) {
		t.Fatalf("SOURCE of a sponsor feed:\n%s", ics)
	}
}

// TestEveryFacet: each vocabulary of domain.Facets has a feed per term, a
// query parameter that names itself when its value is wrong, and a title
// that says the term, whatever the facet.
func TestEveryFacet(t *testing.T) {
	srv, s := serve(t)
	for _, facet := range domain.Facets {
		t.Run(facet.Param, func(t *testing.T) {
			term := facet.Terms[len(facet.Terms)-1]
			path := "/calendar/" + facet.Path + "/" + term.Value + ".ics"
			resp, body := request(t, "GET", srv.URL+path, nil)
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), `"justice-events-`+term.Value+`.ics"`) {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Disposition"))
			}
			unfolded := string(bytes.ReplaceAll(body, []byte("\r\n "), nil))
			if !strings.Contains(unfolded, "\r\nSOURCE;VALUE=URI:https://events.test"+path+"\r\n") ||
				!strings.Contains(unfolded, "\r\nNAME:Justice Events: "+strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`).Replace(term.Label)) {
				t.Errorf("%s names itself wrong:\n%s", path, unfolded[:min(len(unfolded), 600)])
			}
			if got := s.FeedURL(Facet(facet.Param, term.Value)); got != "https://events.test"+path {
				t.Errorf("FeedURL = %s", got)
			}
			if resp, _ := request(t, "GET", srv.URL+"/calendar/"+facet.Path+"/no-such-term.ics", nil); resp.StatusCode != 404 {
				t.Errorf("unknown term: %d", resp.StatusCode)
			}
			resp, body = request(t, "GET", srv.URL+"/calendar.ics?"+facet.Param+"=no-such-term", nil)
			if resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"`+facet.Param+`"`) {
				t.Errorf("?%s=no-such-term: %d %s", facet.Param, resp.StatusCode, body)
			}
		})
	}
}
