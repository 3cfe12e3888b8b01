package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// Progress is told how far a replay of the log is: the stream sequence of
// the last event done, of total (the log's last sequence when it started),
// for a projection. It is called from the replay's goroutine, often: it
// must be quick.
type Progress func(projection string, done, total uint64)

// RebuildOption configures Rebuild and DryRun.
type RebuildOption func(*rebuildOptions)

type rebuildOptions struct {
	progress Progress
}

// WithProgress reports the replay's progress to p.
func WithProgress(p Progress) RebuildOption {
	return func(o *rebuildOptions) { o.progress = p }
}

// A dry-run rebuild answers "what would `jevents rebuild` change?" without
// changing anything. It reads the active generation of the model (its
// values and checkpoint, in one watch) and folds the log, with the
// projection as this binary has it, in memory up to exactly that
// checkpoint: the two are the same events folded by the old code (or an
// older log's history of it) and by the new, so every difference is the
// projection's, never events that arrived meanwhile. No bucket is written
// (so there is nothing to clean up, and no storage is used), and nothing
// switches.

// MaxDiffKeys bounds the keys a Diff lists per kind; the counts are
// always exact.
const MaxDiffKeys = 1000

// maxSamples and maxSampleFields bound the field-level differences shown.
const (
	maxSamples      = 5
	maxSampleFields = 20
)

// Diff is what a rebuild would change in one read model.
type Diff struct {
	Projection string `json:"projection"`
	// Active is the bucket compared with, Sequence its checkpoint: the
	// new fold is made of the events up to it.
	Active   string `json:"active"`
	Sequence uint64 `json:"sequence"`
	// Records is how many keys the rebuilt model would hold.
	Records int `json:"records"`
	// The keys added, removed and changed, sorted (at most MaxDiffKeys
	// each; the counts are exact).
	AddedCount   int      `json:"added_count"`
	RemovedCount int      `json:"removed_count"`
	ChangedCount int      `json:"changed_count"`
	Added        []string `json:"added"`
	Removed      []string `json:"removed"`
	Changed      []string `json:"changed"`
	Truncated    bool     `json:"truncated,omitempty"`
	// Samples are the field-level differences of the first changed
	// records.
	Samples []RecordDiff `json:"samples"`

	// Old and New are the model's values before and after, by key, for
	// whoever compares what they render (the composition root compares
	// feeds' ETags).
	Old map[string]json.RawMessage `json:"-"`
	New map[string]json.RawMessage `json:"-"`
}

// Unchanged reports whether the rebuild would change nothing.
func (d Diff) Unchanged() bool { return d.AddedCount+d.RemovedCount+d.ChangedCount == 0 }

// RecordDiff is one changed record's fields that differ.
type RecordDiff struct {
	Key    string      `json:"key"`
	Fields []FieldDiff `json:"fields"`
}

// FieldDiff is one field's value before and after ("path" in dots, array
// elements by index: details.sponsors.0.name); a missing side is absent.
type FieldDiff struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// DryRun compares the model's active generation with a fold of the log up
// to its checkpoint, by the projection as it is now.
func (d *Definition[V]) DryRun(ctx context.Context, js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, opts ...RebuildOption) (Diff, error) {
	var o rebuildOptions
	for _, opt := range opts {
		opt(&o)
	}
	name := d.Name()
	meta, err := metaKV(ctx, js, cfg)
	if err != nil {
		return Diff{}, err
	}
	bucket, _, err := activeBucket(ctx, js, meta, name, cfg, false)
	if err != nil {
		return Diff{}, err
	}
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return Diff{}, fmt.Errorf("readmodel: open %s: %w", bucket, err)
	}
	old, err := load[json.RawMessage](ctx, kv)
	if err != nil {
		return Diff{}, err
	}
	id, last, err := streamState(ctx, js)
	if err != nil {
		return Diff{}, err
	}
	if err := checkStream(bucket, old.checkpoint, id, last); err != nil {
		return Diff{}, err
	}
	upTo := old.checkpoint.Seq
	f := &fold[V]{def: d, tx: NewTx[V]()} // every key, as the bucket holds them
	wants := map[string]bool{}
	if o.progress != nil {
		o.progress(name, 0, upTo)
	}
	_, _, err = Replay(ctx, js, 1, func(rd Read) bool {
		if rd.Seq > upTo {
			return false
		}
		w, ok := wants[subjectKind(rd.Subject)]
		if !ok {
			w = f.Wants(rd.Subject)
			wants[subjectKind(rd.Subject)] = w
		}
		if w {
			f.Apply(rd.Record, rd.DecodeErr)
		}
		if o.progress != nil && (rd.Seq%1000 == 0 || rd.Seq == upTo) {
			o.progress(name, rd.Seq, upTo)
		}
		return rd.Seq < upTo
	})
	if err != nil {
		return Diff{}, err
	}
	newValues, err := f.Encode(true)
	if err != nil {
		return Diff{}, err
	}
	log.Debug("dry run folded", slog.String("projection", name), slog.Uint64("sequence", upTo), slog.Int("skipped", f.skipped))
	diff := Compare(old.values, newValues)
	diff.Projection, diff.Active, diff.Sequence = name, bucket, upTo
	return diff, nil
}

