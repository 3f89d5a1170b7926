package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
)

const (
	rulesFile     = "prometheus/sessfs-rules.yml"
	rulesTestFile = "prometheus/sessfs-rules.test.yml"
	dashboardFile = "grafana/sessfs-dashboard.json"
)

// tool returns the path of a Prometheus binary, or skips the test.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Skip(t, testenv.Prometheus, "%s not found (Debian package prometheus): %v", name, err)
	}
	return p
}

// TestPromtool checks the rules and runs their unit tests with promtool.
func TestPromtool(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", rulesFile},
		{"test", "rules", rulesTestFile},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			out, err := exec.Command(promtool, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

var (
	alertRe    = regexp.MustCompile(`(?m)^\s*- alert: (\w+)$`)
	runbookRe  = regexp.MustCompile(`runbook_url: "https://github\.com/sessfs/sessfs/blob/main/(docs/[\w-]+\.md)#([\w-]+)"`)
	quietRe    = regexp.MustCompile(`(?m)alertname: (\w+)\n\s*exp_alerts: \[\]$`)
	firingRe   = regexp.MustCompile(`(?m)alertname: (\w+)\n\s*exp_alerts:\n\s*- exp_labels:`)
	headingRe  = regexp.MustCompile(`(?m)^#+ (.+)$`)
	slugDropRe = regexp.MustCompile("[^a-z0-9 _-]")
)

// Every alert has a unit test in which it fires and one in which it does
// not, and a runbook link to a section that exists.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	rules := read(t, rulesFile)
	tests := read(t, rulesTestFile)
	alerts := names(alertRe, rules)
	if len(alerts) == 0 {
		t.Fatal("no alerts found")
	}
	quiet, firing := names(quietRe, tests), names(firingRe, tests)
	for _, a := range alerts {
		if !slices.Contains(firing, a) {
			t.Errorf("%s: no unit test in which it fires", a)
		}
		if !slices.Contains(quiet, a) {
			t.Errorf("%s: no unit test in which it does not fire", a)
		}
	}
	links := runbookRe.FindAllStringSubmatch(rules, -1)
	if len(links) != len(alerts) {
		t.Errorf("%d runbook links of the expected form for %d alerts", len(links), len(alerts))
	}
	for _, l := range links {
		doc, anchor := l[1], l[2]
		if !slices.Contains(anchors(t, filepath.Join("..", doc)), anchor) {
			t.Errorf("runbook %s#%s: no such section", doc, anchor)
		}
	}
}

var (
	// scrapeIntervalRe finds the scrape interval the operator guide asks
	// for.
	scrapeIntervalRe = regexp.MustCompile("`scrape_interval: ([0-9]+)([smh])`")
	// windowRe matches a range of a query: [5m], and a subquery's [7d:1h].
	windowRe = regexp.MustCompile(`\[([0-9]+)([smhdw])(?::[0-9]+[smhdw])?\]`)
	units    = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
)

// TestRuleWindowsHoldTwoScrapes: the operator guide says how often to
// scrape, and every range of the rules holds two scrapes at that interval:
// a rate or increase over a range with one sample returns nothing, and its
// alert never fires. The guide said nothing, and SessfsStoreUnavailable's
// 2-minute window, scraped every 2 minutes, never fired.
func TestRuleWindowsHoldTwoScrapes(t *testing.T) {
	m := scrapeIntervalRe.FindStringSubmatch(read(t, filepath.Join("..", "docs", "operator-guide.md")))
	if m == nil {
		t.Fatalf("docs/operator-guide.md asks for no scrape interval (%s)", scrapeIntervalRe)
	}
	n, _ := strconv.Atoi(m[1])
	scrape := time.Duration(n) * units[m[2]]
	found := 0
	for i, l := range strings.Split(read(t, rulesFile), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		for _, w := range windowRe.FindAllStringSubmatch(l, -1) {
			found++
			n, _ := strconv.Atoi(w[1])
			if d := time.Duration(n) * units[w[2]]; d < 2*scrape {
				t.Errorf("%s:%d: range %s holds fewer than two scrapes %s apart (docs/operator-guide.md)", rulesFile, i+1, w[0], scrape)
			}
		}
	}
	if found == 0 {
		t.Error("no range found in the rules")
	}
}

func names(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// anchors returns the GitHub anchors of a Markdown file's headings.
// A "# comment" line of a fenced code block is no heading: a runbook link
// to it would find no section (the guide's shell blocks have such lines).
func anchors(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	fenced := false
	for _, l := range strings.Split(read(t, path), "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		m := headingRe.FindStringSubmatch(l)
		if fenced || m == nil {
			continue
		}
		s := slugDropRe.ReplaceAllString(strings.ToLower(strings.TrimSpace(m[1])), "")
		out = append(out, strings.ReplaceAll(s, " ", "-"))
	}
	return out
}

// TestAnchorsLeaveCodeOut: anchors takes the guide's headings, not the
// comment lines of its shell blocks.
func TestAnchorsLeaveCodeOut(t *testing.T) {
	got := anchors(t, filepath.Join("..", "docs", "operator-guide.md"))
	if !slices.Contains(got, "sessgc-metrics-missing-on-a-host") {
		t.Errorf("anchors: no sessgc-metrics-missing-on-a-host in %q", got)
	}
	for _, a := range got {
		if strings.HasPrefix(a, "what-node-exporter-reads") {
			t.Errorf("anchors: %q, a comment of a shell block", a)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dashboard is the part of Grafana's dashboard model the tests check.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Mappings   []any  `json:"mappings"`
			Thresholds *struct {
				Mode  string `json:"mode"`
				Steps []struct {
					Color string   `json:"color"`
					Value *float64 `json:"value"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options string `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

// unitOf returns the unit the panel shows the target refID in: its
// override's, or the panel's default.
func (p panel) unitOf(refID string) string {
	unit := p.FieldConfig.Defaults.Unit
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byFrameRefID" || o.Matcher.Options != refID {
			continue
		}
		for _, pr := range o.Properties {
			if u, ok := pr.Value.(string); ok && pr.ID == "unit" {
				unit = u
			}
		}
	}
	return unit
}

// loadDashboard parses the dashboard and checks its structure: unique
// panel IDs, every non-row panel on the Prometheus data source variable
// with at least one target, each with a query and a distinct refId, and
// panels inside the 24-column grid without overlapping.
func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(read(t, dashboardFile)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("dashboard uid %q, title %q, schemaVersion %d: all required", d.UID, d.Title, d.SchemaVersion)
	}
	ids := map[int]bool{}
	type cell struct{ x, y int }
	used := map[cell]int{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panel %q overlaps panel %d at (%d,%d)", p.Title, other, x, y)
					x, y = g.X+g.W, g.Y+g.H
				}
				used[cell{x, y}] = p.ID
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the prometheus ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no targets", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: target %q with refId %q: want a query and a distinct refId", p.Title, tg.Expr, tg.RefID)
			}
			refs[tg.RefID] = true
		}
	}
	return d
}

