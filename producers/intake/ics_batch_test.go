package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/natstest"
)

// icsFile is a calendar of n valid VEVENTs, each about size bytes long.
func icsFile(n, size int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//jevents test//EN\r\n")
	year := time.Now().Year() + 1
	for i := range n {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:batch-%d@example.org\r\nDTSTAMP:20260101T000000Z\r\n", i)
		fmt.Fprintf(&b, "DTSTART;VALUE=DATE:%d0%d10\r\nDTEND;VALUE=DATE:%d0%d12\r\n", year, 1+i%9, year, 1+i%9)
		fmt.Fprintf(&b, "SUMMARY:Batch conference %d\r\nLOCATION:Convention Center, Baltimore, MD\r\n", i)
		if size > 0 {
			// Folded at 70 octets, as RFC 5545 wants.
			desc := "DESCRIPTION:" + strings.Repeat("d", size)
			for len(desc) > 70 {
				b.WriteString(desc[:70] + "\r\n ")
				desc = desc[70:]
			}
			b.WriteString(desc + "\r\n")
		}
		b.WriteString("END:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func newBudgetIntake(t *testing.T, maxBytes int64) (*httptest.Server, jetstream.JetStream, *eventlog.Log, *Intake) {
	t.Helper()
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: maxBytes}); err != nil {
		t.Fatal(err)
	}
	log := eventlog.New(js, nil)
	in := New(log, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	mux := http.NewServeMux()
	_ = httpapi.Handle(mux, in.Routes(), nil, nil) // public routes only
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, js, log, in
}

// TestICSFileIsAllOrNothingOnAFullLog: on a log with room for part of a
// 50-VEVENT file, the file answers 507 and stores none of its VEVENTs (it
// used to store the first 29); once the budget is raised the same request
// stores all 50, and its retry adds nothing.
func TestICSFileIsAllOrNothingOnAFullLog(t *testing.T) {
	srv, js, log, _ := newBudgetIntake(t, 1<<20)
	ctx := context.Background()
	file := icsFile(MaxICSEvents, 2000)
	const query = "topic=courts&contact=pat@example.org"

	// Fill the log until about a third of the file still fits.
	stream, _ := js.Stream(ctx, domain.StreamName)
	for i := 0; ; i++ {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.MaxBytes-int64(info.State.Bytes) < int64(len(file))/3 {
			break
		}
		env, _ := domain.NewEnvelope(fmt.Sprint("fill-", i), fmt.Sprint("fill", i), "test", time.Now(),
			domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: strings.Repeat("f", 8000)}})
		if _, err := log.Append(ctx, env, env.ID, 0); err != nil {
			t.Fatalf("filling: %v", err)
		}
	}
	before := messages(t, js)
	a := post(t, srv, query, "big-file", "text/calendar", file)
	if a.status != http.StatusInsufficientStorage || !strings.Contains(string(a.body), "Nothing was stored") ||
		a.header.Get("Retry-After") == "" {
		t.Fatalf("file on a nearly full log: %d %s", a.status, a.body)
	}
	if n := messages(t, js) - before; n != 0 {
		t.Fatalf("a refused file stored %d of its %d VEVENTs", n, MaxICSEvents)
	}

	// The operator raises the budget; the client retries with the same key.
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	a = post(t, srv, query, "big-file", "text/calendar", file)
	var rec ICSReceipt
	if err := json.Unmarshal(a.body, &rec); a.status != http.StatusAccepted || err != nil || len(rec.Items) != MaxICSEvents {
		t.Fatalf("retry after raising the budget: %d %s", a.status, a.body)
	}
	if n := messages(t, js) - before; n != MaxICSEvents {
		t.Fatalf("the file stored %d events, want %d", n, MaxICSEvents)
	}
	for i, it := range rec.Items {
		c, recs, err := eventlog.Fold[domain.Conference](ctx, log, it.ID)
		if err != nil || len(recs) != 1 || it.Version != recs[0].Seq || it.Duplicate || c.Status != domain.StatusPending {
			t.Fatalf("item %d: %+v; in the log %d events (%v)", i, it, len(recs), err)
		}
	}
	a = post(t, srv, query, "big-file", "text/calendar", file)
	var again ICSReceipt
	_ = json.Unmarshal(a.body, &again)
	if a.status != http.StatusAccepted || len(again.Items) != MaxICSEvents || !again.Items[7].Duplicate ||
		again.Items[7].Version != rec.Items[7].Version {
		t.Fatalf("second retry: %d %s", a.status, a.body)
	}
	if n := messages(t, js) - before; n != MaxICSEvents {
		t.Fatalf("a retried file appended %d events", n-MaxICSEvents)
	}
}

