// Package service joins the pieces of Justice Events into one running
// process: the NATS connection (or an embedded server), the event stream,
// the producers, the projectors, the feed server and the HTTP server, for
// whichever roles the process plays. It is the composition root, at the top
// of the import graph: the one package that imports producers, projections
// and pages together, and nothing but cmd/jevents imports it (tests aside).
// readmodels.go is the one list of read models. cmd/jevents parses flags
// into a Config and calls Run; tests boot the same Run on port 0 in a
// temporary directory.
package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/embednats"
	"github.com/justiceevents/jevents/internal/serversecret"
	"github.com/justiceevents/jevents/producers/organisers"
	"github.com/justiceevents/jevents/projections/asof"
	"github.com/justiceevents/jevents/projections/feeds"
	"github.com/justiceevents/jevents/reactors/webhooks"
)

// Role is one job a process can do; a process plays any subset.
type Role string

const (
	// RoleIntake serves the public's submissions: it may only append
	// submission events.
	RoleIntake Role = "intake"
	// RoleEditors serves editors' commands (moderation, edits): it may only
	// append editing events. It is apart from intake so that the process
	// facing the public never holds credentials that can publish.
	RoleEditors Role = "editors"
	// RoleProjector runs the projectors that build the read models.
	RoleProjector Role = "projector"
	// RoleFeeds serves feeds, pages and read APIs from the read models.
	RoleFeeds Role = "feeds"
	// RoleNotifier mails organisers and editors what happened
	// (reactors/notify): it reads the log and appends nothing.
	RoleNotifier Role = "notifier"
)

// AllRoles is what `jevents serve` plays by default.
var AllRoles = []Role{RoleIntake, RoleEditors, RoleProjector, RoleFeeds, RoleNotifier}

