//go:build linux

package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// A failing filesystem, case by case for every public operation of a
// store opened before the failure: a full disk (ENOSPC) and a mount
// remounted read-only (EROFS, as ext4's errors=remount-ro does after an
// I/O error). TestDiskFull and TestReadOnlyStore cover Open, Load and
// Save; this covers the rest.
//
// Each operation either works (reads; on a full disk also every
// operation that frees space or writes no data: Touch, Delete, the lock,
// and the sweep that is the operator's way out) or fails with an error
// wrapping the errno, and in both cases every session saved before is
// intact (the one a Delete or Sweep removed aside) and no temp file is
// left behind.

// faultOp is one public operation on the session id of a store whose
// other sessions are other (live) and stale (expired), and fresh, an ID
// never saved.
type faultOp struct {
	name string
	// full and readOnly: the errno the operation must fail with there
	// (nil: it must succeed).
	full, readOnly error
	// removes: the operation, when it succeeds, removes id (Delete) or
	// stale (Sweep); everything else must still load.
	removes string
	// names: the session ("id" or "fresh") whose record its error must
	// name, as the operator knows it, rather than only a temp or lock
	// file of the store's; "each": every error (one per line) must name
	// the record of id or other; "": the store's path is enough.
	names string
	// readOnlyNames, where set, is names on a read-only filesystem:
	// "store" for the store's path alone. A rekey pass takes the store's
	// rekey lock first, whose file a read-only filesystem refuses, and
	// fails whole, rewriting nothing, before any record.
	readOnlyNames string
	do            func(ctx context.Context, s *fsstore.Store, id, fresh string) error
}

// faultPayload is large enough that a write of it cannot fit into the
// few bytes a full filesystem has left.
var faultPayload = bytes.Repeat([]byte("n"), 64<<10)

var faultOps = []faultOp{
	{name: "Load", do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return loadKept(s.Load(ctx, id))
	}},
	{name: "LoadInto", do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return loadKept(s.LoadInto(ctx, id, make([]byte, 0, 16)))
	}},
	{name: "Save", names: "id", full: syscall.ENOSPC, readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return s.Save(ctx, &fsstore.Session{ID: id, Version: 1, Data: faultPayload})
	}},
	{name: "CompareAndSwap", names: "id", full: syscall.ENOSPC, readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		sess, err := s.Load(ctx, id)
		if err != nil {
			return err
		}
		sess.Data = faultPayload
		return s.CompareAndSwap(ctx, sess)
	}},
	{name: "CompareAndSwap new", names: "fresh", full: syscall.ENOSPC, readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, _, fresh string) error {
		return s.CompareAndSwap(ctx, &fsstore.Session{ID: fresh, Data: faultPayload})
	}},
	{name: "Touch", names: "id", readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return s.Touch(ctx, id)
	}},
	{name: "Delete", names: "id", readOnly: syscall.EROFS, removes: "id", do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return s.Delete(ctx, id)
	}},
	{name: "Lock", names: "fresh", readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, _, fresh string) error {
		return underLock(ctx, s, fresh, func(*fsstore.Locked) error { return nil })
	}},
	{name: "TryLock", names: "fresh", readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, _, fresh string) error {
		l, err := s.TryLock(fresh, fsstore.Shared)
		if err != nil {
			return err
		}
		return l.Unlock()
	}},
	{name: "Locked.Load", names: "id", readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return underLock(ctx, s, id, func(l *fsstore.Locked) error { return loadKept(l.Load(ctx)) })
	}},
	{name: "Locked.Save", names: "id", full: syscall.ENOSPC, readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return underLock(ctx, s, id, func(l *fsstore.Locked) error {
			sess, err := l.Load(ctx)
			if err != nil {
				return err
			}
			sess.Data = faultPayload
			return l.Save(ctx, sess)
		})
	}},
	{name: "Locked.Touch", names: "id", readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return underLock(ctx, s, id, func(l *fsstore.Locked) error { return l.Touch(ctx) })
	}},
	{name: "Locked.Delete", names: "id", readOnly: syscall.EROFS, removes: "id", do: func(ctx context.Context, s *fsstore.Store, id, _ string) error {
		return underLock(ctx, s, id, func(l *fsstore.Locked) error { return l.Delete(ctx) })
	}},
	{name: "Range", do: func(ctx context.Context, s *fsstore.Store, _, _ string) error {
		st, err := s.Range(ctx, func(*fsstore.Record) bool { return true })
		if err == nil && (st.Live != 2 || st.Errors != 0) {
			return fmt.Errorf("Range: %+v, want 2 live records and no errors", st)
		}
		return err
	}},
	{name: "Stats", readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, _, _ string) error {
		st, err := s.Stats(ctx, fsstore.StatsOptions{})
		if err == nil && (st.Live != 2 || st.Expired != 1) {
			return fmt.Errorf("Stats: %d live, %d expired; want 2 and 1", st.Live, st.Expired)
		}
		return err
	}},
	{name: "Sweep", readOnly: syscall.EROFS, removes: "stale", do: func(ctx context.Context, s *fsstore.Store, _, _ string) error {
		st, err := s.Sweep(ctx, fsstore.SweepOptions{})
		if err == nil && (st.Sessions != 1 || st.Errors != 0) {
			return fmt.Errorf("Sweep: %+v, want the expired session removed and no errors", st)
		}
		return err
	}},
	{name: "Rekey", names: "each", readOnlyNames: "store", full: syscall.ENOSPC, readOnly: syscall.EROFS, do: func(ctx context.Context, s *fsstore.Store, _, _ string) error {
		var errs []error
		st, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { errs = append(errs, err) }})
		if err != nil {
			return err
		}
		if st.Errors != int64(len(errs)) {
			return fmt.Errorf("Rekey: %+v, but OnError called %d times", st, len(errs))
		}
		if st.Errors == 0 && st.Rekeyed != 2 {
			return fmt.Errorf("Rekey: %+v, want 2 records rewritten", st)
		}
		return errors.Join(errs...)
	}},
}

