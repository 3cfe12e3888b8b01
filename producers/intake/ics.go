package intake

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/ical"
)

// Limits of .ics intake. Each VEVENT is held to what one JSON submission
// may be (httpapi.MaxBodyBytes) and to every rule of JSON intake (field
// lengths, dates); the file as a whole to MaxICSBytes and MaxICSEvents.
const (
	MaxICSBytes  = 1 << 20
	MaxICSEvents = 50
)

// icsLimits bound what the decoder reads from an uploaded file.
var icsLimits = ical.Limits{
	MaxBytes:      MaxICSBytes,
	MaxLineBytes:  httpapi.MaxBodyBytes,
	MaxParamBytes: 1 << 10,
	MaxComponents: 4 * MaxICSEvents,
	MaxDepth:      4,
	MaxEvents:     MaxICSEvents,
	MaxEventBytes: httpapi.MaxBodyBytes,
}

// icsParams are the query parameters of an .ics submission: what a file
// exported from a calendar cannot say.
var icsParams = []string{"contact", "contact_name", "format", "topic", "sponsor", "timezone"}

// icsDefaults are the parsed query parameters.
type icsDefaults struct {
	contact  *domain.Contact // ?contact= (and ?contact_name=): wins over ORGANIZER
	format   string          // ?format=: for events that have neither a LOCATION nor a way to join online
	topics   []string        // ?topic=: added to the topics found in CATEGORIES
	sponsors []string        // ?sponsor=
	zone     *time.Location  // ?timezone=: floating times, and the zone UTC times are shown in
}

// parseICSQuery reads and checks the query parameters; unknown ones are
// refused, as unknown JSON fields are.
func parseICSQuery(q url.Values) (icsDefaults, error) {
	var (
		d    icsDefaults
		errs domain.ValidationError
	)
	for name := range q {
		if !slices.Contains(icsParams, name) {
			errs.Add(name, "unknown", "is not a parameter of an iCalendar submission (%s)", strings.Join(icsParams, ", "))
		}
	}
	if v := strings.TrimSpace(q.Get("contact")); v != "" {
		if email, msg := domain.ParseEmail(v); msg != "" {
			errs.Add("contact", "invalid", "%s", msg)
		} else {
			d.contact = &domain.Contact{Email: email, Name: q.Get("contact_name")}
		}
	}
	if v := q.Get("format"); v != "" {
		if f, ok := domain.ParseFormat(v); ok {
			d.format = string(f)
		} else {
			errs.Add("format", "invalid", "must be in_person, online or hybrid")
		}
	}
	for _, v := range q["topic"] {
		if t, ok := domain.LookupTopic(v); ok {
			d.topics = append(d.topics, t.Slug)
		} else {
			errs.Add("topic", "unknown", "%q is not a topic of the calendar", v)
		}
	}
	d.sponsors = q["sponsor"]
	if v := strings.TrimSpace(q.Get("timezone")); v != "" {
		if iana, ok := domain.ResolveZone(v); !ok {
			errs.Add("timezone", "unknown", "is not a time zone: send an IANA name such as %s (US abbreviations, Windows names and UTC are accepted too)", domain.SuggestZone(v))
		} else {
			d.zone, _ = time.LoadLocation(iana)
		}
	}
	if err := errs.Err(); err != nil {
		return icsDefaults{}, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid query parameters",
			Fields: err.(*domain.ValidationError).Fields}
	}
	return d, nil
}

// icsItemError is one VEVENT that cannot be taken, with its problems.
type icsItemError struct {
	Index   int                 `json:"index"`
	UID     string              `json:"uid,omitempty"`
	Summary string              `json:"summary,omitempty"`
	Error   icsItemErrorDetails `json:"error"`
}

type icsItemErrorDetails struct {
	Title  string              `json:"title"`
	Errors []domain.FieldError `json:"errors"`
}

// ICSError refuses a whole .ics submission because some of its VEVENTs
// cannot be taken; Items lists each of them with its problems. Nothing of
// the file was submitted.
type ICSError struct {
	Events int // VEVENTs in the file
	Items  []icsItemError
}

