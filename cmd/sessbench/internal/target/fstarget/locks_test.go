package fstarget

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestInfoLocks: a directory target says how its store locks, as it says
// its durability. A mount where flock does not reach the file server (an
// NFS mount with local_lock=flock, a FUSE mount) has the store lock with
// lease files instead, whose full request cycle costs more round trips:
// the report must say which the run measured. Read through --json's
// field, "locks".
func TestInfoLocks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the store does not run on Windows")
	}
	tests := []struct {
		name string
		opts []fsstore.Option
		want string
	}{
		{"default on local disk", nil, "flock"},
		{"lease", []fsstore.Option{fsstore.WithLockStrategy(lock.Lease)}, "lease"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := Open("t", t.TempDir(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			b, err := json.Marshal(tg.Info())
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			if err := json.Unmarshal(b, &fields); err != nil {
				t.Fatal(err)
			}
			if got := fields["locks"]; got != tt.want {
				t.Errorf("locks = %v, want %q (info %s)", got, tt.want, b)
			}
		})
	}
}
