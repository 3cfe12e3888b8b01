package domain

import (
	"reflect"
	"strings"
	"time"
)

// Resource event type names. They are stored in every event and never
// change; a new payload shape gets a new version (…v2) beside the old one.
const (
	TypeResourceAdded    = "resource.added.v1"
	TypeResourceUpdated  = "resource.updated.v1"
	TypeResourceRetired  = "resource.retired.v1"
	TypeResourceRestored = "resource.restored.v1"
)

// ResourceAdded opens a resource aggregate in the directory.
type ResourceAdded struct {
	Details ResourceDetails `json:"details"`
	// Source says how it arrived: api, cli or seed.
	Source string `json:"source,omitempty"`
	// RequestHash is ResourceDetails.Hash of the request, to recognise a
	// retried creation.
	RequestHash string `json:"request_hash,omitempty"`
}

// ResourceUpdated replaces the details. Changed lists the JSON names of the
// fields that differ from the previous details.
type ResourceUpdated struct {
	Details ResourceDetails `json:"details"`
	Changed []string        `json:"changed"`
}

// ResourceRetired takes a resource out of the directory's views. It stays
// in the log, its history and the sponsors of past conferences.
type ResourceRetired struct {
	Reason string `json:"reason,omitempty"`
}

// ResourceRestored brings a retired resource back into the views.
type ResourceRestored struct {
	Reason string `json:"reason,omitempty"`
}

func (ResourceAdded) EventType() string    { return TypeResourceAdded }
func (ResourceUpdated) EventType() string  { return TypeResourceUpdated }
func (ResourceRetired) EventType() string  { return TypeResourceRetired }
func (ResourceRestored) EventType() string { return TypeResourceRestored }

func init() {
	register[ResourceAdded](TypeResourceAdded)
	register[ResourceUpdated](TypeResourceUpdated)
	register[ResourceRetired](TypeResourceRetired)
	register[ResourceRestored](TypeResourceRestored)
}

// Resource is the write-side state of one directory resource, folded from
// its events.
type Resource struct {
	ID string
	// Version is the stream sequence of the resource's last event. Edits
	// name it (If-Match) and the log checks it on append.
	Version     uint64
	Details     ResourceDetails
	Retired     bool
	RequestHash string
	Added       time.Time
	Updated     time.Time
}

// AggregateKind implements State.
func (*Resource) AggregateKind() string { return AggregateResource }

// Apply folds one event of this resource into the state.
func (r *Resource) Apply(rec Record) {
	r.Version = rec.Seq
	// Only an addition opens a resource, and only once: anything else
	// stored out of that order moves the version on and changes nothing.
	_, opens := rec.Event.(ResourceAdded)
	if opens == (r.ID != "") {
		return
	}
	r.ID = rec.AggregateID
	r.Updated = rec.Time
	switch e := rec.Event.(type) {
	case ResourceAdded:
		r.Details = e.Details
		r.RequestHash = e.RequestHash
		r.Added = rec.Time
	case ResourceUpdated:
		r.Details = e.Details
	case ResourceRetired:
		r.Retired = true
	case ResourceRestored:
		r.Retired = false
	}
}

// Exists reports whether the resource has been added.
func (r *Resource) Exists() bool { return r.ID != "" }

// Update replaces the details with validated new ones. It returns a nil
// event when nothing changed, so an edit that changes nothing appends
// nothing. A retired resource must be restored before it is edited.
func (r *Resource) Update(d ResourceDetails) (Event, error) {
	if r.Retired {
		return nil, &ResourceStateError{Command: "edit", Retired: true}
	}
	changed := ChangedResourceFields(r.Details, d)
	if len(changed) == 0 {
		return nil, nil
	}
	return ResourceUpdated{Details: d, Changed: changed}, nil
}

// Retire takes an active resource out of the views.
func (r *Resource) Retire(reason string) (Event, error) {
	if r.Retired {
		return nil, &ResourceStateError{Command: "retire", Retired: true}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ResourceRetired{Reason: reason}, nil
}

// Restore brings a retired resource back.
func (r *Resource) Restore(reason string) (Event, error) {
	if !r.Retired {
		return nil, &ResourceStateError{Command: "restore", Retired: false}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ResourceRestored{Reason: reason}, nil
}

// ChangedResourceFields lists the JSON names of the fields that differ.
func ChangedResourceFields(a, b ResourceDetails) []string { return changedFields(a, b) }

// changedFields lists the JSON names of the top-level fields of two structs
// of one type that differ.
func changedFields[T any](a, b T) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name := t.Field(i).Tag.Get("json")
			if j := strings.IndexByte(name, ','); j >= 0 {
				name = name[:j]
			}
			out = append(out, name)
		}
	}
	return out
}
