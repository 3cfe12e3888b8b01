package main

// The crash campaign's harness: jevents processes started, killed and
// restarted on one data directory, an external nats-server process, a
// tmpfs, admin access to the service's NATS, the log read back, and
// snapshots of every read model and feed. Everything that depends on how
// the service exposes NATS is in svc.connect and svc.natsURL: when the
// embedded server gets credentials, only those change.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/internal/embednats"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
)

// built is the jevents binary the crash tests run: built once per test
// run by `go build` from this package, as a deployment runs it (without
// the race detector, which makes a process several times slower to start
// and to catch up; the same code runs race-checked in the other tests).
// After `make check` (go vet) the build cache holds every package, and the
// build is a link of a few seconds.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// jeventsBinary builds the binary on first use.
func jeventsBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		start := time.Now()
		if built.dir, built.err = os.MkdirTemp("", "jevents-crash-"); built.err != nil {
			return
		}
		gotool, err := exec.LookPath("go")
		if err != nil {
			gotool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		built.path = filepath.Join(built.dir, "jevents")
		out, err := exec.Command(gotool, "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build ./cmd/jevents: %v\n%s", err, out)
			return
		}
		t.Logf("built %s in %v", built.path, time.Since(start).Round(time.Millisecond))
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// removeBuilt deletes the built binary; TestMain calls it after the tests.
func removeBuilt() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// runBuilt runs a command of the built binary and returns its exit code
// and output.
func runBuilt(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(jeventsBinary(t), args...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errs.String()
}

// svc is a `jevents serve` process of the crash tests (the built binary),
// which they start, SIGKILL and start again on the same data directory and
// ports.
type svc struct {
	t        testing.TB
	dir      string
	httpAddr string
	natsAddr string   // the embedded server's client address ("" with --nats)
	opsAddr  string   // the operators' listener (/metrics)
	extra    []string // more flags of serve

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *lockedWriter
	done chan struct{}
	runs []*lockedWriter // the output of every run, oldest first
}

// stablePorts hands out ports for processes that are killed and started
// again on the same port. They are taken below the kernel's ephemeral
// range: a port picked by binding port 0 comes from that range, which
// every outgoing connection also draws its source port from, so that under
// the bursts of these tests another socket could hold it when the process
// comes back. Below the range only explicit binds compete.
var stablePorts struct {
	mu     sync.Mutex
	issued map[int]bool
}

func stablePort(t testing.TB) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	stablePorts.mu.Lock()
	defer stablePorts.mu.Unlock()
	if stablePorts.issued == nil {
		stablePorts.issued = map[int]bool{}
	}
	for range 1000 {
		p := low - 10000 + rand.IntN(9000)
		if stablePorts.issued[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		stablePorts.issued[p] = true
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// newSvc prepares a service on dir; start runs it. With --nats among
// extra it embeds no server.
func newSvc(t testing.TB, dir string, extra ...string) *svc {
	s := &svc{t: t, dir: dir, httpAddr: fmt.Sprintf("127.0.0.1:%d", stablePort(t)),
		opsAddr: fmt.Sprintf("127.0.0.1:%d", stablePort(t)), extra: extra}
	if !slices.Contains(extra, "--nats") {
		s.natsAddr = fmt.Sprintf("127.0.0.1:%d", stablePort(t))
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			s.dumpLogs()
		}
	})
	return s
}

func (s *svc) base() string { return "http://" + s.httpAddr }

// ops is the operators' listener: /metrics.
func (s *svc) ops() string { return "http://" + s.opsAddr }

// start launches the process without waiting for it.
func (s *svc) start() {
	s.t.Helper()
	args := []string{"serve", "--data", s.dir, "--http", s.httpAddr, "--metrics-listen", s.opsAddr,
		"--public-url", "https://events.test", "--no-seed",
		// The campaign is about what an acknowledged write survives, from
		// one client address: the intake gate (its own tests: the flood
		// test, internal/admission) and its editors' reserve are off, so
		// that the log itself fills in the log-full test; so are the
		// connection limits, which the bursts' many clients would meet.
		"--intake-per-address", "-1", "--intake-per-contact", "-1", "--intake-quota", "-1",
		"--intake-quota-bytes", "-1", "--log-reserve-bytes", "-1",
		"--max-conns", "-1", "--max-conns-per-address", "-1"}
	if s.natsAddr != "" {
		args = append(args, "--nats-listen", s.natsAddr)
	}
	cmd := exec.Command(jeventsBinary(s.t), append(args, s.extra...)...)
	cmd.Env = append(os.Environ(), "JEVENTS_EDITOR_TOKEN="+token)
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.logs, s.done = cmd, logs, done
	s.runs = append(s.runs, logs)
	s.mu.Unlock()
}

// running reports whether the last process started is still alive.
func (s *svc) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits until the process has exited.
func (s *svc) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		s.t.Errorf("jevents did not exit 30 s after %v", sig)
	}
}

