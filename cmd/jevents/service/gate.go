package service

import (
	"context"
	"log/slog"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/ratelimit"
	"github.com/justiceevents/jevents/internal/serversecret"
	"github.com/justiceevents/jevents/producers/organisers"
)

// newGate builds the editors role's one gate (internal/auth): who the
// editors are (JEVENTS_EDITOR_TOKEN, --editor-tokens-file reloaded every
// second, or the token generated into the data directory), the server
// secret that signs their sessions (--server-secret-file, or generated
// into the data directory), the sessions bucket every editors process
// shares, and the wrong-token throttle. Only the editors role builds one:
// public-facing intake and feed processes never hold a token, a secret or
// a session.
//
// The same secrets sign organisers' private links (producers/organisers):
// the intake role checks them, the notifier signs them (serverKeys).
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
	keys, err := s.serverKeys()
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

// serverKeys are the server's secrets (--server-secret-file, or the one
// generated into the data directory), loaded once per process for every
// role that signs or checks with them: editors (sessions, CSRF), intake
// (organisers' links), the notifier (the links in its mails).
func (s *Service) serverKeys() (*serversecret.Keys, error) {
	s.keysOnce.Do(func() {
		cfg := s.cfg
		var configured []string
		if cfg.ServerSecretFile != "" {
			if configured, s.keysErr = serversecret.ReadFile(cfg.ServerSecretFile); s.keysErr != nil {
				return
			}
		} else if !cfg.Embedded() {
			s.log.Warn("no --server-secret-file: editors' sessions and organisers' private links are signed with a secret generated into "+
				"this process's data directory, so other processes refuse them; give every editors, intake and notifier process the same --server-secret-file",
				slog.String("path", serversecret.File(cfg.DataDir)))
		}
		s.keys, s.keysErr = serversecret.Load(cfg.DataDir, configured)
	})
	return s.keys, s.keysErr
}

// organiserLinks are the organisers' private links, signed with the
// server's keys.
func (s *Service) organiserLinks() (*organisers.Links, error) {
	keys, err := s.serverKeys()
	if err != nil {
		return nil, err
	}
	return organisers.NewLinks(keys, s.cfg.OrganiserLinkTTL), nil
}
