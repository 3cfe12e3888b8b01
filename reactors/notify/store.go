package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
)

// Names in NATS. They never change: the consumer's name is its position
// in the log, the buckets hold what was sent and what could not be.
const (
	// ConsumerName is the notifier's named durable consumer on the event
	// stream (`nats consumer ls JEVENTS`). Every notifier process shares
	// it: JetStream hands each event to one of them.
	ConsumerName = "jevents-notifier"
	// SentBucket records every mail sent (or skipped), by its key: a
	// restarted or second notifier never sends it again.
	SentBucket = "jevents_notify_sent"
	// DeadBucket holds the mails that could not be sent, with the
	// server's answer, until an editor retries or drops them.
	DeadBucket = "jevents_notify_dead"
)

// Subjects are the events that cause mail.
func Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateConference), domain.EventSubject(domain.AggregateReport, "*", "filed")}
}

// consumerConfig is the one definition of the notifier's consumer. The
// notifier bounds tries itself (MaxTries, then the dead letters), so the
// server redelivers without limit. AckWait is short, so that the events a
// crashed notifier held come back within seconds; a worker tells the
// server it is still working every AckWait/3 (a slow SMTP server).
func consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "Justice Events notifier: mails to organisers and editors (reactors/notify)",
		FilterSubjects: Subjects(),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  1000,
	}
}

// Setup creates the notifier's buckets and its consumer, or brings the
// consumer to its configuration; idempotent. `jevents setup` runs it on a
// cluster (the notifier's NATS user may not create either), the embedded
// process at every start. A consumer created on a log that already holds
// events starts at its beginning: Config.MaxAge keeps old events from
// sending mail.
func Setup(ctx context.Context, js jetstream.JetStream, replicas int) ([]string, error) {
	for _, b := range []string{SentBucket, DeadBucket, DigestBucket} {
		if _, err := js.KeyValue(ctx, b); err == nil {
			continue
		} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("notify: bucket %s: %w", b, err)
		}
		_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b, History: 1, Replicas: replicas,
			Storage: jetstream.FileStorage, Description: "Justice Events notifier (reactors/notify)"})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, fmt.Errorf("notify: create bucket %s: %w", b, err)
		}
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, domain.StreamName, consumerConfig()); err != nil {
		return nil, fmt.Errorf("notify: consumer %s: %w", ConsumerName, err)
	}
	return []string{SentBucket, DeadBucket, DigestBucket}, nil
}

// AckWait is how long the server waits for a notifier to finish an event
// before handing it to another.
const AckWait = 10 * time.Second

// sent is what the sent bucket holds for a mail.
type sent struct {
	Kind    string    `json:"kind"`
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Skipped bool      `json:"skipped,omitempty"`
}

// DeadLetter is a mail that could not be sent: which event caused it,
// what kind, to whom (the address stays in NATS: editors see it in the
// moderation API, never a log or metric), and the server's last answer.
type DeadLetter struct {
	Key   string    `json:"key"`
	Kind  string    `json:"kind"`
	Seq   uint64    `json:"seq"`
	To    string    `json:"to"`
	Error string    `json:"error"`
	Tries int       `json:"tries"`
	At    time.Time `json:"at"`
	// Retry is set by an editor: the notifier sends it again.
	Retry bool `json:"retry,omitempty"`
}

// DeadLetters is the dead-letter list as editors use it: the editors'
// process reads it and asks for retries; the notifier does them.
type DeadLetters struct {
	js jetstream.JetStream
}

// NewDeadLetters reads the dead letters through js.
func NewDeadLetters(js jetstream.JetStream) *DeadLetters { return &DeadLetters{js: js} }

// List returns every dead letter, newest first.
func (d *DeadLetters) List(ctx context.Context) ([]DeadLetter, error) {
	kv, err := d.js.KeyValue(ctx, DeadBucket)
	if err != nil {
		return nil, fmt.Errorf("notify: dead letters: %w", err)
	}
	return listDead(ctx, kv)
}

func listDead(ctx context.Context, kv jetstream.KeyValue) ([]DeadLetter, error) {
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: dead letters: %w", err)
	}
	var out []DeadLetter
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			return nil, fmt.Errorf("notify: dead letter %s: %w", k, err)
		}
		var dl DeadLetter
		if json.Unmarshal(e.Value(), &dl) == nil {
			out = append(out, dl)
		}
	}
	slices.SortFunc(out, func(a, b DeadLetter) int { return b.At.Compare(a.At) })
	return out, nil
}

// Retry asks the notifier to send the dead letter key again; false when
// there is no such dead letter.
func (d *DeadLetters) Retry(ctx context.Context, key string) (bool, error) {
	kv, err := d.js.KeyValue(ctx, DeadBucket)
	if err != nil {
		return false, fmt.Errorf("notify: dead letters: %w", err)
	}
	for range 3 {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var dl DeadLetter
		if err := json.Unmarshal(e.Value(), &dl); err != nil {
			return false, err
		}
		dl.Retry = true
		b, _ := json.Marshal(dl)
		if _, err := kv.Update(ctx, key, b, e.Revision()); err == nil {
			return true, nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, err
		}
	}
	return false, errors.New("notify: the dead letter kept changing; try again")
}

// Drop removes the dead letter key: the mail will not be sent. False when
// there is no such dead letter.
func (d *DeadLetters) Drop(ctx context.Context, key string) (bool, error) {
	kv, err := d.js.KeyValue(ctx, DeadBucket)
	if err != nil {
		return false, fmt.Errorf("notify: dead letters: %w", err)
	}
	for range 3 {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		// By revision: what was read is what goes.
		err = kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
		if err == nil {
			return true, nil
		}
		if !conflict(err) {
			return false, err
		}
	}
	return false, errors.New("notify: the dead letter kept changing; try again")
}

// Count is how many dead letters wait.
func (d *DeadLetters) Count(ctx context.Context) (int, error) {
	kv, err := d.js.KeyValue(ctx, DeadBucket)
	if err != nil {
		return 0, fmt.Errorf("notify: dead letters: %w", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("notify: dead letters: %w", err)
	}
	n := 0
	for range keys.Keys() {
		n++
	}
	return n, nil
}
