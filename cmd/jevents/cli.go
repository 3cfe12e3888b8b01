package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/justiceevents/jevents/internal/service"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command could not be carried out
	exitInput   = 2 // the input was refused: usage, a bad file, invalid fields
)

const usage = `Usage: jevents [command] [flags]

Commands:
  serve                 run the service (the default): embedded NATS unless --nats is given
  submit FILE           submit a conference from a .json or .ics file to a running server
  approve ID            publish a pending conference (editors)
  reject ID             decline a pending conference (editors)
  cancel ID             cancel a conference (editors)
  rebuild               replay the event log into fresh read models and switch to them
  setup                 create or update the event stream and buckets on a NATS cluster (admin)
  resource add|edit|retire|restore   change the resource directory (editors)
  seed                  append the published resource directory to the log (idempotent)
  help                  show this help

Run 'jevents COMMAND -h' for a command's flags. Every flag has an environment
fallback, named in its help.
`

// inputError marks a failure caused by the input, which exits with status 2.
type inputError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr)
	case "submit":
		err = submit(ctx, args, stdout, stderr)
	case "approve", "reject", "cancel":
		err = decide(ctx, cmd, args, stdout, stderr)
	case "rebuild":
		err = rebuild(ctx, args, stdout, stderr)
	case "setup":
		err = setup(ctx, args, stdout, stderr)
	case "resource":
		err = resourceCmd(ctx, args, stdout, stderr) // resources.go
	case "seed":
		err = seed(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "jevents: unknown command %q\n\n%s", cmd, usage)
		return exitInput
	}
	var ie inputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "jevents %s: %v\n", cmd, err)
		return exitInput
	default:
		fmt.Fprintf(stderr, "jevents %s: %v\n", cmd, err)
		return exitFailure
	}
}

// env returns the environment variable or def.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func envInt(key string, def int64) int64 {
	if v, err := strconv.ParseInt(env(key, ""), 10, 64); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(env(key, "")); err == nil {
		return v
	}
	return def
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("jevents "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags, turning usage errors into input errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return inputError{err}
	}
	return nil
}

