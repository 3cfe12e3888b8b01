package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/auth"
)

// The commands that talk to a running server's HTTP API: submit and the
// editors' decisions (resources.go: the directory's).

// client talks to a running server's HTTP API.
type client struct {
	base  string
	token string
	http  *http.Client
}

func clientFlags(f *cmdFlags, c *client) {
	f.StringVar(&c.base, "server", "http://"+service.Defaults().HTTP, "URL of a running server")
	f.env("server", "JEVENTS_SERVER")
}

// editorClient sets up a client with an editor token from --token, the
// environment or the data directory's generated token; call the returned
// function after parsing to read it.
func editorClient(f *cmdFlags) (*client, func() error) {
	c := &client{}
	clientFlags(f, c)
	var data string
	f.StringVar(&c.token, "token", "", "editor token; default: the one jevents serve generated into <data>/editor-token")
	f.env("token", "JEVENTS_EDITOR_TOKEN")
	f.StringVar(&data, "data", service.Defaults().DataDir, "data directory holding a generated editor-token, read when no token is given")
	f.env("data", "JEVENTS_DATA")
	return c, func() error {
		if c.token != "" {
			return nil
		}
		b, err := os.ReadFile(auth.TokenFile(data))
		if err != nil {
			return inputError{fmt.Errorf("no editor token: set JEVENTS_EDITOR_TOKEN, --token, or --data with an editor-token file (%v)", err)}
		}
		c.token = strings.TrimSpace(string(b))
		return nil
	}
}

