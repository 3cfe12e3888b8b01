package ical

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	goical "github.com/emersion/go-ical"
)

// EventBlock is one VEVENT encoded once, folded and ready to be copied into
// any number of feeds by Assemble. A feed server keeps one block per
// conference version and assembles a feed of 10,000 events by copying bytes
// instead of encoding them again. An EventBlock is immutable and safe for
// concurrent use.
type EventBlock struct {
	uid   string
	lines []byte      // BEGIN:VEVENT … END:VEVENT, each line ending in CRLF
	zones []blockZone // the zones its DATE-TIME values name, by TZID
}

// blockZone is one zone a block refers to and the instants written in it,
// so that Assemble can check that every block means the same zone by a TZID.
type blockZone struct {
	tzid     string
	loc      *time.Location
	from, to int // local years
	times    []time.Time
}

// UID is the block's UID.
func (b *EventBlock) UID() string { return b.uid }

// Len is the size of the block in bytes.
func (b *EventBlock) Len() int { return len(b.lines) }

// EncodeEvent encodes e as Encode would write it inside a feed. It applies
// the same checks and fails with the same errors (without the event's index
// in the feed, which it does not know).
func EncodeEvent(e Event) (*EventBlock, error) {
	zs := zoneSet{}
	c, err := event(e, zs)
	if err != nil {
		return nil, fmt.Errorf("ical: event (UID %q): %w", e.UID, err)
	}
	lines, err := encodeChild(c)
	if err != nil {
		return nil, err
	}
	b := &EventBlock{uid: e.UID, lines: lines}
	for _, tzid := range slices.Sorted(maps.Keys(zs)) {
		z := zs[tzid]
		bz := blockZone{tzid: tzid, loc: z.loc, from: z.from, to: z.to}
		for _, t := range []time.Time{e.Start, e.End} {
			if t.Location().String() == tzid {
				bz.times = append(bz.times, t)
			}
		}
		b.zones = append(b.zones, bz)
	}
	return b, nil
}

// Assemble writes the calendar of f (whose Events must be empty) holding
// the given blocks in order: byte for byte what Render writes for f with
// the blocks' events, VTIMEZONEs included. It fails like Render on a UID
// that is not unique and on two zones of one name that disagree.
func Assemble(f Feed, blocks []*EventBlock) ([]byte, error) {
	if len(f.Events) > 0 {
		return nil, fmt.Errorf("ical: assemble: the feed's events come from the blocks, not from Feed.Events")
	}
	// The calendar of f alone: its properties, then (for a feed without
	// events) the VTIMEZONE of UTC that Render puts in an empty calendar.
	empty, err := Render(f)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		return empty, nil
	}
	// Calendar properties are escaped and folded, so no content line of the
	// header can be this one: the first child starts here.
	cut := bytes.Index(empty, []byte("\r\nBEGIN:VTIMEZONE\r\n"))
	if cut < 0 {
		return nil, fmt.Errorf("ical: assemble: unexpected empty calendar:\n%s", empty)
	}
	header := empty[:cut+2]

	zones := zoneSet{}
	uids := make(map[string]bool, len(blocks))
	size := len(header) + len(endCalendar)
	for i, b := range blocks {
		if uids[b.uid] {
			return nil, fmt.Errorf("ical: event %d: UID %q is not unique in the feed (RFC 5545 §3.8.4.7)", i, b.uid)
		}
		uids[b.uid] = true
		size += len(b.lines)
		for _, bz := range b.zones {
			z := zones[bz.tzid]
			if z == nil {
				zones[bz.tzid] = &zoneSpan{loc: bz.loc, from: bz.from, to: bz.to}
				continue
			}
			if bz.loc != z.loc {
				for _, t := range bz.times {
					_, off := t.Zone()
					if _, o := t.In(z.loc).Zone(); o != off {
						return nil, fmt.Errorf("ical: event %d (UID %q): two different time zones are named %q", i, b.uid, bz.tzid)
					}
				}
			}
			z.from, z.to = min(z.from, bz.from), max(z.to, bz.to)
		}
	}
	var tzs [][]byte
	for _, tzid := range slices.Sorted(maps.Keys(zones)) {
		z := zones[tzid]
		tz, err := Timezone(z.loc, max(z.from-1, 1), min(z.to+1, 9999))
		if err != nil {
			return nil, err
		}
		lines, err := encodeChild(tz)
		if err != nil {
			return nil, err
		}
		size += len(lines)
		tzs = append(tzs, lines)
	}
	out := make([]byte, 0, size)
	out = append(out, header...)
	for _, tz := range tzs {
		out = append(out, tz...)
	}
	for _, b := range blocks {
		out = append(out, b.lines...)
	}
	return append(out, endCalendar...), nil
}

const endCalendar = "END:VCALENDAR\r\n"

// encodeChild encodes one component as Encode writes it inside a calendar:
// through go-ical's Encoder (which only encodes whole calendars) and the
// foldWriter, then cut out of the minimal calendar around it.
func encodeChild(c *goical.Component) ([]byte, error) {
	cal := goical.NewCalendar()
	cal.Props.Set(textProp(goical.PropProductID, ProductID))
	cal.Props.Set(textProp(goical.PropVersion, "2.0"))
	cal.Children = []*goical.Component{c}
	var buf bytes.Buffer
	fw := newFoldWriter(&buf)
	if err := goical.NewEncoder(fw).Encode(cal); err != nil {
		return nil, fmt.Errorf("ical: encode: %w", err)
	}
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("ical: encode: %w", err)
	}
	b := buf.Bytes()
	begin := bytes.Index(b, []byte("\r\nBEGIN:"+c.Name+"\r\n"))
	if begin < 0 || !bytes.HasSuffix(b, []byte(endCalendar)) {
		return nil, fmt.Errorf("ical: encode: unexpected output for %s", c.Name)
	}
	return bytes.Clone(b[begin+2 : len(b)-len(endCalendar)]), nil
}
