package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	tlspkg "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestDocumentedTLS: the client TLS block documented (commented out) in
// deploy/nats/nats-server.conf works as documented once uncommented, with
// verify: true (mutual TLS), and jevents connects through it with
// --nats-tls-ca, --nats-tls-cert and --nats-tls-key; without a client
// certificate it is refused.
func TestDocumentedTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	issue(t, ca, caKey, dir, "server", true)
	issue(t, ca, caKey, dir, "client", false)

	conf, err := os.ReadFile(repoPath(t, "deploy/nats/nats-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// The top-level client block: "# tls {" at the start of a line, up to
	// its "# }".
	block := regexp.MustCompile(`(?ms)^# tls \{\n(.*?)^# \}\n`)
	m := block.FindSubmatchIndex(conf)
	if m == nil {
		t.Fatal("deploy/nats/nats-server.conf documents no client tls block")
	}
	var tls strings.Builder
	tls.WriteString("tls {\n")
	for _, line := range strings.Split(string(conf[m[2]:m[3]]), "\n") {
		line = strings.TrimPrefix(line, "#")
		line = strings.ReplaceAll(line, "/etc/nats/tls/", dir+"/")
		line = strings.Replace(line, "verify:    false", "verify:    true", 1)
		tls.WriteString(line + "\n")
	}
	tls.WriteString("}\n")
	enabled := string(conf[:m[0]]) + tls.String() + string(conf[m[1]:])
	// One node without routes: a JetStream cluster of one would wait for
	// peers, and client TLS is what is tested here.
	enabled = regexp.MustCompile(`(?ms)^cluster \{\n.*?^\}\n`).ReplaceAllString(enabled, "")
	if err := os.WriteFile(filepath.Join(dir, "nats-server.conf"), []byte(enabled), 0o600); err != nil {
		t.Fatal(err)
	}
	acc, err := os.ReadFile(repoPath(t, "deploy/nats/accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), acc, 0o600); err != nil {
		t.Fatal(err)
	}

	// The node runs in this process.
	port, route := freePortNum(t), freePortNum(t)
	env := map[string]string{
		"NATS_SERVER_NAME": "tls-1", "NATS_HOST": "127.0.0.1",
		"NATS_CLIENT_PORT": strconv.Itoa(port), "NATS_HTTP_PORT": strconv.Itoa(freePortNum(t)),
		"NATS_CLUSTER_PORT": strconv.Itoa(route), "NATS_ROUTES": "[]",
		"NATS_STORE_DIR": filepath.Join(dir, "store"),
	}
	for _, v := range natsUsers {
		env[v] = "pw" + strings.ToLower(v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats-server.conf"))
	if err != nil {
		t.Fatalf("the documented tls block does not load: %v\n%s", err, tls.String())
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
	base := []string{"setup", "--nats", url, "--nats-user", "admin", "--nats-password", env["NATS_ADMIN_PASSWORD"],
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

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jevents test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// issue writes NAME.pem and NAME-key.pem signed by the CA.
func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dir, name string, isServer bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if isServer {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kb)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
