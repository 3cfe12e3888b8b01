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
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/producers/resources"
)

// The directory's commands: `jevents resource add|edit|retire|restore`
// talk to a running server's API as an editor; `jevents seed` appends the
// published directory page to the log directly.

var (
	resourceAddSpec = spec{name: "resource add", args: "[FILE.json]", summary: "add a resource, from flags or a JSON file",
		example: `jevents resource add --name "Polaris Project" --kind organization --topic trafficking-in-persons`, max: 1}
	resourceEditSpec = spec{name: "resource edit", args: "ID [FILE.json]", summary: "change the fields given as flags (or in a JSON file)",
		about:   "The change is based on the version current when the command runs, unless --if-match names one.",
		example: "jevents resource edit ovc --url https://ovc.ojp.gov/", min: 1, max: 2}
	resourceRetireSpec = spec{name: "resource retire", args: "ID", summary: "take a resource out of the directory's views",
		example: `jevents resource retire ice --reason "listed under HSI"`, min: 1, max: 1}
	resourceRestoreSpec = spec{name: "resource restore", args: "ID", summary: "bring a retired resource back",
		example: "jevents resource restore ice", min: 1, max: 1}
	resourceCommands = []spec{resourceAddSpec, resourceEditSpec, resourceRetireSpec, resourceRestoreSpec}
)

func resourceUsage() string {
	var b strings.Builder
	b.WriteString("Usage: jevents resource COMMAND [flags] [ARGUMENTS]\n\n")
	b.WriteString(upperFirst(resourceSpec.summary) + ".\n\nCommands:\n")
	for _, c := range resourceCommands {
		fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimPrefix(c.name+" "+c.args, "resource "), c.summary)
	}
	b.WriteString("\nRun 'jevents resource COMMAND -h' for a command's arguments, example and flags.\n\nExample:\n")
	for _, c := range resourceCommands {
		b.WriteString("  " + c.example + "\n")
	}
	return b.String()
}

func resourceCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return inputError{fmt.Errorf("a command is required: add, edit, retire or restore (see 'jevents resource -h')")}
	}
	if isHelpFlag(args[0]) || args[0] == "help" {
		fmt.Fprint(stdout, resourceUsage())
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "add":
		return resourceAdd(ctx, rest, stdout)
	case "edit":
		return resourceEdit(ctx, rest, stdout)
	case "retire":
		return resourceState(ctx, resourceRetireSpec, rest, stdout)
	case "restore":
		return resourceState(ctx, resourceRestoreSpec, rest, stdout)
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

// jsonBody reads a JSON object from a file, or returns the flags' fields.
func jsonBody(file string, fields map[string]any) ([]byte, error) {
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

func resourceAdd(ctx context.Context, args []string, stdout io.Writer) error {
	f := newCmd(resourceAddSpec, stdout)
	c, token := editorClient(f)
	var fields resourceFields
	fields.define(f.FlagSet)
	id := f.String("id", "", "id to use instead of one derived from the short name or name (lower-case letters, digits, dashes)")
	if err := f.parse(args); err != nil {
		return err
	}
	m := fields.body(f.FlagSet)
	if *id != "" {
		m["id"] = *id
	}
	body, err := jsonBody(f.Arg(0), m)
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

func resourceEdit(ctx context.Context, args []string, stdout io.Writer) error {
	f := newCmd(resourceEditSpec, stdout)
	c, token := editorClient(f)
	var fields resourceFields
	fields.define(f.FlagSet)
	ifMatch := f.String("if-match", "", "only if the resource is still at this version; default: the version current when the command runs")
	key := f.String("idempotency-key", "", "Idempotency-Key, so that a retried command is carried out once")
	if err := f.parse(args); err != nil {
		return err
	}
	id := f.Arg(0)
	body, err := jsonBody(f.Arg(1), fields.body(f.FlagSet))
	if err != nil {
		return err
	}
	if string(body) == "{}" {
		return inputError{errors.New("nothing to change: give at least one field flag or a file (see 'jevents resource edit -h')")}
	}
	if err := token(); err != nil {
		return err
	}
	path := "/api/v1/resources/" + url.PathEscape(id)
	version := strings.Trim(*ifMatch, `"`)
	if version == "" {
		// The current version as the log holds it: the last entry of the
		// history, which the editors' processes serve (the read API is the
		// feed servers', and may lag).
		v, err := lastVersion(ctx, c, path+"/history")
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
	if err := c.do(ctx, http.MethodPatch, path, h, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func resourceState(ctx context.Context, s spec, args []string, stdout io.Writer) error {
	f := newCmd(s, stdout)
	c, token := editorClient(f)
	reason := f.String("reason", "", "reason recorded in the history")
	ifMatch := f.String("if-match", "", "only if the resource is still at this version")
	key := f.String("idempotency-key", "", "Idempotency-Key, so that a retried command is carried out once")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := token(); err != nil {
		return err
	}
	verb := strings.TrimPrefix(s.name, "resource ")
	return c.command(ctx, stdout, "/api/v1/resources/"+url.PathEscape(f.Arg(0))+"/"+verb, *reason, *ifMatch, *key)
}

// seed appends the published directory page (or another page in the same
// format) to the event log of a running deployment. Running it again adds
// nothing.
func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCmd(seedSpec, stdout)
	var target natsTarget
	target.define(f)
	file := f.String("file", "", "a directory page in the published format to seed from; default: the published page built in")
	dry := f.Bool("dry-run", false, "parse the page and print its entries without appending")
	if err := f.parse(args); err != nil {
		return err
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
	nc, js, err := target.dial("jevents seed")
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
