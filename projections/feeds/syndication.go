package feeds

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
)

// Syndication: every feed (whole calendar, facet, combined query, one
// conference) is also served as RSS 2.0, Atom 1.0 (RFC 4287) and JSON Feed
// 1.1, at the .ics feed's path with another extension. The format is a
// dimension of its own, orthogonal to the filter: a feed kind added to
// Filter (ParseQuery, feedURL, handleFacet) has every format at once, and
// a change drops every format of the feeds that held the conference (the
// cached answers share the filter). The same conferences as the .ics feed
// (the window, cancelled ones included), newest change first.
//
// Written with encoding/xml and encoding/json and the standards' own
// element names rather than github.com/gorilla/feeds: gorilla/feeds has
// no Atom category scheme/label, no RSS category domain, no Atom
// <published> separate from <updated> on entries without a summary, sets
// Atom ids of its own making when none is given, and its JSON Feed is
// version 1 (not 1.1, no `authors`, no `language`). The structs below are
// short and say exactly what a reader gets.

// Format is a representation of a feed.
type Format string

// The formats of every feed.
const (
	ICS      Format = "ics"
	RSS      Format = "rss"
	Atom     Format = "atom"
	JSONFeed Format = "json"
)

// Formats lists every format, .ics first.
var Formats = []Format{ICS, RSS, Atom, JSONFeed}

func (f Format) ext() string { return "." + string(f) }

// ContentType is the media type the format is served with.
func (f Format) ContentType() string {
	switch f {
	case RSS:
		return "application/rss+xml; charset=utf-8"
	case Atom:
		return "application/atom+xml; charset=utf-8"
	case JSONFeed:
		return "application/feed+json; charset=utf-8"
	}
	return "text/calendar; charset=utf-8"
}

// cacheKey is the prepared answer's key: the .ics feed keeps the filter's
// key alone, as before formats existed.
func (f Format) cacheKey(fl Filter) string {
	if f == ICS {
		return fl.key()
	}
	return string(f) + "|" + fl.key()
}

// metricKind is the feed label of the request counters: the feed kind for
// .ics (as before), "<kind>.<format>" for the others (topic.atom).
func (f Format) metricKind(kind string) string {
	if f == ICS || f == "" {
		return kind
	}
	return kind + "." + string(f)
}

// cutFormat splits "courts.atom" into "courts" and its format.
func cutFormat(name string) (string, Format, bool) {
	for _, f := range Formats {
		if v, ok := strings.CutSuffix(name, f.ext()); ok {
			return v, f, true
		}
	}
	return "", "", false
}

// item is what every syndication format says of one conference.
type item struct {
	c         calendar.Conference
	id        string // the conference page's absolute URL: stable, unique
	title     string // "Cancelled: " before a cancelled one's title
	text      string // plain text: when, where, description, sponsors, format, link
	html      string // the same as HTML, escaped
	when      string
	start     string // RFC 3339 (timed, with its UTC offset) or a date (all-day)
	end       string // likewise; all-day: the last day
	tags      []string
	topics    []string
	cancelled bool
}

// renderSyndication assembles the RSS, Atom or JSON Feed form of f: the
// conferences of its .ics feed, newest change first.
func (s *Server) renderSyndication(f Filter, format Format, cut time.Time) (*httpcache.Entry, error) {
	var (
		items []item
		last  time.Time
	)
	add := func(c calendar.Conference, p *prepared) {
		if s.block(c, p) == nil {
			return // unrenderable: out of the .ics feed, out of these too
		}
		s.prepared.mu.Lock()
		it := p.item
		s.prepared.mu.Unlock()
		if it == nil {
			made := s.item(c, p) // once per version, like its VEVENT
			it = &made
			s.prepared.mu.Lock()
			p.item = it
			s.prepared.mu.Unlock()
		}
		items = append(items, *it)
	}
	if f.ID != "" {
		if c, ok := s.src.Get(calendar.Key(f.ID)); ok && c.Public() {
			last = c.Updated
			add(c, s.prepared.times(c))
		}
	} else {
		ix := s.publicIndex()
		last = ix.last
		for _, l := range ix.list {
			if !f.matches(l) {
				continue
			}
			if l.p.end.Before(cut) {
				if d := s.dropsOut(l.p.end); d.After(last) {
					last = d
				}
				continue
			}
			add(l.c, l.p)
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(b.c.Updated.Compare(a.c.Updated), strings.Compare(a.c.ID, b.c.ID))
	})
	meta := feedMeta{title: s.title(f), description: s.description(f), self: s.feedURL(f, format),
		home: s.pageURL(f), updated: last.UTC()}
	var (
		body []byte
		err  error
	)
	switch format {
	case RSS:
		body, err = s.encodeRSS(meta, items)
	case Atom:
		body, err = s.encodeAtom(meta, items)
	case JSONFeed:
		body, err = s.encodeJSONFeed(meta, items)
	default:
		return nil, fmt.Errorf("feeds: no syndication format %q", format)
	}
	if err != nil {
		return nil, fmt.Errorf("feeds: encode %s %s: %w", format, f.key(), err)
	}
	cc := fmt.Sprintf("public, max-age=%d", int(min(s.cfg.Refresh, time.Hour).Seconds()))
	return httpcache.NewPlainEntry(body, format.ContentType(), cc, last), nil
}

