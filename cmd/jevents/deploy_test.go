package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/justiceevents/jevents/internal/serversecret"
)

// CI has no Docker engine, so these tests keep deploy/ and
// docker-compose.yml honest without running them: the compose services use
// flags and environment variables the binary has, the users, passwords and
// ports they use are the ones deploy/nats gives the servers, Prometheus
// scrapes every role where it listens, and the Prometheus and Grafana files
// only name metrics of the catalogue. The cluster test runs the same
// deploy/nats files for real.

// composeFile is the part of docker-compose.yml the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck struct {
		Test    []string `yaml:"test"`
		Disable bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
	DependsOn any      `yaml:"depends_on"`
	Networks  any      `yaml:"networks"`
	Secrets   []string `yaml:"secrets"`
}

// dockerfileEnv is the ENV of deploy/Dockerfile's final image.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	df, err := os.ReadFile(repoPath(t, "deploy/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, m := range regexp.MustCompile(`(JEVENTS_[A-Z_]+)=(\S+)`).FindAllStringSubmatch(string(df), -1) {
		env[m[1]] = m[2]
	}
	return env
}

// interpolation is compose's ${VAR:-default} and ${VAR}, taken with the
// defaults (the environment of the test is not the operator's).
var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:-([^}]*))?\}`)

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var undefined []string
	b = interpolation.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := interpolation.FindSubmatch(m)
		if len(sm[2]) == 0 {
			undefined = append(undefined, string(sm[1]))
		}
		return sm[3]
	})
	if len(undefined) > 0 {
		t.Errorf("docker-compose.yml uses variables without a default: %v", undefined)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// cmdUsage is what `jevents CMD -h` prints: its flags and the environment
// variables named in their help.
func cmdUsage(t *testing.T, cmd string) (flags map[string]bool, envs map[string]bool) {
	t.Helper()
	code, errs, _ := runCLI(cmd, "-h") // help goes to stdout
	if code != 0 {
		t.Fatalf("jevents %s -h: exit %d", cmd, code)
	}
	flags, envs = map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(errs, -1) {
		flags[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\((JEVENTS_[A-Z0-9_]+)\)`).FindAllStringSubmatch(errs, -1) {
		envs[m[1]] = true
	}
	if len(flags) < 3 {
		t.Fatalf("jevents %s -h printed no flags:\n%s", cmd, errs)
	}
	return flags, envs
}

// commandFlags reads --flag value and --flag=value pairs after the
// subcommand.
func commandFlags(t *testing.T, name string, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: unexpected argument %q", name, a)
			continue
		}
		a = strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(a, "="); ok {
			out[k] = v
			continue
		}
		if i+1 >= len(args) {
			t.Errorf("%s: flag --%s has no value", name, a)
			continue
		}
		out[a] = args[i+1]
		i++
	}
	return out
}

// natsOptions loads deploy/nats/nats-server.conf with a compose service's
// environment, as the container's nats-server would.
func natsOptions(t *testing.T, env map[string]string) *server.Options {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(repoPath(t, "deploy/nats/nats-server.conf"))
	if err != nil {
		t.Fatalf("deploy/nats/nats-server.conf with the compose environment: %v", err)
	}
	return opts
}

// roleUsers: the deploy user each role connects as.
var roleUsers = map[string]string{"intake": "intake", "editors": "editors", "projector": "projector", "feeds": "feeds", "notifier": "notifier"}

