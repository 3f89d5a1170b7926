//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// promFile parses a textfile with the Prometheus text parser, checks that
// every family is a documented gauge with help and that every sample
// carries dir=wantDir, and returns each sample's value keyed by name and
// non-dir labels ("sessgc_removed_files{kind=session}").
func promFile(t *testing.T, path, wantDir string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		b, _ := os.ReadFile(path)
		t.Fatalf("textfile does not parse: %v\n%s", err, b)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		if fam.GetType() != dto.MetricType_GAUGE || fam.GetHelp() == "" {
			t.Errorf("%s: type %v, help %q; want a gauge with help", name, fam.GetType(), fam.GetHelp())
		}
		for _, m := range fam.GetMetric() {
			key, dir := name, ""
			var extra []string
			for _, l := range m.GetLabel() {
				if l.GetName() == "dir" {
					dir = l.GetValue()
					continue
				}
				extra = append(extra, l.GetName()+"="+l.GetValue())
			}
			if len(extra) > 0 {
				key += "{" + strings.Join(extra, ",") + "}"
			}
			if dir != wantDir {
				t.Errorf("%s: dir label %q, want %q", key, dir, wantDir)
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// checkValues compares the metrics with want.
func checkValues(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
}

// onlyFile checks that dir holds nothing but the textfile: no temp file
// was left behind.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("textfile directory holds %v, want only %s", names, name)
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestTextfileRun(t *testing.T) {
	st := newStore(t)
	ids := st.save(5)
	st.expire(ids[:3]...)
	tdir := t.TempDir()
	prom := filepath.Join(tdir, "sessgc.prom")

	before := time.Now()
	r := runGC(t, []string{"run", "--dir", st.dir, "-q", "--textfile", prom})
	after := time.Now()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := promFile(t, prom, st.dir)
	checkValues(t, got, map[string]float64{
		"sessgc_last_run_success":            1,
		"sessgc_last_run_exit_code":          0,
		"sessgc_fleet_lock_held":             0,
		"sessgc_store_missing":               0,
		"sessgc_stopped_early":               0,
		"sessgc_scanned_files":               5,
		"sessgc_live_sessions":               2,
		"sessgc_live_bytes":                  float64(st.sizes(ids[3:]...)),
		"sessgc_removed_files{kind=session}": 3,
		"sessgc_removed_files{kind=temp}":    0,
		"sessgc_removed_files{kind=lease}":   0,
		"sessgc_skipped_locked":              0,
		"sessgc_skipped_renewed":             0,
		"sessgc_restored_sessions":           0,
		"sessgc_foreign_files":               0,
		"sessgc_errors":                      0,
	})
	for _, k := range []string{"sessgc_removed_bytes", "sessgc_last_run_duration_seconds"} {
		if got[k] <= 0 {
			t.Errorf("%s = %v, want > 0", k, got[k])
		}
	}
	// The timestamp is the end of the run: between our clock readings.
	if ts := got["sessgc_last_run_timestamp_seconds"]; ts < float64(before.Unix()) || ts > float64(after.Unix()+1) {
		t.Errorf("sessgc_last_run_timestamp_seconds %v not within the run [%d, %d]", ts, before.Unix(), after.Unix())
	}
	if len(got) != 19 {
		t.Errorf("%d samples, want 19: %v", len(got), got)
	}
	if fi, err := os.Stat(prom); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("textfile mode %v (%v), want 0644 for node-exporter", fi.Mode().Perm(), err)
	}
	onlyFile(t, tdir, "sessgc.prom")

	// The next run replaces the file by rename (a new inode), never in
	// place, so node-exporter never reads half a file. A skipped run
	// (another host holds the fleet lock) also writes it, from the env.
	ino := inode(t, prom)
	l, err := lock.TryLockFile(filepath.Join(st.dir, fsstore.LockDir, ".sessgc"))
	if err != nil {
		t.Fatal(err)
	}
	r = runGC(t, []string{"run", "-q"}, "SESSGC_DIR="+st.dir, "SESSGC_TEXTFILE="+prom)
	l.Unlock()
	if r.code != 0 {
		t.Fatalf("skipped run: exit %d: %s", r.code, r.stderr)
	}
	if inode(t, prom) == ino {
		t.Error("textfile rewritten in place, not replaced")
	}
	checkValues(t, promFile(t, prom, st.dir), map[string]float64{
		"sessgc_last_run_success": 1, "sessgc_fleet_lock_held": 1, "sessgc_store_missing": 0, "sessgc_scanned_files": 0,
		"sessgc_removed_files{kind=session}": 0,
	})
	onlyFile(t, tdir, "sessgc.prom")

	// A dry run leaves it alone.
	ino = inode(t, prom)
	if r := runGC(t, []string{"run", "--dir", st.dir, "-n", "--textfile", prom}); r.code != 0 || inode(t, prom) != ino {
		t.Errorf("dry run: exit %d, textfile replaced %v", r.code, inode(t, prom) != ino)
	}

	// A failed run is recorded too.
	missing := filepath.Join(t.TempDir(), "gone")
	if r := runGC(t, []string{"run", "--dir", missing, "-q", "--textfile", prom}); r.code != 3 {
		t.Fatalf("missing store: exit %d", r.code)
	}
	checkValues(t, promFile(t, prom, missing), map[string]float64{
		"sessgc_last_run_success": 0, "sessgc_last_run_exit_code": 3, "sessgc_scanned_files": 0,
		"sessgc_store_missing": 0,
	})

	// With --missing-ok (here from the environment) it is a successful
	// run that did nothing: not a fleet-lock skip, which alerts when it
	// lasts.
	ino = inode(t, prom)
	if r := runGC(t, []string{"run", "--dir", missing, "-q", "--textfile", prom}, "SESSGC_MISSING_OK=true"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("missing store, --missing-ok: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if inode(t, prom) == ino {
		t.Error("textfile not replaced after a no-store run")
	}
	got = promFile(t, prom, missing)
	checkValues(t, got, map[string]float64{
		"sessgc_last_run_success": 1, "sessgc_last_run_exit_code": 0, "sessgc_store_missing": 1,
		"sessgc_fleet_lock_held": 0, "sessgc_stopped_early": 0, "sessgc_scanned_files": 0,
		"sessgc_removed_files{kind=session}": 0, "sessgc_errors": 0,
	})
	if len(got) != 19 {
		t.Errorf("no-store run: %d samples, want 19: %v", len(got), got)
	}
	if exists(missing) {
		t.Error("a no-store run created the store directory")
	}
	onlyFile(t, tdir, "sessgc.prom")
}

func TestTextfileRekey(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(6)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	tdir := t.TempDir()
	prom := filepath.Join(tdir, "sessgc-rekey.prom")
	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "-q", "--textfile", prom})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := promFile(t, prom, st.dir)
	checkValues(t, got, map[string]float64{
		"sessgc_rekey_last_run_success":   1,
		"sessgc_rekey_last_run_exit_code": 0,
		"sessgc_rekey_key_id":             2,
		"sessgc_rekey_fleet_lock_held":    0,
		"sessgc_rekey_stopped_early":      0,
		"sessgc_rekey_scanned_records":    6,
		"sessgc_rekey_rekeyed_records":    6,
		"sessgc_rekey_up_to_date_records": 0,
		"sessgc_rekey_errors":             0,
	})
	if got["sessgc_rekey_last_run_timestamp_seconds"] <= 0 {
		t.Errorf("no timestamp: %v", got)
	}
	onlyFile(t, tdir, "sessgc-rekey.prom")

	// Records under a key left out of the set: exit 1, recorded.
	k3 := newKey(t, 3)
	deployKeys(t, st.dir, k3)
	r = runGC(t, []string{"rekey", "--dir", st.dir, "--rate", "0", "-q", "--textfile", prom}, "SESSGC_KEYS="+k3.SecretLine())
	if r.code != 1 || !strings.Contains(r.stderr, "keep the old keys") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	checkValues(t, promFile(t, prom, st.dir), map[string]float64{
		"sessgc_rekey_last_run_success": 0, "sessgc_rekey_last_run_exit_code": 1, "sessgc_rekey_errors": 6,
		"sessgc_rekey_key_id": 3,
	})
}

// TestTextfileLabelEscaping: a store path with a quote and a backslash
// still yields a parseable file whose dir label is the path.
func TestTextfileLabelEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), `we"ird\dir`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	prom := filepath.Join(t.TempDir(), "x.prom")
	if r := runGC(t, []string{"run", "--dir", dir, "-q", "--textfile", prom}); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	checkValues(t, promFile(t, prom, dir), map[string]float64{"sessgc_last_run_success": 1})
}

