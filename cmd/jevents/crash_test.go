package main

// The crash campaign of issue 9: real jevents processes (the binary the
// tests build, crash_harness_test.go) SIGKILLed at random moments while
// they project or take submissions, an external nats-server SIGKILLed under
// load, a data volume that fills up, and a log at its byte budget. Every
// test states its time bound and its iteration counts; -short runs fewer
// iterations, `make test` the full ones. Together they take about two
// minutes on two cores under -race (docs/performance.md has the figures).

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/projections/calendar"

	"github.com/justiceevents/jevents/internal/embednats"
)

// answerBound is the longest a write request may take: the documented
// deadline (service.WriteDeadline) plus a second for the answer itself on
// a busy, race-instrumented machine.
const answerBound = service.WriteDeadline + time.Second

// campaignRand is the campaign's randomness; its seed is logged, so a
// failing run can be repeated (CRASH_SEED).
func campaignRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (CRASH_SEED=%d repeats it)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

func copyDir(t testing.TB, from, to string) string {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v %s", from, to, err, out)
	}
	return to
}

// TestCrashProjectorAtRandomPoints: a log of 20,000 mixed events
// (resources added, renamed, edited, retired and restored; conferences
// submitted with sponsors from the directory, edited, approved, rejected,
// cancelled) is projected from scratch by the all-in-one process, which is
// SIGKILLed at random moments while it catches up and started again on
// the same data directory, 30 times (6 with -short), in rounds that each
// start from a copy of the log with empty read models. After each round's
// catch-up every read model (the raw bytes of every key, checkpoints
// included) and every feed (the whole calendar, every topic, region and
// sponsor feed, every conference's own feed, the JSON lists) are byte- and
// ETag-identical to what a clean `jevents rebuild` of the same log serves.
// Bounded at 90 s for the kills.
func TestCrashProjectorAtRandomPoints(t *testing.T) {
	const (
		events = 20_000
		budget = 90 * time.Second
	)
	kills := 30
	if testing.Short() {
		kills = 6
	}
	rng := campaignRand(t)
	start := time.Now()
	// A tmpfs keeps the fsyncs of 20,000 appends cheap; a SIGKILL loses
	// what a process had not handed to the kernel, on any file system.
	vol := mountTmpfs(t, 1<<30)
	budgetFlag := []string{"--log-max-bytes", strconv.Itoa(128 << 20)}

	// The log, written through the service's NATS by a process that does
	// not project: its read models stay empty.
	tmpl := filepath.Join(vol, "template")
	w := newSvc(t, tmpl, append([]string{"--role", "intake,editors"}, budgetFlag...)...)
	w.start()
	w.waitReady(60 * time.Second)
	_, wjs := w.connect(t)
	h := &history{log: eventlog.New(wjs, nil), now: time.Now()}
	h.generate(t, events)
	if t.Failed() {
		t.FailNow()
	}
	w.stop()
	t.Logf("history: %d events in %v", h.appended.Load(), time.Since(start).Round(time.Millisecond))

	// The reference: a process that never projected, serving what
	// `jevents rebuild` makes of the log.
	refStart := time.Now()
	ref := newSvc(t, copyDir(t, tmpl, filepath.Join(vol, "reference")), append([]string{"--role", "feeds"}, budgetFlag...)...)
	ref.start()
	ref.waitReady(60 * time.Second)
	code, out, errs := runBuilt(t, "rebuild", "--nats", ref.natsURL(), "--nats-nkey", filepath.Join(ref.dir, embednats.SeedFile))
	if code != 0 {
		t.Fatalf("jevents rebuild: exit %d: %s %s", code, out, errs)
	}
	var rebuilt []service.RebuildResult
	if err := json.Unmarshal([]byte(out), &rebuilt); err != nil || len(rebuilt) == 0 {
		t.Fatalf("rebuild printed %s", out)
	}
	for _, r := range rebuilt {
		if !slices.Contains(service.ReplicasHeldBy(service.RoleFeeds), r.Projection) {
			continue // the editors' models, the change stream: no replica in a feeds process
		}
		waitFor(t, 60*time.Second, "the reference's replica of "+r.Projection+" at the rebuilt generation", func() error {
			_, samples := scrape(t, ref.ops())
			if v, _ := sample(samples, `jevents_readmodel_replica_sequence{projection="`+r.Projection+`"}`); uint64(v) != r.Sequence {
				return fmt.Errorf("at %v, want %d", v, r.Sequence)
			}
			return nil
		})
	}
	_, refJS := ref.connect(t)
	want := takeSnapshot(t, ref, refJS)
	ref.stop()
	t.Logf("reference: rebuild and %d feeds in %v", len(want.feeds), time.Since(refStart).Round(time.Millisecond))

	killStart := time.Now()
	counted := 0
	for round := 1; counted < kills; round++ {
		dir := copyDir(t, tmpl, filepath.Join(vol, fmt.Sprint("round-", round)))
		p := newSvc(t, dir, budgetFlag...)
		p.start()
		for counted < kills {
			waitFor(t, 60*time.Second, "the projector projecting", func() error {
				if !p.running() {
					t.Fatalf("jevents exited:\n%s", tail(p.output(), 3000))
				}
				if !strings.Contains(p.output(), "msg=projecting") {
					return fmt.Errorf("not yet")
				}
				return nil
			})
			time.Sleep(between(rng, 0, 250*time.Millisecond))
			p.kill()
			p.start()
			var pending map[string]uint64
			waitFor(t, 60*time.Second, "the restarted projector's start", func() error {
				if !p.running() {
					t.Fatalf("jevents exited after a restart:\n%s", tail(p.output(), 3000))
				}
				var ok bool
				if pending, ok = pendingAtStart(p.output()); !ok {
					return fmt.Errorf("not yet")
				}
				return nil
			})
			var behind uint64
			for _, n := range pending {
				behind += n
			}
			if behind == 0 {
				break // that kill came after the catch-up: compare
			}
			counted++
			if time.Since(killStart) > budget {
				t.Fatalf("only %d of %d kills during catch-up within %v", counted, kills, budget)
			}
		}
		p.waitReady(120 * time.Second)
		_, pjs := p.connect(t)
		got := takeSnapshot(t, p, pjs)
		if d := want.diff(got); d != "" {
			t.Fatalf("round %d, after %d kills: the projected read models differ from the rebuild:\n%s", round, counted, d)
		}
		t.Logf("round %d: identical to the rebuild after %d kills in all (%d feeds compared)", round, counted, len(got.feeds))
		p.stop()
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills while catching up in %v; whole test %v", counted, time.Since(killStart).Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
}

// attempt is one submission of a campaign, under its own key and title.
type attempt struct {
	key, title string
	id         string
	acked      bool // answered 202
}

// checkLog reads the log back and checks the campaign's promises: every
// acknowledged submission is in it exactly once under the id its 202 gave,
// no title (each request has its own) is in it twice, and every
// acknowledged conference reached the calendar read model.
func checkLog(t *testing.T, s *svc, attempts []*attempt) {
	t.Helper()
	_, js := s.connect(t)
	recs := logRecords(t, js)
	byTitle, byID := submissionsByTitle(recs)
	acked := 0
	for _, a := range attempts {
		ids := byTitle[a.title]
		if len(ids) > 1 {
			t.Errorf("%s is in the log %d times: %v", a.title, len(ids), ids)
		}
		if !a.acked {
			continue
		}
		acked++
		if len(ids) != 1 || ids[0] != a.id || byID[a.id] != 1 {
			t.Errorf("acknowledged %s (%s): in the log as %v, %d submissions of its id", a.title, a.id, ids, byID[a.id])
		}
	}
	for title, ids := range byTitle {
		if len(ids) > 1 {
			t.Errorf("%q: two conferences %v", title, ids)
		}
	}
	waitFor(t, 60*time.Second, "every acknowledged conference in the calendar read model", func() error {
		model := bucketBytes(t, js, activeGeneration(t, js, calendar.Name))
		missing := 0
		for _, a := range attempts {
			_, public := model[calendar.Key(a.id)]
			_, pending := model[calendar.UnpublishedPrefix+a.id] // not yet public: kept apart from what servers follow
			if a.acked && !public && !pending {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d missing", missing)
		}
		return nil
	})
	t.Logf("%d acknowledged submissions, each in the log once and in the read model; %d events in the log", acked, len(recs))
}

// TestCrashIntakeDuringBursts: 20 times (5 with -short), the all-in-one
// process is SIGKILLed at a random moment of a burst of 12 concurrent
// submitters, then started again on the same data directory; every request
// that got no answer is retried with its key. In the end every 202 is in
// the log exactly once, every unanswered request either never landed or is
// found again by its retry, never twice, and every acknowledged submission
// reached the read model. Bounded at 120 s.
func TestCrashIntakeDuringBursts(t *testing.T) {
	const budget = 120 * time.Second
	iterations := 20
	if testing.Short() {
		iterations = 5
	}
	rng := campaignRand(t)
	start := time.Now()
	s := newSvc(t, t.TempDir())
	s.start()
	s.waitReady(60 * time.Second)
	var attempts []*attempt
	retried, found := 0, 0
	for it := range iterations {
		var (
			mu         sync.Mutex
			unanswered []*attempt
			stop       atomic.Bool
			wg         sync.WaitGroup
		)
		for w := range 12 {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					a := &attempt{key: fmt.Sprintf("burst-%d-%d-%d", it, w, i)}
					a.title = "Crash intake " + a.key
					ans := submitKey(crashClient, s.base(), a.key, a.title)
					mu.Lock()
					attempts = append(attempts, a)
					switch {
					case ans.status == http.StatusAccepted:
						a.id, a.acked = ans.id, true
					case ans.err != nil:
						unanswered = append(unanswered, a)
					default:
						t.Errorf("burst %d: %s answered %d %s", it, a.key, ans.status, ans.body)
					}
					mu.Unlock()
				}
			})
		}
		time.Sleep(between(rng, 100*time.Millisecond, 800*time.Millisecond))
		s.kill()
		stop.Store(true)
		wg.Wait()
		s.start()
		s.waitReady(60 * time.Second)
		// The clients that got no answer retry with the same key.
		for _, a := range unanswered {
			ans := submitKey(crashClient, s.base(), a.key, a.title)
			if ans.status != http.StatusAccepted {
				t.Fatalf("retry of %s after the restart: %d %s %v", a.key, ans.status, ans.body, ans.err)
			}
			a.id, a.acked = ans.id, true
			retried++
			if ans.duplicate {
				found++ // it had landed before the kill: found again, not stored twice
			}
		}
		if time.Since(start) > budget {
			t.Fatalf("%d of %d iterations within %v", it+1, iterations, budget)
		}
	}
	checkLog(t, s, attempts)
	t.Logf("%d iterations, %d submissions, %d unanswered and retried (%d of them had landed before the kill), in %v",
		iterations, len(attempts), retried, found, time.Since(start).Round(time.Millisecond))
}