func (e *ICSError) Error() string {
	return fmt.Sprintf("intake: %d of %d VEVENTs cannot be taken", len(e.Items), e.Events)
}

// ICSReceipt answers an accepted .ics submission: one receipt per VEVENT,
// in file order.
type ICSReceipt struct {
	Items []ICSItem `json:"items"`
}

// ICSItem is the receipt of one VEVENT.
type ICSItem struct {
	Index int    `json:"index"`
	UID   string `json:"uid,omitempty"`
	Receipt
}

// submitICS takes an iCalendar file: every VEVENT becomes a pending
// submission, or, when any VEVENT cannot be taken, nothing does and the
// error (*ICSError) lists each one that cannot, with its problems.
//
// All or nothing, so that a corrected file can simply be sent again: had
// the good VEVENTs been taken, sending the corrected file (a new file, so
// a new Idempotency-Key for `jevents submit`) would submit them twice.
//
// Idempotency: VEVENT i of a request with key K is created once under the
// key K (i = 0, the id a JSON submission with K would get) or K + "#i",
// and remembers a hash of the whole request, so a retried file adds
// nothing and K reused for another file or a JSON body is refused (422)
// with nothing appended. The whole file passes the intake gate at once
// (admit.go), each VEVENT counting one.
//
// Atomicity: the file's submissions are appended as one atomic batch
// (eventlog.CreateAll): all of them or none, also when the log fills up
// (507) or the connection fails half-way (503: a retry with the same key
// finds the batch stored or stores it, once). A file half stored before
// batches existed is completed by its retry.
func (in *Intake) submitICS(ctx context.Context, body []byte, d icsDefaults, key string, o Origin) (ICSReceipt, error) {
	im, subs, err := prepareICS(body, d, time.Now())
	var ie *ICSError
	switch {
	case errors.As(err, &ie):
		for _, it := range ie.Items {
			in.metrics.observe("ics", Receipt{}, &domain.ValidationError{Fields: it.Error.Errors}, 0)
		}
		return ICSReceipt{}, err
	case err != nil:
		in.metrics.observe("ics", Receipt{}, err, 0)
		return ICSReceipt{}, err
	}
	start := time.Now()
	if key == "" {
		key = uuid.Must(uuid.NewV7()).String()
	}
	// Hashed before sponsors are linked: the directory may know a sponsor
	// on a retry that it did not know the first time.
	uids := make([]string, len(subs))
	for i := range subs {
		uids[i] = im.Events[i].UID
	}
	items, err := icsAppends(subs, uids, key, o.Actor, func(s []domain.Sponsor) []domain.Sponsor {
		if in.sponsors == nil {
			return s
		}
		return in.sponsors.LinkSponsors(s)
	})
	if err != nil {
		return ICSReceipt{}, err
	}
	sizes, contacts := make([]int64, len(items)), make([]string, len(items))
	for i, it := range items {
		sizes[i], contacts[i] = storedSize(subs[i], it.id, it.hash, "ics", o.Actor), subs[i].Contact.Email
	}
	grant, err := in.admit(ctx, o, contacts, sizes)
	if err != nil {
		for range subs {
			in.metrics.observe("ics", Receipt{}, err, 0)
		}
		return ICSReceipt{}, err
	}
	var (
		appended int
		stored   int64
	)
	defer func() { grant.Settle(appended, stored) }()
	receipts, err := in.appendICS(ctx, items)
	for i, r := range receipts {
		if !r.Duplicate {
			appended, stored = appended+1, stored+sizes[i]
		}
	}
	for _, r := range receipts {
		in.metrics.observe("ics", r, err, time.Since(start))
	}
	if err != nil {
		in.metrics.observe("ics", Receipt{}, err, time.Since(start))
		return ICSReceipt{}, err
	}
	var out ICSReceipt
	for i, r := range receipts {
		out.Items = append(out.Items, ICSItem{Index: i, UID: clipText(im.Events[i].UID, 255), Receipt: r})
	}
	return out, nil
}

