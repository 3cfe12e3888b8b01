package resources

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestPublishedPageIsKeptAsReceived: the data file is the text the project
// received, byte for byte, as seeddata/README.md says.
func TestPublishedPageIsKeptAsReceived(t *testing.T) {
	sum := sha256.Sum256([]byte(PublishedText()))
	const want = "e37a2b655ab97f65b77fa74faf24abb11290d17e290f0c1f12c68cca0bbd04a8"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("seeddata changed: sha256 %s, README says %s", got, want)
	}
	readme, err := os.ReadFile("seeddata/README.md")
	if err != nil || !bytes.Contains(readme, []byte(want)) {
		t.Fatalf("seeddata/README.md does not record the checksum (%v)", err)
	}
}

// TestParsePublishedPage: the page gives its 14 entries under Trafficking
// in Persons, with the fields the rules derive; the whole parse is golden.
func TestParsePublishedPage(t *testing.T) {
	page, err := ParseSeed(PublishedText())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Sections) != 1 || page.Sections[0].Topic != "trafficking-in-persons" {
		t.Fatalf("sections: %+v", page.Sections)
	}
	entries := page.Entries()
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	wantIDs := []string{"blue-campaign", "ceos", "end-human-trafficking", "fbi", "human-smuggling-and-trafficking-center",
		"innocence-lost-national-initiative", "maryland-human-trafficking-task-force", "ovc", "orr", "ovw",
		"office-to-monitor-and-combat-trafficking-in-persons", "uscis", "criminal-section", "ice"}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("ids %v\nwant %v", ids, wantIDs)
	}
	byID := map[string]domain.ResourceDetails{}
	for _, e := range entries {
		byID[e.ID] = e.Details
	}
	checks := []struct {
		id                         string
		name, short, focus, parent string
		kind                       domain.ResourceKind
		phones                     []domain.Phone
	}{
		{id: "blue-campaign", name: "Blue Campaign", kind: domain.KindInitiative},
		{id: "ceos", name: "Child Exploitation and Obscenity Section", short: "CEOS", parent: "U.S. Department of Justice Criminal Division", kind: domain.KindOffice},
		{id: "end-human-trafficking", name: "End Human Trafficking", kind: domain.KindInitiative},
		{id: "fbi", name: "Federal Bureau of Investigation", short: "FBI", focus: "Human Trafficking", kind: domain.KindAgency},
		{id: "human-smuggling-and-trafficking-center", name: "Human Smuggling and Trafficking Center", parent: "U.S. Department of State", kind: domain.KindCenter},
		{id: "maryland-human-trafficking-task-force", name: "Maryland Human Trafficking Task Force", kind: domain.KindTaskForce},
		{id: "ovc", name: "Office for Victims of Crime", short: "OVC", kind: domain.KindOffice},
		{id: "orr", name: "Office of Refugee Resettlement", short: "ORR", parent: "U.S. Department of Health and Human Services", kind: domain.KindOffice,
			phones: []domain.Phone{{Number: "1-866-401-5510", Label: "Trafficking victims verification toll-free number"}}},
		{id: "criminal-section", name: "Criminal Section", parent: "U.S. Department of Justice, Civil Rights Division", kind: domain.KindOffice},
		{id: "uscis", name: "U.S. Citizenship and Immigration Services", short: "USCIS", focus: "Victims of Human Trafficking & Other Crimes", kind: domain.KindAgency},
		{id: "ice", name: "U.S. Immigration and Customs Enforcement", short: "ICE", focus: "Human Trafficking", kind: domain.KindAgency},
	}
	for _, c := range checks {
		d := byID[c.id]
		if d.Name != c.name || d.ShortName != c.short || d.Focus != c.focus || d.Parent != c.parent || d.Kind != c.kind || !slices.Equal(d.Phones, c.phones) {
			t.Errorf("%s parsed as %+v", c.id, d)
		}
		if d.URL != "" {
			t.Errorf("%s has a URL the text does not hold: %s", c.id, d.URL)
		}
	}
	for _, e := range entries {
		if e.Details.Description == "" || !slices.Equal(e.Details.Topics, []string{"trafficking-in-persons"}) {
			t.Errorf("%s: %+v", e.ID, e.Details)
		}
		// Every heading that is not written department-first comes back
		// from its fields (OVC's acronym comes from its description).
		if !strings.HasPrefix(e.Heading, "U.S. Department of") && e.ID != "ovc" && e.Details.Heading() != e.Heading {
			t.Errorf("%s: Heading() %q, published %q", e.ID, e.Details.Heading(), e.Heading)
		}
	}
	if !strings.HasPrefix(page.Closing, "Links from the NCJRS Web site to non-Federal sites") {
		t.Errorf("closing text %q", page.Closing)
	}
	if page.Sections[0].Intro != "This section contains examples of nationally recognized agencies and organizations that provide services or information." {
		t.Errorf("intro %q", page.Sections[0].Intro)
	}
	golden(t, "published.golden.json", page)
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the output (go test -update rewrites it):\n%s", path, got)
	}
}

