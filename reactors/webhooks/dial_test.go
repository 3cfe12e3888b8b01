package webhooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/justiceevents/jevents/domain"
)

// TestPrivateTargetRefusedAtDial: a target named "localhost" passes the
// registration (a name), and its connection is refused after resolution,
// before a byte is sent, unless the operator allows private targets.
func TestPrivateTargetRefusedAtDial(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	target := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/hook"
	sub := domain.Webhook{ID: "s", URL: target, Secret: "whsec_" + strings.Repeat("A", 32)}

	w := &Webhooks{cfg: Config{}.withDefaults()}
	w.client = newClient(w.cfg)
	if err := w.checkLiteral(target); err != nil {
		t.Fatalf("a name is checked at dial time, not refused at registration: %v", err)
	}
	_, err := w.send(context.Background(), sub, "s-1", []byte(`{}`))
	var refused errRefused
	if !errors.As(err, &refused) || hits.Load() != 0 {
		t.Fatalf("localhost delivered: err %v, %d requests", err, hits.Load())
	}

	allow := &Webhooks{cfg: Config{AllowPrivate: true}.withDefaults()}
	allow.client = newClient(allow.cfg)
	if status, err := allow.send(context.Background(), sub, "s-1", []byte(`{}`)); err != nil || status != 200 || hits.Load() != 1 {
		t.Fatalf("--webhook-allow-private: %d %v, %d requests", status, err, hits.Load())
	}
}

func TestAddressRule(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "0.0.0.0": true, "::": true, "224.0.0.1": true,
		"ff02::1": true, "100.64.0.1": true, "fc00::1": true, "::ffff:127.0.0.1": true,
		"93.184.216.34": false, "2606:2800:220:1::1": false, "1.1.1.1": false,
	} {
		if err := checkIP(netip.MustParseAddr(addr)); (err != nil) != refused {
			t.Errorf("%s: refused %v, want %v", addr, err != nil, refused)
		}
	}
	w := &Webhooks{cfg: Config{}.withDefaults()}
	for _, u := range []string{"http://127.0.0.1/h", "http://[::1]:8080/h", "https://169.254.169.254/latest", "http://10.0.0.1/"} {
		if err := w.checkLiteral(u); err == nil {
			t.Errorf("registration of %s accepted", u)
		}
	}
}

// TestSignature: the Standard Webhooks example (its specification's test
// vector) signs as the reference implementations do.
func TestSignature(t *testing.T) {
	got, err := sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil || got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %q %v", got, err)
	}
}