func TestTextfileBadPath(t *testing.T) {
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	tdir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tdir, "blocked.prom", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		msg  string
	}{
		{"missing directory", filepath.Join(tdir, "nope", "sessgc.prom"), "no such file"},
		{"not .prom", filepath.Join(tdir, "sessgc.txt"), "ending in .prom"},
		// The rename after the pass would fail on it, as it did (exit 1)
		// once every session was swept.
		{"a directory", filepath.Join(tdir, "blocked.prom"), "blocked.prom is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGC(t, []string{"run", "--dir", st.dir, "--textfile", tc.path})
			if r.code != 2 || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.msg)
			}
			if !st.exists(ids[0]) {
				t.Fatal("the sweep ran despite the usage error")
			}
		})
	}
	// A textfile that cannot be replaced after the pass all the same (a
	// directory took its path meanwhile) fails the run with exit 1 once
	// the sweep is done: see the run package's TestRunTextfileFailsAfterPass.
	if ents, _ := os.ReadDir(tdir); len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}
}

// stickyTextfile makes a directory with the sticky bit, open to all and
// owned by dirUID, holding a textfile owned by fileUID, and returns the
// textfile's path.
func stickyTextfile(t *testing.T, dirUID, fileUID int) string {
	t.Helper()
	tdir := filepath.Join(t.TempDir(), "textfile")
	if err := os.Mkdir(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tdir, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	openUp(t, filepath.Dir(tdir))
	prom := filepath.Join(tdir, "sessgc.prom")
	if err := os.WriteFile(prom, []byte("# another user's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tdir, prom} {
		uid := fileUID
		if p == tdir {
			uid = dirUID
		}
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	return prom
}

// TestTextfileOfAnotherUserInStickyDirectory: a --textfile that another
// user owns, in a directory with the sticky bit that this user may create
// files in but does not own (a shared 1777 directory), is a usage error
// before the pass (exit 2, nothing swept): the rename over it after the
// pass fails with EPERM, and the run exited 1 with the sweep done and the
// metrics stale. Needs root, to run sessgc as another user.
func TestTextfileOfAnotherUserInStickyDirectory(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to own the textfile and run sessgc as another user")
	}
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	chownTree(t, st.dir, 65534, 65534)
	openUp(t, filepath.Dir(st.dir))
	prom := stickyTextfile(t, 0, 0)
	tdir := filepath.Dir(prom)

	cmd := command([]string{"run", "--dir", st.dir, "--textfile", prom})
	asUnprivileged(cmd)
	r := runCmd(t, cmd)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--textfile "+prom+" belongs to uid 0, in "+tdir+", a directory with the sticky bit") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 before the pass, saying the file is another user's in a sticky directory", r.code, r.stdout, r.stderr)
	}
	for _, id := range ids {
		if !st.exists(id) {
			t.Fatalf("%s removed: the pass ran despite the usage error", st.path(id))
		}
	}
	if ents, err := os.ReadDir(tdir); err != nil || len(ents) != 1 {
		t.Errorf("textfile directory holds %v (%v), want the textfile alone", ents, err)
	}
}

