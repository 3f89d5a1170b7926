//go:build unix

package fsstore_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestGroupStoreNarrowModesWarnOnOpen: a store its group cannot share
// (created under a umask of 0022 with the shared-group recipe's
// WithPermissions(0o660, 0o2770): .sessfs 0640, data/ 2750) warned at its
// creation only; its owner's later Opens said nothing, while the hosts of
// the group's other users failed at Open. Each Open now warns, once, with
// the creation warning's advice, judging the marker, data/ and locks/;
// not where the store has the modes asked for, nor for a process that
// asks for no group access.
func TestGroupStoreNarrowModesWarnOnOpen(t *testing.T) {
	group := []fsstore.Option{fsstore.WithPermissions(0o660, 0o2770)}
	for _, tc := range []struct {
		name                string
		marker, data, locks os.FileMode // given to the store after its creation
		opts                []fsstore.Option
		want, wantNot       []string
	}{
		{"created under umask 0022", 0o640, os.ModeSetgid | 0o750, os.ModeSetgid | 0o750, group,
			[]string{"modes its group cannot share", ".sessfs is mode 0640", "data is mode 2750", "locks is mode 2750", "umask of 0007", "chmod -R g+rwX "}, nil},
		{"locks alone", 0o660, os.ModeSetgid | 0o770, os.ModeSetgid | 0o700, group, []string{"cannot share", "locks is mode 2700"}, []string{"data is mode"}},
		{"shared", 0o660, os.ModeSetgid | 0o770, os.ModeSetgid | 0o770, group, nil, []string{"cannot share"}},
		{"one user's store", 0o600, 0o700, 0o700, nil, nil, []string{"cannot share"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "store")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			// The guide's group directory (mkdir(2) drops the bits).
			if err := os.Chmod(dir, os.ModeSetgid|0o770); err != nil {
				t.Fatal(err)
			}
			s, err := fsstore.Open(dir, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			for name, mode := range map[string]os.FileMode{fsstore.MarkerFile: tc.marker, fsstore.DataDir: tc.data, fsstore.LockDir: tc.locks} {
				if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
					t.Fatal(err)
				}
			}
			for open := range 2 {
				var log syncBuffer
				s, err := fsstore.Open(dir, append(tc.opts, fsstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))...)
				if err != nil {
					t.Fatalf("Open %d: %v", open+1, err)
				}
				s.Close()
				got := log.String()
				for _, w := range tc.want {
					if !strings.Contains(got, w) {
						t.Errorf("Open %d logged %q, want it to name %q", open+1, got, w)
					}
				}
				for _, w := range tc.wantNot {
					if strings.Contains(got, w) {
						t.Errorf("Open %d logged %q, which names %q", open+1, got, w)
					}
				}
				if n := strings.Count(got, "cannot share"); len(tc.want) > 0 && n != 1 {
					t.Errorf("Open %d warned %d times, want once: %q", open+1, n, got)
				}
			}
		})
	}
}