func (s *svc) kill() { s.signal(syscall.SIGKILL) }
func (s *svc) stop() { s.signal(syscall.SIGTERM) }

// output is what the current (or last) run printed.
func (s *svc) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		return ""
	}
	return s.logs.String()
}

// waitReady polls /readyz until it answers 200.
func (s *svc) waitReady(within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if code, _ := s.readyz(); code == http.StatusOK {
			return
		}
		if !s.running() {
			s.t.Fatalf("jevents exited before it was ready:\n%s", tail(s.output(), 4000))
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("jevents not ready after %v:\n%s", within, tail(s.output(), 4000))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// readyz returns /readyz's status and body (0 when it cannot be asked).
func (s *svc) readyz() (int, string) {
	resp, err := crashClient.Get(s.base() + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// natsURL is where an operator reaches the service's NATS server.
func (s *svc) natsURL() string {
	if s.natsAddr == "" {
		return s.extra[slices.Index(s.extra, "--nats")+1]
	}
	return "nats://" + s.natsAddr
}

// connect opens an admin connection to the service's NATS server, as an
// operator does with the nats CLI.
func (s *svc) connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}
	if s.natsAddr != "" {
		// The embedded server admits only its data directory's user.
		auth, err := nats.NkeyOptionFromSeed(filepath.Join(s.dir, embednats.SeedFile))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, auth)
	}
	nc, err := nats.Connect(s.natsURL(), opts...)
	if err != nil {
		t.Fatalf("connect to the service's NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func (s *svc) dumpLogs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.runs {
		if i < len(s.runs)-3 {
			continue
		}
		n := 6000
		if os.Getenv("CRASH_FULL_LOGS") != "" {
			n = 1 << 30
		}
		s.t.Logf("--- jevents run %d of %d on %s ---\n%s", i+1, len(s.runs), s.dir, tail(l.String(), n))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// crashClient is the HTTP client of the crash tests: it never waits longer
// than the service promises to answer in.
var crashClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second},
}

// answer is what a submission got: a status (0: no answer) and the id.
type answer struct {
	status     int
	id         string
	duplicate  bool // the 202 of a request stored by an earlier attempt
	body       string
	retryAfter string
	took       time.Duration
	err        error
}

// submitKey posts a JSON submission with an Idempotency-Key.
func submitKey(client *http.Client, base, key, title string) answer {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conferences", bytes.NewReader(submission(title)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b), retryAfter: resp.Header.Get("Retry-After"), took: time.Since(start)}
	var rec struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	if json.Unmarshal(b, &rec) == nil {
		a.id, a.duplicate = rec.ID, rec.Duplicate
	}
	return a
}

// logRecords reads every event of the stream, oldest first.
func logRecords(t testing.TB, js jetstream.JetStream) []domain.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		t.Fatalf("event stream: %v", err)
	}
	last := s.CachedInfo().State.LastSeq
	if last == 0 {
		return nil
	}
	cons, err := js.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.Record
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			md, _ := m.Metadata()
			r, err := domain.Decode(md.Sequence.Stream, m.Subject(), m.Data())
			if err != nil {
				t.Fatalf("event %d does not decode: %v", md.Sequence.Stream, err)
			}
			out = append(out, r)
			if md.Sequence.Stream >= last {
				return out
			}
		}
		if batch.Error() != nil {
			t.Fatalf("reading the log: %v", batch.Error())
		}
	}
}

