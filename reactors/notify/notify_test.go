package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/mailpittest"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/reactors/notify"
)

// The child process of TestCrashMidBurst: a notifier that runs until it is
// killed.
func TestMain(m *testing.M) {
	if nurl := os.Getenv("JEVENTS_NOTIFY_CHILD_NATS"); nurl != "" {
		os.Exit(runChild(nurl, os.Getenv("JEVENTS_NOTIFY_CHILD_SMTP")))
	}
	os.Exit(m.Run())
}

func runChild(natsURL, smtpURL string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	js, _ := jetstream.New(nc)
	s, err := notify.ParseSMTPURL(smtpURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pub, _ := url.Parse("https://events.example.org")
	n := notify.New(js, eventlog.New(js, nil), notify.Config{SMTP: s, From: "events@example.org", PublicURL: pub, Workers: 4},
		slog.New(slog.NewTextHandler(io.Discard, nil)), notify.NewMetrics(nil))
	_ = n.Run(ctx)
	return 0
}

// env is a log, a mailpit and the means to run notifiers on them.
type env struct {
	t    testing.TB
	ns   interface{ ClientURL() string }
	js   jetstream.JetStream
	log  *eventlog.Log
	mail *mailpittest.Server
	pub  *url.URL
}

func newEnv(t testing.TB, opts ...mailpittest.Option) *env {
	t.Helper()
	ns, _, js := natstest.Start(t)
	ctx := context.Background()
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Setup(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("https://events.example.org")
	return &env{t: t, ns: ns, js: js, log: eventlog.New(js, nil), mail: mailpittest.Start(t, opts...), pub: pub}
}

func (e *env) config() notify.Config {
	s, err := notify.ParseSMTPURL(e.mail.SMTPURL())
	if err != nil {
		e.t.Fatal(err)
	}
	return notify.Config{SMTP: s, From: "Justice Events <events@example.org>", PublicURL: e.pub,
		Backoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxTries: 1000}
}

// run starts a notifier until the test ends; it returns its stop.
func (e *env) run(cfg notify.Config) (*notify.Notifier, func()) {
	n := notify.New(e.js, e.log, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), notify.NewMetrics(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	stop := func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return n, stop
}

var titleN atomic.Int64

// submit appends a submission as intake would and returns the
// conference's id and the event's sequence.
func (e *env) submit(title string, c domain.Contact, at time.Time) (string, uint64) {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	d := domain.ConferenceDetails{Title: title, Description: "About it.", AllDay: true, Start: "2030-06-12", End: "2030-06-14",
		Format: domain.FormatInPerson, Location: domain.Location{Venue: "Hall", City: "Baltimore", Region: "MD", Country: "US"},
		Topics: []string{"courts"}}
	return id, e.append(id, 0, at, domain.ConferenceSubmitted{Details: d, Contact: c, Source: "api", RequestHash: id})
}

func (e *env) append(id string, expect uint64, at time.Time, ev domain.Event) uint64 {
	e.t.Helper()
	env, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), id, "test", at, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.log.Append(context.Background(), env, env.ID, expect)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Seq
}

func (e *env) details(id string) domain.ConferenceDetails {
	c, _, err := eventlog.Fold[domain.Conference](context.Background(), e.log, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Details
}

// bySubject finds the one message with this subject.
func (e *env) bySubject(subject string) mailpittest.Message {
	e.t.Helper()
	for _, s := range e.mail.Messages() {
		if s.Subject == subject {
			return e.mail.Message(s.ID)
		}
	}
	e.t.Fatalf("no mail %q", subject)
	return mailpittest.Message{}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMailsToOrganiserAndEditors(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.EditorEmails = []string{"editor1@example.org", "editor2@example.org"}
	cfg.PrivateLink = func(id string, c domain.Contact) string {
		return "https://events.example.org/organiser/" + id + "?sig=x"
	}
	e.run(cfg)
	pat := domain.Contact{Name: "Pat Organiser", Email: "pat@example.org"}
	id, seq := e.submit("National Conference on Courts", pat, time.Now())
	d := e.details(id)
	d.Title = "National Conference on Courts 2030"
	d.Location.City = "Annapolis"
	seq = e.append(id, seq, time.Now(), domain.ConferenceUpdated{Details: d, Changed: []string{"title", "location"}})
	seq = e.append(id, seq, time.Now(), domain.ConferenceApproved{Note: "welcome"})
	e.append(id, seq, time.Now(), domain.ConferenceCancelled{Reason: "venue closed"})
	id2, seq2 := e.submit("Spam", pat, time.Now())
	e.append(id2, seq2, time.Now(), domain.ConferenceRejected{Reason: "not a criminal-justice conference"})

	// receipt + 2 editors, changed, approved, cancelled; receipt + 2 editors, rejected
	if n := e.mail.WaitCount(10, 20*time.Second); n != 10 {
		t.Fatalf("%d mails arrived, want 10", n)
	}
	time.Sleep(300 * time.Millisecond)
	if n := e.mail.Count(); n != 10 {
		t.Fatalf("%d mails after waiting, want exactly 10", n)
	}

	receipt := e.bySubject("We received your conference: National Conference on Courts")
	if len(receipt.To) != 1 || receipt.To[0].Address != "pat@example.org" || receipt.To[0].Name != "Pat Organiser" {
		t.Errorf("receipt To = %+v", receipt.To)
	}
	for _, want := range []string{"Tracking id: " + id, "https://events.example.org/organiser/" + id + "?sig=x"} {
		if !strings.Contains(receipt.Text, want) || !strings.Contains(receipt.HTML, strings.ReplaceAll(want, "Tracking id: ", "")) {
			t.Errorf("receipt lacks %q in both parts:\n%s\n%s", want, receipt.Text, receipt.HTML)
		}
	}
	if got := receipt.Headers["Auto-Submitted"]; len(got) != 1 || got[0] != "auto-generated" {
		t.Errorf("Auto-Submitted = %v", got)
	}
	if !strings.HasSuffix(receipt.MessageID, ".receipt@events.example.org") {
		t.Errorf("Message-ID %q does not derive from the event", receipt.MessageID)
	}
	if !strings.Contains(receipt.Raw, "multipart/alternative") {
		t.Error("receipt is not multipart/alternative")
	}

	changed := e.bySubject("Changed by an editor: National Conference on Courts 2030")
	where, _ := domain.Field("location") // the field list's label ("Where")
	for _, want := range []string{"Title", "was: National Conference on Courts", "now: National Conference on Courts 2030", where.Label, "Annapolis"} {
		if !strings.Contains(changed.Text, want) {
			t.Errorf("changes mail lacks %q:\n%s", want, changed.Text)
		}
	}
	if strings.Contains(changed.Text, "Description") {
		t.Errorf("changes mail names an unchanged field:\n%s", changed.Text)
	}
	approved := e.bySubject("Published: National Conference on Courts 2030")
	for _, want := range []string{"https://events.example.org/conferences/" + id, "https://events.example.org/conferences/" + id + ".ics", "https://events.example.org/calendar.ics"} {
		if !strings.Contains(approved.Text, want) || !strings.Contains(approved.HTML, `href="`+want+`"`) {
			t.Errorf("approval lacks link %s", want)
		}
	}
	if c := e.bySubject("Marked cancelled: National Conference on Courts 2030"); !strings.Contains(c.Text, "venue closed") {
		t.Errorf("cancellation lacks the reason:\n%s", c.Text)
	}
	if r := e.bySubject("Not published: Spam"); !strings.Contains(r.Text, "not a criminal-justice conference") || !strings.Contains(r.HTML, "not a criminal-justice conference") {
		t.Errorf("rejection lacks the reason:\n%s", r.Text)
	}
	ed := e.mail.Search(`subject:"New submission waiting"`)
	if len(ed) != 4 {
		t.Fatalf("%d editors' mails, want 4", len(ed))
	}
	edm := e.mail.Message(ed[0].ID)
	if strings.Contains(edm.Raw, "pat@example.org") || strings.Contains(edm.Raw, "organiser/") {
		t.Error("an editors' mail carries the organiser's address or private link")
	}
	if !strings.Contains(edm.Text, "https://events.example.org/moderation") {
		t.Errorf("editors' mail lacks the queue link:\n%s", edm.Text)
	}
}

func TestHostileText(t *testing.T) {
	e := newEnv(t)
	e.run(e.config())
	title := "Evil\r\nBcc: victim@example.net\r\nX-Injected: 1 <script>alert(1)</script> & <b>bold</b>"
	name := "Pat\r\nBcc: victim2@example.net"
	domainTitle := domain.CleanText(title)
	e.submit(domainTitle, domain.Contact{Name: domain.CleanLine(name), Email: "pat@example.org"}, time.Now())
	// and as stored by anything that did not clean it: the notifier's own guard
	e.submit(title, domain.Contact{Name: name, Email: "pat2@example.org"}, time.Now())
	if n := e.mail.WaitCount(2, 20*time.Second); n != 2 {
		t.Fatalf("%d mails, want 2", n)
	}
	for _, s := range e.mail.Messages() {
		m := e.mail.Message(s.ID)
		if len(m.To) != 1 {
			t.Errorf("To = %+v: a name added a recipient", m.To)
		}
		for h := range m.Headers {
			if strings.EqualFold(h, "Bcc") || strings.EqualFold(h, "X-Injected") {
				t.Errorf("header %s injected:\n%s", h, m.Raw)
			}
		}
		head, _, _ := strings.Cut(m.Raw, "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "X-Injected:") {
				t.Errorf("raw message has an injected header line %q", line)
			}
		}
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>bold</b>") {
			t.Errorf("HTML part interprets the title:\n%s", m.HTML)
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("HTML part does not show the title as text:\n%s", m.HTML)
		}
		if !strings.Contains(m.Text, "<script>alert(1)</script>") {
			t.Errorf("text part does not show the title as typed:\n%s", m.Text)
		}
	}
}

func TestRefusedAddressIsADeadLetter(t *testing.T) {
	e := newEnv(t, mailpittest.Option{"--smtp-allowed-recipients", `@example\.org$`})
	var logs syncBuffer
	n := notify.New(e.js, e.log, e.config(), slog.New(slog.NewTextHandler(&logs, nil)), notify.NewMetrics(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	defer func() {
		if strings.Contains(logs.String(), "nobody@refused.test") {
			t.Errorf("the log names the refused address:\n%s", logs.String())
		}
	}()
	e.submit("Refused", domain.Contact{Email: "nobody@refused.test"}, time.Now())
	e.submit("Taken", domain.Contact{Email: "pat@example.org"}, time.Now())
	dl := notify.NewDeadLetters(e.js)
	var dead []notify.DeadLetter
	waitFor(t, "a dead letter", 20*time.Second, func() bool {
		dead, _ = dl.List(context.Background())
		return len(dead) == 1
	})
	t.Logf("the server answered: %s", dead[0].Error)
	if d := dead[0]; d.Kind != notify.KindReceipt || d.To != "nobody@refused.test" || !strings.Contains(d.Error, "550") || d.Tries != 1 {
		t.Errorf("dead letter = %+v: want the receipt to the refused address with the server's 550, after one try", d)
	}
	if got := e.mail.WaitCount(1, 10*time.Second); got != 1 {
		t.Fatalf("%d mails arrived, want the one to an address the server takes", got)
	}
	if n.Problem() != "" {
		t.Errorf("Problem = %q", n.Problem())
	}
	// An editor retries: the server still refuses, the letter stays with
	// another try counted.
	if ok, err := dl.Retry(context.Background(), dead[0].Key); !ok || err != nil {
		t.Fatalf("retry: %v %v", ok, err)
	}
	waitFor(t, "the retry", 20*time.Second, func() bool {
		dead, _ = dl.List(context.Background())
		return len(dead) == 1 && dead[0].Tries == 2 && !dead[0].Retry
	})
	if ok, _ := dl.Retry(context.Background(), "no-such-key"); ok {
		t.Error("retried a dead letter that does not exist")
	}
}

func TestSMTPDownThenBack(t *testing.T) {
	e := newEnv(t)
	e.mail.Stop()
	e.run(e.config())
	const n = 30
	for i := range n {
		e.submit(fmt.Sprintf("During the outage %d", i), domain.Contact{Email: fmt.Sprintf("o%d@example.org", i)}, time.Now())
	}
	// The outage lasts long enough for every mail to fail several times
	// (backoff 100 ms doubling to 1 s); a minute in production is the same
	// path with the default backoff (2 s doubling to 5 min, 10 tries:
	// about 17 minutes before anything is given up).
	time.Sleep(4 * time.Second)
	e.mail.Start()
	if got := e.mail.WaitCount(n, 30*time.Second); got != n {
		t.Fatalf("%d of %d mails arrived after the server came back", got, n)
	}
	if dead, _ := notify.NewDeadLetters(e.js).List(context.Background()); len(dead) != 0 {
		t.Errorf("%d dead letters after an outage shorter than the retries: %+v", len(dead), dead)
	}
	assertUnique(t, e.mail, n)
}

func TestTwoNotifiersSendOnce(t *testing.T) {
	e := newEnv(t)
	e.run(e.config())
	e.run(e.config())
	const n = 200
	for i := range n {
		e.submit(fmt.Sprintf("Twice? %d", i), domain.Contact{Email: fmt.Sprintf("o%d@example.org", i)}, time.Now())
	}
	if got := e.mail.WaitCount(n, 60*time.Second); got != n {
		t.Fatalf("%d of %d mails", got, n)
	}
	time.Sleep(time.Second)
	assertUnique(t, e.mail, n)
}

func TestWithoutSMTPKeepsPlaceAndSkipsOld(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.SMTP = nil
	n, stop := e.run(cfg)
	if n.Problem() == "" {
		t.Error("no Problem without SMTP")
	}
	e.submit("Waited", domain.Contact{Email: "w@example.org"}, time.Now())
	e.submit("Too old", domain.Contact{Email: "old@example.org"}, time.Now().Add(-100*time.Hour))
	time.Sleep(time.Second)
	stop()
	if e.mail.Count() != 0 {
		t.Fatal("mail sent without SMTP")
	}
	e.run(e.config())
	if got := e.mail.WaitCount(1, 20*time.Second); got != 1 {
		t.Fatalf("%d mails once SMTP is configured, want 1", got)
	}
	time.Sleep(500 * time.Millisecond)
	if got := e.mail.Messages(); len(got) != 1 || got[0].To[0].Address != "w@example.org" {
		t.Errorf("mails = %+v: want only the recent event's", got)
	}
}

// TestCrashMidBurst kills a notifier process (SIGKILL) in the middle of a
// burst of 500 decisions, starts another: every mail arrives, and only a
// mail in flight at the kill (sent, not yet recorded) may come twice.
func TestCrashMidBurst(t *testing.T) {
	e := newEnv(t)
	const n = 500
	ids := make([]string, n)
	seqs := make([]uint64, n)
	// Submitted long ago (their receipts are past the notifier's max age):
	// the mails of this test are the decisions'.
	for i := range n {
		ids[i], seqs[i] = e.submit(fmt.Sprintf("Burst %d", i), domain.Contact{Email: fmt.Sprintf("b%d@example.org", i)}, time.Now().Add(-100*time.Hour))
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "JEVENTS_NOTIFY_CHILD_NATS="+e.ns.ClientURL(), "JEVENTS_NOTIFY_CHILD_SMTP="+e.mail.SMTPURL())
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := child()
	burst := make(chan struct{})
	go func() { // the burst: half approved, half rejected
		defer close(burst)
		for i := range n {
			var ev domain.Event = domain.ConferenceApproved{}
			if i%2 == 1 {
				ev = domain.ConferenceRejected{Reason: "flood"}
			}
			e.append(ids[i], seqs[i], time.Now(), ev)
		}
	}()
	waitFor(t, "a third of the mails", 60*time.Second, func() bool { return e.mail.Count() >= n/3 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt := e.mail.Count()
	second := child()
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	<-burst
	got := e.mail.WaitCount(n, 90*time.Second)
	time.Sleep(time.Second)
	ids2 := map[string]int{}
	for _, s := range e.mail.Messages() {
		ids2[s.MessageID]++
	}
	dups := 0
	for _, c := range ids2 {
		dups += c - 1
	}
	t.Logf("killed after %d mails; %d arrived, %d distinct, %d sent twice (in flight at the kill)", killedAt, e.mail.Count(), len(ids2), dups)
	if len(ids2) != n {
		t.Fatalf("%d distinct mails arrived (%d in all), want %d", len(ids2), got, n)
	}
	if dups > 4 { // Workers: at most one per mail in flight
		t.Errorf("%d mails sent twice: more than the %d in flight", dups, 4)
	}
}

func assertUnique(t *testing.T, m *mailpittest.Server, n int) {
	t.Helper()
	seen := map[string]bool{}
	all := m.Messages()
	for _, s := range all {
		if seen[s.MessageID] {
			t.Errorf("mail %s arrived twice", s.MessageID)
		}
		seen[s.MessageID] = true
	}
	if len(all) != n {
		t.Errorf("%d mails, want %d", len(all), n)
	}
}

// syncBuffer collects a notifier's log.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEditorsDigest: new submissions reach the editors as one mail per
// window, listing all of them, across a restart of the notifier in the
// middle of the window and with two notifiers at once; the organisers'
// receipts stay immediate; a submission reaching the notifier after its
// window closed is sent alone, never lost.
func TestEditorsDigest(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.EditorEmails = []string{"ed1@example.org", "ed2@example.org"}
	cfg.Digest, cfg.DigestGrace = 6*time.Second, 500*time.Millisecond
	// Start at the beginning of a window, so that the burst and the
	// restart happen inside one.
	start := time.Now().Truncate(cfg.Digest).Add(cfg.Digest)
	time.Sleep(time.Until(start) + 50*time.Millisecond)
	end := start.Add(cfg.Digest)

	_, stop := e.run(cfg)
	pat := domain.Contact{Email: "pat@example.org"}
	var ids []string
	for i := range 3 {
		id, _ := e.submit(fmt.Sprintf("Before the restart %d <b>", i), pat, time.Now())
		ids = append(ids, id)
	}
	if got := e.mail.WaitCount(3, 10*time.Second); got != 3 {
		t.Fatalf("%d receipts before the restart, want 3", got)
	}
	stop()
	e.run(cfg)
	e.run(cfg) // and a second notifier on the same consumer
	for i := range 2 {
		id, _ := e.submit(fmt.Sprintf("After the restart %d", i), pat, time.Now())
		ids = append(ids, id)
	}
	if time.Now().After(end) {
		t.Fatalf("the burst outlasted its window (%s); the machine is too slow for this test", cfg.Digest)
	}
	digests := func() []mailpittest.Summary { return e.mail.Search(`subject:"new submissions waiting"`) }
	for time.Now().Before(end) {
		if d := digests(); len(d) > 0 {
			t.Fatalf("a digest was sent before its window closed: %+v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "the digests", 20*time.Second, func() bool { return len(digests()) >= 2 })
	time.Sleep(2 * time.Second) // any duplicate would arrive by now
	ds := digests()
	if len(ds) != 2 {
		t.Fatalf("%d digests, want one per editor: %+v", len(ds), ds)
	}
	to := map[string]bool{}
	for _, s := range ds {
		m := e.mail.Message(s.ID)
		to[m.To[0].Address] = true
		if !strings.HasPrefix(m.Subject, "5 new submissions waiting (") {
			t.Errorf("subject %q", m.Subject)
		}
		for i, id := range ids {
			link := "https://events.example.org/moderation/conferences/" + id
			if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, `href="`+link+`"`) {
				t.Errorf("digest lacks submission %d's moderation link:\n%s", i, m.Text)
			}
		}
		if !strings.Contains(m.Text, "Before the restart 0 <b>") || !strings.Contains(m.HTML, "Before the restart 0 &lt;b&gt;") {
			t.Errorf("titles not as typed / escaped:\n%s\n%s", m.Text, m.HTML)
		}
		if strings.Contains(m.Raw, "pat@example.org") {
			t.Error("the digest carries the organiser's address")
		}
		if !strings.HasPrefix(m.MessageID, "digest.") {
			t.Errorf("Message-ID %q does not derive from the window", m.MessageID)
		}
	}
	if !to["ed1@example.org"] || !to["ed2@example.org"] {
		t.Errorf("digests went to %v", to)
	}
	if n := len(e.mail.Search(`subject:"New submission waiting"`)); n != 0 {
		t.Errorf("%d immediate editors' mails in digest mode", n)
	}
	if n := len(e.mail.Search(`subject:"We received your conference"`)); n != 5 {
		t.Errorf("%d receipts, want 5", n)
	}

	// Stamped inside the closed window, appended after it was sent: the
	// editors hear of it alone.
	e.submit("Late one", pat, start.Add(time.Second))
	waitFor(t, "the late submission's mails", 20*time.Second, func() bool {
		return len(e.mail.Search(`subject:"New submission waiting: Late one"`)) == 2
	})
	time.Sleep(time.Second)
	if n := len(digests()); n != 2 {
		t.Errorf("%d digests after the late submission, want still 2", n)
	}
	assertUnique(t, e.mail, 5+2+1+2)
}

// TestDigestDeadLetter: a digest the server refuses for one editor goes to
// the dead letters (the other editor's arrives); a retry after the server
// is fixed rebuilds it from its window and sends it.
func TestDigestDeadLetter(t *testing.T) {
	e := newEnv(t, mailpittest.Option{"--smtp-allowed-recipients", `@example\.org$`})
	cfg := e.config()
	cfg.EditorEmails = []string{"ed@example.org", "ed@refused.test"}
	cfg.Digest, cfg.DigestGrace = 2*time.Second, 200*time.Millisecond
	e.run(cfg)
	e.submit("Digested", domain.Contact{Email: "pat@example.org"}, time.Now())
	dl := notify.NewDeadLetters(e.js)
	var dead []notify.DeadLetter
	waitFor(t, "the refused digest", 20*time.Second, func() bool {
		dead, _ = dl.List(context.Background())
		return len(dead) == 1
	})
	if d := dead[0]; d.Kind != notify.KindEditorDigest || d.To != "ed@refused.test" || !strings.Contains(d.Error, "550") {
		t.Fatalf("dead letter = %+v", d)
	}
	waitFor(t, "the other editor's digest", 10*time.Second, func() bool {
		return len(e.mail.Search(`to:"ed@example.org" subject:"new submission waiting"`)) == 1
	})
	e.mail.Restart()
	if ok, err := dl.Retry(context.Background(), dead[0].Key); !ok || err != nil {
		t.Fatalf("retry: %v %v", ok, err)
	}
	waitFor(t, "the retried digest", 20*time.Second, func() bool {
		return len(e.mail.Search(`to:"ed@refused.test" subject:"1 new submission waiting"`)) == 1
	})
	got := e.mail.Search(`to:"ed@refused.test"`)
	if m := e.mail.Message(got[0].ID); !strings.Contains(m.Text, "Digested") {
		t.Errorf("the retried digest lacks its submission:\n%s", m.Text)
	}
	waitFor(t, "the dead letter to go", 10*time.Second, func() bool {
		dead, _ = dl.List(context.Background())
		return len(dead) == 0
	})
}