// A live session that a sweep which died midway left moved aside is put
// back by the next run, which reports it as restored, in every output,
// and not as renewed: nothing renewed it, and an operator watching
// skipped_renewed for sweeps racing requests must not see it there. A dry
// run reports it as one it would restore, and leaves it aside.
func TestRestoredFromDeadSweep(t *testing.T) {
	for _, mode := range []string{"json", "human", "textfile", "dry-run json", "dry-run human"} {
		t.Run(mode, func(t *testing.T) {
			st := newStore(t)
			ids := st.save(2)
			p := st.path(ids[0])
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			args := map[string][]string{
				"json":          {"run", "--dir", st.dir, "--json"},
				"human":         {"run", "--dir", st.dir},
				"textfile":      {"run", "--dir", st.dir, "-q", "--textfile", prom},
				"dry-run json":  {"run", "--dir", st.dir, "--json", "--dry-run"},
				"dry-run human": {"run", "--dir", st.dir, "--dry-run"},
			}[mode]
			r := runGC(t, args)
			dry := strings.HasPrefix(mode, "dry-run")
			if _, err := os.Lstat(aside); r.code != 0 || st.exists(ids[0]) == dry || (err == nil) != dry {
				t.Fatalf("exit %d, session put back %v, left aside %v (%v): %s%s", r.code, st.exists(ids[0]), err == nil, err, r.stdout, r.stderr)
			}
			switch mode {
			case "json", "dry-run json":
				if _, sum := summary(t, r); sum.Restored != 1 || sum.SkippedRenewed != 0 || sum.Live != 1 {
					t.Errorf("restored %d, skipped_renewed %d, live %d; want 1, 0, 1\n%s", sum.Restored, sum.SkippedRenewed, sum.Live, r.stdout)
				}
			case "human":
				if want := "kept 2 live sessions (0 locked, 0 renewed meanwhile, 1 restored after an interrupted sweep or locked delete)"; !strings.Contains(r.stdout, want) {
					t.Errorf("summary %q, want it to say %q", r.stdout, want)
				}
			case "dry-run human":
				if want := "kept 2 live sessions (0 locked, 0 renewed meanwhile, 1 would be restored after an interrupted sweep or locked delete)"; !strings.Contains(r.stdout, want) {
					t.Errorf("summary %q, want it to say %q", r.stdout, want)
				}
			case "textfile":
				checkValues(t, promFile(t, prom, st.dir), map[string]float64{
					"sessgc_live_sessions":     1,
					"sessgc_skipped_renewed":   0,
					"sessgc_restored_sessions": 1,
				})
			}
		})
	}
}

