//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

// TestAsideOddFile: a file that is not a regular one (a directory, a FIFO,
// a symlink) at one of a session's aside names, the session's copy at the
// other. It is no copy of a session, and which copy is the session cannot
// be told while it is there: the sweep reports it at every pass and leaves
// both, and Load and Touch report it. The error must name the file and
// say what to do: it said "read .tmp-gd-…: not a regular file" (or "too
// many levels of symbolic links"), naming neither the file's directory
// nor a remedy, and Load's and Touch's put it after "open <record>:", as
// if the record's open had failed. Done as the error says, the next sweep
// puts the session back.
func TestAsideOddFile(t *testing.T) {
	ctx := context.Background()
	kinds := []struct {
		name, kind string
		make       func(p string) error
	}{
		{"directory", "a directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"fifo", "a FIFO", func(p string) error { return unix.Mkfifo(p, 0o600) }},
		{"symlink", "a symbolic link", func(p string) error { return os.Symlink("/etc/passwd", p) }},
	}
	for _, k := range kinds {
		for _, odd := range []string{"gc", "gd"} {
			t.Run(k.name+"/"+odd, func(t *testing.T) {
				s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(testIdle))
				id := newID(t)
				p := s.RecordPathForTest(id)
				aside := func(kind string) string {
					return asidePath(p, ".tmp-"+kind+"-")
				}
				copyAt := "gd"
				if odd == "gd" {
					copyAt = "gc"
				}
				mustSave(t, s, id, "kept")
				if err := os.Rename(p, aside(copyAt)); err != nil {
					t.Fatal(err)
				}
				if err := k.make(aside(odd)); err != nil {
					t.Fatal(err)
				}
				says := func(what string, err error) {
					t.Helper()
					msg := ""
					if err != nil {
						msg = err.Error()
					}
					for _, want := range []string{aside(odd) + " is " + k.kind, "move it out of the store directory"} {
						if !strings.Contains(msg, want) {
							t.Errorf("%s: %q; want it to say %q", what, msg, want)
						}
					}
					if strings.Contains(msg, "open "+p) {
						t.Errorf("%s: %q; the record's open did not fail", what, msg)
					}
				}
				_, err := s.Load(ctx, id)
				says("Load", err)
				says("Touch", s.Touch(ctx, id))
				for pass := 0; pass < 2; pass++ {
					var errs []error
					st, err := s.Sweep(ctx, fsstore.SweepOptions{OnError: func(err error) { errs = append(errs, err) }})
					if err != nil || st.Errors != 1 || len(errs) != 1 || st.Restored != 0 {
						t.Fatalf("sweep %d: %+v, %v, %v; want one error, nothing put back", pass, st, err, errs)
					}
					says("the sweep's error", errs[0])
					t.Log(errs[0])
				}
				if _, err := os.Lstat(aside(copyAt)); err != nil {
					t.Fatalf("the session's copy after the sweeps: %v", err)
				}
				// What the error says to do.
				if err := os.Remove(aside(odd)); err != nil {
					t.Fatal(err)
				}
				if st, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Errors != 0 || st.Restored != 1 {
					t.Fatalf("the sweep once it is gone: %+v, %v; want the session put back", st, err)
				}
				mustLoad(t, s, id, "kept")
			})
		}
	}
}