// submitUntilAccepted submits one conference as a careful client does: on
// 503 and 507 it waits as Retry-After says (at most maxWait) and retries
// with the same key, and on no answer it retries after a moment, until it
// gets 202 or until giveUp. Every answer must come within answerBound and
// never be a 500. It returns the 202's id and the statuses it saw.
func submitUntilAccepted(t *testing.T, base string, a *attempt, maxWait time.Duration, giveUp time.Time) []int {
	var seen []int
	for time.Now().Before(giveUp) {
		ans := submitKey(crashClient, base, a.key, a.title)
		seen = append(seen, ans.status)
		if ans.took > answerBound {
			t.Errorf("%s: answered %d after %v, beyond the documented %v", a.key, ans.status, ans.took.Round(time.Millisecond), service.WriteDeadline)
		}
		switch ans.status {
		case http.StatusAccepted:
			a.id, a.acked = ans.id, true
			return seen
		case http.StatusServiceUnavailable, http.StatusInsufficientStorage:
			wait, err := strconv.Atoi(ans.retryAfter)
			if err != nil || !strings.Contains(ans.body, "same Idempotency-Key") {
				t.Errorf("%s: %d without Retry-After or advice: %q", a.key, ans.status, ans.body)
				return seen
			}
			time.Sleep(min(time.Duration(wait)*time.Second, maxWait))
		case 0:
			time.Sleep(100 * time.Millisecond)
		default:
			t.Errorf("%s: answered %d: %s", a.key, ans.status, ans.body)
			return seen
		}
	}
	t.Errorf("%s: no 202 before giving up (saw %v)", a.key, seen)
	return seen
}

