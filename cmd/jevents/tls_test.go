package main

import (
	"crypto/ecdsa"
	tlspkg "crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/justiceevents/jevents/internal/testca"
)

// TestDocumentedTLS: the mutual-TLS variant documented in
// deploy/nats/nats-server-tls.conf (verify: true in the client block) works
// as documented: jevents connects with its nkey and --nats-tls-ca,
// --nats-tls-cert and --nats-tls-key; without a client certificate it is
// refused. (TestCluster runs the file as it is, on three nodes.)
func TestDocumentedTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	issue(t, ca, caKey, dir, "server", true)
	issue(t, ca, caKey, dir, "client", false)

	conf, err := os.ReadFile(repoPath(t, "deploy/nats/nats-server-tls.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// The top-level client block, with verify: true.
	client := regexp.MustCompile(`(?ms)^tls \{\n.*?^\}\n`)
	block := client.Find(conf)
	if block == nil || !strings.Contains(string(block), "verify: false") {
		t.Fatal("deploy/nats/nats-server-tls.conf has no client tls block with verify: false")
	}
	enabled := client.ReplaceAllLiteralString(string(conf), strings.Replace(string(block), "verify: false", "verify: true", 1))
	// One node without routes: a JetStream cluster of one would wait for
	// peers, and client TLS is what is tested here.
	enabled = regexp.MustCompile(`(?ms)^cluster \{\n.*?^\}\n`).ReplaceAllString(enabled, "")
	if err := os.WriteFile(filepath.Join(dir, "nats-server.conf"), []byte(enabled), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"node.conf", "accounts-nkey.conf", "permissions.conf"} {
		b, err := os.ReadFile(repoPath(t, "deploy/nats/"+f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The node runs in this process.
	port := freePortNum(t)
	env := map[string]string{
		"NATS_SERVER_NAME": "tls-1", "NATS_HOST": "127.0.0.1",
		"NATS_CLIENT_PORT": strconv.Itoa(port), "NATS_HTTP_PORT": strconv.Itoa(freePortNum(t)),
		"NATS_STORE_DIR": filepath.Join(dir, "store"),
		"NATS_TLS_CERT":  filepath.Join(dir, "server.pem"), "NATS_TLS_KEY": filepath.Join(dir, "server-key.pem"),
		"NATS_TLS_CA": filepath.Join(dir, "ca.pem"),
	}
	seeds := map[string]string{}
	for u := range natsUsers {
		if u == "route" {
			continue
		}
		pub, seed := newNKey(t, dir, u)
		env["NATS_"+strings.ToUpper(u)+"_NKEY"] = pub
		seeds[u] = seed
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats-server.conf"))
	if err != nil {
		t.Fatalf("the documented mutual TLS does not load: %v", err)
	}
	if opts.TLSConfig == nil || opts.TLSConfig.ClientAuth != tlspkg.RequireAndVerifyClientCert {
		t.Fatal("tls block loaded without client verification")
	}
	opts.NoSigs, opts.NoLog = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("server not ready")
	}

	url := "tls://127.0.0.1:" + strconv.Itoa(port)
	base := []string{"setup", "--nats", url, "--nats-nkey", seeds["admin"],
		"--nats-tls-ca", filepath.Join(dir, "ca.pem"), "--replicas", "1", "--timeout", "20s"}
	code, out, errs := runCLI(append(base, "--nats-tls-cert", filepath.Join(dir, "client.pem"), "--nats-tls-key", filepath.Join(dir, "client-key.pem"))...)
	if code != 0 || !strings.Contains(out, `"stream": "JEVENTS"`) {
		t.Fatalf("setup over mutual TLS: exit %d\n%s\n%s", code, out, errs)
	}
	// Under TLS 1.3 the client learns of the refusal either from the
	// server's "certificate required" alert or from the closed connection,
	// whichever reaches it first: both are a TLS failure.
	if code, _, errs := runCLI(base...); code == 0 || !(strings.Contains(errs, "certificate") || strings.Contains(errs, "tls")) {
		t.Fatalf("without a client certificate: exit %d, %q; want a refused TLS handshake", code, errs)
	}
}

// The certificates of these tests come from internal/testca (shared with
// the notifier's TLS tests).
func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) { return testca.New(t) }

func issue(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dir, name string, isServer bool) {
	testca.Issue(t, ca, caKey, dir, name, isServer)
}

func issueCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dir, name string, dns []string, ips []net.IP, usage ...x509.ExtKeyUsage) {
	testca.IssueCert(t, ca, caKey, dir, name, dns, ips, usage...)
}

func writePEM(t testing.TB, path, typ string, der []byte) { testca.WritePEM(t, path, typ, der) }
