package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
)

// The editors' digest (Config.Digest > 0, --editor-digest): instead of one
// mail per new submission, the editors get one mail per window of
// Config.Digest listing the window's submissions (title, dates, place, a
// link to each one's moderation page). Reports from the public stay
// immediate: a fraudulent listing is public until an editor acts, so it
// must not wait for a window.
//
// How it stays exactly-once-ish (the same promise as every other mail):
//
//   - The window of a submission derives from the event's own timestamp
//     (its time truncated to Config.Digest), so every notifier puts it in
//     the same window. Its key in DigestBucket is
//     digest.<window start, UTC>.<length in seconds>s.
//   - When the notifier reaches a submission, it adds the submission to its
//     window's record (a compare-and-set on the record's revision; adding
//     one already there changes nothing) and acknowledges the event only
//     after that, with the organiser's receipt. A crash before the record
//     redelivers the event; after it, the item is kept.
//   - A window closes when its end is DigestGrace behind (events are
//     stamped just before they are appended; the grace covers that and the
//     clocks of a cluster), the stream's last sequence at that moment is
//     noted in the record (the barrier), and the consumer has finished every
//     event up to the barrier (its ack floor has passed it, or nothing is
//     pending). Only then is the record marked closed: every submission
//     stamped inside the window has been added. The digest is never sent
//     before.
//   - A submission whose window had already closed when the notifier
//     reached it (appended more than DigestGrace after its timestamp) is
//     not lost: it is sent alone, as the immediate mail (editor_new) would
//     be, and counted (jevents_notify_digest_late_total).
//   - A closed window's mails are sent by one notifier at a time (a claim in
//     the record, by revision, that lapses after digestClaim so another
//     notifier takes over from a crashed one), one per editor, keyed
//     <window key>.<recipient hash> in the sent bucket like every other
//     mail: checked before, recorded after. As elsewhere, a crash between
//     the server's 250 and the record can send one digest once more.
//   - Failures retry with the notifier's backoff and bound (MaxTries); a
//     digest that cannot be sent goes to the dead letters, and a retry
//     rebuilds it from the window's record.
//   - A window without submissions has no record and sends nothing. Done
//     windows are deleted once no event of theirs can arrive any more
//     (older than MaxAge: such events are skipped).

// DigestBucket holds the editors' digest windows (digest.go).
const DigestBucket = "jevents_notify_digests"

// DefaultDigestGrace is how long after a window's end the notifier waits
// before it notes the window's barrier.
const DefaultDigestGrace = 5 * time.Second

// digestClaim is how long a notifier may take to send a window's mails
// before another may take over.
const digestClaim = 2 * time.Minute

// digestWindow is a window's record.
type digestWindow struct {
	Start time.Time    `json:"start"`
	End   time.Time    `json:"end"`
	Items []digestItem `json:"items"`
	// Barrier is the stream's last sequence noted after End+grace.
	Barrier uint64 `json:"barrier,omitempty"`
	// Closed: every submission of the window is in Items; none joins.
	Closed bool `json:"closed,omitempty"`
	// Claim is the notifier sending its mails, until ClaimUntil.
	Claim      string    `json:"claim,omitempty"`
	ClaimUntil time.Time `json:"claim_until,omitzero"`
	// Tries and Next pace the retries after a failure.
	Tries int       `json:"tries,omitempty"`
	Next  time.Time `json:"next,omitzero"`
	// Done: every editor's mail is sent or dead-lettered.
	Done bool `json:"done,omitempty"`
}

// digestItem is one submission of a window: what the editors' mail shows
// (never the organiser's contact).
type digestItem struct {
	EventID      string    `json:"event_id"`
	Seq          uint64    `json:"seq"`
	ConferenceID string    `json:"conference_id"`
	At           time.Time `json:"at"`
	Title        string    `json:"title"`
	When         string    `json:"when"`
	Where        string    `json:"where,omitempty"`
}

// windowKey is the record's key of the window starting at start.
func windowKey(start time.Time, length time.Duration) string {
	return "digest." + start.UTC().Format("20060102T150405Z") + "." + strconv.FormatInt(int64(length/time.Second), 10) + "s"
}

// digestOf is the window key of a digest mail's key.
func digestOf(mailKey string) (string, bool) {
	if !strings.HasPrefix(mailKey, "digest.") {
		return "", false
	}
	i := strings.LastIndexByte(mailKey, '.')
	return mailKey[:i], strings.Count(mailKey, ".") == 3
}

