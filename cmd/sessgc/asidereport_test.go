//go:build unix

package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAsideRemovalReportedByItsOwnPath: a copy a sweep left aside
// (.tmp-gc-<name>) that is removed while a live record holds its name
// (the copy expired, or is no record at all: a file too damaged to read
// as one) is reported by its own path, as the removal of the session it
// was a copy of: the run reported the removal of "session …/<name>",
// the path of the record that is there, and live.
func TestAsideRemovalReportedByItsOwnPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		copy func(rec []byte) []byte
	}{
		{"an expired copy", func(rec []byte) []byte { return rec }},
		{"no record", func([]byte) []byte { return []byte("not a record") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			live := st.save(1)
			p := st.path(live[0])
			rec, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			writeFile(t, aside, string(tc.copy(rec)), old)
			for _, dry := range []bool{true, false} {
				args := []string{"run", "--dir", st.dir, "--json", "-v"}
				if dry {
					args = append(args, "--dry-run")
				}
				r := runGC(t, args)
				var events []string
				for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
					var ev struct{ Event, Path, Kind string }
					if err := json.Unmarshal([]byte(l), &ev); err != nil {
						t.Fatalf("not JSON: %q", l)
					}
					if ev.Event != "summary" {
						events = append(events, ev.Event+" "+ev.Kind+" "+ev.Path)
					}
				}
				_, s := summary(t, r)
				want := "would-remove session " + aside
				if !dry {
					want = "remove session " + aside
				}
				if r.code != 0 || len(events) != 1 || events[0] != want || s.Sessions != 1 || s.Live != 1 {
					t.Errorf("%v: exit %d, events %q, %d sessions, %d live; want exit 0, [%q], 1 session, 1 live", args, r.code, events, s.Sessions, s.Live, want)
				}
			}
			if !st.exists(live[0]) || exists(aside) {
				t.Errorf("the live record there: %v, the copy aside there: %v; want true, false", st.exists(live[0]), exists(aside))
			}
		})
	}
}