// icsAppends are the creations of a file's submissions under key: VEVENT
// i gets the id of its UID from its contact (uidKey) when it has one, else
// of key (i = 0) or key#i, and a hash of the whole request and its index.
// link links sponsors to the directory, after the hash.
func icsAppends(subs []domain.Submission, uids []string, key, actor string, link func([]domain.Sponsor) []domain.Sponsor) ([]icsAppend, error) {
	request := sha256.New()
	request.Write([]byte("ics\x00"))
	for _, sub := range subs {
		request.Write([]byte(sub.Hash() + "\n"))
	}
	requestHash := hex.EncodeToString(request.Sum(nil))
	items := make([]icsAppend, len(subs))
	for i, sub := range subs {
		sub.Details.Sponsors = link(sub.Details.Sponsors)
		eventKey := key
		if i > 0 {
			eventKey = key + "#" + strconv.Itoa(i)
		}
		sum := sha256.Sum256([]byte(requestHash + "\x00" + strconv.Itoa(i)))
		items[i] = icsAppend{id: ConferenceID(eventKey), hash: hex.EncodeToString(sum[:]), sub: sub, actor: actor}
		if k := uidKey(sub, uids[i]); k != "" {
			items[i].uid, items[i].id = k, ConferenceID(k)
		}
		var err error
		if items[i].creation, err = creation(sub, items[i].id, items[i].hash, "ics", actor); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// uidKey identifies a VEVENT across files: its UID, by its contact (the
// same UID from another organiser is another event); "" without a UID.
func uidKey(sub domain.Submission, uid string) string {
	if uid == "" || sub.Contact.Email == "" {
		return ""
	}
	return "ics-uid\x00" + strings.ToLower(sub.Contact.Email) + "\x00" + uid
}

// icsAppend is one VEVENT on its way to the log.
type icsAppend struct {
	id, hash string
	// uid is its uidKey; "" when its id comes from the Idempotency-Key.
	uid      string
	sub      domain.Submission
	actor    string
	creation eventlog.Creation
	// flagged: id is the flagged duplicate of a decided conference.
	flagged bool
	// status is what its receipt says once stored: pending, or the
	// status of a published conference it proposes changes to.
	status domain.Status
}

// appendICS appends the file's submissions in one atomic batch and returns
// their receipts in order. When some of them exist already, it looks at
// each: a different request under their key is ErrIdempotencyMismatch, a
// retry of this file is answered from the log, and what a file half stored
// before batches existed still misses is appended (again all or nothing).
func (in *Intake) appendICS(ctx context.Context, items []icsAppend) ([]Receipt, error) {
	out := make([]Receipt, len(items))
	todo := make([]int, len(items))
	for i := range todo {
		todo[i] = i
	}
	// Each round stores the rest or finds more of it stored; two rounds
	// settle any state a retry can meet, a third covers a racing retry,
	// two more a re-import (a proposal, or flagged beside a closed one).
	for round := 0; round < 5 && len(todo) > 0; round++ {
		batch := make([]eventlog.Creation, len(todo))
		for j, i := range todo {
			batch[j] = items[i].creation
		}
		res, err := in.log.CreateAll(ctx, batch)
		var ve *domain.VersionError
		switch {
		case err == nil && !res[0].Duplicate:
			for j, i := range todo {
				out[i] = receipt(items[i].id, cmp.Or(items[i].status, domain.StatusPending), res[j].Seq, false)
			}
			return out, nil
		case err != nil && !errors.As(err, &ve):
			return nil, err
		}
		// Some or all exist: the log says which, and in what state.
		var missing []int
		for _, i := range todo {
			it := &items[i]
			c, _, err := eventlog.Fold[domain.Conference](ctx, in.log, it.id)
			switch {
			case errors.Is(err, domain.ErrNotFound):
				missing = append(missing, i)
			case err != nil:
				return nil, fmt.Errorf("intake: load %s of an .ics retry: %w", it.id, err)
			case c.RequestHash == it.hash:
				out[i] = receipt(it.id, c.Status, c.Version, true)
			case it.uid == "":
				return nil, domain.ErrIdempotencyMismatch
			default:
				again, err := it.reimportOf(c)
				if err != nil {
					return nil, err
				}
				if !again {
					out[i] = receipt(it.id, c.Status, c.Version, true)
					continue
				}
				missing = append(missing, i)
			}
		}
		todo = missing
	}
	if len(todo) > 0 {
		return nil, fmt.Errorf("intake: %d conferences of the file neither stored nor storable: %w", len(todo), domain.ErrUnavailable)
	}
	return out, nil
}

// reimportOf turns a VEVENT whose UID its contact imported before (as c,
// by another request) into what a re-import is:
//   - c pending, published or unpublished: the file's version is the
//     organiser's proposal on c (conference.change_proposed, source ics),
//     for an editor to accept or decline field by field, as a proposal
//     from the private page; nothing when it proposes what c holds or what
//     c's open proposal already says. Once submitted, a conference changes
//     only through the editors, so intake appends no conference.updated
//     (on a cluster its NATS user may not). The file's VEVENT is the whole
//     proposal: a field the file does not carry (the cost an editor added)
//     shows in the diff as removed, for the editor to see and decline;
//   - c closed (rejected, cancelled, withdrawn), which takes no proposal: a
//     new pending submission with a fixed id of its own, flagged ReimportOf
//     c in the queue, for editors to decide again. A later re-import
//     proposes on that duplicate while it is pending, so one UID by one
//     contact is at most its conference and one re-import waiting beside it.
func (it *icsAppend) reimportOf(c *domain.Conference) (again bool, err error) {
	switch {
	case c.Status == domain.StatusPending || c.Status == domain.StatusApproved || c.Status == domain.StatusUnpublished:
		ev, err := c.ProposeChange(it.sub.Details, "ics")
		if err != nil || ev == nil {
			return false, err
		}
		env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), it.id, it.actor, time.Now(), ev)
		if err != nil {
			return false, err
		}
		it.creation = eventlog.Creation{Env: env, MsgID: "propose:" + it.id + ":" + it.hash[:16], Expect: c.Version}
		it.status = c.Status
		return true, nil
	case it.flagged:
		return false, &httpapi.Error{Status: http.StatusConflict, Title: "Already re-imported",
			Detail: "this event was imported before, and the editors have decided on its re-import too: write to them to change it"}
	}
	it.flagged = true
	original := it.id
	it.id = ConferenceID(it.uid + "\x00reimport")
	env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), it.id, it.actor, time.Now(), domain.ConferenceSubmitted{
		Details: it.sub.Details, Contact: it.sub.Contact, Source: "ics", RequestHash: it.hash, ReimportOf: original})
	if err != nil {
		return false, err
	}
	it.creation = eventlog.Creation{Env: env, MsgID: "submit:" + it.id + ":" + it.hash[:16]}
	return true, nil
}