// submissionsByTitle counts the conference.submitted events of the log by
// title and by conference id.
func submissionsByTitle(recs []domain.Record) (byTitle map[string][]string, byID map[string]int) {
	byTitle, byID = map[string][]string{}, map[string]int{}
	for _, r := range recs {
		if ev, ok := r.Event.(domain.ConferenceSubmitted); ok {
			byTitle[ev.Details.Title] = append(byTitle[ev.Details.Title], r.AggregateID)
			byID[r.AggregateID]++
		}
	}
	return byTitle, byID
}

// bucketBytes reads every key of a bucket as raw bytes.
func bucketBytes(t testing.TB, js jetstream.JetStream, bucket string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatalf("bucket %s: %v", bucket, err)
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	out := map[string]string{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out
			}
			out[e.Key()] = string(e.Value())
		case <-ctx.Done():
			t.Fatalf("reading %s: %v", bucket, ctx.Err())
		}
	}
}

// activeGeneration is the bucket the pointer of a read model names.
func activeGeneration(t testing.TB, js jetstream.JetStream, name string) string {
	t.Helper()
	meta, err := js.KeyValue(context.Background(), engine.MetaBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := meta.Get(context.Background(), "readmodel."+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(e.Value())
}

// snapshot is everything a subscriber or a page can get from the read
// models: the raw bytes of every key of each read model (checkpoints
// included) and, for every feed and list of the API, its bytes' hash and
// its ETag.
type snapshot struct {
	models map[string]map[string]string // projection → key → bytes
	feeds  map[string]string            // path → status, ETag and hash of the body
}

// takeSnapshot reads the active generation of every read model of s, and
// every feed s serves: the whole calendar, every topic, region and sponsor
// feed the API lists, the own feed of every conference, and the JSON
// lists.
func takeSnapshot(t testing.TB, s *svc, js jetstream.JetStream) snapshot {
	t.Helper()
	snap := snapshot{models: map[string]map[string]string{}, feeds: map[string]string{}}
	for _, name := range []string{calendar.Name, directory.Name} {
		snap.models[name] = bucketBytes(t, js, activeGeneration(t, js, name))
	}
	paths := []string{"/calendar.ics", "/api/v1/feeds", "/api/v1/conferences", "/api/v1/resources?limit=1000"}
	var feeds struct {
		Feeds []struct {
			ICS string `json:"ics"`
		} `json:"feeds"`
	}
	status, body, _ := fetch(t, s.base()+"/api/v1/feeds")
	if status != http.StatusOK || json.Unmarshal(body, &feeds) != nil || len(feeds.Feeds) < 10 {
		t.Fatalf("GET /api/v1/feeds: %d %s", status, tail(string(body), 500))
	}
	for _, f := range feeds.Feeds {
		if i := strings.Index(f.ICS, "/calendar"); i >= 0 {
			paths = append(paths, f.ICS[i:])
		}
	}
	for key := range snap.models[calendar.Name] {
		if id, ok := strings.CutPrefix(key, calendar.KeyPrefix); ok {
			paths = append(paths, "/conferences/"+id+".ics")
		}
	}
	type result struct{ path, v string }
	work := make(chan string)
	results := make(chan result)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range work {
				status, body, etag := fetch(t, s.base()+p)
				sum := sha256.Sum256(body)
				results <- result{p, fmt.Sprintf("%d %s %s", status, etag, hex.EncodeToString(sum[:8]))}
			}
		})
	}
	go func() {
		for _, p := range paths {
			work <- p
		}
		close(work)
		wg.Wait()
		close(results)
	}()
	for r := range results {
		snap.feeds[r.path] = r.v
	}
	return snap
}

func fetch(t testing.TB, url string) (int, []byte, string) {
	resp, err := crashClient.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, nil, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("ETag")
}

