//go:build flood

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkFeedsBesideNginx serves /calendar.ics from the service (the
// real binary, all-in-one, on an embedded server) and, in the same run,
// the same bytes as a static file from Debian's nginx-light, and loads
// both with wrk (2 threads, 32 connections): full answers, then 304s to
// If-None-Match with each server's own ETag. Issue 16's targets: full
// answers ≥ 1.0× nginx, 304s ≥ 0.8×. Sizes: 1,000 and 10,000 published
// conferences (BENCH_FEEDS_CONFERENCES="1000,10000"); each wrk run
// lasts BENCH_FEEDS_SECONDS (10). With BENCH_FEEDS_PROFILE=DIR, a CPU
// profile of the service during its 304 run is written to
// DIR/304-<conferences>.pprof (from the operators' /debug/pprof/profile),
// and the run repeats BENCH_FEEDS_ROUNDS times (1), nginx and the service
// alternating, so that ratios come from the same minutes.
// BENCH_FEEDS_BINARY runs a given build of jevents instead of this tree's
// (the figures before a change: build the older commit, pass it here).
//
//	make bench-feeds    # installs nginx-light and wrk (scripts/bench-deps/), then runs this
//
// It is a benchmark under the flood build tag: `make test` compiles it
// and never runs it.
func BenchmarkFeedsBesideNginx(b *testing.B) {
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				b.Fatalf("%s is missing: run scripts/bench-deps/10-nginx-wrk.sh (make bench-feeds does)", tool)
			}
		}
	}
	sizes := []int{1000, 10000}
	if v := os.Getenv("BENCH_FEEDS_CONFERENCES"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	seconds := 10
	if v := os.Getenv("BENCH_FEEDS_SECONDS"); v != "" {
		seconds, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "jevents")
	if prebuilt := os.Getenv("BENCH_FEEDS_BINARY"); prebuilt != "" {
		bin = prebuilt // another build of the service (an older commit, to compare)
	} else {
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = repoPath(b, "cmd/jevents")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conferences=%d", n), func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "data")
			p := startFlood(b, bin, "--data", data, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", freePortNum(b)), "--no-seed",
				"--intake-per-address", "-1", "--intake-per-contact", "-1", "--intake-quota", "-1", "--intake-quota-bytes", "-1",
				"--max-conns-per-address", "-1")
			seedConferences(b, p, n)
			url := p.base + "/calendar.ics"
			var body []byte
			var etag string
			waitFor(b, 60*time.Second, "the feed holds every conference", func() error {
				resp, err := http.Get(url)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, _ = io.ReadAll(resp.Body)
				etag = resp.Header.Get("ETag")
				if got := strings.Count(string(body), "BEGIN:VEVENT"); got != n {
					return fmt.Errorf("%d of %d events", got, n)
				}
				return nil
			})

			// nginx serving the same bytes, with its own ETag.
			ngx := filepath.Join(b.TempDir(), "nginx")
			if err := os.MkdirAll(filepath.Join(ngx, "www"), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ngx, "www", "calendar.ics"), body, 0o644); err != nil {
				b.Fatal(err)
			}
			port := freePortNum(b)
			// Workers run as the user who starts the benchmark (root
			// here: nginx would otherwise switch to nobody, who cannot
			// read the test's temporary directory).
			user := ""
			if os.Getuid() == 0 {
				user = "user root;"
			}
			conf := user + fmt.Sprintf(`daemon off; worker_processes auto; pid %[1]s/nginx.pid; error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  types { text/calendar ics; }
  client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
  server { listen 127.0.0.1:%[2]d; root %[1]s/www; etag on; } }
`, ngx, port)
			if err := os.WriteFile(filepath.Join(ngx, "nginx.conf"), []byte(conf), 0o644); err != nil {
				b.Fatal(err)
			}
			nginx := exec.Command(nginxPath(), "-p", ngx, "-c", filepath.Join(ngx, "nginx.conf"))
			nginx.Stdout, nginx.Stderr = os.Stderr, os.Stderr
			if err := nginx.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = nginx.Process.Signal(os.Interrupt); _ = nginx.Wait() })
			nurl := fmt.Sprintf("http://127.0.0.1:%d/calendar.ics", port)
			var netag string
			waitFor(b, 10*time.Second, "nginx ready", func() error {
				resp, err := http.Get(nurl)
				if err != nil {
					return err
				}
				nb, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				netag = resp.Header.Get("ETag")
				if len(nb) != len(body) {
					return fmt.Errorf("nginx serves %d bytes, want %d", len(nb), len(body))
				}
				return nil
			})

			load, _ := os.ReadFile("/proc/loadavg")
			b.Logf("feed %d bytes; load average %s", len(body), strings.Join(strings.Fields(string(load))[:3], " "))
			rounds := 1
			if v := os.Getenv("BENCH_FEEDS_ROUNDS"); v != "" {
				rounds, _ = strconv.Atoi(v)
			}
			var full, nfull, cond, ncond, bcond float64
			bare, bareETag := bareServer(b, etag)
			for round := 1; round <= rounds; round++ {
				f := wrk(b, seconds, p.base+"/calendar.ics", "")
				nf := wrk(b, seconds, nurl, "")
				var c float64
				svcPids := []int{p.cmd.Process.Pid}
				cpu0 := cpuSeconds(svcPids...)
				if dir := os.Getenv("BENCH_FEEDS_PROFILE"); dir != "" && round == 1 {
					done := make(chan error, 1)
					go func() {
						done <- fetchProfile(p.ops+fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, seconds-1)),
							filepath.Join(dir, fmt.Sprintf("304-%d.pprof", n)))
					}()
					c = wrk(b, seconds, p.base+"/calendar.ics", etag)
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				} else {
					c = wrk(b, seconds, p.base+"/calendar.ics", etag)
				}
				cpu := cpuSeconds(svcPids...) - cpu0
				nginxPids := append([]int{nginx.Process.Pid}, childPids(nginx.Process.Pid)...)
				n0 := cpuSeconds(nginxPids...)
				nc := wrk(b, seconds, nurl, netag)
				ncpu := cpuSeconds(nginxPids...) - n0
				self0 := cpuSeconds(os.Getpid())
				bc := wrk(b, seconds, bare, bareETag)
				bcpu := cpuSeconds(os.Getpid()) - self0
				load, _ := os.ReadFile("/proc/loadavg")
				// CPU per answer: what each server spent on a 304, which
				// the machine's other work changes far less than the rate.
				us := func(cpu, rate float64) float64 { return cpu / (rate * float64(seconds)) * 1e6 }
				b.Logf("round %d: full %.0f / nginx %.0f = %.2f; 304 %.0f / nginx %.0f = %.2f (bare net/http %.0f = %.2f of nginx; service %.2f of bare); "+
					"CPU per 304: service %.1f µs, nginx %.1f µs, bare net/http %.1f µs; load average %s", round,
					f, nf, f/nf, c, nc, c/nc, bc, bc/nc, c/bc, us(cpu, c), us(ncpu, nc), us(bcpu, bc), strings.Join(strings.Fields(string(load))[:3], " "))
				full, nfull, cond, ncond = full+f/float64(rounds), nfull+nf/float64(rounds), cond+c/float64(rounds), ncond+nc/float64(rounds)
				bcond += bc / float64(rounds)
			}
			b.ReportMetric(full, "full-req/s")
			b.ReportMetric(nfull, "nginx-full-req/s")
			b.ReportMetric(full/nfull, "full/nginx")
			b.ReportMetric(cond, "304-req/s")
			b.ReportMetric(ncond, "nginx-304-req/s")
			b.ReportMetric(cond/ncond, "304/nginx")
			b.ReportMetric(bcond/ncond, "bare-304/nginx")
			b.ReportMetric(float64(p.rss(nil))/(1<<20), "service-RSS-MiB")
		})
	}
}

