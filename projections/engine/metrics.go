package engine

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the projectors' and replicas' Prometheus series, labelled by
// projection.
type Metrics struct {
	lag            *lagCollector // applied sequence, lag in events and seconds
	commitSeconds  *prometheus.HistogramVec
	events         *prometheus.CounterVec
	fenced         *prometheus.CounterVec
	caughtUp       *prometheus.GaugeVec
	active         *prometheus.GaugeVec
	streamReplaced *prometheus.GaugeVec
	replicaSeq     *prometheus.GaugeVec
	replicaReady   *prometheus.GaugeVec
	replicaReload  *prometheus.CounterVec
	replicaKeys    *prometheus.GaugeVec
	replicaBytes   *prometheus.GaugeVec
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	l := []string{"projection"}
	m := &Metrics{
		lag: newLagCollector(),
		commitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "projector", Name: "commit_duration_seconds",
			Help:    "Time to commit one atomic batch of changed keys and the checkpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, l),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "projector", Name: "events_total",
			Help: "Events folded into the read model, by outcome (applied, skipped: poison that cannot be applied)."}, []string{"projection", "outcome"}),
		fenced: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "projector", Name: "fenced_total",
			Help: "Commits refused because another projector moved the checkpoint first."}, l),
		caughtUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "projector", Name: "caught_up",
			Help: "1 once the projector has applied every event that was in the log when it started."}, l),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "projector", Name: "active",
			Help: "1 while this projector holds the lease and applies events; 0 while it stands by."}, l),
		streamReplaced: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "projector", Name: "stream_replaced",
			Help: "1 while the read model does not match the event log (the stream was removed and created again, or the active generation is gone) and the projector has not rebuilt it yet; run `jevents rebuild` when it stays 1."}, l),
		replicaSeq: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "readmodel", Name: "replica_sequence",
			Help: "Checkpoint of the read model as this server's in-memory replica last saw it."}, l),
		replicaReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "readmodel", Name: "replica_ready",
			Help: "1 once this server holds a full copy of the read model."}, l),
		replicaReload: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "readmodel", Name: "replica_reloads_total",
			Help: "Full reloads of the in-memory replica (start, generation switch, lost watch)."}, l),
		replicaKeys: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "readmodel", Name: "replica_keys",
			Help: "Records this server's in-memory replica holds (public servers: published conferences only)."}, l),
		replicaBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "readmodel", Name: "replica_value_bytes",
			Help: "Encoded bytes of the records this server's replica holds: a measure of its memory (docs/performance.md gives the factor)."}, l),
	}
	if reg != nil {
		reg.MustRegister(m.lag, m.commitSeconds, m.events, m.fenced, m.caughtUp, m.active, m.streamReplaced,
			m.replicaSeq, m.replicaReady, m.replicaReload, m.replicaKeys, m.replicaBytes)
	}
	return m
}