func TestComposeMatchesBinaryAndDeploy(t *testing.T) {
	c := readCompose(t)
	serveFlags, serveEnvs := cmdUsage(t, "serve")
	setupFlags, setupEnvs := cmdUsage(t, "setup")

	// The NATS nodes: their configuration loads, and says what the others
	// rely on.
	type node struct{ client, monitor int }
	nodes := map[string]node{}
	var natsUsersOpts []*server.User
	for _, name := range []string{"nats-1", "nats-2", "nats-3"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if !slices.Contains(s.Volumes, "./deploy/nats:/etc/nats:ro") || !slices.Equal(s.Command, []string{"--config", "/etc/nats/nats-server.conf"}) {
			t.Errorf("%s does not run deploy/nats/nats-server.conf: %v %v", name, s.Volumes, s.Command)
		}
		o := natsOptions(t, s.Environment)
		if o.ServerName != name || !o.SyncAlways || o.Cluster.Name != "jevents" || o.SystemAccount != "SYS" {
			t.Errorf("%s: server_name %q, sync_interval always %v, cluster %q, system account %q", name, o.ServerName, o.SyncAlways, o.Cluster.Name, o.SystemAccount)
		}
		var routes []string
		for _, r := range o.Routes {
			if p, _ := r.User.Password(); r.User.Username() != o.Cluster.Username || p != o.Cluster.Password {
				t.Errorf("%s: route %s does not carry the route user", name, r.Redacted())
			}
			routes = append(routes, r.Hostname()+":"+r.Port())
		}
		if want := []string{"nats-1:6222", "nats-2:6222", "nats-3:6222"}; !slices.Equal(routes, want) || o.Cluster.Port != 6222 {
			t.Errorf("%s: routes %v, cluster port %d", name, routes, o.Cluster.Port)
		}
		if hc := strings.Join(s.Healthcheck.Test, " "); !strings.Contains(hc, fmt.Sprintf(":%d/healthz", o.HTTPPort)) {
			t.Errorf("%s: health check %q is not on the monitoring port %d", name, hc, o.HTTPPort)
		}
		nodes[name] = node{o.Port, o.HTTPPort}
		natsUsersOpts = o.Users
	}
	users := map[string]*server.User{}
	for _, u := range natsUsersOpts {
		users[u.Username] = u
	}
	for _, u := range []string{"admin", "intake", "editors", "projector", "feeds"} {
		if users[u] == nil {
			t.Fatalf("deploy/nats has no user %s", u)
		}
	}

	// Every jevents service uses flags and variables the binary has, a
	// deploy user with that user's password, its inbox prefix, and the
	// nodes' client ports.
	promTargets := map[string]string{} // host:port → job
	for _, job := range readPromConfig(t).ScrapeConfigs {
		for _, sc := range job.StaticConfigs {
			for _, tg := range sc.Targets {
				promTargets[tg] = job.JobName
			}
		}
	}
	count := map[string]int{}
	imageEnv := dockerfileEnv(t)
	publicPorts := map[string]string{} // service → its --http port
	trusted := map[string][]string{}   // JEVENTS_TRUSTED_PROXIES → services
	for name, s := range c.Services {
		if s.Image != "jevents:local" {
			continue
		}
		if s.Build == nil {
			t.Errorf("%s: not built from deploy/Dockerfile", name)
		}
		if len(s.Command) == 0 {
			t.Fatalf("%s: no command", name)
		}
		sub := s.Command[0]
		flagSet, envSet := serveFlags, serveEnvs
		switch sub {
		case "serve":
		case "setup":
			flagSet, envSet = setupFlags, setupEnvs
		default:
			t.Fatalf("%s: command %q is not serve or setup", name, sub)
		}
		fl := commandFlags(t, name, s.Command[1:])
		for f := range fl {
			if !flagSet[f] {
				t.Errorf("%s: jevents %s has no flag --%s", name, sub, f)
			}
		}
		for k := range s.Environment {
			if k == "JEVENTS_EDITOR_TOKEN" || k == "JEVENTS_SMTP_PASSWORD" { // secrets, read from the environment only
				continue
			}
			if !envSet[k] {
				t.Errorf("%s: jevents %s reads no variable %s", name, sub, k)
			}
		}
		user := fl["nats-user"]
		if sub == "serve" {
			role := fl["role"]
			count[role]++
			if roleUsers[role] == "" {
				t.Errorf("%s: --role %q: run one role per container, so that each has its own user", name, role)
				continue
			}
			if user != roleUsers[role] {
				t.Errorf("%s: role %s connects as %q, want %q", name, role, user, roleUsers[role])
			}
			if want := "_INBOX." + user; fl["nats-inbox-prefix"] != want {
				t.Errorf("%s: --nats-inbox-prefix %q, want %q", name, fl["nats-inbox-prefix"], want)
			}
			// Its inbox, and the request subjects of the services the
			// role answers (the projectors answer as_of snapshots), nothing
			// else: no other user's replies, no event subjects.
			services := map[string][]string{"projector": {"jevents.asof.snapshot"}}
			if u := users[user]; u != nil && (u.Permissions == nil || u.Permissions.Subscribe == nil ||
				!slices.Equal(u.Permissions.Subscribe.Allow, append([]string{"_INBOX." + user + ".>"}, services[user]...))) {
				t.Errorf("deploy/nats: user %s may subscribe to more than its inbox and its services", user)
			}
			// A flag given wins over the image's environment.
			effective := func(flag, variable string) string {
				if v, ok := fl[flag]; ok {
					return v
				}
				return imageEnv[variable]
			}
			httpAddr := effective("http", "JEVENTS_HTTP")
			host, httpPort, err := net.SplitHostPort(httpAddr)
			if err != nil || host != "0.0.0.0" {
				t.Errorf("%s: --http %q must listen on all interfaces of the container", name, httpAddr)
			}
			publicPorts[name] = httpPort
			// Prometheus scrapes the operators' listener (/metrics is not
			// on the public one), and the health check asks it.
			ops := effective("metrics-listen", "JEVENTS_METRICS_LISTEN")
			host, port, err := net.SplitHostPort(ops)
			if err != nil || host != "0.0.0.0" {
				t.Errorf("%s: --metrics-listen %q must listen on all interfaces of the container", name, ops)
			}
			if job := promTargets[name+":"+port]; job != "jevents-"+role {
				t.Errorf("%s: Prometheus does not scrape %s:%s as job jevents-%s (job %q)", name, name, port, role, job)
			}
			if hc := s.Healthcheck.Test; !slices.Equal(hc, []string{"CMD", "/jevents", "healthcheck"}) || s.Healthcheck.Disable {
				t.Errorf("%s: health check %v, want `jevents healthcheck`", name, hc)
			}
			if len(s.Ports) > 0 {
				t.Errorf("%s publishes %v: only the proxy, Prometheus and Grafana are published", name, s.Ports)
			}
			if role != "projector" && role != "notifier" { // they serve the public nothing
				trusted[s.Environment["JEVENTS_TRUSTED_PROXIES"]] = append(trusted[s.Environment["JEVENTS_TRUSTED_PROXIES"]], name)
			}
		} else {
			count["setup"]++
			if user != "admin" {
				t.Errorf("setup connects as %q, want admin", user)
			}
		}
		if u := users[user]; u == nil || u.Password != s.Environment["JEVENTS_NATS_PASSWORD"] {
			t.Errorf("%s: JEVENTS_NATS_PASSWORD is not the password deploy/nats gives %s", name, user)
		}
		for _, raw := range strings.Split(fl["nats"], ",") {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("%s: --nats %q: %v", name, raw, err)
			}
			n, ok := nodes[u.Hostname()]
			if !ok || strconv.Itoa(n.client) != u.Port() {
				t.Errorf("%s: --nats %s is not a node's client port", name, raw)
			}
		}
		if len(strings.Split(fl["nats"], ",")) != 3 {
			t.Errorf("%s: --nats should list all three nodes", name)
		}
	}
	if want := map[string]int{"setup": 1, "intake": 1, "editors": 1, "projector": 2, "feeds": 2, "notifier": 1}; !mapsEqual(count, want) {
		t.Errorf("jevents services: %v, want %v", count, want)
	}

	// The NATS exporter: built from deploy/nats-exporter, it reads all
	// three nodes as the sys and monitor users, with their passwords;
	// Prometheus scrapes it as job nats.
	exp, ok := c.Services["nats-exporter"]
	if !ok {
		t.Fatal("no service nats-exporter")
	}
	if b, _ := exp.Build.(map[string]any); b == nil || b["dockerfile"] != "deploy/nats-exporter/Dockerfile" {
		t.Errorf("nats-exporter is not built from deploy/nats-exporter/Dockerfile: %v", exp.Build)
	}
	var expNodes []string
	for _, raw := range strings.Split(exp.Environment["NATS_URL"], ",") {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := nodes[u.Hostname()]; !ok || strconv.Itoa(n.client) != u.Port() {
			t.Errorf("nats-exporter: NATS_URL %s is not a node's client port", raw)
		}
		expNodes = append(expNodes, u.Hostname())
	}
	if len(expNodes) != 3 {
		t.Errorf("nats-exporter reads %v, want the three nodes", expNodes)
	}
	sys := c.Services["nats-1"].Environment["NATS_SYS_PASSWORD"]
	if exp.Environment["NATS_SYS_PASSWORD"] != sys || users["monitor"] == nil || exp.Environment["NATS_MONITOR_PASSWORD"] != users["monitor"].Password {
		t.Error("nats-exporter's passwords are not the sys and monitor users' of deploy/nats")
	}
	if promTargets["nats-exporter:7777"] != "nats" {
		t.Error("Prometheus does not scrape nats-exporter:7777 as job nats")
	}
	ck, err := os.ReadFile(repoPath(t, "deploy/nats-exporter/checks.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range nodes {
		if !bytes.Contains(ck, []byte("name: "+name+"\n")) {
			t.Errorf("deploy/nats-exporter/checks.yml does not check %s", name)
		}
	}

	// The proxy: deploy/caddy/Caddyfile, in front of every intake,
	// editors and feeds service on its public port, the only one published
	// besides Prometheus and Grafana; the roles trust its fixed address.
	px, ok := c.Services["proxy"]
	if !ok {
		t.Fatal("no service proxy")
	}
	if !slices.Contains(px.Volumes, "./deploy/caddy:/etc/caddy:ro") || !slices.Contains(px.Command, "/etc/caddy/Caddyfile") {
		t.Errorf("proxy does not run deploy/caddy/Caddyfile: %v %v", px.Volumes, px.Command)
	}
	upstreams := map[string]string{"intake": "JEVENTS_INTAKE_UPSTREAMS", "editors": "JEVENTS_EDITORS_UPSTREAMS", "feeds": "JEVENTS_FEEDS_UPSTREAMS"}
	for name, port := range publicPorts {
		role := strings.TrimRight(name, "-0123456789")
		if role == "projector" || role == "notifier" {
			continue
		}
		if !slices.Contains(strings.Fields(px.Environment[upstreams[role]]), name+":"+port) {
			t.Errorf("the proxy does not send %s requests to %s:%s (%s=%q)", role, name, port, upstreams[role], px.Environment[upstreams[role]])
		}
	}
	nets, _ := px.Networks.(map[string]any)
	jn, _ := nets["jevents"].(map[string]any)
	proxyIP, _ := jn["ipv4_address"].(string)
	if len(trusted) != 1 || trusted[proxyIP] == nil {
		t.Errorf("the roles' JEVENTS_TRUSTED_PROXIES %v, want the proxy's address %q", trusted, proxyIP)
	}
	for name, s := range c.Services {
		if name == "mailpit" { // for trying the mail flow: its web UI, on this machine only
			for _, p := range s.Ports {
				if !strings.HasPrefix(fmt.Sprint(p), "127.0.0.1:") {
					t.Errorf("mailpit publishes %v beyond loopback", p)
				}
			}
			continue
		}
		if len(s.Ports) > 0 && name != "proxy" && name != "prometheus" && name != "grafana" {
			t.Errorf("%s publishes %v", name, s.Ports)
		}
	}

	for tg := range promTargets {
		host, _, _ := net.SplitHostPort(tg)
		if _, ok := c.Services[host]; !ok {
			t.Errorf("Prometheus scrapes %s, which is no compose service", tg)
		}
	}

	// Prometheus and Grafana read the files of deploy/.
	prom, graf := c.Services["prometheus"], c.Services["grafana"]
	if !slices.Contains(prom.Volumes, "./deploy/prometheus:/etc/prometheus:ro") || !slices.Contains(prom.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus does not load deploy/prometheus/prometheus.yml: %v %v", prom.Volumes, prom.Command)
	}
	for _, v := range append(slices.Clone(graf.Volumes), c.Services["nats-1"].Volumes...) {
		if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, "./") {
			repoPath(t, src)
		}
	}
	ds, err := os.ReadFile(repoPath(t, "deploy/grafana/provisioning/datasources/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ds, []byte("url: http://prometheus:9090")) || !slices.Contains(prom.Ports, "9090:9090") {
		t.Error("Grafana's data source is not the compose Prometheus")
	}
	// The README says how to run the stack where Docker is available.
	readme, err := os.ReadFile(repoPath(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("## Running on a cluster")) || !bytes.Contains(readme, []byte("docker compose up --build")) {
		t.Error("README.md has no \"Running on a cluster\" section with `docker compose up --build`")
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPromtool: promtool accepts deploy/prometheus, and the alert rules
// pass their unit tests (deploy/prometheus/alerts_test.yml).
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	dir := repoPath(t, "deploy/prometheus")
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDeployNamesCataloguedMetrics: every jevents_ metric the alert rules
// and the dashboard use is in docs/metrics.md, and every dashboard panel
// has a query.
func TestDeployNamesCataloguedMetrics(t *testing.T) {
	known := map[string]bool{}
	for _, m := range readCatalogue(t) {
		known[m.name] = true
		if m.typ == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[m.name+s] = true
			}
		}
	}
	name := regexp.MustCompile(`jevents_[a-z_]+`)
	for _, f := range []string{"deploy/prometheus/alerts.yml", "deploy/grafana/dashboards/jevents.json"} {
		b, err := os.ReadFile(repoPath(t, f))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range name.FindAllString(string(b), -1) {
			n++
			if !known[m] {
				t.Errorf("%s uses %s, which docs/metrics.md does not catalogue", f, m)
			}
		}
		if n < 10 {
			t.Errorf("%s names only %d metrics", f, n)
		}
	}
	for _, e := range dashboardExprs(t) {
		if strings.TrimSpace(e) == "" {
			t.Error("a dashboard panel has an empty query")
		}
	}
	// The dashboard names no data source of its own: every panel and query
	// uses the variable, and it has job and instance variables.
	b, err := os.ReadFile(repoPath(t, "deploy/grafana/dashboards/jevents.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"uid":\s*"([^"]*)"`).FindAllStringSubmatch(string(b), -1) {
		if m[1] != "${datasource}" && m[1] != "jevents" {
			t.Errorf("the dashboard names the data source uid %q; use ${datasource}", m[1])
		}
	}
	var d struct {
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["job"] != "query" || vars["instance"] != "query" {
		t.Errorf("dashboard variables %v, want datasource, job and instance", vars)
	}
}

// dashboardExprs are the PromQL queries of the Grafana dashboard.
func dashboardExprs(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "deploy/grafana/dashboards/jevents.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var out []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel of type %s has no query", p.Type)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// TestDockerfileBuildsAStaticBinary builds cmd/jevents the way
// deploy/Dockerfile does and checks the result needs no libc (it runs in a
// scratch image) and that the image runs it as a non-root user.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	df, err := os.ReadFile(repoPath(t, "deploy/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*) -o /out/jevents (\./cmd/jevents)$`).FindSubmatch(df)
	if build == nil {
		t.Fatal("deploy/Dockerfile: no `RUN CGO_ENABLED=0 go build … -o /out/jevents ./cmd/jevents` line")
	}
	for _, want := range []string{"\nFROM scratch\n", "\nUSER 65532:65532\n", `ENTRYPOINT ["/jevents"]`} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("deploy/Dockerfile: no %q", strings.TrimSpace(want))
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "jevents")
	// The Dockerfile's flags, as the shell would split them.
	// The version argument as `docker build --build-arg
	// JEVENTS_VERSION=v9.9.9-test` gives it.
	line := strings.ReplaceAll(string(build[1]), "${JEVENTS_VERSION}", "v9.9.9-test")
	args := append([]string{"build"}, shellFields(line)[3:]...) // after CGO_ENABLED=0 go build
	args = append(args, "-o", out, string(build[2]))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = repoPath(t, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary asks for a dynamic loader: it would not run in a scratch image")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary links %v", libs)
	}
	// It runs, with no more than itself, and names the version given at
	// build time.
	v := exec.Command(out, "version")
	v.Env = []string{}
	if b, err := v.CombinedOutput(); err != nil || !bytes.HasPrefix(b, []byte("jevents v9.9.9-test (revision ")) {
		t.Fatalf("the static binary does not run or name its version: %v\n%s", err, b)
	}
	for _, want := range []string{"ENV JEVENTS_DATA=/data", "JEVENTS_METRICS_LISTEN=0.0.0.0:9180", `HEALTHCHECK `, `CMD ["/jevents", "healthcheck"]`} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("deploy/Dockerfile: no %q", want)
		}
	}
}

