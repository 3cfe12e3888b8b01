package directory_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/directory"
)

// mapSource is a read model held in a map, for tests of what reads it.
type mapSource map[string]directory.Resource

func (m mapSource) Get(k string) (directory.Resource, bool) { r, ok := m[k]; return r, ok }
func (m mapSource) Range(fn func(string, directory.Resource) bool) {
	for k, v := range m {
		if !fn(k, v) {
			return
		}
	}
}

func (m mapSource) put(r directory.Resource) {
	if r.Status == "" {
		r.Status = directory.StatusActive
	}
	if r.Version == 0 {
		r.Version = uint64(len(m) + 1)
	}
	m[directory.Key(r.ID)] = r
}

func sample() mapSource {
	m := mapSource{}
	m.put(directory.Resource{ID: "ovc", Details: details("Office for Victims of Crime", "OVC", "victims-of-crime", "trafficking-in-persons")})
	m.put(directory.Resource{ID: "ovw", Details: details("Office on Violence Against Women", "OVW", "domestic-violence")})
	fbi := details("Federal Bureau of Investigation", "FBI", "trafficking-in-persons", "law-enforcement")
	fbi.Focus, fbi.Kind = "Human Trafficking", domain.KindAgency
	m.put(directory.Resource{ID: "fbi", Details: fbi})
	m.put(directory.Resource{ID: "ice", Status: directory.StatusRetired, Details: details("U.S. Immigration and Customs Enforcement", "ICE", "trafficking-in-persons")})
	// Two resources share an acronym: the acronym alone is ambiguous.
	m.put(directory.Resource{ID: "civil-rights-agency", Details: details("Civil Rights Agency", "CRA", "courts")})
	m.put(directory.Resource{ID: "crime-reduction-alliance", Details: details("Crime Reduction Alliance", "CRA", "crime-prevention")})
	return m
}