// loadKept checks that a load returned the payload the tests save.
func loadKept(sess *fsstore.Session, err error) error {
	if err == nil && string(sess.Data) != "kept" {
		return fmt.Errorf("loaded %q, want %q", sess.Data, "kept")
	}
	return err
}

func TestFilesystemFaultsEveryOperation(t *testing.T) {
	for _, fault := range []string{"full", "read-only"} {
		for _, op := range faultOps {
			t.Run(fault+"/"+op.name, func(t *testing.T) {
				ctx := context.Background()
				dir := testenv.MountTmpfs(t, "1m")
				k1, k2 := mustKey(t, 1), mustKey(t, 2)
				// The sessions are written under k1, the store is used
				// under k2 (already deployed by its Open): Rekey has
				// work to do.
				old, err := fsstore.Open(dir, fsstore.WithKeys(k1))
				if err != nil {
					t.Fatal(err)
				}
				id, other, stale := newID(t), newID(t), newID(t)
				for _, sid := range []string{id, other, stale} {
					if err := old.Save(ctx, &fsstore.Session{ID: sid, Data: []byte("kept")}); err != nil {
						t.Fatal(err)
					}
				}
				long := time.Now().Add(-48 * time.Hour)
				if err := os.Chtimes(old.RecordPathForTest(stale), long, long); err != nil {
					t.Fatal(err)
				}
				old.Close()
				s := openDir(t, dir, fsstore.WithKeys(k2, k1))
				want := op.full
				switch fault {
				case "full":
					testenv.FillUp(t, dir)
				case "read-only":
					want = op.readOnly
					remount(t, dir, syscall.MS_RDONLY)
					t.Cleanup(func() { remount(t, dir, 0) })
				}

				fresh := newID(t)
				err = op.do(ctx, s, id, fresh)
				names := op.names
				if fault == "read-only" && op.readOnlyNames != "" {
					names = op.readOnlyNames
				}
				switch {
				case want == nil && err != nil:
					t.Errorf("%s on a %s filesystem: %v, want success", op.name, fault, err)
				case want != nil && !errors.Is(err, want):
					t.Errorf("%s on a %s filesystem: %v, want an error wrapping %v", op.name, fault, err, want)
				case want != nil && !strings.Contains(err.Error(), dir):
					t.Errorf("%s on a %s filesystem: %q does not name the store's path", op.name, fault, err)
				case want != nil && names == "each":
					for _, line := range strings.Split(err.Error(), "\n") {
						if !strings.Contains(line, s.RecordPathForTest(id)+":") && !strings.Contains(line, s.RecordPathForTest(other)+":") {
							t.Errorf("%s on a %s filesystem: %q does not name the record it is about", op.name, fault, line)
						}
					}
				case want != nil && names != "" && names != "store":
					rec := s.RecordPathForTest(map[string]string{"id": id, "fresh": fresh}[names])
					if !strings.Contains(err.Error(), rec+":") {
						t.Errorf("%s on a %s filesystem: %q does not name the session's record %s", op.name, fault, err, rec)
					}
				}
				t.Logf("%s: %v", op.name, err)

				removed := map[string]string{"id": id, "stale": stale}[op.removes]
				if err != nil {
					removed = ""
				}
				for name, sid := range map[string]string{"id": id, "other": other} {
					sess, err := s.Load(ctx, sid)
					switch {
					case sid == removed:
						if !errors.Is(err, fsstore.ErrNotFound) {
							t.Errorf("session %s after %s removed it: %v, want ErrNotFound", name, op.name, err)
						}
					case err != nil:
						t.Errorf("session %s saved before the fault, after %s: %v", name, op.name, err)
					case string(sess.Data) != "kept":
						t.Errorf("session %s saved before the fault, after %s: %q, want %q", name, op.name, sess.Data, "kept")
					}
				}
				_, err = os.Lstat(s.RecordPathForTest(stale))
				if gone := errors.Is(err, os.ErrNotExist); gone != (removed == stale) {
					t.Errorf("after %s, the expired record: %v; want it removed %v", op.name, err, removed == stale)
				}
				if left := tempFiles(t, dir); len(left) > 0 {
					t.Errorf("%s left temp files:\n%s", op.name, strings.Join(left, "\n"))
				}
			})
		}
	}
}
