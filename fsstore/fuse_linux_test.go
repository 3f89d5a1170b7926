package fsstore_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestFUSEFlockStoreWarns: a store that began on flock (on local disk, or
// on a FUSE mount before Auto picked leases there) keeps flock when opened
// through a FUSE mount, where flock may exclude this host's processes
// alone. Open says so, and how to move the store; a store begun on the
// FUSE mount uses leases and is not warned about.
func TestFUSEFlockStoreWarns(t *testing.T) {
	ctx := t.Context()
	src, fresh := t.TempDir(), t.TempDir()
	s, err := fsstore.Open(src, fsstore.WithLockStrategy(lock.Flock))
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, newID(t), fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	s.Close()
	mps := testenv.BindfsMounts(t, src, 1)
	mps = append(mps, testenv.BindfsMounts(t, fresh, 1)...)
	for i, want := range []bool{true, false} {
		var logs bytes.Buffer
		s, err := fsstore.Open(mps[i], fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		strategy := s.LockStrategy()
		s.Close()
		if got := strings.Contains(logs.String(), "flock on a FUSE mount"); got != want {
			t.Errorf("store %d on a FUSE mount, strategy %v: warned %v, want %v; log:\n%s", i, strategy, got, want, logs.String())
		}
	}
}