// TestTextfileUnwritableDirectory: a --textfile directory this user
// cannot write in is a usage error before the pass (exit 2, nothing
// swept), as a missing one is: it was found only after the sweep, which
// then exited 1. A dry run, which writes no textfile, does not mind it.
// Run as root, the binary runs as nobody, whom the mode holds.
func TestTextfileUnwritableDirectory(t *testing.T) {
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	tdir := filepath.Join(t.TempDir(), "textfile")
	if err := os.Mkdir(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		// The store is nobody's, as a store is the application user's:
		// only the textfile's directory is out of its reach.
		chownTree(t, st.dir, 65534, 65534)
		openUp(t, filepath.Dir(st.dir))
		openUp(t, filepath.Dir(tdir))
	}
	if err := os.Chmod(tdir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(tdir, 0o755) })
	if os.Getuid() != 0 {
		if f, err := os.CreateTemp(tdir, "probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			t.Skipf("this user (uid %d) can write in a directory of mode 0555: permissions are not enforced", os.Getuid())
		}
	}
	prom := filepath.Join(tdir, "sessgc.prom")

	cmd := command([]string{"run", "--dir", st.dir, "--textfile", prom})
	asUnprivileged(cmd)
	r := runCmd(t, cmd)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--textfile "+prom+": cannot create a file in "+tdir) || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 before the pass, saying the directory cannot be written", r.code, r.stdout, r.stderr)
	}
	for _, id := range ids {
		if !st.exists(id) {
			t.Fatalf("%s removed: the pass ran despite the usage error", st.path(id))
		}
	}

	cmd = command([]string{"run", "--dir", st.dir, "--dry-run", "--textfile", prom})
	asUnprivileged(cmd)
	if r := runCmd(t, cmd); r.code != 0 {
		t.Errorf("dry run: exit %d, stderr %q; want 0 (it writes no textfile)", r.code, r.stderr)
	}
	if ents, err := os.ReadDir(tdir); err != nil || len(ents) != 0 {
		t.Errorf("textfile directory holds %v (%v), want nothing", ents, err)
	}
}

// A live session that a locked Delete left aside (.tmp-gd-<name>: it found
// its lock lost, or its process died between its move and its check) is
// put back by the next run as one a dead sweep left is, and counted with
// them: every report of it names both causes, so that an operator who finds
// no sweep that died looks for the delete.
func TestRestoredFromLockedDelete(t *testing.T) {
	for _, mode := range []string{"human", "dry-run human", "textfile"} {
		t.Run(mode, func(t *testing.T) {
			st := newStore(t)
			ids := st.save(2)
			p := st.path(ids[0])
			aside := filepath.Join(filepath.Dir(p), ".tmp-gd-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			args := map[string][]string{
				"human":         {"run", "--dir", st.dir},
				"dry-run human": {"run", "--dir", st.dir, "--dry-run"},
				"textfile":      {"run", "--dir", st.dir, "-q", "--textfile", prom},
			}[mode]
			r := runGC(t, args)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			switch mode {
			case "human":
				if want := "1 restored after an interrupted sweep or locked delete)"; !strings.Contains(r.stdout, want) {
					t.Errorf("summary %q, want it to say %q", r.stdout, want)
				}
			case "dry-run human":
				if want := "1 would be restored after an interrupted sweep or locked delete)"; !strings.Contains(r.stdout, want) {
					t.Errorf("summary %q, want it to say %q", r.stdout, want)
				}
			case "textfile":
				b, err := os.ReadFile(prom)
				if err != nil {
					t.Fatal(err)
				}
				if want := "# HELP sessgc_restored_sessions Live sessions that an interrupted sweep or a locked delete had left moved aside, put back by the last sweep."; !strings.Contains(string(b), want) {
					t.Errorf("textfile:\n%s\nwant it to say %q", b, want)
				}
				checkValues(t, promFile(t, prom, st.dir), map[string]float64{"sessgc_restored_sessions": 1})
			}
		})
	}
}
