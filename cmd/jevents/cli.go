package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/embednats"
	"github.com/justiceevents/jevents/reactors/notify"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command could not be carried out
	exitInput   = 2 // the input was refused: usage, a bad file, invalid fields, a bad flag or variable
)

// inputError marks a failure caused by the input, which exits with status 2.
type inputError struct{ error }

func (e inputError) Unwrap() error { return e.error }

// The commands, in the order `jevents help` lists them. Each command's -h
// shows its spec (flags.go).
var (
	serveSpec = spec{name: "serve", summary: "run the service (the default command)",
		about: "Without --nats, every role runs on an embedded NATS server whose store and credentials live in --data;\n" +
			"with --nats, the roles of --role run against that NATS cluster.\n" +
			"Every flag has an environment fallback, named in its help; JEVENTS_EDITOR_TOKEN gives the editors'\n" +
			"token (at least 128 bits of entropy: openssl rand -base64 32), else --editor-tokens-file (reloaded when it changes), else one is\n" +
			"generated into <data>/editor-token; --server-secret-file signs editors' sessions, else one is generated into <data>/server-secret.\n" +
			"One process per data directory: a second one on the same --data stops at once (status 1).",
		example: "jevents serve                                   # ./data, http://127.0.0.1:8080, NATS on 127.0.0.1:4222\n" +
			"jevents serve --data /var/lib/jevents --http 127.0.0.1:9000 --public-url https://events.example.org\n" +
			"jevents serve --role feeds --nats nats://n1:4222,nats://n2:4222 --nats-user feeds --nats-inbox-prefix _INBOX.feeds",
		max: 0}
	submitSpec = spec{name: "submit", args: "FILE.json|FILE.ics", summary: "submit a conference from a .json or .ics file to a running server",
		example: "jevents submit examples/conference.json\n" +
			"jevents submit examples/conference.ics --topic courts --contact you@example.org",
		min: 1, max: 1}
	approveSpec = spec{name: "approve", args: "ID", summary: "publish a pending conference, now or at --publish-at (editors)",
		example: "jevents approve 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50\n" +
			"jevents approve 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50 --publish-at 2030-03-01T09:00:00Z   # an embargo", min: 1, max: 1}
	rejectSpec = spec{name: "reject", args: "ID", summary: "decline a pending conference (editors)",
		example: `jevents reject 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50 --reason "not a criminal-justice conference"`, min: 1, max: 1}
	cancelSpec = spec{name: "cancel", args: "ID", summary: "cancel a published conference, now or --at a later instant (editors)",
		example: `jevents cancel 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50 --reason "venue closed"` + "\n" +
			`jevents cancel 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50 --at 2030-03-01T00:00:00Z --reason "the grant ends"`, min: 1, max: 1}
	unpublishSpec = spec{name: "unpublish", args: "ID", summary: "take a public conference out of feeds and pages, now or --at a later instant (editors)",
		example: `jevents unpublish 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50 --reason "published by mistake"`, min: 1, max: 1}
	callOffSpec = spec{name: "call-off", args: "ID SCHEDULE", summary: "call off a conference's plan before it comes due (editors)",
		about:   "SCHEDULE is the plan's id, as `approve --publish-at`, `cancel --at` and GET /api/v1/moderation/conferences/ID show it.",
		example: "jevents call-off 9b2d6c4e-0f6a-5c1e-8d3f-2a7b1c9e4d50 0193a7c2-…", min: 2, max: 2}
	rebuildSpec = spec{name: "rebuild", summary: "replay the event log into fresh read models and switch to them",
		about: "Without --nats it works on the embedded server of the `jevents serve` running on --data, with the\n" +
			"URL and credentials that server wrote there (<data>/" + embednats.ContextFile + ").",
		example: "jevents rebuild                                 # the service running on ./data\n" +
			"jevents rebuild --nats nats://n1:4222,nats://n2:4222 --nats-user admin",
		max: 0}
	setupSpec = spec{name: "setup", summary: "create or update the event stream and buckets (admin)",
		about: "Run once, and again after an upgrade, with the admin user; the roles never create or change the stream.\n" +
			"Without --nats it works on the embedded server of the `jevents serve` running on --data (which does\n" +
			"this itself at every start).",
		example: "jevents setup --nats nats://n1:4222,nats://n2:4222,nats://n3:4222 --nats-user admin   # password: JEVENTS_NATS_PASSWORD",
		max:     0}
	seedSpec = spec{name: "seed", summary: "append the published resource directory to the log (idempotent)",
		about: "Without --nats it works on the embedded server of the `jevents serve` running on --data.",
		example: "jevents seed --dry-run                          # print the entries, append nothing\n" +
			"jevents seed",
		max: 0}
	resourceSpec = spec{name: "resource", args: "add|edit|retire|restore", summary: "change the resource directory (editors)",
		example: "jevents resource edit ovc --url https://ovc.ojp.gov/", min: 1, max: -1}
	webhooksSpec = spec{name: "webhooks", args: "add|list|remove|resume|deliveries", summary: "manage signed webhook subscriptions (editors)",
		example: "jevents webhooks add https://partner.example/hooks/jevents --filter topic=courts", min: 1, max: -1}
	versionSpec = spec{name: "version", summary: "print the version, VCS revision and Go version of this binary",
		example: "jevents version\njevents --version", max: 0}
	healthcheckSpec = spec{name: "healthcheck", summary: "ask the jevents serve beside it whether it is ready (containers' health check)",
		about: "Exit status 0 when the operators' listener (--metrics-listen) answers /readyz with 200, 1 otherwise;\n" +
			"--live asks /healthz (alive and connected to NATS) instead.",
		example: "jevents healthcheck                             # /readyz on 127.0.0.1:9180, or JEVENTS_METRICS_LISTEN\n" +
			"jevents healthcheck --live --metrics-listen 127.0.0.1:9181",
		max: 0}
	helpSpec = spec{name: "help", args: "[COMMAND]", summary: "show the commands, or one command's help",
		example: "jevents help reject\njevents help resource edit", max: 2}
)

