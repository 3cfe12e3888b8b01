package export

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Options bound an export. Zero values: the whole stream.
type Options struct {
	// Stream is the stream to export (default JEVENTS).
	Stream string
	// From and To bound the records' times, [From, To); zero: unbounded.
	From, To time.Time
	// Progress, when set, is told the sequence done of the last one.
	Progress func(done, last uint64)
}

// Summary says what an export (or a verification, or an import) covered.
type Summary struct {
	Records  int    `json:"records"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Head     string `json:"head"`
}

// stallTimeout bounds a wait for the next message of the stream.
const stallTimeout = 30 * time.Second

// Write exports the stream up to its last event when Write began, as
// JSON Lines to w, signed with key.
func Write(ctx context.Context, js jetstream.JetStream, w io.Writer, key ed25519.PrivateKey, o Options) (Summary, error) {
	if o.Stream == "" {
		o.Stream = "JEVENTS"
	}
	s, err := js.Stream(ctx, o.Stream)
	if err != nil {
		return Summary{}, errorf("stream %s: %w", o.Stream, err)
	}
	info := s.CachedInfo()
	hdr := Header{Format: Format, Stream: o.Stream, StreamCreated: info.Created.UTC(), ExportedAt: time.Now().UTC(),
		Complete: o.From.IsZero() && o.To.IsZero()}
	if !o.From.IsZero() {
		f := o.From.UTC()
		hdr.From = &f
	}
	if !o.To.IsZero() {
		t := o.To.UTC()
		hdr.To = &t
	}
	hb, _ := json.Marshal(hdr)
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(hb)
	bw.WriteByte('\n')
	h := start(hb)
	sum := Summary{}
	last := info.State.LastSeq
	if last > 0 && info.State.Msgs > 0 {
		cons, err := js.OrderedConsumer(ctx, o.Stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			return Summary{}, errorf("consumer: %w", err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(2000))
		if err != nil {
			return Summary{}, errorf("consume: %w", err)
		}
		defer it.Stop()
		stop := context.AfterFunc(ctx, it.Stop)
		defer stop()
		for done := uint64(0); done < last; {
			m, err := it.Next()
			if err != nil {
				if ctx.Err() != nil {
					return Summary{}, ctx.Err()
				}
				return Summary{}, errorf("read after sequence %d: %w", done, err)
			}
			md, err := m.Metadata()
			if err != nil {
				return Summary{}, errorf("metadata: %w", err)
			}
			done = md.Sequence.Stream
			if o.Progress != nil && done%1000 == 0 {
				o.Progress(done, last)
			}
			r := Record{Seq: done, Time: md.Timestamp.UTC(), Subject: m.Subject(), Headers: map[string][]string{}}
			for k, v := range m.Headers() {
				if keep(k) {
					r.Headers[k] = v
				}
			}
			if v := m.Headers().Get(HeaderOriginalTime); v != "" {
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					return Summary{}, errorf("sequence %d: %s %q: %w", done, HeaderOriginalTime, v, err)
				}
				r.Time = t.UTC()
			}
			if (!o.From.IsZero() && r.Time.Before(o.From)) || (!o.To.IsZero() && !r.Time.Before(o.To)) {
				continue
			}
			sum.Records++
			r.N = sum.Records
			if sum.FirstSeq == 0 {
				sum.FirstSeq = done
			}
			sum.LastSeq = done
			rec := canonical(r, m.Data())
			h = link(h, rec)
			if _, err := bw.Write(recordLine(rec, h)); err != nil {
				return Summary{}, err
			}
			bw.WriteByte('\n')
		}
		if o.Progress != nil {
			o.Progress(last, last)
		}
	}
	head := Head{Records: sum.Records, FirstSeq: sum.FirstSeq, LastSeq: sum.LastSeq, Hash: hex.EncodeToString(h[:]),
		Key: publicKeyText(key.Public().(ed25519.PublicKey)), Algorithm: "Ed25519"}
	hd := encodeHead(head)
	bw.Write(headLine(hd, sign(key, hd)))
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return Summary{}, fmt.Errorf("export: write: %w", err)
	}
	sum.Head = head.Hash
	return sum, nil
}
