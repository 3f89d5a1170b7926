//go:build unix

package pass

import (
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
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
