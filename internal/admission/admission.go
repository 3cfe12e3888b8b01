// Package admission owns the one gate every untrusted write passes before
// it may be appended to the event log: the public's submissions from the
// JSON API, the form, the CLI and .ics files (each VEVENT counts as one
// event), and later any other write that anyone may make. The log denies
// deletes by design, so what the gate lets through stays forever; the gate
// is what keeps one client, or many, from filling it.
//
// An admission is refused when any of these says no, checked in this order:
//
//   - the reserve: once the event stream holds more than its byte budget
//     minus Config.Reserve, untrusted writes are refused (507, "the rest is
//     kept for editors") and only editors' commands, which never pass the
//     gate, may use the rest. So a flood can never leave editors unable to
//     reject it.
//   - the client address (internal/clientaddr: the connection's peer, or
//     the X-Forwarded-For of a trusted proxy; an IPv6 /64 counts as one):
//     Config.PerAddress events per window, as a token bucket (429).
//   - each contact e-mail: Config.PerContact events per window (429).
//   - the quota: Config.Quota events and Config.QuotaBytes bytes per
//     window, counted for all intake processes of a cluster together in one
//     key of the NATS KV bucket jevents_admission (compare-and-set, so
//     processes never lose each other's counts), keyed by the window's
//     start; the bucket's age limit clears old windows (429, Retry-After:
//     the end of the window).
//
// The per-address and per-contact buckets are each process's own, in
// memory (internal/ratelimit); with N intake processes behind a balancer a
// client gets up to N times its allowance. The quota is the bound that holds
// whatever N is: the log grows by at most Config.QuotaBytes of untrusted
// writes per window.
//
// A Grant is settled once the append is done: what was admitted but not
// appended (a retried submission that appended nothing, a failed append) is
// given back.
//
// It is plumbing: it imports nothing of the product, only internal/clientaddr,
// internal/ratelimit and nats.go. The composition root names the stream it
// guards; a gate that cannot count says ErrUnavailable, which the intake
// producer answers as the domain's ErrUnavailable (503).
package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/ratelimit"
)

// ErrUnavailable says the gate cannot count now: its bucket is not open yet
// or cannot be read or written. Nothing was admitted; the caller answers
// "temporarily unavailable" and the client retries.
var ErrUnavailable = errors.New("admission: the limits cannot be counted now")

// Bucket is the KV bucket of the shared quota's counters.
const Bucket = "jevents_admission"

// bucketMaxAge is how long a window's counter outlives its last write: the
// longest window allowed, twice.
const bucketMaxAge = 2 * MaxWindow

// MinWindow and MaxWindow bound Config.Window.
const (
	MinWindow = time.Minute
	MaxWindow = 24 * time.Hour
)

// Defaults of Config. With them, the public can add at most 16 MiB to the
// log per hour (384 MiB a day): the 1 GiB default budget, less its 10%
// reserve, lasts at least 2.4 days of a flood from any number of
// addresses, and the stream alert fires at 80%.
const (
	DefaultWindow     = time.Hour
	DefaultPerAddress = 60
	DefaultPerContact = 60
	DefaultQuota      = 600
	DefaultQuotaBytes = 16 << 20
	// DefaultReserveFraction of the stream's byte budget is kept for
	// editors when Config.Reserve is 0.
	DefaultReserveFraction = 10
)

// Config are the gate's limits. Zero values take the defaults; a negative
// value turns a limit off.
type Config struct {
	// Window is the period the limits count over (1m to 24h).
	Window time.Duration
	// PerAddress and PerContact bound the events of one client address and
	// of one contact e-mail per window, in each process.
	PerAddress, PerContact int
	// Quota and QuotaBytes bound the events and their stored bytes per
	// window, all processes of the cluster together.
	Quota      int
	QuotaBytes int64
	// Reserve is the part of the stream's byte budget that untrusted writes
	// may not use; 0: a tenth of the budget.
	Reserve int64
}