// dashboardQueries returns every query of the dashboard (panel targets and
// template variables) with Grafana's variables replaced, ready for
// Prometheus, named for error messages.
func dashboardQueries(t *testing.T, d dashboard, rateInterval string) map[string]string {
	t.Helper()
	vars := strings.NewReplacer("$__rate_interval", rateInterval, "$job", ".+", "$instance", ".+", "$dir", ".+")
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = vars.Replace(tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		// label_values(selector, label) lists the label's values on the
		// selector's series.
		m := regexp.MustCompile(`^label_values\((\w+(?:\{[^}]*\})?), (\w+)\)$`).FindStringSubmatch(vars.Replace(v.Definition))
		if m == nil {
			t.Errorf("variable %s: definition %q is not label_values(selector, label)", v.Name, v.Definition)
			continue
		}
		out["variable "+v.Name] = fmt.Sprintf("count by (%s) (%s)", m[2], m[1])
	}
	for name, q := range out {
		if strings.Contains(q, "$") {
			t.Errorf("%s: unknown variable left in %q", name, q)
		}
	}
	return out
}

// quietQueries are the dashboard's queries (as dashboardQueries gives
// them) that a healthy fleet leaves empty or at 0, of metrics that
// sessfs and sessgc do not export: TestScrapeEndToEnd, which runs no
// node-exporter, requires them to run and show no trouble, where it
// requires every other query to return data.
var quietQueries = []string{
	// node-exporter's, per host: 1 while it cannot read a textfile (or
	// list their directory).
	`max by (instance) (node_textfile_scrape_error) > 0`,
}

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	qs := dashboardQueries(t, d, "1m")
	if len(qs) < 10 {
		t.Errorf("only %d queries", len(qs))
	}
	for name, q := range qs {
		if !metricRe.MatchString(q) && !slices.Contains(quietQueries, q) {
			t.Errorf("%s: %q queries no sessfs or sessgc metric, and is not in quietQueries", name, q)
		}
	}
	for _, q := range quietQueries {
		if !slices.Contains(slices.Collect(maps.Values(qs)), q) {
			t.Errorf("quietQueries: %q is no dashboard query", q)
		}
	}
}

