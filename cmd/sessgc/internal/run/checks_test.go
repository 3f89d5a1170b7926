package run

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/storetest"
)

// hungFS is a file system whose calls on the paths under hung do not
// return until release is closed, as calls into a hard NFS mount whose
// server is unreachable do not; other calls go to the operating system.
type hungFS struct {
	hung    []string
	release <-chan struct{}
}

func (f hungFS) wait(name string) {
	for _, h := range f.hung {
		if name == h || strings.HasPrefix(name, h+string(filepath.Separator)) {
			<-f.release
			return
		}
	}
}

func (f hungFS) Stat(name string) (fs.FileInfo, error) {
	f.wait(name)
	return os.Stat(name)
}

func (f hungFS) Lstat(name string) (fs.FileInfo, error) {
	f.wait(name)
	return os.Lstat(name)
}

func (f hungFS) EvalSymlinks(path string) (string, error) {
	f.wait(path)
	return filepath.EvalSymlinks(path)
}

func (f hungFS) CreateTemp(dir, pattern string) (string, error) {
	f.wait(dir)
	t, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	return t.Name(), t.Close()
}

func (f hungFS) Remove(name string) error {
	f.wait(name)
	return os.Remove(name)
}

func (f hungFS) Abs(path string) (string, error) {
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		f.wait(wd)
	}
	return filepath.Abs(path)
}

// TestRunChecksSpendBudget: the checks run makes before its pass, of the
// --textfile's directory and of whether the textfile is inside --dir,
// wait for a hung mount, and spend --max-duration as the pass does: when
// the file system does not answer them, they give up as the budget ends,
// and the pass then finds it spent and stops at once (on a hung store the
// watchdog abandons it a grace later, exit 4). They waited 5 s whatever
// the budget, and the pass then had its whole budget: `sessgc run
// --textfile --max-duration 2s` started while the NFS server was
// unreachable exited 4 after 8 s of its own instead of 3. A relative
// --dir in a working directory that does not answer is made absolute
// among the checks too: its labels then carry --dir as given.
func TestRunChecksSpendBudget(t *testing.T) {
	storetest.Skip(t)
	for _, tc := range []struct {
		name     string
		hung     func(dir, textfileDir string) []string
		relative bool // --dir relative to the working directory, the store's parent
	}{
		{"store directory", func(dir, _ string) []string { return []string{dir} }, false},
		{"textfile directory", func(_, textfileDir string) []string { return []string{textfileDir} }, false},
		{"working directory", func(dir, _ string) []string { return []string{filepath.Dir(dir)} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, tdir := newStore(t, 2, 3), t.TempDir()
			prom := filepath.Join(tdir, "sessgc.prom")
			hung := tc.hung(dir, tdir)
			if tc.relative {
				t.Chdir(filepath.Dir(dir))
				dir = filepath.Base(dir)
			}
			release := make(chan struct{})
			t.Cleanup(func() { close(release) }) // the hung checks return, before the directories go
			io, out, _ := testIO(nil)
			// The pass needs a few milliseconds of this budget; the
			// checks, which the file system does not answer, spend it all.
			opts := RunOptions{IO: io, Dir: dir, Concurrency: 1, Grace: time.Minute, TempAge: 10 * time.Minute,
				JSON: true, Textfile: prom, MaxDuration: time.Second, pathFS: hungFS{hung: hung, release: release}}
			err := runRun(context.Background(), &opts)
			var sum Summary
			if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
				t.Fatalf("err %v; stdout not one JSON object: %v\n%s", err, jerr, out)
			}
			if cmdutil.ExitCode(err) != cmdutil.ExitOK || !sum.StoppedEarly || sum.StopReason != "max-duration" || sum.Removed != 0 {
				t.Errorf("err %v, stopped_early %v, stop_reason %q, removed %d; want exit 0, stopped early by max-duration, removed 0: the checks spent the budget",
					err, sum.StoppedEarly, sum.StopReason, sum.Removed)
			}
			b, err := os.ReadFile(prom)
			if line := regexp.MustCompile(`(?m)^sessgc_stopped_early\{.*$`).Find(b); err != nil || !strings.HasSuffix(string(line), "} 1") {
				t.Errorf("textfile: %v, %q; want the run's metrics, stopped early", err, line)
			}
			if tc.relative && !strings.Contains(string(b), `{dir="`+dir+`"}`) {
				t.Errorf("textfile:\n%s\nwant the label dir=%q, --dir as given", b, dir)
			}
		})
	}
}

