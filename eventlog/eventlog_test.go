package eventlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/embednats"
	"github.com/justiceevents/jevents/internal/natstest"
)

func submitted(t *testing.T, id, title string) domain.Envelope {
	t.Helper()
	env, err := domain.NewEnvelope("ev-"+id, id, "test", time.Now(), domain.ConferenceSubmitted{
		Details: domain.ConferenceDetails{Title: title}, RequestHash: "h-" + id})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func mustStream(t testing.TB, js jetstream.JetStream, maxBytes int64) {
	t.Helper()
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: maxBytes}); err != nil {
		t.Fatal(err)
	}
}

// within fails the test when fn takes longer than d; it returns fn's error.
func within(t *testing.T, d time.Duration, what string, fn func() error) error {
	t.Helper()
	start := time.Now()
	err := fn()
	if took := time.Since(start); took > d {
		t.Fatalf("%s took %v, more than %v (err %v)", what, took.Round(time.Millisecond), d, err)
	}
	return err
}

// TestMissingStreamAnswersUnavailableAtOnce: with the stream removed, an
// append and a load answer ErrUnavailable (naming the missing stream) in
// about a second, instead of retrying until the deadline or for ever.
func TestMissingStreamAnswersUnavailableAtOnce(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 1<<20)
	if err := js.DeleteStream(context.Background(), domain.StreamName); err != nil {
		t.Fatal(err)
	}
	l := eventlog.New(js, nil)
	err := within(t, 3*time.Second, "append to a missing stream", func() error {
		_, err := l.Append(context.Background(), submitted(t, "c1", "A"), "m1", 0)
		return err
	})
	if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, eventlog.ErrStreamMissing) {
		t.Fatalf("append: %v, want ErrUnavailable and ErrStreamMissing", err)
	}
	err = within(t, 3*time.Second, "load from a missing stream", func() error {
		_, err := l.Load(context.Background(), domain.AggregateConference, "c1")
		return err
	})
	if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, eventlog.ErrStreamMissing) {
		t.Fatalf("load: %v, want ErrUnavailable and ErrStreamMissing", err)
	}
	_, err = l.CreateAll(context.Background(), []eventlog.Creation{{Env: submitted(t, "c2", "B"), MsgID: "m2"}})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("batch: %v, want ErrUnavailable", err)
	}
}

// TestServerDownAnswersWithinTheDeadline: while the server is away, an
// append gives up after eventlog.Timeout with ErrUnavailable, also once the
// client's reconnect buffer overflows; after the server is back the same
// append (same message id) is stored once.
func TestServerDownAnswersWithinTheDeadline(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.Server(t, dir)
	url := ns.ClientURL()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectBufSize(4<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	mustStream(t, js, 1<<20)
	l := eventlog.New(js, nil)

	ns.Shutdown()
	ns.WaitForShutdown()
	// 3 KB: the second attempt overflows the 4 KiB reconnect buffer.
	env := submitted(t, "down0", strings.Repeat("x", 3000))
	err = within(t, eventlog.Timeout+time.Second, "append while the server is down", func() error {
		_, err := l.Append(context.Background(), env, "down-down0", 0)
		return err
	})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("append while down: %v, want ErrUnavailable", err)
	}
	// A caller's shorter deadline wins.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := within(t, 1500*time.Millisecond, "append with a short deadline", func() error {
		_, err := l.Append(ctx, submitted(t, "short", "S"), "short", 0)
		return err
	}); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("short deadline: %v", err)
	}

	// The same server (same port and store) comes back.
	port := strings.TrimPrefix(url[strings.LastIndex(url, ":"):], ":")
	ns2, err := embednats.Start(context.Background(), embednats.Config{StoreDir: dir, Listen: "127.0.0.1:" + port})
	if err != nil {
		t.Fatal(err)
	}
	defer ns2.Shutdown()
	var a eventlog.Appended
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err = l.Append(context.Background(), env, "down-down0", 0)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("append after the server came back: %v", err)
	}
	recs, err := l.Load(context.Background(), domain.AggregateConference, "down0")
	if err != nil || len(recs) != 1 || recs[0].Seq != a.Seq {
		t.Fatalf("after the outage: %d events (%v), want exactly the one at %d", len(recs), err, a.Seq)
	}
}