// prepareICS reads a file and maps every VEVENT onto a validated
// submission as of now. The error is an *ICSError listing every VEVENT that
// cannot be taken, or an *httpapi.Error about the file as a whole.
func prepareICS(body []byte, d icsDefaults, now time.Time) (*ical.Imported, []domain.Submission, error) {
	im, err := ical.Import(body, ical.ImportOptions{Limits: icsLimits, FloatingZone: d.zone, ZoneAliases: domain.ZoneAlias})
	if err != nil {
		return nil, nil, icsFileError(err)
	}
	switch im.Method {
	case "CANCEL", "REPLY", "COUNTER", "DECLINECOUNTER", "REFRESH":
		return nil, nil, &httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "Not a calendar of events",
			Detail: fmt.Sprintf("the file is an iTIP METHOD:%s message, not events to publish", im.Method)}
	}
	if len(im.Events) == 0 {
		return nil, nil, &httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "No events", Detail: "the file holds no VEVENT",
			Fields: []domain.FieldError{{Field: "VEVENT", Code: "required", Message: "the file must hold at least one VEVENT"}}}
	}
	subs := make([]domain.Submission, len(im.Events))
	refused := &ICSError{Events: len(im.Events)}
	for i, ev := range im.Events {
		sub, fields := icsSubmission(ev, d, im.DefaultZone, now)
		if len(fields) > 0 {
			refused.Items = append(refused.Items, icsItemError{Index: ev.Index, UID: clipText(ev.UID, 255), Summary: clipText(ev.Summary, 100),
				Error: icsItemErrorDetails{Title: "This VEVENT cannot be submitted", Errors: fields}})
			continue
		}
		subs[i] = sub
	}
	// One UID by one contact is one conference: a file that holds it twice
	// cannot say which is the event.
	first := map[string]int{}
	for i, ev := range im.Events {
		k := uidKey(subs[i], ev.UID)
		if k == "" || subs[i].Contact.Email == "" {
			continue
		}
		if j, ok := first[k]; ok {
			refused.Items = append(refused.Items, icsItemError{Index: ev.Index, UID: clipText(ev.UID, 255), Summary: clipText(ev.Summary, 100),
				Error: icsItemErrorDetails{Title: "This VEVENT cannot be submitted", Errors: []domain.FieldError{{Field: "UID", Code: "duplicate",
					Message: fmt.Sprintf("VEVENT %d has the same UID from the same organiser: give each event its own UID", j)}}}})
			continue
		}
		first[k] = ev.Index
	}
	if len(refused.Items) > 0 {
		slices.SortFunc(refused.Items, func(a, b icsItemError) int { return a.Index - b.Index })
		return im, nil, refused
	}
	return im, subs, nil
}

