package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// Failures with a fix of their own are told apart in the outcome label, so
// that an alert can say what to do; the rest stay "error".
func TestOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want fsstore.Outcome
	}{
		{"nil", nil, fsstore.OutcomeOK},
		{"not found", fmt.Errorf("load: %w", fsstore.ErrNotFound), fsstore.OutcomeNotFound},
		{"lock cap", fmt.Errorf("lock x: %w: cap", fsstore.ErrTooManyLocks), fsstore.OutcomeTooManyLocks},
		{"lock wait", fmt.Errorf("x: %w", context.DeadlineExceeded), fsstore.OutcomeLockTimeout},
		{"permission", &fs.PathError{Op: "open", Path: "p", Err: syscall.EACCES}, fsstore.OutcomePermission},
		{"idle timeout", fmt.Errorf("save: %w: 1ms", fsstore.ErrInvalidIdle), fsstore.OutcomeInvalid},
		{"too large", fmt.Errorf("save: %w", fsstore.ErrTooLarge), fsstore.OutcomeInvalid},
		{"read-only lock", fsstore.ErrReadOnly, fsstore.OutcomeInvalid},
		{"other", errors.New("boom"), fsstore.OutcomeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fsstore.OutcomeOfForTest(tc.err); got != tc.want {
				t.Errorf("outcome of %v = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	seen := map[string]bool{}
	for _, o := range fsstore.Outcomes() {
		if seen[o.String()] {
			t.Errorf("outcome label %q used twice", o)
		}
		seen[o.String()] = true
	}
}
