package domain

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestFastDecodeIsStd: DecodeTyped (go-json first, encoding/json when it
// fails) gives exactly what encoding/json alone gives, on every event of
// the golden log (every event type and schema the service has stored) and
// on hostile variants of them: invalid UTF-8, lone surrogates, escapes,
// keys in other cases, duplicate keys, unknown fields, nulls, numbers out
// of range, truncation.
func TestFastDecodeIsStd(t *testing.T) {
	f, err := os.Open("../cmd/jevents/service/testdata/goldenlog/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type stored struct {
		Seq     uint64            `json:"seq"`
		Subject string            `json:"subject"`
		Headers map[string]string `json:"headers"`
		Data    json.RawMessage   `json:"data"`
	}
	var events []stored
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s stored
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		events = append(events, s)
	}
	if len(events) < 100 {
		t.Fatalf("%d events in the golden log", len(events))
	}
	types := map[string]bool{}
	variants := func(b string) []string {
		return []string{
			b,
			strings.Replace(b, `"title":"`, "\"title\":\"\xff\xfe bad UTF-8 \xed\xa0\x80 ", 1),
			strings.Replace(b, `"title":"`, `"title":"\ud800 lone \udc00 surrogates \ud83d\ude00 `, 1),
			strings.Replace(b, `"title":"`, `"title":"\u0000\u001f\"\\\/\b\f\n\r\t \u2028 `, 1),
			strings.Replace(b, `"title":`, `"TITLE":`, 1),
			strings.Replace(b, `"aggregate_id":`, `"Aggregate_ID":`, 1),
			strings.Replace(b, `"actor":`, `"actor":"first","actor":`, 1),
			strings.Replace(b, `"data":{`, `"data":{"unknown":{"a":[1,2,{"b":null}]},`, 1),
			strings.Replace(b, `"schema":`, `"schema":null,"x":`, 1),
			strings.Replace(b, `"schema":1`, `"schema":1e400`, 1),
			strings.Replace(b, `"schema":1`, `"schema":99999999999999999999`, 1),
			strings.Replace(b, `"schema":1`, `"schema":"1"`, 1),
			strings.Replace(b, `"time":"`, `"time":"not a time`, 1),
			strings.Replace(b, `"topics":[`, `"topics":[null,`, 1),
			strings.Replace(b, `"all_day":false`, `"all_day":"false"`, 1),
			b[:len(b)/2],
			b + ` trailing`,
			" \n" + b + "\t ",
		}
	}
	checked := 0
	for _, e := range events {
		typ := e.Headers[HeaderEventType]
		types[typ] = true
		for i, v := range variants(string(e.Data)) {
			fast, fastErr := DecodeTyped(e.Seq, e.Subject, typ, []byte(v))
			info := registry[typ]
			want, wantErr := func() (Record, error) { // encoding/json alone, as before
				var env Envelope
				var ev Event
				var err error
				env, ev, err = stdDecodeAll(info, []byte(v))
				if err != nil {
					return Record{}, err
				}
				if env.Type != typ {
					return Record{}, errMismatch
				}
				if err := checkSubject(e.Seq, e.Subject, info, env); err != nil {
					return Record{}, err
				}
				return Record{Seq: e.Seq, Envelope: env, Event: ev}, nil
			}()
			if (fastErr == nil) != (wantErr == nil) {
				t.Errorf("seq %d variant %d: DecodeTyped error %v, encoding/json error %v\n%s", e.Seq, i, fastErr, wantErr, v)
				continue
			}
			if !reflect.DeepEqual(fast, want) {
				t.Errorf("seq %d variant %d: DecodeTyped\n%+v\nencoding/json\n%+v", e.Seq, i, fast, want)
			}
			checked++
		}
	}
	t.Logf("%d decodings of %d events of %d types compared", checked, len(events), len(types))
}

var errMismatch = errorString("type mismatch")

type errorString string

func (e errorString) Error() string { return string(e) }

// stdDecodeAll is typeInfo.decodeAll with encoding/json alone.
func stdDecodeAll(info typeInfo, b []byte) (Envelope, Event, error) {
	return info.stdDecodeAll(b)
}
