package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
)

// Names in the event log. One stream holds every event, so projections that
// join conferences and resources read one total order.
const (
	// StreamName is the JetStream stream that is the source of truth.
	StreamName = "JEVENTS"
	// SubjectPrefix starts every event subject.
	SubjectPrefix = "events"
	// StreamSubjects is the subject filter the stream binds.
	StreamSubjects = SubjectPrefix + ".>"
)

// Aggregate kinds, the second token of an event subject.
const (
	AggregateConference = "conference"
	AggregateResource   = "resource"
	AggregateWebhook    = "webhook"
)

// State is the state of one aggregate, folded from its events in stream
// order: *Conference and *Resource.
type State interface {
	// AggregateKind is the aggregate's kind (AggregateConference, …).
	AggregateKind() string
	// Apply folds the aggregate's next event into the state.
	Apply(Record)
}

// Fold folds an aggregate's events, oldest first, into a fresh state: the
// one way every reader of the log (producers deciding, the history)
// rebuilds an aggregate.
func Fold[S any, P interface {
	*S
	State
}](recs []Record) *S {
	s := new(S)
	for _, r := range recs {
		P(s).Apply(r)
	}
	return s
}

// Event is the payload of one stored event. Each payload type declares its
// versioned type name, which never changes once events of it are stored.
type Event interface {
	// EventType is the stored type name, such as "conference.submitted.v1".
	EventType() string
}

// Envelope is how every event is stored: JSON with the payload under data.
// Schema is the payload version, also the last part of Type.
//
// Events are never rewritten: a new payload shape is a new version of its
// type (conference.submitted.v2 beside .v1), and older versions stay
// registered with an upcaster that turns their payload into the current
// one when it is read (upcast). Readers see one shape per kind of event;
// Record.Type and Schema still say what is stored.
type Envelope struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Schema      int             `json:"schema"`
	Aggregate   string          `json:"aggregate"`
	AggregateID string          `json:"aggregate_id"`
	Time        time.Time       `json:"time"`
	Actor       string          `json:"actor"`
	Data        json.RawMessage `json:"data"`
}

// Record is one event read back from the log: its stream sequence, its
// envelope and the decoded payload, in the current version of its type
// (an older version is upcast; Type and Schema say what is stored).
type Record struct {
	Seq uint64
	Envelope
	Event Event
}

// HeaderEventType is the message header that repeats the envelope's type,
// so that readers can decode an event in one pass (DecodeTyped) and
// permissions and tools can see it without parsing JSON.
const HeaderEventType = "Jevents-Event-Type"

// typeInfo describes one registered event type.
type typeInfo struct {
	aggregate string
	short     string // subject token
	schema    int
	// older: an earlier version of a type, read through an upcaster and
	// never written.
	older  bool
	decode func([]byte) (Event, error)
	// decodeAll reads envelope and payload in one pass.
	decodeAll func([]byte) (Envelope, Event, error)
	// stdDecodeAll is decodeAll with encoding/json alone: the reference
	// TestFastDecodeIsStd compares decodeAll with.
	stdDecodeAll func([]byte) (Envelope, Event, error)
}

// typedEnvelope is Envelope with its payload decoded as E.
type typedEnvelope[E any] struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Schema      int       `json:"schema"`
	Aggregate   string    `json:"aggregate"`
	AggregateID string    `json:"aggregate_id"`
	Time        time.Time `json:"time"`
	Actor       string    `json:"actor"`
	Data        E         `json:"data"`
}

var registry = map[string]typeInfo{}

// fastUnmarshal decodes b into v with github.com/goccy/go-json, which
// reads the stored events 4-7 times faster than encoding/json
// (docs/performance.md, issue 16: decoding was the largest part of a
// projector's catch-up). It is used for reading only — every byte the
// service writes (events, read models, answers) stays encoding/json's, so
// a rebuild is byte for byte whichever decoder read the log — and only
// where encoding/json would decode the same thing: it reports false on any
// error or panic, and the caller then decodes with encoding/json, whose
// result and error messages are the reference. TestFastDecodeIsStd
// decodes every event of the golden log and hostile variants both ways.
func fastUnmarshal(b []byte, v any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return gojson.Unmarshal(b, v) == nil
}

// register adds an event type to the registry; called from init of the files
// that define payloads. The type name is "<aggregate>.<short>.v<schema>".
func register[E Event](name string) {
	registerAs(name, false, func(e E) Event { return e })
}

// upcast registers an older version of an event type: payloads stored
// under name are decoded as Old and turned into the current payload by up
// when they are read. Old is a frozen copy of the payload as that version
// stored it, so that later changes of the current types never change how
// old events read. Nothing writes an older version.
func upcast[Old any](name string, up func(Old) Event) {
	registerAs(name, true, up)
}

func registerAs[P any](name string, older bool, up func(P) Event) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "v") {
		panic("domain: bad event type name " + name)
	}
	var schema int
	if _, err := fmt.Sscanf(parts[2], "v%d", &schema); err != nil {
		panic("domain: bad event type version " + name)
	}
	if _, dup := registry[name]; dup {
		panic("domain: event type registered twice: " + name)
	}
	registry[name] = typeInfo{
		aggregate: parts[0],
		short:     parts[1],
		schema:    schema,
		older:     older,
		decode: func(b []byte) (Event, error) {
			var p P
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, err
			}
			return up(p), nil
		},
		decodeAll: func(b []byte) (Envelope, Event, error) {
			var t typedEnvelope[P]
			if !fastUnmarshal(b, &t) {
				t = typedEnvelope[P]{}
				if err := json.Unmarshal(b, &t); err != nil {
					return Envelope{}, nil, err
				}
			}
			return Envelope{ID: t.ID, Type: t.Type, Schema: t.Schema, Aggregate: t.Aggregate,
				AggregateID: t.AggregateID, Time: t.Time, Actor: t.Actor}, up(t.Data), nil
		},
		stdDecodeAll: func(b []byte) (Envelope, Event, error) {
			var t typedEnvelope[P]
			if err := json.Unmarshal(b, &t); err != nil {
				return Envelope{}, nil, err
			}
			return Envelope{ID: t.ID, Type: t.Type, Schema: t.Schema, Aggregate: t.Aggregate,
				AggregateID: t.AggregateID, Time: t.Time, Actor: t.Actor}, up(t.Data), nil
		},
	}
}

// NewEnvelope wraps a payload for the aggregate id, stamped with its event id,
// time and actor.
func NewEnvelope(eventID, aggregateID, actor string, at time.Time, e Event) (Envelope, error) {
	info, ok := registry[e.EventType()]
	if !ok || info.older {
		return Envelope{}, fmt.Errorf("domain: unregistered event type %q", e.EventType())
	}
	data, err := json.Marshal(e)
	if err != nil {
		return Envelope{}, fmt.Errorf("domain: encode %s: %w", e.EventType(), err)
	}
	return Envelope{
		ID:          eventID,
		Type:        e.EventType(),
		Schema:      info.schema,
		Aggregate:   info.aggregate,
		AggregateID: aggregateID,
		Time:        at.UTC().Truncate(time.Millisecond),
		Actor:       actor,
		Data:        data,
	}, nil
}

// Subject is the subject the envelope is stored under:
// events.<aggregate>.<id>.<short type>.
func (e Envelope) Subject() string {
	info := registry[e.Type]
	return EventSubject(e.Aggregate, e.AggregateID, info.short)
}

// EventSubject builds events.<aggregate>.<id>.<short>.
func EventSubject(aggregate, id, short string) string {
	return SubjectPrefix + "." + aggregate + "." + id + "." + short
}

// AggregateSubject matches every event of one aggregate:
// events.<aggregate>.<id>.*. Optimistic concurrency is checked against it.
func AggregateSubject(aggregate, id string) string {
	return SubjectPrefix + "." + aggregate + "." + id + ".*"
}

// AggregateFilter matches every event of one kind of aggregate.
func AggregateFilter(aggregate string) string {
	return SubjectPrefix + "." + aggregate + ".>"
}

// Decode reads an event as it is stored under subject: its envelope and
// payload. An unknown type, a payload that does not decode, or an envelope
// that does not belong on its subject (another type, aggregate or id than
// the subject names) is an error: projections count such an event as poison
// instead of guessing, so that a publisher allowed one subject can never
// make its message count as another kind of event.
func Decode(seq uint64, subject string, data []byte) (Record, error) {
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return Record{}, fmt.Errorf("domain: decode envelope at seq %d: %w", seq, err)
	}
	info, ok := registry[env.Type]
	if !ok {
		return Record{}, fmt.Errorf("domain: unknown event type %q at seq %d", env.Type, seq)
	}
	if err := checkSubject(seq, subject, info, env); err != nil {
		return Record{}, err
	}
	ev, err := info.decode(env.Data)
	if err != nil {
		return Record{}, fmt.Errorf("domain: decode %s at seq %d: %w", env.Type, seq, err)
	}
	return Record{Seq: seq, Envelope: env, Event: ev}, nil
}

// DecodeTyped is Decode for a reader that knows the event's type from its
// HeaderEventType header: envelope and payload are read in one pass, and
// the Record's Data is left empty. An unknown or empty typ falls back to
// Decode; a typ that the envelope contradicts is an error.
func DecodeTyped(seq uint64, subject, typ string, data []byte) (Record, error) {
	info, ok := registry[typ]
	if !ok {
		return Decode(seq, subject, data)
	}
	env, ev, err := info.decodeAll(data)
	if err != nil {
		return Record{}, fmt.Errorf("domain: decode %s at seq %d: %w", typ, seq, err)
	}
	if env.Type != typ {
		return Record{}, fmt.Errorf("domain: event at seq %d is %q, its header says %q", seq, env.Type, typ)
	}
	if err := checkSubject(seq, subject, info, env); err != nil {
		return Record{}, err
	}
	return Record{Seq: seq, Envelope: env, Event: ev}, nil
}

// checkSubject refuses an envelope stored under a subject that is not its
// own.
func checkSubject(seq uint64, subject string, info typeInfo, env Envelope) error {
	if env.Aggregate != info.aggregate || !ValidID(env.AggregateID) ||
		subject != EventSubject(info.aggregate, env.AggregateID, info.short) {
		return fmt.Errorf("domain: %s for %s %q at seq %d is stored under %q, not its own subject",
			env.Type, env.Aggregate, env.AggregateID, seq, subject)
	}
	return nil
}

// ValidID reports whether id can be used as a subject token and a URL path
// segment: 1 to 64 characters of [A-Za-z0-9_-].
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
