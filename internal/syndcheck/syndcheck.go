// Package syndcheck runs the independent checkers of the syndication
// tests: Debian's python3-feedparser on RSS and Atom, ajv with the JSON
// Feed 1.1 schema on JSON Feed, TypeScript with schema-dts on schema.org
// JSON-LD and the Standard Webhooks reference implementation (npm
// standardwebhooks) in a receiving server. The npm packages are pinned in
// checkers/package-lock.json and installed by scripts/deps/70-syndication.sh;
// a missing checker fails the test (never skips it) and says what to run.
//
// It imports nothing of the product (internal/ is leaf plumbing).
package syndcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// Checkers is the folder of the checker scripts and their node_modules.
func Checkers() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "checkers")
}

func missing(t testing.TB, what string) {
	t.Helper()
	t.Fatalf("%s is missing: run ./scripts/install-test-deps.sh (or make test-deps)", what)
}

// Node returns the path of node with the checkers' modules installed.
func Node(t testing.TB, module string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node")
	}
	if _, err := os.Stat(filepath.Join(Checkers(), "node_modules", module, "package.json")); err != nil {
		missing(t, "npm package "+module+" in "+filepath.Join(Checkers(), "node_modules"))
	}
	return node
}

func run(t testing.TB, cmd *exec.Cmd, out any) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Args[0], err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("%s printed no JSON: %v\n%s\n%s", cmd.Args[0], err, stdout.String(), stderr.String())
	}
}

// Feed is what feedparser read of an RSS or Atom file.
type Feed struct {
	Bozo          bool    `json:"bozo"`
	BozoException string  `json:"bozo_exception"`
	Version       string  `json:"version"`
	Title         string  `json:"title"`
	Links         []Link  `json:"links"`
	Entries       []Entry `json:"entries"`
}

// Link is a feed's link.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// Entry is one item or entry as feedparser read it. Text is its content
// with the (sanitised) markup removed and entities decoded.
type Entry struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	TitleType string `json:"title_type"`
	Link      string `json:"link"`
	Tags      []Tag  `json:"tags"`
	Updated   string `json:"updated"`
	Published string `json:"published"`
	Text      string `json:"text"`
	Raw       string `json:"raw"`
}

// Tag is a category.
type Tag struct {
	Term   string `json:"term"`
	Scheme string `json:"scheme"`
	Label  string `json:"label"`
}

// ReadFeeds parses each file with feedparser.
func ReadFeeds(t testing.TB, paths ...string) []Feed {
	t.Helper()
	py := os.Getenv("JEVENTS_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import feedparser").Run(); err != nil {
		missing(t, py+" with python3-feedparser")
	}
	var out []Feed
	run(t, exec.Command(py, append([]string{filepath.Join(Checkers(), "readfeeds.py")}, paths...)...), &out)
	if len(out) != len(paths) {
		t.Fatalf("feedparser read %d of %d files", len(out), len(paths))
	}
	return out
}

// Validation is the JSON Schema verdict on one JSON Feed file.
type Validation struct {
	Path   string   `json:"path"`
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors"`
}

// ValidateJSONFeeds checks each file against the JSON Feed 1.1 schema.
func ValidateJSONFeeds(t testing.TB, paths ...string) []Validation {
	t.Helper()
	node := Node(t, "jsonfeed-schema")
	var out []Validation
	run(t, exec.Command(node, append([]string{filepath.Join(Checkers(), "jsonfeed.mjs")}, paths...)...), &out)
	if len(out) != len(paths) {
		t.Fatalf("ajv checked %d of %d files", len(out), len(paths))
	}
	return out
}

// LD is one JSON-LD document and the schema.org type (as schema-dts names
// it: Event, ItemList) it must be.
type LD struct {
	Type string
	JSON string
}

// TypeCheckJSONLD type-checks each document against schema.org's types as
// the npm package schema-dts declares them (generated from schema.org's
// vocabulary), with TypeScript in strict mode: a property schema.org does
// not have on the type, a value of the wrong type or an enumeration member
// that does not exist (eventStatus, eventAttendanceMode) fails. tsc's
// output is the failure message.
func TypeCheckJSONLD(t testing.TB, docs ...LD) {
	t.Helper()
	node := Node(t, "schema-dts")
	Node(t, "typescript")
	dir, err := os.MkdirTemp(Checkers(), ".jsonld-") // beside node_modules, to resolve schema-dts
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var b bytes.Buffer
	b.WriteString("import type * as S from \"schema-dts\";\n")
	for i, d := range docs {
		if !json.Valid([]byte(d.JSON)) {
			t.Fatalf("document %d is not JSON: %s", i, d.JSON)
		}
		b.WriteString("export const d" + strconv.Itoa(i) + ": S.WithContext<S." + d.Type + "> = " + d.JSON + ";\n")
	}
	file := filepath.Join(dir, "ld.ts")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(Checkers(), "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict",
		"--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("schema-dts refuses the JSON-LD: %v\n%s\n%s", err, out, b.String())
	}
}
