//go:build flood

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkMemoryAfterRestart: the all-in-one process's memory once it
// has started again on a log of N published conferences (issue 16: 451 MB
// after a restart with 30,000). It seeds N conferences through the API
// (submitted and approved), stops the process, starts it again on the same
// data, waits until /calendar.ics holds all N, and reports the resident
// memory and the Go heap (after a collection, asked through the operators'
// /debug/pprof/heap?gc=1). With BENCH_MEMORY_PROFILE=DIR the heap profile
// is kept as DIR/heap-<N>.pprof (`go tool pprof -top -sample_index=inuse_space`).
//
//	BENCH_MEMORY_CONFERENCES=30000 go test -tags flood -run '^$' -bench MemoryAfterRestart -benchtime 1x -timeout 60m -v ./cmd/jevents/
func BenchmarkMemoryAfterRestart(b *testing.B) {
	n := 30000
	if v := os.Getenv("BENCH_MEMORY_CONFERENCES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "jevents")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = repoPath(b, "cmd/jevents")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	args := []string{"--data", data, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", freePortNum(b)), "--no-seed",
		"--intake-per-address", "-1", "--intake-per-contact", "-1", "--intake-quota", "-1", "--intake-quota-bytes", "-1",
		"--max-conns-per-address", "-1"}
	p := startFlood(b, bin, args...)
	start := time.Now()
	seedConferences(b, p, n)
	b.Logf("seeded %d conferences in %v", n, time.Since(start).Round(time.Second))
	feedHolds(b, p, n)
	before := p.rss(nil)
	p.stop()

	for b.Loop() {
		start = time.Now()
		p = startFlood(b, bin, args...)
		feed := feedHolds(b, p, n)
		b.Logf("restarted and serving all %d in %v", n, time.Since(start).Round(time.Millisecond))
		rss := p.rss(nil)
		heap, err := fetchBody(p.ops + "/debug/pprof/heap?gc=1")
		if err != nil {
			b.Fatal(err)
		}
		if d := os.Getenv("BENCH_MEMORY_PROFILE"); d != "" {
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("heap-%d.pprof", n)), heap, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		rssAfterGC := p.rss(nil)
		inuse := p.metric("go_memstats_heap_inuse_bytes")
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("feed %.1f MB; RSS before the restart %d MiB, after %d MiB, after a GC %d MiB; heap in use %.0f MiB; load average %s",
			float64(feed)/1e6, before>>20, rss>>20, rssAfterGC>>20, inuse/(1<<20), strings.Join(strings.Fields(string(load))[:3], " "))
		b.ReportMetric(float64(rss)/(1<<20), "RSS-MiB")
		b.ReportMetric(float64(rssAfterGC)/(1<<20), "RSS-after-GC-MiB")
		b.ReportMetric(inuse/(1<<20), "heap-inuse-MiB")
		b.ReportMetric(float64(feed)/1e6, "feed-MB")
		p.stop()
	}
}

// feedHolds waits until /calendar.ics holds n events and returns its size.
func feedHolds(b *testing.B, p *floodProc, n int) int {
	b.Helper()
	var size int
	waitFor(b, 10*time.Minute, "the feed holds every conference", func() error {
		body, err := fetchBody(p.base + "/calendar.ics")
		if err != nil {
			return err
		}
		size = len(body)
		if got := strings.Count(string(body), "BEGIN:VEVENT"); got != n {
			return fmt.Errorf("%d of %d events", got, n)
		}
		return nil
	})
	return size
}

func fetchBody(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
