package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// natsServerMain is nats-server's own main, run by the test binary when
// JEVENTS_TEST_NATS_SERVER=1: the cluster tests start real, separate
// nats-server processes (of the version go.mod pins) from the configuration
// files in deploy/nats, without a separate build.
func natsServerMain(args []string) {
	fs := flag.NewFlagSet("nats-server", flag.ExitOnError)
	opts, err := server.ConfigureOptions(fs, args, server.PrintServerAndExit, fs.Usage, server.PrintTLSHelpAndDie)
	if err != nil {
		server.PrintAndDie("nats-server: " + err.Error())
	}
	s, err := server.NewServer(opts)
	if err != nil {
		server.PrintAndDie("nats-server: " + err.Error())
	}
	s.ConfigureLogger()
	if err := server.Run(s); err != nil {
		server.PrintAndDie(err.Error())
	}
	s.WaitForShutdown()
}

// natsUsers are the users of deploy/nats/accounts.conf and the environment
// variables their passwords come from (with TLS and nkeys,
// accounts-nkey.conf: NATS_<USER>_NKEY, the route keeps its password).
var natsUsers = map[string]string{
	"admin":     "NATS_ADMIN_PASSWORD",
	"intake":    "NATS_INTAKE_PASSWORD",
	"editors":   "NATS_EDITORS_PASSWORD",
	"projector": "NATS_PROJECTOR_PASSWORD",
	"feeds":     "NATS_FEEDS_PASSWORD",
	"notifier":  "NATS_NOTIFIER_PASSWORD",
	"monitor":   "NATS_MONITOR_PASSWORD",
	"sys":       "NATS_SYS_PASSWORD",
	"route":     "NATS_ROUTE_PASSWORD",
}

// testCluster is a three-node JetStream cluster on loopback: three
// processes running deploy/nats/nats-server.conf (and so accounts.conf)
// as they are, with random passwords and free ports in the environment;
// or, secure, deploy/nats/nats-server-tls.conf with certificates and nkeys
// the test makes (TLS on client and route connections).
type testCluster struct {
	tb    testing.TB
	conf  string
	pass  map[string]string // user → password
	nodes []*natsNode

	// With TLS and nkeys: the CA's certificate (PEM file) and each user's
	// seed file.
	secure bool
	caFile string
	seeds  map[string]string // user → seed file
	dir    string

	// secretFile is the server secret every editors, intake and notifier
	// process shares
	// (--server-secret-file, from the environment as a container gets it).
	secretFile string

	mu     sync.Mutex
	procs  []*proc                 // jevents processes, for logs on failure
	exited map[*proc]chan struct{} // closed when the process has exited
}

// natsNode is one nats-server process.
type natsNode struct {
	name                       string
	client, monitor, routePort int
	env                        []string
	cmd                        *exec.Cmd
	logs                       *lockedWriter
	exited                     chan struct{} // closed when the process has exited
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.client) }

// freePortNum is a port for a child process to listen on. It comes from
// stablePort, below the kernel's ephemeral range: a port found by binding
// port 0 is free only until some outgoing connection takes it as its
// source port, which under the bursts of these tests happened between the
// pick and the child's bind.
func freePortNum(tb testing.TB) int {
	tb.Helper()
	return stablePort(tb)
}

func randomSecret(tb testing.TB) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "pw" + hex.EncodeToString(b) // starts with a letter: the config parser reads it as a string
}

// repoPath is a path relative to the repository root.
func repoPath(tb testing.TB, rel string) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// startCluster starts three nodes of deploy/nats/nats-server.conf
// (passwords, no TLS: the configuration docker-compose.yml runs) and waits
// until JetStream has a meta leader.
func startCluster(tb testing.TB) *testCluster {
	tb.Helper()
	return newCluster(tb, false)
}

// startSecureCluster starts three nodes of deploy/nats/nats-server-tls.conf:
// TLS on client and route connections with certificates of a CA the test
// makes, and an nkey for every user.
func startSecureCluster(tb testing.TB) *testCluster {
	tb.Helper()
	return newCluster(tb, true)
}

func newCluster(tb testing.TB, secure bool) *testCluster {
	tb.Helper()
	conf := "deploy/nats/nats-server.conf"
	if secure {
		conf = "deploy/nats/nats-server-tls.conf"
	}
	c := &testCluster{tb: tb, conf: repoPath(tb, conf), pass: map[string]string{},
		exited: map[*proc]chan struct{}{}, secure: secure, seeds: map[string]string{}}
	for u := range natsUsers {
		c.pass[u] = randomSecret(tb)
	}
	dir := tb.TempDir()
	c.dir = dir
	var secureEnv []string
	if secure {
		secureEnv = c.makeCredentials(tb, dir)
	}
	for i := 1; i <= 3; i++ {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("nats-%d", i),
			client: freePortNum(tb), monitor: freePortNum(tb), routePort: freePortNum(tb)})
	}
	var routes []string
	for _, n := range c.nodes {
		routes = append(routes, fmt.Sprintf("nats://route:%s@127.0.0.1:%d", c.pass["route"], n.routePort))
	}
	for _, n := range c.nodes {
		n.env = []string{
			"NATS_SERVER_NAME=" + n.name,
			"NATS_HOST=127.0.0.1",
			"NATS_CLIENT_PORT=" + strconv.Itoa(n.client),
			"NATS_HTTP_PORT=" + strconv.Itoa(n.monitor),
			"NATS_CLUSTER_PORT=" + strconv.Itoa(n.routePort),
			"NATS_ROUTES=[" + strings.Join(routes, ", ") + "]",
			"NATS_STORE_DIR=" + filepath.Join(dir, n.name),
		}
		for u, v := range natsUsers {
			n.env = append(n.env, v+"="+c.pass[u])
		}
		n.env = append(n.env, secureEnv...)
		c.startNode(n)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			c.dumpLogs()
		}
		for _, n := range c.nodes {
			c.killNode(n)
		}
	})
	for _, n := range c.nodes {
		c.waitNode(n)
	}
	nc, js := c.connect(tb, "admin")
	defer nc.Close()
	waitFor(tb, 60*time.Second, "JetStream meta leader", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err
	})
	return c
}

