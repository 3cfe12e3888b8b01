// Package notify is the notifier: a reactor that follows the event log
// through the named durable JetStream consumer jevents-notifier
// (ConsumerName) and tells people by e-mail what happened — organisers
// (a receipt, approval, rejection with the editor's reason, editors'
// changes, cancellation) and editors (new submissions, reports from the
// public).
//
// What it promises:
//
//   - Every mail has a key derived from the event that caused it
//     (<event id>.<kind>[.<recipient>]); its Message-ID is that key at the
//     public host. Before sending, the sent bucket (SentBucket) is asked;
//     after sending, the key is recorded there; only then is the event
//     acknowledged. A restart, a redelivery or a second notifier on the same
//     consumer never sends a recorded mail again. A crash between the
//     server's "250 OK" and the record can send that one mail once more (at
//     most once more per mail in flight, Workers of them): the cost of never
//     losing one.
//   - A failure is retried with exponential backoff (Backoff, doubling up
//     to MaxBackoff) by redelivery. A failure of the server rather than the
//     mail (unreachable, an untrusted certificate, no STARTTLS, a refused
//     login: serverProblem) is retried without limit and shown in /readyz
//     and jevents_notify_smtp_ok; a mail the server answers with a
//     temporary error MaxTries times goes to the dead letters (DeadBucket)
//     with the server's answer. A permanent refusal (5xx: an address the server does
//     not take) goes there at once. Editors list, retry and drop them
//     (GET /api/v1/notifier/dead-letters, POST …/{key}/retry,
//     DELETE …/{key}; the page /moderation/mail calls the same methods).
//   - New submissions reach the editors at once or, with Config.Digest, in
//     one digest per window (digest.go), with the same promise.
//   - Mail never blocks intake or moderation: they append and answer; the
//     notifier reads the log behind them, in its own role.
//   - Without SMTP (Config.SMTP nil) it logs once, says so in /readyz
//     (degraded) and jevents_notify_smtp_configured, and reads nothing: the
//     consumer keeps its position, so nothing is lost. Once SMTP is
//     configured the waiting events send, except those older than MaxAge
//     (default 72 h), which are counted as skipped: a mail about an old
//     decision would mislead more than inform.
//
// It imports the domain, the event log (to fold a conference up to the
// event, for its contact and what changed) and httpapi for its editors'
// routes; never a producer, a projection or another reactor.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
)

// Defaults of Config.
const (
	DefaultMaxAge     = 72 * time.Hour
	DefaultMaxTries   = 10
	DefaultBackoff    = 2 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultWorkers    = 8
)

// Config is what the notifier needs to know.
type Config struct {
	// SMTP is the server mail goes through; nil: mail is not configured.
	SMTP *SMTP
	// From is the From address (--mail-from), such as
	// "Justice Events <events@example.org>".
	From string
	// PublicURL is where people reach the service: links and the
	// Message-ID's domain derive from it.
	PublicURL *url.URL
	// EditorEmails are told of new submissions and reports.
	EditorEmails []string
	// MaxAge: events older than this when the notifier reaches them send
	// nothing (counted as skipped).
	MaxAge time.Duration
	// MaxTries bounds the attempts at one mail before the dead letters
	// (failures of the server itself do not count: serverProblem).
	MaxTries int
	// Backoff is the wait before the second attempt, doubling after each
	// failure up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Workers send in parallel, each on its own SMTP connection.
	Workers int
	// PrivateLink, when set, is the organiser's private page for a
	// conference and its contact (it goes in their mails only).
	PrivateLink func(id string, c domain.Contact) string
	// Digest, when positive, is the length of the editors' digest
	// windows: new submissions reach the editors as one mail per window
	// (digest.go) instead of one mail each. Reports stay immediate.
	Digest time.Duration
	// DigestGrace is how long after a window's end it may still receive
	// submissions stamped inside it (DefaultDigestGrace).
	DigestGrace time.Duration
}

