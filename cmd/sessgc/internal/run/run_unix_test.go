//go:build unix

package run

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// TestRunRunMissingOKCreating: with --missing-ok, a directory holding only
// what an application makes while it creates the store (data/, locks/, a
// marker temp file) is opened once more after a wait rather than refused:
// the store that appeared meanwhile is swept, one still half-made is
// refused (exit 3), saying why it is no fresh volume that the flag skips
// (an application died creating it) rather than only "not a sessfs
// store", as the operator gave --missing-ok and expected a skip. Without
// the flag, or with anything else in the directory, there is no wait.
func TestRunRunMissingOKCreating(t *testing.T) {
	const tmpMarker = ".tmp-marker-0123456789abcdef"
	creating := func(extra ...string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			for _, d := range []string{dir, filepath.Join(dir, fsstore.DataDir), filepath.Join(dir, fsstore.LockDir)} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range append([]string{tmpMarker}, extra...) {
				if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// finish does what the creating application does next.
	finish := func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, tmpMarker)); err != nil {
			t.Fatal(err)
		}
		s, err := fsstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for _, tc := range []struct {
		name      string
		setup     func(*testing.T, string)
		missingOK bool
		during    func(*testing.T, string) // in the wait; nil: nothing
		waits     int
		code      int
		skipped   bool
		says      []string // in the refusal, besides "is not a sessfs store"
	}{
		{name: "created during the wait", setup: creating(), missingOK: true, during: finish, waits: 1},
		{name: "still being created", setup: creating(), missingOK: true, waits: 1, code: cmdutil.ExitStore,
			says: []string{"a second later", "died", "--missing-ok skips only a missing or empty directory"}},
		{name: "gone during the wait", setup: creating(), missingOK: true, during: func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, waits: 1, skipped: true},
		{name: "without --missing-ok", setup: creating(), during: finish, code: cmdutil.ExitStore},
		{name: "and a file", setup: creating("old.txt"), missingOK: true, during: finish, code: cmdutil.ExitStore,
			says: []string{"--missing-ok skips only a missing or empty directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			tc.setup(t, dir)
			io, out, _ := testIO(nil)
			waits := 0
			opts := RunOptions{IO: io, Dir: dir, Concurrency: 2, Grace: time.Minute, TempAge: 10 * time.Minute,
				JSON: true, MissingOK: tc.missingOK, creatingWait: waitFunc(func(ctx context.Context) error {
					waits++
					if tc.during != nil {
						tc.during(t, dir)
					}
					return nil
				})}
			err := runRun(context.Background(), &opts)
			if cmdutil.ExitCode(err) != tc.code || tc.code != 0 && !strings.Contains(err.Error(), "is not a sessfs store") {
				t.Errorf("err %v, want exit %d", err, tc.code)
			}
			for _, w := range tc.says {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err %v, want it to say %q", err, w)
				}
			}
			if waits != tc.waits {
				t.Errorf("%d waits, want %d", waits, tc.waits)
			}
			var s Summary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			if s.Skipped != tc.skipped || s.ExitCode != tc.code {
				t.Errorf("summary %s", out)
			}
		})
	}
}

// TestRunRunMissingOKWaitInterrupted: a run stopped while it waits for the
// store's creation reports so and sweeps nothing.
func TestRunRunMissingOKWaitInterrupted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	for _, d := range []string{dir, filepath.Join(dir, fsstore.DataDir), filepath.Join(dir, fsstore.LockDir)} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	io, out, _ := testIO(nil)
	opts := RunOptions{IO: io, Dir: dir, Concurrency: 2, Grace: time.Minute, TempAge: 10 * time.Minute, JSON: true, MissingOK: true}
	opts.creatingWait = waitFunc(func(ctx context.Context) error {
		cancel()
		return waitCreating(ctx)
	})
	err := runRun(ctx, &opts)
	var s Summary
	if jerr := json.Unmarshal(out.Bytes(), &s); jerr != nil || err == nil || !s.StoppedEarly || s.StopReason != "interrupted" || s.Skipped {
		t.Errorf("err %v, summary %s", err, out)
	}
}

// TestRunRunMissingOKRefused: with --missing-ok, a store directory that
// cannot be listed, or a symbolic link to nowhere, is no missing store: the
// run fails with exit 3 and creates nothing.
func TestRunRunMissingOKRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		msg   string
	}{
		{name: "mode 0000", setup: unreadable(0), msg: "store"},
		{name: "mode 0300", setup: unreadable(0o300), msg: "is not a sessfs store"},
		{name: "dangling symlink", setup: func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(dir), "gone"), dir); err != nil {
				t.Fatal(err)
			}
		}, msg: "is a symbolic link to a missing target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			tc.setup(t, dir)
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			io, _, _ := testIO(nil)
			opts := RunOptions{IO: io, Dir: dir, Concurrency: 2, Grace: time.Minute, TempAge: 10 * time.Minute,
				Quiet: true, Textfile: prom, MissingOK: true}
			err := runRun(context.Background(), &opts)
			if cmdutil.ExitCode(err) != cmdutil.ExitStore || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v, want exit %d and %q", err, cmdutil.ExitStore, tc.msg)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "gone")); err == nil {
				t.Error("the link's target was created")
			}
			if b, err := os.ReadFile(prom); err != nil || !strings.Contains(string(b), "sessgc_store_missing{") || !strings.Contains(string(b), "} 0\n") {
				t.Errorf("textfile %s (%v)", b, err)
			}
		})
	}
}

// unreadable makes dir an empty directory with mode; it skips the test
// when this user can read it all the same (root, or CAP_DAC_OVERRIDE: a
// probe covers both, where os.Geteuid() == 0 misses the capability).
func unreadable(mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		if f, err := os.Open(dir); err == nil {
			f.Close()
			t.Skipf("this user (uid %d) can read a directory with mode %v: permissions are not enforced", os.Geteuid(), mode)
		}
	}
}
