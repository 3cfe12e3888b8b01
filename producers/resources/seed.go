package resources

import (
	"cmp"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
)

// publishedPage is the published directory page the seed is parsed from;
// see seeddata/README.md for its origin and the parsing rules.
//
//go:embed seeddata/justice-events-resources-page.txt
var publishedPage string

// SeedPage is a published directory page, parsed.
type SeedPage struct {
	Sections []SeedSection `json:"sections"`
	// Closing is the text after the entries: the published disclaimer
	// about links to non-federal sites.
	Closing string `json:"closing"`
}

// SeedSection is one topic of the page.
type SeedSection struct {
	Topic   string      `json:"topic"` // slug
	Title   string      `json:"title"` // as published
	Intro   string      `json:"intro"`
	Entries []SeedEntry `json:"entries"`
}

// SeedEntry is one resource of the page.
type SeedEntry struct {
	ID string `json:"id"`
	// Line is the heading's line number in the text, for error messages.
	Line    int                    `json:"line"`
	Heading string                 `json:"heading"`
	Details domain.ResourceDetails `json:"details"`
}

// Entries lists every entry of the page once, in page order. An entry
// under several topics is merged into one resource with all of them.
func (p *SeedPage) Entries() []SeedEntry {
	var out []SeedEntry
	for _, s := range p.Sections {
		out = append(out, s.Entries...)
	}
	return out
}

// Published returns the page embedded in the binary, parsed. It panics if
// the embedded text does not parse, which its tests rule out.
func Published() *SeedPage {
	p, err := ParseSeed(publishedPage)
	if err != nil {
		panic("resources: embedded seed page: " + err.Error())
	}
	return p
}

// PublishedText is the embedded page's text as kept in the repository.
func PublishedText() string { return publishedPage }

// SeedError names the line of the text at fault.
type SeedError struct {
	Line int
	Msg  string
}

func (e *SeedError) Error() string { return fmt.Sprintf("seed: line %d: %s", e.Line, e.Msg) }

// paragraph is a run of non-blank lines.
type paragraph struct {
	line  int // first line, from 1
	lines []string
}

// maxSeedBytes bounds the text ParseSeed reads: the published page is 7 KB.
const maxSeedBytes = 1 << 20

var sectionTitle = regexp.MustCompile(`^(.+?)\s+-\s+Related Resources$`)

// ParseSeed reads a directory page in the published format; see
// seeddata/README.md for the rules. Every entry is validated as an editor's
// input would be.
func ParseSeed(text string) (*SeedPage, error) {
	if len(text) > maxSeedBytes {
		return nil, &SeedError{Line: 1, Msg: fmt.Sprintf("the text is larger than %d bytes", maxSeedBytes)}
	}
	page := &SeedPage{}
	var (
		cur     *SeedSection
		closing []string
		byID    = map[string][2]int{} // id → section, entry
	)
	for _, p := range paragraphs(text) {
		if len(p.lines) == 1 {
			line := p.lines[0]
			if m := sectionTitle.FindStringSubmatch(line); m != nil {
				t, ok := domain.LookupTopic(m[1])
				if !ok {
					return nil, &SeedError{Line: p.line, Msg: fmt.Sprintf("%q is not a topic of the calendar", m[1])}
				}
				if cur != nil && len(cur.Entries) == 0 {
					return nil, &SeedError{Line: p.line, Msg: fmt.Sprintf("section %q has no entries", cur.Title)}
				}
				page.Sections = append(page.Sections, SeedSection{Topic: t.Slug, Title: line})
				cur = &page.Sections[len(page.Sections)-1]
				continue
			}
			switch {
			case cur == nil: // page chrome before the first section
			case len(cur.Entries) == 0:
				cur.Intro = joinNonEmpty(cur.Intro, line, "\n\n")
			default:
				closing = append(closing, line)
			}
			continue
		}
		if cur == nil {
			return nil, &SeedError{Line: p.line, Msg: "an entry before any section title (\"<Topic> - Related Resources\")"}
		}
		e, err := parseEntry(p, cur.Topic)
		if err != nil {
			return nil, err
		}
		if at, ok := byID[e.ID]; ok {
			prev := &page.Sections[at[0]].Entries[at[1]]
			if prev.Heading != e.Heading {
				return nil, &SeedError{Line: p.line, Msg: fmt.Sprintf("%q and %q (line %d) both get the id %q", e.Heading, prev.Heading, prev.Line, e.ID)}
			}
			if len(prev.Details.Topics) >= domain.MaxTopics {
				return nil, &SeedError{Line: p.line, Msg: fmt.Sprintf("%q is listed under more than %d topics", e.Heading, domain.MaxTopics)}
			}
			if !slices.Contains(prev.Details.Topics, cur.Topic) {
				prev.Details.Topics = append(prev.Details.Topics, cur.Topic)
			}
			continue
		}
		cur.Entries = append(cur.Entries, e)
		byID[e.ID] = [2]int{len(page.Sections) - 1, len(cur.Entries) - 1}
	}
	if len(page.Sections) == 0 {
		return nil, &SeedError{Line: 1, Msg: "no section title (\"<Topic> - Related Resources\")"}
	}
	if last := page.Sections[len(page.Sections)-1]; len(last.Entries) == 0 {
		return nil, &SeedError{Line: 1, Msg: fmt.Sprintf("section %q has no entries", last.Title)}
	}
	page.Closing = strings.Join(closing, "\n\n")
	return page, nil
}