// icsFileError maps a decoding error of the whole file to its answer.
func icsFileError(err error) error {
	var (
		se *ical.SyntaxError
		le *ical.LimitError
	)
	switch {
	case errors.As(err, &le) && le.What == "object":
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Title: "Request body too large",
			Detail: fmt.Sprintf("an iCalendar file may be at most %d bytes", MaxICSBytes)}
	case errors.As(err, &le) && (le.What == "VEVENTs" || le.What == "VEVENT"):
		return &httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "Too large", Detail: strings.TrimPrefix(err.Error(), "ical: "),
			Fields: []domain.FieldError{{Field: "VEVENT", Code: "too_long", Message: fmt.Sprintf(
				"a file may hold at most %d VEVENTs of at most %d bytes each", MaxICSEvents, httpapi.MaxBodyBytes)}}}
	case errors.As(err, &le), errors.As(err, &se):
		return &httpapi.Error{Status: http.StatusBadRequest, Title: "Malformed iCalendar", Detail: strings.TrimPrefix(err.Error(), "ical: ")}
	}
	return err
}

// icsSubmission maps one VEVENT onto a submission with the request's
// defaults, and validates it with the rules of JSON intake. Problems are
// named after the iCalendar property they come from (SUMMARY, DTSTART, …)
// or the query parameter (?format).
func icsSubmission(ev ical.ImportedEvent, d icsDefaults, fileZone string, now time.Time) (domain.Submission, []domain.FieldError) {
	var fields []domain.FieldError
	for _, p := range ev.Problems {
		fields = append(fields, domain.FieldError{Field: p.Property, Code: p.Code, Message: p.Message})
	}
	if len(fields) > 0 {
		return domain.Submission{}, fields
	}
	in := domain.SubmissionInput{
		Title:       ev.Summary,
		Description: ev.Description,
		URL:         ev.URL,
		Sponsors:    d.sponsors,
		Contact:     d.contact,
	}
	if in.Contact == nil && ev.OrganizerEmail != "" {
		in.Contact = &domain.Contact{Email: ev.OrganizerEmail, Name: ev.OrganizerName}
	}
	icsWhen(ev, d, fileZone, &in)

	// Format and location: what the VEVENT describes wins; ?format= is
	// for an event that describes neither a place nor a way to join.
	place, online := strings.TrimSpace(ev.Location), len(ev.Conference) > 0 || hasMeetingLink(ev.Description) || hasMeetingLink(ev.URL)
	if _, msg := domain.ParseWebURL(place); msg == "" || isOnlineWord(place) || isMeetingPlace(place) {
		place, online = "", true
	} else if hasMeetingLink(place) { // "Hall B, Messe Berlin, Berlin, DE; https://zoom.us/j/1"
		place, online = withoutLinks(place), true
	}
	switch {
	case place != "" && online:
		in.Format = string(domain.FormatHybrid)
	case place != "":
		in.Format = string(domain.FormatInPerson)
	case online:
		in.Format = string(domain.FormatOnline)
	case d.format != "":
		in.Format = d.format
	default:
		fields = append(fields, domain.FieldError{Field: "LOCATION", Code: "required",
			Message: "the event has no LOCATION and no link to join online: add LOCATION (Venue, City, Country; in the US Venue, City, ST), or send ?format=online"})
	}
	placed := true
	if place != "" {
		loc, msg := parsePlace(place, hintsOf(ev, d, fileZone))
		if msg != "" {
			placed = false
			fields = append(fields, domain.FieldError{Field: "LOCATION", Code: "unknown_place", Message: msg})
		}
		in.Location = loc
	}

	// Topics: the categories that are topics of the calendar, and ?topic.
	for _, c := range ev.Categories {
		if t, ok := domain.LookupTopic(c); ok && !slices.Contains(in.Topics, t.Slug) {
			in.Topics = append(in.Topics, t.Slug)
		}
	}
	for _, t := range d.topics {
		if !slices.Contains(in.Topics, t) {
			in.Topics = append(in.Topics, t)
		}
	}
	if len(in.Topics) == 0 {
		fields = append(fields, domain.FieldError{Field: "CATEGORIES", Code: "required", Message: fmt.Sprintf(
			"no category is a topic of the calendar (%s): add a CATEGORIES value such as %q, or send ?topic=",
			clipText(strings.Join(ev.Categories, ", "), 100), domain.Topics[0].Label)})
	}
	if in.Contact == nil {
		fields = append(fields, domain.FieldError{Field: "ORGANIZER", Code: "required",
			Message: "the event names no organiser: add ORGANIZER:mailto:you@example.org, or send ?contact= (it is never published)"})
	}
	sub, err := domain.ValidateSubmission(in, now)
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if (f.Field == "topics" || f.Field == "contact.email" || f.Field == "format") && f.Code == "required" {
				continue // reported above, in iCalendar terms
			}
			if !placed && strings.HasPrefix(f.Field, "location") {
				continue // the place is refused as a whole above
			}
			f.Field = icsField(f.Field, d)
			fields = append(fields, f)
		}
	}
	return sub, fields
}

