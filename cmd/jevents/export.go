package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog/export"
)

var (
	exportSpec = spec{name: "export", args: "[FILE]", summary: "write the event log as a signed, hash-chained JSON Lines file (the verifiable backup)",
		about: "Each record is an event as stored (sequence, stream time, subject, headers, data); a SHA-256 chain links\n" +
			"them and the last line is a head signed with Ed25519 (docs/export-format.md). The signing key is --key,\n" +
			"generated on first use into the data directory (<data>/" + export.KeyFile + ", its public key beside it in .pub).\n" +
			"Without FILE, or with -, the export goes to standard output. --from/--to export a time range, which\n" +
			"verifies but does not restore. Without --nats it reads the embedded server of the `jevents serve` on --data.",
		example: "jevents export backup.jsonl                      # signed with data/" + export.KeyFile + "\n" +
			"jevents verify backup.jsonl --key data/" + export.KeyFile + ".pub\n" +
			"jevents export --from 2030-03-01T00:00:00Z --to 2030-04-01T00:00:00Z march.jsonl",
		max: 1}
	verifySpec = spec{name: "verify", args: "FILE", summary: "check an export's hash chain and signed head against a public key",
		about: "Exit status 0: the file is intact and signed by --key. Status 1: it is not, and the message names\n" +
			"where (`record N: …`, `head: …`, `header: …`). docs/verify-export.mjs checks the same with Node alone.",
		example: "jevents verify backup.jsonl --key data/" + export.KeyFile + ".pub", min: 1, max: 1}
	importSpec = spec{name: "import", args: "FILE", summary: "restore a complete export into an empty event stream",
		about: "Every event lands at the sequence it had, with its data and headers byte for byte, so every feed and\n" +
			"its ETag equal the source's once the projectors catch up. The file is verified first (with --key when\n" +
			"given); a stream that holds or held any event is refused. Start the target empty and quiet:\n" +
			"`jevents serve --no-seed` on a fresh data directory (or `jevents setup` on a cluster), then import.\n" +
			"Editors' pending plans (embargoes, cancellations for later) are made again from the log: their\n" +
			"messages live outside it; one whose instant has passed fires at once.",
		example: "jevents serve --no-seed --data ./restored &\n" +
			"jevents import backup.jsonl --data ./restored --key data/" + export.KeyFile + ".pub",
		min: 1, max: 1}
)

// export writes the log to FILE (or standard output).
func exportLog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCmd(exportSpec, stdout)
	var (
		target   natsTarget
		keyPath  string
		from, to string
	)
	target.define(f)
	f.StringVar(&keyPath, "key", "", "Ed25519 signing key file (base64 of the seed); default <data>/"+export.KeyFile+", generated when missing")
	f.env("key", "JEVENTS_EXPORT_KEY")
	f.StringVar(&from, "from", "", "export only events stored at or after this RFC 3339 instant")
	f.StringVar(&to, "to", "", "export only events stored before this RFC 3339 instant")
	if err := f.parse(args); err != nil {
		return err
	}
	var o export.Options
	for _, p := range []struct {
		name, v string
		t       *time.Time
	}{{"from", from, &o.From}, {"to", to, &o.To}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.v)
		if err != nil {
			return inputError{fmt.Errorf("--%s %q: not an RFC 3339 instant such as 2030-03-01T00:00:00Z", p.name, p.v)}
		}
		*p.t = t
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.From.Before(o.To) {
		return inputError{fmt.Errorf("--from %s is not before --to %s", from, to)}
	}
	nc, js, err := target.dial("jevents export")
	if err != nil {
		return err
	}
	defer nc.Close()
	if keyPath == "" {
		keyPath = filepath.Join(target.data, export.KeyFile)
	}
	key, created, err := export.SigningKey(keyPath)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "jevents export: generated the signing key %s; give verifiers %s.pub\n", keyPath, keyPath)
	}

	out, name := stdout, "-"
	var file *os.File
	if f.NArg() == 1 && f.Arg(0) != "-" {
		name = f.Arg(0)
		// Written beside, renamed when complete: a failed export never
		// leaves a file that looks like one.
		file, err = os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*.part")
		if err != nil {
			return err
		}
		defer os.Remove(file.Name())
		defer file.Close()
		out = file
	}
	o.Progress = progressLine(stderr, "jevents export", "sequences")
	sum, err := export.Write(ctx, js, out, key, o)
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		if err := os.Rename(file.Name(), name); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(struct {
		File string `json:"file"`
		export.Summary
		PublicKey string `json:"public_key"`
	}{name, sum, keyPath + ".pub"})
	if file == nil {
		// The export is standard output: the summary goes to the log.
		return printJSON(stderr, b)
	}
	return printJSON(stdout, b)
}

