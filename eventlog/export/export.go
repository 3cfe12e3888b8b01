// Package export owns the verifiable export of the event log, which is
// also its backup: JSON Lines, each event as stored (sequence, stream
// time, subject, the headers that matter, the data byte for byte), a
// SHA-256 hash chain over the records and a head signed with Ed25519
// (docs/export-format.md says it all, for verifiers in any language;
// docs/verify-export.mjs is one in 40 lines of Node). Import restores an
// export into an empty stream with the same sequences, so that every
// version, feed and ETag is the source's.
//
// It imports nats.go and the standard library only: it carries events as
// bytes and never decodes them.
package export

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is the format's version, in the header.
const Format = 1

// The fixed parts of the file. A record line is recordOpen R hashOpen
// <hex> lineClose; the head line is headOpen H sigOpen <base64> lineClose.
// R and H are the record's and the head's canonical bytes: the hash and
// the signature cover them exactly as they stand in the file.
const (
	genesis    = "jevents-export/1\n" // hashed before the header line
	recordOpen = `{"record":`
	hashOpen   = `,"hash":"`
	headOpen   = `{"head":`
	sigOpen    = `,"signature":"`
	lineClose  = `"}`
)

// HeaderOriginalTime is the header an import sets on every event: the
// event's stream time in the source, which the importing server cannot
// keep as its own. An export reads it back as the record's time (and
// leaves it out of the headers), so an export of an import is the same
// file as the export it came from.
const HeaderOriginalTime = "Jevents-Original-Time"

// Header is the file's first line.
type Header struct {
	Format int `json:"jevents_export"`
	// Stream is the exported stream's name, StreamCreated when the
	// server created it.
	Stream        string    `json:"stream"`
	StreamCreated time.Time `json:"stream_created"`
	ExportedAt    time.Time `json:"exported_at"`
	// From and To bound the records' times, when given ([From, To)).
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
	// Complete: the export holds every event of the stream up to its
	// last when the export began, from its first. Only a complete export
	// can be imported.
	Complete bool `json:"complete"`
}

// Record is one event as stored.
type Record struct {
	// N numbers the records from 1.
	N   int    `json:"n"`
	Seq uint64 `json:"seq"`
	// Time is when the source stream stored it (RFC 3339, UTC).
	Time    time.Time           `json:"time"`
	Subject string              `json:"subject"`
	Headers map[string][]string `json:"headers"`
	// Data is the event's bytes: as JSON when they are JSON on one line
	// (every event Justice Events writes), else base64 in DataB64.
	Data    json.RawMessage `json:"data,omitempty"`
	DataB64 string          `json:"data_b64,omitempty"`
}

// Bytes is the event's data as stored.
func (r Record) Bytes() ([]byte, error) {
	if r.DataB64 != "" || r.Data == nil {
		return base64.StdEncoding.DecodeString(r.DataB64)
	}
	return r.Data, nil
}

// Head is the signed summary at the end.
type Head struct {
	Records  int    `json:"records"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Hash is the chain's last hash (hex): the header's when there are
	// no records.
	Hash string `json:"hash"`
	// Key is the public key that signs (base64), for information: a
	// verifier checks the signature with the key it trusts.
	Key       string `json:"key"`
	Algorithm string `json:"algorithm"`
}

// Headers that matter: the message id (de-duplication) and Justice
// Events' own. The expectations a publisher set (Nats-Expected-…) held
// for the source only.
func keep(name string) bool {
	return name == "Nats-Msg-Id" || (strings.HasPrefix(name, "Jevents-") && name != HeaderOriginalTime)
}

// canonical is a record's canonical bytes: fixed field order, Go's JSON
// escaping, data embedded as it is stored when it is one line of valid
// JSON (else base64).
func canonical(r Record, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"n":`)
	b.WriteString(strconv.Itoa(r.N))
	b.WriteString(`,"seq":`)
	b.WriteString(strconv.FormatUint(r.Seq, 10))
	b.WriteString(`,"time":`)
	b.Write(jsonString(r.Time.UTC().Format(time.RFC3339Nano)))
	b.WriteString(`,"subject":`)
	b.Write(jsonString(r.Subject))
	b.WriteString(`,"headers":{`)
	for i, k := range slices.Sorted(maps.Keys(r.Headers)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(k))
		b.WriteString(`:[`)
		for j, v := range r.Headers[k] {
			if j > 0 {
				b.WriteByte(',')
			}
			b.Write(jsonString(v))
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	if embeddable(data) {
		b.WriteString(`,"data":`)
		b.Write(data)
	} else {
		b.WriteString(`,"data_b64":`)
		b.Write(jsonString(base64.StdEncoding.EncodeToString(data)))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// embeddable: valid JSON, UTF-8, on one line.
func embeddable(data []byte) bool {
	return len(data) > 0 && utf8.Valid(data) && !bytes.ContainsAny(data, "\r\n") && json.Valid(data)
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// link is the next hash of the chain: SHA-256 of the previous hash and
// the record's canonical bytes.
func link(prev [32]byte, rec []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(rec)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// start is the chain's first hash: SHA-256 of genesis and the header
// line.
func start(header []byte) [32]byte {
	return sha256.Sum256(append([]byte(genesis), header...))
}

// recordLine and headLine are the file's lines, without the newline.
func recordLine(rec []byte, hash [32]byte) []byte {
	return []byte(recordOpen + string(rec) + hashOpen + hex.EncodeToString(hash[:]) + lineClose)
}

func headLine(head []byte, sig []byte) []byte {
	return []byte(headOpen + string(head) + sigOpen + base64.StdEncoding.EncodeToString(sig) + lineClose)
}

// encodeHead is the head's canonical bytes.
func encodeHead(h Head) []byte {
	b, _ := json.Marshal(h)
	return b
}

// sign signs the head's canonical bytes.
func sign(key ed25519.PrivateKey, head []byte) []byte { return ed25519.Sign(key, head) }

// publicKeyText is how a public key is written: base64 of its 32 bytes.
func publicKeyText(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

func errorf(format string, args ...any) error { return fmt.Errorf("export: "+format, args...) }