// subjectKind is what decides whether a projection consumes a subject:
// events.<aggregate>.<id>.<type> without the id.
func subjectKind(subject string) string {
	parts := bytes.SplitN([]byte(subject), []byte("."), 4)
	if len(parts) == 4 {
		return string(parts[0]) + "." + string(parts[1]) + ".*." + string(parts[3])
	}
	return subject
}

// Compare lists the differences between two versions of a model's values.
func Compare(old, new map[string]json.RawMessage) Diff {
	d := Diff{Records: len(new), Added: []string{}, Removed: []string{}, Changed: []string{}, Samples: []RecordDiff{}, Old: old, New: new}
	add := func(list *[]string, count *int, k string) {
		*count++
		if len(*list) < MaxDiffKeys {
			*list = append(*list, k)
		} else {
			d.Truncated = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(new)) {
		ov, ok := old[k]
		switch {
		case !ok:
			add(&d.Added, &d.AddedCount, k)
		case !jsonEqual(ov, new[k]):
			add(&d.Changed, &d.ChangedCount, k)
			if len(d.Samples) < maxSamples {
				d.Samples = append(d.Samples, RecordDiff{Key: k, Fields: fieldDiffs(ov, new[k])})
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := new[k]; !ok {
			add(&d.Removed, &d.RemovedCount, k)
		}
	}
	return d
}

// jsonEqual compares two JSON values as values (a bucket's bytes and a
// fold's may differ in nothing but their spelling).
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

// fieldDiffs lists the leaves that differ between two JSON values.
func fieldDiffs(a, b json.RawMessage) []FieldDiff {
	var x, y any
	dec := func(raw json.RawMessage, v *any) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		_ = d.Decode(v)
	}
	dec(a, &x)
	dec(b, &y)
	var out []FieldDiff
	var walk func(path string, x, y any, hasX, hasY bool)
	walk = func(path string, x, y any, hasX, hasY bool) {
		if len(out) >= maxSampleFields {
			return
		}
		mx, okx := x.(map[string]any)
		my, oky := y.(map[string]any)
		if okx && oky {
			keys := map[string]bool{}
			for k := range mx {
				keys[k] = true
			}
			for k := range my {
				keys[k] = true
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				vx, hx := mx[k]
				vy, hy := my[k]
				walk(join(path, k), vx, vy, hx, hy)
			}
			return
		}
		ax, okx := x.([]any)
		ay, oky := y.([]any)
		if okx && oky {
			for i := 0; i < max(len(ax), len(ay)); i++ {
				var vx, vy any
				if i < len(ax) {
					vx = ax[i]
				}
				if i < len(ay) {
					vy = ay[i]
				}
				walk(join(path, strconv.Itoa(i)), vx, vy, i < len(ax), i < len(ay))
			}
			return
		}
		bx, _ := json.Marshal(x)
		by, _ := json.Marshal(y)
		if hasX == hasY && bytes.Equal(bx, by) {
			return
		}
		fd := FieldDiff{Path: path}
		if hasX {
			fd.Old = bx
		}
		if hasY {
			fd.New = by
		}
		out = append(out, fd)
	}
	walk("", x, y, true, true)
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