// icsWhen sets the times of in from ev: all-day events as their dates (the
// last day inclusive, as people type them), timed ones as local times in
// the event's IANA zone, or, for UTC and fixed-offset times, in the zone
// of ?timezone, else of the calendar's X-WR-TIMEZONE, else in UTC.
func icsWhen(ev ical.ImportedEvent, d icsDefaults, fileZone string, in *domain.SubmissionInput) {
	allDay := ev.AllDay
	in.AllDay = &allDay
	if allDay {
		in.Start = ev.Start.Format(domain.DateLayout)
		in.End = ev.End.AddDate(0, 0, -1).Format(domain.DateLayout)
		return
	}
	loc := ev.Start.Location()
	switch {
	case ev.Zone != "":
	case d.zone != nil:
		loc = d.zone
	case fileZone != "":
		if l, err := time.LoadLocation(fileZone); err == nil {
			loc = l
		}
	default:
		loc = time.UTC
	}
	start, end := ev.Start.In(loc), ev.End.In(loc)
	// The domain stores local times and reads one that a fall-back
	// repeats as its first pass: a second pass is kept in UTC instead.
	if !firstPass(start) || !firstPass(end) {
		loc, start, end = time.UTC, start.UTC(), end.UTC()
	}
	in.Timezone = loc.String()
	in.Start, in.End = start.Format(domain.LocalTimeLayout), end.Format(domain.LocalTimeLayout)
}

