//go:build flood

package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/internal/embednats"
)

// BenchmarkIntakeUnderWrk: submissions posted by wrk (a Lua script, each
// request a different conference and contact) to the real binary,
// all-in-one on its embedded server that syncs every write, against raw
// JetStream sync publishing of messages of the same size to a stream of
// the same server, with as many publishers as wrk has connections, in the
// same run (issue 16: 0.39-0.56 at 8 and 64 connections; target 0.6).
//
//	make bench-intake   # installs wrk (scripts/bench-deps/), then runs this
//
// BENCH_INTAKE_SECONDS (10) per run; BENCH_INTAKE_CONNS ("8,64");
// BENCH_INTAKE_ROLE runs the process in that role (e.g. "intake": no
// projector writing read models beside the appends) instead of all-in-one.
func BenchmarkIntakeUnderWrk(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Fatal("wrk is missing: run scripts/bench-deps/10-nginx-wrk.sh (make bench-intake does)")
	}
	seconds := 10
	if v := os.Getenv("BENCH_INTAKE_SECONDS"); v != "" {
		seconds, _ = strconv.Atoi(v)
	}
	conns := []int{8, 64}
	if v := os.Getenv("BENCH_INTAKE_CONNS"); v != "" {
		conns = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, n)
		}
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "jevents")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = repoPath(b, "cmd/jevents")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePortNum(b))
	data := filepath.Join(dir, "data")
	p := startFlood(b, bin, "--data", data, "--nats-listen", natsAddr, "--no-seed",
		"--intake-per-address", "-1", "--intake-per-contact", "-1", "--intake-quota", "-1", "--intake-quota-bytes", "-1",
		"--max-conns-per-address", "-1", "--role", cmp.Or(os.Getenv("BENCH_INTAKE_ROLE"), "all"))
	script := filepath.Join(dir, "submit.lua")
	if err := os.WriteFile(script, []byte(submitLua), 0o644); err != nil {
		b.Fatal(err)
	}
	// The embedded server admits only its data directory's user.
	auth, err := nats.NkeyOptionFromSeed(filepath.Join(data, embednats.SeedFile))
	if err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+natsAddr, auth)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// A stream beside the log on the same server (which syncs every
	// write): what a bare sync publish costs there.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH_RAW", Subjects: []string{"benchraw.>"},
		Storage: jetstream.FileStorage, Duplicates: time.Minute}); err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("x", 900)) // an envelope of a submission: about 900 bytes

	for b.Loop() {
		for _, c := range conns {
			intake := wrkScript(b, seconds, c, p.base+"/api/v1/conferences", script)
			var sent atomic.Int64
			var wg sync.WaitGroup
			deadline := time.Now().Add(time.Duration(seconds) * time.Second)
			start := time.Now()
			for w := range c {
				wg.Go(func() {
					for i := 0; time.Now().Before(deadline); i++ {
						m := nats.NewMsg(fmt.Sprintf("benchraw.%d.%d", c, w))
						m.Data = body
						m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%d-%d-%d-%d", time.Now().UnixNano(), c, w, i))
						if _, err := js.PublishMsg(ctx, m); err != nil {
							b.Error(err)
							return
						}
						sent.Add(1)
					}
				})
			}
			wg.Wait()
			raw := float64(sent.Load()) / time.Since(start).Seconds()
			load, _ := os.ReadFile("/proc/loadavg")
			b.Logf("%d connections: intake %.0f req/s, raw sync publish %.0f/s, intake/raw %.2f; load average %s",
				c, intake, raw, intake/raw, strings.Join(strings.Fields(string(load))[:3], " "))
			b.ReportMetric(intake, fmt.Sprintf("intake-req/s@%d", c))
			b.ReportMetric(raw, fmt.Sprintf("raw-pub/s@%d", c))
			b.ReportMetric(intake/raw, fmt.Sprintf("intake/raw@%d", c))
		}
	}
}

// submitLua posts a different conference, from a different contact, at
// every request of every wrk thread.
const submitLua = `
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
request = function()
  n = n + 1
  local id = tostring(tid) .. "-" .. tostring(n) .. "-" .. tostring(os.time())
  local body = '{"title":"Conference ' .. id .. ' on courts and justice",' ..
    '"description":"A conference for judges, prosecutors and advocates. A conference for judges, prosecutors and advocates.",' ..
    '"start":"2027-05-03","all_day":true,"location":{"city":"Baltimore","region":"MD"},"format":"in_person",' ..
    '"topics":["courts"],"contact":{"email":"org' .. id .. '@example.org"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
`

// wrkScript runs wrk with a Lua script and returns its requests/s; it
// fails unless every answer was 2xx or 3xx.
func wrkScript(b testing.TB, seconds, conns int, url, script string) float64 {
	b.Helper()
	return runWrk(b, fmt.Sprintf("-t%d", min(2, conns)), fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", seconds), "-s", script, url)
}
