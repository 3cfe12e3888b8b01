package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The public site's name in the tests: the roles' --public-url is
// https://events.test, and the proxy serves events.test with a certificate
// of a CA the test makes.
const siteName = "events.test"

// webProxy is Caddy running deploy/caddy/Caddyfile in front of the roles.
type webProxy struct {
	httpsPort, httpPort int
	caFile              string
	pool                *x509.CertPool
	spki                string // base64 SHA-256 of the certificate's public key, for Chromium
	logs                *lockedWriter
}

// startProxy runs Debian's caddy with deploy/caddy/Caddyfile as it is; the
// environment gives what differs here (the Caddyfile's header lists it):
// the site's name, the test's certificate, loopback and free ports, and the
// roles' addresses.
func startProxy(t *testing.T, intake, editors, feeds []*proc) *webProxy {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatal("caddy is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	dir := t.TempDir()
	ca, caKey := newCA(t)
	px := &webProxy{httpsPort: freePortNum(t), httpPort: freePortNum(t), caFile: filepath.Join(dir, "web-ca.pem"), logs: &lockedWriter{}}
	writePEM(t, px.caFile, "CERTIFICATE", ca.Raw)
	px.pool = x509.NewCertPool()
	px.pool.AddCert(ca)
	issueCert(t, ca, caKey, dir, "site", []string{siteName}, nil, x509.ExtKeyUsageServerAuth)
	certPEM, err := os.ReadFile(filepath.Join(dir, "site.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	px.spki = base64.StdEncoding.EncodeToString(sum[:])

	hosts := func(ps []*proc) string {
		var out []string
		for _, p := range ps {
			out = append(out, strings.TrimPrefix(p.base, "http://"))
		}
		return strings.Join(out, " ")
	}
	cmd := exec.Command(bin, "run", "--config", repoPath(t, "deploy/caddy/Caddyfile"), "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"JEVENTS_SITE="+siteName, "JEVENTS_TLS=files",
		"JEVENTS_TLS_CERT="+filepath.Join(dir, "site.pem"), "JEVENTS_TLS_KEY="+filepath.Join(dir, "site-key.pem"),
		"JEVENTS_PROXY_BIND=127.0.0.1",
		"JEVENTS_HTTPS_PORT="+strconv.Itoa(px.httpsPort), "JEVENTS_HTTP_PORT="+strconv.Itoa(px.httpPort),
		"JEVENTS_INTAKE_UPSTREAMS="+hosts(intake), "JEVENTS_EDITORS_UPSTREAMS="+hosts(editors), "JEVENTS_FEEDS_UPSTREAMS="+hosts(feeds))
	cmd.Stdout, cmd.Stderr = px.logs, px.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("--- caddy ---\n%s", tail(px.logs.String(), 6000))
		}
	})
	c := px.client("")
	waitFor(t, 30*time.Second, "caddy serving the site", func() error {
		select {
		case <-exited:
			t.Fatalf("caddy exited:\n%s", px.logs)
		default:
		}
		resp, err := c.Get(px.url("/readyz"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz through the proxy: %d", resp.StatusCode)
		}
		return nil
	})
	return px
}

// url is a path on the proxy: https://events.test:PORT/path.
func (px *webProxy) url(path string) string {
	return fmt.Sprintf("https://%s:%d%s", siteName, px.httpsPort, path)
}

// client reaches the proxy as a browser on this host would: events.test
// resolves to the proxy (on its own port, and on 443 for the public URL's
// links), the certificate is checked against the test's CA, and the
// connection comes from the loopback address from ("" for any).
func (px *webProxy) client(from string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: px.pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host == siteName {
				if port == "443" {
					port = strconv.Itoa(px.httpsPort)
				}
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// send makes a request through c and returns the status and body.
func send(t *testing.T, c *http.Client, method, u string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var localLink = regexp.MustCompile(`(?:href|src)="(/[^"#]*)"`)

// testOneWebsite: through the proxy, over TLS, the site is one origin: a
// submission reaches intake, the editors' API and pages reach editors,
// everything else the feed server; the pages' own links lead somewhere;
// /metrics is never routed; the client address the roles count is the one
// that connected to the proxy, whatever X-Forwarded-For it sent; bodies
// are bounded.
func testOneWebsite(t *testing.T, r *roles, px *webProxy) {
	c := px.client("127.0.0.2")
	json := []string{"Content-Type", "application/json"}

	// A submission, approved, in the feed, with its history: each through
	// the proxy.
	st, body := send(t, c, http.MethodPost, px.url("/api/v1/conferences"), submission("Through the proxy"), append(json, "Idempotency-Key", "proxy-1")...)
	if st != http.StatusAccepted {
		t.Fatalf("submit through the proxy: %d %s", st, body)
	}
	id := regexp.MustCompile(`"id":\s*"([^"]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no id in %s", body)
	}
	waitFor(t, 30*time.Second, "approve through the proxy", func() error {
		if st, body := send(t, c, http.MethodPost, px.url("/api/v1/conferences/"+id[1]+"/approve"), nil, "Authorization", "Bearer "+token); st != http.StatusOK {
			return fmt.Errorf("%d %s", st, body)
		}
		return nil
	})
	if st, _ := send(t, c, http.MethodGet, px.url("/api/v1/conferences/"+id[1]+"/history"), nil); st != http.StatusOK {
		t.Errorf("history through the proxy: %d", st)
	}
	if st, _ := send(t, c, http.MethodGet, px.url("/api/v1/moderation/queue"), nil, "Authorization", "Bearer "+token); st != http.StatusOK {
		t.Errorf("moderation queue through the proxy: %d", st)
	}
	waitFor(t, 30*time.Second, "the approved conference in the feed through the proxy", func() error {
		if st, ics := send(t, c, http.MethodGet, px.url("/calendar.ics"), nil); st != http.StatusOK || !strings.Contains(ics, "UID:"+uidOf(id[1])) {
			return fmt.Errorf("%d", st)
		}
		return nil
	})

	// The pages' links, followed through the proxy: none leads nowhere.
	seen := map[string]bool{}
	for _, page := range []string{"/", "/submit", "/moderation", "/resources", "/conferences/" + id[1]} {
		st, html := send(t, c, http.MethodGet, px.url(page), nil)
		if st != http.StatusOK {
			t.Errorf("GET %s through the proxy: %d", page, st)
			continue
		}
		for _, m := range localLink.FindAllStringSubmatch(html, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if seen[link] {
				continue
			}
			seen[link] = true
			if st, _ := send(t, c, http.MethodGet, px.url(link), nil); st == http.StatusNotFound || st >= 500 {
				t.Errorf("the link %s on %s answers %d through the proxy", link, page, st)
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d links followed: %v", len(seen), seen)
	}

	// /metrics: never through the proxy, nor on any role's public port.
	for _, p := range []string{"/metrics", "/metrics/", "/metrics?x=1"} {
		if st, _ := send(t, c, http.MethodGet, px.url(p), nil); st != http.StatusNotFound {
			t.Errorf("GET %s through the proxy: %d, want 404", p, st)
		}
	}
	for _, p := range append([]*proc{r.intake, r.editors, r.feeds}, r.projectors...) {
		if code := get(t, p.base+"/metrics", false); code != http.StatusNotFound {
			t.Errorf("%s/metrics on a public listener: %d", p.base, code)
		}
	}

	// A body larger than any role takes is refused by the proxy.
	// (And a refused body does not take intake out of the proxy's
	// rotation: the next submission goes through.)
	if st, _ := send(t, c, http.MethodPost, px.url("/api/v1/conferences"), bytes.Repeat([]byte("x"), 5<<20), "Content-Type", "text/calendar"); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 MiB body through the proxy: %d, want 413", st)
	}
	if st, body := send(t, c, http.MethodPost, px.url("/api/v1/conferences"), submission("After a refused body"), append(json, "Idempotency-Key", "proxy-2")...); st != http.StatusAccepted {
		t.Errorf("a submission after a refused body: %d %s", st, body)
	}

	// Plain http redirects to https.
	plain := px.client("127.0.0.2")
	resp, err := plain.Get(fmt.Sprintf("http://%s:%d/calendar.ics", siteName, px.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || !strings.HasPrefix(loc, "https://"+siteName) {
		t.Errorf("http: %d to %q, want a redirect to https", resp.StatusCode, loc)
	}

	// The client address: wrong tokens from 127.0.0.2, each claiming
	// another X-Forwarded-For, all count against 127.0.0.2 (the proxy
	// replaces the header; the roles trust the proxy's): the throttle
	// answers 429 before the 13th. 127.0.0.3 still has its own allowance.
	throttled := 0
	for i := range 12 {
		st, _ := send(t, c, http.MethodGet, px.url("/api/v1/moderation/queue"), nil,
			"Authorization", "Bearer wrong-token-"+strconv.Itoa(i), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		if st == http.StatusTooManyRequests {
			throttled++
		} else if st != http.StatusUnauthorized {
			t.Fatalf("a wrong token through the proxy: %d", st)
		}
	}
	if throttled == 0 {
		t.Error("12 wrong tokens from one client were not throttled: the spoofed X-Forwarded-For was believed, or the proxy's address is not trusted")
	}
	if st, _ := send(t, px.client("127.0.0.3"), http.MethodGet, px.url("/api/v1/moderation/queue"), nil, "Authorization", "Bearer wrong"); st != http.StatusUnauthorized {
		t.Errorf("another client's first wrong token: %d, want 401 (its own allowance)", st)
	}
	if st, _ := send(t, c, http.MethodGet, px.url("/api/v1/moderation/queue"), nil, "Authorization", "Bearer "+token); st != http.StatusOK {
		t.Errorf("the right token from the throttled client: %d, want 200", st)
	}
	waitFor(t, 10*time.Second, "the editors' log naming the throttled client", func() error {
		logs := r.editors.logs.String()
		if strings.Contains(logs, "203.0.113.") {
			t.Fatal("the editors process counted a client address the client made up")
		}
		if !strings.Contains(logs, "127.0.0.2") {
			return fmt.Errorf("127.0.0.2 not in the log")
		}
		return nil
	})
}

// natsExporter runs the NATS CLI's exporter (`nats server check exporter`)
// with deploy/nats-exporter/checks.yml as it is, its contexts written for
// this cluster: the system account's user and the read-only monitor user,
// with their nkeys and the CA. It returns host:port of its /metrics.
func natsExporter(t *testing.T, c *testCluster) string {
	t.Helper()
	bin, err := exec.LookPath("nats")
	if err != nil {
		if gp, e := exec.Command("go", "env", "GOPATH").Output(); e == nil {
			bin = filepath.Join(strings.TrimSpace(string(gp)), "bin", "nats")
		}
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("the NATS CLI is not installed: run scripts/install-test-deps.sh (make test does)")
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "contexts"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, ctx := range map[string]map[string]string{
		"sys":     {"url": c.urls(), "nkey": c.seeds["sys"], "ca": c.caFile},
		"monitor": {"url": c.urls(), "nkey": c.seeds["monitor"], "ca": c.caFile, "inbox_prefix": "_INBOX.monitor"},
	} {
		b, _ := json.Marshal(ctx)
		if err := os.WriteFile(filepath.Join(dir, "contexts", name+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := freePortNum(t)
	cmd := exec.Command(bin, "server", "check", "exporter", "--config", repoPath(t, "deploy/nats-exporter/checks.yml"), "--port", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("--- nats exporter ---\n%s", tail(logs.String(), 4000))
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	want := []string{"nats_server_check_server_connections", "nats_server_check_meta_status_code", "nats_server_check_stream_messages", "nats_server_check_jetstream_status_code"}
	waitFor(t, 30*time.Second, "the NATS exporter's checks", func() error {
		types, samples, err := scrapeOrErr("http://" + addr)
		if err != nil {
			return err
		}
		for _, w := range want {
			if _, ok := types[w]; !ok {
				return fmt.Errorf("no %s", w)
			}
		}
		// Every check passes on a healthy cluster.
		for _, s := range samples {
			if strings.Contains(s, "_status_code{") && !strings.HasSuffix(s, " 0") {
				return fmt.Errorf("a check fails: %s", s)
			}
		}
		if !slices.ContainsFunc(samples, func(s string) bool {
			return strings.HasPrefix(s, `nats_server_check_server_connections{item="nats-3"}`)
		}) {
			return fmt.Errorf("no figures for nats-3")
		}
		return nil
	})
	return addr
}

// scrapeOrErr is scrape for polling.
func scrapeOrErr(base string) (map[string]string, []string, error) {
	resp, err := httpc.Get(base + "/metrics")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return nil, nil, fmt.Errorf("/metrics: %s: %s", resp.Status, b)
	}
	types, samples := parseMetrics(resp.Body)
	return types, samples, nil
}