// firstPass reports whether t is the first (or only) instant showing its
// wall clock in its zone.
func firstPass(t time.Time) bool {
	earlier := t.Add(-time.Hour)
	return !(earlier.Hour() == t.Hour() && earlier.Minute() == t.Minute() && earlier.Day() == t.Day())
}

// icsField names a validation error's field after its iCalendar source.
func icsField(field string, d icsDefaults) string {
	base, _, _ := strings.Cut(field, "[")
	switch {
	case base == "title":
		return "SUMMARY"
	case base == "description":
		return "DESCRIPTION"
	case base == "start", base == "all_day", base == "timezone":
		return "DTSTART"
	case base == "end":
		return "DTEND"
	case base == "url":
		return "URL"
	case strings.HasPrefix(base, "location"):
		return "LOCATION"
	case base == "topics":
		return "CATEGORIES"
	case strings.HasPrefix(base, "contact") && d.contact != nil:
		return "contact"
	case strings.HasPrefix(base, "contact"):
		return "ORGANIZER"
	case base == "format":
		return "format"
	case base == "sponsors":
		return "sponsor"
	}
	return field
}

// isOnlineWord reports whether a LOCATION says the event is online.
func isOnlineWord(s string) bool {
	switch strings.ToLower(strings.Trim(s, " .")) {
	case "online", "virtual", "webinar", "web", "remote", "zoom", "microsoft teams", "teams", "google meet", "online event", "virtual event":
		return true
	}
	return false
}

// clipText shortens s to at most n bytes on a rune boundary, for answers.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// handleICS answers POST /api/v1/conferences with Content-Type
// text/calendar.
func (in *Intake) handleICS(w http.ResponseWriter, r *http.Request, key string) {
	d, err := parseICSQuery(r.URL.Query())
	if err != nil {
		in.failICS(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxICSBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = icsFileError(&ical.LimitError{What: "object", Limit: MaxICSBytes})
		}
		in.failICS(w, r, err)
		return
	}
	rec, err := in.submitICS(r.Context(), body, d, key, in.origin(r, "ics"))
	var ie *ICSError
	switch {
	case errors.As(err, &ie):
		writeICSError(w, r, ie)
	case err != nil:
		httpapi.WriteError(w, r, in.logger, refused(err))
	default:
		if len(rec.Items) == 1 {
			w.Header().Set("Location", rec.Items[0].Links.Self)
		}
		httpapi.Write(w, http.StatusAccepted, rec)
	}
}

// failICS answers an .ics request refused before its events were read.
func (in *Intake) failICS(w http.ResponseWriter, r *http.Request, err error) {
	in.metrics.observe("ics", Receipt{}, err, 0)
	httpapi.WriteError(w, r, in.logger, err)
}

// writeICSError answers 422 with a problem document (RFC 9457) that lists
// every VEVENT that cannot be taken under "items".
func writeICSError(w http.ResponseWriter, r *http.Request, e *ICSError) {
	p := httpapi.ProblemFor(&httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "Some events cannot be submitted",
		Detail: fmt.Sprintf("%d of the file's %d VEVENTs cannot be taken (listed in items); nothing was submitted: fix them and send the file again",
			len(e.Items), e.Events)})
	p.Instance = r.URL.Path
	p = httpapi.Bound(p)
	for i := range e.Items {
		if errs := httpapi.BoundFields(e.Items[i].Error.Errors); len(errs) > 10 {
			e.Items[i].Error.Errors = append(errs[:10:10], domain.FieldError{Field: "(more)", Code: "truncated",
				Message: fmt.Sprintf("%d more problems not listed", len(e.Items[i].Error.Errors)-10)})
		} else {
			e.Items[i].Error.Errors = errs
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		httpapi.Problem
		Items []icsItemError `json:"items"`
	}{p, e.Items})
}
