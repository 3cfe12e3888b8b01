// Package directory owns the resource directory's read model: one record
// per resource (agency, office, initiative, task force …) with its current
// details and whether it is retired, folded from the resource events. The
// projector keeps it in NATS KV (see projections/engine); servers read it
// from an in-memory replica through an Index, which also serves
//   - the read API, GET /api/v1/resources and /api/v1/resources/{id};
//   - sponsor linking: the names, acronyms and ids conferences name their
//     sponsors by, matched to resources (Index.LinkSponsors);
//   - current sponsor names, so that a renamed resource shows its new name
//     in every feed and page (Index.SponsorName).
//
// Every value comes from the log (times included), so a rebuild gives the
// same bytes. It imports the domain package, projections/engine,
// httpapi and internal packages; never a producer nor another projection.
package directory

import (
	"fmt"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/engine"
)

// Name is the projection's constant name.
const Name = "directory"

// KeyPrefix starts the key of every resource record.
const KeyPrefix = "resource."

// Key is the record key of a resource.
func Key(id string) string { return KeyPrefix + id }

// Statuses of a resource.
const (
	StatusActive  = "active"
	StatusRetired = "retired"
)

// Resource is the read model's record of one resource.
type Resource struct {
	ID string `json:"id"`
	// Version is the stream sequence of the resource's last event; edits
	// send it back as If-Match.
	Version uint64                 `json:"version"`
	Status  string                 `json:"status"`
	Details domain.ResourceDetails `json:"details"`
	// Added is the time of resource.added, Updated of the last event.
	Added   time.Time `json:"added"`
	Updated time.Time `json:"updated"`
	// RetiredAt is when it was retired; zero while active.
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// Active reports whether the resource appears in the directory's views.
func (r Resource) Active() bool { return r.Status == StatusActive }

// Projection folds resource events into Resource records.
type Projection struct{}

// Model is the directory read model as the engine runs it (the composition
// root's registry lists it); servers replicate all of it.
var Model = engine.Define[Resource](Projection{})

var _ engine.Projection[Resource] = Projection{}

// Name implements engine.Projection.
func (Projection) Name() string { return Name }

// Subjects implements engine.Projection.
func (Projection) Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateResource)}
}

// Apply implements engine.Projection.
func (Projection) Apply(tx *engine.Tx[Resource], r domain.Record) error {
	key := Key(r.AggregateID)
	res, ok := tx.Get(key)
	if e, isNew := r.Event.(domain.ResourceAdded); isNew {
		if ok {
			return fmt.Errorf("directory: resource %s added twice", r.AggregateID)
		}
		tx.Put(key, Resource{ID: r.AggregateID, Version: r.Seq, Status: StatusActive, Details: e.Details, Added: r.Time, Updated: r.Time})
		return nil
	}
	if !ok {
		return fmt.Errorf("directory: %s for unknown resource %s", r.Type, r.AggregateID)
	}
	switch e := r.Event.(type) {
	case domain.ResourceUpdated:
		res.Details = e.Details
	case domain.ResourceRetired:
		res.Status, res.RetiredAt = StatusRetired, r.Time
	case domain.ResourceRestored:
		res.Status, res.RetiredAt = StatusActive, time.Time{}
	default:
		return fmt.Errorf("directory: unexpected event %s", r.Type)
	}
	res.Version, res.Updated = r.Seq, r.Time
	tx.Put(key, res)
	return nil
}