type feedMeta struct {
	title, description, self, home string
	updated                        time.Time
}

// item prepares what the formats say of c.
func (s *Server) item(c calendar.Conference, p *prepared) item {
	d := c.Details
	it := item{c: c, id: s.absolute("/conferences/" + c.ID), title: d.Title,
		cancelled: c.Status == domain.StatusCancelled}
	if it.cancelled {
		it.title = "Cancelled: " + d.Title
	}
	it.when, it.start, it.end = whenText(d, p)
	for _, t := range d.Topics {
		it.topics = append(it.topics, t)
		it.tags = append(it.tags, domain.TopicLabel(t))
	}
	where := d.Place()
	var txt, h strings.Builder
	para := func(label, v string) {
		if v == "" {
			return
		}
		if txt.Len() > 0 {
			txt.WriteString("\n\n")
		}
		txt.WriteString(label + v)
		h.WriteString("<p>")
		if label != "" {
			h.WriteString("<strong>" + html.EscapeString(strings.TrimSuffix(label, " ")) + "</strong> ")
		}
		h.WriteString(strings.ReplaceAll(html.EscapeString(v), "\n", "<br>"))
		h.WriteString("</p>")
	}
	para("When: ", it.when)
	para("Where: ", where)
	if it.cancelled {
		para("Cancelled. ", cmp.Or(c.CancelReason, "No reason given."))
	}
	para("", d.Description)
	named := s.withSponsorNames(d)
	for _, name := range described {
		if f, ok := domain.Field(name); ok {
			para(f.Label+": ", f.Text(named))
		}
	}
	para("Topics: ", strings.Join(it.tags, "; "))
	if d.URL != "" {
		para("Website: ", d.URL)
	}
	it.text, it.html = txt.String(), h.String()
	return it
}

// whenText is the conference's dates as people read them, and its start
// and end as machines do: RFC 3339 with the UTC offset of its zone for
// timed conferences, dates alone (the last day inclusive) for all-day ones.
func whenText(d domain.ConferenceDetails, p *prepared) (text, start, end string) {
	if d.AllDay {
		first, last := p.start, p.end.AddDate(0, 0, -1)
		start, end = first.Format(time.DateOnly), last.Format(time.DateOnly)
		if start == end {
			return first.Format("Monday 2 January 2006"), start, end
		}
		return first.Format("2 January 2006") + " – " + last.Format("2 January 2006"), start, end
	}
	zone := d.Timezone
	st, en := p.start, p.end
	start, end = st.Format(time.RFC3339), en.Format(time.RFC3339)
	if st.Format(time.DateOnly) == en.Format(time.DateOnly) {
		return st.Format("Monday 2 January 2006, 15:04") + " – " + en.Format("15:04") + " (" + zone + ")", start, end
	}
	return st.Format("2 January 2006 15:04") + " – " + en.Format("2 January 2006 15:04") + " (" + zone + ")", start, end
}

// RSS 2.0 (https://www.rssboard.org/rss-specification), with atom:link
// rel="self" as the RSS Advisory Board recommends.
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate,omitempty"`
	TTL           int       `xml:"ttl"`
	Self          atomLink  `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string        `xml:"title"`
	Link        string        `xml:"link"`
	GUID        rssGUID       `xml:"guid"`
	PubDate     string        `xml:"pubDate"`
	Description string        `xml:"description"`
	Categories  []rssCategory `xml:"category"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssCategory struct {
	Domain string `xml:"domain,attr,omitempty"`
	Value  string `xml:",chardata"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

func (s *Server) encodeRSS(m feedMeta, items []item) ([]byte, error) {
	doc := rssDoc{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title: m.title, Link: m.home, Description: m.description, Language: "en-us",
		TTL:  int(s.cfg.Refresh.Minutes()),
		Self: atomLink{Href: m.self, Rel: "self", Type: RSS.MediaType()},
	}}
	if !m.updated.IsZero() {
		doc.Channel.LastBuildDate = m.updated.Format(time.RFC1123Z)
	}
	for _, it := range items {
		ri := rssItem{Title: it.title, Link: it.id, GUID: rssGUID{IsPermaLink: "true", Value: it.id},
			// The item's last change: readers sort by it, and a change
			// (a cancellation) shows as new.
			PubDate:     it.c.Updated.UTC().Format(time.RFC1123Z),
			Description: it.html}
		for i, t := range it.topics {
			ri.Categories = append(ri.Categories, rssCategory{Domain: s.absolute("/calendar/topics/" + t), Value: it.tags[i]})
		}
		doc.Channel.Items = append(doc.Channel.Items, ri)
	}
	return marshalXML(doc)
}

// Atom 1.0 (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   atomText    `xml:"title"`
	Sub     atomText    `xml:"subtitle"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published,omitempty"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
	Content    atomText       `xml:"content"`
}

