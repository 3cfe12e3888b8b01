package notify_test

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/mailpittest"
	"github.com/justiceevents/jevents/internal/testca"
	"github.com/justiceevents/jevents/reactors/notify"
)

// secureSMTP is a test CA, a certificate for 127.0.0.1 signed by it, and
// an AUTH file with one user, as mailpit options.
type secureSMTP struct {
	opts mailpittest.Option
	pool *x509.CertPool
}

func newSecureSMTP(t *testing.T) secureSMTP {
	dir := t.TempDir()
	ca, key := testca.New(t)
	testca.IssueCert(t, ca, key, dir, "smtp", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth)
	// mailpit's auth file is htpasswd; a plain password is one of its forms.
	if err := os.WriteFile(filepath.Join(dir, "auth"), []byte("jevents:s3cr@t/p#ss\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return secureSMTP{pool: pool, opts: mailpittest.Option{"--smtp-tls-cert", filepath.Join(dir, "smtp.pem"),
		"--smtp-tls-key", filepath.Join(dir, "smtp-key.pem"), "--smtp-auth-file", filepath.Join(dir, "auth")}}
}

// runWith runs a notifier on smtpURL (trusting pool, when set) with its
// own metrics until the returned stop.
func (e *env) runWith(t *testing.T, smtpURL string, pool *x509.CertPool) (*notify.Notifier, *prometheus.Registry, func()) {
	t.Helper()
	s, err := notify.ParseSMTPURL(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	s.RootCAs = pool
	cfg := e.config()
	cfg.SMTP = s
	reg := prometheus.NewRegistry()
	n := notify.New(e.js, e.log, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), notify.NewMetrics(reg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return n, reg, stop
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// refusedServer checks that a notifier that cannot use the server says so
// (Problem, jevents_notify_smtp_ok 0), sends nothing, and puts nothing in
// the dead letters: the mail waits.
func refusedServer(t *testing.T, e *env, n *notify.Notifier, reg *prometheus.Registry, want string) {
	t.Helper()
	waitFor(t, "the notifier to report the server", 20*time.Second, func() bool { return strings.Contains(n.Problem(), want) })
	t.Logf("Problem: %s", n.Problem())
	if strings.Contains(n.Problem(), "s3cr") || strings.Contains(n.Problem(), "wrong-pass") {
		t.Errorf("Problem names the password: %s", n.Problem())
	}
	if v := gauge(t, reg, "jevents_notify_smtp_ok"); v != 0 {
		t.Errorf("jevents_notify_smtp_ok = %v, want 0", v)
	}
	time.Sleep(time.Second) // several retries
	if c := e.mail.Count(); c != 0 {
		t.Fatalf("%d mails arrived through a server that should have been refused", c)
	}
	if dead, _ := notify.NewDeadLetters(e.js).List(context.Background()); len(dead) != 0 {
		t.Errorf("dead letters for a server problem: %+v", dead)
	}
}

// TestSecureSMTP: STARTTLS (required by the server and by smtp://) with
// AUTH and a private CA (--smtp-ca-file), and implicit TLS (smtps://): the
// mail arrives. An untrusted certificate, a wrong password, and a server
// that offers no STARTTLS when the URL asks for it are refused, reported in
// Problem (/readyz) and jevents_notify_smtp_ok, and lose nothing: the same
// mails arrive once the notifier is configured right.
func TestSecureSMTP(t *testing.T) {
	sec := newSecureSMTP(t)
	t.Run("starttls", func(t *testing.T) {
		e := newEnv(t, sec.opts, mailpittest.Option{"--smtp-require-starttls"})
		e.submit("Over STARTTLS", domain.Contact{Email: "pat@example.org"}, time.Now())

		n, reg, stop := e.runWith(t, "smtp://jevents:s3cr%40t%2Fp%23ss@"+e.mail.SMTPAddr, nil) // the system's CAs only
		refusedServer(t, e, n, reg, "certificate")
		stop()
		n, reg, stop = e.runWith(t, "smtp://jevents:wrong-pass@"+e.mail.SMTPAddr, sec.pool)
		refusedServer(t, e, n, reg, "535")
		stop()

		n, reg, _ = e.runWith(t, "smtp://jevents:s3cr%40t%2Fp%23ss@"+e.mail.SMTPAddr, sec.pool)
		if got := e.mail.WaitCount(1, 30*time.Second); got != 1 {
			t.Fatalf("%d mails over STARTTLS with AUTH, want 1 (%s)", got, n.Problem())
		}
		waitFor(t, "the problem to clear", 10*time.Second, func() bool { return n.Problem() == "" })
		if v := gauge(t, reg, "jevents_notify_smtp_ok"); v != 1 {
			t.Errorf("jevents_notify_smtp_ok = %v, want 1", v)
		}
		if m := e.mail.Messages(); m[0].Subject != "We received your conference: Over STARTTLS" {
			t.Errorf("mail = %+v", m[0])
		}
	})
	t.Run("implicit", func(t *testing.T) {
		e := newEnv(t, sec.opts, mailpittest.Option{"--smtp-require-tls"})
		n, _, _ := e.runWith(t, "smtps://jevents:s3cr%40t%2Fp%23ss@"+e.mail.SMTPAddr, sec.pool)
		e.submit("Over implicit TLS", domain.Contact{Email: "pat@example.org"}, time.Now())
		if got := e.mail.WaitCount(1, 30*time.Second); got != 1 {
			t.Fatalf("%d mails over implicit TLS, want 1 (%s)", got, n.Problem())
		}
	})
	t.Run("no starttls offered", func(t *testing.T) {
		e := newEnv(t) // a server without TLS
		n, reg, _ := e.runWith(t, "smtp://"+e.mail.SMTPAddr, sec.pool)
		e.submit("Never in clear", domain.Contact{Email: "pat@example.org"}, time.Now())
		refusedServer(t, e, n, reg, "STARTTLS")
	})
}
