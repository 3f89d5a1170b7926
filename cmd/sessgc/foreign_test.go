//go:build unix

package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestVerboseListsForeignFiles: what the sweep leaves alone as not the
// store's (an editor's backup or swap file, an NFS client's .nfs file, a
// name of the wrong length or not hex, a file too short to be a record,
// a directory or a symlink where a record would be, a file at the top of
// data/) is listed by path with -v, --dry-run and --json, once each, and
// run's summary and stats say how to list them. The run said "left 10
// foreign files alone" on every run, for ever, with no way to find which
// but a walk of the store by hand. None is removed.
func TestVerboseListsForeignFiles(t *testing.T) {
	st := newStore(t)
	live := st.save(1)
	exp := st.save(1)
	st.expire(exp...)
	p := st.path(live[0])
	shard, name := filepath.Dir(p), filepath.Base(p)
	rec, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Other names of a record's form in its shard, none the live one's.
	others := strings.ReplaceAll("0123", name[31:], "4")
	other := func(i int) string { return name[:31] + others[i:i+1] }
	var foreign []string
	add := func(p string) string { foreign = append(foreign, p); return p }
	for _, n := range []string{name + "~", "." + name + ".swp", ".nfs000000000000abcd00000001", name[:30], name + "00", name[:31] + "z"} {
		writeFile(t, add(filepath.Join(shard, n)), string(rec), old)
	}
	writeFile(t, add(filepath.Join(shard, other(0))), "short", old) // a record's name, too short for one
	if err := os.Mkdir(add(filepath.Join(shard, other(1))), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), add(filepath.Join(shard, other(2)))); err != nil {
		t.Fatal(err)
	}
	writeFile(t, add(filepath.Join(st.dir, fsstore.DataDir, "README")), "notes", old)
	slices.Sort(foreign)
	// Listed whole: each name is a record's, the store's own naming (a
	// hash of an ID, no ID), or holds one in its shard, where hiding it
	// as a foreign store's ID (TestForeignFileIDsNotPrinted) listed five
	// files of one shard alike, as ab/…, and the operator told to move
	// the file out could not tell which.
	shown := foreign
	listed := func(r result, prefix string) []string {
		var got []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if after, ok := strings.CutPrefix(l, prefix); ok {
				got = append(got, strings.Fields(after)[0])
			}
		}
		slices.Sort(got)
		return got
	}
	r := runGC(t, []string{"run", "--dir", st.dir})
	if r.code != 0 || !strings.Contains(r.stdout, "left 10 foreign files alone (-v lists them)") {
		t.Errorf("run: exit %d, stdout %q; want 0 and %q", r.code, r.stdout, "left 10 foreign files alone (-v lists them)")
	}
	if r := runGC(t, []string{"stats", "--dir", st.dir}); r.code != 0 || !strings.Contains(r.stdout, "foreign   10 files (never removed; sessgc run --dry-run lists them)") {
		t.Errorf("stats: exit %d, stdout %q; want 0 and a word of how to list the 10 foreign files", r.code, r.stdout)
	}
	for _, args := range [][]string{{"--dry-run"}, {"-v"}} {
		r := runGC(t, append([]string{"run", "--dir", st.dir}, args...))
		if got := listed(r, "left foreign file "); r.code != 0 || !slices.Equal(got, shown) {
			t.Errorf("run %v: exit %d, listed %v; want %v\nstdout: %s", args, r.code, got, shown, r.stdout)
		}
		if strings.Contains(r.stdout, "(-v lists them)") {
			t.Errorf("run %v: the summary says -v lists them, which it just did", args)
		}
	}
	r = runGC(t, []string{"run", "--dir", st.dir, "--json", "-v"})
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct{ Event, Path string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if ev.Event == "foreign" {
			got = append(got, ev.Path)
		}
	}
	slices.Sort(got)
	if r.code != 0 || !slices.Equal(got, shown) {
		t.Errorf("run --json -v: exit %d, foreign events %v; want %v", r.code, got, shown)
	}
	for _, f := range foreign {
		if !exists(f) {
			t.Errorf("%s removed", f)
		}
	}
	if st.exists(exp[0]) || !st.exists(live[0]) {
		t.Errorf("expired session there: %v, live one there: %v; want false, true", st.exists(exp[0]), st.exists(live[0]))
	}
}

// TestOddNamesQuoted: a file whose name holds a line break or a
// terminal's escape sequence is listed by -v on one line, its path
// quoted, where its name went out as it is: a name ending in a line break
// and "removed session ..." added a line that said a removal no run
// made, and an escape sequence went to the operator's terminal. A foreign
// file is left alone; a temp file's name is a writer's, whoever wrote it,
// and one abandoned is removed.
func TestOddNamesQuoted(t *testing.T) {
	for _, tt := range []struct {
		name, prefix string
		listed, tail string // its line, before and after the quoted path
		removed      bool
		shown        func(string) string // its name as listed
	}{
		// A foreign file's name without the runs of ID characters in it
		// (TestForeignFileIDsNotPrinted), but for a record's name in its
		// shard, the store's own (TestVerboseListsForeignFiles): here
		// whole. A temp file's is the store's.
		{"foreign file", "notes", "left foreign file ", " alone", false, func(n string) string { return n }},
		{"temp file", ".tmp-x", "removed temp ", " (", true, func(n string) string { return n }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			live := st.save(1)
			shard := filepath.Dir(st.path(live[0]))
			odd := filepath.Join(shard, tt.prefix+"\nremoved session "+filepath.Base(st.path(live[0]))+" (1 B, idle 48h0m0s)\x1b[2J\x9b")
			writeFile(t, odd, "partial", old)
			r := runGC(t, []string{"run", "--dir", st.dir, "-v"})
			var listed []string
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, "removed session ") || strings.Contains(l, "\x1b") {
					t.Errorf("a line of the %s's name went out as sessgc's own: %q", tt.name, l)
				}
				if strings.HasPrefix(l, tt.listed) {
					listed = append(listed, l)
				}
			}
			if want := tt.listed + strconv.Quote(filepath.Join(shard, tt.shown(filepath.Base(odd)))) + tt.tail; r.code != 0 || len(listed) != 1 || !strings.HasPrefix(listed[0], want) {
				t.Errorf("exit %d, listed %q; want 0 and one line starting %q\nstdout: %s", r.code, listed, want, r.stdout)
			}
			if exists(odd) == tt.removed || !st.exists(live[0]) {
				t.Errorf("the %s there: %v, the live record: %v; want %v, true", tt.name, exists(odd), st.exists(live[0]), !tt.removed)
			}
		})
	}
}