// selectorRe matches a selector of a metric the project exports in a
// query: its name (group 1, up to its first underscore in group 2) and its
// label matchers, if any (group 3).
var selectorRe = regexp.MustCompile(`\b((sessfs|sessgc)_[a-z_]+)\b(\{[^}]*\})?`)

// TestDashboardScope: every selector of a panel keeps to what the
// dashboard's variables pick, so that an operator paged for one host sees
// that host, and two applications (or two stores) on one Prometheus are
// not added up: the application's metrics to the jobs and instances picked
// ($job, and $instance, whose values are those of the jobs picked), and
// sessgc's to the stores picked ($dir). The panels of application metrics
// had no instance variable: a host that lost its locks or failed its
// writes was summed with the rest of its job.
func TestDashboardScope(t *testing.T) {
	d := loadDashboard(t)
	defs := map[string]string{}
	for _, v := range d.Templating.List {
		defs[v.Name] = v.Definition
	}
	for _, name := range []string{"datasource", "job", "instance", "dir"} {
		if _, ok := defs[name]; !ok {
			t.Errorf("no template variable %s", name)
		}
	}
	if def := defs["instance"]; !strings.Contains(def, `job=~"$job"`) {
		t.Errorf("variable instance: definition %q does not keep to the jobs picked ($job)", def)
	}
	want := map[string][]string{
		"sessfs": {`job=~"$job"`, `instance=~"$instance"`},
		"sessgc": {`dir=~"$dir"`},
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range selectorRe.FindAllStringSubmatch(tg.Expr, -1) {
				for _, matcher := range want[m[2]] {
					if !strings.Contains(m[3], matcher) {
						t.Errorf("panel %q target %s: %s%s without %s", p.Title, tg.RefID, m[1], m[3], matcher)
					}
				}
			}
		}
	}
}

// TestDashboardUnits: a series whose legend says it is bytes is shown in
// bytes, not in its panel's other unit (a count, or bytes per second for
// a mean size beside a throughput).
func TestDashboardUnits(t *testing.T) {
	for _, p := range loadDashboard(t).Panels {
		for _, tg := range p.Targets {
			if !strings.Contains(strings.ToLower(tg.LegendFormat), "bytes") {
				continue
			}
			if u := p.unitOf(tg.RefID); u != "bytes" && u != "decbytes" {
				t.Errorf("panel %q: series %q (%s) shown in unit %q, want bytes", p.Title, tg.LegendFormat, tg.RefID, u)
			}
		}
	}
}

// countedRe matches the gauges that count a process's stores in a state
// (stores may share one Observer), so that 2 is two of them.
var countedRe = regexp.MustCompile(`\bsessfs_(?:breaker_open|read_only_fs|keys_file_unapplied|newest_key_behind)\b`)

