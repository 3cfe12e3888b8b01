package export_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/export"
	"github.com/justiceevents/jevents/internal/natstest"
)

// logStream creates the event log's stream as the service does.
func logStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{Replicas: 1, MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
}

var msgIDs atomic.Int64

// source fills a stream shaped like the event log (deny delete and purge)
// with n events of every kind of data an export must carry: JSON, JSON with
// escapes and non-ASCII text, bytes that are not JSON, and headers that are
// kept or dropped.
func source(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		m := nats.NewMsg(fmt.Sprintf("events.conference.c%d.submitted", i%7))
		switch i % 4 {
		case 0:
			m.Data = []byte(fmt.Sprintf(`{"type":"conference.submitted.v1","n":%d,"title":"Caf\u00e9 \"quoted\" </script>"}`, i))
		case 1:
			m.Data = []byte(fmt.Sprintf(`{"n":%d,"title":"Justiça — 司法"}`, i))
		case 2:
			m.Data = []byte(fmt.Sprintf("not json %d\n\x00\xff", i)) // carried as base64
		case 3:
			m.Data = []byte(fmt.Sprintf("{\n  \"pretty\": %d\n}", i)) // JSON on several lines: base64 too
		}
		m.Header.Set("Jevents-Event-Type", "conference.submitted.v1")
		m.Header.Set("Nats-Msg-Id", fmt.Sprintf("id-%d", msgIDs.Add(1)))
		m.Header.Set("Nats-Expected-Stream", "JEVENTS") // held for the source only: not exported
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

func writeExport(t *testing.T, js jetstream.JetStream, key ed25519.PrivateKey, o export.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := export.Write(context.Background(), js, &b, key, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func keys(t testing.TB) (ed25519.PrivateKey, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), export.KeyFile)
	key, created, err := export.SigningKey(path)
	if err != nil || !created {
		t.Fatalf("key: %v created %v", err, created)
	}
	again, created, err := export.SigningKey(path)
	if err != nil || created || !again.Equal(key) {
		t.Fatalf("the key read back differs (%v, created %v)", err, created)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("the signing key's mode is %v", st.Mode().Perm())
	}
	return key, path + ".pub"
}

// nodeVerify runs the independent verifier, docs/verify-export.mjs.
func nodeVerify(t *testing.T, file, pub string) (bool, string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the independent verifier (Debian: apt-get install nodejs; scripts/deps installs it): %v", err)
	}
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "..", "docs", "verify-export.mjs")
	out, err := exec.Command(node, script, file, pub).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return err == nil, strings.TrimSpace(string(out))
}

// The script is short enough to read in one sitting, as the format's
// documentation promises.
func TestVerifierScriptIsShort(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "docs", "verify-export.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n > 40 {
		t.Fatalf("docs/verify-export.mjs has %d lines, more than the 40 the docs promise", n)
	}
}