// diff describes how got differs from want ("" when not at all).
func (want snapshot) diff(got snapshot) string {
	var out []string
	for name, wm := range want.models {
		gm := got.models[name]
		if len(gm) != len(wm) {
			out = append(out, fmt.Sprintf("%s: %d keys, the rebuild has %d", name, len(gm), len(wm)))
		}
		for k, v := range wm {
			if gm[k] != v {
				out = append(out, fmt.Sprintf("%s key %s:\n  got     %s\n  rebuild %s", name, k, tail(gm[k], 300), tail(v, 300)))
			}
		}
	}
	for p, v := range want.feeds {
		if gv := got.feeds[p]; gv != v {
			out = append(out, fmt.Sprintf("%s: got %q, the rebuild %q", p, gv, v))
		}
	}
	for p := range got.feeds {
		if _, ok := want.feeds[p]; !ok {
			out = append(out, fmt.Sprintf("%s is served, the rebuild serves no such feed", p))
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… and %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

// natsServer is an external nats-server process (the test binary running
// nats-server's main, of the version go.mod pins) with JetStream, on a
// fixed port and store, so that it can be killed and started again.
type natsServer struct {
	t     testing.TB
	port  int
	store string
	cmd   *exec.Cmd
	done  chan struct{}
	logs  *lockedWriter
}

func startNATSServer(t testing.TB, store string) *natsServer {
	n := &natsServer{t: t, port: stablePort(t), store: store}
	n.start()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("--- nats-server ---\n%s", tail(n.logs.String(), 3000))
		}
	})
	return n
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsServer) start() {
	n.t.Helper()
	cmd := exec.Command(os.Args[0], "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", n.store)
	cmd.Env = append(os.Environ(), "JEVENTS_TEST_NATS_SERVER=1")
	if n.logs == nil {
		n.logs = &lockedWriter{}
	}
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(n.done)
	waitFor(n.t, 30*time.Second, "nats-server accepting JetStream requests", func() error {
		select {
		case <-n.done:
			n.t.Fatalf("nats-server exited:\n%s", n.logs)
		default:
		}
		nc, err := nats.Connect(n.url(), nats.NoReconnect())
		if err != nil {
			return err
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err
	})
}

func (n *natsServer) kill() {
	if n.cmd != nil {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	}
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory and returns
// it; it is unmounted when the test ends. The test machine runs the suite
// as root (CI does): a refused mount fails the test, it does not skip it.
func mountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "volume")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("cannot mount a %d-byte tmpfs at %s (%v: %s): the disk-full test needs root with CAP_SYS_ADMIN, as `make test` runs in CI; it does not skip", size, dir, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillVolume writes a file into dir until the volume has at most leave
// bytes free (0: until it is full) and returns its path.
func fillVolume(t testing.TB, dir string, leave uint64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		free := st.Bavail * uint64(st.Bsize)
		if free <= leave {
			return path
		}
		n := min(uint64(len(chunk)), free-leave)
		if leave == 0 {
			n = uint64(len(chunk))
		}
		if _, err := f.Write(chunk[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatal(err)
		}
	}
}

// projectingRe matches the projector's line at each start of a generation.
var projectingRe = regexp.MustCompile(`msg=projecting projection=(\w+) bucket=\S+ from_seq=(\d+) pending=(\d+)`)

// pendingAtStart returns, per projection, the events the projector found
// pending when this run started projecting, once it has said so for both.
func pendingAtStart(out string) (map[string]uint64, bool) {
	got := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := projectingRe.FindStringSubmatch(sc.Text()); m != nil {
			if _, seen := got[m[1]]; !seen {
				n, _ := strconv.ParseUint(m[3], 10, 64)
				got[m[1]] = n
			}
		}
	}
	return got, len(got) == len(service.ReadModels()) // every projector has said where it starts
}

// history appends a mixed, reproducible history of resource and conference
// events through the event log, as the producers would: resources added,
// renamed and otherwise edited, retired and restored; conferences
// submitted (many sponsored by resources), edited, approved, rejected and
// cancelled. Workers own disjoint conferences so that they append at once.
type history struct {
	log       *eventlog.Log
	now       time.Time
	resources []*domain.Resource // worker 0's
	sponsors  []domain.Sponsor   // the resources as first added, for every worker
	appended  atomic.Int64
}

// generate appends about n events.
func (h *history) generate(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	// The directory first: 120 resources.
	for i := range 120 {
		in := domain.ResourceInput{ID: fmt.Sprintf("res-%03d", i), Name: fmt.Sprintf("Justice Resource %03d", i),
			Kind: []string{"agency", "office", "center", "initiative", "task_force", "organization"}[i%6],
			URL:  fmt.Sprintf("https://example.org/r/%d", i), Topics: []string{domain.Topics[i%len(domain.Topics)].Slug}}
		d, err := domain.ValidateResource(in)
		if err != nil {
			t.Fatalf("resource %d: %v", i, err)
		}
		r := &domain.Resource{}
		h.append(t, ctx, domain.AggregateResource, in.ID, &r.Version, func(rec domain.Record) { r.Apply(rec) },
			domain.ResourceAdded{Details: d, Source: "api", RequestHash: d.Hash()})
		h.resources = append(h.resources, r)
		h.sponsors = append(h.sponsors, domain.Sponsor{ID: in.ID, Name: d.Name})
	}
	const workers = 12
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var confs []*domain.Conference
			for i := 0; h.appended.Load() < int64(n) && !t.Failed(); i++ {
				if w == 0 && i%20 == 19 {
					h.resourceEvent(t, ctx, rng)
					continue
				}
				confs = h.conferenceEvent(t, ctx, rng, w, confs)
			}
		})
	}
	wg.Wait()
}

