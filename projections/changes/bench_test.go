package changes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
)

// BenchmarkCatchUp100k: a follower catching up from the start over a
// change stream of 100,000 changes (10,000 conferences, each approved and
// edited nine times, topics alternating), on a real embedded nats-server:
// pages of 1,000 as GET /api/v1/changes reads them (Reader.Read), for the
// whole calendar and for one topic (which reads every record and keeps
// half). Reported: changes read per second.
//
//	go test -run '^$' -bench CatchUp100k -benchtime 3x ./projections/changes/
func BenchmarkCatchUp100k(b *testing.B) {
	_, nc, js := natstest.Start(b)
	ctx := context.Background()
	bucket, err := engine.Setup(ctx, js, Name, engine.BucketConfig{})
	if err != nil {
		b.Fatal(err)
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("JEVENTS_BENCH_CHANGES")); err == nil && v > 0 {
		n = v // a smaller stream, for profiling
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var msgs []*nats.Msg
	flush := func() {
		if len(msgs) == 0 {
			return
		}
		if _, err := jetstreamext.PublishMsgBatch(ctx, js, msgs); err != nil {
			b.Fatal(err)
		}
		msgs = msgs[:0]
	}
	for i := range n {
		id := fmt.Sprintf("c%05d", i%10_000)
		c := calendar.Conference{ID: id, Status: domain.StatusApproved, Version: uint64(i + 1), Published: base, Updated: base,
			Details: domain.ConferenceDetails{Title: "Conference " + id, Description: "Training for investigators, prosecutors and victim advocates.",
				AllDay: true, Start: "2030-06-12", End: "2030-06-14", Format: domain.FormatInPerson,
				Location: domain.Location{Venue: "Convention Center", City: "Baltimore", Region: "MD", Country: "US"},
				Sponsors: []domain.Sponsor{{Name: "Office for Victims of Crime"}}, Topics: []string{[]string{"courts", "reentry"}[i%2]}}}
		rec := Record{Cursor: uint64(i + 1), ID: id, Time: base, Event: "conference.updated.v1", After: &c}
		if i >= 10_000 {
			before := c
			before.Details.Topics = []string{[]string{"reentry", "courts"}[i%2]}
			rec.Before = &before
		}
		data, _ := json.Marshal(rec)
		m := nats.NewMsg("$KV." + bucket + "." + ChangeKey(uint64(i+1)))
		m.Data = data
		msgs = append(msgs, m)
		if len(msgs) == 500 {
			flush()
		}
	}
	flush()
	_ = nc
	rd := NewReader(js, nil)
	for _, tt := range []struct {
		name string
		f    feeds.Filter
	}{{"all", feeds.Filter{}}, {"topic", feeds.Facet("topic", "courts")}} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				var after uint64
				got := 0
				for {
					cs, next, err := rd.Read(ctx, tt.f, after, maxLimit, maxScan)
					if err != nil {
						b.Fatal(err)
					}
					got += len(cs)
					if next == after {
						break
					}
					after = next
				}
				if after != uint64(n) || got == 0 {
					b.Fatalf("caught up to %d with %d changes", after, got)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}
