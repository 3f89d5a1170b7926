package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Each app server serves its own /metrics, outside the session middleware
// (a scrape sets no cookie and is not a store operation), and the
// supervisor lists the servers for Prometheus's HTTP service discovery.
// The real-Prometheus scrape of these is in the deploy package.
func TestClusterMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	proxy, _ := startCluster(t, 2)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post(t, client, proxy+"login")
	for range 3 {
		get(t, client, proxy)
	}

	// Through the proxy, a scrape would reach whichever server is next.
	resp, err := client.Get(proxy + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "/_targets") {
		t.Errorf("GET the proxy's /metrics: %d %.60q; want 404 pointing to /_targets", resp.StatusCode, body)
	}

	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(get(t, client, proxy+"_targets")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 {
		t.Fatalf("_targets lists %d groups, want 2: %+v", len(groups), groups)
	}
	saves := 0.0
	for _, g := range groups {
		if len(g.Targets) != 1 || g.Labels["server"] == "" {
			t.Fatalf("target group %+v: want one target and a server label", g)
		}
		resp, err := http.Get("http://" + g.Targets[0] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("server %s: /metrics set a cookie: %s", g.Labels["server"], c)
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("server %s: /metrics: %v", g.Labels["server"], err)
		}
		for _, name := range []string{"sessfs_operations_total", "sessfs_operation_duration_seconds", "sessfs_payload_bytes_total", "sessfs_breaker_open", "sessfs_read_only_fs"} {
			if fams[name] == nil {
				t.Errorf("server %s: no %s", g.Labels["server"], name)
			}
		}
		for _, m := range fams["sessfs_operations_total"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == "save" && labels["outcome"] == "ok" {
				saves += m.GetCounter().GetValue()
			}
			if strings.HasPrefix(labels["op"], "Op(") || strings.HasPrefix(labels["outcome"], "Outcome(") {
				t.Errorf("server %s: unnamed label %v", g.Labels["server"], labels)
			}
		}
	}
	// The log in creates the session (a save under a fresh ID); the
	// redirect after it and the three reloads are counted visits, each a
	// save.
	if saves != 5 {
		t.Errorf("sessfs_operations_total{op=save,outcome=ok} summed over the servers = %v, want 5", saves)
	}
}
