//go:build unix

package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessgc/internal/rekey"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/run"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/stats"
	"github.com/sessfs/sessfs/fsstore"
)

// Every field of the JSON that run, rekey and stats print, and every
// metric of the textfiles run and rekey write, is named in
// docs/operations.md, where operators look up what a script or an alert
// reads: a field added to an output without a word there, as stats'
// fields once were, fails here. The fields are read from what the
// commands print and from the types they print, so that one printed only
// now and then (omitempty: skip_reason, error, a lock holder's host) or
// on a line this run does not print is held too, where only those this
// run printed were. TestDocumentedMetricsExist holds the other direction
// for the metrics.
func TestOutputsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The sections that describe the outputs ("Reading the output",
	// "Monitoring ...", "Key rotation"), not the whole page: a name in a
	// code span elsewhere (`sessgc`, `locks`, a flag's example) says
	// nothing of a field.
	doc := string(b)
	start, end := strings.Index(doc, "\n## Reading the output\n"), strings.Index(doc, "\n## Exit codes\n")
	if start < 0 || end < start {
		t.Fatalf("docs/operations.md has no sections \"Reading the output\" ... \"Exit codes\" in that order")
	}
	doc = doc[start:end]

	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	saved := st.save(2)
	st.expire(saved[0])
	// A foreign file, for run -v's line of one: on Linux named in
	// Latin-1, for its path_base64.
	foreign := "notes"
	if runtime.GOOS == "linux" {
		foreign = "caf\xe9-notes"
	}
	writeFile(t, filepath.Join(filepath.Dir(st.path(saved[1])), foreign), "notes", old)
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
	for out, v := range map[string]any{"run": run.Summary{}, "rekey": rekey.Summary{}, "stats": stats.Report{}} {
		fields[out] = append(fields[out], jsonNames(reflect.TypeOf(v))...)
	}
	for _, want := range []string{"path_base64", "skip_reason", "error", "host", "rekey_lock_holder"} {
		if !slices.Contains(slices.Concat(fields["run"], fields["rekey"]), want) {
			t.Errorf("no output had the field %s: the check below would miss it", want)
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
				t.Errorf("%s: %s is not named in docs/operations.md, between \"Reading the output\" and \"Exit codes\": add it to the table of its output (`%s`)", out, name, name)
			}
		}
	}
	if n := len(fields["stats"]); n < 25 {
		t.Errorf("stats --json had only %d fields: %v", n, fields["stats"])
	}
}

// jsonNames returns the JSON names of the fields of the struct type t,
// those of embedded structs and of structs that are values of its fields
// (a lock holder's) included.
func jsonNames(t reflect.Type) []string {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		return jsonNames(t.Elem())
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-" || !f.IsExported():
			continue
		case f.Anonymous && tag == "":
			names = append(names, jsonNames(f.Type)...)
			continue
		case tag == "":
			tag = f.Name
		}
		names = append(names, tag)
		names = append(names, jsonNames(f.Type)...)
	}
	return names
}
