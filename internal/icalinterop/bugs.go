package icalinterop

import "strings"

// listSep joins a list of categories into one comparable string.
const listSep = "\x00"

// KnownBug is a parser's known misreading of a correct file: Wrong turns
// the value the file holds into exactly what the buggy parser returns.
// Compare accepts Wrong(want) from that parser for that field, and only
// where it differs from want, so a bug is exempted precisely where it can
// show, and any other difference still fails.
type KnownBug struct {
	Parser string
	Field  string // name, x-wr-calname, summary, description, location, categories (joined by listSep)
	Why    string
	Wrong  func(want string) string
}

// KnownBugs are the misreadings of the parsers this package runs, each
// modelled on the parser's code. None of them can show in the feeds of
// Justice Events except python-icalendar's split of a category holding a
// comma ("Drugs, Alcohol and Crime"): feed categories come from the topic
// vocabulary, whose labels hold no backslash, quote, newline or leading
// space, and titles and descriptions are trimmed at intake. The ical
// package's hostile golden feed, whose text is arbitrary, shows them all.
var KnownBugs = []KnownBug{
	{
		Parser: "python-icalendar", Field: "summary",
		Why:   "python-icalendar 4.0.3 unescapes TEXT with chains of str.replace (parser.py escape_string, unescape_string, unescape_char), so a typed backslash before n, N, comma or semicolon is lost and \\\\n becomes a line break",
		Wrong: func(want string) string { return pyUnescape(escapeText(want)) },
	},
	{Parser: "python-icalendar", Field: "description", Why: "as for summary", Wrong: func(want string) string { return pyUnescape(escapeText(want)) }},
	{Parser: "python-icalendar", Field: "location", Why: "as for summary", Wrong: func(want string) string { return pyUnescape(escapeText(want)) }},
	{Parser: "python-icalendar", Field: "name", Why: "as for summary", Wrong: func(want string) string { return pyUnescape(escapeText(want)) }},
	{Parser: "python-icalendar", Field: "x-wr-calname", Why: "as for summary", Wrong: func(want string) string { return pyUnescape(escapeText(want)) }},
	{
		Parser: "python-icalendar", Field: "categories",
		Why: "python-icalendar 4.0.3 unescapes CATEGORIES first and splits at commas after (icalendar/prop.py vCategory.from_ical), so a category holding a comma becomes two",
		Wrong: func(want string) string {
			return strings.Join(strings.Split(pyUnescape(escapeList(want)), ","), listSep)
		},
	},
	{
		Parser: "ical.js", Field: "categories",
		Why: "ical.js 2.2.1 splits a list at every comma not directly after a backslash (helpers.js unescapedIndexOf), so a category ending in a backslash (written \\\\,) is joined to the next one",
		Wrong: func(want string) string {
			var out []string
			raw, last := escapeList(want), 0
			for i := 0; i < len(raw); i++ {
				if raw[i] == ',' && (i == 0 || raw[i-1] != '\\') {
					out = append(out, unescapeText(raw[last:i]))
					last = i + 1
				}
			}
			return strings.Join(append(out, unescapeText(raw[last:])), listSep)
		},
	},
	{
		Parser: "ical.js", Field: "name",
		Why:   "ical.js 2.2.1 does not know RFC 7986's NAME as TEXT and returns its value still escaped",
		Wrong: escapeText,
	},
	{
		Parser: "ical.js", Field: "x-wr-calname",
		Why:   "ical.js 2.2.1 does not know X-WR-CALNAME as TEXT and returns its value still escaped",
		Wrong: escapeText,
	},
	{
		Parser: "libical", Field: "summary",
		Why:   "libical 3.0.16 strips white space at both ends of every property value (icalparser.c strstriplt)",
		Wrong: func(want string) string { return strings.Trim(want, " \t") },
	},
	{Parser: "libical", Field: "description", Why: "as for summary", Wrong: func(want string) string { return strings.Trim(want, " \t") }},
	{Parser: "libical", Field: "location", Why: "as for summary", Wrong: func(want string) string { return strings.Trim(want, " \t") }},
	{Parser: "libical", Field: "name", Why: "as for summary", Wrong: func(want string) string { return strings.Trim(want, " \t") }},
	{Parser: "libical", Field: "x-wr-calname", Why: "as for summary", Wrong: func(want string) string { return strings.Trim(want, " \t") }},
	{
		Parser: "libical", Field: "categories",
		Why:   "libical 3.0.16 splits CATEGORIES with parser_get_next_value (icalparser.c): a comma after a backslash, or three characters after one, is not a separator, DQUOTEs switch a quote mode off and on, and each value is stripped of white space at both ends",
		Wrong: func(want string) string { return strings.Join(libicalSplit(escapeList(want)), listSep) },
	},
}

// escapeText is RFC 5545 §3.3.11 TEXT escaping, as the feeds write it.
func escapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}

// escapeList is a list of categories (joined by listSep) as written.
func escapeList(joined string) string {
	parts := strings.Split(joined, listSep)
	for i, p := range parts {
		parts[i] = escapeText(p)
	}
	return strings.Join(parts, ",")
}

// unescapeText is correct TEXT unescaping.
func unescapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == 'n' || s[i] == 'N' {
				b.WriteByte('\n')
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pyUnescape is how python-icalendar 4.0.3 reads a raw value: the content
// line goes through escape_string and unescape_string (parser.py
// Contentline.parts), the value then through unescape_char (vText and
// vCategory from_ical), each a chain of str.replace.
func pyUnescape(s string) string {
	for _, chain := range [][][2]string{
		{{`\,`, "%2C"}, {`\:`, "%3A"}, {`\;`, "%3B"}, {`\\`, "%5C"}},                        // escape_string
		{{"%2C", ","}, {"%3A", ":"}, {"%3B", ";"}, {"%5C", `\`}},                            // unescape_string
		{{`\N`, `\n`}, {"\r\n", "\n"}, {`\n`, "\n"}, {`\,`, ","}, {`\;`, ";"}, {`\\`, `\`}}, // unescape_char
	} {
		for _, r := range chain {
			s = strings.ReplaceAll(s, r[0], r[1])
		}
	}
	return s
}

// libicalSplit is how libical 3.0.16 reads a multi-valued TEXT property:
// icalparser_add_line's loop over parser_get_next_value, strstriplt and
// the TEXT value's dequoting.
func libicalSplit(line string) []string {
	// parser_get_next_char: the first character of a scan never matches,
	// and a DQUOTE not after a backslash toggles a quote mode.
	nextChar := func(c byte, s string, from int) int {
		var prev byte
		quote := false
		for i := from; i < len(s); i++ {
			ch := s[i]
			if prev != 0 && prev != '\\' {
				if ch == '"' {
					quote = !quote
				} else if !quote && ch == c {
					return i
				}
			}
			prev = ch
		}
		return -1
	}
	var out []string
	for {
		quoted := len(line) > 0 && line[0] == '"' && line[len(line)-1] == '"'
		next, p := -1, 0
		for !quoted {
			next = nextChar(',', line, p)
			if next > 0 && (line[next-1] == '\\' || next >= 3 && line[next-3] == '\\') {
				p = next + 1
				continue
			}
			break
		}
		if next == 0 || line == "" {
			return out
		}
		seg, rest := line, ""
		if next > 0 {
			seg, rest = line[:next], line[next+1:]
		}
		out = append(out, unescapeText(strings.Trim(seg, " \t")))
		if next < 0 {
			return out
		}
		line = rest
	}
}
