package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/embednats"
	"github.com/justiceevents/jevents/projections/engine"
)

// natsFlags are the connection flags to a NATS cluster.
func natsFlags(f *cmdFlags, a *service.NATSAuth, urls *string, urlsUsage string) {
	for _, fl := range []struct {
		p                   *string
		name, variable, use string
	}{
		{urls, "nats", "JEVENTS_NATS_URL", urlsUsage},
		{&a.User, "nats-user", "JEVENTS_NATS_USER", "NATS user, with --nats"},
		{&a.Password, "nats-password", "JEVENTS_NATS_PASSWORD", "NATS password, with --nats"},
		{&a.NKeyFile, "nats-nkey", "JEVENTS_NATS_NKEY", "NATS nkey seed file, with --nats"},
		{&a.CredsFile, "nats-creds", "JEVENTS_NATS_CREDS", "NATS credentials file, with --nats"},
		{&a.TLSCA, "nats-tls-ca", "JEVENTS_NATS_TLS_CA", "CA certificate to verify NATS servers"},
		{&a.TLSCert, "nats-tls-cert", "JEVENTS_NATS_TLS_CERT", "client certificate for NATS"},
		{&a.TLSKey, "nats-tls-key", "JEVENTS_NATS_TLS_KEY", "client key for NATS"},
		{&a.InboxPrefix, "nats-inbox-prefix", "JEVENTS_NATS_INBOX_PREFIX", "subject prefix for replies instead of _INBOX, e.g. _INBOX.intake: the one the NATS user may subscribe to"},
	} {
		f.StringVar(fl.p, fl.name, "", fl.use)
		f.env(fl.name, fl.variable)
	}
}

// natsTarget is where the log-level commands (rebuild, seed, setup) work:
// the cluster of --nats, or else the embedded server of the `jevents
// serve` running on --data, reached with the URL and credentials that
// server wrote into its data directory.
type natsTarget struct {
	auth service.NATSAuth
	urls string
	data string
}

func (t *natsTarget) define(f *cmdFlags) {
	natsFlags(f, &t.auth, &t.urls, "NATS server URLs, comma-separated; default: the embedded server of the jevents serve running on --data, "+
		"with the URL and credentials it wrote to <data>/"+embednats.ContextFile+" (the --nats-* credentials apply to --nats only)")
	f.StringVar(&t.data, "data", service.Defaults().DataDir, "data directory of the running jevents serve whose embedded server to use when --nats is not given")
	f.env("data", "JEVENTS_DATA")
}

func (t *natsTarget) dial(name string) (*nats.Conn, jetstream.JetStream, error) {
	if t.urls == "" {
		return service.DialLocal(t.data, name)
	}
	return service.Dial(t.urls, t.auth, name)
}

func rebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCmd(rebuildSpec, stdout)
	var (
		target   natsTarget
		replicas int
	)
	target.define(f)
	f.IntVar(&replicas, "replicas", 0, "replicas of the new read-model buckets; default 3 on a cluster, 1 on a single server")
	f.env("replicas", "JEVENTS_REPLICAS")
	def := service.Defaults()
	dry := f.Bool("dry-run", false, "report what a rebuild would change (records per read model, field differences, feeds whose ETag changes) and switch nothing")
	var publicURL string
	f.checkedVar(&publicURL, "public-url", "", "with --dry-run: the feed servers' --public-url, so the ETags shown are theirs (default http://"+def.HTTP+")",
		func(s string) error {
			if s == "" {
				return nil
			}
			return service.CheckPublicURL(s)
		})
	f.env("public-url", "JEVENTS_PUBLIC_URL")
	var window time.Duration
	f.DurationVar(&window, "feed-window", def.FeedWindow, "with --dry-run: the feed servers' --feed-window")
	f.env("feed-window", "JEVENTS_FEED_WINDOW")
	if err := f.parse(args); err != nil {
		return err
	}
	if replicas < 0 || replicas > 5 {
		return inputError{fmt.Errorf("--replicas %d: must be 1 to 5", replicas)}
	}
	nc, js, err := target.dial("jevents rebuild")
	if err != nil {
		return err
	}
	defer nc.Close()
	if replicas == 0 {
		replicas = defaultReplicas(nc)
	}
	p := newProgress(stderr, "jevents rebuild", "events")
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *dry {
		rep, err := service.DryRun(ctx, js, service.DryRunConfig{Replicas: replicas, PublicURL: publicURL, FeedWindow: window, Progress: p.report}, log)
		if err != nil {
			return err
		}
		for _, d := range rep.Models {
			fmt.Fprintf(stderr, "jevents rebuild --dry-run: %s: %d added, %d removed, %d changed of %d records\n",
				d.Projection, d.AddedCount, d.RemovedCount, d.ChangedCount, d.Records)
		}
		fmt.Fprintf(stderr, "jevents rebuild --dry-run: %d of %d feeds would change their ETag; nothing was switched\n", len(rep.Feeds.Changed), rep.Feeds.Compared)
		b, _ := json.Marshal(rep)
		return printJSON(stdout, b)
	}
	res, err := service.Rebuild(ctx, js, replicas, log, engine.WithProgress(p.report))
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	return printJSON(stdout, b)
}

// setup creates or updates the event stream and creates the buckets on an
// external NATS deployment. It is the only command that needs the admin
// user: the roles never create or change the stream (service.Setup).
func setup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCmd(setupSpec, stdout)
	var (
		target   natsTarget
		replicas int
		maxBytes int64
		timeout  time.Duration
	)
	target.define(f)
	f.IntVar(&replicas, "replicas", 0, "replicas of the stream and buckets; default 3 on a cluster, 1 on a single server")
	f.env("replicas", "JEVENTS_REPLICAS")
	f.Int64Var(&maxBytes, "log-max-bytes", service.Defaults().LogMaxBytes, "byte budget of the event stream")
	f.env("log-max-bytes", "JEVENTS_LOG_MAX_BYTES")
	f.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the cluster")
	f.env("timeout", "JEVENTS_SETUP_TIMEOUT")
	if err := f.parse(args); err != nil {
		return err
	}
	if maxBytes < 1<<20 {
		return inputError{fmt.Errorf("--log-max-bytes %d: must be at least 1 MiB (1048576)", maxBytes)}
	}
	if replicas < 0 || replicas > 5 {
		return inputError{fmt.Errorf("--replicas %d: must be 1 to 5", replicas)}
	}
	nc, js, err := target.dial("jevents setup")
	if err != nil {
		return err
	}
	defer nc.Close()
	if replicas == 0 {
		replicas = defaultReplicas(nc)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
