package service_test

// The golden log: a few hundred events written by the service of commit
// "Golden log" (the first schema, conference.*.v1), kept in
// testdata/goldenlog/events.jsonl as the stream stored them, with what the
// service answered for them (testdata/goldenlog/*.golden). Logs written by
// that code must replay forever: TestGoldenLogReplays imports the events
// into a fresh stream and checks that every feed, read API, history and
// conference page is byte for byte what the service that wrote them
// answered.
//
// The events were written once, by
//
//	go test ./cmd/jevents/service -run TestGoldenLogReplays -write-golden-log
//
// on that commit. Writing them again on later code would write later
// schemas and lose the point: the flag refuses when events.jsonl exists.
// (goldenscenario_test.go is the scenario that drove it.)

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
)

var writeGoldenLog = flag.Bool("write-golden-log", false,
	"drive the service through the golden scenario and write testdata/goldenlog (refused when events.jsonl exists)")

const goldenDir = "testdata/goldenlog"

// goldenPublicURL and goldenWindow are the replaying service's settings:
// the window is a century, so that no conference of the log ever leaves
// the feeds and their bytes do not depend on the day the test runs.
const (
	goldenPublicURL = "https://events.example.org"
	goldenWindow    = 100 * 365 * 24 * time.Hour
)

// storedEvent is one message of the stream as exported: its sequence,
// subject, the headers the service sets (Nats-Msg-Id, the event type,
// schema and actor), its data (the envelope, verbatim) and when the stream
// stored it (for the record; replays use the envelopes' times).
type storedEvent struct {
	Seq     uint64            `json:"seq"`
	Subject string            `json:"subject"`
	Headers map[string]string `json:"headers"`
	Data    json.RawMessage   `json:"data"`
	Stored  time.Time         `json:"stored"`
}

// keptHeaders are the headers an export keeps: what the service wrote
// for the event, not the publish-time expectations.
var keptHeaders = []string{jetstream.MsgIDHeader, domain.HeaderEventType, "Jevents-Schema", "Jevents-Actor"}

// goldenFiles are the groups of answers, each a file of length-prefixed
// entries (readGolden).
var goldenFiles = []string{"feeds", "conference-feeds", "api", "moderation", "history", "pages"}

func TestGoldenLogReplays(t *testing.T) {
	if *writeGoldenLog {
		writeGolden(t)
	}
	events := readEvents(t, filepath.Join(goldenDir, "events.jsonl"))
	a := startGoldenApp(t, true)
	importEvents(t, a, events)
	waitCaughtUp(t, a, events)
	for _, name := range goldenFiles {
		entries := readGolden(t, filepath.Join(goldenDir, name+".golden"))
		if len(entries) == 0 {
			t.Fatalf("%s.golden holds no answers", name)
		}
		for _, e := range entries {
			got := a.goldenGet(e.path)
			if !bytes.Equal(got, e.body) {
				t.Errorf("%s: GET %s differs from what the writing service answered:\n%s", name, e.path, firstDifference(e.body, got))
			}
		}
	}
}

// startGoldenApp runs the service with the golden settings; a replay
// starts on an empty log (no seed: the log holds the seed's events).
func startGoldenApp(t *testing.T, replay bool) *app {
	return startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.PublicURL = goldenPublicURL
		c.FeedWindow = goldenWindow
		c.NoSeed = replay
		c.Intake.PerAddress, c.Intake.PerContact, c.Intake.Quota = -1, -1, -1
	})
}

// goldenGet answers path as an editor (editors see every history and the
// moderation API; public answers are the same for them).
func (a *app) goldenGet(path string) []byte {
	a.t.Helper()
	r := a.do("GET", path, editor, nil)
	if r.status != http.StatusOK {
		a.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return r.body
}

func readEvents(t *testing.T, path string) []storedEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []storedEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e storedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// importEvents publishes the events into the app's empty stream in their
// order, with their headers and data as stored, and checks that each lands
// at its original sequence (versions and If-Match values depend on it).
func importEvents(t *testing.T, a *app, events []storedEvent) {
	t.Helper()
	js := a.adminJS()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, e := range events {
		msg := nats.NewMsg(e.Subject)
		msg.Data = e.Data
		for k, v := range e.Headers {
			msg.Header.Set(k, v)
		}
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			t.Fatalf("import seq %d: %v", e.Seq, err)
		}
		if ack.Sequence != e.Seq {
			t.Fatalf("import: event %d landed at sequence %d", e.Seq, ack.Sequence)
		}
	}
}

