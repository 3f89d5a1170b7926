package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestDescriptorsHintKeepsIdentity: the words descriptorsHint adds to an
// operation's error out of descriptors change nothing a caller matches:
// every sentinel, context error and OS error type the error matched it
// still matches (httpsession's StatusCode and the adapters go by
// errors.Is alone), the hint is said once however often the error passes
// through it (an Open inside a bounded call, a sweep's OnError error that
// is also its result), and any other error is returned as it is.
func TestDescriptorsHintKeepsIdentity(t *testing.T) {
	emfile := &fs.PathError{Op: "open", Path: "data/ab/x", Err: syscall.EMFILE}
	enfile := &os.LinkError{Op: "rename", Old: "a", New: "b", Err: syscall.ENFILE}
	for _, tc := range []struct {
		name string
		err  error
		is   []error // what err matches, and its hinted form must too
		hint string  // "" for an error that must come back as it is
	}{
		{"path EMFILE", emfile, []error{syscall.EMFILE}, "(EMFILE)"},
		{"link ENFILE", enfile, []error{syscall.ENFILE}, "(ENFILE)"},
		{"bare errno", syscall.EMFILE, []error{syscall.EMFILE}, "(EMFILE)"},
		{"in doubt", partlyDeleted(fmt.Errorf("fsstore: delete: %w", emfile), true), []error{ErrInDoubt, syscall.EMFILE}, "(EMFILE)"},
		{"lock lost", fmt.Errorf("fsstore: save: %w: %w", ErrLockLost, emfile), []error{ErrLockLost, syscall.EMFILE}, "(EMFILE)"},
		{"locked", &turnWaitError{err: emfile}, []error{ErrLocked, syscall.EMFILE}, "(EMFILE)"},
		{"unavailable", fmt.Errorf("fsstore: load: %w: %w", ErrUnavailable, emfile), []error{ErrUnavailable, syscall.EMFILE}, "(EMFILE)"},
		{"canceled", fmt.Errorf("fsstore: lock: %w (%w)", emfile, context.Canceled), []error{context.Canceled, syscall.EMFILE}, "(EMFILE)"},
		{"not found", fmt.Errorf("fsstore: load: %w", ErrNotFound), []error{ErrNotFound}, ""},
		{"corrupt", fmt.Errorf("fsstore: load: %w", ErrCorrupt), []error{ErrCorrupt}, ""},
		{"refused", fmt.Errorf("fsstore: load: %w", ErrRefused), []error{ErrRefused}, ""},
		{"locked, no errno", fmt.Errorf("fsstore: try-lock: %w", ErrLocked), []error{ErrLocked}, ""},
		{"deadline", fmt.Errorf("fsstore: lock: %w: %w", ErrLocked, context.DeadlineExceeded), []error{ErrLocked, context.DeadlineExceeded}, ""},
		{"ENOSPC", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, []error{syscall.ENOSPC}, ""},
		{"EACCES", &fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, []error{fs.ErrPermission}, ""},
		{"nil", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := descriptorsHint(tc.err)
			if tc.hint == "" {
				if got != tc.err {
					t.Fatalf("descriptorsHint(%v) = %v; want the error as it is", tc.err, got)
				}
				return
			}
			for _, target := range tc.is {
				if !errors.Is(got, target) {
					t.Errorf("hinted %q does not match %v", got, target)
				}
			}
			var pe *fs.PathError
			var le *os.LinkError
			var errno syscall.Errno
			if errors.As(tc.err, &pe) != errors.As(got, &pe) || errors.As(tc.err, &le) != errors.As(got, &le) || !errors.As(got, &errno) {
				t.Errorf("hinted %q: errors.As to *fs.PathError, *os.LinkError or syscall.Errno differs from %q's", got, tc.err)
			}
			if errors.Is(got, ErrUnavailable) && !errors.Is(tc.err, ErrUnavailable) {
				t.Errorf("hinted %q matches ErrUnavailable, which %q did not", got, tc.err)
			}
			msg := got.Error()
			if !strings.HasPrefix(msg, tc.err.Error()) || strings.Count(msg, tc.hint) != 1 {
				t.Errorf("hinted %q; want %q and then the hint, said once", msg, tc.err.Error())
			}
			// Through it again, or wrapped and through it again (an
			// operation inside another), the hint is not said twice.
			for _, again := range []error{descriptorsHint(got), descriptorsHint(fmt.Errorf("fsstore: open: %w", got))} {
				if n := strings.Count(again.Error(), tc.hint); n != 1 {
					t.Errorf("hinted twice: %q says the hint %d times", again, n)
				}
			}
		})
	}
}