// verify checks FILE against a public key.
func verify(args []string, stdout io.Writer) error {
	f := newCmd(verifySpec, stdout)
	var keyArg string
	f.StringVar(&keyArg, "key", "", "the public key: a file holding its base64 (as <key>.pub), or the base64 itself (required)")
	f.env("key", "JEVENTS_EXPORT_PUBLIC_KEY")
	if err := f.parse(args); err != nil {
		return err
	}
	if keyArg == "" {
		return inputError{errors.New("--key: the public key to verify with is required")}
	}
	pub, err := export.PublicKey(keyArg)
	if err != nil {
		return inputError{err}
	}
	file, err := os.Open(f.Arg(0))
	if err != nil {
		return inputError{err}
	}
	defer file.Close()
	hdr, sum, err := export.Verify(file, pub)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Arg(0), err)
	}
	b, _ := json.Marshal(struct {
		OK bool `json:"ok"`
		export.Summary
		Stream   string `json:"stream"`
		Complete bool   `json:"complete"`
	}{true, sum, hdr.Stream, hdr.Complete})
	return printJSON(stdout, b)
}

// importLog restores FILE into an empty stream.
func importLog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCmd(importSpec, stdout)
	var (
		target natsTarget
		keyArg string
	)
	target.define(f)
	f.StringVar(&keyArg, "key", "", "public key the export must be signed with (file or base64); without it only the hash chain is checked")
	f.env("key", "JEVENTS_EXPORT_PUBLIC_KEY")
	if err := f.parse(args); err != nil {
		return err
	}
	var o export.ImportOptions
	if keyArg != "" {
		pub, err := export.PublicKey(keyArg)
		if err != nil {
			return inputError{err}
		}
		o.Key = pub
	} else {
		fmt.Fprintln(stderr, "jevents import: no --key: checking the hash chain only, not who signed the export")
	}
	if _, err := os.Stat(f.Arg(0)); err != nil {
		return inputError{err}
	}
	nc, js, err := target.dial("jevents import")
	if err != nil {
		return err
	}
	defer nc.Close()
	report := progressLine(stderr, "jevents import", "records")
	o.Progress = func(done, total int) { report(uint64(done), uint64(total)) }
	// The plans' messages are not in an export: note the conferences
	// that had plans, and write their pending ones again once imported.
	var planned []string
	seen := map[string]bool{}
	o.Imported = func(subject string) {
		if id, ok := scheduledConference(subject); ok && !seen[id] {
			seen[id] = true
			planned = append(planned, id)
		}
	}
	sum, err := export.Import(ctx, js, f.Arg(0), o)
	var ve *export.VerifyError
	if errors.As(err, &ve) {
		return inputError{fmt.Errorf("%s does not verify, nothing imported: %w", f.Arg(0), err)}
	}
	if err != nil {
		return err
	}
	rearmed, err := service.RearmPlans(ctx, js, planned, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return fmt.Errorf("the log is imported, but its plans are not all made again (docs/backup.md, \"Plans after an import\"): %w", err)
	}
	b, _ := json.Marshal(struct {
		export.Summary
		Plans int `json:"plans"`
	}{sum, rearmed})
	return printJSON(stdout, b)
}

// scheduledConference is the conference of a conference.scheduled
// event's subject.
func scheduledConference(subject string) (string, bool) {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || subject != domain.ScheduledSubject(parts[2]) {
		return "", false
	}
	return parts[2], true
}