func (c *testCluster) startNode(n *natsNode) {
	c.tb.Helper()
	cmd := exec.Command(os.Args[0], "-c", c.conf)
	cmd.Env = append(append(os.Environ(), "JEVENTS_TEST_NATS_SERVER=1"), n.env...)
	if n.logs == nil {
		n.logs = &lockedWriter{}
	}
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	if err := cmd.Start(); err != nil {
		c.tb.Fatal(err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(n.exited)
}

// waitNode waits until the node answers its JetStream health check.
func (c *testCluster) waitNode(n *natsNode) {
	c.tb.Helper()
	waitFor(c.tb, 60*time.Second, n.name+" healthy", func() error {
		select {
		case <-n.exited:
			c.tb.Fatalf("%s exited:\n%s", n.name, n.logs)
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", n.monitor))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz %d", resp.StatusCode)
		}
		return nil
	})
}

// killNode SIGKILLs a node; restartNode starts it again on the same store.
func (c *testCluster) killNode(n *natsNode) {
	if n.cmd != nil {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	}
}

func (c *testCluster) restartNode(n *natsNode) {
	c.tb.Helper()
	c.startNode(n)
	c.waitNode(n)
}

func (c *testCluster) node(name string) *natsNode {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	c.tb.Fatalf("no node %q", name)
	return nil
}

// makeCredentials writes the CA, one certificate for the nodes (for
// 127.0.0.1 and localhost, server and client use: a node is its peers'
// client on routes) and an nkey seed file per user into dir, and returns
// the nodes' environment for them.
func (c *testCluster) makeCredentials(tb testing.TB, dir string) []string {
	tb.Helper()
	ca, caKey := newCA(tb)
	c.caFile = filepath.Join(dir, "ca.pem")
	writePEM(tb, c.caFile, "CERTIFICATE", ca.Raw)
	issueCert(tb, ca, caKey, dir, "node", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")},
		x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	env := []string{
		"NATS_TLS_CERT=" + filepath.Join(dir, "node.pem"),
		"NATS_TLS_KEY=" + filepath.Join(dir, "node-key.pem"),
		"NATS_TLS_CA=" + c.caFile,
	}
	for u := range natsUsers {
		if u == "route" {
			continue
		}
		pub, seedFile := newNKey(tb, dir, u)
		c.seeds[u] = seedFile
		env = append(env, "NATS_"+strings.ToUpper(u)+"_NKEY="+pub)
	}
	return env
}

// newNKey makes a user nkey and writes its seed to dir/NAME.nk (0600), as
// an operator gives one to each process; it returns the public key.
func newNKey(tb testing.TB, dir, name string) (string, string) {
	tb.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		tb.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	file := filepath.Join(dir, name+".nk")
	if err := os.WriteFile(file, append(seed, '\n'), 0o600); err != nil {
		tb.Fatal(err)
	}
	return pub, file
}

// urls are the client URLs of all nodes, as the processes get them.
func (c *testCluster) urls() string {
	var u []string
	for _, n := range c.nodes {
		if c.secure {
			u = append(u, fmt.Sprintf("tls://127.0.0.1:%d", n.client))
		} else {
			u = append(u, n.url())
		}
	}
	return strings.Join(u, ",")
}

// auth are the connection options of a deploy user: its password, or its
// nkey and the CA that signed the servers' certificates.
func (c *testCluster) auth(tb testing.TB, user string) []nats.Option {
	tb.Helper()
	if !c.secure {
		return []nats.Option{nats.UserInfo(user, c.pass[user])}
	}
	o, err := nats.NkeyOptionFromSeed(c.seeds[user])
	if err != nil {
		tb.Fatal(err)
	}
	return []nats.Option{o, nats.RootCAs(c.caFile)}
}

// cliAuth are the command-line flags of a deploy user, as README shows
// them for each mode.
func (c *testCluster) cliAuth(user string) []string {
	if !c.secure {
		return []string{"--nats-user", user, "--nats-password", c.pass[user]}
	}
	return []string{"--nats-nkey", c.seeds[user], "--nats-tls-ca", c.caFile}
}

// connect opens a connection as one of the deploy users, with that role's
// inbox prefix.
func (c *testCluster) connect(tb testing.TB, user string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	opts = append(append(c.auth(tb, user), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond)), opts...)
	if user != "admin" && user != "sys" {
		opts = append(opts, nats.CustomInboxPrefix("_INBOX."+user))
	}
	nc, err := nats.Connect(c.urls(), opts...)
	if err != nil {
		tb.Fatalf("connect as %s: %v", user, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

// setup runs `jevents setup` as the admin user.
func (c *testCluster) setup(tb testing.TB) {
	tb.Helper()
	code, out, errs := runCLI(append([]string{"setup", "--nats", c.urls(), "--replicas", "3"}, c.cliAuth("admin")...)...)
	if code != 0 {
		tb.Fatalf("jevents setup: exit %d\n%s\n%s", code, out, errs)
	}
}

// startRole starts `jevents serve --role ROLE` as a separate process that
// connects as the deploy user of that role, and waits until it is ready.
func (c *testCluster) startRole(tb testing.TB, role string, extra ...string) *proc {
	tb.Helper()
	p := c.launchRole(tb, role, extra...)
	c.waitReady(tb, p, 90*time.Second)
	return p
}

// launchRole starts the process without waiting for it. The process lives
// as long as the cluster (until the test that started the cluster ends),
// whichever subtest starts it.
func (c *testCluster) launchRole(tb testing.TB, role string, extra ...string) *proc {
	tb.Helper()
	return c.launchRoleAs(tb, role, c.seeds[role], extra...)
}

// launchRoleAs is launchRole with the given nkey seed file (secure mode).
func (c *testCluster) launchRoleAs(tb testing.TB, role, seed string, extra ...string) *proc {
	tb.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePortNum(tb))
	ops := fmt.Sprintf("127.0.0.1:%d", freePortNum(tb))
	// Behind the proxy of deploy/caddy, which connects from loopback.
	args := append([]string{"serve", "--role", role, "--nats", c.urls(),
		"--nats-inbox-prefix", "_INBOX." + role, "--trusted-proxies", "127.0.0.1",
		"--http", addr, "--data", c.tb.TempDir(), "--public-url", "https://events.test"}, testServeArgs(ops)...)
	env := append(os.Environ(), "JEVENTS_TEST_MAIN=1", "JEVENTS_EDITOR_TOKEN="+token)
	if role == "editors" || role == "intake" || role == "notifier" { // sessions; organisers' links
		c.mu.Lock()
		if c.secretFile == "" {
			c.secretFile = filepath.Join(c.tb.TempDir(), "server-secret")
			secret := make([]byte, 32)
			_, _ = rand.Read(secret)
			if err := os.WriteFile(c.secretFile, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
				c.mu.Unlock()
				tb.Fatal(err)
			}
		}
		env = append(env, "JEVENTS_SERVER_SECRET_FILE="+c.secretFile)
		c.mu.Unlock()
	}
	if c.secure {
		// The seed's path and the CA in the environment, as a container
		// would get them.
		env = append(env, "JEVENTS_NATS_NKEY="+seed, "JEVENTS_NATS_TLS_CA="+c.caFile)
	} else {
		// The password in the environment, as docker-compose.yml passes
		// it: not in the process's arguments, which anyone on the host
		// can read.
		args = append(args, "--nats-user", role)
		env = append(env, "JEVENTS_NATS_PASSWORD="+c.pass[role])
	}
	args = append(args, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = env
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, ops: "http://" + ops, logs: logs}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.exited[p] = done
	c.mu.Unlock()
	c.tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return p
}

// done is closed when a process started by launchRole has exited.
func (c *testCluster) done(p *proc) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exited[p]
}

// stop ends a jevents process: SIGKILL, or SIGTERM for a clean stop.
func (c *testCluster) stop(tb testing.TB, p *proc, sig syscall.Signal) {
	tb.Helper()
	done := c.done(p)
	select {
	case <-done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		tb.Fatalf("process %d did not exit after %v", p.cmd.Process.Pid, sig)
	}
}

// waitReady polls /readyz until it answers 200; a process that exits
// fails the test at once, with its output.
func (c *testCluster) waitReady(tb testing.TB, p *proc, within time.Duration) {
	tb.Helper()
	done := c.done(p)
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		exited := false
		select {
		case <-done:
			exited = true
		default:
		}
		if exited || time.Now().After(deadline) {
			tb.Fatalf("jevents %v never became ready (exited: %v):\n%s", p.cmd.Args[1:4], exited, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond until it returns nil.
func waitFor(tb testing.TB, within time.Duration, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not after %v: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *testCluster) dumpLogs() {
	tail := func(s string) string {
		if len(s) > 6000 {
			return "…" + s[len(s)-6000:]
		}
		return s
	}
	for _, n := range c.nodes {
		c.tb.Logf("--- %s ---\n%s", n.name, tail(n.logs.String()))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		c.tb.Logf("--- jevents %v (pid %d) ---\n%s", p.cmd.Args[1:4], p.cmd.Process.Pid, tail(p.logs.String()))
	}
}
