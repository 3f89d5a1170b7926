//go:build unix

package pass

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// statInfo is a FileInfo of the given mode and owner.
type statInfo struct {
	mode fs.FileMode
	uid  uint32
}

func (i statInfo) Name() string       { return "x" }
func (i statInfo) Size() int64        { return 0 }
func (i statInfo) Mode() fs.FileMode  { return i.mode }
func (i statInfo) ModTime() time.Time { return time.Time{} }
func (i statInfo) IsDir() bool        { return i.mode.IsDir() }
func (i statInfo) Sys() any           { return &syscall.Stat_t{Uid: i.uid} }

// TestReplaceable: another user's textfile in a directory with the sticky
// bit (a shared 1777 directory) is refused before the pass, as the rename
// over it after the pass fails with EPERM, unless this user owns the
// directory or is privileged (root; on Linux CAP_FOWNER, whatever the
// uid); without the sticky bit any file may be replaced.
func TestReplaceable(t *testing.T) {
	const me, other = 1000, 2000
	sticky := fs.ModeDir | fs.ModeSticky | 0o777
	for _, tc := range []struct {
		name      string
		dir, file statInfo
		euid      int
		priv      stickyPriv
		refused   bool
	}{
		{"another user's file, sticky directory", statInfo{sticky, 0}, statInfo{0o644, other}, me, privNone, true},
		{"own file, sticky directory", statInfo{sticky, 0}, statInfo{0o644, me}, me, privNone, false},
		{"own sticky directory", statInfo{sticky, me}, statInfo{0o644, other}, me, privNone, false},
		{"root", statInfo{sticky, other}, statInfo{0o644, other}, 0, privOverrides, false},
		{"privileged, not root", statInfo{sticky, 0}, statInfo{0o644, other}, me, privOverrides, false},
		{"root, unprivileged", statInfo{sticky, me}, statInfo{0o644, other}, 0, privNone, true},
		{"not sticky", statInfo{fs.ModeDir | 0o777, 0}, statInfo{0o644, other}, me, privNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := replaceable("/d/sessgc.prom", tc.dir, tc.file, tc.euid, tc.priv)
			if (err != nil) != tc.refused || err != nil && (cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "belongs to uid 2000, in /d, a directory with the sticky bit")) {
				t.Errorf("replaceable: %v; want refused %v, with a usage error", err, tc.refused)
			}
		})
	}
}

// TestCheckOwnerNamesTheCommand: sessgc run as root on another user's
// store is refused, and the refusal says how to run it as that user. It
// said "sudo -u '#990' sessgc ...": the uid where the owner has a name
// (install-cron's refusal names it), and a bare sessgc, which sudo's PATH
// does not find on Amazon Linux 2 and RHEL (/usr/local/bin left out), so
// the advised command failed with "command not found".
func TestCheckOwnerNamesTheCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: CheckOwner refuses only when sessgc runs as root")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("no path for this binary: %v", err)
	}
	named, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	namedUID, _ := strconv.ParseUint(named.Uid, 10, 32)
	unnamed := uint32(0)
	for uid := uint32(64000); uid < 65000; uid++ {
		if _, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err != nil {
			unnamed = uid
			break
		}
	}
	if unnamed == 0 {
		t.Skip("every uid from 64000 to 64999 has a name")
	}
	for _, tc := range []struct {
		uid  uint32
		want string
	}{
		{uint32(namedUID), "sudo -u nobody " + exe + " ..."},
		{unnamed, fmt.Sprintf("sudo -u '#%d' %s ...", unnamed, exe)},
	} {
		dir := t.TempDir()
		marker := filepath.Join(dir, fsstore.MarkerFile)
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(marker, int(tc.uid), int(tc.uid)); err != nil {
			t.Fatal(err)
		}
		err := CheckOwner(dir)
		if err == nil || cmdutil.ExitCode(err) != cmdutil.ExitStore || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckOwner of uid %d's store as root: %v; want exit %d and %q", tc.uid, err, cmdutil.ExitStore, tc.want)
		}
	}
}
