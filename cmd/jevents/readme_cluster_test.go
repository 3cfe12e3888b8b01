package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// clusterCommands are README's "Running on a cluster" commands against a
// cluster of one's own, for one way of connecting (the URLs of --nats start
// with scheme): `jevents setup …` and `jevents serve --role feeds …`, as
// shell words, with README's host names and files replaced by the test
// cluster's.
func clusterCommands(t *testing.T, c *testCluster, scheme string) (setup, serve []string) {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section, offset := markdownSection(t, string(b), "## Running on a cluster")
	hosts := strings.Join([]string{scheme + "://n1:4222", scheme + "://n2:4222", scheme + "://n3:4222"}, ",")
	files := map[string]string{"admin.nk": c.seeds["admin"], "feeds.nk": c.seeds["feeds"], "ca.pem": c.caFile}
	for _, cmd := range shellCommands(t, section, offset) {
		words := shellFields(cmd.text)
		if len(words) < 3 || words[0] != "jevents" || !strings.Contains(cmd.text, " "+hosts) {
			continue
		}
		for i, w := range words {
			if w == hosts {
				words[i] = c.urls()
			} else if f, ok := files[w]; ok {
				words[i] = f
			}
		}
		switch words[1] {
		case "setup":
			setup = words[1:]
		case "serve":
			serve = words[1:]
		}
	}
	if setup == nil || serve == nil {
		t.Fatalf("README's \"Running on a cluster\" has no `jevents setup` and `jevents serve --role feeds` with --nats %s", hosts)
	}
	return setup, serve
}

// runReadmeCommands runs README's setup and feed server for the cluster's
// way of connecting, as written (the password, where README says so, from
// JEVENTS_NATS_PASSWORD), and waits until the feed server is ready.
func runReadmeCommands(t *testing.T, c *testCluster, scheme string) {
	t.Helper()
	setup, serve := clusterCommands(t, c, scheme)
	if !c.secure {
		t.Setenv("JEVENTS_NATS_PASSWORD", c.pass["admin"])
	}
	if code, out, errs := runCLI(append(setup, "--replicas", "3")...); code != exitOK {
		t.Fatalf("README's %v: exit %d\n%s%s", setup, code, out, errs)
	}
	ops := freePort(t)
	cmd := exec.Command(os.Args[0], append(serve, "--http", freePort(t), "--metrics-listen", ops, "--data", t.TempDir())...)
	cmd.Env = append(os.Environ(), "JEVENTS_TEST_MAIN=1")
	if !c.secure {
		cmd.Env = append(cmd.Env, "JEVENTS_NATS_PASSWORD="+c.pass["feeds"])
	}
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitFor(t, 60*time.Second, "README's feed server ready", func() error {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errorString(resp.Status + "\n" + logs.String())
		}
		return nil
	})
}

// TestClusterPasswords: the configuration docker-compose.yml runs
// (deploy/nats/nats-server.conf: users with passwords, no TLS) on three
// nodes, with README's commands for it as written; a wrong password is
// refused. (TestCluster runs everything else on the TLS and nkey
// configuration.)
func TestClusterPasswords(t *testing.T) {
	c := startCluster(t)
	runReadmeCommands(t, c, "nats")
	p := c.launchRole(t, "feeds", "--nats-password", "wrong"+c.pass["feeds"])
	waitFor(t, 20*time.Second, "the refusal in the log of a feed server with a wrong password", func() error {
		if !strings.Contains(strings.ToLower(p.logs.String()), "authorization violation") {
			return errorString("not yet")
		}
		return nil
	})
	c.stop(t, p, 9)
}
