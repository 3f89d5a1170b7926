//go:build unix

package pass

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/fstab"
)

// TestOpenStoreShareNotMounted: a --dir that is missing or empty because
// the share /etc/fstab mounts above it is not mounted (it failed at boot)
// is refused as such, with or without --missing-ok: it never matches
// ErrNoStore, and the error names the mount point and what to do. Mounted,
// or not in fstab, it is "no store yet" as before.
func TestOpenStoreShareNotMounted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fstab   string // MNT stands for the mount point
		mounted bool
		dir     string // MNT stands for the mount point
		empty   bool   // dir exists and is empty
		noStore bool
		msg     string
	}{
		{name: "missing below an unmounted share", fstab: "fs-1.efs.eu-west-1.amazonaws.com:/ MNT nfs4 nfsvers=4.1,hard,_netdev 0 0", dir: "MNT/sessions",
			msg: "store directory MNT/sessions does not exist: MNT, which FSTAB mounts (nfs4 fs-1.efs.eu-west-1.amazonaws.com:/), is not mounted on this host: mount it (mount MNT)"},
		{name: "empty below an unmounted share", fstab: "server:/export MNT nfs defaults 0 0", dir: "MNT/sessions", empty: true,
			msg: "not a sessfs store (no .sessfs file); refusing to touch it; MNT, which FSTAB mounts (nfs server:/export), is not mounted on this host"},
		{name: "the unmounted mount point itself", fstab: "server:/export MNT nfs4 defaults 0 0", dir: "MNT", empty: true, msg: "MNT, which FSTAB mounts"},
		{name: "escaped space in the mount point", fstab: `server:/export MNT\040x nfs4 defaults 0 0`, dir: "MNT x/sessions", msg: "MNT x, which FSTAB mounts (nfs4 server:/export), is not mounted on this host: mount it (mount 'MNT x')"},
		{name: "the longest entry holding dir", fstab: "/dev/sdb1 MNT ext4 defaults 0 2\nserver:/ MNT/efs nfs4 defaults 0 0", dir: "MNT/efs/sessions", msg: "MNT/efs, which FSTAB mounts (nfs4 server:/)"},
		{name: "mounted", fstab: "server:/export MNT nfs4 defaults 0 0", mounted: true, dir: "MNT/sessions", noStore: true, msg: "is the share mounted on this host?"},
		{name: "mounted, empty", fstab: "server:/export MNT nfs4 defaults 0 0", mounted: true, dir: "MNT/sessions", empty: true, noStore: true, msg: "is the share mounted on this host?"},
		{name: "not in fstab", fstab: "# nothing\n/dev/vda1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\nserver:/ MNT-other nfs4 defaults 0 0", dir: "MNT/sessions", noStore: true, msg: "does not exist (is the share mounted"},
		{name: "reached through a symbolic link", fstab: "server:/export MNT nfs4 defaults 0 0", dir: "LINK/sessions", msg: "MNT, which FSTAB mounts"},
		{name: "noauto, left unmounted on purpose", fstab: "server:/export MNT nfs4 noauto,_netdev 0 0", dir: "MNT/sessions", noStore: true, msg: "does not exist (is the share mounted"},
		{name: "noauto with a systemd automount", fstab: "server:/export MNT nfs4 noauto,x-systemd.automount 0 0", dir: "MNT/sessions", msg: "MNT, which FSTAB mounts"},
		{name: "no fstab", dir: "MNT/sessions", empty: true, noStore: true, msg: "(no .sessfs file); refusing to touch it (is the share mounted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			mnt := filepath.Join(tmp, "mnt")
			mkdir(t, mnt)
			fstabFile := filepath.Join(tmp, "fstab")
			if tc.fstab != "" {
				if err := os.WriteFile(fstabFile, []byte(strings.ReplaceAll(tc.fstab, "MNT", mnt)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(tmp, "link")
			if err := os.Symlink(mnt, link); err != nil {
				t.Fatal(err)
			}
			dir := strings.NewReplacer("MNT", mnt, "LINK", link).Replace(tc.dir)
			if tc.empty && dir != mnt {
				mkdir(t, dir)
			}
			h := hostMounts{fstab.Hosts{Fstab: fstabFile, Mounted: func(string) bool { return tc.mounted }}}
			s, err := h.openStore(dir, slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			msg := strings.NewReplacer("MNT", mnt, "FSTAB", fstabFile).Replace(tc.msg)
			if errors.Is(err, ErrNoStore) != tc.noStore || cmdutil.ExitCode(err) != cmdutil.ExitStore || !strings.Contains(err.Error(), msg) {
				t.Errorf("err %v:\nwant ErrNoStore %v, exit %d, %q", err, tc.noStore, cmdutil.ExitStore, msg)
			}
		})
	}
}
