package main

import (
	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/admission"
)

// abuseFlags are serve's limits on what the public may do: the intake
// gate (README: Limits), the public listener's connections, the operators'
// listener and the feed cache. A negative count turns a limit off.
func abuseFlags(f *cmdFlags, cfg *service.Config, def service.Config) {
	in := &cfg.Intake
	f.DurationVar(&in.Window, "intake-window", admission.DefaultWindow, "period the intake limits count over, 1m to 24h")
	f.env("intake-window", "JEVENTS_INTAKE_WINDOW")
	f.IntVar(&in.PerAddress, "intake-per-address", admission.DefaultPerAddress, "submissions (each VEVENT of a file counts) one client address may make per window, in each intake process; -1: no limit")
	f.env("intake-per-address", "JEVENTS_INTAKE_PER_ADDRESS")
	f.IntVar(&in.PerContact, "intake-per-contact", admission.DefaultPerContact, "submissions per contact e-mail per window, in each intake process; -1: no limit")
	f.env("intake-per-contact", "JEVENTS_INTAKE_PER_CONTACT")
	f.IntVar(&in.Quota, "intake-quota", admission.DefaultQuota, "submissions per window from everyone, all intake processes together; -1: no limit")
	f.env("intake-quota", "JEVENTS_INTAKE_QUOTA")
	f.Int64Var(&in.QuotaBytes, "intake-quota-bytes", admission.DefaultQuotaBytes, "bytes submissions may add to the log per window, all intake processes together; -1: no limit")
	f.env("intake-quota-bytes", "JEVENTS_INTAKE_QUOTA_BYTES")
	f.Int64Var(&in.Reserve, "log-reserve-bytes", 0, "bytes of the log's budget only editors' commands may use; 0: a tenth of the budget")
	f.env("log-reserve-bytes", "JEVENTS_LOG_RESERVE_BYTES")
	f.IntVar(&cfg.Conns.Max, "max-conns", def.Conns.Max, "connections the public listener holds at once, at most half the open-file limit; -1: no limit")
	f.env("max-conns", "JEVENTS_MAX_CONNS")
	f.IntVar(&cfg.Conns.PerAddress, "max-conns-per-address", def.Conns.PerAddress, "connections from one client address, trusted proxies excepted; -1: no limit")
	f.env("max-conns-per-address", "JEVENTS_MAX_CONNS_PER_ADDRESS")
	f.DurationVar(&cfg.Conns.IdleTimeout, "idle-timeout", def.Conns.IdleTimeout, "how long a keep-alive connection may wait for its next request")
	f.env("idle-timeout", "JEVENTS_IDLE_TIMEOUT")
	f.DurationVar(&cfg.Conns.BusyIdleTimeout, "busy-idle-timeout", def.Conns.BusyIdleTimeout, "the idle and first-request timeout once half a connection limit is reached")
	f.env("busy-idle-timeout", "JEVENTS_BUSY_IDLE_TIMEOUT")
	f.checkedVar(&cfg.MetricsListen, "metrics-listen", def.MetricsListen, "operators' listener for /metrics, /healthz and /readyz, apart from --http; - for none",
		func(s string) error {
			if s == "-" {
				return nil
			}
			return service.CheckHTTPAddr(s)
		})
	f.env("metrics-listen", "JEVENTS_METRICS_LISTEN")
	f.Int64Var(&cfg.FeedCacheBytes, "feed-cache-bytes", def.FeedCacheBytes, "memory for prepared feeds and read-API answers on feed servers")
	f.env("feed-cache-bytes", "JEVENTS_FEED_CACHE_BYTES")
	f.Int64Var(&cfg.AsOfCacheBytes, "as-of-cache-bytes", def.AsOfCacheBytes, "memory for answering ?as_of= on feed servers: the read models as of past instants and their feeds")
	f.env("as-of-cache-bytes", "JEVENTS_AS_OF_CACHE_BYTES")
	f.Uint64Var(&cfg.AsOfMaxEvents, "as-of-max-events", def.AsOfMaxEvents, "events one ?as_of= request may have a projector replay (past it: 503)")
	f.env("as-of-max-events", "JEVENTS_AS_OF_MAX_EVENTS")
}
