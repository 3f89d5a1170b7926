//go:build unix

package fsstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestOwnerHintEPERM: EPERM (an immutable or append-only file or
// directory, a security module) is refused whatever the owner and mode,
// root included: the store's hint and the keys file's name the attribute,
// where they sent the operator to chown, to run as another user, or to
// root_squash, none of which changes anything.
func TestOwnerHintEPERM(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "data", "ab", "x")
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hint string
		want string
	}{
		{"store", ownerHint(dir, &fs.PathError{Op: "open", Path: rec, Err: syscall.EPERM}), "chattr -i -a " + filepath.Dir(rec)},
		{"store, rename", ownerHint(dir, &os.LinkError{Op: "rename", Old: rec + ".tmp", New: rec, Err: syscall.EPERM}), "chattr -i -a " + filepath.Dir(rec)},
		{"store, no path", ownerHint(dir, syscall.EPERM), "chattr -i -a " + dir},
		{"keys file", keysOpenHint(keys, &fs.PathError{Op: "open", Path: keys, Err: syscall.EPERM}, false), "chattr -i -a " + keys + " " + dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, want := range []string{"refused whatever the owner and mode", "immutable", tc.want} {
				if !strings.Contains(tc.hint, want) {
					t.Errorf("%q does not say %q", tc.hint, want)
				}
			}
			for _, not := range []string{"chown -R", "chown USER", "run it as", "root_squash"} {
				if strings.Contains(tc.hint, not) {
					t.Errorf("%q says %q, which does not help", tc.hint, not)
				}
			}
		})
	}
}
