package main

import (
	"flag"
	"time"

	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/service"
)

// abuseFlags are serve's limits on what the public may do: the intake
// gate (README: Limits), the public listener's connections, the operators'
// listener and the feed cache. A negative count turns a limit off.
func abuseFlags(fs *flag.FlagSet, cfg *service.Config) {
	in := &cfg.Intake
	fs.DurationVar(&in.Window, "intake-window", envDuration("JEVENTS_INTAKE_WINDOW", admission.DefaultWindow), "period the intake limits count over, 1m to 24h (JEVENTS_INTAKE_WINDOW)")
	fs.IntVar(&in.PerAddress, "intake-per-address", int(envInt("JEVENTS_INTAKE_PER_ADDRESS", admission.DefaultPerAddress)), "submissions (each VEVENT of a file counts) one client address may make per window, in each intake process; -1: no limit (JEVENTS_INTAKE_PER_ADDRESS)")
	fs.IntVar(&in.PerContact, "intake-per-contact", int(envInt("JEVENTS_INTAKE_PER_CONTACT", admission.DefaultPerContact)), "submissions per contact e-mail per window, in each intake process; -1: no limit (JEVENTS_INTAKE_PER_CONTACT)")
	fs.IntVar(&in.Quota, "intake-quota", int(envInt("JEVENTS_INTAKE_QUOTA", admission.DefaultQuota)), "submissions per window from everyone, all intake processes together; -1: no limit (JEVENTS_INTAKE_QUOTA)")
	fs.Int64Var(&in.QuotaBytes, "intake-quota-bytes", envInt("JEVENTS_INTAKE_QUOTA_BYTES", admission.DefaultQuotaBytes), "bytes submissions may add to the log per window, all intake processes together; -1: no limit (JEVENTS_INTAKE_QUOTA_BYTES)")
	fs.Int64Var(&in.Reserve, "log-reserve-bytes", envInt("JEVENTS_LOG_RESERVE_BYTES", 0), "bytes of the log's budget only editors' commands may use; 0: a tenth of the budget (JEVENTS_LOG_RESERVE_BYTES)")
	fs.IntVar(&cfg.Conns.Max, "max-conns", int(envInt("JEVENTS_MAX_CONNS", 4096)), "connections the public listener holds at once, at most half the open-file limit; -1: no limit (JEVENTS_MAX_CONNS)")
	fs.IntVar(&cfg.Conns.PerAddress, "max-conns-per-address", int(envInt("JEVENTS_MAX_CONNS_PER_ADDRESS", 128)), "connections from one client address, trusted proxies excepted; -1: no limit (JEVENTS_MAX_CONNS_PER_ADDRESS)")
	fs.DurationVar(&cfg.Conns.IdleTimeout, "idle-timeout", envDuration("JEVENTS_IDLE_TIMEOUT", 60*time.Second), "how long a keep-alive connection may wait for its next request (JEVENTS_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.Conns.BusyIdleTimeout, "busy-idle-timeout", envDuration("JEVENTS_BUSY_IDLE_TIMEOUT", 5*time.Second), "the idle and first-request timeout once half a connection limit is reached (JEVENTS_BUSY_IDLE_TIMEOUT)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", env("JEVENTS_METRICS_LISTEN", "127.0.0.1:9180"), "operators' listener for /metrics, /healthz and /readyz, apart from --http; - for none (JEVENTS_METRICS_LISTEN)")
	fs.Int64Var(&cfg.FeedCacheBytes, "feed-cache-bytes", envInt("JEVENTS_FEED_CACHE_BYTES", 256<<20), "memory for prepared feeds and read-API answers on feed servers (JEVENTS_FEED_CACHE_BYTES)")
}