// waitCaughtUp waits until the calendar and the directory the feed server
// holds have seen the last event of their aggregates, and the moderation
// queue the last conference event.
func waitCaughtUp(t *testing.T, a *app, events []storedEvent) {
	t.Helper()
	last := map[string]uint64{}
	for _, e := range events {
		switch {
		case strings.HasPrefix(e.Subject, "events.conference."):
			last["calendar"], last["review"] = e.Seq, e.Seq
		case strings.HasPrefix(e.Subject, "events.resource."):
			last["directory"] = e.Seq
		}
	}
	// Seconds on an idle machine; the bound leaves room for a loaded one
	// under the race detector (30 s was seen to fall short at a load of 30
	// on 2 cores).
	deadline := time.Now().Add(2 * time.Minute)
	for name, seq := range last {
		sample := `jevents_readmodel_replica_sequence{projection="` + name + `"}`
		for metricValue(t, a.svc, sample) < float64(seq) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached sequence %d (at %v)", name, seq, metricValue(t, a.svc, sample))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// goldenEntry is one answer: the path asked and the body answered.
type goldenEntry struct {
	path string
	body []byte
}

// A golden file is a series of entries, each
//
//	### GET <path> <length>\n<body>\n
//
// so that bodies keep their bytes (CRLF, no final newline) and the file
// still reads and diffs as text.
func writeGoldenFile(t *testing.T, path string, entries []goldenEntry) {
	t.Helper()
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "### GET %s %d\n", e.path, len(e.body))
		b.Write(e.body)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGolden(t *testing.T, path string) []goldenEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenEntry
	for len(data) > 0 {
		head, rest, ok := bytes.Cut(data, []byte("\n"))
		fields := strings.Fields(string(head))
		if !ok || len(fields) != 4 || fields[0] != "###" || fields[1] != "GET" {
			t.Fatalf("%s: bad entry header %q", path, head)
		}
		n, err := strconv.Atoi(fields[3])
		if err != nil || n+1 > len(rest) || rest[n] != '\n' {
			t.Fatalf("%s: bad entry length in %q", path, head)
		}
		out = append(out, goldenEntry{path: fields[2], body: rest[:n]})
		data = rest[n+1:]
	}
	return out
}

// firstDifference shows the first line where got differs from want.
func firstDifference(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, w, g)
		}
	}
	return fmt.Sprintf("same lines, %d bytes wanted, %d got", len(want), len(got))
}

// exportEvents reads the whole stream of the app as stored.
func exportEvents(t *testing.T, a *app) []storedEvent {
	t.Helper()
	js := a.adminJS()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedEvent
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get seq %d: %v", seq, err)
		}
		e := storedEvent{Seq: m.Sequence, Subject: m.Subject, Headers: map[string]string{}, Data: m.Data, Stored: m.Time.UTC()}
		for _, h := range keptHeaders {
			if v := m.Header.Get(h); v != "" {
				e.Headers[h] = v
			}
		}
		out = append(out, e)
	}
	return out
}

// writeGolden drives a fresh service through the scenario, exports its
// stream and records its answers. It refuses to overwrite a golden log.
func writeGolden(t *testing.T) {
	t.Helper()
	eventsPath := filepath.Join(goldenDir, "events.jsonl")
	if _, err := os.Stat(eventsPath); err == nil {
		t.Fatalf("%s exists: the golden log is written once, by the code of the first schema (see goldenlog_test.go)", eventsPath)
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := startGoldenApp(t, false)
	paths := runGoldenScenario(t, a)
	events := exportEvents(t, a)
	waitCaughtUp(t, a, events)
	types := map[string]int{}
	var b bytes.Buffer
	for _, e := range events {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
		types[e.Headers[domain.HeaderEventType]]++
	}
	if err := os.WriteFile(eventsPath, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range goldenFiles {
		var entries []goldenEntry
		for _, p := range paths[name] {
			entries = append(entries, goldenEntry{path: p, body: a.goldenGet(p)})
		}
		writeGoldenFile(t, filepath.Join(goldenDir, name+".golden"), entries)
	}
	names := make([]string, 0, len(types))
	for k := range types {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		t.Logf("%-28s %d", k, types[k])
	}
	t.Logf("wrote %d events", len(events))
}