// TestFullLogRefusesWholeBatch: a batch that does not fit in the byte
// budget stores none of its events; a single append answers ErrLogFull.
func TestFullLogRefusesWholeBatch(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 1<<20) // the smallest budget the service accepts
	l := eventlog.New(js, nil)
	ctx := context.Background()
	big := strings.Repeat("y", 20<<10)
	// Fill the log to within a few events of its budget.
	for i := 0; ; i++ {
		env := submitted(t, fmt.Sprintf("fill%d", i), big)
		_, err := l.Append(ctx, env, env.ID, 0)
		if errors.Is(err, domain.ErrLogFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := js.Stream(ctx, domain.StreamName)
	before := s.CachedInfo().State.Msgs
	var cs []eventlog.Creation
	for i := range 5 {
		id := fmt.Sprintf("batch%d", i)
		cs = append(cs, eventlog.Creation{Env: submitted(t, id, "small"), MsgID: "b-" + id})
	}
	cs = append(cs, eventlog.Creation{Env: submitted(t, "batchbig", big+big), MsgID: "b-big"})
	if _, err := l.CreateAll(ctx, cs); !errors.Is(err, domain.ErrLogFull) {
		t.Fatalf("batch on a full log: %v, want ErrLogFull", err)
	}
	info, _ := s.Info(ctx)
	if info.State.Msgs != before {
		t.Fatalf("a refused batch stored %d of its events", info.State.Msgs-before)
	}
}

// TestCreateAllIsAtomicAndIdempotent: a batch is stored in one piece with
// the sequences CreateAll reports; the same batch again is answered as
// duplicates; a batch in which one aggregate already exists stores nothing.
func TestCreateAllIsAtomicAndIdempotent(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 64<<20)
	l := eventlog.New(js, nil)
	ctx := context.Background()
	// Something else in the log first, so sequences do not start at 1.
	if _, err := l.Append(ctx, submitted(t, "other", "O"), "other", 0); err != nil {
		t.Fatal(err)
	}
	var cs []eventlog.Creation
	for i := range 50 {
		id := fmt.Sprintf("ics%d", i)
		cs = append(cs, eventlog.Creation{Env: submitted(t, id, "T"+id), MsgID: "m-" + id})
	}
	got, err := l.CreateAll(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		recs, err := l.Load(ctx, domain.AggregateConference, c.Env.AggregateID)
		if err != nil || len(recs) != 1 || recs[0].Seq != got[i].Seq || got[i].Duplicate {
			t.Fatalf("item %d: %+v, log %v (%v)", i, got[i], recs, err)
		}
	}
	again, err := l.CreateAll(ctx, cs)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	for i := range cs {
		if !again[i].Duplicate || again[i].Seq != got[i].Seq {
			t.Fatalf("retry item %d: %+v, want a duplicate of %+v", i, again[i], got[i])
		}
	}

	s, _ := js.Stream(ctx, domain.StreamName)
	before := s.CachedInfo().State.Msgs
	mixed := []eventlog.Creation{
		{Env: submitted(t, "fresh1", "F"), MsgID: "m-fresh1"},
		{Env: submitted(t, "ics3", "another request"), MsgID: "m-other-ics3"},
		{Env: submitted(t, "fresh2", "F"), MsgID: "m-fresh2"},
	}
	var ve *domain.VersionError
	if _, err := l.CreateAll(ctx, mixed); !errors.As(err, &ve) {
		t.Fatalf("batch with an existing aggregate: %v, want a VersionError", err)
	}
	info, _ := s.Info(ctx)
	if info.State.Msgs != before {
		t.Fatalf("a refused batch stored %d events", info.State.Msgs-before)
	}
}

// TestLoadFollowsTheChainAndOlderEvents: Load returns an aggregate's events
// oldest first, whether they carry the previous event's sequence (as Append
// stores them) or were stored before that header existed (found by a
// scan), and never another aggregate's.
func TestLoadFollowsTheChainAndOlderEvents(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 1<<30)
	ctx := context.Background()
	l := eventlog.New(js, nil)
	// Two events of "old" stored as before the chain: no HeaderPrev.
	for i, ev := range []domain.Event{
		domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: "old"}},
		domain.ConferenceApproved{Note: "legacy"},
	} {
		env, err := domain.NewEnvelope(fmt.Sprint("legacy-", i), "old", "test", time.Now(), ev)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(env)
		m := nats.NewMsg(env.Subject())
		m.Data = data
		m.Header.Set(domain.HeaderEventType, env.Type)
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Interleaved appends of "old", "new" and "newer" (a prefix of nothing:
	// ids are whole tokens).
	last := map[string]uint64{"old": 2}
	want := map[string][]uint64{"old": {1, 2}}
	for i := range 12 {
		id := []string{"old", "new", "newer"}[i%3]
		var ev domain.Event = domain.ConferenceApproved{Note: fmt.Sprint(i)}
		if last[id] == 0 {
			ev = domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: id}}
		}
		env, err := domain.NewEnvelope(fmt.Sprint("e-", i), id, "test", time.Now(), ev)
		if err != nil {
			t.Fatal(err)
		}
		a, err := l.Append(ctx, env, env.ID, last[id])
		if err != nil {
			t.Fatal(err)
		}
		last[id] = a.Seq
		want[id] = append(want[id], a.Seq)
	}
	for id, seqs := range want {
		recs, err := l.Load(ctx, domain.AggregateConference, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, r := range recs {
			if r.AggregateID != id {
				t.Fatalf("%s: loaded an event of %s", id, r.AggregateID)
			}
			got = append(got, r.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(seqs) {
			t.Fatalf("%s: loaded %v, want %v", id, got, seqs)
		}
	}
	if _, err := l.Load(ctx, domain.AggregateConference, "none"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("an aggregate without events: %v, want not found", err)
	}
}
