package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
)

// streamCollector reads the event stream's state at each scrape, so that
// operators see its size against the byte budget it will refuse writes at.
type streamCollector struct {
	js  jetstream.JetStream
	log *slog.Logger
}

var (
	streamBytesDesc = prometheus.NewDesc("jevents_stream_bytes", "Bytes stored in the event stream.", nil, nil)
	streamMaxDesc   = prometheus.NewDesc("jevents_stream_max_bytes", "Byte budget of the event stream; appends fail once it is reached.", nil, nil)
	streamMsgsDesc  = prometheus.NewDesc("jevents_stream_messages", "Events stored in the event stream.", nil, nil)
	streamLastDesc  = prometheus.NewDesc("jevents_stream_last_sequence", "Sequence of the newest event in the stream.", nil, nil)
	streamUpDesc    = prometheus.NewDesc("jevents_stream_info_up", "1 when the stream's state could be read at this scrape.", nil, nil)
)

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamBytesDesc
	ch <- streamMaxDesc
	ch <- streamMsgsDesc
	ch <- streamLastDesc
	ch <- streamUpDesc
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.js.Stream(ctx, domain.StreamName)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(streamUpDesc, prometheus.GaugeValue, 0)
		return
	}
	info := s.CachedInfo()
	ch <- prometheus.MustNewConstMetric(streamUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(streamBytesDesc, prometheus.GaugeValue, float64(info.State.Bytes))
	ch <- prometheus.MustNewConstMetric(streamMaxDesc, prometheus.GaugeValue, float64(info.Config.MaxBytes))
	ch <- prometheus.MustNewConstMetric(streamMsgsDesc, prometheus.GaugeValue, float64(info.State.Msgs))
	ch <- prometheus.MustNewConstMetric(streamLastDesc, prometheus.GaugeValue, float64(info.State.LastSeq))
}