func TestParseHeading(t *testing.T) {
	tests := []struct {
		in   string
		want domain.ResourceInput
	}{
		{"Blue Campaign", domain.ResourceInput{Name: "Blue Campaign"}},
		{"Office of Refugee Resettlement (ORR), U.S. Department of Health and Human Services",
			domain.ResourceInput{Name: "Office of Refugee Resettlement", ShortName: "ORR", Parent: "U.S. Department of Health and Human Services"}},
		{"Federal Bureau of Investigation (FBI): Human Trafficking",
			domain.ResourceInput{Name: "Federal Bureau of Investigation", ShortName: "FBI", Focus: "Human Trafficking"}},
		{"U.S. Department of Justice, Civil Rights Division, Criminal Section",
			domain.ResourceInput{Name: "Criminal Section", Parent: "U.S. Department of Justice, Civil Rights Division"}},
		{"Department of Labor, Wage and Hour Division",
			domain.ResourceInput{Name: "Wage and Hour Division", Parent: "Department of Labor"}},
		{"Polaris Project (a non-profit)", domain.ResourceInput{Name: "Polaris Project (a non-profit)"}},
		{"Office to Monitor and Combat Trafficking in Persons (J/TIP), U.S. Department of State",
			domain.ResourceInput{Name: "Office to Monitor and Combat Trafficking in Persons", ShortName: "J/TIP", Parent: "U.S. Department of State"}},
	}
	for _, tt := range tests {
		if got := parseHeading(tt.in); got.Name != tt.want.Name || got.ShortName != tt.want.ShortName ||
			got.Focus != tt.want.Focus || got.Parent != tt.want.Parent {
			t.Errorf("parseHeading(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name, desc string
		want       domain.ResourceKind
		ok         bool
	}{
		{"Maryland Human Trafficking Task Force", "", domain.KindTaskForce, true},
		{"Innocence Lost National Initiative", "", domain.KindInitiative, true},
		{"Human Smuggling and Trafficking Center", "", domain.KindCenter, true},
		{"Criminal Section", "", domain.KindOffice, true},
		{"U.S. Immigration and Customs Enforcement", "", domain.KindAgency, true},
		{"End Human Trafficking", "End Human Trafficking is the President's effort to join the fight. It is an office.", domain.KindInitiative, true},
		{"Polaris", "Polaris works to end trafficking.", "", false},
		{"Officers' Union", "A union.", "", false}, // "officers" is not "office"
	}
	for _, tt := range tests {
		got, ok := kindOf(tt.name, tt.desc)
		if got != tt.want || ok != tt.ok {
			t.Errorf("kindOf(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPhonesIn(t *testing.T) {
	tests := []struct {
		desc string
		want []domain.PhoneInput
	}{
		{"ORR also maintains the trafficking victims verification toll-free number, 1-866-401-5510. This phone number is available.",
			[]domain.PhoneInput{{Number: "1-866-401-5510", Label: "Trafficking victims verification toll-free number"}}},
		{"Call the National Human Trafficking Hotline at (888) 373-7888 or text 233733.",
			[]domain.PhoneInput{{Number: "(888) 373-7888"}}},
		{"Call the hotline: 888.373.7888. Or the tip line 1 800 843 5678.",
			[]domain.PhoneInput{{Number: "888.373.7888", Label: "Hotline"}, {Number: "1 800 843 5678", Label: "Tip line"}}},
		{"Founded in 1984, serving 2,000 victims a year at 100 sites.", nil},
	}
	for _, tt := range tests {
		if got := phonesIn(tt.desc); !slices.Equal(got, tt.want) {
			t.Errorf("phonesIn(%q) = %+v, want %+v", tt.desc, got, tt.want)
		}
	}
}

func TestParseSeedErrors(t *testing.T) {
	tests := []struct {
		name, text, wantMsg string
		line                int
	}{
		{"no section", "Just text\n\nMore text\n", "no section title", 1},
		{"unknown topic", "Astrology - Related Resources\n\nX Office\nDoes things.\n", "not a topic", 1},
		{"entry first", "Blue Campaign\nAn initiative.\n\nCourts - Related Resources\n", "before any section", 1},
		{"empty section", "Courts - Related Resources\n\nIntro.\n\nReentry - Related Resources\n\nX Office\nDoes.\n", "has no entries", 5},
		{"empty last section", "Courts - Related Resources\n\nIntro only.\n", "has no entries", 1},
		{"unknown kind", "Courts - Related Resources\n\nPolaris\nWorks to end trafficking.\n", "what kind", 3},
		{"id clash", "Courts - Related Resources\n\nBlue Campaign\nA.\n\nBlue Campaign!\nB.\n", "both get the id", 6},
		{"invalid field", "Courts - Related Resources\n\n" + strings.Repeat("Office ", 40) + "\nToo long a name.\n", "too_long", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSeed(tt.text)
			var se *SeedError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantMsg) && !strings.Contains(err.Error(), "characters") {
				t.Fatalf("error %v, want one saying %q", err, tt.wantMsg)
			}
			if se.Line != tt.line {
				t.Fatalf("error on line %d, want %d: %v", se.Line, tt.line, err)
			}
		})
	}
}

// TestParseSeedSections: several sections, an entry listed under two
// topics becomes one resource with both, CRLF and a BOM are read.
func TestParseSeedSections(t *testing.T) {
	text := "\ufeffChrome line\r\n\r\nCourts - Related Resources\r\n\r\nAbout courts.\r\n\r\n" +
		"Office for Victims of Crime (OVC)\r\nHelps victims.\r\nSecond line.\r\n\r\n" +
		"Victims of Crime - Related Resources\r\n\r\nOffice for Victims of Crime (OVC)\r\nHelps victims.\r\nSecond line.\r\n\r\n" +
		"National Task Force\r\nWorks.\r\n\r\nClosing one.\r\n\r\nClosing two.\r\n"
	page, err := ParseSeed(text)
	if err != nil {
		t.Fatal(err)
	}
	entries := page.Entries()
	if len(entries) != 2 || entries[0].ID != "ovc" || !slices.Equal(entries[0].Details.Topics, []string{"courts", "victims-of-crime"}) {
		t.Fatalf("entries %+v", entries)
	}
	if entries[0].Details.Description != "Helps victims. Second line." {
		t.Fatalf("description %q", entries[0].Details.Description)
	}
	if page.Sections[0].Intro != "About courts." || page.Closing != "Closing one.\n\nClosing two." {
		t.Fatalf("intro %q closing %q", page.Sections[0].Intro, page.Closing)
	}
}

// FuzzParseSeed: any text either fails with a *SeedError or gives entries
// that are valid resources with unique, valid ids.
func FuzzParseSeed(f *testing.F) {
	f.Add(PublishedText())
	f.Add("Courts - Related Resources\n\nX Office (XO): Focus, Parent\nDesc 1-800-555-0100.\n\nClosing.")
	f.Add("Courts - Related Resources\n\nU.S. Department of X, Y Section\nthe tip line, (202) 555-0100\n")
	f.Add("\r\n\r\n - Related Resources\n\n(\n)")
	f.Fuzz(func(t *testing.T, text string) {
		page, err := ParseSeed(text)
		if err != nil {
			var se *SeedError
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range page.Entries() {
			if seen[e.ID] || domain.ValidateResourceID(e.ID) != nil {
				t.Fatalf("bad or repeated id %q", e.ID)
			}
			seen[e.ID] = true
			again, err := domain.ValidateResource(e.Details.Input())
			if err != nil || again.Hash() != e.Details.Hash() {
				t.Fatalf("entry %q does not validate as stored: %v", e.ID, err)
			}
		}
	})
}
