package export

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ImportOptions configure an import.
type ImportOptions struct {
	// Stream is the stream to restore into (default: the export's).
	Stream string
	// Key is the public key the head must be signed with; nil checks the
	// hash chain only.
	Key ed25519.PublicKey
	// Progress, when set, is told the records done of all.
	Progress func(done, total int)
	// Imported, when set, is told the subject of every record as it is
	// published, so that the caller can restore what lives outside the
	// stream (the editors' plans: cmd/jevents import). Act on them only
	// once Import returned without error: then every one is stored.
	Imported func(subject string)
}

// ErrNotEmpty refuses an import into a stream that holds (or held)
// events: the imported ones must get the sequences they had.
var ErrNotEmpty = errors.New("the stream is not empty")

// window is how many publishes of an import are in flight.
const window = 512

// gapSubject is where an import puts the placeholders that keep a gap of
// the source's sequences (deleted at once): a subject of the stream no
// projection reads.
const gapSubject = "events.import.gap.placeholder"

// Import restores the export in file into an empty stream, every event
// at the sequence it had, with its headers and data byte for byte (and
// its source stream time in HeaderOriginalTime). The whole file is
// verified first (the chain, and the signature when o.Key is set): a file
// that does not verify changes nothing. Only a complete export is taken.
//
// Gaps in the source's sequences (a stream that started later, or lost
// messages) are kept: the empty stream is created again starting at the
// first sequence, with deletions allowed while the gaps are made (a
// placeholder published and deleted), then denied again. That needs the
// permission to manage streams (the embedded server's user, or admin).
//
// Nothing else may write the stream meanwhile: every publish expects the
// sequence before it, so a write from elsewhere stops the import with an
// error (start the target with no traffic: a fresh `jevents serve
// --no-seed`).
func Import(ctx context.Context, js jetstream.JetStream, file string, o ImportOptions) (Summary, error) {
	// Pass 1: verify everything, note the gaps.
	f, err := os.Open(file)
	if err != nil {
		return Summary{}, err
	}
	var gaps [][2]uint64 // [from, to] inclusive, between records
	var prev uint64
	hdr, sum, err := read(f, o.Key, func(_ Header, r Record) error {
		if prev != 0 && r.Seq != prev+1 {
			gaps = append(gaps, [2]uint64{prev + 1, r.Seq - 1})
		}
		prev = r.Seq
		return nil
	})
	f.Close()
	if err != nil {
		return Summary{}, err
	}
	if !hdr.Complete {
		return Summary{}, errorf("the export holds part of the stream (a time range): only a complete export restores it")
	}
	if o.Stream == "" {
		o.Stream = hdr.Stream
	}
	s, err := js.Stream(ctx, o.Stream)
	if err != nil {
		return Summary{}, errorf("stream %s: %w (start `jevents serve --no-seed` on the data directory, or run `jevents setup`, first)", o.Stream, err)
	}
	info := s.CachedInfo()
	if info.State.Msgs != 0 || info.State.LastSeq != 0 {
		return Summary{}, fmt.Errorf("export: %s holds %d events up to sequence %d: %w (import into a fresh one: `jevents serve --no-seed` on an empty data directory)",
			o.Stream, info.State.Msgs, info.State.LastSeq, ErrNotEmpty)
	}
	if sum.Records == 0 {
		return sum, nil
	}
	cfg := info.Config
	gapped := sum.FirstSeq != 1 || len(gaps) > 0
	if gapped {
		// Made again: starting at the first sequence, deletions allowed
		// until the gaps are made.
		if err := js.DeleteStream(ctx, o.Stream); err != nil {
			return Summary{}, errorf("make %s again to keep the source's gaps: %w", o.Stream, err)
		}
		tmp := cfg
		tmp.FirstSeq, tmp.DenyDelete = sum.FirstSeq, false
		if s, err = js.CreateStream(ctx, tmp); err != nil {
			return Summary{}, errorf("make %s again starting at %d: %w", o.Stream, sum.FirstSeq, err)
		}
	}

	// Pass 2: publish, each event expecting the one before it.
	f, err = os.Open(file)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	p := &publisher{js: js, stream: o.Stream, last: sum.FirstSeq - 1}
	done := 0
	_, _, err = read(f, o.Key, func(_ Header, r Record) error {
		for len(gaps) > 0 && gaps[0][1] < r.Seq {
			if err := p.gap(ctx, s, gaps[0][0], gaps[0][1]); err != nil {
				return err
			}
			gaps = gaps[1:]
		}
		if err := p.publish(ctx, r); err != nil {
			return err
		}
		if o.Imported != nil {
			o.Imported(r.Subject)
		}
		if done++; o.Progress != nil && done%1000 == 0 {
			o.Progress(done, sum.Records)
		}
		return nil
	})
	if err == nil {
		err = p.settle(ctx)
	}
	if err != nil {
		return Summary{}, err
	}
	if gapped {
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return Summary{}, errorf("deny deletions on %s again: %w", o.Stream, err)
		}
	}
	if o.Progress != nil {
		o.Progress(sum.Records, sum.Records)
	}
	return sum, nil
}

