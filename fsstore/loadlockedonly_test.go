package fsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// Locked.LoadLockedOnly answers as Locked.Load does: a record saved is
// read, one missing is ErrNotFound, deleted too. What it drops, the looks
// again on NFS for a name another host's unlocked save leaves missing for
// a moment, shows in round trips: the scsstore budgets of the NFS suite
// (SCSRPCBudgets, "scs Commit, new session, guard").
func TestLoadLockedOnly(t *testing.T) {
	for _, nfs := range []bool{false, true} {
		s := openTemp(t)
		if nfs {
			s.SetNFSForTest()
		}
		ctx := context.Background()
		id := "load-locked-only-session-0001"
		load := func() (*fsstore.Session, error) {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			return l.LoadLockedOnly(ctx)
		}
		if _, err := load(); !errors.Is(err, fsstore.ErrNotFound) {
			t.Errorf("nfs=%v: a session never saved: %v; want ErrNotFound", nfs, err)
		}
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("saved")}); err != nil {
			t.Fatal(err)
		}
		if got, err := load(); err != nil || string(got.Data) != "saved" {
			t.Errorf("nfs=%v: a saved session: %v, %v", nfs, got, err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := load(); !errors.Is(err, fsstore.ErrNotFound) {
			t.Errorf("nfs=%v: a deleted session: %v; want ErrNotFound", nfs, err)
		}
	}
}
