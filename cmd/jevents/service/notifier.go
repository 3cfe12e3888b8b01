package service

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/reactors/notify"
)

// MailConfig configures the notifier role (reactors/notify) and who it
// writes to.
type MailConfig struct {
	// SMTPURL is --smtp-url (notify.ParseSMTPURL); "" leaves mail
	// unconfigured: the notifier keeps its place in the log and sends
	// nothing. JEVENTS_SMTP_PASSWORD, when set, is the password.
	SMTPURL string
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
func (s *Service) startNotifier(ctx context.Context) {
	pub, _ := url.Parse(s.cfg.PublicURL)
	m := s.cfg.Mail
	n := notify.New(s.js, s.eventLog(), notify.Config{SMTP: m.smtp, From: m.fromOr(s.cfg.PublicURL), PublicURL: pub, EditorEmails: m.EditorEmails,
		MaxAge: m.MaxAge, Digest: m.EditorDigest}, s.log.With("worker", "notifier"), notify.NewMetrics(s.registry))
	s.notifier = n
	s.goWorker(ctx, "notifier", n.Run)
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
