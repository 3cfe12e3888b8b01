//go:build flood

package main

// TestFlood attacks a started service (the real binary, built here) the way
// issue 10's attacker did, from several loopback addresses (Linux routes all
// of 127.0.0.0/8 to lo), and checks what the design promises:
//
//   - the permanent log grows by at most the intake quota (per window), and
//     never into the editors' reserve; floods past the limits get 429 with
//     Retry-After, past the reserve 507, editors never 507;
//   - /healthz (operators' listener) and /calendar.ics (public listener of
//     the feeds-role process) keep answering within the bounds below during
//     every attack;
//   - the feeds-role process's memory stays within its bound, and its
//     calendar replica does not move with the pending flood;
//   - wrong bearer tokens are throttled, and the right one still works from
//     the same address;
//   - editors reject the whole flood with bulk rejections, and every
//     submission that got a 202 is in the log.
//
// It needs a few minutes and is run on its own, without the race detector
// (whose memory would make the RSS figures meaningless):
//
//	make test-flood     # go test -tags flood -run TestFlood -count=1 -v ./cmd/jevents/
//
// The figures it logs are the ones in docs/performance.md (issue 10).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/embednats"
)

// The configuration under attack and the bounds the test holds it to.
const (
	floodWindow      = time.Minute
	floodQuota       = 1000    // submissions per window, everyone together
	floodQuotaBytes  = 3 << 20 // bytes per window
	floodPerAddress  = 60
	floodPerContact  = 60
	floodRoom        = 5 << 20 // the log's budget is what the seed left + this
	floodReserve     = 3 << 20 // of which the editors' reserve
	floodCacheBytes  = 16 << 20
	floodMaxConns    = 400
	floodConnsPerIP  = 50
	floodPublished   = 1000
	floodPhase       = 12 * time.Second
	boundHealthP99   = time.Second // on a shared 2-core machine, the attackers included
	boundFeedP99     = 2 * time.Second
	boundFeedsRSS    = 160 << 20 // feeds-role process, 1,000 published conferences, 16 MiB cache
	floodWorkers     = 12
	floodAttackAddrs = 8 // 127.0.<attack>.2 … 127.0.<attack>.9
)

type floodProc struct {
	cmd       *exec.Cmd
	base, ops string
	logs      *lockedWriter
}

func (p *floodProc) stop() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
	}
}