type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr,omitempty"`
	Label  string `xml:"label,attr,omitempty"`
}

func (s *Server) encodeAtom(m feedMeta, items []item) ([]byte, error) {
	updated := m.updated
	if updated.IsZero() {
		updated = time.Unix(0, 0).UTC() // required; an empty calendar never changed
	}
	doc := atomFeed{Lang: "en-US", ID: m.self, Title: atomText{Type: "text", Value: m.title},
		Sub: atomText{Type: "text", Value: m.description}, Updated: updated.Format(time.RFC3339),
		Author: atomPerson{Name: "Justice Events", URI: s.absolute("/")},
		Links: []atomLink{{Href: m.self, Rel: "self", Type: Atom.MediaType()},
			{Href: m.home, Rel: "alternate", Type: "text/html"}}}
	for _, it := range items {
		e := atomEntry{ID: it.id, Title: atomText{Type: "text", Value: it.title},
			Updated: it.c.Updated.UTC().Format(time.RFC3339),
			Links:   []atomLink{{Href: it.id, Rel: "alternate", Type: "text/html"}},
			Summary: atomText{Type: "text", Value: it.when},
			Content: atomText{Type: "html", Value: it.html}}
		if !it.c.Published.IsZero() {
			e.Published = it.c.Published.UTC().Format(time.RFC3339)
		}
		if u := it.c.Details.URL; u != "" {
			e.Links = append(e.Links, atomLink{Href: u, Rel: "related", Type: "text/html"})
		}
		for i, t := range it.topics {
			e.Categories = append(e.Categories, atomCategory{Term: t, Scheme: s.absolute("/calendar/topics/"), Label: it.tags[i]})
		}
		doc.Entries = append(doc.Entries, e)
	}
	return marshalXML(doc)
}

// MediaType is ContentType without its parameters (a link's type).
func (f Format) MediaType() string {
	t, _, _ := strings.Cut(f.ContentType(), ";")
	return t
}

func marshalXML(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", " ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/). The conference's
// dates and status are in the item's `_justice_events` extension (custom
// keys start with an underscore, §"Extensions").
type jsonFeed struct {
	Version     string         `json:"version"`
	Title       string         `json:"title"`
	HomePageURL string         `json:"home_page_url"`
	FeedURL     string         `json:"feed_url"`
	Description string         `json:"description"`
	Language    string         `json:"language"`
	Authors     []jsonAuthor   `json:"authors"`
	Items       []jsonFeedItem `json:"items"`
}

type jsonAuthor struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

type jsonFeedItem struct {
	ID            string        `json:"id"`
	URL           string        `json:"url"`
	ExternalURL   string        `json:"external_url,omitempty"`
	Title         string        `json:"title"`
	ContentHTML   string        `json:"content_html"`
	ContentText   string        `json:"content_text"`
	Summary       string        `json:"summary"`
	DatePublished string        `json:"date_published,omitempty"`
	DateModified  string        `json:"date_modified"`
	Tags          []string      `json:"tags,omitempty"`
	Extension     jsonExtension `json:"_justice_events"`
}

// jsonExtension is what a program needs beyond the text: when the
// conference is and whether it is cancelled.
type jsonExtension struct {
	About    string   `json:"about"`
	Status   string   `json:"status"`
	AllDay   bool     `json:"all_day"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Timezone string   `json:"timezone,omitempty"`
	Topics   []string `json:"topics"`
	Region   string   `json:"region,omitempty"`
}

func (s *Server) encodeJSONFeed(m feedMeta, items []item) ([]byte, error) {
	doc := jsonFeed{Version: "https://jsonfeed.org/version/1.1", Title: m.title, HomePageURL: m.home,
		FeedURL: m.self, Description: m.description, Language: "en-US",
		Authors: []jsonAuthor{{Name: "Justice Events", URL: s.absolute("/")}}, Items: []jsonFeedItem{}}
	for _, it := range items {
		d := it.c.Details
		ji := jsonFeedItem{ID: it.id, URL: it.id, ExternalURL: d.URL, Title: it.title,
			ContentHTML: it.html, ContentText: it.text, Summary: it.when,
			DateModified: it.c.Updated.UTC().Format(time.RFC3339), Tags: it.tags,
			Extension: jsonExtension{About: s.absolute("/api/v1/conferences/" + it.c.ID), Status: string(it.c.Status),
				AllDay: d.AllDay, Start: it.start, End: it.end, Timezone: d.Timezone,
				Topics: append([]string{}, it.topics...), Region: d.Location.Region}}
		if !it.c.Published.IsZero() {
			ji.DatePublished = it.c.Published.UTC().Format(time.RFC3339)
		}
		doc.Items = append(doc.Items, ji)
	}
	body, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}
