package lock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// TestErrorsNameThePath: an error of the lock package that reaches an
// operator names the path it concerns, so that a process with several
// stores (or a log line read later) says which one: a lease file with
// no owner record read by LeaseDir.Holder, a Verify after Unlock, a lock
// asked of a closed table, a lock asked with an empty key. They said
// "not a lock file: not a lease record: ...", "lock 0001: verify after
// unlock", "lock: table closed" and "lock 0001: empty key".
func TestErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	newTable := func(t *testing.T, cfg lock.Config) *lock.Table {
		tab, err := lock.NewTable(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tab.Close() })
		return tab
	}
	for _, tc := range []struct {
		name string
		do   func(t *testing.T) (path string, err error)
		is   error
	}{
		{"Holder of a lease file without a record", func(t *testing.T) (string, error) {
			p := filepath.Join(dir, "bad.lease")
			if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
			d := lock.NewLeaseDir(dir)
			defer d.Close()
			_, err := d.Holder("bad")
			return p, err
		}, lock.ErrNotLockFile},
		{"Verify after Unlock", func(t *testing.T) (string, error) {
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
			h, err := tab.TryLock("0001", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			h.Unlock()
			return filepath.Join(dir, "0001"), h.Verify()
		}, lock.ErrLockLost},
		{"TryLock on a closed table", func(t *testing.T) (string, error) {
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
			tab.Close()
			_, err := tab.TryLock("0002", "k", lock.Exclusive)
			return filepath.Join(dir, "0002"), err
		}, lock.ErrClosed},
		{"Lock on a closed table", func(t *testing.T) (string, error) {
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
			tab.Close()
			_, err := tab.Lock(context.Background(), "0003", "k", lock.Exclusive)
			return filepath.Join(dir, "0003"), err
		}, lock.ErrClosed},
		{"Lock with an empty key", func(t *testing.T) (string, error) {
			tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
			_, err := tab.TryLock("0004", "", lock.Exclusive)
			return filepath.Join(dir, "0004"), err
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, err := tc.do(t)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v: does not match %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("%q does not name %s", err, path)
			}
		})
	}
}
