package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

func validResource() domain.ResourceInput {
	return domain.ResourceInput{
		Name: "Office for Victims of Crime", ShortName: "OVC", Kind: "office",
		Description: "Funds victim assistance.", URL: "https://ovc.ojp.gov/", Topics: []string{"victims-of-crime"},
		Phones: []domain.PhoneInput{{Number: "1-800-851-3420", Label: "Resource center"}},
	}
}

// fieldCodes lists "field:code" of a validation error, or nil.
func fieldCodes(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field+":"+f.Code)
	}
	return out
}

func TestValidateResource(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*domain.ResourceInput)
		want    func(d domain.ResourceDetails) bool
		wantErr []string
	}{
		{name: "valid", edit: func(*domain.ResourceInput) {}},
		{
			name: "normalises text and vocabularies",
			edit: func(in *domain.ResourceInput) {
				in.Name = "  Office\tfor Victims\r\nof Crime "
				in.Kind = "Task Force"
				in.Topics = []string{"Victims of Crime", "victims-of-crime", "COURTS"}
				in.Description = "a\r\nb\u202e"
			},
			want: func(d domain.ResourceDetails) bool {
				return d.Name == "Office for Victims of Crime" && d.Kind == domain.KindTaskForce &&
					slices.Equal(d.Topics, []string{"victims-of-crime", "courts"}) && d.Description == "a\nb"
			},
		},
		{
			name: "keeps HTML as typed (encoders escape it)",
			edit: func(in *domain.ResourceInput) { in.Name = `<script>alert("x")</script>` },
			want: func(d domain.ResourceDetails) bool { return d.Name == `<script>alert("x")</script>` },
		},
		{
			name: "url optional",
			edit: func(in *domain.ResourceInput) { in.URL = " " },
			want: func(d domain.ResourceDetails) bool { return d.URL == "" },
		},
		{
			name: "duplicate phones kept once",
			edit: func(in *domain.ResourceInput) {
				in.Phones = []domain.PhoneInput{{Number: "988"}, {Number: "988", Label: "again"}, {Number: "+44 20 7946 0958"}}
			},
			want: func(d domain.ResourceDetails) bool { return len(d.Phones) == 2 },
		},
		{
			name:    "required fields",
			edit:    func(in *domain.ResourceInput) { *in = domain.ResourceInput{} },
			wantErr: []string{"name:required", "kind:required", "topics:required"},
		},
		{
			name: "bad values",
			edit: func(in *domain.ResourceInput) {
				in.Kind = "club"
				in.URL = "javascript:alert(1)"
				in.Topics = []string{"astrology"}
				in.ShortName = strings.Repeat("A", domain.MaxShortNameLength+1)
				in.Phones = []domain.PhoneInput{{Number: "1-800-FLOWERS"}, {Number: ""}, {Number: "12"}, {Number: "1", Label: strings.Repeat("x", 201)}}
			},
			wantErr: []string{"short_name:too_long", "kind:invalid", "url:invalid", "topics[0]:unknown",
				"phones[0].number:invalid", "phones[1].number:required", "phones[2].number:invalid",
				"phones[3].number:invalid", "phones[3].label:too_long"},
		},
		{
			name: "too many",
			edit: func(in *domain.ResourceInput) {
				in.Topics = []string{"courts", "corrections", "cybercrime", "terrorism", "reentry", "drugs-and-crime", "forensic-science", "law-enforcement", "juvenile-justice"}
				in.Phones = make([]domain.PhoneInput, domain.MaxPhones+1)
				for i := range in.Phones {
					in.Phones[i] = domain.PhoneInput{Number: "98" + string(rune('0'+i))}
				}
			},
			wantErr: []string{"topics:too_many", "phones:too_many"},
		},
		{
			name:    "too long",
			edit:    func(in *domain.ResourceInput) { in.Description = strings.Repeat("é", domain.MaxDescriptionLength+1) },
			wantErr: []string{"description:too_long"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validResource()
			tt.edit(&in)
			d, err := domain.ValidateResource(in)
			if got := fieldCodes(t, err); !slices.Equal(got, tt.wantErr) {
				t.Fatalf("errors %v, want %v", got, tt.wantErr)
			}
			if tt.want != nil && !tt.want(d) {
				t.Fatalf("details %+v", d)
			}
		})
	}
}

