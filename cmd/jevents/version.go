package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Which build this is, for `jevents version`, `jevents --version` and the
// jevents_build_info metric of every process.
//
// A release sets the version (and, where the build has no .git, the
// revision) at link time:
//
//	go build -ldflags "-X main.version=v1.4.0 -X main.revision=$(git rev-parse HEAD)" ./cmd/jevents
//
// (deploy/Dockerfile passes its JEVENTS_VERSION build argument this way).
// Without them the Go toolchain's own record of the build is used: the
// module version for `go install …@v1.4.0`, "(devel)" for a build from a
// checkout, and the VCS revision it stamps into binaries built from a git
// checkout (vcs.revision, with "-modified" when the tree had changes).
var (
	version  string
	revision string
)

// buildInfo is what a binary knows about its build.
type buildInfo struct {
	Version, Revision, GoVersion, Platform string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		if b.Revision == "" {
			modified := false
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					b.Revision = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if b.Revision != "" && modified {
				b.Revision += "-modified"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("jevents %s (revision %s, %s, %s)", b.Version, b.Revision, b.GoVersion, b.Platform)
}

// collector is jevents_build_info: always 1, its labels say which build
// runs (docs/metrics.md).
func (b buildInfo) collector() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Name: "build_info",
		Help: "Always 1; the labels name the running build: version, VCS revision and Go version."},
		[]string{"version", "revision", "go_version"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return g
}

// printVersion is `jevents version` and `jevents --version`.
func printVersion(args []string, stdout io.Writer) error {
	f := newCmd(versionSpec, stdout)
	if err := f.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, readBuildInfo())
	return nil
}