// TestICSRetryCompletesAHalfStoredFile: a file stored in part (as intake
// did before files were one batch, when the log failed half-way) is
// completed by its retry: the stored VEVENTs are answered as they are, the
// others are appended, each conference exists once.
func TestICSRetryCompletesAHalfStoredFile(t *testing.T) {
	srv, js, log, _ := newBudgetIntake(t, 64<<20)
	ctx := context.Background()
	file := icsFile(12, 0)
	const query = "topic=courts&contact=pat@example.org"

	// What the old sequential intake stored before it failed: the first 5.
	im, subs, err := prepareICS(file, defaults(t, query), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	uids := make([]string, len(subs))
	for i := range uids {
		uids[i] = im.Events[i].UID
	}
	items, err := icsAppends(subs, uids, "half-file", ActorPublic, func(s []domain.Sponsor) []domain.Sponsor { return s })
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items[:5] {
		if _, err := log.Append(ctx, it.creation.Env, it.creation.MsgID, 0); err != nil {
			t.Fatal(err)
		}
	}
	before := messages(t, js)
	a := post(t, srv, query, "half-file", "text/calendar", file)
	var rec ICSReceipt
	if err := json.Unmarshal(a.body, &rec); a.status != http.StatusAccepted || err != nil || len(rec.Items) != 12 {
		t.Fatalf("retry of a half-stored file: %d %s", a.status, a.body)
	}
	for i, it := range rec.Items {
		if it.ID != items[i].id || it.Duplicate != (i < 5) {
			t.Fatalf("item %d: %+v", i, it)
		}
		if _, recs, err := eventlog.Fold[domain.Conference](ctx, log, it.ID); err != nil || len(recs) != 1 {
			t.Fatalf("item %d: %d events in the log (%v)", i, len(recs), err)
		}
	}
	if n := messages(t, js) - before; n != 7 {
		t.Fatalf("the retry appended %d events, want the 7 missing", n)
	}
}

// TestICSUnavailableIsRetriable: with the stream gone the file answers 503
// with Retry-After at once (nothing stored), and succeeds, once, when the
// client retries after the stream is back.
func TestICSUnavailableIsRetriable(t *testing.T) {
	srv, js, log, _ := newBudgetIntake(t, 8<<20)
	ctx := context.Background()
	file := icsFile(3, 0)
	const query = "topic=courts&contact=pat@example.org"
	if err := js.DeleteStream(ctx, domain.StreamName); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a := post(t, srv, query, "gone", "text/calendar", file)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || time.Since(start) > 3*time.Second {
		t.Fatalf("file while the stream is missing: %d after %v %s", a.status, time.Since(start), a.body)
	}
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	a = post(t, srv, query, "gone", "text/calendar", file)
	var rec ICSReceipt
	if err := json.Unmarshal(a.body, &rec); a.status != http.StatusAccepted || err != nil || len(rec.Items) != 3 {
		t.Fatalf("retry: %d %s", a.status, a.body)
	}
	if _, recs, err := eventlog.Fold[domain.Conference](ctx, log, rec.Items[2].ID); err != nil || len(recs) != 1 {
		t.Fatalf("after the retry: %d events (%v)", len(recs), err)
	}
}