// TestResourceInputRoundTrip: details turned back into input validate to
// the same details, as an edit on top of the current values needs.
func TestResourceInputRoundTrip(t *testing.T) {
	d, err := domain.ValidateResource(validResource())
	if err != nil {
		t.Fatal(err)
	}
	again, err := domain.ValidateResource(d.Input())
	if err != nil || !reflect.DeepEqual(d, again) {
		t.Fatalf("round trip gave %+v, %v; want %+v", again, err, d)
	}
	if d.Hash() != again.Hash() {
		t.Fatal("equal details hash differently")
	}
}

func TestResourceSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"OVC", "ovc"},
		{"Blue Campaign", "blue-campaign"},
		{"Office on Violence Against Women", "office-on-violence-against-women"},
		{"U.S. Citizenship & Immigration Services", "us-citizenship-immigration-services"},
		{"Women's Bureau", "womens-bureau"},
		{"Oficina de Asistencia a Víctimas", "oficina-de-asistencia-a-victimas"},
		{"  --J/TIP--  ", "j-tip"},
		{"<>", ""},
		{strings.Repeat("abcdefghij ", 10), "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij"},
	}
	for _, tt := range tests {
		got := domain.ResourceSlug(tt.in)
		if got != tt.want {
			t.Errorf("ResourceSlug(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got != "" && (!domain.ValidID(got) || domain.ValidateResourceID(got) != nil) {
			t.Errorf("ResourceSlug(%q) = %q is not a valid id", tt.in, got)
		}
	}
	for _, bad := range []string{"", "OVC", "a--b", "-a", "a b", "a_b", strings.Repeat("a", 65)} {
		if domain.ValidateResourceID(bad) == nil {
			t.Errorf("ValidateResourceID(%q) accepted", bad)
		}
	}
}

func TestPhoneTelURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1-866-401-5510", "tel:+18664015510"},
		{"(866) 401-5510", "tel:+18664015510"},
		{"866.401.5510", "tel:+18664015510"},
		{"+44 20 7946 0958", "tel:+442079460958"},
		{"988", "tel:988"},
	}
	for _, tt := range tests {
		if got := (domain.Phone{Number: tt.in}).TelURI(); got != tt.want {
			t.Errorf("TelURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResourceHeading(t *testing.T) {
	tests := []struct {
		d    domain.ResourceDetails
		want string
	}{
		{domain.ResourceDetails{Name: "Blue Campaign"}, "Blue Campaign"},
		{domain.ResourceDetails{Name: "Federal Bureau of Investigation", ShortName: "FBI", Focus: "Human Trafficking"},
			"Federal Bureau of Investigation (FBI): Human Trafficking"},
		{domain.ResourceDetails{Name: "Office on Violence Against Women", ShortName: "OVW", Parent: "U.S. Department of Justice"},
			"Office on Violence Against Women (OVW), U.S. Department of Justice"},
	}
	for _, tt := range tests {
		if got := tt.d.Heading(); got != tt.want {
			t.Errorf("Heading() = %q, want %q", got, tt.want)
		}
	}
}

// record wraps an event as the log returns it.
func record(seq uint64, id string, e domain.Event) domain.Record {
	env, err := domain.NewEnvelope("e", id, "editor", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), e)
	if err != nil {
		panic(err)
	}
	return domain.Record{Seq: seq, Envelope: env, Event: e}
}

// TestResourceCommands: the transitions of the resource aggregate.
func TestResourceCommands(t *testing.T) {
	d, _ := domain.ValidateResource(validResource())
	var r domain.Resource
	if r.Exists() {
		t.Fatal("zero resource exists")
	}
	r.Apply(record(3, "ovc", domain.ResourceAdded{Details: d, RequestHash: d.Hash()}))
	if !r.Exists() || r.Version != 3 || r.Retired || r.ID != "ovc" {
		t.Fatalf("after added: %+v", r)
	}

	// An edit that changes nothing decides nothing.
	if ev, err := r.Update(d); ev != nil || err != nil {
		t.Fatalf("no-op update gave %v, %v", ev, err)
	}
	d2 := d
	d2.Name, d2.URL = "Office for Victims of Crime (OJP)", ""
	ev, err := r.Update(d2)
	if err != nil || !slices.Equal(ev.(domain.ResourceUpdated).Changed, []string{"name", "url"}) {
		t.Fatalf("update gave %#v, %v", ev, err)
	}
	r.Apply(record(5, "ovc", ev))

	if _, err := r.Restore(""); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("restoring an active resource: %v", err)
	}
	ev, err = r.Retire("merged into OJP")
	if err != nil || ev.(domain.ResourceRetired).Reason != "merged into OJP" {
		t.Fatalf("retire gave %#v, %v", ev, err)
	}
	r.Apply(record(7, "ovc", ev))
	if !r.Retired || r.Version != 7 {
		t.Fatalf("after retired: %+v", r)
	}
	for name, cmd := range map[string]func() (domain.Event, error){
		"retire": func() (domain.Event, error) { return r.Retire("") },
		"edit":   func() (domain.Event, error) { return r.Update(d) },
	} {
		if _, err := cmd(); !errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), "retired") {
			t.Errorf("%s on a retired resource: %v", name, err)
		}
	}
	if _, err := r.Retire(strings.Repeat("x", domain.MaxReasonLength+1)); err == nil {
		t.Error("retire accepted an over-long reason while retired")
	}
	ev, err = r.Restore("back")
	if err != nil {
		t.Fatal(err)
	}
	r.Apply(record(9, "ovc", ev))
	if r.Retired || r.Details.Name != d2.Name {
		t.Fatalf("after restored: %+v", r)
	}
}

