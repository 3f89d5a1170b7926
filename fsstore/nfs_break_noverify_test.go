//go:build unix && sessfs_break_noverify

package fsstore_test

import (
	"context"

	"github.com/sessfs/sessfs/fsstore"
)

// Broken variant for the NFS suite: a locked save does not verify that the
// lock is still held (it calls Store.Save instead of Locked.Save), so a
// host that lost its lock with its NFS lease overwrites the work of the
// host that took the lock over.

const nfsBreakage = "noverify"

type nfsHeld interface {
	Load(ctx context.Context) (*fsstore.Session, error)
	Save(ctx context.Context, sess *fsstore.Session) error
	Unlock() error
}

func nfsSave(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
	return s.Save(ctx, sess)
}

type noverifyHeld struct {
	*fsstore.Locked
	s *fsstore.Store
}

func (h noverifyHeld) Save(ctx context.Context, sess *fsstore.Session) error {
	return h.s.Save(ctx, sess)
}

func nfsLock(ctx context.Context, s *fsstore.Store, id string) (nfsHeld, error) {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return nil, err
	}
	return noverifyHeld{l, s}, nil
}