// bareServer is the floor of Go's net/http on this machine, measured in
// the same run: a server in the benchmark's process that answers every
// request with the 304 the service sends (the same headers) and does
// nothing else: no routing, middleware, metrics or feed lookup. What the
// service costs above it is the service's; what it costs above nginx is
// net/http's (a goroutine per connection, the runtime's scheduler and
// poller) and no handler can remove it.
func bareServer(b *testing.B, etag string) (url, tag string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hdr := http.Header{"Etag": {etag}, "Cache-Control": {"public, max-age=3600"}, "Vary": {"Accept-Encoding"},
		"X-Content-Type-Options": {"nosniff"}, "Referrer-Policy": {"strict-origin-when-cross-origin"},
		"Content-Disposition": {`inline; filename="justice-events.ics"`}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range hdr {
			h[k] = v
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusPreconditionFailed) // wrk counts it as an error: the benchmark sends the tag
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/calendar.ics", etag
}

// cpuSeconds is the user and system CPU time the processes have used
// (all their threads), from /proc.
func cpuSeconds(pids ...int) float64 {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): utime
		// and stime are the 12th and 13th.
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return float64(ticks) / 100 // USER_HZ
}

// childPids lists a process's children (nginx's workers).
func childPids(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// fetchProfile saves what the profile URL answers into file.
func fetchProfile(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

func nginxPath() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	return "/usr/sbin/nginx"
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk loads url for the given seconds with 2 threads and 32 connections
// (with If-None-Match: etag when etag is set) and returns its requests/s;
// it fails unless every answer was 200 (304 with etag).
func wrk(b testing.TB, seconds int, url, etag string) float64 {
	b.Helper()
	args := []string{"-t2", "-c32", fmt.Sprintf("-d%ds", seconds), "--latency"}
	if etag != "" {
		args = append(args, "-H", "If-None-Match: "+etag)
	}
	return runWrk(b, append(args, url)...)
}

// runWrk runs wrk with args and returns its requests/s; it fails unless
// every answer was 2xx or 3xx.
func runWrk(b testing.TB, args ...string) float64 {
	b.Helper()
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx or 3xx responses") {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk output:\n%s", out)
	}
	r, _ := strconv.ParseFloat(string(m[1]), 64)
	return r
}
