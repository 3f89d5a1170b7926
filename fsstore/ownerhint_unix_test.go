//go:build unix

package fsstore

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// Root is refused only where the file server maps it to another user (an
// NFS export with root_squash, the default) or where it lacks
// CAP_DAC_OVERRIDE (a container that drops it): a chown run as that root
// is refused too, so the hint for root is to run as the store's user, not
// the chown it gives another user of a root-owned store; and it names both
// causes, as package lock's hint does.
func TestOwnerHintRootSquashed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the hint for a root process refused")
	}
	dir := t.TempDir() // root's
	err := &fs.PathError{Op: "open", Path: dir, Err: fs.ErrPermission}
	got := ownerHint(dir, err)
	if strings.Contains(got, "chown") || !strings.Contains(got, "root_squash") || !strings.Contains(got, "CAP_DAC_OVERRIDE") {
		t.Errorf("ownerHint for root refused in root's directory: %q, want it to name root_squash and CAP_DAC_OVERRIDE, and no chown", got)
	}
	if want := fmt.Sprintf("(uid %d)", 0); !strings.Contains(got, want) {
		t.Errorf("ownerHint: %q, want it to name %s", got, want)
	}
	// The app user's store: run as that user.
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if got := ownerHint(dir, err); strings.Contains(got, "chown") || !strings.Contains(got, "run it as the user that owns "+dir) {
		t.Errorf("ownerHint for root refused in another user's directory: %q, want it to say to run as that user", got)
	}
}