// do sends a request and decodes a JSON answer into out. Refusals of the
// input (400, 413, 415, 422) are input errors listing the fields.
func (c *client) do(ctx context.Context, method, path string, header http.Header, body []byte, out any) error {
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return inputError{err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return problemError(resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// problemError turns a problem+json answer into a readable error.
func problemError(status int, body []byte) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
		Items []struct {
			Index int    `json:"index"`
			UID   string `json:"uid"`
			Error *struct {
				Title  string `json:"title"`
				Errors []struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"errors"`
			} `json:"error"`
		} `json:"items"`
	}
	_ = json.Unmarshal(body, &p)
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", status, cmp.Or(p.Title, http.StatusText(status)))
	if p.Detail != "" {
		fmt.Fprintf(&b, ": %s", p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	for _, it := range p.Items {
		if it.Error == nil {
			continue
		}
		fmt.Fprintf(&b, "\n  VEVENT %d (%s): %s", it.Index+1, it.UID, it.Error.Title)
		for _, f := range it.Error.Errors {
			fmt.Fprintf(&b, "\n    %s: %s", f.Field, f.Message)
		}
	}
	err := errors.New(b.String())
	switch status {
	// A token the gate does not accept is the input refused too: exit 2,
	// as for a missing one.
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return inputError{err}
	}
	return err
}

// command posts an editor's command on one aggregate, with its optional
// reason, the version it is based on and an Idempotency-Key, and prints
// the answer.
func (c *client) command(ctx context.Context, stdout io.Writer, path, reason, ifMatch, key string) error {
	return c.send(ctx, stdout, http.MethodPost, path, map[string]string{"reason": reason}, ifMatch, key)
}

// send sends an editor's command with a JSON body of fields and prints
// the answer.
func (c *client) send(ctx context.Context, stdout io.Writer, method, path string, fields map[string]string, ifMatch, key string) error {
	body, _ := json.Marshal(fields)
	h := http.Header{"Content-Type": {"application/json"}}
	if ifMatch != "" {
		h.Set("If-Match", strconv.Quote(strings.Trim(ifMatch, `"`)))
	}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	var out json.RawMessage
	if err := c.do(ctx, method, path, h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func submit(ctx context.Context, args []string, stdout io.Writer) error {
	f := newCmd(submitSpec, stdout)
	var c client
	clientFlags(f, &c)
	key := f.String("idempotency-key", "", "Idempotency-Key; default: a hash of the file (and the .ics flags), so submitting the same file again adds nothing")
	// What an .ics file cannot say (producers/intake/ics.go).
	ics := url.Values{}
	for _, fl := range []struct{ name, param, usage string }{
		{"contact", "contact", ".ics: organiser's e-mail for editors, never published (default: each VEVENT's ORGANIZER)"},
		{"contact-name", "contact_name", ".ics: organiser's name, with --contact"},
		{"format", "format", ".ics: in_person, online or hybrid (default: from LOCATION and CONFERENCE)"},
		{"timezone", "timezone", ".ics: IANA zone of floating times, and the zone UTC times are shown in"},
	} {
		f.Func(fl.name, fl.usage, func(v string) error { ics.Set(fl.param, v); return nil })
	}
	f.Func("topic", ".ics: a topic for every VEVENT, besides the CATEGORIES that are topics (repeatable)", func(v string) error { ics.Add("topic", v); return nil })
	f.Func("sponsor", ".ics: a sponsor of every VEVENT (repeatable)", func(v string) error { ics.Add("sponsor", v); return nil })
	if err := f.parse(args); err != nil {
		return err
	}
	path := f.Arg(0)
	body, err := os.ReadFile(path)
	if err != nil {
		return inputError{err}
	}
	h := http.Header{}
	target := "/api/v1/conferences"
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ics", ".ical", ".ifb", ".icalendar":
		h.Set("Content-Type", "text/calendar")
		if len(ics) > 0 {
			target += "?" + ics.Encode()
		}
	default:
		if len(ics) > 0 {
			return inputError{errors.New("--contact, --format, --timezone, --topic and --sponsor are for .ics files; a JSON file holds these fields")}
		}
		h.Set("Content-Type", "application/json")
	}
	if *key == "" {
		sum := sha256.Sum256(append(body, ics.Encode()...))
		*key = "file-" + hex.EncodeToString(sum[:16])
	}
	h.Set("Idempotency-Key", *key)
	h.Set("X-Jevents-Source", "cli")
	var out json.RawMessage
	if err := c.do(ctx, http.MethodPost, target, h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func decide(ctx context.Context, s spec, args []string, stdout io.Writer) error {
	f := newCmd(s, stdout)
	c, token := editorClient(f)
	reason := f.String("reason", "", "reason or note recorded with the decision")
	ifMatch := f.String("if-match", "", "only if the conference is still at this version")
	// approve plans a publication (an embargo), cancel and unpublish
	// plan themselves; the server fires the plan at the instant.
	var at *string
	switch s.name {
	case "approve":
		at = f.String("publish-at", "", "publish at this RFC 3339 instant instead of now (an embargo), e.g. 2030-03-01T09:00:00Z")
	case "cancel", "unpublish":
		at = f.String("at", "", "carry it out at this RFC 3339 instant instead of now, e.g. 2030-03-01T09:00:00Z")
	}
	key := f.String("idempotency-key", "", "Idempotency-Key: the same command again changes nothing")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := token(); err != nil {
		return err
	}
	fields := map[string]string{"reason": *reason}
	if at != nil && *at != "" {
		if _, err := time.Parse(time.RFC3339Nano, *at); err != nil {
			return inputError{fmt.Errorf("%q is not an RFC 3339 instant such as 2030-03-01T09:00:00Z", *at)}
		}
		name := "at"
		if s.name == "approve" {
			name = "publish_at"
		}
		fields[name] = *at
	}
	return c.send(ctx, stdout, http.MethodPost, "/api/v1/conferences/"+url.PathEscape(f.Arg(0))+"/"+s.name, fields, *ifMatch, *key)
}

// callOff calls off a conference's plan.
func callOff(ctx context.Context, args []string, stdout io.Writer) error {
	f := newCmd(callOffSpec, stdout)
	c, token := editorClient(f)
	reason := f.String("reason", "", "why, recorded in the conference's history")
	ifMatch := f.String("if-match", "", "only if the conference is still at this version")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := token(); err != nil {
		return err
	}
	return c.send(ctx, stdout, http.MethodDelete, "/api/v1/conferences/"+url.PathEscape(f.Arg(0))+"/schedules/"+url.PathEscape(f.Arg(1)),
		map[string]string{"reason": *reason}, *ifMatch, "")
}
