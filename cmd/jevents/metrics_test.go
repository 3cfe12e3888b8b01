package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// catalogued is one row of docs/metrics.md.
type catalogued struct {
	name, typ string
	roles     []string
}

var catalogueRow = regexp.MustCompile("^\\| `(jevents_[a-z_]+)` \\| (counter|gauge|histogram|summary) \\|[^|]*\\| ([a-z, ]+) \\|")

// readCatalogue parses the catalogue table of docs/metrics.md.
func readCatalogue(t testing.TB) []catalogued {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "docs/metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []catalogued
	for _, line := range strings.Split(string(b), "\n") {
		m := catalogueRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var roles []string
		for _, r := range strings.Split(m[3], ",") {
			roles = append(roles, strings.TrimSpace(r))
		}
		out = append(out, catalogued{m[1], m[2], roles})
	}
	if len(out) < 20 {
		t.Fatalf("docs/metrics.md: only %d catalogue rows parsed", len(out))
	}
	return out
}

// get answers a GET (with the editor token when asked) and returns its status.
func get(t testing.TB, u string, asEditor bool) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if asEditor {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// testCatalogue: each role's process exports exactly the jevents_ metrics
// docs/metrics.md gives that role, with the catalogued type.
func testCatalogue(t *testing.T, c *testCluster, r *roles) {
	// Traffic for the series that appear on first use.
	for _, path := range []string{"/calendar.ics", "/api/v1/resources", "/resources"} {
		if code := get(t, r.feeds.base+path, false); code != http.StatusOK {
			t.Fatalf("feeds GET %s: %d", path, code)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, r.editors.base+"/api/v1/resources", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := httpc.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("an empty resource: %d, want a 4xx", resp.StatusCode)
		}
	}

	active, standby := activeProjector(t, c, r)
	cat := readCatalogue(t)
	for _, tc := range []struct {
		role string
		p    *proc
	}{{"intake", r.intake}, {"editors", r.editors}, {"projector", active}, {"feeds", r.feeds}} {
		t.Run(tc.role, func(t *testing.T) {
			types, _ := scrape(t, tc.p.ops)
			want := map[string]bool{}
			for _, m := range cat {
				if !slices.Contains(m.roles, tc.role) {
					continue
				}
				want[m.name] = true
				switch got, ok := types[m.name]; {
				case !ok:
					t.Errorf("%s does not export %s", tc.role, m.name)
				case got != m.typ:
					t.Errorf("%s: %s is a %s, catalogued as a %s", tc.role, m.name, got, m.typ)
				}
			}
			var extra []string
			for name := range types {
				if strings.HasPrefix(name, "jevents_") && !want[name] {
					extra = append(extra, name)
				}
			}
			sort.Strings(extra)
			if len(extra) > 0 {
				t.Errorf("%s exports metrics docs/metrics.md does not give it: %v", tc.role, extra)
			}
			for _, std := range []string{"go_goroutines", "process_resident_memory_bytes"} {
				if _, ok := types[std]; !ok {
					t.Errorf("%s does not export %s", tc.role, std)
				}
			}
		})
	}
	// The standby says it stands by.
	_, samples := scrape(t, standby.ops)
	if v, ok := sample(samples, `jevents_projector_active{projection="calendar"}`); !ok || v != 0 {
		t.Errorf("standby projector: jevents_projector_active %v (exported: %v)", v, ok)
	}
}

// promJob is one scrape job of deploy/prometheus/prometheus.yml.
type promJob struct {
	JobName       string `yaml:"job_name"`
	StaticConfigs []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"static_configs"`
}

type promConfig struct {
	Global        map[string]any `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []promJob      `yaml:"scrape_configs"`
}

func readPromConfig(t testing.TB) promConfig {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "deploy/prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var pc promConfig
	if err := yaml.Unmarshal(b, &pc); err != nil {
		t.Fatal(err)
	}
	return pc
}

// promQuery runs an instant query through Prometheus's HTTP API.
func promQuery(base, q string) ([]struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}, error) {
	resp, err := httpc.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, out.Error)
	}
	return out.Data.Result, nil
}