// joinDigest adds a submission to its window. It reports late when the
// window had closed before: the caller then sends the immediate mails.
func (n *Notifier) joinDigest(ctx context.Context, rec domain.Record, s domain.ConferenceSubmitted) (late bool, err error) {
	length := n.cfg.Digest
	start := rec.Time.UTC().Truncate(length)
	key := windowKey(start, length)
	item := digestItem{EventID: rec.ID, Seq: rec.Seq, ConferenceID: rec.AggregateID, At: rec.Time.UTC(),
		Title: s.Details.Title, When: when(s.Details), Where: s.Details.Place()}
	// One join at a time in this process: the workers of a burst would
	// otherwise all compete for the same record. Other notifiers still
	// may: a lost compare-and-set waits a random moment and reads again.
	n.joinMu.Lock()
	defer n.joinMu.Unlock()
	for try := range 50 {
		if try > 0 {
			time.Sleep(time.Duration(5+mathrand.IntN(20*min(try, 10))) * time.Millisecond)
		}
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		e, err := n.digestKV.Get(gctx, key)
		cancel()
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			w := digestWindow{Start: start, End: start.Add(length), Items: []digestItem{item}}
			b, _ := json.Marshal(w)
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = n.digestKV.Create(cctx, key, b)
			cancel()
			if err == nil {
				return false, nil
			}
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue // another notifier opened it: join theirs
			}
			return false, err
		}
		if err != nil {
			return false, err
		}
		var w digestWindow
		if err := json.Unmarshal(e.Value(), &w); err != nil {
			return false, fmt.Errorf("digest %s: %w", key, err)
		}
		if slices.ContainsFunc(w.Items, func(it digestItem) bool { return it.EventID == rec.ID }) {
			return false, nil // added before a crash or by another notifier
		}
		if w.Closed {
			return true, nil
		}
		w.Items = append(w.Items, item)
		b, _ := json.Marshal(w)
		uctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = n.digestKV.Update(uctx, key, b, e.Revision())
		cancel()
		if err == nil {
			return false, nil
		}
		if !conflict(err) {
			return false, err
		}
	}
	return false, fmt.Errorf("digest %s: the record kept changing", key)
}