// TestDashboardCounts: a panel of a gauge that counts stores shows the
// count, not on/off (Grafana's bool units show 2 as "On", like 1), maps no
// value to a text, and colours 1 unlike 0 (without thresholds of its own
// a stat panel turns red only at 80).
func TestDashboardCounts(t *testing.T) {
	n := 0
	for _, p := range loadDashboard(t).Panels {
		counted := false
		for _, tg := range p.Targets {
			counted = counted || countedRe.MatchString(tg.Expr)
		}
		if !counted {
			continue
		}
		n++
		d := p.FieldConfig.Defaults
		if strings.HasPrefix(d.Unit, "bool") {
			t.Errorf("panel %q: unit %q shows a count of stores as on/off", p.Title, d.Unit)
		}
		if len(d.Mappings) != 0 {
			t.Errorf("panel %q: value mappings %v hide a count of stores", p.Title, d.Mappings)
		}
		colour := func(v float64) string {
			c := ""
			if d.Thresholds == nil || d.Thresholds.Mode != "absolute" {
				return c
			}
			for _, st := range d.Thresholds.Steps {
				if st.Value == nil || *st.Value <= v {
					c = st.Color
				}
			}
			return c
		}
		if colour(0) == "" || colour(1) == colour(0) || colour(2) != colour(1) {
			t.Errorf("panel %q: absolute thresholds colour 0, 1 and 2 %q, %q and %q; want 1 and 2 alike, unlike 0", p.Title, colour(0), colour(1), colour(2))
		}
	}
	if n == 0 {
		t.Error("no panel shows a counted gauge")
	}
}

// metricRe matches the selectors of the project's metrics (and recording
// rules) inside a query: name and optional label matchers.
var metricRe = regexp.MustCompile(`\b(?:sessfs|sessgc)[:_][a-z_:]+(?:\{[^}]*\})?`)

// rawMetricRe matches the name of a metric the project exports (not a
// recording rule's, which has colons), or node-exporter's that the rules
// read.
var rawMetricRe = regexp.MustCompile(`\b(?:sessfs|sessgc|node)_[a-z_]+\b`)

// TestDashboardShowsWhatAlertsWatch: every metric the rules read is in a
// dashboard query, so that an operator paged by an alert finds on the
// dashboard which host it is and since when. sessfs_keys_file_unapplied
// and sessgc_store_missing had alerts and no panel, and so had
// node-exporter's node_textfile_scrape_error (SessgcTextfileUnread).
// Comment lines are left out; a metric a description names is one the
// alert is about.
func TestDashboardShowsWhatAlertsWatch(t *testing.T) {
	var rules strings.Builder
	for _, l := range strings.Split(read(t, rulesFile), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			rules.WriteString(l + "\n")
		}
	}
	var queries strings.Builder
	for _, q := range dashboardQueries(t, loadDashboard(t), "1m") {
		queries.WriteString(q + "\n")
	}
	shown := rawMetricRe.FindAllString(queries.String(), -1)
	watched := rawMetricRe.FindAllString(rules.String(), -1)
	if len(watched) == 0 {
		t.Fatal("no metric found in the rules")
	}
	for _, m := range watched {
		if !slices.Contains(shown, m) {
			t.Errorf("%s: read by the rules, on no dashboard panel", m)
			shown = append(shown, m) // once
		}
	}
}

// TestQuietQueriesReadWhatRulesRead: a query in quietQueries passes the
// scrape test empty, so a misspelt metric name in it would too; each
// metric it reads must be one the rules read (outside comments) and their
// unit tests feed, whose names promtool's tests hold to the alerts'.
func TestQuietQueriesReadWhatRulesRead(t *testing.T) {
	var rules strings.Builder
	for _, l := range strings.Split(read(t, rulesFile), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			rules.WriteString(l + "\n")
		}
	}
	watched := rawMetricRe.FindAllString(rules.String(), -1)
	fed := rawMetricRe.FindAllString(read(t, rulesTestFile), -1)
	for _, q := range quietQueries {
		ms := rawMetricRe.FindAllString(q, -1)
		if len(ms) == 0 {
			t.Errorf("quietQueries: %q reads no metric the rules could read", q)
		}
		for _, m := range ms {
			if !slices.Contains(watched, m) || !slices.Contains(fed, m) {
				t.Errorf("quietQueries: %q reads %s, which the rules do not read or their tests do not feed: a misspelt name returns nothing, as a quiet query should", q, m)
			}
		}
	}
}