// testPrometheus: a real Prometheus (Debian's package), configured with the
// jobs of deploy/prometheus/prometheus.yml pointed at this cluster's
// processes and its NATS exporter, and with deploy/prometheus/alerts.yml,
// scrapes every role and the NATS servers; its HTTP API returns each role's
// metrics, every query of the Grafana dashboard returns data, and every
// alert rule evaluates without error.
func testPrometheus(t *testing.T, r *roles, natsExporter string) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	addrs := func(ps ...*proc) []string {
		var out []string
		for _, p := range ps {
			out = append(out, strings.TrimPrefix(p.ops, "http://"))
		}
		return out
	}
	targets := map[string][]string{
		"jevents-intake": addrs(r.intake), "jevents-editors": addrs(r.editors),
		"jevents-projector": addrs(r.projectors...), "jevents-feeds": addrs(r.feeds), "jevents-notifier": addrs(r.notifier),
		"nats": {natsExporter},
	}
	nTargets := 0
	for _, a := range targets {
		nTargets += len(a)
	}
	deploy := readPromConfig(t)
	cfg := promConfig{
		Global:    map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		RuleFiles: []string{repoPath(t, "deploy/prometheus/alerts.yml")},
	}
	for _, j := range deploy.ScrapeConfigs {
		tgs, ok := targets[j.JobName]
		if !ok {
			t.Errorf("deploy/prometheus/prometheus.yml has a job %s the test does not know", j.JobName)
			continue
		}
		delete(targets, j.JobName)
		job := promJob{JobName: j.JobName}
		job.StaticConfigs = make([]struct {
			Targets []string `yaml:"targets"`
		}, 1)
		job.StaticConfigs[0].Targets = tgs
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, job)
	}
	if len(targets) > 0 {
		t.Fatalf("deploy/prometheus/prometheus.yml has no job for %v", targets)
	}
	dir := t.TempDir()
	b, _ := yaml.Marshal(cfg)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePortNum(t))
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", logs)
		}
	})
	base := "http://" + addr
	waitFor(t, 60*time.Second, "prometheus ready", func() error {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready %d", resp.StatusCode)
		}
		return nil
	})
	// Every target of every job is up.
	waitFor(t, 60*time.Second, "every role scraped", func() error {
		res, err := promQuery(base, "up == 1")
		if err != nil {
			return err
		}
		if len(res) != nTargets {
			return fmt.Errorf("%d of %d targets up", len(res), nTargets)
		}
		return nil
	})
	// And the service's own metrics come back through the query API.
	for _, q := range []struct{ query, job string }{
		{`jevents_http_requests_total{route="POST /api/v1/conferences"}`, "jevents-intake"},
		{`jevents_intake_submissions_total{outcome="accepted"}`, "jevents-intake"},
		{`jevents_events_appended_total{type="conference.approved.v1"}`, "jevents-editors"},
		{`sum by (job, projection) (jevents_projector_active) == 1`, "jevents-projector"},
		{`jevents_feed_requests_total{feed="all"}`, "jevents-feeds"},
		{`jevents_readmodel_projector_present{job="jevents-feeds",projection="calendar"} == 1`, "jevents-feeds"},
		{`max(jevents_stream_bytes) / max(jevents_stream_max_bytes)`, ""},
	} {
		waitFor(t, 30*time.Second, "query "+q.query, func() error {
			res, err := promQuery(base, q.query)
			if err != nil {
				return err
			}
			if len(res) == 0 {
				return fmt.Errorf("no result")
			}
			if q.job != "" && res[0].Metric["job"] != q.job {
				return fmt.Errorf("job %q", res[0].Metric["job"])
			}
			return nil
		})
	}
	// Every query of the Grafana dashboard returns data, with every job
	// and instance selected (the variables' "All").
	vars := strings.NewReplacer(`"$job"`, `".*"`, `"$instance"`, `".*"`)
	for _, e := range dashboardExprs(t) {
		q := vars.Replace(e)
		waitFor(t, 30*time.Second, "dashboard query "+q, func() error {
			res, err := promQuery(base, q)
			if err == nil && len(res) == 0 {
				err = errors.New("no data")
			}
			return err
		})
	}
	// Every alert rule evaluates without error against real series, and
	// none fires on a healthy cluster.
	waitFor(t, 30*time.Second, "alert rules evaluated", func() error {
		resp, err := httpc.Get(base + "/api/v1/rules")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name           string `json:"name"`
						Health         string `json:"health"`
						LastError      string `json:"lastError"`
						State          string `json:"state"`
						LastEvaluation string `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		n := 0
		for _, g := range out.Data.Groups {
			for _, rule := range g.Rules {
				n++
				if rule.Health != "ok" || strings.HasPrefix(rule.LastEvaluation, "0001") {
					return fmt.Errorf("rule %s: health %q %s", rule.Name, rule.Health, rule.LastError)
				}
				if rule.State == "firing" || rule.State == "pending" {
					return fmt.Errorf("rule %s is %s on a healthy cluster", rule.Name, rule.State)
				}
			}
		}
		if n < 5 {
			return fmt.Errorf("only %d rules loaded", n)
		}
		return nil
	})
}
