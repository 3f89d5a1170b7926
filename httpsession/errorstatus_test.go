package httpsession

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
)

// TestDefaultErrorStatus: the default error handler's status for each
// kind of store failure. A write in doubt is 504, never 503 (whose
// promise is "not saved, retry"), whatever it also matches.
func TestDefaultErrorStatus(t *testing.T) {
	inDoubt := fmt.Errorf("fsstore: save: %w (%w); its write was under way: %w", fsstore.ErrUnavailable, context.DeadlineExceeded, fsstore.ErrInDoubt)
	savedLockLost := fmt.Errorf("fsstore: save: saved, but %w: %w", fsstore.ErrLockLost, fsstore.ErrInDoubt)
	// As fsstore words it: the I/O error would be a 503 on its own.
	savedUnsynced := fmt.Errorf("fsstore: save: published, but its directory was not synced: fsync dir d: %w: %w", syscall.EIO, fsstore.ErrInDoubt)
	for _, tc := range []struct {
		name       string
		err        error
		code       int
		retryAfter bool
	}{
		{"unavailable", fmt.Errorf("x: %w", fsstore.ErrUnavailable), http.StatusServiceUnavailable, true},
		{"lock lost before the rename", fmt.Errorf("x: %w", fsstore.ErrLockLost), http.StatusServiceUnavailable, true},
		{"given up during the rename", inDoubt, http.StatusGatewayTimeout, false},
		{"saved, but lock lost", savedLockLost, http.StatusGatewayTimeout, false},
		{"saved, directory not synced", savedUnsynced, http.StatusGatewayTimeout, false},
		{"conflict", fmt.Errorf("x: %w", fsstore.ErrConflict), http.StatusConflict, false},
		{"disk full", fmt.Errorf("x: %w", syscall.ENOSPC), http.StatusServiceUnavailable, true},
		// This host's mount alone, which its readiness probe then takes
		// out of rotation: a retry reaches another host.
		{"read-only file system", fmt.Errorf("x: %w", syscall.EROFS), http.StatusServiceUnavailable, true},
		// Every host meets a permission error alike: no retry helps.
		{"permission denied", fmt.Errorf("x: %w", syscall.EACCES), http.StatusInternalServerError, false},
		{"lock wait timed out", fmt.Errorf("x: %w", fsstore.ErrLocked), http.StatusServiceUnavailable, true},
		{"lock cap", fmt.Errorf("x: %w", fsstore.ErrTooManyLocks), http.StatusServiceUnavailable, true},
		{"request deadline passed", fmt.Errorf("x: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, true},
		{"store closed", fmt.Errorf("x: %w", fsstore.ErrClosed), http.StatusServiceUnavailable, true},
		{"out of file descriptors", fmt.Errorf("x: %w", syscall.EMFILE), http.StatusServiceUnavailable, true},
		{"too large", fmt.Errorf("x: %w", fsstore.ErrTooLarge), http.StatusInternalServerError, false},
		{"other", errors.New("x"), http.StatusInternalServerError, false},
		// The client went away: not a server error, unless the store
		// gave up on its file server meanwhile (an outage stays a 503).
		{"client gone during the lock wait", fmt.Errorf("httpsession: lock session: %w", fmt.Errorf("%w: %w", fsstore.ErrLocked, context.Canceled)), StatusClientClosedRequest, false},
		{"client gone during the load", fmt.Errorf("fsstore: load: %w", context.Canceled), StatusClientClosedRequest, false},
		{"client gone, file server not answering", fmt.Errorf("fsstore: load: %w (%w)", fsstore.ErrUnavailable, context.Canceled), http.StatusServiceUnavailable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manager{}
			m.cfg.log = slog.New(slog.NewTextHandler(io.Discard, nil))
			rec := httptest.NewRecorder()
			m.defaultErrorHandler(rec, httptest.NewRequest("GET", "/", nil), tc.err)
			if rec.Code != tc.code || (rec.Header().Get("Retry-After") != "") != tc.retryAfter {
				t.Errorf("status %d, Retry-After %q; want %d, Retry-After set: %v", rec.Code, rec.Header().Get("Retry-After"), tc.code, tc.retryAfter)
			}
			if got := StatusCode(tc.err); got != tc.code {
				t.Errorf("StatusCode: %d; want %d, as the default error handler answers", got, tc.code)
			}
		})
	}
	// Every code this system has for a full and a read-only file system
	// (fserr's table: on Windows, ERROR_DISK_FULL, ERROR_WRITE_PROTECT and
	// theirs, which match none of syscall's Unix names) is one host's
	// passing trouble, as ENOSPC and EROFS are: 503.
	for _, code := range append(fserr.ReadOnlyErrnos(), fserr.NoSpaceErrnos()...) {
		err := fmt.Errorf("fsstore: save: %w", &fs.PathError{Op: "write", Path: "data/00/x", Err: code})
		if got := StatusCode(err); got != http.StatusServiceUnavailable {
			t.Errorf("StatusCode(%v) = %d; want 503", err, got)
		}
	}
	if got := StatusCode(nil); got != http.StatusOK {
		t.Errorf("StatusCode(nil) = %d; want 200", got)
	}
}