// Validate fills the defaults and checks the ranges.
func (c *Config) Validate() error {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Window < MinWindow || c.Window > MaxWindow {
		return fmt.Errorf("the intake window must be between %s and %s", MinWindow, MaxWindow)
	}
	if c.PerAddress == 0 {
		c.PerAddress = DefaultPerAddress
	}
	if c.PerContact == 0 {
		c.PerContact = DefaultPerContact
	}
	if c.Quota == 0 {
		c.Quota = DefaultQuota
	}
	if c.QuotaBytes == 0 {
		c.QuotaBytes = DefaultQuotaBytes
	}
	return nil
}

// reserve is the reserve for a stream of budget maxBytes.
func (c Config) reserve(maxBytes int64) int64 {
	switch {
	case c.Reserve < 0:
		return 0
	case c.Reserve == 0:
		return maxBytes / DefaultReserveFraction
	}
	return c.Reserve
}

// Admission is one untrusted write asking to be appended.
type Admission struct {
	// Source names where it came from, for metrics: api, form, cli, ics.
	Source string
	// Addr is the client (clientaddr.Resolver.Client); the zero Addr is not
	// counted per address.
	Addr netip.Addr
	// Contacts are the contact e-mails of its events, one per event (or
	// fewer); each is limited on its own, ignoring case.
	Contacts []string
	// Events is how many events it appends (at least 1), Bytes an upper
	// bound of what they take in the stream (StoredSize).
	Events int
	Bytes  int64
}

// Refusal is an admission refused by a limit. Status is 429 (a limit: come
// back after RetryAfter) or 507 (the reserve: untrusted writes wait until
// operators raise the budget).
type Refusal struct {
	// Reason is address, contact, quota or reserve.
	Reason     string
	RetryAfter time.Duration
	Detail     string
}

func (r *Refusal) Error() string { return "admission: refused (" + r.Reason + "): " + r.Detail }

// Status is the HTTP status of the refusal.
func (r *Refusal) Status() int {
	if r.Reason == "reserve" {
		return http.StatusInsufficientStorage
	}
	return http.StatusTooManyRequests
}

// Title is the short title of the refusal's problem document.
func (r *Refusal) Title() string {
	if r.Reason == "reserve" {
		return "Submissions paused"
	}
	return "Too many submissions"
}

// RetryAfterSeconds is RetryAfter in whole seconds, at least 1, for the
// Retry-After header (0 for the reserve, which sends none).
func (r *Refusal) RetryAfterSeconds() int {
	if r.Reason == "reserve" {
		return 0
	}
	return max(1, int((r.RetryAfter+time.Second-1)/time.Second))
}

// StoredSize is an upper bound of what one event takes in the stream: its
// data and subject, and 640 bytes for its headers (message id, type,
// schema, actor, the expectations) and the store's own framing, which
// together take under 500.
func StoredSize(subject string, data []byte) int64 {
	return int64(len(subject) + len(data) + 640)
}

// Gate admits untrusted writes. Safe for concurrent use; Run must run for
// it to admit anything.
type Gate struct {
	js         jetstream.JetStream
	streamName string // the stream whose byte budget the reserve keeps
	cfg        Config
	log        *slog.Logger
	metrics    *Metrics

	perAddress *ratelimit.Keyed[netip.Addr]
	perContact *ratelimit.Keyed[string]

	ready chan struct{}
	kvMu  sync.RWMutex
	kv    jetstream.KeyValue

	quotaMu sync.Mutex // one compare-and-set at a time per process
	seen    usage      // the counter of seenWin as last read or written
	seenWin int64

	streamMu sync.Mutex
	stream   streamState
	// What the stream's state as read does not show yet: bytes admitted
	// and not yet appended (inflight), and appended since it was read.
	inflight, sinceRead int64
}

// streamState is the event stream's size as last read.
type streamState struct {
	bytes, maxBytes int64
	read            time.Time
}

// usage is one window's counter, as stored in the bucket.
type usage struct {
	Events int64 `json:"events"`
	Bytes  int64 `json:"bytes"`
}

