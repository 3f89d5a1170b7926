package fsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLockedSaveOverlappingDelete: a save under the session's lock whose
// temp file was created after an unlocked Delete began, and is renamed
// after it returned, fails with nothing written, rather than bring the
// deleted session back: the Delete removes the fenced temp file again
// after its last unlink of the name (see Store.Delete).
func TestLockedSaveOverlappingDelete(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir())
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tempMade, resume, saved := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	s.SetLockCheckHookForTest(func(stage string) {
		if stage == "rename" {
			close(tempMade)
			<-resume // the rename after the Delete returned
		}
	})
	steps := 0
	s.SetDeleteHookForTest(func(step string) {
		if steps++; steps == 1 {
			// The Delete's first removal of the temp file is done: the
			// save creates its own now.
			sess.Data = []byte("v2")
			go func() { saved <- l.Save(ctx, sess) }()
			<-tempMade
		}
	})
	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	close(resume)
	if err := <-saved; err == nil {
		t.Errorf("Locked.Save renamed after the Delete returned succeeded; want it failed, nothing written")
	}
	if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load after the Delete = %q, %v; want ErrNotFound (the session deleted)", got.Data, err)
	}
}
