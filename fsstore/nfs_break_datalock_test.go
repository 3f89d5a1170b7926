//go:build unix && sessfs_break_datalock

package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

// Broken variant for the NFS suite: the lock is a flock on the session's
// record file itself instead of on a stripe lock file. Save replaces the
// record by rename, so the next locker opens (and locks) the new file while
// the previous holder still holds its lock on the old one: two holders at
// once, and lost updates. Saves are the store's own.

const nfsBreakage = "datalock"

type nfsHeld interface {
	Load(ctx context.Context) (*fsstore.Session, error)
	Save(ctx context.Context, sess *fsstore.Session) error
	Unlock() error
}

func nfsSave(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
	return s.Save(ctx, sess)
}

type dataHeld struct {
	s  *fsstore.Store
	id string
	f  *os.File
}

func (h *dataHeld) Load(ctx context.Context) (*fsstore.Session, error) { return h.s.Load(ctx, h.id) }

func (h *dataHeld) Save(ctx context.Context, sess *fsstore.Session) error {
	return h.s.Save(ctx, sess)
}

func (h *dataHeld) Unlock() error {
	if h.f == nil {
		return nil
	}
	unix.Flock(int(h.f.Fd()), unix.LOCK_UN)
	err := h.f.Close()
	h.f = nil
	return err
}

func nfsLock(ctx context.Context, s *fsstore.Store, id string) (nfsHeld, error) {
	p := s.RecordPathForTest(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &dataHeld{s: s, id: id, f: f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("flock %s: %w: %w", p, fsstore.ErrLocked, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
