package main_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestReadOnlyMount sweeps a store on a read-only bind mount: exit 3,
// nothing deleted, and the --textfile, in a writable directory elsewhere,
// written all the same, saying so, for the alert on failing runs. It
// needs CAP_SYS_ADMIN and skips without it. (Its census:
// TestStatsWithReadAccessOnly.)
func TestReadOnlyMount(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to bind-mount the store read-only")
	}
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	mnt := readOnlyBind(t, st.dir)
	prom := filepath.Join(t.TempDir(), "sessgc.prom")
	for _, args := range [][]string{{"--dir", mnt, "--textfile", prom}, {"--dir", mnt, "--dry-run"}} {
		r := runGC(t, args)
		if r.code != 3 || !strings.Contains(r.stderr, "read-only") {
			t.Errorf("%v: exit %d, stderr %q; want 3 and read-only", args, r.code, r.stderr)
		}
		// The name of the temp file that could not be created, whole: a
		// word of 43 characters of base64's alphabet, it was taken for a
		// key's secret and left out ("create temp .tmp-.(a key's secret,
		// not shown)").
		if !strings.Contains(r.stderr, "create temp .tmp-probe-") || strings.Contains(r.stderr, "not shown") {
			t.Errorf("%v: stderr %q; want the name of the temp file that could not be created, whole", args, r.stderr)
		}
	}
	if m := promFile(t, prom, mnt); m["sessgc_last_run_exit_code"] != 3 || m["sessgc_last_run_success"] != 0 {
		t.Errorf("textfile after a run on a read-only store: exit code %v, success %v; want 3, 0", m["sessgc_last_run_exit_code"], m["sessgc_last_run_success"])
	}
	for _, id := range ids {
		if !st.exists(id) {
			t.Errorf("deleted from a read-only store")
		}
	}
}

// readOnlyBind bind-mounts dir read-only on a fresh directory, unmounted
// at the end of t, and returns that directory. It skips t where mounting
// is not allowed.
func readOnlyBind(t *testing.T, dir string) string {
	t.Helper()
	mnt := t.TempDir()
	bind(t, dir, mnt)
	if err := unix.Mount("", mnt, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		testenv.Skip(t, testenv.Root, "cannot remount read-only: %v", err)
	}
	return mnt
}

// TestStatsWithReadAccessOnly: "sessgc stats" is a report, and works where
// reading the store works: on a mount that is read-only on this host (a
// monitoring host mounting EFS ro, a file system the kernel remounted
// read-only after an error) and as a user who may read the store but not
// write it. It exited 3 there ("is on a read-only filesystem; nothing was
// deleted or rewritten", "is not readable and writable by this user"):
// opening the store probed that it is writable, and the census measured
// the file server's clock with a temp file. Now it counts what the same
// census counts on the writable store, creates, changes and removes
// nothing, and says once on stderr what it could not do and how it judged
// expiry instead. run and rekey still refuse such a store, exit 3.
func TestStatsWithReadAccessOnly(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to bind-mount the store read-only and to run sessgc as another user")
	}
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, dir string) string // returns the --dir to give
		nobody bool                                  // sessgc runs as uid 65534
		why    string                                // in the note
		refuse string                                // run's and rekey's refusal
	}{
		{"read-only mount", readOnlyBind, false,
			"it is on a read-only filesystem on this host", "is on a read-only filesystem; nothing was deleted or rewritten"},
		{"read access only", func(t *testing.T, dir string) string {
			readableByAll(t, dir)
			return dir
		}, true, "this user (uid 65534) may not write it", "this process's user (uid 65534) may not read and write the store"},
	} {
		cmd := func(args []string) *exec.Cmd {
			c := command(args)
			if tc.nobody {
				asUnprivileged(c)
			}
			return c
		}
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.s.Close()
			// What the census counts where it may write, for comparison.
			want := statsJSON(t, runGC(t, []string{"stats", "--dir", f.dir, "--json"}))
			if want["host_clock"] != false {
				t.Errorf("stats of a writable store: host_clock %v, want false", want["host_clock"])
			}
			dir := tc.setup(t, f.dir)
			keys := writeKeys(t, 0o600, newKey(t, 1))
			if tc.nobody {
				notRoots(t, keys)
				openUp(t, filepath.Dir(keys))
			}
			before := testenv.TreeState(t, f.dir)

			r := runCmd(t, cmd([]string{"stats", "--dir", dir, "--json"}))
			if r.code != 0 {
				t.Fatalf("stats --json: exit %d, stderr %q; want 0", r.code, r.stderr)
			}
			got := statsJSON(t, r)
			for _, k := range []string{"live", "expired", "live_bytes", "expired_bytes", "temps", "stale_temps", "temp_bytes",
				"lock_files", "leases", "stale_leases", "foreign", "restorable", "total_bytes", "shards", "errors",
				"min_shard_files", "max_shard_files", "oldest_expiry", "newest_expiry"} {
				if got[k] != want[k] {
					t.Errorf("%s = %v, want %v as on the writable store", k, got[k], want[k])
				}
			}
			if got["host_clock"] != true {
				t.Errorf("host_clock %v, want true", got["host_clock"])
			}
			if n := strings.Count(r.stderr, "sessgc: note:"); n != 1 {
				t.Errorf("stderr has %d notes, want 1: %q", n, r.stderr)
			}
			for _, s := range []string{tc.why, "the file server's clock was not measured", "ages were judged by this host's clock",
				"more than the max idle plus --grace (25m0s) before this host's time"} {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q: %q", s, r.stderr)
				}
			}

			r = runCmd(t, cmd([]string{"stats", "--dir", dir}))
			for _, s := range []string{"5 live", "5 expired", "clock     ages judged by this host's clock"} {
				if r.code != 0 || !strings.Contains(r.stdout, s) {
					t.Errorf("stats: exit %d, stdout %q; want 0 and %q", r.code, r.stdout, s)
				}
			}

			for _, args := range [][]string{{"run", "--dir", dir}, {"run", "--dir", dir, "--dry-run"},
				{"rekey", "--dir", dir, "--keys-file", keys, "--rate", "0"}} {
				r := runCmd(t, cmd(args))
				if r.code != 3 || !strings.Contains(r.stderr, tc.refuse) || strings.Contains(r.stderr, "not shown") {
					t.Errorf("%v: exit %d, stderr %q; want 3 and %q, and no path left out as a key's secret", args, r.code, r.stderr, tc.refuse)
				}
				// The JSON summary's error names the probe's temp file
				// as stderr does: its name reads as a key's secret, and
				// only a secret the user gave is left out.
				args = append(args, "--json")
				r = runCmd(t, cmd(args))
				if r.code != 3 || !strings.Contains(r.stdout, tc.refuse) || strings.Contains(r.stdout, "not shown") {
					t.Errorf("%v: exit %d, stdout %q; want 3 and %q, and no path left out as a key's secret", args, r.code, r.stdout, tc.refuse)
				}
			}
			if after := testenv.TreeState(t, f.dir); after != before {
				t.Errorf("the store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// statsJSON decodes the output of "stats --json".
func statsJSON(t *testing.T, r result) map[string]any {
	t.Helper()
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stats --json: exit %d, not JSON: %v\n%s\nstderr: %s", r.code, err, r.stdout, r.stderr)
	}
	return rep
}

// readableByAll lets every user read dir and what is in it, and write
// none of it but its owner, root: a store a monitoring user may read.
func readableByAll(t *testing.T, dir string) {
	t.Helper()
	openUp(t, filepath.Dir(dir))
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}
