package export

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// VerifyError says where a file fails verification: in the header, at a
// record (by its place in the file, counting records from 1), or at the
// head. Its text starts with "header:", "record N:" or "head:", as the
// independent verifier's (docs/verify-export.mjs) does.
type VerifyError struct {
	// Where is "header", "record" or "head"; Record the record's number.
	Where  string
	Record int
	Why    string
}

func (e *VerifyError) Error() string {
	if e.Where == "record" {
		return fmt.Sprintf("record %d: %s", e.Record, e.Why)
	}
	return e.Where + ": " + e.Why
}

// maxLine bounds one line: an event is at most 256 KiB, 350 KiB as base64.
const maxLine = 4 << 20

// reader walks a file's lines, checking the chain; fn gets every record.
func read(r io.Reader, pub ed25519.PublicKey, fn func(Header, Record) error) (Header, Summary, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var hdr Header
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return hdr, Summary{}, err
		}
		return hdr, Summary{}, &VerifyError{Where: "header", Why: "the file is empty"}
	}
	first := slicesClone(sc.Bytes())
	if err := json.Unmarshal(first, &hdr); err != nil || hdr.Format != Format {
		return hdr, Summary{}, &VerifyError{Where: "header", Why: fmt.Sprintf("the first line is not a jevents export header of format %d", Format)}
	}
	h := start(first)
	var sum Summary
	var prevSeq uint64
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte(headOpen)) {
			if err := verifyHead(line, h, sum.Records, pub); err != nil {
				return hdr, sum, err
			}
			for sc.Scan() {
				if len(bytes.TrimSpace(sc.Bytes())) > 0 {
					return hdr, sum, &VerifyError{Where: "head", Why: "lines follow the head"}
				}
			}
			if err := sc.Err(); err != nil {
				return hdr, sum, err
			}
			sum.Head = hex.EncodeToString(h[:])
			return hdr, sum, nil
		}
		n := sum.Records + 1
		bad := func(why string) error { return &VerifyError{Where: "record", Record: n, Why: why} }
		k := bytes.LastIndex(line, []byte(hashOpen))
		if !bytes.HasPrefix(line, []byte(recordOpen)) || !bytes.HasSuffix(line, []byte(lineClose)) || k < len(recordOpen) {
			return hdr, sum, bad("the line is not a record")
		}
		rec := line[len(recordOpen):k]
		next := link(h, rec)
		if string(line[k+len(hashOpen):len(line)-len(lineClose)]) != hex.EncodeToString(next[:]) {
			return hdr, sum, bad("its hash does not follow the chain: this record was changed, or one before it was removed or moved")
		}
		var r Record
		if err := json.Unmarshal(rec, &r); err != nil {
			return hdr, sum, bad("it does not decode: " + err.Error())
		}
		if r.N != n || r.Seq <= prevSeq {
			return hdr, sum, bad(fmt.Sprintf("it is record %d at sequence %d after sequence %d", r.N, r.Seq, prevSeq))
		}
		if _, err := r.Bytes(); err != nil {
			return hdr, sum, bad("its data_b64 is not base64")
		}
		if fn != nil {
			if err := fn(hdr, r); err != nil {
				return hdr, sum, err
			}
		}
		h, prevSeq = next, r.Seq
		sum.Records = n
		if sum.FirstSeq == 0 {
			sum.FirstSeq = r.Seq
		}
		sum.LastSeq = r.Seq
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return hdr, sum, &VerifyError{Where: "record", Record: sum.Records + 1, Why: "the line is too long"}
		}
		return hdr, sum, err
	}
	return hdr, sum, &VerifyError{Where: "head", Why: fmt.Sprintf("the file ends after record %d without its signed head", sum.Records)}
}

func verifyHead(line []byte, h [32]byte, records int, pub ed25519.PublicKey) error {
	bad := func(why string) error { return &VerifyError{Where: "head", Why: why} }
	k := bytes.LastIndex(line, []byte(sigOpen))
	if !bytes.HasSuffix(line, []byte(lineClose)) || k < len(headOpen) {
		return bad("the line is not a head")
	}
	hd := line[len(headOpen):k]
	var head Head
	if err := json.Unmarshal(hd, &head); err != nil {
		return bad("it does not decode")
	}
	if head.Records != records || head.Hash != hex.EncodeToString(h[:]) {
		return bad(fmt.Sprintf("it signs %d records ending in hash %s; the file has %d ending in %x: a record was removed or added at the end",
			head.Records, head.Hash, records, h))
	}
	sig, err := base64.StdEncoding.DecodeString(string(line[k+len(sigOpen) : len(line)-len(lineClose)]))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return bad("the signature is not base64 of 64 bytes")
	}
	if pub != nil && !ed25519.Verify(pub, hd, sig) {
		return bad("the signature does not verify with this public key")
	}
	return nil
}

// Verify checks a whole file: the header, the chain record by record,
// the head and its signature with pub.
func Verify(r io.Reader, pub ed25519.PublicKey) (Header, Summary, error) {
	if pub == nil {
		return Header{}, Summary{}, errors.New("export: verify needs a public key")
	}
	return read(r, pub, nil)
}

// PublicKey reads a public key: a file holding base64 of its 32 bytes (as
// export writes <key>.pub), or that base64 itself.
func PublicKey(s string) (ed25519.PublicKey, error) {
	text := strings.TrimSpace(s)
	if b, err := os.ReadFile(s); err == nil {
		text = strings.TrimSpace(string(b))
	}
	k, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("export: %q is neither a public key file nor a key: want base64 of %d bytes", s, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(k), nil
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }
