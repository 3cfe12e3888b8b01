package service

import (
	"context"
	"log/slog"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/ratelimit"
	"github.com/justiceevents/jevents/internal/serversecret"
)

// newGate builds the editors role's one gate (internal/auth): who the
// editors are (JEVENTS_EDITOR_TOKEN, --editor-tokens-file reloaded every
// second, or the token generated into the data directory), the server
// secret that signs their sessions (--server-secret-file, or generated
// into the data directory), the sessions bucket every editors process
// shares, and the wrong-token throttle. Only the editors role builds one:
// public-facing intake and feed processes never hold a token, a secret or
// a session.
func (s *Service) newGate(ctx context.Context) (*auth.Gate, error) {
	cfg := s.cfg
	src, generated, err := auth.LoadTokens(auth.TokenSource{Token: cfg.EditorToken, File: cfg.EditorTokensFile, DataDir: cfg.DataDir}, s.log)
	if err != nil {
		return nil, err
	}
	if generated != "" {
		s.log.Info("generated an editor token; use it as Authorization: Bearer <token>", slog.String("path", generated))
	}
	if f, ok := src.(*auth.TokensFile); ok {
		s.log.Info("editor tokens file: watched for changes", slog.String("path", cfg.EditorTokensFile),
			slog.Int("tokens", f.Len()), slog.Duration("every", auth.ReloadEvery))
		s.goWorker(ctx, "editor tokens file", func(ctx context.Context) error { return f.Watch(ctx, 0) })
	}
	var configured []string
	if cfg.ServerSecretFile != "" {
		if configured, err = serversecret.ReadFile(cfg.ServerSecretFile); err != nil {
			return nil, err
		}
	} else if !cfg.Embedded() {
		s.log.Warn("no --server-secret-file: editors' sessions are signed with a secret generated into this process's data directory, "+
			"so other editors processes refuse them; give every editors process the same --server-secret-file",
			slog.String("path", serversecret.File(cfg.DataDir)))
	}
	keys, err := serversecret.Load(cfg.DataDir, configured)
	if err != nil {
		return nil, err
	}
	return auth.NewGate(auth.GateConfig{
		Sources:  []auth.Source{src},
		Sessions: auth.NewKVSessions(s.js),
		Secret:   keys,
		Throttle: auth.NewThrottle(s.clients, ratelimit.Limit{}, s.log, s.registry),
		Log:      s.log,
	})
}
