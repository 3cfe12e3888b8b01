package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/service"
	"github.com/justiceevents/jevents/producers/resources"
)

// The directory's commands: `jevents resource add|edit|retire|restore`
// talk to a running server's API as an editor; `jevents seed` appends the
// published directory page to the log directly.

const resourceUsage = `Usage: jevents resource COMMAND [flags]

Commands:
  add [FILE.json]       add a resource, from flags or a JSON file
  edit ID [FILE.json]   change the fields given as flags (or in a JSON file)
  retire ID             take a resource out of the directory's views
  restore ID            bring a retired resource back

Run 'jevents resource COMMAND -h' for a command's flags.
`

// envBool is true for 1, true, yes or on.
func envBool(key string) bool {
	switch strings.ToLower(env(key, "")) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func resourceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, resourceUsage)
		if len(args) == 0 {
			return inputError{errors.New("a command is required: add, edit, retire or restore")}
		}
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "add":
		return resourceAdd(ctx, rest, stdout, stderr)
	case "edit":
		return resourceEdit(ctx, rest, stdout, stderr)
	case "retire", "restore":
		return resourceState(ctx, sub, rest, stdout, stderr)
	default:
		return inputError{fmt.Errorf("unknown resource command %q: use add, edit, retire or restore", sub)}
	}
}

// listFlag collects a repeatable flag; values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// phoneFlag collects --phone NUMBER or NUMBER=LABEL.
type phoneFlag []map[string]string

func (p *phoneFlag) String() string { return fmt.Sprint(len(*p), " phones") }
func (p *phoneFlag) Set(v string) error {
	number, label, _ := strings.Cut(v, "=")
	*p = append(*p, map[string]string{"number": strings.TrimSpace(number), "label": strings.TrimSpace(label)})
	return nil
}

// resourceFields are the flags of add and edit.
type resourceFields struct {
	name, shortName, focus, parent, kind, description, url string
	topics                                                 listFlag
	phones                                                 phoneFlag
}

func (f *resourceFields) define(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "name, such as \"Office for Victims of Crime\"")
	fs.StringVar(&f.shortName, "short-name", "", "acronym or short name, such as OVC")
	fs.StringVar(&f.focus, "focus", "", "the part of the body's work the entry is about, such as \"Human Trafficking\"")
	fs.StringVar(&f.parent, "parent", "", "department or agency it belongs to")
	fs.StringVar(&f.kind, "kind", "", "agency, office, center, initiative, task_force or organization")
	fs.StringVar(&f.description, "description", "", "description")
	fs.StringVar(&f.url, "url", "", "official link (http or https)")
	fs.Var(&f.topics, "topic", "topic slug or label; repeat or separate with commas")
	fs.Var(&f.phones, "phone", "public phone number, as NUMBER or NUMBER=LABEL; repeat for several")
}

// body returns the JSON fields of the flags that were set.
func (f *resourceFields) body(fs *flag.FlagSet) map[string]any {
	m := map[string]any{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			m["name"] = f.name
		case "short-name":
			m["short_name"] = f.shortName
		case "focus":
			m["focus"] = f.focus
		case "parent":
			m["parent"] = f.parent
		case "kind":
			m["kind"] = f.kind
		case "description":
			m["description"] = f.description
		case "url":
			m["url"] = f.url
		case "topic":
			m["topics"] = []string(f.topics)
		case "phone":
			m["phones"] = []map[string]string(f.phones)
		}
	})
	return m
}

// editorClient sets up a client with an editor token from --token, the
// environment or the data directory's generated token.
func editorClient(fs *flag.FlagSet) (*client, func() error) {
	c := &client{}
	data := clientFlags(fs, c, true)
	return c, func() error {
		if c.token != "" {
			return nil
		}
		b, err := os.ReadFile(auth.TokenFile(*data))
		if err != nil {
			return inputError{fmt.Errorf("no editor token: set JEVENTS_EDITOR_TOKEN, --token, or --data with an editor-token file (%v)", err)}
		}
		c.token = strings.TrimSpace(string(b))
		return nil
	}
}

// jsonBody reads a JSON object from a file, or returns the flags' fields.
func jsonBody(fs *flag.FlagSet, file string, fields map[string]any) ([]byte, error) {
	if file == "" {
		return json.Marshal(fields)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, inputError{err}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, inputError{fmt.Errorf("%s: must hold one JSON object: %v", file, err)}
	}
	if len(fields) > 0 {
		return nil, inputError{errors.New("give the fields as flags or in a file, not both")}
	}
	return b, nil
}

func resourceAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("resource add", stderr)
	c, token := editorClient(fs)
	var f resourceFields
	f.define(fs)
	id := fs.String("id", "", "id to use instead of one derived from the short name or name (lower-case letters, digits, dashes)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return inputError{errors.New("usage: jevents resource add [flags] [FILE.json]")}
	}
	fields := f.body(fs)
	if *id != "" {
		fields["id"] = *id
	}
	body, err := jsonBody(fs, fs.Arg(0), fields)
	if err != nil {
		return err
	}
	if err := token(); err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Jevents-Source": {"cli"}}
	var out json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/api/v1/resources", h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func resourceEdit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("resource edit", stderr)
	c, token := editorClient(fs)
	var f resourceFields
	f.define(fs)
	ifMatch := fs.String("if-match", "", "only if the resource is still at this version; default: the version current when the command runs")
	key := fs.String("idempotency-key", "", "Idempotency-Key, so that a retried command is carried out once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return inputError{errors.New("usage: jevents resource edit [flags] ID [FILE.json]")}
	}
	id := fs.Arg(0)
	body, err := jsonBody(fs, fs.Arg(1), f.body(fs))
	if err != nil {
		return err
	}
	if string(body) == "{}" {
		return inputError{errors.New("nothing to change: give at least one field flag or a file")}
	}
	if err := token(); err != nil {
		return err
	}
	version := strings.Trim(*ifMatch, `"`)
	if version == "" {
		// The current version as the log holds it: the last entry of the
		// history, which the editors' processes serve (the read API is the
		// feed servers', and may lag).
		v, err := lastVersion(ctx, c, "/api/v1/resources/"+id+"/history")
		if err != nil {
			return err
		}
		version = strconv.FormatUint(v, 10)
	}
	h := http.Header{"Content-Type": {"application/json"}, "If-Match": {strconv.Quote(version)}}
	if *key != "" {
		h.Set("Idempotency-Key", *key)
	}
	var out json.RawMessage
	if err := c.do(ctx, http.MethodPatch, "/api/v1/resources/"+id, h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func resourceState(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("resource "+cmd, stderr)
	c, token := editorClient(fs)
	reason := fs.String("reason", "", "reason recorded in the history")
	ifMatch := fs.String("if-match", "", "only if the resource is still at this version")
	key := fs.String("idempotency-key", "", "Idempotency-Key, so that a retried command is carried out once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return inputError{fmt.Errorf("usage: jevents resource %s [flags] ID", cmd)}
	}
	if err := token(); err != nil {
		return err
	}
	return c.command(ctx, stdout, "/api/v1/resources/"+fs.Arg(0)+"/"+cmd, *reason, *ifMatch, *key)
}

// seed appends the published directory page (or another page in the same
// format) to the event log of a running deployment. Running it again adds
// nothing.
func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", stderr)
	var (
		a    service.NATSAuth
		urls string
	)
	natsFlags(fs, &a, &urls)
	file := fs.String("file", "", "a directory page in the published format to seed from; default: the published page built in")
	dry := fs.Bool("dry-run", false, "parse the page and print its entries without appending")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return inputError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	page := resources.Published()
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return inputError{err}
		}
		if page, err = resources.ParseSeed(string(b)); err != nil {
			return inputError{err}
		}
	}
	if *dry {
		b, _ := json.Marshal(page)
		return printJSON(stdout, b)
	}
	if urls == "" {
		urls = "nats://127.0.0.1:4222"
	}
	nc, js, err := service.Dial(urls, a, "jevents seed")
	if err != nil {
		return err
	}
	defer nc.Close()
	res, err := service.Seed(ctx, js, page, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	return printJSON(stdout, b)
}

// lastVersion follows a history's pages to its last entry's version.
func lastVersion(ctx context.Context, c *client, path string) (uint64, error) {
	var last uint64
	for next := path + "?limit=500"; next != ""; {
		var page struct {
			Entries []struct {
				Version uint64 `json:"version"`
			} `json:"entries"`
			Next string `json:"next"`
		}
		if err := c.do(ctx, http.MethodGet, next, nil, nil, &page); err != nil {
			return 0, err
		}
		if n := len(page.Entries); n > 0 {
			last = page.Entries[n-1].Version
		}
		next = page.Next
	}
	if last == 0 {
		return 0, errors.New("the resource has no history")
	}
	return last, nil
}
