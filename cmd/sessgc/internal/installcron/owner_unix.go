//go:build unix

package installcron

import (
	"fmt"
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"syscall"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// checkStoreUser refuses files that would run sessgc as name on a store
// at dir that this host has and that user could not sweep: as root, a
// store another user owns, which sessgc run refuses (pass.CheckOwner);
// as another user, one whose files it can neither open nor create
// usable lock files in, unless the store is shared by a group (its marker
// group-writable, fsstore.WithPermissions) that the user is in. Every run
// would fail (exit 3): cron mail every few minutes, and no sweep. Where
// dir holds no store that this process can look at (not mounted here, not
// created yet, not searchable by this user), or the user is unknown here
// (warnMissing warns), the files may be for other hosts, and nothing is
// checked.
func checkStoreUser(dir, name string) error {
	fi, err := os.Stat(path.Join(dir, fsstore.MarkerFile))
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil || uint32(uid) == st.Uid {
		return nil
	}
	owner, fix := fmt.Sprintf("uid %d", st.Uid), fmt.Sprintf("pass --user with the name of uid %d", st.Uid)
	if o, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10)); err == nil {
		owner, fix = fmt.Sprintf("%s (uid %d)", o.Username, st.Uid), "pass --user "+o.Username
	}
	if uid == 0 {
		return cmdutil.UsageErrorf("--user %s: the store %s belongs to %s, and sessgc run as root refuses a store another user owns (exit 3 on every run), as files root created there would be unusable by the applications; %s", name, dir, owner, fix)
	}
	if fi.Mode().Perm()&0o020 != 0 {
		gids, _ := u.GroupIds()
		if slices.Contains(gids, strconv.FormatUint(uint64(st.Gid), 10)) {
			return nil // a group-shared store, and the user is in its group
		}
	}
	return cmdutil.UsageErrorf("--user %s: the store %s belongs to %s and is not shared with a group %s is in: every run as %s would fail (exit 3), or create files the applications cannot use; %s, the user the applications run as", name, dir, owner, name, name, fix)
}
