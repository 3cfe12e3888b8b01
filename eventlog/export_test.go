package eventlog

import (
	"context"
	"math"

	"github.com/nats-io/nats.go/jetstream"
)

// ScanForTest reads every event on subject with the subject-filtered scan
// Load used before events named their predecessor (and still uses for
// events stored before that).
func (l *Log) ScanForTest(ctx context.Context, subject string) ([]*jetstream.RawStreamMsg, error) {
	return l.scan(ctx, subject, 1, math.MaxUint64)
}