// natsFlags are the connection flags of serve and rebuild.
func natsFlags(fs *flag.FlagSet, a *service.NATSAuth, urls *string) {
	fs.StringVar(urls, "nats", env("JEVENTS_NATS_URL", ""), "NATS server URLs, comma-separated; empty embeds a server (JEVENTS_NATS_URL)")
	fs.StringVar(&a.User, "nats-user", env("JEVENTS_NATS_USER", ""), "NATS user (JEVENTS_NATS_USER)")
	fs.StringVar(&a.Password, "nats-password", env("JEVENTS_NATS_PASSWORD", ""), "NATS password (JEVENTS_NATS_PASSWORD)")
	fs.StringVar(&a.NKeyFile, "nats-nkey", env("JEVENTS_NATS_NKEY", ""), "NATS nkey seed file (JEVENTS_NATS_NKEY)")
	fs.StringVar(&a.CredsFile, "nats-creds", env("JEVENTS_NATS_CREDS", ""), "NATS credentials file (JEVENTS_NATS_CREDS)")
	fs.StringVar(&a.TLSCA, "nats-tls-ca", env("JEVENTS_NATS_TLS_CA", ""), "CA certificate to verify NATS servers (JEVENTS_NATS_TLS_CA)")
	fs.StringVar(&a.TLSCert, "nats-tls-cert", env("JEVENTS_NATS_TLS_CERT", ""), "client certificate for NATS (JEVENTS_NATS_TLS_CERT)")
	fs.StringVar(&a.TLSKey, "nats-tls-key", env("JEVENTS_NATS_TLS_KEY", ""), "client key for NATS (JEVENTS_NATS_TLS_KEY)")
	fs.StringVar(&a.InboxPrefix, "nats-inbox-prefix", env("JEVENTS_NATS_INBOX_PREFIX", ""), "subject prefix for replies instead of _INBOX, e.g. _INBOX.intake: the one the NATS user may subscribe to (JEVENTS_NATS_INBOX_PREFIX)")
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, inputError{fmt.Errorf("--log-level %q: use debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, inputError{fmt.Errorf("--log-format %q: use text or json", format)}
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var (
		cfg                        service.Config
		roles, logFormat, logLevel string
		replicas                   int
		maxBytes                   int64
	)
	fs.StringVar(&roles, "role", env("JEVENTS_ROLE", "all"), "roles to play: all, or a comma-separated subset of intake, editors, projector, feeds (JEVENTS_ROLE)")
	fs.StringVar(&cfg.DataDir, "data", env("JEVENTS_DATA", "./data"), "data directory: embedded NATS store and generated editor token (JEVENTS_DATA)")
	fs.StringVar(&cfg.NATSListen, "nats-listen", env("JEVENTS_NATS_LISTEN", "127.0.0.1:4222"), "client address of the embedded NATS server, - for none (JEVENTS_NATS_LISTEN)")
	natsFlags(fs, &cfg.NATSAuth, &cfg.NATS)
	fs.StringVar(&cfg.HTTP, "http", env("JEVENTS_HTTP", "127.0.0.1:8080"), "HTTP listen address (JEVENTS_HTTP)")
	fs.StringVar(&cfg.PublicURL, "public-url", env("JEVENTS_PUBLIC_URL", ""), "URL people reach the service at; default http://<--http> (JEVENTS_PUBLIC_URL)")
	fs.IntVar(&replicas, "replicas", int(envInt("JEVENTS_REPLICAS", 0)), "replicas of the stream and buckets; default 1 embedded, 3 on a cluster (JEVENTS_REPLICAS)")
	fs.Int64Var(&maxBytes, "log-max-bytes", envInt("JEVENTS_LOG_MAX_BYTES", 1<<30), "byte budget of the event stream (JEVENTS_LOG_MAX_BYTES)")
	fs.DurationVar(&cfg.FeedWindow, "feed-window", envDuration("JEVENTS_FEED_WINDOW", 90*24*time.Hour), "how long ended and cancelled conferences stay in feeds (JEVENTS_FEED_WINDOW)")
	fs.DurationVar(&cfg.FeedRefresh, "feed-refresh", envDuration("JEVENTS_FEED_REFRESH", 6*time.Hour), "refresh interval suggested to calendar apps (JEVENTS_FEED_REFRESH)")
	fs.StringVar(&cfg.EditorTokensFile, "editor-tokens-file", env("JEVENTS_EDITOR_TOKENS_FILE", ""), "file of editor tokens, one name:token per line (JEVENTS_EDITOR_TOKENS_FILE)")
	fs.BoolVar(&cfg.NoSeed, "no-seed", envBool("JEVENTS_NO_SEED"), "do not seed the resource directory on a log without resources (JEVENTS_NO_SEED=1)")
	trustedProxies := fs.String("trusted-proxies", env("JEVENTS_TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For every per-address limit believes (intake, forms, token throttle, connections): comma-separated addresses or CIDRs; none by default (JEVENTS_TRUSTED_PROXIES)")
	abuseFlags(fs, &cfg) // limits.go
	fs.StringVar(&logFormat, "log-format", env("JEVENTS_LOG_FORMAT", "text"), "log format: text or json (JEVENTS_LOG_FORMAT)")
	fs.StringVar(&logLevel, "log-level", env("JEVENTS_LOG_LEVEL", "info"), "log level: debug, info, warn, error (JEVENTS_LOG_LEVEL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return inputError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	cfg.EditorToken = os.Getenv("JEVENTS_EDITOR_TOKEN")
	cfg.Replicas = replicas
	cfg.LogMaxBytes = maxBytes
	var err error
	if cfg.TrustedProxies, err = service.ParseTrustedProxies(*trustedProxies); err != nil {
		return inputError{err}
	}
	if cfg.Roles, err = service.ParseRoles(roles); err != nil {
		return inputError{err}
	}
	log, err := newLogger(stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return inputError{err}
	}
	return service.Run(ctx, cfg, log)
}

// client talks to a running server's HTTP API.
type client struct {
	base  string
	token string
	http  *http.Client
}

func clientFlags(fs *flag.FlagSet, c *client, withToken bool) *string {
	fs.StringVar(&c.base, "server", env("JEVENTS_SERVER", "http://127.0.0.1:8080"), "URL of a running server (JEVENTS_SERVER)")
	if !withToken {
		return nil
	}
	data := fs.String("data", env("JEVENTS_DATA", "./data"), "data directory holding a generated editor-token, used when no token is given (JEVENTS_DATA)")
	fs.StringVar(&c.token, "token", env("JEVENTS_EDITOR_TOKEN", ""), "editor token (JEVENTS_EDITOR_TOKEN)")
	return data
}

// do sends a request and decodes a JSON answer into out. Refusals of the
// input (400, 413, 415, 422) are input errors listing the fields.
func (c *client) do(ctx context.Context, method, path string, header http.Header, body []byte, out any) error {
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return inputError{err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return problemError(resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// problemError turns a problem+json answer into a readable error.
func problemError(status int, body []byte) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
		Items []struct {
			Index int    `json:"index"`
			UID   string `json:"uid"`
			Error *struct {
				Title  string `json:"title"`
				Errors []struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"errors"`
			} `json:"error"`
		} `json:"items"`
	}
	_ = json.Unmarshal(body, &p)
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", status, cmp.Or(p.Title, http.StatusText(status)))
	if p.Detail != "" {
		fmt.Fprintf(&b, ": %s", p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	for _, it := range p.Items {
		if it.Error == nil {
			continue
		}
		fmt.Fprintf(&b, "\n  VEVENT %d (%s): %s", it.Index+1, it.UID, it.Error.Title)
		for _, f := range it.Error.Errors {
			fmt.Fprintf(&b, "\n    %s: %s", f.Field, f.Message)
		}
	}
	err := errors.New(b.String())
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return inputError{err}
	}
	return err
}

func submit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("submit", stderr)
	var c client
	clientFlags(fs, &c, false)
	key := fs.String("idempotency-key", "", "Idempotency-Key; default: a hash of the file (and the .ics flags), so submitting the same file again adds nothing")
	// What an .ics file cannot say (producers/intake/ics.go).
	ics := url.Values{}
	for _, f := range []struct{ name, param, usage string }{
		{"contact", "contact", ".ics: organiser's e-mail for editors, never published (default: each VEVENT's ORGANIZER)"},
		{"contact-name", "contact_name", ".ics: organiser's name, with --contact"},
		{"format", "format", ".ics: in_person, online or hybrid (default: from LOCATION and CONFERENCE)"},
		{"timezone", "timezone", ".ics: IANA zone of floating times, and the zone UTC times are shown in"},
	} {
		fs.Func(f.name, f.usage, func(v string) error { ics.Set(f.param, v); return nil })
	}
	fs.Func("topic", ".ics: a topic for every VEVENT, besides the CATEGORIES that are topics (repeatable)", func(v string) error { ics.Add("topic", v); return nil })
	fs.Func("sponsor", ".ics: a sponsor of every VEVENT (repeatable)", func(v string) error { ics.Add("sponsor", v); return nil })
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return inputError{errors.New("usage: jevents submit [flags] FILE.json|FILE.ics")}
	}
	path := fs.Arg(0)
	body, err := os.ReadFile(path)
	if err != nil {
		return inputError{err}
	}
	h := http.Header{}
	target := "/api/v1/conferences"
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ics", ".ical", ".ifb", ".icalendar":
		h.Set("Content-Type", "text/calendar")
		if len(ics) > 0 {
			target += "?" + ics.Encode()
		}
	default:
		if len(ics) > 0 {
			return inputError{errors.New("--contact, --format, --timezone, --topic and --sponsor are for .ics files; a JSON file holds these fields")}
		}
		h.Set("Content-Type", "application/json")
	}
	if *key == "" {
		sum := sha256.Sum256(append(body, ics.Encode()...))
		*key = "file-" + hex.EncodeToString(sum[:16])
	}
	h.Set("Idempotency-Key", *key)
	h.Set("X-Jevents-Source", "cli")
	var out json.RawMessage
	if err := c.do(ctx, http.MethodPost, target, h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func decide(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(cmd, stderr)
	c, token := editorClient(fs)
	reason := fs.String("reason", "", "reason or note recorded with the decision")
	ifMatch := fs.String("if-match", "", "only if the conference is still at this version")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return inputError{fmt.Errorf("usage: jevents %s [flags] ID", cmd)}
	}
	if err := token(); err != nil {
		return err
	}
	return c.command(ctx, stdout, "/api/v1/conferences/"+fs.Arg(0)+"/"+cmd, *reason, *ifMatch, "")
}

// command posts an editor's command on one aggregate, with its optional
// reason, the version it is based on and an Idempotency-Key, and prints
// the answer.
func (c *client) command(ctx context.Context, stdout io.Writer, path, reason, ifMatch, key string) error {
	body, _ := json.Marshal(map[string]string{"reason": reason})
	h := http.Header{"Content-Type": {"application/json"}}
	if ifMatch != "" {
		h.Set("If-Match", strconv.Quote(strings.Trim(ifMatch, `"`)))
	}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	var out json.RawMessage
	if err := c.do(ctx, http.MethodPost, path, h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func rebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rebuild", stderr)
	var (
		a        service.NATSAuth
		urls     string
		replicas int
	)
	natsFlags(fs, &a, &urls)
	fs.IntVar(&replicas, "replicas", int(envInt("JEVENTS_REPLICAS", 0)), "replicas of the new read-model buckets; default 3 on a cluster, 1 on a single server (JEVENTS_REPLICAS)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if urls == "" {
		urls = "nats://127.0.0.1:4222"
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	nc, js, err := service.Dial(urls, a, "jevents rebuild")
	if err != nil {
		return err
	}
	defer nc.Close()
	if replicas == 0 {
		replicas = defaultReplicas(nc)
	}
	res, err := service.Rebuild(ctx, js, replicas, log)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	return printJSON(stdout, b)
}

func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// setup creates or updates the event stream and creates the buckets on an
// external NATS deployment. It is the only command that needs the admin
// user: the roles never create or change the stream (service.Setup).
func setup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup", stderr)
	var (
		a        service.NATSAuth
		urls     string
		replicas int
		maxBytes int64
	)
	natsFlags(fs, &a, &urls)
	fs.IntVar(&replicas, "replicas", int(envInt("JEVENTS_REPLICAS", 0)), "replicas of the stream and buckets; default 3 on a cluster, 1 on a single server (JEVENTS_REPLICAS)")
	fs.Int64Var(&maxBytes, "log-max-bytes", envInt("JEVENTS_LOG_MAX_BYTES", 1<<30), "byte budget of the event stream (JEVENTS_LOG_MAX_BYTES)")
	timeout := fs.Duration("timeout", envDuration("JEVENTS_SETUP_TIMEOUT", time.Minute), "how long to wait for the cluster (JEVENTS_SETUP_TIMEOUT)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return inputError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if urls == "" {
		urls = "nats://127.0.0.1:4222"
	}
	if maxBytes < 1<<20 {
		return inputError{errors.New("--log-max-bytes must be at least 1 MiB")}
	}
	nc, js, err := service.Dial(urls, a, "jevents setup")
	if err != nil {
		return err
	}
	defer nc.Close()
	if replicas == 0 {
		replicas = defaultReplicas(nc)
	}
	if replicas < 1 || replicas > 5 {
		return inputError{fmt.Errorf("--replicas %d: must be 1 to 5", replicas)}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// A cluster that has just started may not have elected its JetStream
	// meta leader yet: retry until the deadline.
	var res service.SetupResult
	for {
		res, err = service.Setup(ctx, js, service.SetupConfig{Replicas: replicas, LogMaxBytes: maxBytes})
		if err == nil || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stderr, "jevents setup: %v; retrying\n", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	return printJSON(stdout, b)
}

// defaultReplicas is 3 on a cluster and 1 on a single server (the embedded
// one of `jevents serve`).
func defaultReplicas(nc *nats.Conn) int {
	if nc.ConnectedClusterName() == "" {
		return 1
	}
	return 3
}