// paragraphs splits normalised text at blank lines.
func paragraphs(text string) []paragraph {
	text = domain.CleanText(strings.TrimPrefix(text, "\ufeff"))
	var (
		out []paragraph
		cur *paragraph
	)
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.ReplaceAll(line, "\t", " "))
		if line == "" {
			cur = nil
			continue
		}
		if cur == nil {
			out = append(out, paragraph{line: i + 1})
			cur = &out[len(out)-1]
		}
		cur.lines = append(cur.lines, line)
	}
	return out
}

// parseEntry reads one heading and its description.
func parseEntry(p paragraph, topic string) (SeedEntry, error) {
	heading := p.lines[0]
	desc := strings.Join(strings.Fields(strings.Join(p.lines[1:], " ")), " ")
	in := parseHeading(heading)
	in.Description = desc
	in.Topics = []string{topic}
	if in.ShortName == "" {
		in.ShortName = acronymIn(desc, in.Name)
	}
	kind, ok := kindOf(in.Name, desc)
	if !ok {
		return SeedEntry{}, &SeedError{Line: p.line, Msg: fmt.Sprintf("cannot tell what kind of body %q is from its name or description", heading)}
	}
	in.Kind = string(kind)
	in.Phones = phonesIn(desc)
	d, err := domain.ValidateResource(in)
	if err != nil {
		return SeedEntry{}, &SeedError{Line: p.line, Msg: fmt.Sprintf("%q: %v", heading, err)}
	}
	id := domain.ResourceSlug(cmp.Or(d.ShortName, d.Name))
	if id == "" {
		return SeedEntry{}, &SeedError{Line: p.line, Msg: fmt.Sprintf("%q gives no usable id", heading)}
	}
	return SeedEntry{ID: id, Line: p.line, Heading: heading, Details: d}, nil
}

var trailingAcronym = regexp.MustCompile(`^(.*\S)\s*\(([^()\s]{2,16})\)$`)

// parseHeading splits "Name (SHORT): Focus, Parent".
func parseHeading(h string) domain.ResourceInput {
	var in domain.ResourceInput
	rest := h
	if strings.HasPrefix(h, "U.S. Department of ") || strings.HasPrefix(h, "Department of ") {
		if i := strings.LastIndex(h, ", "); i > 0 {
			in.Parent, rest = h[:i], h[i+2:]
		}
	} else if i := strings.Index(h, ", "); i > 0 {
		rest, in.Parent = h[:i], h[i+2:]
	}
	if i := strings.Index(rest, ": "); i > 0 {
		rest, in.Focus = rest[:i], rest[i+2:]
	}
	if m := trailingAcronym.FindStringSubmatch(rest); m != nil && isAcronym(m[2]) {
		rest, in.ShortName = m[1], m[2]
	}
	in.Name = strings.TrimSpace(rest)
	return in
}

