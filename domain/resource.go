package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what one directory resource may contain.
const (
	MaxShortNameLength = 32
	MaxPhones          = 5
	MaxPhoneLength     = 32
	// MaxPhoneDigits is the longest international number (ITU-T E.164).
	MaxPhoneDigits = 15
	MinPhoneDigits = 3 // 911, 988, 211
)

// ResourceKind says what sort of body a directory resource is.
type ResourceKind string

// The kinds of the directory, a controlled vocabulary like topics. Values
// are stored in events and never change; labels may.
const (
	KindAgency       ResourceKind = "agency"       // a department, agency or bureau: FBI, USCIS, ICE
	KindOffice       ResourceKind = "office"       // an office, section, division or unit inside one: OVC, CEOS
	KindCenter       ResourceKind = "center"       // a centre, often shared by several agencies: HSTC
	KindInitiative   ResourceKind = "initiative"   // an initiative, campaign or programme: Blue Campaign
	KindTaskForce    ResourceKind = "task_force"   // a task force or coalition of agencies
	KindOrganization ResourceKind = "organization" // a non-governmental organisation
)

// ResourceKinds lists the kinds in display order with their labels.
var ResourceKinds = []struct {
	Kind  ResourceKind `json:"kind"`
	Label string       `json:"label"`
}{
	{KindAgency, "Agency"},
	{KindOffice, "Office"},
	{KindCenter, "Center"},
	{KindInitiative, "Initiative"},
	{KindTaskForce, "Task force"},
	{KindOrganization, "Organization"},
}

// ParseKind accepts the stored form and the spellings people type
// ("Task Force", "task-force").
func ParseKind(s string) (ResourceKind, bool) {
	k := strings.ToLower(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(s)))
	if k == "organisation" {
		k = "organization"
	}
	for _, rk := range ResourceKinds {
		if string(rk.Kind) == k {
			return rk.Kind, true
		}
	}
	return "", false
}

// Label is how people read the kind.
func (k ResourceKind) Label() string {
	for _, rk := range ResourceKinds {
		if rk.Kind == k {
			return rk.Label
		}
	}
	return string(k)
}

// Phone is a public telephone number of a resource, as published
// ("1-866-401-5510"), with what it is for.
type Phone struct {
	Number string `json:"number"`
	Label  string `json:"label,omitempty"`
}

