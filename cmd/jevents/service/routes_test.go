package service_test

import "strings"

// requestPath is a path a route's pattern matches: each wildcard becomes
// an id that exists nowhere ({file} an .ics name).
func requestPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{file}", "no-such-thing.ics")
	for strings.Contains(path, "{") {
		i, j := strings.Index(path, "{"), strings.Index(path, "}")
		path = path[:i] + "no-such-thing" + path[j+1:]
	}
	return method, path
}
