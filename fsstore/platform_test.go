package fsstore

import (
	"errors"
	"strings"
	"testing"
)

// TestUnsupportedSaysWhereToRun: on Windows, Open's refusal says where the
// application can run instead; elsewhere it names the platforms the store
// runs on, and no Windows remedy. Both are ErrNotSupported.
func TestUnsupportedSaysWhereToRun(t *testing.T) {
	for _, tc := range []struct {
		goos, want, not string
	}{
		{"windows", "run the application under WSL 2", ""},
		{"openbsd", "(linux, darwin and freebsd are)", "WSL"},
	} {
		err := unsupportedErr(tc.goos, "amd64")
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), tc.want) || tc.not != "" && strings.Contains(err.Error(), tc.not) {
			t.Errorf("%s: %v; want ErrNotSupported saying %q", tc.goos, err, tc.want)
		}
	}
}