// New returns a gate over the named stream (whose byte budget the reserve
// keeps) and the bucket behind js; cfg must have passed Validate. metrics may be nil.
func New(js jetstream.JetStream, stream string, cfg Config, log *slog.Logger, m *Metrics) *Gate {
	if m == nil {
		m = NewMetrics(nil)
	}
	g := &Gate{js: js, streamName: stream, cfg: cfg, log: log.With(slog.String("component", "admission")), metrics: m,
		perAddress: ratelimit.New[netip.Addr](ratelimit.Per(cfg.PerAddress, cfg.Window), 0),
		perContact: ratelimit.New[string](ratelimit.Per(cfg.PerContact, cfg.Window), 0),
		ready:      make(chan struct{})}
	m.configure(cfg)
	return g
}

// Ready is closed once the gate has found its bucket and read the stream's
// size: until then every admission is refused as unavailable.
func (g *Gate) Ready() <-chan struct{} { return g.ready }

// StreamRefresh is how often the gate reads the stream's size. Between two
// reads it adds what it admitted itself; other processes' admissions are
// bounded by the quota.
const StreamRefresh = time.Second

// Run finds the bucket (made by `jevents setup` or the embedded server's
// set-up), then keeps the stream's size current until ctx ends.
func (g *Gate) Run(ctx context.Context) error {
	logged := false
	for {
		kv, err := g.js.KeyValue(ctx, Bucket)
		if err == nil {
			g.kvMu.Lock()
			g.kv = kv
			g.kvMu.Unlock()
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !logged {
			g.log.Warn("waiting for the intake quota bucket: create it with `jevents setup` (submissions are refused until then)",
				slog.String("bucket", Bucket), slog.Any("err", err))
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	t := time.NewTicker(StreamRefresh)
	defer t.Stop()
	for {
		if err := g.readStream(ctx); err != nil && ctx.Err() == nil {
			g.log.Warn("cannot read the event stream's size", slog.Any("err", err))
		}
		select {
		case <-g.ready:
		default:
			if g.streamRead() {
				close(g.ready)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (g *Gate) streamRead() bool {
	g.streamMu.Lock()
	defer g.streamMu.Unlock()
	return !g.stream.read.IsZero()
}

// readStream reads the stream's size and budget.
func (g *Gate) readStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	// What was appended before the read is in it; what is appended while
	// it is under way may be, and stays counted (the safe side).
	g.streamMu.Lock()
	before := g.sinceRead
	g.streamMu.Unlock()
	s, err := g.js.Stream(ctx, g.streamName)
	if err != nil {
		return err
	}
	info := s.CachedInfo()
	g.streamMu.Lock()
	g.stream = streamState{bytes: int64(info.State.Bytes), maxBytes: info.Config.MaxBytes, read: time.Now()}
	g.sinceRead -= before
	reserved := g.inReserve(0)
	g.streamMu.Unlock()
	g.metrics.reserveActive.Set(b2f(reserved))
	g.metrics.reserveBytes.Set(float64(g.cfg.reserve(info.Config.MaxBytes)))
	return nil
}

// inReserve reports whether n more bytes would reach into the reserve;
// g.streamMu is held.
func (g *Gate) inReserve(n int64) bool {
	st := g.stream
	if st.read.IsZero() || st.maxBytes <= 0 || time.Since(st.read) > 30*StreamRefresh {
		// Unknown or stale: the append itself fails if the log is full.
		return false
	}
	reserve := g.cfg.reserve(st.maxBytes)
	if reserve == 0 {
		return false // no reserve: the log itself answers when it is full
	}
	return st.bytes+g.sinceRead+g.inflight+n > st.maxBytes-reserve
}

// Admit lets a in, or refuses it with a *Refusal (or an error wrapping
// ErrUnavailable when the bucket cannot be reached). Settle the
// grant once the append is done.
func (g *Gate) Admit(ctx context.Context, a Admission) (*Grant, error) {
	a.Events = max(a.Events, 1)
	source := cmpOr(a.Source, "api")
	gr, err := g.admit(ctx, a)
	var r *Refusal
	switch {
	case err == nil:
		g.metrics.events.WithLabelValues(source, "admitted").Add(float64(a.Events))
	case errors.As(err, &r):
		g.metrics.events.WithLabelValues(source, r.Reason).Add(float64(a.Events))
	default:
		g.metrics.events.WithLabelValues(source, "unavailable").Add(float64(a.Events))
	}
	return gr, err
}

func (g *Gate) admit(ctx context.Context, a Admission) (*Grant, error) {
	select {
	case <-g.ready:
	default:
		return nil, fmt.Errorf("admission: the intake quota bucket %s is not open yet (run `jevents setup`): %w", Bucket, ErrUnavailable)
	}
	now := time.Now()
	// The reserve is checked and the bytes counted in flight at once, so
	// that concurrent admissions cannot pass it together.
	g.streamMu.Lock()
	reserved := g.inReserve(a.Bytes)
	if !reserved {
		g.inflight += a.Bytes
	}
	g.streamMu.Unlock()
	if reserved {
		return nil, &Refusal{Reason: "reserve", Detail: "the event log is nearly full: its last part is kept for the editors' " +
			"decisions, so submissions are paused until the operators raise its budget; nothing was submitted"}
	}
	gr := &Grant{g: g, a: a, contacts: map[string]int{}}
	addr := clientaddr.Key(a.Addr)
	if a.Addr.IsValid() {
		if ok, wait := g.perAddress.Take(addr, a.Events, now); !ok {
			gr.giveLocal()
			return nil, &Refusal{Reason: "address", RetryAfter: wait, Detail: fmt.Sprintf(
				"this address may submit %d conferences per %s; nothing was submitted: try again later", g.cfg.PerAddress, humanWindow(g.cfg.Window))}
		}
		gr.addr = addr
		gr.addrTaken = true
	}
	asked := map[string]int{}
	for _, c := range a.Contacts {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			asked[c]++
		}
	}
	for c, n := range asked {
		if ok, wait := g.perContact.Take(c, n, now); ok {
			gr.contacts[c] = n // taken: given back if a later limit refuses
		} else {
			gr.giveLocal()
			return nil, &Refusal{Reason: "contact", RetryAfter: wait, Detail: fmt.Sprintf(
				"one contact may submit %d conferences per %s; nothing was submitted: try again later", g.cfg.PerContact, humanWindow(g.cfg.Window))}
		}
	}
	win, err := g.take(ctx, int64(a.Events), a.Bytes, now)
	if err != nil {
		gr.giveLocal()
		return nil, err
	}
	gr.window = win
	return gr, nil
}

// windowOf is the start of the window holding t, in Unix seconds.
func (g *Gate) windowOf(t time.Time) int64 {
	w := int64(g.cfg.Window / time.Second)
	return t.Unix() / w * w
}

func quotaKey(win int64) string { return "quota." + strconv.FormatInt(win, 10) }

// take adds events and bytes to the current window's counter, if they fit
// the quota, with compare-and-set. It returns the window.
func (g *Gate) take(ctx context.Context, events, bytes int64, now time.Time) (int64, error) {
	quota, quotaBytes := int64(g.cfg.Quota), g.cfg.QuotaBytes
	if quota < 0 && quotaBytes < 0 {
		return 0, nil
	}
	win := g.windowOf(now)
	refuse := func() error {
		end := time.Unix(win, 0).Add(g.cfg.Window)
		return &Refusal{Reason: "quota", RetryAfter: time.Until(end), Detail: fmt.Sprintf(
			"the calendar takes at most %d submissions (%s) per %s from everyone together, and this %s's are taken; nothing was submitted: try again after %s",
			g.cfg.Quota, byteSize(g.cfg.QuotaBytes), humanWindow(g.cfg.Window), humanWindow(g.cfg.Window), end.UTC().Format(time.RFC3339))}
	}
	over := func(u usage) bool {
		return (quota >= 0 && u.Events+events > quota) || (quotaBytes >= 0 && u.Bytes+bytes > quotaBytes)
	}
	g.quotaMu.Lock()
	defer g.quotaMu.Unlock()
	// The counter only grows within a window (but for give-backs): when the
	// last value seen is already over, refuse without asking the bucket.
	if g.seenWin == win && over(g.seen) {
		return 0, refuse()
	}
	g.kvMu.RLock()
	kv := g.kv
	g.kvMu.RUnlock()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	key := quotaKey(win)
	for attempt := 0; ; attempt++ {
		cur, rev, err := readUsage(ctx, kv, key)
		if err != nil {
			return 0, fmt.Errorf("admission: read %s: %w: %v", key, ErrUnavailable, err)
		}
		g.see(win, cur)
		if over(cur) {
			return 0, refuse()
		}
		next := usage{Events: cur.Events + events, Bytes: cur.Bytes + bytes}
		err = writeUsage(ctx, kv, key, next, rev)
		if err == nil {
			g.see(win, next)
			return win, nil
		}
		if !isConflict(err) || attempt >= 50 {
			return 0, fmt.Errorf("admission: write %s: %w: %v", key, ErrUnavailable, err)
		}
		g.metrics.conflicts.Inc()
	}
}

// give takes events and bytes back off a window's counter.
func (g *Gate) give(win, events, bytes int64) {
	if events <= 0 && bytes <= 0 {
		return
	}
	if int64(g.cfg.Quota) < 0 && g.cfg.QuotaBytes < 0 {
		return
	}
	g.quotaMu.Lock()
	defer g.quotaMu.Unlock()
	g.kvMu.RLock()
	kv := g.kv
	g.kvMu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	key := quotaKey(win)
	for attempt := 0; attempt < 50; attempt++ {
		cur, rev, err := readUsage(ctx, kv, key)
		if err != nil || rev == 0 {
			return
		}
		next := usage{Events: max(0, cur.Events-events), Bytes: max(0, cur.Bytes-bytes)}
		if err = writeUsage(ctx, kv, key, next, rev); err == nil {
			g.see(win, next)
			return
		}
		if !isConflict(err) {
			g.log.Warn("could not give back an unused admission", slog.Any("err", err))
			return
		}
	}
}

// see records a window's counter as last seen; g.quotaMu is held.
func (g *Gate) see(win int64, u usage) {
	if win < g.seenWin {
		return
	}
	g.seenWin, g.seen = win, u
	g.metrics.usedEvents.Set(float64(u.Events))
	g.metrics.usedBytes.Set(float64(u.Bytes))
}

func readUsage(ctx context.Context, kv jetstream.KeyValue, key string) (usage, uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return usage{}, 0, nil
	}
	if err != nil {
		return usage{}, 0, err
	}
	var u usage
	if err := json.Unmarshal(e.Value(), &u); err != nil {
		return usage{}, 0, fmt.Errorf("counter %s: %w", key, err)
	}
	return u, e.Revision(), nil
}

// writeUsage stores the counter if it is still at revision rev (0: must
// not exist).
func writeUsage(ctx context.Context, kv jetstream.KeyValue, key string, u usage, rev uint64) error {
	b, _ := json.Marshal(u)
	var err error
	if rev == 0 {
		_, err = kv.Create(ctx, key, b)
	} else {
		_, err = kv.Update(ctx, key, b, rev)
	}
	return err
}

// isConflict reports whether a compare-and-set lost to another writer:
// ErrKeyExists, or the server's "wrong last sequence" on a clustered
// bucket.
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Grant is an admitted write. Settle it once, after the append.
type Grant struct {
	g         *Gate
	a         Admission
	addr      netip.Addr
	addrTaken bool
	contacts  map[string]int
	window    int64
	settled   bool
}

// Settle says what was appended: events and their stored bytes. What was
// admitted beyond that is given back (a retried submission that appended
// nothing gives everything back). Safe on a nil Grant.
func (gr *Grant) Settle(events int, bytes int64) {
	if gr == nil || gr.settled {
		return
	}
	gr.settled = true
	gr.g.streamMu.Lock()
	gr.g.inflight -= gr.a.Bytes
	gr.g.sinceRead += bytes
	gr.g.streamMu.Unlock()
	unused := gr.a.Events - events
	if unused <= 0 {
		return
	}
	if gr.addrTaken {
		gr.g.perAddress.Give(gr.addr, unused)
	}
	if events == 0 {
		for c, n := range gr.contacts {
			gr.g.perContact.Give(c, n)
		}
	}
	if gr.window != 0 {
		gr.g.give(gr.window, int64(unused), max(0, gr.a.Bytes-bytes))
	}
}

// giveLocal gives back the per-address and per-contact tokens, and the
// bytes counted in flight, of an admission refused further on.
func (gr *Grant) giveLocal() {
	gr.g.streamMu.Lock()
	gr.g.inflight -= gr.a.Bytes
	gr.g.streamMu.Unlock()
	if gr.addrTaken {
		gr.g.perAddress.Give(gr.addr, gr.a.Events)
	}
	for c, n := range gr.contacts {
		gr.g.perContact.Give(c, n)
	}
}

// EnsureBucket creates the quota bucket when missing: by `jevents setup` on
// a cluster, by the embedded server's set-up at start.
func EnsureBucket(ctx context.Context, js jetstream.JetStream, replicas int) (string, error) {
	_, err := js.KeyValue(ctx, Bucket)
	if err == nil {
		return Bucket, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return "", fmt.Errorf("admission: open %s: %w", Bucket, err)
	}
	_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Justice Events: the intake quota's counters, one per window",
		History:     1,
		TTL:         bucketMaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
		return "", fmt.Errorf("admission: create %s: %w", Bucket, err)
	}
	return Bucket, nil
}

func humanWindow(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d == 24*time.Hour:
		return "day"
	case d == time.Minute:
		return "minute"
	}
	return d.String()
}

func byteSize(n int64) string {
	switch {
	case n < 0:
		return "any size"
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Metrics are the gate's Prometheus series.
type Metrics struct {
	events        *prometheus.CounterVec
	limits        *prometheus.GaugeVec
	usedEvents    prometheus.Gauge
	usedBytes     prometheus.Gauge
	reserveActive prometheus.Gauge
	reserveBytes  prometheus.Gauge
	conflicts     prometheus.Counter
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "intake", Name: "admission_events_total",
			Help: "Events (submissions; each VEVENT of a file counts) asking to be appended, by source and outcome: admitted, or refused by address, contact, quota or reserve, or unavailable."},
			[]string{"source", "outcome"}),
		limits: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "intake", Name: "limit",
			Help: "The intake gate's configured limits: window_seconds, per_address and per_contact (events per window, each process), quota_events and quota_bytes (per window, the whole cluster); -1 is off."},
			[]string{"limit"}),
		usedEvents: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "intake", Name: "quota_used_events",
			Help: "Events counted against the current window's quota (cluster-wide), as this process last saw the counter."}),
		usedBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "intake", Name: "quota_used_bytes",
			Help: "Bytes counted against the current window's quota (cluster-wide), as this process last saw the counter."}),
		reserveActive: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "intake", Name: "reserve_active",
			Help: "1 while the event stream is past its budget minus the editors' reserve: untrusted writes are refused (507)."}),
		reserveBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "intake", Name: "reserve_bytes",
			Help: "Bytes of the event stream's budget kept for editors' commands."}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "intake", Name: "quota_conflicts_total",
			Help: "Compare-and-set retries on the shared quota counter (another intake process wrote it first)."}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.limits, m.usedEvents, m.usedBytes, m.reserveActive, m.reserveBytes, m.conflicts)
	}
	return m
}

// configure exports the limits.
func (m *Metrics) configure(c Config) {
	set := func(name string, v int64) {
		if v < 0 {
			v = -1
		}
		m.limits.WithLabelValues(name).Set(float64(v))
	}
	set("window_seconds", int64(c.Window/time.Second))
	set("per_address", int64(c.PerAddress))
	set("per_contact", int64(c.PerContact))
	set("quota_events", int64(c.Quota))
	set("quota_bytes", c.QuotaBytes)
	for _, source := range []string{"api", "cli", "form", "ics"} {
		m.events.WithLabelValues(source, "admitted")
	}
}