// TestCrashNATSOutage: 10 times (3 with -short), 200 concurrent submitters
// submit conferences one after the other to a process on an external
// nats-server, which is SIGKILLed at a random moment of the burst and
// started again after a
// random pause, one time in three longer than the deadline; the clients
// retry their 503s with the same key as Retry-After says. No answer is a 500 or comes later than the documented
// deadline, every 202 is in the log exactly once, and every client ends
// with exactly one conference. Bounded at 150 s.
func TestCrashNATSOutage(t *testing.T) {
	const (
		budget      = 150 * time.Second
		submitters  = 200
		perIterMax  = 60 * time.Second
		retryAtMost = 2 * time.Second
	)
	iterations := 10
	if testing.Short() {
		iterations = 3
	}
	rng := campaignRand(t)
	start := time.Now()
	n := startNATSServer(t, t.TempDir())
	if code, out, errs := runBuilt(t, "setup", "--nats", n.url(), "--replicas", "1"); code != 0 {
		t.Fatalf("jevents setup: exit %d %s %s", code, out, errs)
	}
	s := newSvc(t, t.TempDir(), "--nats", n.url())
	s.start()
	s.waitReady(60 * time.Second)
	var (
		mu       sync.Mutex
		attempts []*attempt
		statuses = map[int]int{}
	)
	for it := range iterations {
		var (
			wg   sync.WaitGroup
			stop atomic.Bool
		)
		giveUp := time.Now().Add(perIterMax)
		// Each submitter submits one conference after the other until the
		// server is back, retrying each until it is taken.
		for w := range submitters {
			wg.Go(func() {
				for i := 0; i == 0 || !stop.Load(); i++ {
					a := &attempt{key: fmt.Sprintf("outage-%d-%03d-%d", it, w, i)}
					a.title = "Outage " + a.key
					seen := submitUntilAccepted(t, s.base(), a, retryAtMost, giveUp)
					mu.Lock()
					attempts = append(attempts, a)
					for _, st := range seen {
						statuses[st]++
					}
					mu.Unlock()
				}
			})
		}
		time.Sleep(between(rng, 20*time.Millisecond, 400*time.Millisecond))
		n.kill()
		// One outage in three outlasts the deadline: the requests it
		// catches answer 503, and their retries find what landed.
		down := between(rng, 200*time.Millisecond, 2*time.Second)
		if it%3 == 1 {
			down = between(rng, service.WriteDeadline+300*time.Millisecond, service.WriteDeadline+time.Second)
		}
		time.Sleep(down)
		n.start()
		time.Sleep(200 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if time.Since(start) > budget {
			t.Fatalf("%d of %d iterations within %v", it+1, iterations, budget)
		}
	}
	checkLog(t, s, attempts)
	t.Logf("%d outages, %d submitters each, %d submissions; answers by status %v; %v", iterations, submitters, len(attempts), statuses, time.Since(start).Round(time.Millisecond))
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Fatal("no request met an outage longer than the deadline with a 503")
	}
}

