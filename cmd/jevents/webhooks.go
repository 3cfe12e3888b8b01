package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// `jevents webhooks add|list|remove|resume` talk to a running server's
// API as an editor (reactors/webhooks owns the subscriptions).

var (
	webhooksAddSpec = spec{name: "webhooks add", args: "URL", summary: "register a subscription; prints its secret, shown this once",
		about:   "--filter takes the feeds' query syntax (topic=, region=, type=, sponsor=, q=); none: every public change.",
		example: `jevents webhooks add https://partner.example/hooks/jevents --filter "topic=courts&region=uk"`, min: 1, max: 1}
	webhooksListSpec = spec{name: "webhooks list", summary: "list the subscriptions (status, pause reason, delivered cursor)",
		example: "jevents webhooks list", max: 0}
	webhooksRemoveSpec = spec{name: "webhooks remove", args: "ID", summary: "end a subscription",
		example: "jevents webhooks remove 0193…", min: 1, max: 1}
	webhooksResumeSpec = spec{name: "webhooks resume", args: "ID", summary: "resume a paused subscription where it stopped",
		example: "jevents webhooks resume 0193…", min: 1, max: 1}
	webhooksDeliveriesSpec = spec{name: "webhooks deliveries", args: "ID", summary: "a subscription's delivery log (status, attempts, last error)",
		example: "jevents webhooks deliveries 0193…", min: 1, max: 1}
	webhooksCommands = []spec{webhooksAddSpec, webhooksListSpec, webhooksRemoveSpec, webhooksResumeSpec, webhooksDeliveriesSpec}
)

func webhooksUsage() string {
	var b strings.Builder
	b.WriteString("Usage: jevents webhooks COMMAND [flags] [ARGUMENTS]\n\n")
	b.WriteString(upperFirst(webhooksSpec.summary) + ".\n\nCommands:\n")
	for _, c := range webhooksCommands {
		fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimPrefix(c.name+" "+c.args, "webhooks "), c.summary)
	}
	b.WriteString("\nRun 'jevents webhooks COMMAND -h' for a command's arguments, example and flags.\n\nExample:\n")
	for _, c := range webhooksCommands {
		b.WriteString("  " + c.example + "\n")
	}
	return b.String()
}

func webhooksCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return inputError{fmt.Errorf("a command is required: add, list, remove, resume or deliveries (see 'jevents webhooks -h')")}
	}
	if isHelpFlag(args[0]) || args[0] == "help" {
		fmt.Fprint(stdout, webhooksUsage())
		return nil
	}
	var s spec
	for _, c := range webhooksCommands {
		if c.name == "webhooks "+args[0] {
			s = c
		}
	}
	if s.name == "" {
		return inputError{fmt.Errorf("unknown webhooks command %q: use add, list, remove, resume or deliveries", args[0])}
	}
	f := newCmd(s, stdout)
	c, token := editorClient(f)
	filter := ""
	if s.name == webhooksAddSpec.name {
		f.StringVar(&filter, "filter", "", "the changes to deliver, in the feeds' query syntax (topic=courts&region=uk); none: all")
	}
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if err := token(); err != nil {
		return err
	}
	method, path, body := http.MethodGet, "/api/v1/webhooks", []byte(nil)
	switch s.name {
	case webhooksAddSpec.name:
		method = http.MethodPost
		body, _ = json.Marshal(map[string]string{"url": f.Arg(0), "filter": filter})
	case webhooksRemoveSpec.name:
		method, path = http.MethodDelete, path+"/"+url.PathEscape(f.Arg(0))
	case webhooksResumeSpec.name:
		method, path = http.MethodPost, path+"/"+url.PathEscape(f.Arg(0))+"/resume"
	case webhooksDeliveriesSpec.name:
		path += "/" + url.PathEscape(f.Arg(0)) + "/deliveries"
	}
	var out json.RawMessage
	if err := c.do(ctx, method, path, http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return err
	}
	return printJSON(stdout, out)
}