func TestLinkSponsors(t *testing.T) {
	index := directory.NewIndex(sample())
	tests := []struct {
		name string
		in   []domain.Sponsor
		want []domain.Sponsor
	}{
		{"nothing", nil, nil},
		{"acronym, any case", []domain.Sponsor{{Name: "ovc"}}, []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}}},
		{"name, any case and spacing", []domain.Sponsor{{Name: "office  on VIOLENCE against women"}}, []domain.Sponsor{{ID: "ovw", Name: "Office on Violence Against Women"}}},
		{"name with acronym", []domain.Sponsor{{Name: "Office for Victims of Crime (OVC)"}}, []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}}},
		{"published heading", []domain.Sponsor{{Name: "Federal Bureau of Investigation (FBI): Human Trafficking"}}, []domain.Sponsor{{ID: "fbi", Name: "Federal Bureau of Investigation"}}},
		{"id", []domain.Sponsor{{Name: "fbi"}}, []domain.Sponsor{{ID: "fbi", Name: "Federal Bureau of Investigation"}}},
		{"unknown name stays text", []domain.Sponsor{{Name: "Baltimore Coalition"}}, []domain.Sponsor{{Name: "Baltimore Coalition"}}},
		{"ambiguous acronym stays text", []domain.Sponsor{{Name: "CRA"}}, []domain.Sponsor{{Name: "CRA"}}},
		{"ambiguous acronym by full name", []domain.Sponsor{{Name: "Crime Reduction Alliance"}}, []domain.Sponsor{{ID: "crime-reduction-alliance", Name: "Crime Reduction Alliance"}}},
		{"retired by name stays text", []domain.Sponsor{{Name: "ICE"}}, []domain.Sponsor{{Name: "ICE"}}},
		{"retired by id stays linked", []domain.Sponsor{{Name: "ice"}}, []domain.Sponsor{{ID: "ice", Name: "U.S. Immigration and Customs Enforcement"}}},
		{"a link keeps its id and gets the current name", []domain.Sponsor{{ID: "ovw", Name: "Old name"}}, []domain.Sponsor{{ID: "ovw", Name: "Office on Violence Against Women"}}},
		{"a link to an unknown id is kept", []domain.Sponsor{{ID: "gone", Name: "Gone"}}, []domain.Sponsor{{ID: "gone", Name: "Gone"}}},
		{"two names of one resource kept once", []domain.Sponsor{{Name: "OVC"}, {Name: "Local group"}, {Name: "Office for Victims of Crime"}},
			[]domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}, {Name: "Local group"}}},
		{"hostile text stays text", []domain.Sponsor{{Name: "<script>ovc</script>"}}, []domain.Sponsor{{Name: "<script>ovc</script>"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := index.LinkSponsors(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("LinkSponsors(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestIndexFollowsChanges: a change marks the index stale; the next read
// sees it.
func TestIndexFollowsChanges(t *testing.T) {
	src := sample()
	index := directory.NewIndex(src)
	before := index.Snapshot()
	if index.Snapshot() != before {
		t.Fatal("an unchanged index rebuilt its snapshot")
	}
	old := src[directory.Key("ovc")]
	renamed := old
	renamed.Details.Name = "Office for Victims of Crime (OJP)"
	src.put(renamed)
	index.Changed(directory.Key("ovc"), old, true, renamed)
	// A record that appears renames too: until then, linked conferences
	// showed the name stored with them.
	if !directory.Renamed(old, true, renamed) || directory.Renamed(old, true, old) || !directory.Renamed(old, false, renamed) {
		t.Fatal("Renamed is wrong")
	}
	if name, _ := index.SponsorName("ovc"); name != renamed.Details.Name {
		t.Fatalf("SponsorName after a rename: %q", name)
	}
	if got := index.LinkSponsors([]domain.Sponsor{{Name: "Office for Victims of Crime (OJP)"}}); len(got) != 1 || got[0].ID != "ovc" {
		t.Fatalf("new name does not link: %v", got)
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		query   string
		want    directory.Query
		wantErr []string
	}{
		{"", directory.Query{Status: "active", Limit: 100}, nil},
		{"topic=Trafficking+in+Persons&topic=courts&kind=Task+Force&q=Victims+OF&status=all&offset=5&limit=10",
			directory.Query{Topics: []string{"trafficking-in-persons", "courts"}, Kinds: []domain.ResourceKind{domain.KindTaskForce},
				Words: []string{"victims", "of"}, Status: "all", Offset: 5, Limit: 10}, nil},
		{"topic=astrology&kind=club&status=gone&offset=-1&limit=5000&q=" + strings.Repeat("x", 201), directory.Query{},
			[]string{"topic", "kind", "q", "status", "offset", "limit"}},
	}
	for _, tt := range tests {
		v, _ := urlValues(tt.query)
		got, err := directory.ParseQuery(v)
		var fields []string
		if err != nil {
			var p struct {
				Errors []domain.FieldError `json:"errors"`
			}
			b, _ := json.Marshal(map[string]any{"errors": problemFields(err)})
			_ = json.Unmarshal(b, &p)
			for _, f := range p.Errors {
				fields = append(fields, f.Field)
			}
		}
		if !slices.Equal(fields, tt.wantErr) {
			t.Errorf("ParseQuery(%q) errors %v, want %v", tt.query, fields, tt.wantErr)
		}
		if tt.wantErr == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

// server serves the read API over src.
func server(t *testing.T, src mapSource) (*httptest.Server, *directory.Index) {
	t.Helper()
	index := directory.NewIndex(src)
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, directory.NewServer(index, quiet, nil).Routes(), nil, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, index
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestListAndGet(t *testing.T) {
	srv, _ := server(t, sample())
	ids := func(body []byte) []string {
		var l directory.List
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		var out []string
		for _, it := range l.Items {
			out = append(out, it.ID)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"civil-rights-agency", "crime-reduction-alliance", "fbi", "ovc", "ovw"}},
		{"?topic=trafficking-in-persons", []string{"fbi", "ovc"}},
		{"?topic=courts&topic=domestic-violence", []string{"civil-rights-agency", "ovw"}},
		{"?kind=agency", []string{"fbi"}},
		{"?q=VICTIMS+office", []string{"ovc"}},
		{"?q=human+trafficking", []string{"fbi"}}, // the focus is searched
		{"?topic=trafficking-in-persons&kind=office", []string{"ovc"}},
		{"?status=retired", []string{"ice"}},
		{"?status=all&topic=trafficking-in-persons", []string{"fbi", "ovc", "ice"}},
		{"?offset=1&limit=2", []string{"crime-reduction-alliance", "fbi"}},
		{"?offset=99", nil},
	}
	for _, tt := range tests {
		resp, body := get(t, srv.URL+"/api/v1/resources"+tt.query, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", tt.query, resp.StatusCode, body)
		}
		if got := ids(body); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	resp, body := get(t, srv.URL+"/api/v1/resources?topic=astrology", nil)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("bad query: %d %s", resp.StatusCode, body)
	}

	// One resource, retired ones included, with its links.
	resp, body = get(t, srv.URL+"/api/v1/resources/ice", nil)
	var v directory.View
	if err := json.Unmarshal(body, &v); resp.StatusCode != 200 || err != nil || v.Status != "retired" ||
		v.Links.History != "/api/v1/resources/ice/history" || v.Links.SponsorFeed != "/calendar/sponsors/ice.ics" {
		t.Fatalf("get ice: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv.URL+"/api/v1/resources/nope", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown resource: %d", resp.StatusCode)
	}
}

// TestETags: answers carry a strong ETag and Last-Modified and answer 304
// to a matching If-None-Match, until the directory changes.
func TestETags(t *testing.T) {
	src := sample()
	srv, index := server(t, src)
	for _, path := range []string{"/api/v1/resources", "/api/v1/resources/ovc", "/api/v1/resources?topic=courts"} {
		resp, _ := get(t, srv.URL+path, nil)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") == "" {
			t.Fatalf("%s: %d ETag %q", path, resp.StatusCode, etag)
		}
		again, body := get(t, srv.URL+path, map[string]string{"If-None-Match": etag})
		if again.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("%s with its ETag: %d", path, again.StatusCode)
		}
		zipped, _ := get(t, srv.URL+path, map[string]string{"Accept-Encoding": "gzip"})
		if zipped.Header.Get("ETag") != etag {
			t.Fatalf("%s: gzip form has another ETag", path)
		}
	}
	resp, _ := get(t, srv.URL+"/api/v1/resources/ovc", nil)
	etag := resp.Header.Get("ETag")
	old := src[directory.Key("ovc")]
	changed := old
	changed.Details.Description = "Changed."
	changed.Version++
	changed.Updated = time.Now()
	src.put(changed)
	index.Changed(directory.Key("ovc"), old, true, changed)
	if after, _ := get(t, srv.URL+"/api/v1/resources/ovc", map[string]string{"If-None-Match": etag}); after.StatusCode != 200 || after.Header.Get("ETag") == etag {
		t.Fatalf("after a change: %d, ETag %s", after.StatusCode, after.Header.Get("ETag"))
	}
}

// TestHostileTextInJSON: names with HTML and line breaks come back as
// typed, escaped by the JSON encoder, never as markup.
func TestHostileTextInJSON(t *testing.T) {
	src := mapSource{}
	hostile := details("<script>alert('x')</script>", "<b>", "courts")
	hostile.Description = "line one\r\nline two\n<img src=x onerror=alert(1)>"
	src.put(directory.Resource{ID: "evil", Details: hostile})
	srv, _ := server(t, src)
	for _, path := range []string{"/api/v1/resources", "/api/v1/resources/evil"} {
		_, body := get(t, srv.URL+path, nil)
		if strings.ContainsAny(string(body[:len(body)-1]), "<>\r\n") {
			t.Fatalf("%s has raw markup or line breaks: %s", path, body)
		}
		if !strings.Contains(string(body), `\u003cscript\u003e`) {
			t.Fatalf("%s: %s", path, body)
		}
	}
	_, body := get(t, srv.URL+"/api/v1/resources/evil", nil)
	var v directory.View
	if err := json.Unmarshal(body, &v); err != nil || v.Details.Name != hostile.Name || v.Details.Description != hostile.Description {
		t.Fatalf("hostile text did not come back as typed: %+v", v.Details)
	}
}

func urlValues(q string) (url.Values, error) { return url.ParseQuery(q) }

func problemFields(err error) []domain.FieldError {
	var he *httpapi.Error
	if errors.As(err, &he) {
		return he.Fields
	}
	return []domain.FieldError{{Field: "(not an *httpapi.Error)"}}
}
