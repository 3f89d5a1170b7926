//go:build linux

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// syncRefusedEnv selects the child of TestDurabilitySyncs: its value is
// the system call ("fdatasync" or "fsync") a seccomp filter fails with EIO.
const syncRefusedEnv = "SESSFS_SYNC_REFUSED"

// TestDurabilitySyncsHelper is not a test: it is the body of
// TestDurabilitySyncs's child.
func TestDurabilitySyncsHelper(t *testing.T) {
	proctest.Main(t, syncRefusedEnv, runSyncRefused)
}

// Which flushes a Save makes at each durability level, told by failing
// each with EIO in a child (a seccomp filter, process-wide): DurabilityNone
// makes neither; DurabilityFile fdatasyncs the temp file before the rename,
// so its failure publishes nothing, leaves the old record and removes the
// temp file; DurabilityFull does that and fsyncs the directory after the
// rename, so its failure leaves the new record in place and says
// ErrInDoubt. For a Save and a Locked.Save alike (their temp files differ).
func TestDurabilitySyncs(t *testing.T) {
	for _, call := range []string{"fdatasync", "fsync"} {
		t.Run(call, func(t *testing.T) {
			kid := proctest.Start(t, "TestDurabilitySyncsHelper", syncRefusedEnv, call, []string{"STORE_DIR=" + t.TempDir()})
			if msg := kid.Expect(t, "filter "); strings.HasPrefix(msg, "filter refused: ") {
				kid.Wait()
				testenv.Skip(t, testenv.Seccomp, "cannot install a seccomp filter here: %s", strings.TrimPrefix(msg, "filter refused: "))
			}
			if err := kid.Wait(); err != nil {
				t.Fatalf("child: %v; stderr:\n%s", err, kid.Stderr)
			}
		})
	}
}

func runSyncRefused(call string) error {
	nr := map[string]uintptr{"fdatasync": unix.SYS_FDATASYNC, "fsync": unix.SYS_FSYNC}[call]
	if nr == 0 {
		return fmt.Errorf("no system call %q to refuse", call)
	}
	ctx := context.Background()
	id, err := fsstore.NewID()
	if err != nil {
		return err
	}
	levels := []fsstore.Durability{fsstore.DurabilityNone, fsstore.DurabilityFile, fsstore.DurabilityFull}
	stores := make([]*fsstore.Store, len(levels))
	for i, d := range levels {
		// Before the filter: the marker (always written with both
		// flushes), the shard directory and the old record.
		dir := filepath.Join(os.Getenv("STORE_DIR"), d.String())
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		if stores[i], err = fsstore.Open(dir, fsstore.WithDurability(d)); err != nil {
			return err
		}
		defer stores[i].Close()
		if err := stores[i].Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
			return err
		}
	}
	if err := refuseSyscall(nr, unix.EIO); err != nil {
		say("filter refused: %v", err)
		return nil
	}
	say("filter installed")
	var failed []error
	for i, d := range levels {
		s := stores[i]
		// refused: the flush this level makes that the filter fails;
		// published: whether the save is in place all the same.
		refused := call == "fdatasync" && d >= fsstore.DurabilityFile || call == "fsync" && d >= fsstore.DurabilityFull
		published := !refused || call == "fsync"
		for _, locked := range []bool{false, true} {
			data := fmt.Sprintf("new %v locked %v", d, locked)
			var err error
			if locked {
				l, lerr := s.Lock(ctx, id, fsstore.Exclusive)
				if lerr != nil {
					return lerr
				}
				err = l.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)})
				if uerr := l.Unlock(); uerr != nil {
					return uerr
				}
			} else {
				err = s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)})
			}
			what := fmt.Sprintf("%v, %s refused, locked %v", d, call, locked)
			switch {
			case !refused && err != nil:
				failed = append(failed, fmt.Errorf("%s: Save: %w, want no error: this level makes no %s", what, err, call))
			case refused && (!errors.Is(err, syscall.EIO) || errors.Is(err, fsstore.ErrInDoubt) != published):
				failed = append(failed, fmt.Errorf("%s: Save: %v, want EIO, ErrInDoubt %v", what, err, published))
			}
			want := data
			if !published {
				want = "old" // the unlocked save before failed too
			}
			got, err := s.Load(ctx, id)
			switch {
			case err != nil:
				failed = append(failed, fmt.Errorf("%s: Load: %w", what, err))
			case string(got.Data) != want:
				failed = append(failed, fmt.Errorf("%s: Load %q, want %q", what, got.Data, want))
			}
			temps, err := findTemps(s.Dir())
			if err != nil {
				return err
			}
			if len(temps) > 0 {
				failed = append(failed, fmt.Errorf("%s: temp files left: %s", what, strings.Join(temps, ", ")))
			}
		}
	}
	return errors.Join(failed...)
}

// findTemps lists the temp files of records in the store directory dir.
func findTemps(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