// TestCrashDiskFull: the data directory on a 96 MiB tmpfs (mounted by the
// test; it fails, not skips, when it may not mount). A file fills the
// volume to just above the service's reserve, submissions take the rest
// until they answer 507, then the file takes every last byte (the server's
// own writes fail: lease renewals, commits). Submissions keep answering
// 507 with what to do, within the deadline, never 500; /readyz and
// jevents_health_problem say the volume is full. When the file is removed
// the service recovers by itself: submissions are taken again, the
// refused ones retried with their keys are stored once, and every
// acknowledged submission reaches the read model. Bounded at 90 s.
func TestCrashDiskFull(t *testing.T) {
	const budget = 90 * time.Second
	start := time.Now()
	vol := mountTmpfs(t, 96<<20)
	s := newSvc(t, filepath.Join(vol, "data"), "--log-max-bytes", strconv.Itoa(16<<20))
	s.start()
	s.waitReady(60 * time.Second)
	var attempts []*attempt
	submit := func(tag string, i int) (*attempt, answer) {
		a := &attempt{key: fmt.Sprintf("disk-%s-%d", tag, i)}
		a.title = "Disk " + a.key
		attempts = append(attempts, a)
		ans := submitKey(crashClient, s.base(), a.key, a.title)
		if ans.took > answerBound {
			t.Errorf("%s: answered %d after %v", a.key, ans.status, ans.took)
		}
		if ans.status == http.StatusAccepted {
			a.id, a.acked = ans.id, true
		}
		return a, ans
	}
	for i := range 30 {
		if _, ans := submit("before", i); ans.status != http.StatusAccepted {
			t.Fatalf("before the disk fills: %d %s", ans.status, ans.body)
		}
	}

	// Another program fills the volume to just above the reserve; the
	// service's own writes take the rest.
	_, samples := scrape(t, s.ops())
	size, _ := sample(samples, "jevents_data_volume_size_bytes")
	reserve, _ := sample(samples, "jevents_data_volume_reserve_bytes")
	if size == 0 || reserve == 0 {
		t.Fatalf("the data volume's metrics are missing: size %v reserve %v", size, reserve)
	}
	filler := fillVolume(t, vol, uint64(reserve)+(1<<20))
	var refused []*attempt
	for i := 0; len(refused) < 5; i++ {
		a, ans := submit("filling", i)
		switch ans.status {
		case http.StatusAccepted:
		case http.StatusInsufficientStorage:
			if !strings.Contains(ans.body, "Storage full") || !strings.Contains(ans.body, "free space") {
				t.Fatalf("507 without advice: %s", ans.body)
			}
			refused = append(refused, a)
		default:
			t.Fatalf("submission %d while the volume fills: %d %s", i, ans.status, ans.body)
		}
		if i > 5000 {
			t.Fatal("the volume never filled")
		}
	}
	// Now every last byte.
	fillVolume(t, vol, 0)
	for i := range 10 {
		a, ans := submit("full", i)
		switch ans.status {
		case http.StatusInsufficientStorage, http.StatusServiceUnavailable:
			refused = append(refused, a)
		default:
			t.Fatalf("submission %d on a full volume: %d %s", i, ans.status, ans.body)
		}
	}
	waitFor(t, 15*time.Second, "/readyz saying the volume is full", func() error {
		if code, body := s.readyz(); !strings.Contains(body, "data volume") {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	// Full long enough for the server's own writes to fail: lease
	// renewals (every 2.5 s), the projector's commits.
	for range 8 {
		time.Sleep(500 * time.Millisecond)
		if code, body := s.readyz(); !strings.Contains(body, "data volume") {
			t.Fatalf("/readyz while the volume is full: %d %s", code, body)
		}
		a, ans := submit("full-more", len(attempts))
		if ans.status != http.StatusInsufficientStorage && ans.status != http.StatusServiceUnavailable {
			t.Fatalf("submission on a full volume: %d %s", ans.status, ans.body)
		}
		refused = append(refused, a)
	}
	_, samples = scrape(t, s.ops())
	if v, _ := sample(samples, `jevents_health_problem{problem="storage_full"}`); v != 1 {
		t.Fatalf("jevents_health_problem{storage_full} = %v", v)
	}

	// Space returns: the service recovers by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	giveUp := time.Now().Add(45 * time.Second)
	for _, a := range refused {
		submitUntilAccepted(t, s.base(), a, time.Second, giveUp)
	}
	for i := range 20 {
		a := &attempt{key: fmt.Sprintf("disk-after-%d", i)}
		a.title = "Disk " + a.key
		attempts = append(attempts, a)
		submitUntilAccepted(t, s.base(), a, time.Second, giveUp)
	}
	t.Logf("taking submissions again %v after the space returned", time.Since(recovered).Round(time.Millisecond))
	waitFor(t, 30*time.Second, "/readyz without the full volume", func() error {
		if code, body := s.readyz(); code != http.StatusOK || strings.Contains(body, "data volume") {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	// The server's own writes failed while the volume was full (the
	// projector's commits, lease renewals); the service restarted its
	// embedded server to write them again, without a restart of its own.
	if !strings.Contains(s.output(), "restarting the embedded NATS server") {
		t.Fatalf("the service did not restart its embedded server after the volume was full:\n%s", tail(s.output(), 3000))
	}
	checkLog(t, s, attempts)
	t.Logf("%d refused while full, all stored once on retry; %v", len(refused), time.Since(start).Round(time.Millisecond))
	if time.Since(start) > budget {
		t.Fatalf("took %v, more than %v", time.Since(start), budget)
	}
}

// TestCrashLogFull: a log with a 1 MiB budget filled by 6 concurrent
// submitters. Before the first 507 the metrics show the log above 80 % of
// its budget (where JeventsStreamNearByteBudget fires; promtool tests the
// rule); at the budget submissions answer 507 saying what to do, never
// 500; /readyz says degraded and jevents_health_problem{problem="log_full"}
// is 1. SIGKILLed and started again with a larger --log-max-bytes, the
// service takes submissions again, the refused ones retried with their
// keys are stored once, and nothing acknowledged is lost. Bounded at 60 s.
func TestCrashLogFull(t *testing.T) {
	const budget = 60 * time.Second
	start := time.Now()
	dir := t.TempDir()
	s := newSvc(t, dir, "--log-max-bytes", strconv.Itoa(1<<20))
	s.start()
	s.waitReady(60 * time.Second)
	var (
		mu        sync.Mutex
		attempts  []*attempt
		refused   []*attempt
		firstFull atomic.Bool
		eighty    atomic.Bool // seen at ≥ 80 % before the first 507
		near      atomic.Bool // past 70 %: the submitters slow down, so the scrapes see the last stretch
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	wg.Go(func() {
		for !stop.Load() && !firstFull.Load() {
			_, samples := scrape(t, s.ops())
			used, _ := sample(samples, "jevents_stream_bytes")
			max, _ := sample(samples, "jevents_stream_max_bytes")
			if max > 0 && used/max >= 0.7 {
				near.Store(true)
			}
			if max > 0 && used/max >= 0.8 && !firstFull.Load() {
				eighty.Store(true)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				a := &attempt{key: fmt.Sprintf("full-%d-%d", w, i)}
				a.title = "Log full " + a.key + " " + strings.Repeat("x", 100)
				ans := submitKey(crashClient, s.base(), a.key, a.title)
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
				switch ans.status {
				case http.StatusAccepted:
					a.id, a.acked = ans.id, true
					if near.Load() {
						time.Sleep(20 * time.Millisecond)
					}
					continue
				case http.StatusInsufficientStorage:
					firstFull.Store(true)
					if !strings.Contains(ans.body, "Event log full") || !strings.Contains(ans.body, "--log-max-bytes") {
						t.Errorf("507 without advice: %s", ans.body)
					}
					mu.Lock()
					refused = append(refused, a)
					mu.Unlock()
				default:
					t.Errorf("%s: %d %s", a.key, ans.status, ans.body)
				}
				return
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	if !eighty.Load() {
		t.Fatal("the metrics never showed the log at 80 % of its budget before it was full")
	}
	waitFor(t, 15*time.Second, "/readyz saying degraded: the log is full", func() error {
		code, body := s.readyz()
		if code != http.StatusOK || !strings.Contains(body, "budget") {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	_, samples := scrape(t, s.ops())
	if v, _ := sample(samples, `jevents_health_problem{problem="log_full"}`); v != 1 {
		t.Fatalf("jevents_health_problem{log_full} = %v", v)
	}

	// The operator raises the budget of the all-in-one service.
	s.kill()
	s.extra = []string{"--log-max-bytes", strconv.Itoa(4 << 20)}
	s.start()
	s.waitReady(60 * time.Second)
	giveUp := time.Now().Add(30 * time.Second)
	for _, a := range refused {
		submitUntilAccepted(t, s.base(), a, time.Second, giveUp)
	}
	checkLog(t, s, attempts)
	t.Logf("%d submissions, %d refused at the budget and stored once on retry; %v", len(attempts), len(refused), time.Since(start).Round(time.Millisecond))
	if time.Since(start) > budget {
		t.Fatalf("took %v, more than %v", time.Since(start), budget)
	}
}