// isAcronym: mostly capital letters ("CEOS", "J/TIP", "HHS-ORR").
func isAcronym(s string) bool {
	upper, other := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsUpper(r) || unicode.IsDigit(r):
			upper++
		case r == '/' || r == '-' || r == '&' || r == '.':
		default:
			other++
		}
	}
	return upper >= 2 && other <= upper/3
}

// acronymIn finds "<name> (SHORT)" in the description.
func acronymIn(desc, name string) string {
	i := strings.Index(desc, name+" (")
	if i < 0 {
		return ""
	}
	rest := desc[i+len(name)+2:]
	j := strings.IndexByte(rest, ')')
	if j < 0 {
		return ""
	}
	if a := rest[:j]; utf8.RuneCountInString(a) <= 16 && !strings.ContainsAny(a, " \t") && isAcronym(a) {
		return a
	}
	return ""
}

// kindRules map words of a name to a kind, first match wins.
var kindRules = []struct {
	words []string
	kind  domain.ResourceKind
}{
	{[]string{"task force"}, domain.KindTaskForce},
	{[]string{"initiative", "campaign"}, domain.KindInitiative},
	{[]string{"center", "centre"}, domain.KindCenter},
	{[]string{"office", "section", "division", "unit"}, domain.KindOffice},
	{[]string{"department", "agency", "bureau", "administration", "service", "services", "enforcement", "commission"}, domain.KindAgency},
}

// descriptionRules apply to the first sentence of the description when the
// name says nothing.
var descriptionRules = []struct {
	words []string
	kind  domain.ResourceKind
}{
	{[]string{"task force"}, domain.KindTaskForce},
	{[]string{"initiative", "effort", "campaign", "program", "programme"}, domain.KindInitiative},
}

func kindOf(name, desc string) (domain.ResourceKind, bool) {
	words := " " + strings.Join(strings.FieldsFunc(strings.ToLower(name), notWordRune), " ") + " "
	for _, r := range kindRules {
		for _, w := range r.words {
			if strings.Contains(words, " "+w+" ") {
				return r.kind, true
			}
		}
	}
	first := desc
	if i := strings.Index(desc, ". "); i >= 0 {
		first = desc[:i]
	}
	words = " " + strings.Join(strings.FieldsFunc(strings.ToLower(first), notWordRune), " ") + " "
	for _, r := range descriptionRules {
		for _, w := range r.words {
			if strings.Contains(words, " "+w+" ") {
				return r.kind, true
			}
		}
	}
	return "", false
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// nanpNumber matches North American numbers as pages write them.
var nanpNumber = regexp.MustCompile(`(?:\b1[-. ])?(?:\(\d{3}\) ?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b`)

var phoneLabel = regexp.MustCompile(`(?i)\bthe ((?:[\p{L}\d'’-]+ ){0,8}?(?:number|line|hotline|helpline))[ ,:]*$`)

// phonesIn finds the phone numbers of a description with their labels.
func phonesIn(desc string) []domain.PhoneInput {
	var out []domain.PhoneInput
	for _, loc := range nanpNumber.FindAllStringIndex(desc, domain.MaxPhones) {
		ph := domain.PhoneInput{Number: desc[loc[0]:loc[1]]}
		before := desc[:loc[0]]
		if i := strings.LastIndex(before, ". "); i >= 0 {
			before = before[i+2:]
		}
		if m := phoneLabel.FindStringSubmatch(before); m != nil {
			r, size := utf8.DecodeRuneInString(m[1])
			ph.Label = string(unicode.ToUpper(r)) + m[1][size:]
		}
		out = append(out, ph)
	}
	return out
}

func joinNonEmpty(a, b, sep string) string {
	if a == "" {
		return b
	}
	return a + sep + b
}
