//go:build unix

package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// Every field of the JSON that run, rekey and stats print, and every
// metric of the textfiles run and rekey write, is named in
// docs/operations.md, where operators look up what a script or an alert
// reads: a field added to an output without a word there, as stats'
// fields once were, fails here. TestDocumentedMetricsExist holds the
// other direction for the metrics.
func TestOutputsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)

	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.expire(st.save(2)[0])
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	tdir := t.TempDir()
	runProm, rekeyProm := filepath.Join(tdir, "run.prom"), filepath.Join(tdir, "rekey.prom")

	// Each output's field names, by the command that printed them.
	fields := map[string][]string{}
	for _, args := range [][]string{
		{"run", "--dir", st.dir, "--json", "-v", "--textfile", runProm},
		{"rekey", "--dir", st.dir, "--keys-file", keys, "--json", "--textfile", rekeyProm},
		{"stats", "--dir", st.dir, "--json"},
	} {
		r := runGC(t, args)
		if r.code != 0 {
			t.Fatalf("sessgc %s: exit %d: %s", args[0], r.code, r.stderr)
		}
		// run prints JSON lines; stats one indented object.
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		objects := 0
		for dec.More() {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("sessgc %s: %v in %q", args[0], err, r.stdout)
			}
			objects++
			for k := range m {
				fields[args[0]] = append(fields[args[0]], k)
			}
		}
		if objects == 0 {
			t.Fatalf("sessgc %s printed no JSON: %q", args[0], r.stdout)
		}
	}
	for _, p := range []string{runProm, rekeyProm} {
		for name := range promFile(t, p, st.dir) {
			name, _, _ = strings.Cut(name, "{")
			fields[filepath.Base(p)] = append(fields[filepath.Base(p)], name)
		}
	}

	for out, names := range fields {
		slices.Sort(names)
		for _, name := range slices.Compact(names) {
			// Named in prose or a table (`name`, or `name{labels}`), or
			// in a JSON example ("name":).
			if !strings.Contains(doc, "`"+name+"`") && !strings.Contains(doc, "`"+name+"{") &&
				!strings.Contains(doc, `"`+name+`":`) {
				t.Errorf("%s: %s is not named in docs/operations.md", out, name)
			}
		}
	}
	if n := len(fields["stats"]); n < 25 {
		t.Errorf("stats --json had only %d fields: %v", n, fields["stats"])
	}
}
