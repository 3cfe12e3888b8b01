package service

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/reactors/notify"
	"github.com/justiceevents/jevents/web"
)

// MailConfig configures the notifier role (reactors/notify) and who it
// writes to.
type MailConfig struct {
	// SMTPURL is --smtp-url (notify.ParseSMTPURL); "" leaves mail
	// unconfigured: the notifier keeps its place in the log and sends
	// nothing. JEVENTS_SMTP_PASSWORD, when set, is the password.
	SMTPURL string
	// SMTPCAFile is --smtp-ca-file: PEM certificates of the authorities
	// trusted for the SMTP server's certificate instead of the system's
	// (a private CA); "": the system's.
	SMTPCAFile string
	// From is the From of every mail; empty: "Justice Events
	// <noreply@<public host>>" (fromOr).
	From string
	// EditorEmails are told of new submissions and reports
	// (--editor-emails, comma-separated).
	EditorEmails []string
	// MaxAge: events older than this when the notifier reaches them send
	// nothing (notify.DefaultMaxAge).
	MaxAge time.Duration
	// EditorDigest is --editor-digest: 0 tells editors of each new
	// submission at once; a length (15m) gathers the submissions of each
	// window of that length into one mail (notify.Config.Digest).
	// Reports from the public are always told at once.
	EditorDigest time.Duration

	smtp *notify.SMTP // parsed by validate
}

// ParseEmails reads a comma-separated list of e-mail addresses.
func ParseEmails(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, msg := domain.ParseEmail(p)
		if msg != "" {
			return nil, fmt.Errorf("%q %s", p, msg)
		}
		out = append(out, v)
	}
	return out, nil
}

// validate parses the SMTP URL and fills the From default.
func (m *MailConfig) validate(publicURL string) error {
	var errs []error
	if m.SMTPURL != "" {
		s, err := notify.ParseSMTPURL(m.SMTPURL)
		if err != nil {
			errs = append(errs, fmt.Errorf("--smtp-url: %w", err))
		} else {
			if pw := os.Getenv("JEVENTS_SMTP_PASSWORD"); pw != "" {
				s.Password = pw
			}
			if m.SMTPCAFile != "" {
				pool, err := readCAFile(m.SMTPCAFile)
				if err != nil {
					errs = append(errs, fmt.Errorf("--smtp-ca-file: %w", err))
				}
				s.RootCAs = pool
			}
			m.smtp = s
		}
	}
	if _, err := mail.ParseAddress(m.fromOr(publicURL)); err != nil {
		errs = append(errs, fmt.Errorf("--mail-from %q: want an address such as \"Justice Events <events@example.org>\"", m.From))
	}
	if m.MaxAge < 0 {
		errs = append(errs, errors.New("--mail-max-age must not be negative"))
	}
	if m.EditorDigest != 0 && (m.EditorDigest < time.Second || m.EditorDigest > 24*time.Hour || m.EditorDigest%time.Second != 0) {
		errs = append(errs, errors.New("--editor-digest: 0 (a mail per submission) or whole seconds from 1s to 24h, such as 15m"))
	}
	return errors.Join(errs...)
}

// readCAFile reads PEM certificates into a pool.
func readCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// fromOr is From, or the default for the public URL.
func (m MailConfig) fromOr(publicURL string) string {
	if m.From != "" {
		return m.From
	}
	host := "localhost"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "Justice Events <noreply@" + host + ">"
}

// startNotifier runs the notifier (notifier role); /readyz lists it under
// degraded while it cannot send.
func (s *Service) startNotifier(ctx context.Context) error {
	pub, _ := url.Parse(s.cfg.PublicURL)
	m := s.cfg.Mail
	links, err := s.organiserLinks() // gate.go: the organisers' private links in their mails
	if err != nil {
		return err
	}
	base := strings.TrimRight(pub.String(), "/")
	private := func(id string, c domain.Contact) string {
		return base + "/organiser/" + links.Token(id, c, time.Now())
	}
	n := notify.New(s.js, s.eventLog(), notify.Config{SMTP: m.smtp, From: m.fromOr(s.cfg.PublicURL), PublicURL: pub, EditorEmails: m.EditorEmails,
		MaxAge: m.MaxAge, Digest: m.EditorDigest, PrivateLink: private}, s.log.With("worker", "notifier"), notify.NewMetrics(s.registry))
	s.notifier = n
	s.goWorker(ctx, "notifier", n.Run)
	return nil
}

// notifierDegraded is what /readyz says of the notifier, nil when fine.
func (s *Service) notifierDegraded() []string {
	if s.notifier == nil {
		return nil
	}
	if p := s.notifier.Problem(); p != "" {
		return []string{"notifier: " + p}
	}
	return nil
}

// deadLetterPages are the notifier's dead letters as the editors' page
// shows them (web.DeadLetters): the same methods the API calls.
type deadLetterPages struct{ *notify.DeadLetters }

var _ web.DeadLetters = deadLetterPages{}

func (d deadLetterPages) List(ctx context.Context) ([]web.DeadLetter, error) {
	list, err := d.DeadLetters.List(ctx)
	out := make([]web.DeadLetter, 0, len(list))
	for _, dl := range list {
		out = append(out, web.DeadLetter{Key: dl.Key, What: notify.KindLabel(dl.Kind), To: dl.To, At: dl.At, Tries: dl.Tries,
			Answer: dl.Error, Retrying: dl.Retry})
	}
	return out, err
}