// watchDigests closes the windows that are due and sends their mails.
// Every notifier runs it; the records decide who does what.
func (n *Notifier) watchDigests(ctx context.Context, cons jetstream.Consumer) {
	k := &conn{smtp: n.cfg.SMTP, helo: n.host}
	defer k.close()
	// Every 2 s, as the dead letters: each round lists the bucket (a
	// short-lived watcher on the server).
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if err := n.digestRound(ctx, k, cons); err != nil && ctx.Err() == nil {
			n.logger.Warn("notifier: digests", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// digestRound looks at every window once.
func (n *Notifier) digestRound(ctx context.Context, k *conn, cons jetstream.Consumer) error {
	lister, err := n.digestKV.ListKeys(ctx)
	if err != nil {
		return err
	}
	var keys []string
	for key := range lister.Keys() {
		keys = append(keys, key)
	}
	slices.Sort(keys) // oldest window first
	waiting := 0
	for _, key := range keys {
		w, items, err := n.digestStep(ctx, k, cons, key)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if !w.Done {
			waiting += items
		}
	}
	n.m.digestWaiting.Set(float64(waiting))
	return nil
}

// digestStep moves one window as far as it can go now: barrier, close,
// claim, send, done; and forgets a done window once no event of it can
// come any more.
func (n *Notifier) digestStep(ctx context.Context, k *conn, cons jetstream.Consumer, key string) (digestWindow, int, error) {
	var w digestWindow
	e, err := n.digestKV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return digestWindow{Done: true}, 0, nil
	}
	if err != nil {
		return w, 0, err
	}
	if err := json.Unmarshal(e.Value(), &w); err != nil {
		return w, 0, err
	}
	now := time.Now()
	update := func(w digestWindow) (bool, error) {
		b, _ := json.Marshal(w)
		_, err := n.digestKV.Update(ctx, key, b, e.Revision())
		if conflict(err) {
			return false, nil // another notifier moved it: next round
		}
		return err == nil, err
	}
	switch {
	case w.Done:
		if now.Sub(w.End) > n.cfg.MaxAge+n.cfg.Digest {
			_ = n.digestKV.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
		}
		return w, 0, nil
	case now.Before(w.End.Add(n.cfg.DigestGrace)):
		return w, len(w.Items), nil
	case w.Barrier == 0:
		s, err := n.js.Stream(ctx, domain.StreamName)
		if err != nil {
			return w, 0, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return w, 0, err
		}
		w.Barrier = max(info.State.LastSeq, 1)
		_, err = update(w)
		return w, len(w.Items), err
	case !w.Closed:
		ci, err := cons.Info(ctx)
		if err != nil {
			return w, 0, err
		}
		if ci.AckFloor.Stream < w.Barrier && (ci.NumPending > 0 || ci.NumAckPending > 0) {
			return w, len(w.Items), nil // submissions of the window may still be on their way
		}
		w.Closed = true
		_, err = update(w)
		return w, len(w.Items), err
	case now.Before(w.Next), w.Claim != "" && w.Claim != n.id && now.Before(w.ClaimUntil):
		return w, len(w.Items), nil
	}
	w.Claim, w.ClaimUntil = n.id, now.Add(digestClaim)
	if ok, err := update(w); !ok {
		return w, len(w.Items), err
	}
	e, err = n.digestKV.Get(ctx, key) // the claimed revision, for the last update
	if err != nil {
		return w, 0, err
	}
	w.Tries++
	retry := false
	for _, ed := range n.cfg.EditorEmails {
		m, err := n.digestMail(key, w, ed)
		if err != nil {
			return w, 0, err
		}
		if done, err := n.isSent(ctx, m.Key); err != nil {
			retry = true
			break
		} else if done {
			continue
		}
		err = n.send(ctx, k, m)
		switch {
		case err == nil:
		case permanent(err) || w.Tries >= n.cfg.MaxTries && !serverProblem(err):
			n.bury(ctx, m, err, w.Tries)
		default:
			n.m.mails.WithLabelValues(m.Kind, "failed").Inc()
			n.logger.Warn("notifier: digest not sent, will retry", slog.String("key", m.Key), slog.Int("try", w.Tries),
				slog.String("err", redact(answer(err), ed)))
			retry = true
		}
		if retry {
			break
		}
	}
	w.Claim, w.ClaimUntil = "", time.Time{}
	if retry {
		w.Next = time.Now().Add(n.backoff(w.Tries))
	} else {
		w.Done = true
	}
	_, err = update(w)
	return w, len(w.Items), err
}

// digestMail is the window's mail to one editor.
func (n *Notifier) digestMail(key string, w digestWindow, editor string) (Mail, error) {
	base := strings.TrimRight(n.cfg.PublicURL.String(), "/")
	v := view{Site: base, QueueURL: base + "/moderation", Window: windowText(w.Start, w.End)}
	items := slices.Clone(w.Items)
	slices.SortFunc(items, func(a, b digestItem) int { return a.At.Compare(b.At) })
	for _, it := range items {
		v.Digest = append(v.Digest, DigestLine{Title: it.Title, When: it.When, Where: it.Where,
			URL: base + "/moderation/conferences/" + url.PathEscape(it.ConferenceID)})
	}
	var seq uint64
	if len(items) > 0 {
		seq = items[0].Seq
	}
	m := Mail{Key: key + "." + addressKey(editor), Kind: KindEditorDigest, Seq: seq, To: domain.Contact{Email: editor}}
	err := render(&m, v)
	return m, err
}

// windowText is a window as people read it: "2026-12-08 02:15–02:30 UTC".
func windowText(start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	if start.Format("2006-01-02") == end.Add(-time.Nanosecond).Format("2006-01-02") {
		return start.Format("2006-01-02 15:04") + "–" + end.Format("15:04") + " UTC"
	}
	return start.Format("2006-01-02 15:04") + " – " + end.Format("2006-01-02 15:04") + " UTC"
}

// rebuildDigest makes a dead digest's mail again from its window.
func (n *Notifier) rebuildDigest(ctx context.Context, dl DeadLetter) (Mail, error) {
	key, ok := digestOf(dl.Key)
	if !ok {
		return Mail{}, fmt.Errorf("%s is not a digest's key", dl.Key)
	}
	e, err := n.digestKV.Get(ctx, key)
	if err != nil {
		return Mail{}, fmt.Errorf("digest %s: %w", key, err)
	}
	var w digestWindow
	if err := json.Unmarshal(e.Value(), &w); err != nil {
		return Mail{}, err
	}
	return n.digestMail(key, w, dl.To)
}

// conflict is a compare-and-set that lost: the record changed since it
// was read.
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}
