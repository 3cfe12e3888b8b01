package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
)

// A read model is folded from one incarnation of the event stream, and its
// checkpoint says which (Checkpoint.Stream). If the stream is removed and
// created again (an operator's mistake, a restore from an empty backup, a
// reset log), its sequences start over: the old checkpoint would make the
// projector wait for events after a sequence the new log may never reach,
// and the read model would go on showing conferences that are no longer in
// the log. So a projector compares the stream it finds with its
// checkpoint's, when it starts and every StreamCheckInterval while it runs:
//
//   - the stream is missing: it stops applying and says so (errStreamMissing),
//     retrying until the stream is back;
//   - it is another stream: it rebuilds the read model from the new log into
//     a new generation and switches to it, so nothing of the old log lingers
//     (Projector.lead); where it may not (on a cluster, only `jevents
//     rebuild` with the admin user moves the pointer), it stops loudly:
//     an error in the log each time it retries, and
//     jevents_projector_stream_replaced at 1, until someone rebuilds.
//
// It never goes on silently.

// StreamCheckInterval is how often a running projector checks that the
// event stream is still the one its read model is folded from.
const StreamCheckInterval = 2 * time.Second

// errStreamMissing: the event stream does not exist.
var errStreamMissing = errors.New("readmodel: the event stream " + domain.StreamName + " does not exist")

// errModelMissing: the active generation's bucket does not exist.
var errModelMissing = errors.New("readmodel: the active generation's bucket does not exist")

// StreamReplacedError says that the event stream is not the one the read
// model was folded from.
type StreamReplacedError struct {
	Bucket string
	// Was is the stream the checkpoint names (zero for an old checkpoint
	// that names none), Now the stream found.
	Was, Now StreamID
	Why      string
}

func (e *StreamReplacedError) Error() string {
	return fmt.Sprintf("readmodel: %s was folded from another event stream than the one there now (created %s): %s",
		e.Bucket, e.Now.Created.UTC().Format(time.RFC3339Nano), e.Why)
}

// streamState reads the event stream's identity and last sequence.
func streamState(ctx context.Context, js jetstream.JetStream) (StreamID, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	s, err := js.Stream(ctx, domain.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return StreamID{}, 0, errStreamMissing
	}
	if err != nil {
		return StreamID{}, 0, fmt.Errorf("readmodel: event stream info: %w", err)
	}
	info := s.CachedInfo()
	return StreamID{Created: info.Created}, info.State.LastSeq, nil
}

// checkStream compares a checkpoint with the stream found: another stream,
// or a checkpoint past the end of the log (an old checkpoint that names no
// stream, on a log that was reset), is a *StreamReplacedError.
func checkStream(bucket string, cp Checkpoint, now StreamID, last uint64) error {
	switch {
	case cp.Stream != nil && !cp.Stream.Same(now):
		return &StreamReplacedError{Bucket: bucket, Was: *cp.Stream, Now: now,
			Why: "the checkpoint names the stream created " + cp.Stream.Created.UTC().Format(time.RFC3339Nano)}
	case cp.Seq > last:
		e := &StreamReplacedError{Bucket: bucket, Now: now,
			Why: fmt.Sprintf("the checkpoint is at sequence %d, the log ends at %d", cp.Seq, last)}
		if cp.Stream != nil {
			e.Was = *cp.Stream
		}
		return e
	}
	return nil
}

// watchStream checks the stream every StreamCheckInterval until ctx ends,
// and cancels it with errStreamMissing or a *StreamReplacedError when the
// stream is gone or another one. Errors that say nothing about the stream
// (a timeout while the server is busy) are left to the next check.
func watchStream(ctx context.Context, js jetstream.JetStream, bucket string, id StreamID, cancel context.CancelCauseFunc) {
	t := time.NewTicker(StreamCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, _, err := streamState(ctx, js)
		switch {
		case errors.Is(err, errStreamMissing):
			cancel(errStreamMissing)
			return
		case err == nil && !now.Same(id):
			cancel(&StreamReplacedError{Bucket: bucket, Was: id, Now: now, Why: "the stream was removed and created again while the projector ran"})
			return
		}
	}
}
