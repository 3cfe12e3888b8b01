package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/justiceevents/jevents/eventlog/schedule"
	"github.com/justiceevents/jevents/internal/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fired struct {
	conference, plan string
	at               time.Time
}

// TestPlansFireOnceAtTheirInstant: a plan fires once, within a second of
// its instant; a dropped one never fires; one due while the server is
// down fires when it is back; a handler that fails gets the plan again.
func TestPlansFireOnceAtTheirInstant(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.Server(t, dir)
	_, js := natstest.Connect(t, ns)
	ctx := context.Background()
	if err := schedule.Ensure(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	if err := schedule.Ensure(ctx, js, 1); err != nil { // idempotent
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		got   []fired
		fails = map[string]int{"retry": 1}
	)
	handle := func(_ context.Context, conference, plan string) error {
		mu.Lock()
		defer mu.Unlock()
		if fails[plan] > 0 {
			fails[plan]--
			return context.DeadlineExceeded
		}
		got = append(got, fired{conference, plan, time.Now()})
		return nil
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = schedule.NewReactor(js, handle, quiet, nil).Run(rctx) })
	defer func() { cancel(); wg.Wait() }()

	p := schedule.NewPlanner(js)
	due := schedule.Second(time.Now().Add(2 * time.Second))
	for _, plan := range []string{"once", "dropped", "retry"} {
		if err := p.Plan(ctx, "c1", plan, due); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Plan(ctx, "c1", "once", due); err != nil { // a retried plan is the same plan
		t.Fatal(err)
	}
	if err := p.Drop(ctx, "c1", "dropped"); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Pending(ctx, "c1", "dropped"); ok || err != nil {
		t.Fatalf("dropped plan pending: %v %v", ok, err)
	}
	time.Sleep(time.Until(due) + 3*time.Second)
	mu.Lock()
	byPlan := map[string][]fired{}
	for _, f := range got {
		byPlan[f.plan] = append(byPlan[f.plan], f)
	}
	mu.Unlock()
	if len(byPlan["once"]) != 1 || len(byPlan["dropped"]) != 0 || len(byPlan["retry"]) != 1 {
		t.Fatalf("fired: %+v", byPlan)
	}
	if late := byPlan["once"][0].at.Sub(due); late < 0 || late > time.Second {
		t.Fatalf("fired %v after its instant", late)
	} else {
		t.Logf("handled %v after its instant", late)
	}
	if ok, _ := p.Pending(ctx, "c1", "once"); ok {
		t.Fatal("a fired plan is still pending")
	}
}