// TelURI is the number as an RFC 3966 tel: URI, for links on phones:
// ten-digit and 1+ten-digit numbers are North American (+1), a number
// typed with + keeps its country code, and other numbers (short codes
// such as 988) stay local.
func (p Phone) TelURI() string {
	var digits strings.Builder
	for _, r := range p.Number {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	d := digits.String()
	switch {
	case strings.HasPrefix(strings.TrimSpace(p.Number), "+"):
		return "tel:+" + d
	case len(d) == 10:
		return "tel:+1" + d
	case len(d) == 11 && d[0] == '1':
		return "tel:+" + d
	}
	return "tel:" + d
}

// ResourceDetails are the facts of one directory resource, normalised.
type ResourceDetails struct {
	// Name is the resource's own name: "Office for Victims of Crime".
	Name string `json:"name"`
	// ShortName is its acronym or usual short form: "OVC".
	ShortName string `json:"short_name,omitempty"`
	// Focus narrows an entry to part of an agency's work, as the published
	// directory does: "Human Trafficking" in "Federal Bureau of
	// Investigation (FBI): Human Trafficking".
	Focus string `json:"focus,omitempty"`
	// Parent is the department or agency it belongs to, outermost first:
	// "U.S. Department of Justice, Civil Rights Division".
	Parent      string       `json:"parent,omitempty"`
	Kind        ResourceKind `json:"kind"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	// Topics are slugs of the vocabulary shared with conferences.
	Topics []string `json:"topics"`
	Phones []Phone  `json:"phones,omitempty"`
}

// Heading is the resource's one-line title in the published directory's
// form: "Name (SHORT): Focus, Parent", leaving out what is empty.
func (d ResourceDetails) Heading() string {
	var b strings.Builder
	b.WriteString(d.Name)
	if d.ShortName != "" {
		b.WriteString(" (" + d.ShortName + ")")
	}
	if d.Focus != "" {
		b.WriteString(": " + d.Focus)
	}
	if d.Parent != "" {
		b.WriteString(", " + d.Parent)
	}
	return b.String()
}

// Title is the heading without the parent: "Name (SHORT): Focus".
func (d ResourceDetails) Title() string {
	d.Parent = ""
	return d.Heading()
}

// ResourceInput is a resource as a client sends it: the JSON API, the CLI
// or the seed file.
type ResourceInput struct {
	// ID is optional on creation: without it the id is derived from the
	// short name or the name (ResourceSlug).
	ID          string       `json:"id,omitempty"`
	Name        string       `json:"name"`
	ShortName   string       `json:"short_name"`
	Focus       string       `json:"focus"`
	Parent      string       `json:"parent"`
	Kind        string       `json:"kind"`
	Description string       `json:"description"`
	URL         string       `json:"url"`
	Topics      []string     `json:"topics"`
	Phones      []PhoneInput `json:"phones"`
}

// PhoneInput is a phone number as typed.
type PhoneInput struct {
	Number string `json:"number"`
	Label  string `json:"label"`
}

// Input turns details back into the input form, so that an edit can be
// applied on top of the current values and validated with the same rules.
func (d ResourceDetails) Input() ResourceInput {
	in := ResourceInput{
		Name: d.Name, ShortName: d.ShortName, Focus: d.Focus, Parent: d.Parent, Kind: string(d.Kind),
		Description: d.Description, URL: d.URL, Topics: slices.Clone(d.Topics),
	}
	for _, p := range d.Phones {
		in.Phones = append(in.Phones, PhoneInput(p))
	}
	return in
}

// Hash identifies the content of a resource, so that a retried creation can
// be told from a different one under the same id.
func (d ResourceDetails) Hash() string {
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ValidateResource checks every field of in at once and returns the
// normalised details, or a *ValidationError naming each bad field. The id is
// not checked here (see ValidateResourceID).
func ValidateResource(in ResourceInput) (ResourceDetails, error) {
	var errs ValidationError
	d := ResourceDetails{
		Name:        CleanLine(in.Name),
		ShortName:   CleanLine(in.ShortName),
		Focus:       CleanLine(in.Focus),
		Parent:      CleanLine(in.Parent),
		Description: CleanText(in.Description),
	}
	if d.Name == "" {
		errs.Add("name", "required", "is required")
	}
	checkLength(&errs, "name", d.Name, MaxNameLength)
	checkLength(&errs, "short_name", d.ShortName, MaxShortNameLength)
	checkLength(&errs, "focus", d.Focus, MaxNameLength)
	checkLength(&errs, "parent", d.Parent, MaxNameLength)
	checkLength(&errs, "description", d.Description, MaxDescriptionLength)

	k, ok := ParseKind(in.Kind)
	switch {
	case strings.TrimSpace(in.Kind) == "":
		errs.Add("kind", "required", "is required: %s", kindList())
	case !ok:
		errs.Add("kind", "invalid", "must be one of %s", kindList())
	}
	d.Kind = k

	if u := strings.TrimSpace(in.URL); u != "" {
		if v, msg := ParseWebURL(u); msg != "" {
			errs.Add("url", "invalid", "%s", msg)
		} else {
			d.URL = v
		}
	}

	d.Topics = validateTopics(in.Topics, &errs) // vocab.go

	if len(in.Phones) > MaxPhones {
		errs.Add("phones", "too_many", "must list at most %d numbers", MaxPhones)
	}
	for i, p := range in.Phones {
		field := fmt.Sprintf("phones[%d]", i)
		ph := Phone{Number: CleanLine(p.Number), Label: CleanLine(p.Label)}
		if msg := checkPhone(ph.Number); msg != "" {
			code := "invalid"
			if ph.Number == "" {
				code = "required"
			}
			errs.Add(field+".number", code, "%s", msg)
		}
		checkLength(&errs, field+".label", ph.Label, MaxNameLength)
		if !slices.ContainsFunc(d.Phones, func(q Phone) bool { return q.Number == ph.Number }) {
			d.Phones = append(d.Phones, ph)
		}
	}
	if err := errs.Err(); err != nil {
		return ResourceDetails{}, err
	}
	return d, nil
}

// checkPhone accepts the ways people write public numbers: digits with
// spaces, dots, dashes and parentheses, an optional leading +, and 3 to 15
// digits (E.164). Letters (1-800-FLOWERS) are refused: pages link numbers
// with tel:, which needs digits.
func checkPhone(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > MaxPhoneLength {
		return fmt.Sprintf("must be at most %d characters", MaxPhoneLength)
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		case r == '+' && i == 0:
		default:
			return "must be digits, optionally with +, spaces, dots, dashes or parentheses, such as 1-866-401-5510"
		}
	}
	if digits < MinPhoneDigits || digits > MaxPhoneDigits {
		return fmt.Sprintf("must have %d to %d digits", MinPhoneDigits, MaxPhoneDigits)
	}
	return ""
}

func kindList() string {
	names := make([]string, len(ResourceKinds))
	for i, k := range ResourceKinds {
		names[i] = string(k.Kind)
	}
	return strings.Join(names, ", ")
}

// ResourceSlug derives a resource id from a short name or name: lower-case
// ASCII letters and digits, other runs become one dash, accents are
// dropped, at most 64 characters cut at a dash. "OVC" → "ovc",
// "Blue Campaign" → "blue-campaign". It is "" when nothing usable remains.
// Seeded ids depend on it: its output for a given input never changes.
func ResourceSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		r = unicode.ToLower(foldAccent(r))
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case r == '\'' || r == '’' || r == '.':
			// "Women's" → "womens", "U.S." → "us"
		default:
			dash = true
		}
	}
	out := b.String()
	if len(out) > 64 {
		out = out[:64]
		if i := strings.LastIndexByte(out, '-'); i > 0 {
			out = out[:i]
		}
	}
	return out
}

// foldAccent maps the Latin letters with diacritics people use in names to
// their base letter; others pass unchanged.
func foldAccent(r rune) rune {
	if r < utf8.RuneSelf {
		return r
	}
	const from, to = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ", "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUY"
	if i := strings.IndexRune(from, r); i >= 0 {
		return rune(to[utf8.RuneCountInString(from[:i])])
	}
	return r
}

// ValidateResourceID checks a client-chosen id: a slug as ResourceSlug makes
// them (lower-case letters, digits and single dashes, 1 to 64 characters).
func ValidateResourceID(id string) error {
	if id == ResourceSlug(id) && id != "" {
		return nil
	}
	var errs ValidationError
	errs.Add("id", "invalid", "must be 1 to 64 lower-case letters, digits and single dashes, such as ovc or blue-campaign")
	return &errs
}

// ResourceStateError says why a command does not apply to a resource in its
// current state (retiring a retired resource). It matches ErrConflict.
type ResourceStateError struct {
	Command string
	Retired bool
}

func (e *ResourceStateError) Error() string {
	if e.Retired {
		return fmt.Sprintf("cannot %s a retired resource", e.Command)
	}
	return fmt.Sprintf("cannot %s a resource that is not retired", e.Command)
}

// Is makes a ResourceStateError match ErrConflict.
func (e *ResourceStateError) Is(target error) bool { return target == ErrConflict }
