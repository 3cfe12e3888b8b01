package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
)

// DeadLetters are the mails the notifier gave up on, as the editors' page
// "Undelivered mail" (/moderation/mail) lists and settles them. The
// composition root hands it the notifier's dead letters
// (reactors/notify.DeadLetters): the page calls the same methods as the
// API (/api/v1/notifier/dead-letters), so there is one mechanism.
type DeadLetters interface {
	// List is every dead letter, newest first.
	List(ctx context.Context) ([]DeadLetter, error)
	// Count is how many wait (the navigation's count).
	Count(ctx context.Context) (int, error)
	// Retry asks the notifier to send it again; false: no such letter.
	Retry(ctx context.Context, key string) (bool, error)
	// Drop removes it: it will not be sent; false: no such letter.
	Drop(ctx context.Context, key string) (bool, error)
}

// DeadLetter is one undelivered mail.
type DeadLetter struct {
	Key string
	// What the mail is, as editors read it ("Receipt to the organiser").
	What string
	// To is the recipient's address; the page shows it masked.
	To     string
	At     time.Time
	Tries  int
	Answer string // the server's last answer
	// Retrying: an editor asked for a retry the notifier has not made yet.
	Retrying bool
}

// SetDeadLetters shows the notifier's dead letters on the editors' pages
// (before ModerationRoutes); without it there is no such page.
func (s *Server) SetDeadLetters(dl DeadLetters) { s.deadLetters = dl }

// mailRoutes are the page of undelivered mail and its two buttons.
func (m *modPages) mailRoutes(editorsOnly func(string, func(http.ResponseWriter, *http.Request, auth.Identity)) httpapi.Route) []httpapi.Route {
	if m.s.deadLetters == nil {
		return nil
	}
	return []httpapi.Route{
		editorsOnly("GET /moderation/mail", m.handleMail),
		editorsOnly("POST /moderation/mail/{key}/retry", m.handleMailAction(true)),
		editorsOnly("POST /moderation/mail/{key}/drop", m.handleMailAction(false)),
	}
}

// base is what every editors' page shows: who is signed in, the CSRF
// token of its forms and, when mail is shown, how many mails wait in the
// dead letters (a short look: a slow store shows no count rather than a
// slow page).
func (m *modPages) base(r *http.Request, sess auth.Identity) editorBase {
	b := editorBase{Editor: sess.Editor, CSRF: m.gate.CSRFToken(sess), Undelivered: -1}
	if m.s.deadLetters != nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if n, err := m.s.deadLetters.Count(ctx); err == nil {
			b.Undelivered = n
		}
		b.MailPage = true
	}
	return b
}

type mailView struct {
	Key, What, To, At, Answer string
	Tries                     int
	Retrying                  bool
}

type mailData struct {
	editorBase
	Flash   string
	Error   string
	Letters []mailView
	Total   int // all the dead letters; more than Letters when the page is full
}

// handleMail lists the dead letters: what each mail was, to whom (masked:
// the page is shown on screens), when, how many tries, the server's answer.
func (m *modPages) handleMail(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	d := mailData{editorBase: m.base(r, sess)}
	switch r.URL.Query().Get("done") {
	case "retry":
		d.Flash = "Asked the notifier to send it again. It tries within seconds; if the server refuses again, the mail comes back here with the new answer."
	case "drop":
		d.Flash = "Dropped: that mail will not be sent."
	case "gone":
		d.Flash = "That mail is no longer on the list: it was sent or dropped meanwhile."
	}
	list, err := m.s.deadLetters.List(r.Context())
	if err != nil {
		m.s.log.Error("cannot list the dead letters", slog.Any("err", err))
		d.Error = "The list of undelivered mail cannot be read just now. Reload the page in a moment."
	}
	d.Total = len(list)
	budget := pageBudget - 4000
	for _, dl := range list {
		v := mailView{Key: dl.Key, What: dl.What, To: maskEmail(dl.To), At: dl.At.UTC().Format("January 2, 2006, 15:04 UTC"),
			Answer: maskIn(dl.Answer, dl.To), Tries: dl.Tries, Retrying: dl.Retrying}
		if budget -= 1200 + escapedLen(v.Answer) + 3*escapedLen(v.Key); budget < 0 {
			break // the oldest wait for the newest to be settled
		}
		d.Letters = append(d.Letters, v)
	}
	m.s.page(w, r, http.StatusOK, "moderation", "mail", layoutData{Title: "Undelivered mail", Section: "moderation", Body: d})
}

// handleMailAction retries (true) or drops a dead letter, then shows the
// list again.
func (m *modPages) handleMailAction(retry bool) func(http.ResponseWriter, *http.Request, auth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
		key := r.PathValue("key")
		do, done := m.s.deadLetters.Drop, "drop"
		if retry {
			do, done = m.s.deadLetters.Retry, "retry"
		}
		ok, err := do(r.Context(), key)
		if err != nil {
			m.s.log.Error("dead letter", slog.String("action", done), slog.String("key", key), slog.Any("err", err))
			w.Header().Set("Retry-After", "2")
			m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Nothing was changed",
				"The list of undelivered mail cannot be changed just now. Go back and try again in a moment.")
			return
		}
		if !ok {
			done = "gone"
		} else {
			m.s.log.Info("dead letter "+done, slog.String("key", key), slog.String("editor", sess.Editor))
		}
		m.redirect(w, r, "/moderation/mail?done="+url.QueryEscape(done))
	}
}

// maskEmail shows an address the way a screen may show it: its first
// character and its domain (p***@example.org). Editors who need the whole
// address read it from the API (GET /api/v1/notifier/dead-letters).
func maskEmail(addr string) string {
	local, domainPart, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "***"
	}
	first := []rune(local)[0]
	return string(first) + "***@" + domainPart
}

// maskIn masks every copy of addr in a server's answer (servers often
// repeat the address they refuse), in any letter case.
func maskIn(s, addr string) string {
	if addr == "" {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+len(addr) <= len(s) && strings.EqualFold(s[i:i+len(addr)], addr) {
			b.WriteString(maskEmail(addr))
			i += len(addr)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