// append appends ev to the aggregate at version *version and applies it.
func (h *history) append(t testing.TB, ctx context.Context, aggregate, id string, version *uint64, apply func(domain.Record), ev domain.Event) {
	env, err := domain.NewEnvelope(fmt.Sprintf("h-%s-%d", id, *version), id, "campaign", time.Now(), ev)
	if err != nil {
		t.Error(err)
		return
	}
	a, err := h.log.Append(ctx, env, env.ID, *version)
	if err != nil {
		t.Errorf("append %s to %s %s: %v", ev.EventType(), aggregate, id, err)
		return
	}
	apply(domain.Record{Seq: a.Seq, Envelope: env, Event: ev})
	h.appended.Add(1)
}

// resourceEvent renames, edits, retires or restores a resource (worker 0
// only, so resources are never raced).
func (h *history) resourceEvent(t testing.TB, ctx context.Context, rng *rand.Rand) {
	r := h.resources[rng.IntN(len(h.resources))]
	var ev domain.Event
	var err error
	switch op := rng.IntN(10); {
	case op < 5: // a rename: every feed naming it as sponsor changes
		in := r.Details.Input()
		in.Name = fmt.Sprintf("%s (renamed %d)", strings.SplitN(r.Details.Name, " (", 2)[0], rng.IntN(1000))
		d, verr := domain.ValidateResource(in)
		if verr != nil {
			t.Errorf("rename: %v", verr)
			return
		}
		ev, err = r.Update(d)
	case op < 7:
		in := r.Details.Input()
		in.URL = fmt.Sprintf("https://example.org/r/%s/%d", r.ID, rng.IntN(1000))
		d, _ := domain.ValidateResource(in)
		ev, err = r.Update(d)
	case op < 9:
		ev, err = r.Retire("merged")
	default:
		ev, err = r.Restore("back")
	}
	if err != nil || ev == nil {
		return // not possible in its state: no event
	}
	h.append(t, ctx, domain.AggregateResource, r.ID, &r.Version, func(rec domain.Record) { r.Apply(rec) }, ev)
}