// rss is the process's resident memory, from /proc.
func (p *floodProc) rss(t *testing.T) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// metric reads one sample from the operators' listener (-1 when absent).
func (p *floodProc) metric(sample string) float64 {
	resp, err := http.Get(p.ops + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

func startFlood(t testing.TB, bin string, args ...string) *floodProc {
	t.Helper()
	addr, ops := fmt.Sprintf("127.0.0.1:%d", freePortNum(t)), fmt.Sprintf("127.0.0.1:%d", freePortNum(t))
	cmd := exec.Command(bin, append([]string{"serve", "--http", addr, "--metrics-listen", ops, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "JEVENTS_EDITOR_TOKEN="+token)
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &floodProc{cmd: cmd, base: "http://" + addr, ops: "http://" + ops, logs: logs}
	t.Cleanup(p.stop)
	waitFor(t, 90*time.Second, "jevents ready", func() error {
		resp, err := http.Get(p.ops + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d\n%s", resp.StatusCode, logs)
		}
		return nil
	})
	return p
}

// clientFrom is an HTTP client whose connections come from a loopback
// address.
func clientFrom(ip string, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext,
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
}

// attacker is the address of worker i of an attack: each attack comes from
// its own floodAttackAddrs addresses (127.0.<set>.2 …), so that one
// attack's per-address limits do not hide the next one's.
func attacker(set, i int) string { return fmt.Sprintf("127.0.%d.%d", set, 2+i%floodAttackAddrs) }

// tally counts answers by status.
type tally struct {
	mu    sync.Mutex
	codes map[int]int
}

func (t *tally) add(code int) {
	t.mu.Lock()
	if t.codes == nil {
		t.codes = map[int]int{}
	}
	t.codes[code]++
	t.mu.Unlock()
}

func (t *tally) get(code int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.codes[code]
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keys []int
	for k := range t.codes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d×%d ", k, t.codes[k])
	}
	return strings.TrimSpace(b.String())
}

// probe measures the latency of a URL every interval until stopped.
type probe struct {
	mu   sync.Mutex
	lat  []time.Duration
	errs int
	bad  map[int]int
}

func (p *probe) run(ctx context.Context, c *http.Client, url string, gzip bool, every time.Duration) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		d := time.Since(start)
		p.mu.Lock()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			p.errs++
		case resp.StatusCode != 200:
			if p.bad == nil {
				p.bad = map[int]int{}
			}
			p.bad[resp.StatusCode]++
		default:
			p.lat = append(p.lat, d)
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

func (p *probe) quantile(q float64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lat) == 0 {
		return 0
	}
	s := slices.Clone(p.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (p *probe) summary() string {
	p.mu.Lock()
	n, errs, bad := len(p.lat), p.errs, fmt.Sprint(p.bad)
	p.mu.Unlock()
	return fmt.Sprintf("%d ok (p50 %v, p99 %v), %d errors, non-200 %s", n, p.quantile(0.5).Round(time.Millisecond/10),
		p.quantile(0.99).Round(time.Millisecond/10), errs, bad)
}

// phase is one attack's figures.
type phase struct {
	name             string
	seconds          float64
	accepted, refuse int
	other            string
	health, feed     *probe
	rssMax           int64
}

// floodSubmission is a valid submission; descChars pads the description,
// wide with four bytes a character: the most a description may hold
// (10,000 characters) makes a body of about 41 KB, as issue 10's attacker
// sent.
func floodSubmission(i, descChars int, contact string, wide bool) []byte {
	desc := strings.Repeat("Junk text of a flood. ", descChars/22+1)[:max(descChars, 1)]
	if wide {
		desc = strings.Repeat("𝕁", descChars)
	}
	b, _ := json.Marshal(map[string]any{
		"title": fmt.Sprintf("Flood %d %s", i, randHex(4)), "description": desc,
		"start": fmt.Sprintf("%d-05-04", time.Now().Year()+1), "all_day": true,
		"format": "online", "topics": []string{"courts"}, "contact": map[string]string{"email": contact},
	})
	return b
}

// seedWords are in every seeded conference's description; piece is a
// random part of one (at least 3 letters), a word that matches them all.
var seedWords = []string{"conference", "judges", "prosecutors", "advocates"}

func piece() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	w := seedWords[int(b[0])%len(seedWords)]
	start := int(b[1]) % (len(w) - 2)
	n := 3 + int(b[2])%(len(w)-start-2)
	return w[start : start+n]
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func icsFlood(n int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flood//EN\r\n")
	y := time.Now().Year() + 1
	id := randHex(6)
	for i := range n {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s-%d@flood\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:%d0%d%02d\r\nDTEND;VALUE=DATE:%d0%d%02d\r\nSUMMARY:Flood file %s event %d\r\nEND:VEVENT\r\n",
			id, i, y, 1+i%9, 1+i%27, y, 1+i%9, 2+i%27, id, i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func TestFlood(t *testing.T) {
	started := time.Now()
	dir := t.TempDir()
	bin := filepath.Join(dir, "jevents")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = repoPath(t, "cmd/jevents")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePortNum(t))

	// Seed: 1,000 published conferences, with no limits.
	seed := startFlood(t, bin, "--data", data, "--nats-listen", natsAddr, "--no-seed",
		"--intake-per-address", "-1", "--intake-per-contact", "-1", "--intake-quota", "-1", "--intake-quota-bytes", "-1")
	seedConferences(t, seed, floodPublished)
	seedBytes := int64(seed.metric("jevents_stream_bytes"))
	seed.stop()
	if seedBytes <= 0 {
		t.Fatal("cannot read the stream's size")
	}

	// The service under attack: intake, editors and projector on the
	// embedded server, and a feed server of its own (the role whose memory
	// must not follow the queue). The log's budget: what the seed used, and
	// floodRoom more.
	budget := seedBytes + floodRoom
	a := startFlood(t, bin, "--data", data, "--nats-listen", natsAddr, "--no-seed", "--role", "intake,editors,projector",
		"--log-max-bytes", strconv.FormatInt(budget, 10), "--log-reserve-bytes", strconv.Itoa(floodReserve),
		"--intake-window", floodWindow.String(), "--intake-quota", strconv.Itoa(floodQuota),
		"--intake-quota-bytes", strconv.Itoa(floodQuotaBytes), "--intake-per-address", strconv.Itoa(floodPerAddress),
		"--intake-per-contact", strconv.Itoa(floodPerContact))
	f := startFlood(t, bin, "--role", "feeds", "--nats", "nats://"+natsAddr, "--replicas", "1",
		"--nats-nkey", filepath.Join(data, embednats.SeedFile), // the embedded server's only user
		"--feed-cache-bytes", strconv.Itoa(floodCacheBytes), "--max-conns", strconv.Itoa(floodMaxConns),
		"--max-conns-per-address", strconv.Itoa(floodConnsPerIP))
	waitFor(t, 60*time.Second, "the feed server holds the published conferences", func() error {
		if n := f.metric(`jevents_readmodel_replica_keys{projection="calendar"}`); n != floodPublished {
			return fmt.Errorf("%v records", n)
		}
		return nil
	})
	feedBytes := f.metric(`jevents_readmodel_replica_value_bytes{projection="calendar"}`)
	for range 3 { // warm: the whole calendar prepared, and its gzip form
		get(t, f.base+"/calendar.ics", false)
		time.Sleep(200 * time.Millisecond)
	}
	rssIdle := f.rss(t)
	logStart := int64(a.metric("jevents_stream_bytes"))
	t.Logf("seeded %d published conferences: log %d bytes, budget %d (reserve %d); feed server RSS %.1f MiB, replica %.1f MiB encoded",
		floodPublished, logStart, budget, floodReserve, float64(rssIdle)/(1<<20), feedBytes/(1<<20))

	var (
		phases   []*phase
		accepted sync.Map // conference id → true: every 202
		editorOK = clientFrom("127.0.0.1", 4)
	)
	// run runs one attack for floodPhase while probes measure /healthz
	// and /calendar.ics, and the feed server's memory.
	run := func(name string, attack func(ctx context.Context, ph *phase, counts *tally)) *phase {
		ph := &phase{name: name, health: &probe{}, feed: &probe{}}
		counts := &tally{}
		ctx, cancel := context.WithTimeout(context.Background(), floodPhase)
		defer cancel()
		var wg sync.WaitGroup
		legit := clientFrom("127.0.0.1", 4)
		wg.Go(func() { ph.health.run(ctx, legit, a.ops+"/healthz", false, 50*time.Millisecond) })
		wg.Go(func() { ph.health.run(ctx, legit, f.ops+"/healthz", false, 50*time.Millisecond) })
		wg.Go(func() { ph.feed.run(ctx, legit, f.base+"/calendar.ics", true, 100*time.Millisecond) })
		wg.Go(func() {
			for ctx.Err() == nil {
				if r := f.rss(t); r > ph.rssMax {
					ph.rssMax = r
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		start := time.Now()
		attack(ctx, ph, counts)
		wg.Wait()
		ph.seconds = time.Since(start).Seconds()
		ph.other = counts.String()
		phases = append(phases, ph)
		t.Logf("%-26s %5.1fs  answers %s  accepted %d (%.0f/s) refused %d (%.0f/s)  healthz %s  calendar.ics %s  feeds RSS max %.1f MiB",
			name, ph.seconds, ph.other, ph.accepted, float64(ph.accepted)/ph.seconds, ph.refuse, float64(ph.refuse)/ph.seconds,
			ph.health.summary(), ph.feed.summary(), float64(ph.rssMax)/(1<<20))
		return ph
	}
	// submit floods POST /api/v1/conferences from every attacking address.
	submit := func(set int, body func(w, i int) ([]byte, string)) func(ctx context.Context, ph *phase, counts *tally) {
		return func(ctx context.Context, ph *phase, counts *tally) {
			var wg sync.WaitGroup
			var acc, ref atomic.Int64
			for w := range floodWorkers {
				c := clientFrom(attacker(set, w), 2)
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						b, ct := body(w, i)
						// Not cancelled at the phase's end: a request cut off
						// in flight may be appended without its 202 being read.
						req, _ := http.NewRequest(http.MethodPost, a.base+"/api/v1/conferences"+ctQuery(ct), bytes.NewReader(b))
						req.Header.Set("Content-Type", ct)
						resp, err := c.Do(req)
						if err != nil {
							continue
						}
						var rec struct {
							ID    string `json:"id"`
							Items []struct {
								ID string `json:"id"`
							} `json:"items"`
						}
						_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rec)
						resp.Body.Close()
						counts.add(resp.StatusCode)
						switch resp.StatusCode {
						case http.StatusAccepted:
							n := 0
							if rec.ID != "" {
								accepted.Store(rec.ID, true)
								n++
							}
							for _, it := range rec.Items {
								accepted.Store(it.ID, true)
								n++
							}
							acc.Add(int64(n))
						case http.StatusTooManyRequests:
							if resp.Header.Get("Retry-After") == "" {
								t.Error("a 429 without Retry-After")
							}
							ref.Add(1)
						case http.StatusInsufficientStorage:
							ref.Add(1)
						default:
							t.Errorf("a submission answered %d", resp.StatusCode)
						}
					}
				})
			}
			wg.Wait()
			ph.accepted, ph.refuse = int(acc.Load()), int(ref.Load())
		}
	}
	windowsStart := time.Now().Truncate(floodWindow)

	// In this order, within the log's room before the reserve: junk (the
	// per-address and per-contact limits), .ics files (the same, 50 events
	// at a time), then max-size submissions until the reserve (507).
	run("junk submissions", submit(1, func(w, i int) ([]byte, string) {
		return floodSubmission(i, 40, fmt.Sprintf("junk%d-%d@example.org", w, i%7), false), "application/json"
	}))
	run(".ics files of 50 events", submit(2, func(w, i int) ([]byte, string) { return icsFlood(50), "text/calendar" }))
	run("max-size submissions", submit(3, func(w, i int) ([]byte, string) {
		return floodSubmission(i, 10000, fmt.Sprintf("big%d-%d@example.org", w, i), true), "application/json"
	}))
	logAfter := int64(a.metric("jevents_stream_bytes"))
	windows := int(time.Since(windowsStart)/floodWindow) + 1

	// Idle connections to the feed server: 6 addresses, up to their limit
	// each, then 12 (past the total), re-opened as they are dropped.
	idle := func(addrs int) func(ctx context.Context, ph *phase, counts *tally) {
		return func(ctx context.Context, ph *phase, counts *tally) {
			var wg sync.WaitGroup
			host := strings.TrimPrefix(f.base, "http://")
			var opened atomic.Int64
			for i := range addrs {
				ip := fmt.Sprintf("127.0.0.%d", 20+i)
				for range floodConnsPerIP + 10 {
					wg.Go(func() {
						d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
						for ctx.Err() == nil {
							c, err := d.DialContext(ctx, "tcp", host)
							if err != nil {
								counts.add(0)
								time.Sleep(50 * time.Millisecond)
								continue
							}
							opened.Add(1)
							// Hold it idle until the server drops it (or sends a refusal).
							dl, _ := ctx.Deadline()
							_ = c.SetReadDeadline(dl)
							n, _ := c.Read(make([]byte, 64))
							if n > 0 {
								counts.add(1) // refused with a status line
							} else {
								counts.add(2) // dropped idle
							}
							c.Close()
						}
					})
				}
			}
			wg.Wait()
			ph.accepted = int(opened.Load())
		}
	}
	connsPhase := run("idle connections, 6 addresses", idle(6))
	satPhase := run("idle connections, 12 addresses (past the total)", idle(12))

	// Unique ?q= feeds, read-API queries and home pages, each asked twice
	// (a made-up query is kept from its second request): they fill their
	// half of the cache and push out each other, never the feeds everybody
	// polls.
	var cacheBytes float64
	run("unique ?q= feeds and queries, each twice", func(ctx context.Context, ph *phase, counts *tally) {
		var wg sync.WaitGroup
		paths := []string{"/calendar.ics?q=", "/api/v1/conferences?q=", "/?q="}
		var n atomic.Int64
		for w := range floodWorkers {
			c := clientFrom(attacker(4, w), 2)
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					// Two pieces of the text every conference has: unique
					// queries with the largest answers (all 1,000).
					url := f.base + paths[i%3] + piece() + "+" + piece()
					for range 2 {
						req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
						resp, err := c.Do(req)
						if err != nil {
							continue
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						counts.add(resp.StatusCode)
						n.Add(1)
					}
				}
			})
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				if b := f.metric("jevents_feed_cache_bytes"); b > cacheBytes {
					cacheBytes = b
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
		wg.Wait()
		ph.accepted = int(n.Load())
	})

	// Bad bearer tokens against the editors' API.
	tokenPhase := run("wrong bearer tokens", func(ctx context.Context, ph *phase, counts *tally) {
		var wg sync.WaitGroup
		for w := range floodWorkers {
			c := clientFrom(attacker(5, w), 2)
			wg.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1/moderation/queue", nil)
					req.Header.Set("Authorization", "Bearer guess-"+randHex(16))
					resp, err := c.Do(req)
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					counts.add(resp.StatusCode)
				}
			})
		}
		wg.Wait()
		ph.accepted, ph.refuse = 0, 0
	})
	// The right token from an attacking (throttled) address still works.
	req, _ := http.NewRequest(http.MethodGet, a.base+"/api/v1/moderation/queue?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := clientFrom(attacker(5, 0), 1).Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("the right token from a throttled address: %v %v", resp, err)
	}

	// Editors clean up: every accepted submission is in the log, then
	// rejected in bulk, each its own event; editors never get 507.
	var ids []string
	accepted.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
	slices.Sort(ids)
	for _, id := range ids {
		req, _ := http.NewRequest(http.MethodGet, a.base+"/api/v1/moderation/conferences/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := editorOK.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("accepted conference %s: %d (lost?)", id, resp.StatusCode)
		}
	}
	cleanStart := time.Now()
	rejected := 0
	// One organiser's flood at once, by contact...
	rejected += bulkReject(t, editorOK, a.base, map[string]any{"contact_of": ids[0], "reason": "flood"})
	// ...then the rest by selection, 500 at a time.
	for i := 0; i < len(ids); i += 500 {
		rejected += bulkReject(t, editorOK, a.base, map[string]any{"ids": ids[i:min(len(ids), i+500)], "reason": "flood"})
	}
	cleanTook := time.Since(cleanStart)
	if rejected != len(ids) {
		t.Errorf("bulk rejections rejected %d of %d accepted submissions", rejected, len(ids))
	}
	waitFor(t, 60*time.Second, "the editors' queue is empty", func() error {
		if n := a.metric(`jevents_readmodel_replica_keys{projection="review"}`); n != 0 {
			return fmt.Errorf("%v waiting", n)
		}
		return nil
	})

	// The promises.
	untrusted := logAfter - logStart
	bound := min(int64(windows)*floodQuotaBytes, budget-floodReserve-logStart)
	t.Logf("log: %d bytes of submissions in %d window(s) (quota %d per window, room before the reserve %d): bound %d",
		untrusted, windows, floodQuotaBytes, budget-floodReserve-logStart, bound)
	if untrusted > bound {
		t.Errorf("the log grew by %d bytes of submissions, more than the quota allows (%d)", untrusted, bound)
	}
	if !strings.Contains(phases[2].other, "507") {
		t.Errorf("the max-size flood never reached the editors' reserve (no 507): %s", phases[1].other)
	}
	if n := len(ids); n > windows*floodQuota {
		t.Errorf("%d submissions accepted in %d window(s), quota %d per window", n, windows, floodQuota)
	}
	if end := int64(a.metric("jevents_stream_bytes")); end > budget {
		t.Errorf("the log is past its budget: %d > %d", end, budget)
	}
	for _, ph := range phases {
		if p := ph.health.quantile(0.99); p > boundHealthP99 || p == 0 {
			t.Errorf("%s: /healthz p99 %v (bound %v)", ph.name, p, boundHealthP99)
		}
		if ph == satPhase {
			continue // past the total, the public listener refuses (503) at once: checked below
		}
		if p := ph.feed.quantile(0.99); p > boundFeedP99 || p == 0 {
			t.Errorf("%s: /calendar.ics p99 %v (bound %v)", ph.name, p, boundFeedP99)
		}
		if ph.rssMax > boundFeedsRSS {
			t.Errorf("%s: feeds-role RSS %.1f MiB (bound %.0f MiB)", ph.name, float64(ph.rssMax)/(1<<20), float64(boundFeedsRSS)/(1<<20))
		}
	}
	if connsPhase.feed.errs > 0 || len(connsPhase.feed.bad) > 0 {
		t.Errorf("idle connections from 6 addresses kept the feed from its subscribers: %s", connsPhase.feed.summary())
	}
	if f.metric(`jevents_http_connections_refused_total{limit="per_address"}`) <= 0 || f.metric(`jevents_http_connections_refused_total{limit="total"}`) <= 0 {
		t.Error("no connection refused per address or in total")
	}
	if k := f.metric(`jevents_readmodel_replica_keys{projection="calendar"}`); k != floodPublished {
		t.Errorf("the feed server's replica holds %v records after the flood, want %d", k, floodPublished)
	}
	if b := f.metric(`jevents_readmodel_replica_value_bytes{projection="calendar"}`); b != feedBytes {
		t.Errorf("the feed server's replica grew from %v to %v bytes with the flood", feedBytes, b)
	}
	if cacheBytes > floodCacheBytes || cacheBytes < floodCacheBytes/4 {
		t.Errorf("feed cache at most %v bytes, budget %d (and the queries should have filled their half)", cacheBytes, floodCacheBytes)
	}
	if f.metric("jevents_feed_cache_evictions_total") <= 0 {
		t.Error("the queries evicted nothing: the cache's budget was not tested")
	}
	if tokenPhase.other == "" || !strings.Contains(tokenPhase.other, "429") {
		t.Errorf("wrong tokens never throttled: %s", tokenPhase.other)
	}
	if a.metric(`jevents_auth_failures_total{outcome="throttled",via="bearer"}`) <= 0 {
		t.Error("throttled tokens not counted")
	}
	if strings.Contains(a.logs.String(), "guess-") {
		t.Error("a wrong token reached the log")
	}
	t.Logf("editors rejected %d submissions in bulk in %v; feed cache at most %.1f MiB of %d MiB; feeds RSS idle %.1f MiB; %d conferences published; whole test %v",
		rejected, cleanTook.Round(time.Millisecond), cacheBytes/(1<<20), floodCacheBytes>>20, float64(rssIdle)/(1<<20), floodPublished,
		time.Since(started).Round(time.Second))
	t.Logf("intake process RSS %.1f MiB", float64(a.rss(t))/(1<<20))
}

func ctQuery(ct string) string {
	if ct == "text/calendar" {
		return "?contact=ics-flood@example.org&topic=courts&format=online"
	}
	return ""
}

// bulkReject posts one bulk rejection and returns how many it rejected.
func bulkReject(t *testing.T, c *http.Client, base string, body map[string]any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/moderation/reject", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Rejected []json.RawMessage `json:"rejected"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("bulk rejection: %d %s", resp.StatusCode, raw)
	}
	_ = json.Unmarshal(raw, &res)
	return len(res.Rejected)
}

// seedConferences submits and approves n conferences.
func seedConferences(t testing.TB, p *floodProc, n int) {
	t.Helper()
	var wg sync.WaitGroup
	c := clientFrom("127.0.0.1", 8)
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				b, _ := json.Marshal(map[string]any{
					"title":       fmt.Sprintf("Published conference %d on courts and justice", i),
					"description": strings.Repeat("A conference for judges, prosecutors and advocates. ", 5),
					"start":       fmt.Sprintf("%d-%02d-%02d", time.Now().Year()+1, 1+i%12, 1+i%28), "all_day": true,
					"location": map[string]any{"city": "Baltimore", "region": "MD"}, "format": "in_person",
					"topics": []string{"courts"}, "sponsors": []string{"Bureau of Justice Statistics"},
					"contact": map[string]string{"email": fmt.Sprintf("org%d@example.org", i)},
				})
				req, _ := http.NewRequest(http.MethodPost, p.base+"/api/v1/conferences", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var rec struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					t.Errorf("seed submission: %d", resp.StatusCode)
					return
				}
				req, _ = http.NewRequest(http.MethodPost, p.base+"/api/v1/conferences/"+rec.ID+"/approve", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				for range 100 {
					resp, err = c.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							break
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
}