// Every tampering is caught by both verifiers, which name the same place:
// the record number for a changed, removed or moved record, the head for
// a record removed at the end or a wrong key.
func TestVerifyNamesWhereAFileWasTampered(t *testing.T) {
	_, _, js := natstest.Start(t)
	logStream(t, js)
	source(t, js, 12)
	key, pubFile := keys(t)
	good := writeExport(t, js, key, export.Options{})
	lines := bytes.SplitAfter(good, []byte("\n"))
	if len(lines) != 1+12+1+1 || len(lines[14]) != 0 { // header, records, head, "" after the last newline
		t.Fatalf("%d lines:\n%s", len(lines), good)
	}
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	flip := func(line []byte, at string) []byte {
		i := bytes.Index(line, []byte(at))
		if i < 0 {
			t.Fatalf("%q not in %s", at, line)
		}
		c := bytes.Clone(line)
		c[i+len(at)] ^= 0x01
		return c
	}
	_, otherPub := keys(t)
	cases := []struct {
		name string
		file []byte
		pub  string
		want string // the message starts with it; "" is a pass
	}{
		{"intact", good, pubFile, ""},
		{"a flipped byte in record 5's data", join(join(lines[:5]...), flip(lines[5], `"data`), join(lines[6:]...)), pubFile, "record 5:"},
		{"a flipped byte in record 7's time", join(join(lines[:7]...), flip(lines[7], `"time":"20`), join(lines[8:]...)), pubFile, "record 7:"},
		{"a flipped byte in record 2's hash", join(join(lines[:2]...), flip(lines[2], `"hash":"`), join(lines[3:]...)), pubFile, "record 2:"},
		{"record 4 removed", join(join(lines[:4]...), join(lines[5:]...)), pubFile, "record 4:"},
		{"records 8 and 9 swapped", join(join(lines[:8]...), lines[9], lines[8], join(lines[10:]...)), pubFile, "record 8:"},
		{"the last record removed", join(join(lines[:12]...), join(lines[13:]...)), pubFile, "head:"},
		{"a flipped byte in the head", join(join(lines[:13]...), flip(lines[13], `"records":`), lines[14]), pubFile, "head:"},
		{"a flipped byte in the signature", join(join(lines[:13]...), flip(lines[13], `"signature":"`), lines[14]), pubFile, "head:"},
		{"a flipped byte in the header", join(flip(lines[0], `"stream":"`), join(lines[1:]...)), pubFile, "record 1:"},
		{"the head cut off", join(lines[:13]...), pubFile, "head:"},
		{"the wrong key", good, otherPub, "head:"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		file := filepath.Join(dir, fmt.Sprintf("case%d.jsonl", i))
		if err := os.WriteFile(file, c.file, 0o600); err != nil {
			t.Fatal(err)
		}
		pub, err := export.PublicKey(c.pub)
		if err != nil {
			t.Fatal(err)
		}
		_, sum, err := export.Verify(bytes.NewReader(c.file), pub)
		var ve *export.VerifyError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: jevents verify: %v", c.name, err)
		case c.want == "" && sum.Records != 12:
			t.Errorf("%s: %d records verified", c.name, sum.Records)
		case c.want != "" && (!errors.As(err, &ve) || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: jevents verify says %v; want %q…", c.name, err, c.want)
		}
		ok, out := nodeVerify(t, file, c.pub)
		switch {
		case c.want == "" && (!ok || !strings.HasPrefix(out, "ok: 12 records")):
			t.Errorf("%s: node says %q", c.name, out)
		case c.want != "" && (ok || !strings.HasPrefix(out, c.want)):
			t.Errorf("%s: node says %q (passed %v); want %q…", c.name, out, ok, c.want)
		}
	}
}

// An import lands every event at its sequence with its data and kept
// headers byte for byte, keeps the source's gaps, and its export is the
// source's export record for record. A stream that holds anything, or a
// partial export, is refused.
func TestImportRestoresSequencesAndRefusesAStreamInUse(t *testing.T) {
	ctx := context.Background()
	_, _, src := natstest.Start(t)
	// A source with gaps: it starts at 3 and loses 6 and 9..10 (a stream
	// that allowed deletes once, say).
	if _, err := src.CreateStream(ctx, jetstream.StreamConfig{Name: "JEVENTS", Subjects: []string{"events.>"}, FirstSeq: 3}); err != nil {
		t.Fatal(err)
	}
	source(t, src, 14) // 3..16
	s, _ := src.Stream(ctx, "JEVENTS")
	for _, seq := range []uint64{6, 9, 10} {
		if err := s.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	key, pubFile := keys(t)
	pub, _ := export.PublicKey(pubFile)
	file := filepath.Join(t.TempDir(), "log.jsonl")
	exported := writeExport(t, src, key, export.Options{})
	if err := os.WriteFile(file, exported, 0o600); err != nil {
		t.Fatal(err)
	}

	_, _, dst := natstest.Start(t)
	logStream(t, dst)
	sum, err := export.Import(ctx, dst, file, export.ImportOptions{Key: pub})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 11 || sum.FirstSeq != 3 || sum.LastSeq != 16 {
		t.Fatalf("import: %+v", sum)
	}
	ds, _ := dst.Stream(ctx, "JEVENTS")
	info, err := ds.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.FirstSeq != 3 || info.State.LastSeq != 16 || info.State.Msgs != 11 {
		t.Fatalf("restored stream state %+v", info.State)
	}
	if !info.Config.DenyDelete || !info.Config.DenyPurge {
		t.Fatalf("the restored stream allows deletes again: %+v", info.Config)
	}
	for seq := uint64(1); seq <= 16; seq++ {
		a, errA := s.GetMsg(ctx, seq)
		b, errB := ds.GetMsg(ctx, seq)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("sequence %d: source %v, restored %v", seq, errA, errB)
		}
		if errA != nil {
			continue
		}
		if a.Subject != b.Subject || !bytes.Equal(a.Data, b.Data) || a.Header.Get("Nats-Msg-Id") != b.Header.Get("Nats-Msg-Id") ||
			a.Header.Get("Jevents-Event-Type") != b.Header.Get("Jevents-Event-Type") {
			t.Fatalf("sequence %d differs:\n%+v\n%+v", seq, a, b)
		}
		if got := b.Header.Get(export.HeaderOriginalTime); got != a.Time.UTC().Format(time.RFC3339Nano) {
			t.Fatalf("sequence %d: original time %q, source stored it at %v", seq, got, a.Time)
		}
	}
	// The restored stream exports to the same records: same chain but for
	// the header (exported_at, the stream's creation), so compare records.
	again := writeExport(t, dst, key, export.Options{})
	records := func(b []byte) []string {
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, `{"record":`) {
				out = append(out, l[:strings.LastIndex(l, `,"hash":"`)])
			}
		}
		return out
	}
	if a, b := records(exported), records(again); strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) != 11 {
		t.Fatalf("the restored stream exports differently:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}

	// Refusals: the stream now holds events; a partial export; a file
	// that does not verify changes nothing.
	if _, err := export.Import(ctx, dst, file, export.ImportOptions{Key: pub}); !errors.Is(err, export.ErrNotEmpty) {
		t.Fatalf("import into a stream in use: %v", err)
	}
	_, _, fresh := natstest.Start(t)
	logStream(t, fresh)
	part := filepath.Join(t.TempDir(), "part.jsonl")
	_ = os.WriteFile(part, writeExport(t, src, key, export.Options{From: time.Now().Add(-time.Hour)}), 0o600)
	if _, err := export.Import(ctx, fresh, part, export.ImportOptions{Key: pub}); err == nil || !strings.Contains(err.Error(), "complete") {
		t.Fatalf("import of a time range: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	_ = os.WriteFile(bad, bytes.Replace(exported, []byte(`{"n":5,"seq":`), []byte(`{"n":5 ,"seq":`), 1), 0o600)
	var ve *export.VerifyError
	if _, err := export.Import(ctx, fresh, bad, export.ImportOptions{Key: pub}); !errors.As(err, &ve) || ve.Record != 5 {
		t.Fatalf("import of a tampered file: %v", err)
	}
	_, otherPub := keys(t)
	other, _ := export.PublicKey(otherPub)
	if _, err := export.Import(ctx, fresh, file, export.ImportOptions{Key: other}); !errors.As(err, &ve) || ve.Where != "head" {
		t.Fatalf("import signed by another key: %v", err)
	}
	fs, _ := fresh.Stream(ctx, "JEVENTS")
	if info, _ := fs.Info(ctx); info.State.Msgs != 0 || info.State.LastSeq != 0 {
		t.Fatalf("refused imports changed the stream: %+v", info.State)
	}
}

// A time range exports only the events stored within it, numbered from 1,
// and says it is not complete.
func TestExportTimeRange(t *testing.T) {
	_, _, js := natstest.Start(t)
	logStream(t, js)
	source(t, js, 3)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	source(t, js, 2)
	key, _ := keys(t)
	var b bytes.Buffer
	sum, err := export.Write(context.Background(), js, &b, key, export.Options{From: mid})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 2 || sum.FirstSeq != 4 || sum.LastSeq != 5 {
		t.Fatalf("range export: %+v", sum)
	}
	hdr, vs, err := export.Verify(&b, key.Public().(ed25519.PublicKey))
	if err != nil || hdr.Complete || vs.Records != 2 || hdr.From == nil {
		t.Fatalf("verify: %v %+v %+v", err, hdr, vs)
	}
}
