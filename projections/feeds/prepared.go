package feeds

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/ical"
	"github.com/justiceevents/jevents/projections/calendar"
)

// prepared is what every feed needs of one conference version, computed
// once: the instants it starts and ends (to sort and to apply the window)
// and its VEVENT, encoded once and copied into every feed that holds it.
type prepared struct {
	// Set when created, never changed.
	version uint64
	start   time.Time // first instant (all-day: midnight UTC of the first day)
	end     time.Time // exclusive end (all-day: midnight UTC after the last day)
	err     error     // the record's times cannot be read; it is left out of feeds

	// Set by Server.block, guarded by preparedSet.mu.
	done     bool // block was attempted
	block    *ical.EventBlock
	blockErr error // the record cannot be rendered; it is left out of feeds
	item     *item // what the syndication formats say of it (syndication.go)
}

// preparedSet holds the prepared conferences by id, and the time zones
// they use. Safe for concurrent use.
type preparedSet struct {
	mu    sync.Mutex
	byID  map[string]*prepared
	zones map[string]*time.Location
}

func newPreparedSet() *preparedSet {
	return &preparedSet{byID: map[string]*prepared{}, zones: map[string]*time.Location{}}
}

// forget drops what was prepared for a conference (it changed).
func (ps *preparedSet) forget(id string) {
	ps.mu.Lock()
	delete(ps.byID, id)
	ps.mu.Unlock()
}

// reset drops everything (the model was replaced).
func (ps *preparedSet) reset() {
	ps.mu.Lock()
	clear(ps.byID)
	ps.mu.Unlock()
}

// times returns the prepared entry of c, with its start and end, computing
// them when c is new or changed. The VEVENT itself is encoded by block.
func (ps *preparedSet) times(c calendar.Conference) *prepared {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.byID[c.ID]; ok && p.version == c.Version {
		return p
	}
	p := &prepared{version: c.Version}
	p.start, p.end, p.err = ps.span(c.Details)
	ps.byID[c.ID] = p
	return p
}

// span is when the conference starts and ends. Timed conferences are read
// in their zone like the domain validated them: a local time a fall-back
// repeats is its first occurrence.
func (ps *preparedSet) span(d domain.ConferenceDetails) (time.Time, time.Time, error) {
	if d.AllDay {
		first, err := time.Parse(domain.DateLayout, d.Start)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("start %q: %w", d.Start, err)
		}
		last, err := time.Parse(domain.DateLayout, d.End)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("end %q: %w", d.End, err)
		}
		return first, last.AddDate(0, 0, 1), nil
	}
	loc := ps.zones[d.Timezone]
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(d.Timezone); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("time zone %q: %w", d.Timezone, err)
		}
		ps.zones[d.Timezone] = loc
	}
	start, err := localTime(d.Start, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("start: %w", err)
	}
	end, err := localTime(d.End, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("end: %w", err)
	}
	return start, end, nil
}

// localTime reads a stored local date-time in loc; a time that a
// fall-back repeats is its first occurrence (RFC 5545 §3.3.5), as the
// domain's validation reads it.
func localTime(s string, loc *time.Location) (time.Time, error) {
	civil, err := time.Parse(domain.LocalTimeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	t := time.Date(civil.Year(), civil.Month(), civil.Day(), civil.Hour(), civil.Minute(), civil.Second(), 0, loc)
	if earlier := t.Add(-time.Hour); earlier.Hour() == t.Hour() && earlier.Minute() == t.Minute() && earlier.Day() == t.Day() {
		t = earlier
	}
	return t, nil
}

// block returns the encoded VEVENT of c (prepared by times), encoding it on
// first use. A conference that cannot be rendered is logged once per
// version and left out of feeds rather than failing every feed.
func (s *Server) block(c calendar.Conference, p *prepared) *ical.EventBlock {
	s.prepared.mu.Lock()
	done, b := p.done, p.block
	s.prepared.mu.Unlock()
	if done {
		return b
	}
	err := p.err
	if err == nil {
		var ev ical.Event
		if ev, err = s.event(c, p); err == nil {
			b, err = ical.EncodeEvent(ev)
		}
	}
	s.prepared.mu.Lock()
	first := !p.done
	p.done, p.block, p.blockErr = true, b, err
	s.prepared.mu.Unlock()
	if err != nil && first {
		s.metrics.broken.Inc()
		s.log.Error("conference left out of feeds: it cannot be rendered", slog.String("id", c.ID),
			slog.Uint64("version", c.Version), slog.Any("err", err))
	}
	return b
}