// TestResourceEventsDecode: every resource event survives the envelope.
func TestResourceEventsDecode(t *testing.T) {
	d, _ := domain.ValidateResource(validResource())
	for _, e := range []domain.Event{
		domain.ResourceAdded{Details: d, Source: "seed", RequestHash: "h"},
		domain.ResourceUpdated{Details: d, Changed: []string{"name"}},
		domain.ResourceRetired{Reason: "gone"},
		domain.ResourceRestored{Reason: "back"},
	} {
		env, err := domain.NewEnvelope("id", "ovc", "editor", time.Now(), e)
		if err != nil {
			t.Fatal(err)
		}
		if env.Aggregate != domain.AggregateResource || !strings.HasPrefix(env.Subject(), "events.resource.ovc.") {
			t.Fatalf("%s stored as %s %s", e.EventType(), env.Aggregate, env.Subject())
		}
		b, _ := json.Marshal(env)
		rec, err := domain.Decode(4, env.Subject(), b)
		if err != nil || !reflect.DeepEqual(rec.Event, e) {
			t.Fatalf("decode %s: %#v, %v", e.EventType(), rec.Event, err)
		}
	}
}

// FuzzValidateResource: untrusted input never panics, and what validates is
// a fixed point (validating it again changes nothing).
func FuzzValidateResource(f *testing.F) {
	f.Add("Office for Victims of Crime", "OVC", "office", "https://ovc.ojp.gov/", "victims-of-crime", "1-866-401-5510", "desc")
	f.Add("<b>\r\n", "\u202e", "Task Force", "http://a", "Courts", "+1 (866) 401.5510", "\x00\xff")
	f.Fuzz(func(t *testing.T, name, short, kind, url, topic, phone, desc string) {
		in := domain.ResourceInput{Name: name, ShortName: short, Kind: kind, URL: url, Topics: []string{topic},
			Phones: []domain.PhoneInput{{Number: phone}}, Description: desc}
		d, err := domain.ValidateResource(in)
		if err != nil {
			return
		}
		again, err := domain.ValidateResource(d.Input())
		if err != nil || !reflect.DeepEqual(d, again) {
			t.Fatalf("not a fixed point: %+v → %+v (%v)", d, again, err)
		}
		_ = domain.ResourceSlug(d.Name)
	})
}
