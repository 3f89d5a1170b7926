//go:build unix

package pass

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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

// TestOpenStoreMisreadFstabLine: a --dir missing or empty below the mount
// point of an fstab line separated by no-break spaces (pasted from a web
// page), which mount(8) reads as no entry, is "no store yet" as before
// (--missing-ok skips it), but warned about, naming the line: it was
// skipped in silence, run after run, while the applications kept their
// sessions on the local disk below the unmounted share.
func TestOpenStoreMisreadFstabLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		empty   bool
		mounted bool
		warned  bool
	}{
		{name: "missing", warned: true},
		{name: "empty", empty: true, warned: true},
		{name: "mounted", mounted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			mnt := filepath.Join(tmp, "mnt")
			mkdir(t, mnt)
			fstabFile := filepath.Join(tmp, "fstab")
			if err := os.WriteFile(fstabFile, []byte("fs-1.efs.eu-west-1.amazonaws.com:/\u00a0"+mnt+"\u00a0nfs4\u00a0nfsvers=4.1,_netdev\u00a00\u00a00\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(mnt, "sessions")
			if tc.empty {
				mkdir(t, dir)
			}
			var logged strings.Builder
			h := hostMounts{fstab.Hosts{Fstab: fstabFile, Mounted: func(string) bool { return tc.mounted }}}
			s, err := h.openStore(dir, slog.New(slog.NewTextHandler(&logged, nil)))
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrNoStore) {
				t.Errorf("err %v, want ErrNoStore: the line is no entry to mount(8), and the warning is a guess", err)
			}
			want := fstabFile + " line 1 names " + mnt + " (nfs4 fs-1.efs.eu-west-1.amazonaws.com:/) only if split at a no-break space (U+00A0)"
			if got := strings.Contains(logged.String(), strconv.Quote(want)[1:len(strconv.Quote(want))-1]) && strings.Contains(logged.String(), "level=WARN"); got != tc.warned {
				t.Errorf("warned %v, want %v; logged:\n%s", got, tc.warned, logged.String())
			}
		})
	}
}
