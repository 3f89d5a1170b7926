package stats

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// mountOf names the file system that holds dir: from /proc/self/mountinfo,
// which gives the type as mount(8) shows it ("nfs4", "ext4") with the
// source and mount point; where that cannot be read (no /proc), the
// type alone, from statfs's magic number. dir is the open store's: on a
// hung mount both calls wait for the server, so they run under the
// census's watchdog.
func mountOf(dir string) mount {
	if m, err := mountinfo.Lookup(dir); err == nil {
		return mount{Type: m.FSType, Source: m.Source, Point: m.Point}
	}
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return mount{}
	}
	if name, ok := magics[uint32(st.Type)]; ok {
		return mount{Type: name}
	}
	return mount{Type: fmt.Sprintf("0x%x", uint32(st.Type))}
}

// magics names the statfs magic numbers of the file systems a store is
// most often on. ext2, ext3 and ext4 share one. Keyed by the 32 bits
// statfs gives, which some architectures type as signed.
var magics = map[uint32]string{
	unix.NFS_SUPER_MAGIC:       "nfs",
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	unix.FUSE_SUPER_MAGIC:      "fuse",
	unix.CIFS_SUPER_MAGIC:      "cifs",
	unix.SMB2_SUPER_MAGIC:      "smb3",
}
