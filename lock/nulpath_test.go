package lock_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestNULPathRefused holds that every exported function of lock taking a
// path refuses one holding a NUL byte with an error naming what it is and
// the byte, where a bare EINVAL printed the path with the NUL unseen.
func TestNULPathRefused(t *testing.T) {
	p := t.TempDir() + "/a\x00b"
	calls := []struct {
		name, what string
		call       func() error
	}{
		{"TryLockFile", "lock file", func() error { _, err := lock.TryLockFile(p); return err }},
		{"LockFile", "lock file", func() error { _, err := lock.LockFile(context.Background(), p); return err }},
		{"NewTable", "Config.Dir", func() error { _, err := lock.NewTable(lock.Config{Dir: p}); return err }},
		{"BreakExpiredLease", "lock directory", func() error {
			_, err := lock.BreakExpiredLease(p, "x", time.Second, time.Second)
			return err
		}},
		{"LeaseDir.BreakExpired", "lock directory", func() error {
			d := lock.NewLeaseDir(p)
			defer d.Close()
			_, err := d.BreakExpired("x", time.Second, time.Second)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil || !strings.Contains(err.Error(), c.what+` "`) || !strings.Contains(err.Error(), `a\x00b": the path holds a NUL byte`) {
				t.Fatalf("got %v, want an error naming the %s and the NUL byte", err, c.what)
			}
		})
	}
}
