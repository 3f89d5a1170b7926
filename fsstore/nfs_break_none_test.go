//go:build unix && !sessfs_break_inplace && !sessfs_break_datalock && !sessfs_break_noverify

package fsstore_test

import (
	"context"

	"github.com/sessfs/sessfs/fsstore"
)

// The NFS suite (nfs_test.go) saves and locks sessions through nfsSave and
// nfsLock. This file, compiled when no sessfs_break_* build tag is set,
// makes them the store's own Save and Lock. Each nfs_break_*_test.go file
// replaces them with a deliberately broken implementation, to show that
// the suite notices the breakage (docs/testing.md, "What the NFS suite
// caught").

// nfsBreakage names the broken variant compiled in; "" for the real store.
const nfsBreakage = ""

// nfsHeld is a session held under its lock, as the scenarios use it.
type nfsHeld interface {
	Load(ctx context.Context) (*fsstore.Session, error)
	Save(ctx context.Context, sess *fsstore.Session) error
	Unlock() error
}

// nfsSave saves sess without a lock (Store.Save).
func nfsSave(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
	return s.Save(ctx, sess)
}

// nfsLock locks id exclusively (Store.Lock).
func nfsLock(ctx context.Context, s *fsstore.Store, id string) (nfsHeld, error) {
	return s.Lock(ctx, id, fsstore.Exclusive)
}