// ParseRoles reads "all" or a comma-separated subset of intake, editors,
// projector, feeds and notifier.
func ParseRoles(s string) ([]Role, error) {
	if strings.TrimSpace(s) == "" || s == "all" {
		return slices.Clone(AllRoles), nil
	}
	var out []Role
	for _, p := range strings.Split(s, ",") {
		r := Role(strings.TrimSpace(p))
		if !slices.Contains(AllRoles, r) {
			return nil, fmt.Errorf("unknown role %q: use intake, editors, projector, feeds, notifier or all", p)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Config is everything a serving process needs to know.
type Config struct {
	Roles []Role
	// DataDir holds the embedded server's store and the generated editor token.
	DataDir string
	// NATS lists server URLs (comma-separated); empty embeds a server.
	NATS string
	// NATSListen is the embedded server's client address ("-": none).
	NATSListen string
	NATSAuth   NATSAuth
	// HTTP is the listen address of the HTTP server.
	HTTP string
	// PublicURL is where people reach the service; default http://<HTTP>.
	PublicURL string
	// Replicas of the stream and buckets: 1 embedded, 3 on a cluster.
	Replicas int
	// LogMaxBytes is the event stream's byte budget.
	LogMaxBytes int64
	// FeedWindow is how long ended conferences stay in list feeds (a
	// year by default); ?past=all feeds keep every one.
	FeedWindow time.Duration
	// FeedRefresh is the refresh interval suggested to calendar apps.
	FeedRefresh time.Duration
	// EditorToken, EditorTokensFile: where editor tokens come from; with
	// neither, one is generated into DataDir/editor-token.
	EditorToken      string
	EditorTokensFile string
	// ServerSecretFile holds the server secrets (one a line: the first
	// signs, any verifies) that sign editors' sessions; without it, one is
	// generated into DataDir/server-secret (internal/serversecret). Every
	// editors process of a cluster needs the same list.
	ServerSecretFile string
	// OrganiserLinkTTL is how long an organiser's private link works after
	// the mail that carries it (producers/organisers; default 60 days).
	// The same server secrets sign the links: give the intake and notifier
	// processes of a cluster the same --server-secret-file as the editors.
	OrganiserLinkTTL time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests at shutdown.
	ShutdownTimeout time.Duration
	// NoSeed keeps the first start on a log without resource events from
	// seeding the directory with the published page (jevents seed does it
	// by hand).
	NoSeed bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// per-address limits believe (internal/clientaddr): the intake gate, the
	// forms, the editors' token throttle and the per-address connection
	// limit; none by default (ParseTrustedProxies).
	TrustedProxies []netip.Prefix
	// Webhooks are the deliverer's choices (--webhook-pause-after,
	// --webhook-allow-private); zero values take the defaults.
	Webhooks webhooks.Config
	// EmbedOrigins are the partner sites allowed to frame /embed
	// (--embed-origins, ParseEmbedOrigins); none: any site may.
	EmbedOrigins []string
	// Intake are the limits of the intake gate (internal/admission): per
	// address, per contact, the cluster-wide quota and the reserve of the
	// log kept for editors. Zero values take the defaults.
	Intake admission.Config
	// Limits of the public listener (limits.go).
	Conns ConnLimits
	// MetricsListen is the operators' listener (/metrics, /healthz,
	// /readyz), apart from the public one so that it answers when the
	// public listener is saturated; "" is 127.0.0.1:0 (an ephemeral port,
	// for tests), "-" none.
	MetricsListen string
	// FeedCacheBytes bounds the prepared feeds and read-API answers a feed
	// server keeps (feeds.Config.CacheBytes); 0: 256 MiB.
	FeedCacheBytes int64
	// AsOfCacheBytes bounds what a feed server keeps to answer ?as_of=
	// (the read models as of past instants, and their feeds); 0: 128 MiB
	// (asof.go).
	AsOfCacheBytes int64
	// AsOfMaxEvents bounds the events one as_of request may have a
	// projector replay; 0: 5,000,000 (projections/asof).
	AsOfMaxEvents uint64
	// Mail configures the notifier role (notifier.go).
	Mail MailConfig
	// Collectors are registered on the process's registry beside its own
	// metrics (cmd/jevents adds jevents_build_info).
	Collectors []prometheus.Collector
}

// CheckHTTPAddr validates an HTTP listen address: host:port, where an
// empty host listens on every interface and port 0 picks a free one.
func CheckHTTPAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port, such as 127.0.0.1:8080", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// CheckPublicURL validates the URL people reach the service at.
func CheckPublicURL(s string) error {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: must be an absolute http(s) URL, such as https://events.example.org", s)
	}
	return nil
}

// validateEditorTokens checks the editors' tokens and the server secret
// as the gate will read them at start (auth.LoadTokens, serversecret.Load:
// their rules, one place), before anything touches the data directory. A
// generated token or secret is checked when it is read.
func (c *Config) validateEditorTokens() error {
	quiet := slog.New(slog.DiscardHandler)
	var errs []error
	switch {
	case c.EditorToken != "":
		if _, _, err := auth.LoadTokens(auth.TokenSource{Token: c.EditorToken}, quiet); err != nil {
			errs = append(errs, fmt.Errorf("JEVENTS_EDITOR_TOKEN: %w", err))
		}
	case c.EditorTokensFile != "":
		if _, _, err := auth.LoadTokens(auth.TokenSource{File: c.EditorTokensFile}, quiet); err != nil {
			errs = append(errs, fmt.Errorf("--editor-tokens-file: %w", err))
		}
	case c.DataDir == "":
		errs = append(errs, errors.New("editors need JEVENTS_EDITOR_TOKEN, --editor-tokens-file or --data"))
	}
	if c.ServerSecretFile != "" {
		secrets, err := serversecret.ReadFile(c.ServerSecretFile)
		if err == nil && len(secrets) == 0 {
			err = fmt.Errorf("%s holds no secret", c.ServerSecretFile)
		}
		if err == nil {
			_, err = serversecret.Load("", secrets)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--server-secret-file: %w", err))
		}
	} else if c.DataDir == "" {
		errs = append(errs, errors.New("editors need --server-secret-file (the secret that signs their sessions) or --data to generate one into"))
	}
	return errors.Join(errs...)
}

// NATSAuth are the credentials and TLS settings for an external cluster.
type NATSAuth struct {
	User, Password string
	NKeyFile       string
	CredsFile      string
	TLSCA          string
	TLSCert        string
	TLSKey         string
	// InboxPrefix replaces _INBOX in the subjects replies come back on.
	// Give each role its own (_INBOX.intake, …) and allow each user only
	// its own, so no user can read another's replies (deploy/nats).
	InboxPrefix string
}

// Embedded reports whether the process embeds its NATS server.
func (c Config) Embedded() bool { return c.NATS == "" }

// Has reports whether the process plays role r.
func (c Config) Has(r Role) bool { return slices.Contains(c.Roles, r) }

// Defaults is the one source of the defaults: `jevents serve` shows them
// as its flags' defaults (and the other commands their --data and
// --log-max-bytes), and Validate gives them to the zero fields of a
// Config. Two fields differ on purpose: a Config has no default DataDir
// (the embedded mode needs one chosen), and its zero MetricsListen is an
// ephemeral port on loopback (tests and embedders), where the flag's is
// 127.0.0.1:9180. The intake gate's defaults are admission's
// (admission.Default*), filled by admission.Config.Validate.
func Defaults() Config {
	return Config{
		Roles:            slices.Clone(AllRoles),
		DataDir:          "./data",
		NATSListen:       "127.0.0.1:4222",
		HTTP:             "127.0.0.1:8080",
		LogMaxBytes:      1 << 30,
		FeedWindow:       feeds.DefaultWindow,
		FeedRefresh:      feeds.DefaultRefresh,
		ShutdownTimeout:  15 * time.Second,
		Conns:            ConnLimits{Max: 4096, PerAddress: 128, IdleTimeout: 60 * time.Second, BusyIdleTimeout: 5 * time.Second},
		MetricsListen:    "127.0.0.1:9180",
		FeedCacheBytes:   feeds.DefaultCacheBytes,
		AsOfCacheBytes:   DefaultAsOfCacheBytes,
		AsOfMaxEvents:    asof.DefaultMaxEvents,
		Webhooks:         webhooks.Config{PauseAfter: 24 * time.Hour},
		OrganiserLinkTTL: organisers.DefaultTTL,
	}
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate checks the configuration and fills defaults (Defaults).
func (c *Config) Validate() error {
	var errs []error
	def := Defaults()
	if len(c.Roles) == 0 {
		c.Roles = def.Roles
	}
	orDefault(&c.HTTP, def.HTTP)
	orDefault(&c.Webhooks.PauseAfter, def.Webhooks.PauseAfter)
	if c.Webhooks.PauseAfter < 0 {
		errs = append(errs, errors.New("--webhook-pause-after must be positive"))
	}
	if err := CheckHTTPAddr(c.HTTP); err != nil {
		errs = append(errs, fmt.Errorf("--http %w", err))
	}
	if c.Embedded() {
		if c.DataDir == "" {
			errs = append(errs, errors.New("--data is required with the embedded NATS server"))
		}
		orDefault(&c.NATSListen, def.NATSListen)
		if err := embednats.CheckListen(c.NATSListen); err != nil {
			errs = append(errs, fmt.Errorf("--nats-listen %w", err))
		}
		if c.Replicas == 0 {
			c.Replicas = 1
		}
		if c.Replicas != 1 {
			errs = append(errs, errors.New("--replicas must be 1 with the embedded NATS server"))
		}
	} else if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("--replicas %d: must be 1 to 5", c.Replicas))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTP
	}
	if err := CheckPublicURL(c.PublicURL); err != nil {
		errs = append(errs, fmt.Errorf("--public-url %w", err))
	}
	orDefault(&c.LogMaxBytes, def.LogMaxBytes)
	if c.LogMaxBytes < 1<<20 {
		errs = append(errs, errors.New("--log-max-bytes must be at least 1 MiB"))
	}
	orDefault(&c.FeedWindow, def.FeedWindow)
	if c.FeedWindow < 24*time.Hour {
		// Shorter, a conference would leave a subscriber's calendar
		// before most apps had refreshed once after it ended.
		errs = append(errs, errors.New("--feed-window must be at least 24h (a year, 8760h, is the default)"))
	}
	orDefault(&c.FeedRefresh, def.FeedRefresh)
	c.FeedRefresh = c.FeedRefresh.Truncate(time.Second) // REFRESH-INTERVAL counts whole seconds
	if c.FeedRefresh < 15*time.Minute || c.FeedRefresh > 7*24*time.Hour {
		errs = append(errs, errors.New("--feed-refresh must be between 15m and 168h"))
	}
	orDefault(&c.ShutdownTimeout, def.ShutdownTimeout)
	orDefault(&c.OrganiserLinkTTL, def.OrganiserLinkTTL)
	if c.OrganiserLinkTTL < time.Hour || c.OrganiserLinkTTL > 366*24*time.Hour {
		errs = append(errs, errors.New("--organiser-link-ttl must be between 1h and 366d (60d is the default)"))
	}
	if err := c.Intake.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--intake-window: %w", err))
	}
	if err := c.Conns.validate(def.Conns); err != nil {
		errs = append(errs, err)
	}
	orDefault(&c.MetricsListen, "127.0.0.1:0") // not def's: see Defaults
	orDefault(&c.FeedCacheBytes, def.FeedCacheBytes)
	orDefault(&c.AsOfCacheBytes, def.AsOfCacheBytes)
	orDefault(&c.AsOfMaxEvents, def.AsOfMaxEvents)
	if c.AsOfCacheBytes < 8<<20 {
		errs = append(errs, errors.New("--as-of-cache-bytes must be at least 8 MiB"))
	}
	if c.MetricsListen != "-" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: %w", c.MetricsListen, err))
		}
	}
	if c.Has(RoleEditors) {
		errs = append(errs, c.validateEditorTokens())
	}
	errs = append(errs, c.Mail.validate(c.PublicURL))
	return errors.Join(errs...)
}
