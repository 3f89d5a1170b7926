//go:build unix && sessfs_break_inplace

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/record"
)

// Broken variant for the NFS suite: saves rewrite the record in place
// (open with O_TRUNC, write, close), as PHP's files handler does, instead
// of writing a temp file and renaming it. Readers on other hosts can then
// see an empty or partly written record, and a writer killed mid-save
// leaves one behind. Locks are the store's own.

const nfsBreakage = "inplace"

type nfsHeld interface {
	Load(ctx context.Context) (*fsstore.Session, error)
	Save(ctx context.Context, sess *fsstore.Session) error
	Unlock() error
}

func nfsSave(ctx context.Context, s *fsstore.Store, sess *fsstore.Session) error {
	p := s.RecordPathForTest(sess.ID)
	if sess.Created.IsZero() {
		sess.Created = time.Now()
	}
	h := record.Header{Created: sess.Created.UnixNano(), Version: sess.Version + 1, Bind: record.Bind(sess.ID)}
	b := record.Append(nil, &h, sess.Data)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	sess.Version = h.Version
	return nil
}

type inplaceHeld struct {
	*fsstore.Locked
	s *fsstore.Store
}

func (h inplaceHeld) Save(ctx context.Context, sess *fsstore.Session) error {
	return nfsSave(ctx, h.s, sess)
}

func nfsLock(ctx context.Context, s *fsstore.Store, id string) (nfsHeld, error) {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return nil, err
	}
	return inplaceHeld{l, s}, nil
}