func (c *Config) defaults() {
	orDefault(&c.MaxAge, DefaultMaxAge)
	orDefault(&c.MaxTries, DefaultMaxTries)
	orDefault(&c.Backoff, DefaultBackoff)
	orDefault(&c.MaxBackoff, DefaultMaxBackoff)
	orDefault(&c.Workers, DefaultWorkers)
	orDefault(&c.DigestGrace, DefaultDigestGrace)
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Notifier sends the mails the log's events call for. Run it once per
// process; any number of processes may share the consumer.
type Notifier struct {
	js       jetstream.JetStream
	log      *eventlog.Log
	logger   *slog.Logger
	cfg      Config
	m        *Metrics
	host     string // the Message-ID's domain and the HELO name
	sentKV   jetstream.KeyValue
	deadKV   jetstream.KeyValue
	digestKV jetstream.KeyValue
	id       string       // this notifier, in the digests' claims
	joinMu   sync.Mutex   // one digest join at a time (digest.go)
	problem  atomic.Value // string: why /readyz says degraded, "" when fine
	trouble  atomic.Value // string: why the SMTP server cannot be used just now, "" when it can
}

// New returns a notifier over the stream of js, reading conferences
// through log.
func New(js jetstream.JetStream, log *eventlog.Log, cfg Config, logger *slog.Logger, m *Metrics) *Notifier {
	cfg.defaults()
	host := "localhost"
	if cfg.PublicURL != nil && cfg.PublicURL.Hostname() != "" {
		host = cfg.PublicURL.Hostname()
	}
	n := &Notifier{js: js, log: log, logger: logger, cfg: cfg, m: m, host: host, id: rand.Text()}
	n.problem.Store("")
	n.trouble.Store("")
	if cfg.SMTP == nil {
		n.problem.Store("mail is not configured (--smtp-url): notifications wait in the log")
	}
	return n
}

// Problem is why the notifier cannot send now ("" when it can): /readyz
// lists it under degraded.
func (n *Notifier) Problem() string {
	if p := n.problem.Load().(string); p != "" {
		return p
	}
	return n.trouble.Load().(string)
}

// serverFailed notes that the SMTP server could not be used (reached,
// its certificate trusted, TLS agreed, or our login accepted): /readyz
// says why and jevents_notify_smtp_ok is 0 until a mail goes through. The
// mails wait and retry; none goes to the dead letters for it, since no
// mail is at fault. Logged once per new reason.
func (n *Notifier) serverFailed(err error, recipient string) {
	why := "the SMTP server cannot be used: " + redact(answer(err), recipient)
	n.m.smtpOK.Set(0)
	if old := n.trouble.Swap(why); old != why {
		n.logger.Warn("notifier: the SMTP server cannot be used; mails wait and retry", slog.String("err", redact(answer(err), recipient)),
			slog.String("smtp", n.cfg.SMTP.String()))
	}
}

// serverOK notes that a mail went through.
func (n *Notifier) serverOK() {
	n.m.smtpOK.Set(1)
	if old := n.trouble.Swap(""); old != "" {
		n.logger.Info("notifier: the SMTP server takes mail again", slog.String("smtp", n.cfg.SMTP.String()))
	}
}

// Run follows the consumer until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	if n.cfg.SMTP == nil {
		n.m.configured.Set(0)
		// Info, not a warning: the default start (`go run ./cmd/jevents`)
		// has no mail; /readyz and jevents_notify_smtp_configured say so.
		n.logger.Info("mail is not configured: the notifier sends nothing and keeps its place in the log until --smtp-url is set",
			slog.String("consumer", ConsumerName))
	} else {
		n.m.configured.Set(1)
		n.m.smtpOK.Set(1) // until a mail says otherwise
		n.logger.Info("notifier sending mail", slog.String("smtp", n.cfg.SMTP.String()), slog.Int("workers", n.cfg.Workers))
	}
	cons, err := n.await(ctx)
	if err != nil {
		return nil // ctx ended
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); n.watchLag(ctx, cons) }()
	if n.cfg.SMTP == nil {
		<-ctx.Done()
		return nil
	}
	wg.Add(1)
	go func() { defer wg.Done(); n.watchDead(ctx) }()
	// Every notifier closes and sends the digests, immediate or not: the
	// windows recorded before a switch to immediate mail still go out.
	wg.Add(1)
	go func() { defer wg.Done(); n.watchDigests(ctx, cons) }()

	it, err := cons.Messages(jetstream.PullMaxMessages(2 * n.cfg.Workers))
	if err != nil {
		return fmt.Errorf("notify: consume: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	msgs := make(chan jetstream.Msg)
	for range n.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := &conn{smtp: n.cfg.SMTP, helo: n.host}
			defer k.close()
			for msg := range msgs {
				n.handle(ctx, k, msg)
			}
		}()
	}
	defer close(msgs)
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			n.logger.Warn("notifier: next event", slog.Any("err", err))
			continue
		}
		select {
		case msgs <- msg:
		case <-ctx.Done():
			return nil
		}
	}
}

