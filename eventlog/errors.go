package eventlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
)

// ErrStreamMissing says that the event stream does not exist: it was never
// set up (`jevents setup`), or someone removed it. It always comes wrapped
// together with domain.ErrUnavailable, so callers answer 503 and retry.
var ErrStreamMissing = errors.New("the event stream " + domain.StreamName + " does not exist")

// How errors of NATS become the domain's:
//
//   - the stream's byte budget reached (DiscardNew): domain.ErrLogFull (507);
//   - the servers' storage full ("insufficient resources", no space left on
//     the device) or a Guard refusing: domain.ErrStorageFull (507);
//   - anything that says the log cannot be reached now (no connection, a
//     reconnect buffer that overflowed, no responders, timeouts, JetStream
//     disabled or without a leader, the stream missing):
//     domain.ErrUnavailable (503). Such an append may or may not have been
//     stored; a retry with the same Nats-Msg-Id (the same Idempotency-Key)
//     finds out and never stores it twice.
//
// Nothing of NATS reaches a handler unmapped, so no outage answers 500.

// isWrongLastSequence reports the server's refusal of an expected
// per-subject sequence (10071), or of an expectation it cannot check.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// isBatchDuplicate reports an atomic batch refused because one of its
// message ids is already stored (inside the duplicate window).
func isBatchDuplicate(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstreamext.JSErrCodeBatchPublishDuplicateMsgID
}

// isLogFull reports the stream's own limits: its byte budget.
func isLogFull(err error) bool {
	s := err.Error()
	return strings.Contains(s, "maximum bytes exceeded") || strings.Contains(s, "maximum messages exceeded")
}

// isStorageFull reports the servers' storage: JetStream's storage limit, or
// a disk with no space left.
func isStorageFull(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == 10023 { // JSInsufficientResourcesErr
		return true
	}
	s := err.Error()
	return strings.Contains(s, "insufficient resources") || strings.Contains(s, "insufficient storage") ||
		strings.Contains(s, "no space left")
}

// isTransient reports an error after which the log may answer again soon
// (a leader election, a reconnect): worth a retry with the same message id.
func isTransient(err error) bool {
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrStaleConnection) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return true
	}
	// The connection broke under the write (the server died): the client
	// reconnects by itself.
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10008, // JetStream system temporarily unavailable (no meta leader)
			10158, // the same message id is being stored right now
			jetstreamext.JSErrCodeAtomicPublishTooManyInflight,
			jetstreamext.JSErrCodeBatchPublishIncomplete: // abandoned half-way: nothing of it stored
			return true
		}
		return apiErr.Code == 503
	}
	return false
}

// isGone reports an error after which no retry can succeed within this
// call: the connection is closed for good, or the caller gave up.
func isGone(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) ||
		errors.Is(err, context.Canceled)
}

// isStreamNotFound reports the stream's absence as the server states it.
func isStreamNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound)
}

// streamMissing asks the server whether the event stream exists, within a
// second: true only on a definite "stream not found". A publish to a
// subject no stream binds answers "no responders", exactly as a stream
// between two leaders does; this tells the two apart, so a removed stream
// answers at once instead of after the whole deadline.
func (l *Log) streamMissing(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false // out of time: the caller answers "unavailable"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := l.js.Stream(ctx, domain.StreamName)
	return isStreamNotFound(err)
}

// unavailable wraps err as domain.ErrUnavailable, naming a missing stream.
func (l *Log) unavailable(op string, err error) error {
	if isStreamNotFound(err) || errors.Is(err, ErrStreamMissing) {
		return fmt.Errorf("eventlog: %s: %w: %w", op, domain.ErrUnavailable, ErrStreamMissing)
	}
	return fmt.Errorf("eventlog: %s: %w: %w", op, domain.ErrUnavailable, err)
}

// classify maps an error of a read or an append that is not retried any
// more to the domain's sentinels.
func (l *Log) classify(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isLogFull(err):
		return fmt.Errorf("eventlog: %s: %w: %v", op, domain.ErrLogFull, err)
	case isStorageFull(err):
		return fmt.Errorf("eventlog: %s: %w: %v", op, domain.ErrStorageFull, err)
	case isStreamNotFound(err):
		return l.unavailable(op, ErrStreamMissing)
	case errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders):
		if l.streamMissing(ctx) {
			return l.unavailable(op, ErrStreamMissing)
		}
		return l.unavailable(op, err)
	case isTransient(err) || isGone(err):
		return l.unavailable(op, err)
	case errors.Is(err, jetstreamext.ErrBatchPublishNotEnabled):
		return fmt.Errorf("eventlog: %s: the stream does not allow atomic batches; run `jevents setup` to update it: %w", op, err)
	}
	return fmt.Errorf("eventlog: %s: %w", op, err)
}
