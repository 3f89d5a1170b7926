package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestScrapeEndToEnd runs the examples/cluster app (two app server
// processes) and sessgc as built binaries, and a real Prometheus server on
// loopback that discovers the app servers through the cluster's /_targets
// and scrapes them and sessgc's textfile every second, with the shipped
// rules loaded. While a short load runs, every dashboard query and the
// metric selectors of every rule must return data through Prometheus's
// HTTP API, but for quietQueries, which must run and return nothing or 0,
// and every rule must evaluate without error: a renamed metric or label
// fails here.
func TestScrapeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and starts Prometheus")
	}
	prometheus := tool(t, "prometheus")
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, testenv.Prometheus, "go command not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin+string(filepath.Separator), "./examples/cluster", "./cmd/sessgc")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	store := filepath.Join(work, "store")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}

	proxy := startCluster(t, filepath.Join(bin, "cluster"), store, filepath.Join(work, "cluster.log"))

	// sessgc writes its textfile; node-exporter would serve it, this
	// handler does the same for the one file.
	textfile := filepath.Join(work, "sessgc.prom")
	sessgc := func() {
		t.Helper()
		out, err := exec.CommandContext(ctx, filepath.Join(bin, "sessgc"), "run", "--dir", store, "--quiet", "--textfile", textfile).CombinedOutput()
		if err != nil {
			t.Fatalf("sessgc run: %v\n%s", err, out)
		}
	}
	sessgc()
	textSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		http.ServeFile(w, r, textfile)
	}))
	defer textSrv.Close()

	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	api := startPrometheus(ctx, t, prometheus, work, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: app
    http_sd_configs:
      - url: %q
        refresh_interval: 1s
  - job_name: sessgc
    static_configs:
      - targets: [%q]
`, rules, proxy+"_targets", strings.TrimPrefix(textSrv.URL, "http://")))

	// Load: users log in and reload their page, two requests of each at a
	// time (so requests wait for the session lock), until the checks end.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			load(loadCtx, t, proxy)
		}()
	}
	defer func() { stopLoad(); wg.Wait() }()
	sessgc() // a second run, after sessions exist

	queries := dashboardQueries(t, loadDashboard(t), "5s")
	for _, sel := range metricRe.FindAllString(read(t, rulesFile), -1) {
		queries["rule selector "+sel] = sel
	}
	// The latency panel splits by outcome: the load's stale cookies make
	// loads that find no session, whose latency must show on their own.
	queries["latency of a failed outcome"] = `histogram_quantile(0.99, sum by (op, outcome, le) (rate(sessfs_operation_duration_seconds_bucket{op="load", outcome="not_found"}[5s])))`
	queries["both app servers scraped"] = `count(up{job="app"} == 1) == 2`
	queries["sessgc scraped"] = `up{job="sessgc"} == 1`
	quiet := map[string]string{}
	for name, q := range queries {
		if slices.Contains(quietQueries, q) {
			quiet[name] = q
			delete(queries, name)
		}
	}
	if len(quiet) != len(quietQueries) {
		t.Fatalf("quietQueries: %d of %d are dashboard queries", len(quiet), len(quietQueries))
	}
	waitForData(ctx, t, api, queries)
	checkQuiet(ctx, t, api, quiet)
	checkRulesHealthy(ctx, t, api)
}

// startCluster runs the cluster binary with two app servers and returns
// the proxy URL; the cluster stops when the test ends. Its log (requests
// cut short when the load stops are logged too) is shown if the test
// fails.
func startCluster(t *testing.T, binary, store, logPath string) string {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-n", "2", "-addr", "127.0.0.1:0", "-dir", store)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found, done := make(chan string, 1), make(chan struct{})
	go func() {
		defer close(done)
		defer close(found)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "proxy: "); ok {
				found <- u
			}
		}
	}()
	t.Cleanup(func() {
		stop(cmd)
		<-done
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("cluster log:\n%s", b)
		}
	})
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatal("cluster exited without printing the proxy URL")
		}
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("cluster did not print the proxy URL within 60s")
	}
	return ""
}

// stop interrupts cmd (the cluster stops its servers then) and waits,
// killing it if the interrupt cannot be sent.
func stop(cmd *exec.Cmd) {
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		cmd.Process.Kill()
	}
	cmd.Wait()
}

// startPrometheus starts Prometheus with the config on a free loopback
// port and returns its API base URL once it is ready.
func startPrometheus(ctx context.Context, t *testing.T, binary, work, config string) string {
	t.Helper()
	cfg := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// Prometheus cannot report a port it picked: take a free one.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(work, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config.file", cfg, "--storage.tsdb.path", filepath.Join(work, "tsdb"),
		"--web.listen-address", addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop(cmd)
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	base := "http://" + addr
	poll(ctx, t, "prometheus ready", func() (bool, string) {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return base
}

// load drives the demo as one user until ctx ends: log in, then reload
// the page two requests at a time, and once per round visit it with the
// cookie of a session that no longer exists (a load that finds nothing).
func load(ctx context.Context, t *testing.T, proxy string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// No jar: the stale cookie is sent as it is, and the user's kept.
	stale := &http.Client{Timeout: 30 * time.Second}
	do := func(method string, staleCookie bool) {
		req, _ := http.NewRequestWithContext(ctx, method, proxy, nil)
		cl := c
		if method == http.MethodPost {
			req.URL.Path = "/login"
		}
		if staleCookie {
			id, err := fsstore.NewID()
			if err != nil {
				t.Error(err)
				return
			}
			cl = stale
			req.AddCookie(&http.Cookie{Name: "sessfs_demo", Value: id})
		}
		resp, err := cl.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s %s: %v", method, req.URL, err)
			}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: %s", method, req.URL, resp.Status)
		}
	}
	do(http.MethodPost, false)
	for ctx.Err() == nil {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); do(http.MethodGet, false) }()
		}
		do(http.MethodGet, true)
		wg.Wait()
	}
}

type apiResponse struct {
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Data   json.RawMessage `json:"data"`
}

func apiGet(ctx context.Context, base, path string, q url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.Status, r.Error)
	}
	return r.Data, nil
}

// waitForData polls the instant queries until each has returned at least
// one sample, for at most a minute, then fails naming those that never
// did. A query Prometheus rejects fails at once.
func waitForData(ctx context.Context, t *testing.T, api string, queries map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pending := maps.Clone(queries)
	poll(ctx, t, "queries without data", func() (bool, string) {
		for name, query := range pending {
			data, err := apiGet(ctx, api, "/api/v1/query", url.Values{"query": {query}})
			if err != nil {
				if strings.Contains(err.Error(), "bad_data") {
					t.Fatalf("%s: Prometheus rejects %q: %v", name, query, err)
				}
				continue
			}
			var v struct {
				Result []json.RawMessage `json:"result"`
			}
			if json.Unmarshal(data, &v) == nil && len(v.Result) > 0 {
				delete(pending, name)
			}
		}
		var missing []string
		for name, query := range pending {
			missing = append(missing, fmt.Sprintf("\n\t%s: %s", name, query))
		}
		sort.Strings(missing)
		return len(pending) == 0, strings.Join(missing, "")
	})
}

// checkQuiet runs each of quietQueries once the others have data, and
// fails if Prometheus rejects one or one shows trouble: a sample other
// than 0 on the healthy cluster.
func checkQuiet(ctx context.Context, t *testing.T, api string, queries map[string]string) {
	t.Helper()
	for name, query := range queries {
		var v struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		}
		poll(ctx, t, name+": "+query, func() (bool, string) {
			data, err := apiGet(ctx, api, "/api/v1/query", url.Values{"query": {query}})
			if err != nil {
				if strings.Contains(err.Error(), "bad_data") {
					t.Fatalf("%s: Prometheus rejects %q: %v", name, query, err)
				}
				return false, err.Error()
			}
			if err := json.Unmarshal(data, &v); err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		for _, r := range v.Result {
			if r.Value[1] != "0" {
				t.Errorf("%s: %q shows %v for %v on a healthy cluster, want nothing or 0", name, query, r.Value[1], r.Metric)
			}
		}
	}
}

// checkRulesHealthy waits until every rule has been evaluated and checks
// that none failed.
func checkRulesHealthy(ctx context.Context, t *testing.T, api string) {
	t.Helper()
	poll(ctx, t, "every rule evaluated without error", func() (bool, string) {
		data, err := apiGet(ctx, api, "/api/v1/rules", nil)
		if err != nil {
			return false, err.Error()
		}
		var v struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range v.Groups {
			for _, r := range g.Rules {
				n++
				switch r.Health {
				case "ok":
				case "err":
					t.Fatalf("rule %s: %s", r.Name, r.LastError)
				default:
					return false, "rule " + r.Name + " not evaluated yet"
				}
			}
		}
		want := len(alertRe.FindAllString(read(t, rulesFile), -1)) + strings.Count(read(t, rulesFile), "- record:")
		return n == want, fmt.Sprintf("%d rules loaded, want %d", n, want)
	})
}

// poll calls f until it reports done or ctx ends; then it fails with f's
// last reason.
func poll(ctx context.Context, t *testing.T, what string, f func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, why := f()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %s", what, why)
		case <-tick.C:
		}
	}
}
