package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/changes"
	"github.com/justiceevents/jevents/projections/engine"
)

// TestLoadSkipsForgotten: a projector's start-up on a Forgetful model (the
// public change stream: 5,000 change records beside 3 conference states)
// is sent the states and the checkpoint only, never the change records;
// loading every key would read all 5,004.
func TestLoadSkipsForgotten(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx := context.Background()
	bucket, err := engine.Setup(ctx, js, changes.Name, engine.BucketConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*nats.Msg
	add := func(key, value string) {
		m := nats.NewMsg("$KV." + bucket + "." + key)
		m.Data = []byte(value)
		msgs = append(msgs, m)
		if len(msgs) == 500 {
			if _, err := jetstreamext.PublishMsgBatch(ctx, js, msgs); err != nil {
				t.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	for i := range 3 {
		add(fmt.Sprintf("state.c%d", i), `{"state":{"id":"c`+fmt.Sprint(i)+`"}}`)
	}
	for i := range 5000 {
		add(changes.ChangeKey(uint64(i+1)), fmt.Sprintf(`{"cursor":%d,"id":"c%d"}`, i+1, i%3))
	}
	add(engine.CheckpointKey, `{"seq":5000}`)
	if _, err := jetstreamext.PublishMsgBatch(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	var f engine.Forgetful = changes.Projection{}
	read, kept, err := engine.LoadForTest(ctx, kv, append(f.Remembered(), engine.CheckpointKey))
	if err != nil {
		t.Fatal(err)
	}
	if read != 4 || kept != 3 {
		t.Fatalf("start-up read %d entries and kept %d; want 4 (3 states, the checkpoint) and 3", read, kept)
	}
	if read, _, err := engine.LoadForTest(ctx, kv, nil); err != nil || read != 5004 {
		t.Fatalf("loading every key read %d (%v), want 5004", read, err)
	}
}
