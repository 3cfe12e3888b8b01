package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

// slowCounter is counter with a cost per event, so that a burst of appends
// runs ahead of it.
type slowCounter struct{ counter }

func (slowCounter) Name() string { return "slow" }
func (s slowCounter) Apply(tx *engine.Tx[tally], r domain.Record) error {
	time.Sleep(3 * time.Millisecond)
	return s.counter.Apply(tx, r)
}

// lagSample is what a scrape says of one projection.
type lagSample struct {
	applied, events, seconds float64
	ok                       bool
}

func scrapeLag(t testing.TB, reg *prometheus.Registry, projection string) lagSample {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var s lagSample
	found := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != projection || m.GetGauge() == nil {
				continue
			}
			switch mf.GetName() {
			case "jevents_projector_applied_sequence":
				s.applied, found = m.GetGauge().GetValue(), found+1
			case "jevents_projector_lag_events":
				s.events, found = m.GetGauge().GetValue(), found+1
			case "jevents_projector_lag_seconds":
				s.seconds, found = m.GetGauge().GetValue(), found+1
			}
		}
	}
	s.ok = found == 3
	return s
}

// TestLagMetricsAreTrue: during a burst of appends that a slow projector
// cannot follow, every scrape's lag is the distance between the applied
// sequence it reports and the stream's last sequence, as read just before
// and just after the scrape (every event matches the projection). Issue 16
// saw the metric read 0 while 16,000 events behind.
func TestLagMetricsAreTrue(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	stream, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	lastSeqNow := func() float64 {
		info, err := stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return float64(info.State.LastSeq)
	}
	appendEvents(t, l, 20, 5, "w") // the projector starts with a log
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	p := engine.NewProjector[tally](js, slowCounter{}, engine.BucketConfig{}, quiet, engine.NewMetrics(reg))
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.CaughtUp():
	case <-time.After(20 * time.Second):
		t.Fatal("projector did not catch up")
	}

	// The burst: 1,200 events from 6 writers on 600 aggregates, faster than
	// the projector applies them (3 ms each).
	const writers, each = 6, 200
	var burst sync.WaitGroup
	var failed atomic.Value
	for w := range writers {
		burst.Go(func() {
			last := map[string]uint64{}
			for i := range each {
				id := fmt.Sprintf("b%d-%d", w, i%100)
				var ev domain.Event = domain.ConferenceApproved{}
				if last[id] == 0 {
					ev = domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: id}}
				}
				env, err := domain.NewEnvelope(fmt.Sprintf("b%d-%d", w, i), id, "test", time.Now(), ev)
				if err == nil {
					var a eventlog.Appended
					a, err = l.Append(context.Background(), env, env.ID, last[id])
					last[id] = a.Seq
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	burstDone := make(chan struct{})
	go func() { burst.Wait(); close(burstDone) }()

	var samples, behind int
	var maxLag float64
	deadline := time.After(60 * time.Second)
	for finished := false; ; {
		select {
		case <-burstDone:
			finished = true
		case <-deadline:
			t.Fatalf("projector did not catch up with the burst (%d samples)", samples)
		default:
		}
		before := lastSeqNow()
		s := scrapeLag(t, reg, "slow")
		after := lastSeqNow()
		if !s.ok {
			t.Fatalf("scrape without the lag series: %+v", s)
		}
		samples++
		if s.events < before-s.applied || s.events > after-s.applied {
			t.Fatalf("sample %d: lag %v events at applied %v, but the stream's last sequence was %v before the scrape and %v after: the lag must be in [%v, %v]",
				samples, s.events, s.applied, before, after, before-s.applied, after-s.applied)
		}
		if (s.events == 0) != (s.seconds == 0) {
			t.Fatalf("sample %d: lag %v events but %v seconds", samples, s.events, s.seconds)
		}
		if s.events > 0 {
			behind++
			maxLag = max(maxLag, s.events)
		}
		if finished && s.events == 0 && s.applied == after {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	// Not vacuous: the projector was seen behind, by many events.
	if behind < 5 || maxLag < 200 {
		t.Fatalf("the projector was never far behind (%d of %d samples behind, at most %v events): the test checked nothing", behind, samples, maxLag)
	}
	t.Logf("%d samples, %d behind, at most %v events behind", samples, behind, maxLag)
}
