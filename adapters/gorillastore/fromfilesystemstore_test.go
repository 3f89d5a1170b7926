package gorillastore_test

import (
	"errors"
	"io/fs"
	"net/http"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestSwitchFromFilesystemStore: the switch from gorilla's FilesystemStore
// that docs/migrating.md describes. A user logged in on the old store
// starts a fresh session on the first request to the new code, with no
// error from Get; during a rolling deploy, an old host given the cookie
// the new code issued answers Get with a new session and the error of the
// file it does not have, which the document warns of.
func TestSwitchFromFilesystemStore(t *testing.T) {
	oldStore := sessions.NewFilesystemStore(t.TempDir(), key)
	plainHTTP(oldStore.Options)
	oldApp := echoCounterApp(oldStore, nil)
	ours, _ := open(t, t.TempDir(), fakeclock.New())
	plainHTTP(ours.Options)
	newApp := echoCounterApp(ours, nil)

	code, body, old := postInc(oldApp, nil)
	if code != http.StatusOK || body != "1" || old == nil {
		t.Fatalf("FilesystemStore app: %d %q, cookie %v", code, body, old)
	}
	if code, body, _ = postInc(oldApp, old); code != http.StatusOK || body != "2" {
		t.Fatalf("FilesystemStore app, second request: %d %q; want 2", code, body)
	}
	// Its get is clean: the new code starts the user afresh.
	if s, err := ours.Get(request(old), "app"); err != nil || !s.IsNew {
		t.Fatalf("after the switch, Get of the FilesystemStore cookie: new %v, %v; want a new session, no error", s.IsNew, err)
	}
	code, body, fresh := postInc(newApp, old)
	if code != http.StatusOK || body != "1" {
		t.Fatalf("after the switch: %d %q; want 200 and a fresh session", code, body)
	}
	if code, body, _ := postInc(newApp, fresh); code != http.StatusOK || body != "2" {
		t.Fatalf("next request: %d %q; want 2", code, body)
	}
	// Back on an old host during the rollout: its own session is not
	// there for the new code's ID, and Get says so with an error.
	s, err := oldStore.Get(request(fresh), "app")
	if !errors.Is(err, fs.ErrNotExist) || !s.IsNew {
		t.Errorf("old host, new code's cookie: new %v, %v; want a new session and the missing file's error", s.IsNew, err)
	}
}
