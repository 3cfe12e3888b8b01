package admission_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setup makes the stream (of budget maxBytes) and the quota bucket.
func setup(t *testing.T, maxBytes int64) jetstream.JetStream {
	t.Helper()
	_, _, js := natstest.Start(t)
	ctx := context.Background()
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: maxBytes}); err != nil {
		t.Fatal(err)
	}
	if _, err := admission.EnsureBucket(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	return js
}

// start runs a gate until the test ends and waits until it is ready.
func start(t *testing.T, js jetstream.JetStream, cfg admission.Config) *admission.Gate {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := admission.New(js, domain.StreamName, cfg, quiet, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-g.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("gate not ready")
	}
	return g
}

func refusal(t *testing.T, err error, reason string) *admission.Refusal {
	t.Helper()
	var r *admission.Refusal
	if !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("want a %s refusal, got %v", reason, err)
	}
	return r
}

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

// TestPerAddressAndContact: an address and a contact each have their
// allowance (a file's events count one each), all or nothing, and what was
// not appended is given back.
func TestPerAddressAndContact(t *testing.T) {
	js := setup(t, 64<<20)
	g := start(t, js, admission.Config{Window: time.Hour, PerAddress: 5, PerContact: 3, Quota: -1, QuotaBytes: -1})
	ctx := context.Background()

	gr, err := g.Admit(ctx, admission.Admission{Addr: addrA, Contacts: []string{"a@example.org"}, Events: 1, Bytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	gr.Settle(1, 100)
	// A file of 4 events: one over the address's allowance of 5.
	r := refusal(t, func() error {
		_, err := g.Admit(ctx, admission.Admission{Addr: addrA, Events: 5, Bytes: 500})
		return err
	}(), "address")
	if r.Status() != http.StatusTooManyRequests || r.RetryAfterSeconds() < 1 || r.RetryAfter > time.Hour {
		t.Fatalf("refusal %+v", r)
	}
	// The same contact, in any case, from another address: 2 more only.
	for i := range 2 {
		if _, err := g.Admit(ctx, admission.Admission{Addr: addrB, Contacts: []string{"A@Example.org "}, Events: 1}); err != nil {
			t.Fatalf("contact's admission %d: %v", i, err)
		}
	}
	refusal(t, func() error {
		_, err := g.Admit(ctx, admission.Admission{Addr: addrB, Contacts: []string{"a@example.org"}, Events: 1})
		return err
	}(), "contact")
	// The refused contact gave its address token back: addrB took 2, so 3 are left.
	gr, err = g.Admit(ctx, admission.Admission{Addr: addrB, Contacts: []string{"b@example.org"}, Events: 3})
	if err != nil {
		t.Fatalf("address tokens lost to a contact refusal: %v", err)
	}
	// Nothing appended (a retry): all given back.
	gr.Settle(0, 0)
	if _, err := g.Admit(ctx, admission.Admission{Addr: addrB, Contacts: []string{"c@example.org"}, Events: 3}); err != nil {
		t.Fatalf("settled admission not given back: %v", err)
	}
	// IPv6: one /64 is one client.
	v6 := netip.MustParseAddr("2001:db8:1:2::1")
	if _, err := g.Admit(ctx, admission.Admission{Addr: v6, Events: 5}); err != nil {
		t.Fatal(err)
	}
	refusal(t, func() error {
		_, err := g.Admit(ctx, admission.Admission{Addr: netip.MustParseAddr("2001:db8:1:2:ffff::9"), Events: 1})
		return err
	}(), "address")
}

// TestQuotaShared: two gates (two intake processes) share one quota in
// events and in bytes, concurrently, never admitting more than it; a
// refusal says when the window ends; settling gives back.
func TestQuotaShared(t *testing.T) {
	js := setup(t, 64<<20)
	cfg := admission.Config{Window: time.Hour, PerAddress: -1, PerContact: -1, Quota: 40, QuotaBytes: 1 << 20}
	g1, g2 := start(t, js, cfg), start(t, js, cfg)
	ctx := context.Background()
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		g := g1
		if i%2 == 1 {
			g = g2
		}
		wg.Go(func() {
			for range 10 {
				_, err := g.Admit(ctx, admission.Admission{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Events: 1, Bytes: 1000})
				var r *admission.Refusal
				switch {
				case err == nil:
					admitted.Add(1)
				case errors.As(err, &r) && r.Reason == "quota":
					refused.Add(1)
					if r.RetryAfter <= 0 || r.RetryAfter > time.Hour {
						t.Errorf("retry after %v", r.RetryAfter)
					}
				default:
					t.Errorf("admit: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 40 || refused.Load() != 40 {
		t.Fatalf("admitted %d, refused %d; want 40 and 40", admitted.Load(), refused.Load())
	}

	// Bytes: a fresh window's worth.
	js2 := setup(t, 64<<20)
	g := start(t, js2, admission.Config{Window: time.Hour, PerAddress: -1, PerContact: -1, Quota: -1, QuotaBytes: 10_000})
	gr, err := g.Admit(ctx, admission.Admission{Events: 1, Bytes: 6000})
	if err != nil {
		t.Fatal(err)
	}
	refusal(t, func() error { _, err := g.Admit(ctx, admission.Admission{Events: 1, Bytes: 6000}); return err }(), "quota")
	gr.Settle(0, 0) // a retry appended nothing
	if _, err := g.Admit(ctx, admission.Admission{Events: 1, Bytes: 6000}); err != nil {
		t.Fatalf("after giving back: %v", err)
	}
}

// TestReserve: once the stream is past its budget minus the reserve,
// untrusted writes are refused with 507, while the editors' appends (which
// do not pass the gate) still fit.
func TestReserve(t *testing.T) {
	const budget = 1 << 20
	js := setup(t, budget)
	g := start(t, js, admission.Config{Window: time.Hour, PerAddress: -1, PerContact: -1, Quota: -1, QuotaBytes: -1, Reserve: 512 << 10})
	ctx := context.Background()
	log := eventlog.New(js, nil)
	data := make([]byte, 20<<10)
	for i := range data {
		data[i] = 'x'
	}
	// Eight writers at once: admissions in flight count against the
	// reserve before their appends land.
	var (
		mu      sync.Mutex
		refused *admission.Refusal
		n       atomic.Int64
		wg      sync.WaitGroup
	)
	size := admission.StoredSize("events.conference.x.submitted", data)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				gr, err := g.Admit(ctx, admission.Admission{Events: 1, Bytes: size})
				if err != nil {
					mu.Lock()
					refused = refusal(t, err, "reserve")
					mu.Unlock()
					return
				}
				appendEvent(t, log, fmt.Sprintf("flood-%d-%d", w, i), string(data))
				n.Add(1)
				gr.Settle(1, size)
			}
		})
	}
	wg.Wait()
	if refused == nil || refused.Status() != http.StatusInsufficientStorage || refused.RetryAfterSeconds() != 0 {
		t.Fatalf("no reserve refusal: %+v", refused)
	}
	s, _ := js.Stream(ctx, domain.StreamName)
	info, _ := s.Info(ctx)
	if got := int64(info.State.Bytes); got > budget-(512<<10)+(64<<10) {
		t.Fatalf("untrusted writes reached %d bytes into a %d budget with a 512 KiB reserve", got, budget)
	}
	// The editors' part is still there.
	for i := range 10 {
		appendEvent(t, log, fmt.Sprintf("editor-%d", i), "an editor's decision")
	}
}

func appendEvent(t *testing.T, log *eventlog.Log, key, title string) {
	t.Helper()
	env, err := domain.NewEnvelope(key+"-event", uuidFor(key), "test", time.Now(), domain.ConferenceSubmitted{
		Details: domain.ConferenceDetails{Title: title}, RequestHash: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(context.Background(), env, key, 0); err != nil {
		t.Fatal(err)
	}
}

// uuidFor makes a valid aggregate id from a key.
func uuidFor(key string) string {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * 1099511628211
	}
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h), uint16(h>>32), uint16(h>>48)&0xfff, uint16(h>>20)&0xfff, h&0xffffffffffff)
}