// await waits for the consumer and the buckets that Setup creates.
func (n *Notifier) await(ctx context.Context) (jetstream.Consumer, error) {
	logged := false
	for {
		cons, err := n.js.Consumer(ctx, domain.StreamName, ConsumerName)
		if err == nil {
			n.sentKV, err = n.js.KeyValue(ctx, SentBucket)
		}
		if err == nil {
			n.deadKV, err = n.js.KeyValue(ctx, DeadBucket)
		}
		if err == nil {
			n.digestKV, err = n.js.KeyValue(ctx, DigestBucket)
		}
		if err == nil {
			return cons, nil
		}
		if !logged {
			n.logger.Warn("notifier waiting for its consumer and buckets: run `jevents setup`", slog.Any("err", err))
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// handle sends the mails of one event and acknowledges it once every one
// is sent, recorded or dead-lettered; a failure to retry leaves it to be
// redelivered after the backoff.
func (n *Notifier) handle(ctx context.Context, k *conn, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Nak()
		return
	}
	seq, tries := meta.Sequence.Stream, int(meta.NumDelivered)
	working := make(chan struct{})
	defer close(working)
	go func() { // still working: a slow server must not hand the event to another notifier
		t := time.NewTicker(AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-working:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	rec, err := domain.DecodeTyped(seq, msg.Subject(), msg.Headers().Get(domain.HeaderEventType), msg.Data())
	if err != nil { // poison: the projectors count it; no mail can come of it
		n.logger.Warn("notifier: undecodable event, skipped", slog.Uint64("seq", seq), slog.Any("err", err))
		n.ack(ctx, msg)
		return
	}
	if age(rec) > n.cfg.MaxAge {
		// Too old to tell anyone (mail was not configured, or a long
		// outage): no mail, and no need to read its conference.
		n.m.skipped.Inc()
		n.ack(ctx, msg)
		return
	}
	editorsNow := true
	if s, ok := rec.Event.(domain.ConferenceSubmitted); ok && n.cfg.Digest > 0 && len(n.cfg.EditorEmails) > 0 {
		// The editors hear of it in its window's digest; the event is
		// acknowledged only once it is in the window's record.
		late, err := n.joinDigest(ctx, rec, s)
		if err != nil {
			n.logger.Warn("notifier: add to the digest", slog.Uint64("seq", seq), slog.Any("err", err))
			_ = msg.NakWithDelay(n.backoff(tries))
			return
		}
		if late {
			n.m.digestLate.Inc()
		}
		editorsNow = late
	}
	mails, err := n.plan(ctx, rec, editorsNow)
	if err != nil {
		n.logger.Warn("notifier: read the conference", slog.Uint64("seq", seq), slog.Any("err", err))
		_ = msg.NakWithDelay(n.backoff(tries))
		return
	}
	retry := false
	for _, m := range mails {
		if done, err := n.isSent(ctx, m.Key); err != nil {
			retry = true
			break
		} else if done {
			n.m.mails.WithLabelValues(m.Kind, "duplicate").Inc()
			continue
		}
		err := n.send(ctx, k, m)
		switch {
		case err == nil:
		case permanent(err) || tries >= n.cfg.MaxTries && !serverProblem(err):
			n.bury(ctx, m, err, tries)
		default:
			n.m.mails.WithLabelValues(m.Kind, "failed").Inc()
			n.logger.Warn("notifier: mail not sent, will retry", slog.String("kind", m.Kind), slog.String("key", m.Key),
				slog.Int("try", tries), slog.String("err", redact(answer(err), m.To.Email)))
			retry = true
		}
		if retry {
			break
		}
	}
	if retry {
		_ = msg.NakWithDelay(n.backoff(tries))
		return
	}
	n.ack(ctx, msg)
}

func (n *Notifier) ack(ctx context.Context, msg jetstream.Msg) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		// Redelivered later: the sent records keep it from sending twice.
		n.logger.Warn("notifier: ack", slog.Any("err", err))
	}
}

// backoff is the wait after the tries-th failed attempt.
func (n *Notifier) backoff(tries int) time.Duration {
	d := n.cfg.Backoff
	for i := 1; i < tries && d < n.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, n.cfg.MaxBackoff)
}

// send delivers m and records it as sent.
func (n *Notifier) send(ctx context.Context, k *conn, m Mail) error {
	msg, err := message(m, n.cfg.From, n.host)
	if err != nil {
		return &refused{err}
	}
	sctx, cancel := context.WithTimeout(ctx, 2*n.cfg.SMTP.Timeout)
	start := time.Now()
	err = k.send(sctx, msg)
	cancel()
	if err != nil {
		if serverProblem(err) {
			n.serverFailed(err, m.To.Email)
		}
		return err
	}
	n.serverOK()
	n.m.sendSeconds.Observe(time.Since(start).Seconds())
	n.m.mails.WithLabelValues(m.Kind, "sent").Inc()
	n.record(ctx, m, false)
	return nil
}

// refused is a mail that cannot be built (an address go-mail refuses):
// permanent.
type refused struct{ error }

// record writes m's key to the sent bucket. If it cannot, the event is
// still acknowledged (the mail went out); a redelivery would send it once
// more, which the docs allow.
func (n *Notifier) record(ctx context.Context, m Mail, skipped bool) {
	b, _ := json.Marshal(sent{Kind: m.Kind, Seq: m.Seq, At: time.Now().UTC(), Skipped: skipped})
	for i := range 3 {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := n.sentKV.Put(rctx, m.Key, b)
		cancel()
		if err == nil {
			return
		}
		n.logger.Warn("notifier: record a sent mail", slog.String("key", m.Key), slog.Int("try", i+1), slog.Any("err", err))
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *Notifier) isSent(ctx context.Context, key string) (bool, error) {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, kv := range []jetstream.KeyValue{n.sentKV, n.deadKV} { // a dead letter waits for an editor
		_, err := kv.Get(gctx, key)
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return false, err
		}
	}
	return false, nil
}

// bury puts m on the dead-letter list with the server's answer.
func (n *Notifier) bury(ctx context.Context, m Mail, cause error, tries int) {
	var rf *refused
	if errors.As(cause, &rf) {
		cause = rf.error
	}
	n.m.mails.WithLabelValues(m.Kind, "dead").Inc()
	n.logger.Warn("notifier: mail given up, see the dead letters", slog.String("kind", m.Kind), slog.String("key", m.Key),
		slog.Int("tries", tries), slog.String("err", redact(answer(cause), m.To.Email)))
	b, _ := json.Marshal(DeadLetter{Key: m.Key, Kind: m.Kind, Seq: m.Seq, To: m.To.Email, Error: answer(cause), Tries: tries, At: time.Now().UTC()})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.deadKV.Put(pctx, m.Key, b); err != nil {
		n.logger.Error("notifier: could not keep a dead letter", slog.String("key", m.Key), slog.Any("err", err))
	}
}

// watchLag keeps jevents_notify_lag_events: the events the notifier has
// not finished (waiting and in flight).
func (n *Notifier) watchLag(ctx context.Context, cons jetstream.Consumer) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if info, err := cons.Info(ictx); err == nil {
			n.m.lag.Set(float64(info.NumPending) + float64(info.NumAckPending))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchDead counts the dead letters and sends again those an editor asked
// to retry.
func (n *Notifier) watchDead(ctx context.Context) {
	k := &conn{smtp: n.cfg.SMTP, helo: n.host}
	defer k.close()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if dls, err := listDead(ctx, n.deadKV); err == nil {
			n.m.dead.Set(float64(len(dls)))
			for _, dl := range dls {
				if dl.Retry {
					n.retryDead(ctx, k, dl)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// retryDead sends a dead letter again: it claims it (clearing Retry, so
// that a second notifier leaves it), rebuilds the mail from its event and
// sends it; on failure the letter stays with the new answer.
func (n *Notifier) retryDead(ctx context.Context, k *conn, dl DeadLetter) {
	e, err := n.deadKV.Get(ctx, dl.Key)
	if err != nil {
		return
	}
	claimed := dl
	claimed.Retry = false
	b, _ := json.Marshal(claimed)
	if _, err := n.deadKV.Update(ctx, dl.Key, b, e.Revision()); err != nil {
		return // another notifier took it, or it changed
	}
	rebuild := n.rebuild
	if dl.Kind == KindEditorDigest {
		rebuild = n.rebuildDigest
	}
	m, err := rebuild(ctx, dl)
	if err == nil {
		if err = n.send(ctx, k, m); err == nil {
			_ = n.deadKV.Delete(ctx, dl.Key)
			n.logger.Info("notifier: dead letter sent", slog.String("key", dl.Key))
			return
		}
	}
	claimed.Tries++
	claimed.Error = answer(err)
	claimed.At = time.Now().UTC()
	b, _ = json.Marshal(claimed)
	_, _ = n.deadKV.Put(ctx, dl.Key, b)
}

// rebuild makes a dead letter's mail again from the event that caused it.
func (n *Notifier) rebuild(ctx context.Context, dl DeadLetter) (Mail, error) {
	s, err := n.js.Stream(ctx, domain.StreamName)
	if err != nil {
		return Mail{}, err
	}
	raw, err := s.GetMsg(ctx, dl.Seq)
	if err != nil {
		return Mail{}, err
	}
	rec, err := domain.DecodeTyped(raw.Sequence, raw.Subject, raw.Header.Get(domain.HeaderEventType), raw.Data)
	if err != nil {
		return Mail{}, err
	}
	mails, err := n.plan(ctx, rec, true)
	if err != nil {
		return Mail{}, err
	}
	for _, m := range mails {
		if m.Key == dl.Key {
			return m, nil
		}
	}
	return Mail{}, fmt.Errorf("the event at %d no longer calls for mail %s", dl.Seq, dl.Key)
}

// redact keeps a recipient's address out of a log line: an SMTP server's
// answer often repeats it. The dead letter (editors only) keeps it whole.
func redact(s, email string) string {
	if email == "" {
		return s
	}
	if i := strings.Index(strings.ToLower(s), strings.ToLower(email)); i >= 0 {
		return redact(s[:i]+"<recipient>"+s[i+len(email):], email)
	}
	return s
}

// keyOf is a mail's key: the causing event's id, the kind and, for a
// mail that goes to several people, which one (a hash, never the
// address). Characters a KV key may not hold become '_'.
func keyOf(eventID, kind, recipient string) string {
	k := eventID + "." + kind
	if recipient != "" {
		k += "." + addressKey(recipient)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, k)
}

// Metrics are the notifier's Prometheus series.
type Metrics struct {
	mails       *prometheus.CounterVec
	lag         prometheus.Gauge
	dead        prometheus.Gauge
	configured  prometheus.Gauge
	sendSeconds prometheus.Histogram
	skipped     prometheus.Counter
	smtpOK      prometheus.Gauge
	// the editors' digest (digest.go)
	digestWaiting prometheus.Gauge
	digestLate    prometheus.Counter
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "notify", Name: "mails_total",
			Help: "Mails by kind and outcome: sent, failed (will retry), dead (given up: see the dead letters), duplicate (already sent)."},
			[]string{"kind", "outcome"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "notify", Name: "lag_events",
			Help: "Events the notifier has not finished: waiting in its consumer and in flight."}),
		dead: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "notify", Name: "dead_letters",
			Help: "Mails on the dead-letter list, waiting for an editor."}),
		configured: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "notify", Name: "smtp_configured",
			Help: "1 when the notifier has an SMTP server (--smtp-url), 0 when mail waits."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "notify", Name: "skipped_events_total",
			Help: "Events older than the notifier's max age when it reached them: no mail sent for them."}),
		smtpOK: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "notify", Name: "smtp_ok",
			Help: "0 while the SMTP server cannot be used (unreachable, untrusted certificate, no STARTTLS, login refused): mails wait; 1 otherwise."}),
		digestWaiting: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "notify", Name: "digest_waiting_submissions",
			Help: "Submissions in editors' digest windows not sent yet (open, closing or retrying)."}),
		digestLate: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "notify", Name: "digest_late_total",
			Help: "Submissions whose digest window had closed when the notifier reached them: sent to the editors alone."}),
		sendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "notify", Name: "send_seconds",
			Help: "Time to hand one mail to the SMTP server.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
	}
	for _, k := range Kinds {
		for _, o := range []string{"sent", "failed", "dead", "duplicate"} {
			m.mails.WithLabelValues(k, o)
		}
	}
	if reg != nil {
		reg.MustRegister(m.mails, m.lag, m.dead, m.configured, m.sendSeconds, m.skipped, m.digestWaiting, m.digestLate, m.smtpOK)
	}
	return m
}