var commands = []spec{serveSpec, submitSpec, approveSpec, rejectSpec, cancelSpec, unpublishSpec, callOffSpec, rebuildSpec, setupSpec,
	exportSpec, verifySpec, importSpec, resourceSpec, webhooksSpec, seedSpec, healthcheckSpec, versionSpec, helpSpec}

func usage() string {
	var b strings.Builder
	b.WriteString("Usage: jevents [COMMAND] [flags] [ARGUMENTS]\n\n")
	b.WriteString("Justice Events: the calendar of criminal-justice conferences and its resource directory.\n\nCommands:\n")
	for _, c := range commands {
		left := strings.TrimSpace(c.name + " " + c.args)
		fmt.Fprintf(&b, "  %-34s %s\n", left, c.summary)
	}
	b.WriteString(`
Without a command, jevents runs serve. Flags may come before or after the
arguments, and every flag has an environment fallback named in its help.
'jevents COMMAND -h' shows a command's arguments, an example and its flags.

Example:
  jevents                                   # serve on ./data: http://127.0.0.1:8080
  jevents submit examples/conference.json   # to the server at JEVENTS_SERVER (default http://127.0.0.1:8080)
`)
	return b.String()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		fmt.Fprint(stdout, usage())
		return exitOK
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-version"):
		cmd, args = "version", args[1:]
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stdout, stderr)
	case "submit":
		err = submit(ctx, args, stdout)
	case "approve":
		err = decide(ctx, approveSpec, args, stdout)
	case "reject":
		err = decide(ctx, rejectSpec, args, stdout)
	case "cancel":
		err = decide(ctx, cancelSpec, args, stdout)
	case "unpublish":
		err = decide(ctx, unpublishSpec, args, stdout)
	case "call-off":
		err = callOff(ctx, args, stdout)
	case "export":
		err = exportLog(ctx, args, stdout, stderr) // export.go
	case "verify":
		err = verify(args, stdout)
	case "import":
		err = importLog(ctx, args, stdout, stderr)
	case "rebuild":
		err = rebuild(ctx, args, stdout, stderr)
	case "setup":
		err = setup(ctx, args, stdout, stderr)
	case "resource":
		err = resourceCmd(ctx, args, stdout) // resources.go
	case "webhooks":
		err = webhooksCmd(ctx, args, stdout) // webhooks.go
	case "seed":
		err = seed(ctx, args, stdout, stderr)
	case "healthcheck":
		err = healthcheck(ctx, args, stdout) // healthcheck.go
	case "version":
		err = printVersion(args, stdout) // version.go
	case "help":
		err = help(args, stdout)
	default:
		fmt.Fprintf(stderr, "jevents: unknown command %q\n\n%s", cmd, usage())
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

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// help prints the commands, or one command's help.
func help(args []string, stdout io.Writer) error {
	f := newCmd(helpSpec, stdout)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() == 0 {
		fmt.Fprint(stdout, usage())
		return nil
	}
	name := strings.Join(f.args, " ")
	for _, c := range slices.Concat(commands, resourceCommands, webhooksCommands) {
		if c.name != name {
			continue
		}
		switch name {
		case "resource":
			fmt.Fprint(stdout, resourceUsage())
			return nil
		case "webhooks":
			fmt.Fprint(stdout, webhooksUsage())
			return nil
		}
		// The command's own -h, so that its flags are listed.
		run(context.Background(), append(strings.Fields(name), "-h"), stdout, io.Discard)
		return nil
	}
	return inputError{fmt.Errorf("unknown command %q: %s", name, commandNames())}
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return "use " + strings.Join(names, ", ")
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // checked when the flag was set
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func checkLogLevel(s string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%q: use debug, info, warn or error", s)
	}
	return nil
}

