//go:build unix

package main_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/metrics/prom"
)

// metricNameRe matches what reads as a metric name of the project in
// prose or a query, with any namespace in front: a name spelled with
// another namespace than the documented one is reported too.
var metricNameRe = regexp.MustCompile(`\b[a-z_]*(?:sessfs|sessgc)_[a-z_]+`)

// notMetrics are prefixes of names that are no metrics: the fault build
// tags of docs/testing.md.
var notMetrics = []string{"sessfs_break_"}

// Every sessfs_* and sessgc_* name in the docs, the README and deploy/
// (rules, their tests, the dashboard, the Kubernetes manifests) is a
// metric that prom.New("") (the documented setup) or sessgc's textfiles
// produce: a renamed metric, or an example with another namespace, fails
// here rather than in an operator's alert that never fires.
func TestDocumentedMetricsExist(t *testing.T) {
	known := map[string]bool{}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.New(""))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		known[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[mf.GetName()+s] = true
			}
		}
	}

	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(2)
	tdir := t.TempDir()
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	for _, args := range [][]string{
		{"run", "--dir", st.dir, "-q", "--textfile", filepath.Join(tdir, "run.prom")},
		{"rekey", "--dir", st.dir, "--keys-file", keys, "-q", "--textfile", filepath.Join(tdir, "rekey.prom")},
	} {
		if r := runGC(t, args); r.code != 0 {
			t.Fatalf("sessgc %s: exit %d: %s", args[0], r.code, r.stderr)
		}
		for name := range promFile(t, args[len(args)-1], st.dir) {
			name, _, _ = strings.Cut(name, "{")
			known[name] = true
		}
	}

	root := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	err = filepath.WalkDir(filepath.Join(root, "deploy"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains([]string{".yml", ".yaml", ".json", ".md"}, filepath.Ext(p)) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
	names:
		for _, name := range metricNameRe.FindAllString(string(b), -1) {
			for _, p := range notMetrics {
				if strings.HasPrefix(name, p) {
					continue names
				}
			}
			seen++
			if !known[name] {
				rel, _ := filepath.Rel(root, f)
				t.Errorf("%s: %s is no metric of prom.New(\"\") or sessgc", rel, name)
			}
		}
	}
	if seen < 50 {
		t.Errorf("only %d metric names found in the docs and deploy/", seen)
	}
}
