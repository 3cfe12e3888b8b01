package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTP is where mail goes, parsed from --smtp-url:
//
//	smtp://user:pass@mail.example.org:587   STARTTLS required (the default port 587)
//	smtps://user:pass@mail.example.org:465  implicit TLS (the default port 465)
//	smtp://mailpit:1025?tls=none            no TLS: a relay on the same host or network only
//	smtp://host:25?tls=opportunistic        STARTTLS when offered
//
// A user in the URL turns on AUTH (the strongest mechanism the server
// offers; PLAIN and LOGIN only over TLS); the password may be given with
// it or, to keep it out of the process list, in JEVENTS_SMTP_PASSWORD.
// The server's certificate is checked against the system's certificate
// authorities, or those of --smtp-ca-file (RootCAs) for a private CA;
// ?insecure_skip_verify=1 trusts any certificate (tests only).
//
// smtp:// requires STARTTLS: a server that does not offer it is refused
// (the mail waits, /readyz says why), never sent to in clear.
type SMTP struct {
	Host     string
	Port     int
	TLS      string // "starttls", "implicit", "opportunistic", "none"
	User     string
	Password string
	// SkipVerify trusts any server certificate.
	SkipVerify bool
	// RootCAs, when set, are the certificate authorities trusted for the
	// server's certificate instead of the system's (--smtp-ca-file: a
	// private CA).
	RootCAs *x509.CertPool
	// Timeout bounds dialing and each SMTP command (default 15 s).
	Timeout time.Duration
}

// ParseSMTPURL reads --smtp-url. Its error never repeats the password.
func ParseSMTPURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL: want smtp://[user[:password]@]host[:port] or smtps://…")
	}
	s := &SMTP{Host: u.Hostname(), Timeout: 15 * time.Second}
	switch u.Scheme {
	case "smtp":
		s.TLS, s.Port = "starttls", 587
	case "smtps":
		s.TLS, s.Port = "implicit", 465
	default:
		return nil, fmt.Errorf("scheme %q: use smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	if s.Host == "" {
		return nil, errors.New("the URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	q := u.Query()
	if t := q.Get("tls"); t != "" {
		switch t {
		case "none", "opportunistic", "starttls":
			if s.TLS == "implicit" {
				return nil, fmt.Errorf("tls=%s: smtps:// is implicit TLS; use smtp:// for %s", t, t)
			}
			s.TLS = t
		default:
			return nil, fmt.Errorf("tls=%q: use none, opportunistic or starttls", t)
		}
	}
	if v := q.Get("insecure_skip_verify"); v == "1" || v == "true" {
		s.SkipVerify = true
	}
	if s.User != "" && s.TLS == "none" && !isLoopback(s.Host) {
		return nil, errors.New("AUTH without TLS would send the password in clear: use STARTTLS or smtps://")
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String is the server's address and TLS mode, never the credentials.
func (s *SMTP) String() string {
	return fmt.Sprintf("%s (%s)", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), s.TLS)
}

// client makes a go-mail client for one worker; it is not safe for
// concurrent use.
func (s *SMTP) client(helo string) (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(s.Timeout), mail.WithHELO(helo)}
	switch s.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.SkipVerify {
		opts = append(opts, mail.WithTLSConfig(&tls.Config{ServerName: s.Host, InsecureSkipVerify: true})) //nolint:gosec // asked for in the URL (tests)
	} else {
		opts = append(opts, mail.WithTLSConfig(&tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12, RootCAs: s.RootCAs}))
	}
	if s.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.User), mail.WithPassword(s.Password))
	}
	return mail.NewClient(s.Host, opts...)
}

// conn is one worker's connection to the server, dialled when needed and
// dropped after any error (the next mail dials again).
type conn struct {
	smtp *SMTP
	helo string
	c    *mail.Client
	open bool
}

// send delivers one message on the worker's connection.
func (k *conn) send(ctx context.Context, m *mail.Msg) error {
	if k.c == nil {
		c, err := k.smtp.client(k.helo)
		if err != nil {
			return err
		}
		k.c = c
	}
	reused := k.open
	if !k.open {
		if err := k.c.DialWithContext(ctx); err != nil {
			return err
		}
		k.open = true
	}
	err := k.c.Send(m)
	var se *mail.SendError
	if err != nil && reused && errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
		// The connection kept from the last mail was closed by the
		// server meanwhile (an idle timeout): not a failure, dial again.
		k.close()
		if err = k.c.DialWithContext(ctx); err != nil {
			return err
		}
		k.open = true
		err = k.c.Send(m)
	}
	if err != nil {
		k.close()
		return err
	}
	return nil
}

func (k *conn) close() {
	if k.c != nil && k.open {
		_ = k.c.Close()
	}
	k.open = false
}

// permanent reports whether the server refused the mail for good (a 5xx
// answer: an address it does not take, a message it will never accept):
// retrying cannot help, so it goes to the dead letters at once. Anything
// else (no connection, a 4xx answer, a timeout) is retried.
func permanent(err error) bool {
	var se *mail.SendError
	var rf *refused
	if errors.As(err, &rf) {
		return true
	}
	if errors.As(err, &se) {
		return !se.IsTemp() && se.ErrorCode() >= 500
	}
	return false
}

// serverProblem reports whether err is about the server rather than the
// mail: it could not be reached, its certificate was not trusted, it
// offered no STARTTLS when the URL requires it, it refused our login, or
// the connection died. No mail is at fault, so none is dead-lettered for
// it: they wait and retry (the notifier says so in /readyz).
func serverProblem(err error) bool {
	var se *mail.SendError
	var rf *refused
	if errors.As(err, &rf) {
		return false
	}
	if errors.As(err, &se) {
		return se.Reason == mail.ErrConnCheck
	}
	return true // from dialling, TLS or AUTH: go-mail's Dial
}

// answer is what to keep of a failure: the server's answer, without
// anything of ours that may name a password.
func answer(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "\r", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}
