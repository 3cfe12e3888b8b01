package asof

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// The protocol on Subject. A request is JSON, {"as_of": RFC 3339, "have":
// [Ref]}: have lists the snapshots the requester holds already. The
// answer is one or more messages to the request's reply subject:
//
//	Jevents-Asof-Status  ok, or the error: future, busy, over_budget, unavailable, error
//	Jevents-Asof-Error   the error's text
//	Jevents-Asof-Seq     the sequence the instant's prefix ends at
//	Jevents-Asof-Stream  the creation time of the stream (RFC 3339) it is a prefix of
//	Jevents-Asof-Chunks  how many chunks the snapshot takes (0: the requester has it)
//	Jevents-Asof-Chunk   this chunk's number, from 1
//	Jevents-Asof-Sha256  the whole snapshot's SHA-256 (hex), on every chunk
//
// with the encoded snapshot (Replayer.Snapshot) cut into chunks of
// chunkSize bytes. Core NATS delivers them in order on one route; a lost
// chunk shows as a missing number or a wrong digest, and the request is
// tried again.
const (
	hdrStatus = "Jevents-Asof-Status"
	hdrError  = "Jevents-Asof-Error"
	hdrSeq    = "Jevents-Asof-Seq"
	hdrStream = "Jevents-Asof-Stream"
	hdrChunks = "Jevents-Asof-Chunks"
	hdrChunk  = "Jevents-Asof-Chunk"
	hdrSHA    = "Jevents-Asof-Sha256"
)

// chunkSize stays well below NATS's default 1 MiB message limit.
const chunkSize = 512 << 10

type request struct {
	AsOf time.Time `json:"as_of"`
	Have []Ref     `json:"have,omitempty"`
}

var statusOf = map[error]string{ErrFuture: "future", ErrBusy: "busy", ErrOverBudget: "over_budget", ErrUnavailable: "unavailable"}

