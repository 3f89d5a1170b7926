package fsstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenLayoutErrors: every refusal of Open that ErrNotStore's and
// ErrLayoutMismatch's documentation names can be told apart with errors.Is.
func TestOpenLayoutErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) // prepares dir before the Open under test
		opts  []fsstore.Option
		want  error
	}{
		{
			name: "no marker, WithCreate(false)",
			opts: []fsstore.Option{fsstore.WithCreate(false)},
			want: fsstore.ErrNotStore,
		},
		{
			name: "marker that does not parse",
			setup: func(t *testing.T, dir string) {
				must(t, os.WriteFile(filepath.Join(dir, fsstore.MarkerFile), []byte("not a marker\n"), 0o600))
			},
			want: fsstore.ErrNotStore,
		},
		{
			name: "unknown layout version",
			setup: func(t *testing.T, dir string) {
				must(t, os.WriteFile(filepath.Join(dir, fsstore.MarkerFile),
					[]byte("sessfs-store 99\nshard-depth 1\nlock-stripes 1024\nmax-idle-seconds 1440\n"), 0o600))
			},
			want: fsstore.ErrNotStore,
		},
		{
			name:  "other shard depth",
			setup: openWith(fsstore.WithShardDepth(1)),
			opts:  []fsstore.Option{fsstore.WithShardDepth(2)},
			want:  fsstore.ErrLayoutMismatch,
		},
		{
			name:  "other stripe count",
			setup: openWith(fsstore.WithLockStripes(64)),
			opts:  []fsstore.Option{fsstore.WithLockStripes(128)},
			want:  fsstore.ErrLayoutMismatch,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			s, err := fsstore.Open(dir, tc.opts...)
			if s != nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: err = %v, want errors.Is %v", err, tc.want)
			}
		})
	}
}

func openWith(opts ...fsstore.Option) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		s, err := fsstore.Open(dir, opts...)
		must(t, err)
		must(t, s.Close())
	}
}