// shellFields splits words as sh does for the simple cases a Dockerfile
// RUN line has: spaces separate, double quotes group.
func shellFields(s string) []string {
	var (
		out    []string
		cur    strings.Builder
		quoted bool
		inWord bool
	)
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// TestComposeServerSecret: every editors container reads the server secret
// that signs sessions from the same compose secret, mounted where its
// JEVENTS_SERVER_SECRET_FILE says, and the default file is one jevents
// takes (so that `docker compose up` starts; README: Server secret).
func TestComposeServerSecret(t *testing.T) {
	c := readCompose(t)
	editors := 0
	for name, s := range c.Services {
		if len(s.Command) == 0 || s.Command[0] != "serve" || commandFlags(t, name, s.Command[1:])["role"] != "editors" {
			continue
		}
		editors++
		path := s.Environment["JEVENTS_SERVER_SECRET_FILE"]
		secret, ok := strings.CutPrefix(path, "/run/secrets/")
		if !ok || !slices.Contains(s.Secrets, secret) {
			t.Errorf("%s: JEVENTS_SERVER_SECRET_FILE %q is not one of its secrets %v", name, path, s.Secrets)
			continue
		}
		def, ok := c.Secrets[secret]
		if !ok || def.File == "" {
			t.Errorf("%s: secret %q is not declared with a file", name, secret)
			continue
		}
		secrets, err := serversecret.ReadFile(repoPath(t, def.File))
		if err == nil {
			_, err = serversecret.Load("", secrets)
		}
		if err != nil || len(secrets) == 0 {
			t.Errorf("the default server secret %s: %v (%d secrets)", def.File, err, len(secrets))
		}
	}
	if editors == 0 {
		t.Fatal("no editors service in docker-compose.yml")
	}
}