// conferenceEvent appends one event to one of the worker's conferences, or
// submits a new one.
func (h *history) conferenceEvent(t testing.TB, ctx context.Context, rng *rand.Rand, w int, confs []*domain.Conference) []*domain.Conference {
	pick := func(ok func(*domain.Conference) bool) *domain.Conference {
		for range 20 {
			if len(confs) == 0 {
				return nil
			}
			if c := confs[rng.IntN(len(confs))]; ok(c) {
				return c
			}
		}
		return nil
	}
	pending := func(c *domain.Conference) bool { return c.Status == domain.StatusPending }
	open := func(c *domain.Conference) bool {
		return c.Status == domain.StatusPending || c.Status == domain.StatusApproved
	}
	var (
		c  *domain.Conference
		ev domain.Event
	)
	switch op := rng.IntN(100); {
	case op < 5 || len(confs) < 3:
		c = &domain.Conference{}
		id := fmt.Sprintf("conf-%02d-%05d", w, len(confs))
		d := h.details(t, rng, len(confs)*100+w)
		h.append(t, ctx, domain.AggregateConference, id, &c.Version, func(rec domain.Record) { c.Apply(rec) },
			domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "organiser@example.org"}, Source: "api", RequestHash: "h" + id})
		return append(confs, c)
	case op < 70:
		if c = pick(open); c != nil {
			ev, _ = c.Update(h.details(t, rng, rng.IntN(100_000)))
		}
	case op < 88:
		if c = pick(pending); c != nil {
			ev, _ = c.Approve("")
		}
	case op < 92:
		if c = pick(pending); c != nil {
			ev, _ = c.Reject("not in scope")
		}
	default:
		if c = pick(open); c != nil {
			ev, _ = c.Cancel("venue closed")
		}
	}
	if c != nil && ev != nil {
		h.append(t, ctx, domain.AggregateConference, c.ID, &c.Version, func(rec domain.Record) { c.Apply(rec) }, ev)
	}
	return confs
}

// details are valid conference details; a third of them are sponsored by
// resources of the directory (linked by id, as intake links them).
func (h *history) details(t testing.TB, rng *rand.Rand, i int) domain.ConferenceDetails {
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	regions := []string{"MD", "NY", "CA", "TX", "IL", "DC", "PA", "WA"}
	in := domain.SubmissionInput{
		Title:       fmt.Sprintf("Campaign Conference %d; Panels, \"Workshops\" — №%d", i, rng.IntN(100)),
		Description: fmt.Sprintf("Conference %d.\nPanels, workshops; and a reception.", i),
		Format:      []string{"in_person", "online", "hybrid"}[rng.IntN(3)],
		Location:    &domain.LocationInput{Venue: "Convention Center", City: "Springfield", Region: regions[rng.IntN(len(regions))]},
		Topics:      []string{domain.Topics[rng.IntN(len(domain.Topics))].Slug},
		Contact:     &domain.Contact{Email: "organiser@example.org"},
	}
	start := h.now.AddDate(0, 0, rng.IntN(500)-60)
	if rng.IntN(2) == 0 {
		yes := true
		in.AllDay = &yes
		in.Start, in.End = start.Format(domain.DateLayout), start.AddDate(0, 0, rng.IntN(3)).Format(domain.DateLayout)
	} else {
		no := false
		in.AllDay, in.Timezone = &no, zones[rng.IntN(len(zones))]
		at := time.Date(start.Year(), start.Month(), start.Day(), 8+rng.IntN(4), 30*rng.IntN(2), 0, 0, time.UTC)
		end := at.Add(time.Duration(1+rng.IntN(30)) * time.Hour)
		if end.Hour() == 2 {
			// 02:00–02:59 does not exist on the night clocks spring
			// forward, and the domain rightly refuses it: keep the
			// campaign's conferences valid whatever day it runs.
			end = end.Add(time.Hour)
		}
		in.Start, in.End = at.Format("2006-01-02T15:04"), end.Format("2006-01-02T15:04")
	}
	sub, err := domain.ValidateSubmission(in, h.now)
	if err != nil {
		t.Errorf("conference %d: %v", i, err)
		return domain.ConferenceDetails{Title: in.Title}
	}
	d := sub.Details
	if rng.IntN(3) == 0 {
		for range 1 + rng.IntN(2) {
			d.Sponsors = append(d.Sponsors, h.sponsors[rng.IntN(len(h.sponsors))])
		}
		if len(d.Sponsors) == 2 && d.Sponsors[0].ID == d.Sponsors[1].ID {
			d.Sponsors = d.Sponsors[:1]
		}
	}
	if rng.IntN(5) == 0 {
		d.Sponsors = append(d.Sponsors, domain.Sponsor{Name: "A sponsor outside the directory"})
	}
	return d
}