// Serve answers snapshot requests on Subject until ctx ends. Each request
// is answered on its own goroutine; the Replayer bounds how many replay.
func (r *Replayer) Serve(ctx context.Context, nc *nats.Conn) error {
	sub, err := nc.QueueSubscribe(Subject, queueGroup, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		go r.answer(ctx, nc, m)
	})
	if err != nil {
		return fmt.Errorf("asof: subscribe %s: %w", Subject, err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

func (r *Replayer) answer(ctx context.Context, nc *nats.Conn, m *nats.Msg) {
	var req request
	if err := json.Unmarshal(m.Data, &req); err != nil || req.AsOf.IsZero() {
		r.reply(nc, m.Reply, "error", "the request is not {\"as_of\": RFC 3339}", Ref{}, nil, nil)
		return
	}
	ref, data, err := r.Snapshot(ctx, req.AsOf)
	if err != nil {
		status := "error"
		for e, s := range statusOf {
			if errors.Is(err, e) {
				status = s
			}
		}
		if status == "error" {
			r.log.Error("as-of snapshot failed", slog.Time("as_of", req.AsOf), slog.Any("err", err))
		}
		r.reply(nc, m.Reply, status, err.Error(), Ref{}, nil, nil)
		return
	}
	if slices.ContainsFunc(req.Have, func(h Ref) bool { return h.Key() == ref.Key() }) {
		r.reply(nc, m.Reply, "ok", "", ref, nil, nil)
		return
	}
	sum := sha256.Sum256(data)
	r.reply(nc, m.Reply, "ok", "", ref, data, sum[:])
}

func (r *Replayer) reply(nc *nats.Conn, to, status, text string, ref Ref, data, sum []byte) {
	n := (len(data) + chunkSize - 1) / chunkSize
	for i := 0; i < max(n, 1); i++ {
		msg := nats.NewMsg(to)
		msg.Header.Set(hdrStatus, status)
		if text != "" {
			msg.Header.Set(hdrError, text)
		}
		msg.Header.Set(hdrSeq, strconv.FormatUint(ref.Seq, 10))
		msg.Header.Set(hdrStream, ref.Stream.UTC().Format(time.RFC3339Nano))
		msg.Header.Set(hdrChunks, strconv.Itoa(n))
		if n > 0 {
			msg.Header.Set(hdrChunk, strconv.Itoa(i+1))
			msg.Header.Set(hdrSHA, hex.EncodeToString(sum))
			msg.Data = data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		}
		if err := nc.PublishMsg(msg); err != nil {
			r.log.Warn("as-of answer not sent", slog.Any("err", err))
			return
		}
	}
}

// Client asks the projectors for snapshots. Safe for concurrent use.
type Client struct {
	nc *nats.Conn
}

// NewClient returns a client on nc (whose inbox prefix its NATS user may
// subscribe to).
func NewClient(nc *nats.Conn) *Client { return &Client{nc: nc} }

// chunkWait bounds the wait for the next chunk once the first came.
const chunkWait = 10 * time.Second

// Snapshot asks for the models as of at. When the prefix is one listed
// in have, it returns it and a nil snapshot. ctx bounds the whole
// request (a replay may take the replayer's Config.Timeout).
func (c *Client) Snapshot(ctx context.Context, at time.Time, have []Ref) (Ref, *Snapshot, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var ref Ref
		var snap *Snapshot
		ref, snap, err = c.snapshot(ctx, at, have)
		if !errors.Is(err, errGarbled) {
			return ref, snap, err
		}
	}
	return Ref{}, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

var errGarbled = errors.New("asof: snapshot lost on the way")

func (c *Client) snapshot(ctx context.Context, at time.Time, have []Ref) (Ref, *Snapshot, error) {
	body, _ := json.Marshal(request{AsOf: at.UTC(), Have: have})
	inbox := c.nc.NewInbox()
	ch := make(chan *nats.Msg, 64)
	sub, err := c.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return Ref{}, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, 1<<30)
	if err := c.nc.PublishRequest(Subject, inbox, body); err != nil {
		return Ref{}, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var (
		data  []byte
		got   int
		sum   string
		total = -1
		ref   Ref
	)
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	for {
		if total >= 0 {
			wait.Reset(chunkWait)
		}
		var m *nats.Msg
		select {
		case <-ctx.Done():
			if total >= 0 {
				return Ref{}, nil, errGarbled
			}
			return Ref{}, nil, fmt.Errorf("%w: no answer in time: %w", ErrBusy, ctx.Err())
		case <-wait.C:
			return Ref{}, nil, errGarbled
		case m = <-ch:
		}
		if m.Header.Get("Status") == "503" {
			return Ref{}, nil, fmt.Errorf("%w: no projector answers as-of requests", ErrUnavailable)
		}
		status := m.Header.Get(hdrStatus)
		if status != "ok" {
			text := m.Header.Get(hdrError)
			for e, s := range statusOf {
				if s == status {
					return Ref{}, nil, fmt.Errorf("%w: %s", e, text)
				}
			}
			return Ref{}, nil, fmt.Errorf("asof: %s", text)
		}
		n, err1 := strconv.Atoi(m.Header.Get(hdrChunks))
		s, err2 := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
		st, err3 := time.Parse(time.RFC3339Nano, m.Header.Get(hdrStream))
		if err1 != nil || err2 != nil || err3 != nil {
			return Ref{}, nil, errGarbled
		}
		r := Ref{Stream: st, Seq: s}
		if n == 0 {
			return r, nil, nil
		}
		i, _ := strconv.Atoi(m.Header.Get(hdrChunk))
		if total < 0 {
			total, ref, sum = n, r, m.Header.Get(hdrSHA)
		}
		if i != got+1 || n != total || r.Key() != ref.Key() || m.Header.Get(hdrSHA) != sum {
			return Ref{}, nil, errGarbled
		}
		got++
		data = append(data, m.Data...)
		if got < total {
			continue
		}
		if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
			return Ref{}, nil, errGarbled
		}
		snap, err := Decode(data)
		if err != nil {
			return Ref{}, nil, err
		}
		if snap.Ref().Key() != ref.Key() {
			return Ref{}, nil, errGarbled
		}
		return ref, snap, nil
	}
}