func checkLogFormat(s string) error {
	if s != "text" && s != "json" {
		return fmt.Errorf("%q: use text or json", s)
	}
	return nil
}

// mailFlags are the notifier's (reactors/notify).
func mailFlags(f *cmdFlags, m *service.MailConfig) {
	f.checkedVar(&m.SMTPURL, "smtp-url", "", "SMTP server of the notifier: smtp://[user@]host[:587] (STARTTLS), smtps://[user@]host[:465] (implicit TLS), ?tls=none for a local relay; the password in the URL or JEVENTS_SMTP_PASSWORD; none: mail waits in the log",
		func(s string) error {
			if s == "" {
				return nil
			}
			_, err := notify.ParseSMTPURL(s)
			return err
		})
	f.env("smtp-url", "JEVENTS_SMTP_URL")
	f.StringVar(&m.SMTPCAFile, "smtp-ca-file", "", "PEM file of the certificate authorities trusted for the SMTP server's certificate (a private CA) instead of the system's")
	f.env("smtp-ca-file", "JEVENTS_SMTP_CA_FILE")
	f.StringVar(&m.From, "mail-from", "", "From of every mail, such as \"Justice Events <events@example.org>\"; default noreply@<public host>")
	f.env("mail-from", "JEVENTS_MAIL_FROM")
	var emails string
	f.checkedVar(&emails, "editor-emails", "", "editors told of new submissions and reports, comma-separated addresses",
		func(s string) error {
			v, err := service.ParseEmails(s)
			m.EditorEmails = v
			return err
		})
	f.env("editor-emails", "JEVENTS_EDITOR_EMAILS")
	f.DurationVar(&m.MaxAge, "mail-max-age", notify.DefaultMaxAge, "events older than this when the notifier reaches them send no mail (after mail was not configured, or a long outage)")
	f.env("mail-max-age", "JEVENTS_MAIL_MAX_AGE")
	f.DurationVar(&m.EditorDigest, "editor-digest", 0, "tell editors of new submissions in one mail per window of this length (15m, 1h; windows are aligned to the clock, UTC); 0: one mail per submission. Reports from the public are always sent at once")
	f.env("editor-digest", "JEVENTS_EDITOR_DIGEST")
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCmd(serveSpec, stdout)
	var (
		cfg                                        service.Config
		roles, logFormat, logLevel, trustedProxies string
		def                                        = service.Defaults() // the one source of the defaults
	)
	f.checkedVar(&roles, "role", "all", "roles to play: all, or a comma-separated subset of intake, editors, projector, feeds, notifier",
		func(s string) error { _, err := service.ParseRoles(s); return err })
	f.env("role", "JEVENTS_ROLE")
	f.StringVar(&cfg.DataDir, "data", def.DataDir, "data directory of the embedded mode: NATS store, its credentials ("+embednats.SeedFile+", mode 0600), the generated editor token; one process per directory")
	f.env("data", "JEVENTS_DATA")
	f.checkedVar(&cfg.NATSListen, "nats-listen", def.NATSListen, "client address of the embedded NATS server (only <data>/"+embednats.SeedFile+"'s holder may connect); port 0 picks a free one, - for none",
		embednats.CheckListen)
	f.env("nats-listen", "JEVENTS_NATS_LISTEN")
	natsFlags(f, &cfg.NATSAuth, &cfg.NATS, "NATS server URLs of a cluster, comma-separated; default: embed a server in --data")
	f.checkedVar(&cfg.HTTP, "http", def.HTTP, "HTTP listen address", service.CheckHTTPAddr)
	f.env("http", "JEVENTS_HTTP")
	f.checkedVar(&cfg.PublicURL, "public-url", "", "URL people reach the service at; default http://<--http>",
		func(s string) error {
			if s == "" {
				return nil
			}
			return service.CheckPublicURL(s)
		})
	f.env("public-url", "JEVENTS_PUBLIC_URL")
	f.IntVar(&cfg.Replicas, "replicas", 0, "replicas of the stream and buckets; default 1 embedded, 3 on a cluster")
	f.env("replicas", "JEVENTS_REPLICAS")
	f.Int64Var(&cfg.LogMaxBytes, "log-max-bytes", def.LogMaxBytes, "byte budget of the event stream")
	f.env("log-max-bytes", "JEVENTS_LOG_MAX_BYTES")
	f.DurationVar(&cfg.FeedWindow, "feed-window", def.FeedWindow, "how long ended and cancelled conferences stay in list feeds, at least 24h (?past=all feeds keep every one)")
	f.env("feed-window", "JEVENTS_FEED_WINDOW")
	f.DurationVar(&cfg.FeedRefresh, "feed-refresh", def.FeedRefresh, "refresh interval suggested to calendar apps")
	f.env("feed-refresh", "JEVENTS_FEED_REFRESH")
	f.StringVar(&cfg.EditorTokensFile, "editor-tokens-file", "", "file of editor tokens, one name:token per line (tokens of at least 128 bits of entropy)")
	f.env("editor-tokens-file", "JEVENTS_EDITOR_TOKENS_FILE")
	f.StringVar(&cfg.ServerSecretFile, "server-secret-file", "", "file of server secrets that sign editors' sessions, one a line: the first signs, any verifies (rotation); default: one generated into <data>/server-secret")
	f.env("server-secret-file", "JEVENTS_SERVER_SECRET_FILE")
	f.DurationVar(&cfg.OrganiserLinkTTL, "organiser-link-ttl", def.OrganiserLinkTTL, "how long an organiser's private link (in every mail to them) works, 1h to 366d; signed with the server secrets")
	f.env("organiser-link-ttl", "JEVENTS_ORGANISER_LINK_TTL")
	f.BoolVar(&cfg.NoSeed, "no-seed", false, "do not seed the resource directory on a log without resources")
	f.env("no-seed", "JEVENTS_NO_SEED")
	f.checkedVar(&trustedProxies, "trusted-proxies", "", "reverse proxies whose X-Forwarded-For every per-address limit believes (intake, forms, token throttle, connections): comma-separated addresses or CIDRs; none by default",
		func(s string) error { _, err := service.ParseTrustedProxies(s); return err })
	f.env("trusted-proxies", "JEVENTS_TRUSTED_PROXIES")
	f.DurationVar(&cfg.Webhooks.PauseAfter, "webhook-pause-after", def.Webhooks.PauseAfter, "how long a webhook target may keep failing before its subscription is paused (editors resume it)")
	f.env("webhook-pause-after", "JEVENTS_WEBHOOK_PAUSE_AFTER")
	f.BoolVar(&cfg.Webhooks.AllowPrivate, "webhook-allow-private", false, "let webhook targets be on loopback, private and link-local addresses (refused by default, after DNS resolution)")
	f.env("webhook-allow-private", "JEVENTS_WEBHOOK_ALLOW_PRIVATE")
	var embedOrigins string
	f.checkedVar(&embedOrigins, "embed-origins", "", "sites allowed to frame /embed, the calendar for partner sites: comma-separated origins (https://partner.example); none by default: any site",
		func(s string) error { _, err := service.ParseEmbedOrigins(s); return err })
	f.env("embed-origins", "JEVENTS_EMBED_ORIGINS")
	abuseFlags(f, &cfg, def) // limits.go
	mailFlags(f, &cfg.Mail)
	f.checkedVar(&logFormat, "log-format", "text", "log format: text or json", checkLogFormat)
	f.env("log-format", "JEVENTS_LOG_FORMAT")
	f.checkedVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error", checkLogLevel)
	f.env("log-level", "JEVENTS_LOG_LEVEL")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg.EditorToken = os.Getenv("JEVENTS_EDITOR_TOKEN")
	cfg.TrustedProxies, _ = service.ParseTrustedProxies(trustedProxies) // checked when set
	cfg.EmbedOrigins, _ = service.ParseEmbedOrigins(embedOrigins)       // checked when set
	cfg.Roles, _ = service.ParseRoles(roles)
	bi := readBuildInfo()
	cfg.Collectors = append(cfg.Collectors, bi.collector())
	if err := cfg.Validate(); err != nil {
		return inputError{err}
	}
	log := newLogger(stderr, logFormat, logLevel)
	log.Info("jevents", slog.String("version", bi.Version), slog.String("revision", bi.Revision), slog.String("go", bi.GoVersion))
	return service.Run(ctx, cfg, log)
}
