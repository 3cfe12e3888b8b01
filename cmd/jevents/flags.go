package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// How every command reads its command line, in one place:
//
//   - Environment first, flags second. Each flag with an environment
//     fallback is bound to its variable (cmdFlags.env); a variable that is
//     set and not empty is handed to the flag's own Set before the command
//     line is parsed, so it is checked exactly as the flag would be and a
//     bad value is refused naming the variable (exit 2). A flag on the
//     command line wins over its variable.
//   - Flags may come before or after the arguments (`jevents reject ID
//     --reason …`); `--` ends the flags.
//   - -h prints the command's arguments, an example and its flags on
//     stdout and exits 0; a mistake prints one line and a pointer to -h on
//     stderr and exits 2; so do missing or stray arguments.

// spec describes a command for its help and checks its arguments.
type spec struct {
	name     string // as typed after jevents: "reject", "resource edit"
	args     string // synopsis of the arguments: "ID", "[FILE.json]"
	summary  string // one line for `jevents help`
	about    string // a paragraph for the command's -h; optional
	example  string // lines of examples, without the leading two spaces
	min, max int    // how many arguments it takes
}

// cmdFlags is a command's flag set, with the environment variable of each
// flag that has one and the arguments that remain after parsing.
type cmdFlags struct {
	*flag.FlagSet
	spec   spec
	stdout io.Writer
	envs   []envBinding
	args   []string
}

type envBinding struct{ flag, variable string }

func newCmd(s spec, stdout io.Writer) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet("jevents "+s.name, flag.ContinueOnError), spec: s, stdout: stdout}
	f.Usage = func() { f.printHelp(f.Output()) }
	return f
}

// env binds a defined flag to its environment variable and names the
// variable in the flag's help.
func (f *cmdFlags) env(flagName, variable string) {
	fl := f.Lookup(flagName)
	if fl == nil {
		panic("jevents: env for undefined flag " + flagName)
	}
	fl.Usage += " (" + variable + ")"
	f.envs = append(f.envs, envBinding{flagName, variable})
}

// parse reads the environment, then args, and checks the number of
// arguments. It returns flag.ErrHelp after printing the help for -h, and
// inputErrors for mistakes.
func (f *cmdFlags) parse(args []string) error {
	for _, b := range f.envs {
		v, ok := os.LookupEnv(b.variable)
		if !ok || v == "" {
			continue
		}
		if err := f.Set(b.flag, v); err != nil {
			return inputError{fmt.Errorf("%s=%q: invalid value for --%s: %s", b.variable, v, b.flag, explain(f.Lookup(b.flag), err))}
		}
	}
	var msgs bytes.Buffer // the flag package's own message and usage
	f.SetOutput(&msgs)
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp(f.stdout)
				return err
			}
			return inputError{fmt.Errorf("%v (see 'jevents %s -h')", err, f.spec.name)}
		}
		rest := f.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			f.args = append(f.args, rest...) // everything after -- is an argument
			break
		}
		f.args = append(f.args, rest[0])
		args = rest[1:]
	}
	switch n := len(f.args); {
	case n < f.spec.min:
		return inputError{fmt.Errorf("missing %s: usage: %s (see 'jevents %s -h')", f.spec.args, f.synopsis(), f.spec.name)}
	case f.spec.max >= 0 && n > f.spec.max:
		extra := f.args[f.spec.max:]
		return inputError{fmt.Errorf("unexpected argument(s) %q: usage: %s (see 'jevents %s -h')", extra, f.synopsis(), f.spec.name)}
	}
	if afterParse != nil {
		return afterParse(f)
	}
	return nil
}

// afterParse, when set (by tests only), sees every command's flags once
// parsed; an error it returns ends the command there.
var afterParse func(*cmdFlags) error

// NArg and Arg are the arguments, wherever they stood among the flags.
func (f *cmdFlags) NArg() int { return len(f.args) }
func (f *cmdFlags) Arg(i int) string {
	if i < len(f.args) {
		return f.args[i]
	}
	return ""
}

func (f *cmdFlags) synopsis() string {
	return strings.TrimSpace("jevents " + f.spec.name + " [flags] " + f.spec.args)
}

func (f *cmdFlags) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", f.synopsis(), upperFirst(f.spec.summary)+".")
	if f.spec.about != "" {
		fmt.Fprintf(w, "\n%s\n", f.spec.about)
	}
	if f.spec.example != "" {
		fmt.Fprintf(w, "\nExample:\n")
		for _, l := range strings.Split(f.spec.example, "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "\nFlags (before or after the arguments; a flag given overrides its environment variable):\n")
	out := f.Output()
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(out)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// explain turns the flag package's terse errors for its own types into
// what the value should look like.
func explain(fl *flag.Flag, err error) string {
	if msg := err.Error(); msg != "parse error" && msg != "value out of range" {
		return msg
	}
	if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return "want true or false (1 or 0)"
	}
	switch kind, _ := flag.UnquoteUsage(fl); kind {
	case "duration":
		return "want a duration such as 90m, 36h or 2160h (units: s, m, h)"
	case "int", "uint":
		return "want a whole number"
	}
	return err.Error()
}

// checked is a string flag whose value is checked when it is set, so that
// a bad value is refused with the flag's or variable's name.
type checked struct {
	p     *string
	check func(string) error
}

func (c checked) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

func (c checked) Set(v string) error {
	if err := c.check(v); err != nil {
		return err
	}
	*c.p = v
	return nil
}

// checkedVar defines a checked string flag.
func (f *cmdFlags) checkedVar(p *string, name, def, usage string, check func(string) error) {
	*p = def
	f.Var(checked{p, check}, name, usage)
}