// TestRunChecksTinyBudget: a budget too small for any check still gets
// the checks' usage errors from a file system that answers: a textfile in
// a directory that does not exist, or inside the store. With the checks'
// wait clamped to the budget left, they were skipped as if the mount hung:
// the run swept and exited 1 (the textfile could not be written), or
// wrote its metrics inside the store.
//
// The file system answers, but late too (each call a fifth of a second
// after it was made, as a loaded machine may run the checks' goroutine):
// with the checks' least wait left at its default of 100 ms, the test
// failed whenever the machine was that slow, as it once was in CI. It sets
// that wait to a minute, far beyond any answer that comes.
func TestRunChecksTinyBudget(t *testing.T) {
	storetest.Skip(t)
	for _, tc := range []struct {
		name string
		// paths returns --dir and --textfile for the store dir.
		paths func(t *testing.T, dir string) (string, string)
	}{
		{"textfile directory missing", func(t *testing.T, dir string) (string, string) {
			return dir, filepath.Join(t.TempDir(), "missing", "sessgc.prom")
		}},
		{"textfile inside the store, named through a link", func(t *testing.T, dir string) (string, string) {
			// Through a symbolic link, so that only resolving the
			// paths, the check that waits, finds the textfile inside.
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(dir, link); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
			return link, filepath.Join(dir, "sessgc.prom")
		}},
	} {
		for _, late := range []time.Duration{0, 200 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s/answers %v late", tc.name, late), func(t *testing.T) {
				dir, textfile := tc.paths(t, newStore(t, 2, 3))
				io, _, _ := testIO(nil)
				opts := RunOptions{IO: io, Dir: dir, Concurrency: 1, Grace: time.Minute, TempAge: 10 * time.Minute,
					JSON: true, Textfile: textfile, MaxDuration: time.Nanosecond,
					pathFS: lateFS{late: late}, minCheckWait: time.Minute}
				if err := runRun(context.Background(), &opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
					t.Errorf("--max-duration 1ns: exit %d (%v), want %d (usage)", cmdutil.ExitCode(err), err, cmdutil.ExitUsage)
				}
			})
		}
	}
}

// lateFS is the operating system's file system, each call answered late
// after it was made.
type lateFS struct{ late time.Duration }

func (f lateFS) Stat(name string) (fs.FileInfo, error) { time.Sleep(f.late); return os.Stat(name) }

func (f lateFS) Lstat(name string) (fs.FileInfo, error) { time.Sleep(f.late); return os.Lstat(name) }

func (f lateFS) EvalSymlinks(path string) (string, error) {
	time.Sleep(f.late)
	return filepath.EvalSymlinks(path)
}

func (f lateFS) Abs(path string) (string, error) { time.Sleep(f.late); return filepath.Abs(path) }

func (f lateFS) Remove(name string) error { time.Sleep(f.late); return os.Remove(name) }

func (f lateFS) CreateTemp(dir, pattern string) (string, error) {
	time.Sleep(f.late)
	t, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	return t.Name(), t.Close()
}

// hidingFS is the operating system's file system, except that Lstat finds
// nothing at hidden: a textfile path that something takes after the
// checks before the pass.
type hidingFS struct{ hidden string }

func (f hidingFS) Stat(name string) (fs.FileInfo, error)    { return os.Stat(name) }
func (f hidingFS) EvalSymlinks(path string) (string, error) { return filepath.EvalSymlinks(path) }
func (f hidingFS) Abs(path string) (string, error)          { return filepath.Abs(path) }
func (f hidingFS) Remove(name string) error                 { return os.Remove(name) }

func (f hidingFS) Lstat(name string) (fs.FileInfo, error) {
	if name == f.hidden {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return os.Lstat(name)
}

func (f hidingFS) CreateTemp(dir, pattern string) (string, error) {
	t, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	return t.Name(), t.Close()
}

// TestRunTextfileFailsAfterPass: a textfile that cannot be replaced after
// the pass (here a directory took its path after the checks, which refuse
// one that is there before) fails the run (exit 1) once the sweep is done,
// says so in the summary, and leaves no temp file behind.
func TestRunTextfileFailsAfterPass(t *testing.T) {
	storetest.Skip(t)
	dir := newStore(t, 2, 3)
	tdir := t.TempDir()
	blocked := filepath.Join(tdir, "blocked.prom")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	io, out, _ := testIO(nil)
	opts := RunOptions{IO: io, Dir: dir, Concurrency: 2, Grace: time.Minute, TempAge: 10 * time.Minute,
		JSON: true, Textfile: blocked, pathFS: hidingFS{blocked}}
	err := runRun(context.Background(), &opts)
	var s Summary
	if jerr := json.Unmarshal(out.Bytes(), &s); jerr != nil {
		t.Fatalf("stdout %q: %v", out, jerr)
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitFailure || s.ExitCode != cmdutil.ExitFailure || s.Sessions != 3 || !strings.Contains(s.Error, "--textfile") {
		t.Errorf("exit %d (%v), summary %+v; want 1 after sweeping 3 sessions, the summary saying --textfile", cmdutil.ExitCode(err), err, s)
	}
	if ents, _ := os.ReadDir(tdir); len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}
}