// publisher publishes records in order, window at a time.
type publisher struct {
	js      jetstream.JetStream
	stream  string
	last    uint64 // the sequence the next publish expects before it
	pending []pendingAck
}

type pendingAck struct {
	seq uint64
	f   jetstream.PubAckFuture
}

func (p *publisher) publish(ctx context.Context, r Record) error {
	data, err := r.Bytes()
	if err != nil {
		return err
	}
	m := nats.NewMsg(r.Subject)
	m.Data = data
	for k, v := range r.Headers {
		m.Header[k] = v
	}
	m.Header.Set(HeaderOriginalTime, r.Time.UTC().Format(time.RFC3339Nano))
	f, err := p.js.PublishMsgAsync(m, jetstream.WithExpectStream(p.stream), jetstream.WithExpectLastSequence(p.last),
		jetstream.WithStallWait(time.Minute))
	if err != nil {
		return errorf("publish sequence %d: %w", r.Seq, err)
	}
	p.pending = append(p.pending, pendingAck{seq: r.Seq, f: f})
	p.last = r.Seq
	if len(p.pending) >= window {
		return p.settle(ctx)
	}
	return nil
}

// settle waits for every publish in flight and checks where each landed.
func (p *publisher) settle(ctx context.Context) error {
	defer func() { p.pending = p.pending[:0] }()
	for _, pa := range p.pending {
		select {
		case ack := <-pa.f.Ok():
			if ack.Duplicate || ack.Sequence != pa.seq {
				return errorf("sequence %d was stored at %d (duplicate %v): something else writes the stream; start again on a fresh one", pa.seq, ack.Sequence, ack.Duplicate)
			}
		case err := <-pa.f.Err():
			return errorf("sequence %d: %w (something else writes the stream, or it is full: start again on a fresh one)", pa.seq, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return errorf("sequence %d: no acknowledgement within a minute", pa.seq)
		}
	}
	return nil
}

// gap makes sequences from..to exist and be deleted, as in the source.
func (p *publisher) gap(ctx context.Context, s jetstream.Stream, from, to uint64) error {
	if err := p.settle(ctx); err != nil {
		return err
	}
	for seq := from; seq <= to; seq++ {
		ack, err := p.js.Publish(ctx, gapSubject, nil, jetstream.WithExpectStream(p.stream), jetstream.WithExpectLastSequence(seq-1))
		if err != nil || ack.Sequence != seq {
			return errorf("placeholder for the gap at %d: %v", seq, err)
		}
		if err := s.DeleteMsg(ctx, seq); err != nil {
			return errorf("delete the placeholder at %d: %w", seq, err)
		}
	}
	p.last = to
	return nil
}
