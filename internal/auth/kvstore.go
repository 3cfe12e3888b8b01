package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// SessionBucket is the NATS KV bucket of editors' sessions: one key per
// session id, the record as JSON, expiring with the sessions (created by
// `jevents setup` or the embedded server's set-up, EnsureSessionBucket;
// only the editors' NATS user may read or write it, deploy/nats).
const SessionBucket = "jevents_sessions"

// EnsureSessionBucket creates the sessions bucket when it is missing, and
// turns its direct gets off.
//
// A KV bucket answers reads by direct get, which any replica of an R3
// bucket may serve, up to date or not: a session opened on one editors
// process could be read as missing on another for a moment, and a signed-out
// one as present. Without direct gets, reads go through the stream's leader
// (STREAM.MSG.GET), so every editors process sees a sign-in and a sign-out
// as soon as it is acknowledged. Editors' requests are few; the extra hop
// costs nothing that matters.
func EnsureSessionBucket(ctx context.Context, js jetstream.JetStream, replicas int) (string, error) {
	_, err := js.KeyValue(ctx, SessionBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		err = createSessionBucket(ctx, js, replicas)
	}
	if err != nil {
		return "", fmt.Errorf("auth: open %s: %w", SessionBucket, err)
	}
	s, err := js.Stream(ctx, "KV_"+SessionBucket)
	if err != nil {
		return "", fmt.Errorf("auth: %s: %w", SessionBucket, err)
	}
	if cfg := s.CachedInfo().Config; cfg.AllowDirect {
		cfg.AllowDirect = false
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return "", fmt.Errorf("auth: %s: read through the leader: %w", SessionBucket, err)
		}
	}
	return SessionBucket, nil
}

func createSessionBucket(ctx context.Context, js jetstream.JetStream, replicas int) error {
	_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SessionBucket,
		Description: "Justice Events: editors' page sessions (editor, credential id), by session id",
		History:     1,
		TTL:         SessionTTL + maxClockSkew,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
		return fmt.Errorf("create: %w", err)
	}
	return nil
}

// KVSessions is the SessionStore on the NATS KV bucket SessionBucket,
// shared by every editors process of a deployment. It finds the bucket on
// first use (a cluster's `jevents setup` may run after the process
// starts); until then every session operation fails, and the gate refuses
// sessions (bearer tokens still pass).
type KVSessions struct {
	js jetstream.JetStream
	mu sync.Mutex
	kv jetstream.KeyValue
}

var _ SessionStore = (*KVSessions)(nil)

// NewKVSessions returns the store on js's SessionBucket.
func NewKVSessions(js jetstream.JetStream) *KVSessions { return &KVSessions{js: js} }

func (s *KVSessions) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	kv, err := s.js.KeyValue(ctx, SessionBucket)
	if err != nil {
		return nil, fmt.Errorf("auth: sessions bucket %s (created by `jevents setup`): %w", SessionBucket, err)
	}
	s.kv = kv
	return kv, nil
}

// Create implements SessionStore.
func (s *KVSessions) Create(ctx context.Context, id string, rec SessionRecord) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := kv.Create(ctx, id, b); err != nil {
		return fmt.Errorf("auth: record session: %w", err)
	}
	return nil
}

// Get implements SessionStore.
func (s *KVSessions) Get(ctx context.Context, id string) (SessionRecord, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return SessionRecord{}, err
	}
	e, err := kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return SessionRecord{}, ErrNoSession
	}
	if err != nil {
		return SessionRecord{}, fmt.Errorf("auth: read session: %w", err)
	}
	var rec SessionRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return SessionRecord{}, fmt.Errorf("auth: session record: %w", err)
	}
	return rec, nil
}

// Delete implements SessionStore. It purges the key, so nothing of the
// session stays in the bucket's history.
func (s *KVSessions) Delete(ctx context.Context, id string) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	if err := kv.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}
