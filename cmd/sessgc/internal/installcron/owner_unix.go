//go:build unix

package installcron

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/shellquote"
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
//
// Group membership is what this host's group lookup lists: /etc/group
// alone in a static build (os/user without cgo), which does not see LDAP
// or sssd groups; or, where that does not list it, what "id -G" lists
// (idGroups), which does. group, when not "", is the operator's word that the
// user is in the store's group (a numeric gid, or a name that resolves
// here): it is taken where the lookup does not list the membership, but
// only for the store's own group of a group-shared store, and never for
// root; the owner checks stand as they are. id follows ctx: a Ctrl-C or
// a SIGTERM while it waits for a directory service ends install-cron with
// the interruption, and nothing written. marker is the store's marker as
// lookDir saw it (nil for none): nothing else here looks at dir than,
// for --user root run by root, the file sessgc run makes and removes to
// see whose root's files are there (pass.RootFilesAre).
func checkStoreUser(ctx context.Context, opts *InstallOptions, marker fs.FileInfo) error {
	dir, name, group := opts.Dir, opts.User, opts.Group
	var rootFilesAre func(string, uint32) bool
	switch {
	case opts.rootFilesAre != nil:
		rootFilesAre = *opts.rootFilesAre
	case os.Geteuid() == 0:
		rootFilesAre = pass.RootFilesAre
	}
	fi := marker
	if fi == nil {
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
		owner, fix = fmt.Sprintf("%s (uid %d)", o.Username, st.Uid), "pass --user "+shellquote.Quote(o.Username)
	}
	// Root's files are the store's user's here (an EFS access point), as
	// sessgc run finds: root's runs are not refused. Nor are another
	// user's: an access point (NFS all_squash) makes every user's files
	// its own uid's, which may have no name on this host (65532 in
	// deploy/kubernetes), and "pass --user with the name of uid N" sent
	// the operator after a user that did not exist, for a store any
	// user's runs sweep there. NFS root_squash with anonuid maps root
	// alone, which this probe cannot tell: warned, with the check.
	mapped := rootFilesAre != nil && rootFilesAre(dir, st.Uid)
	if mapped && uid != 0 {
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: --user %s is not the owner of the store %s (%s), but this file server makes root's files uid %d's, as an EFS access point (or NFS all_squash) makes every user's: there, runs as %s sweep it. Under NFS root_squash with anonuid, which maps root alone, they would fail (exit 3): check with sudo -u %s %s stats --dir %s, or pass --user root\n",
			name, dir, owner, st.Uid, name, shellquote.Quote(name), shellquote.Quote(opts.Binary), shellquote.Quote(dir))
		return nil
	}
	if uid == 0 {
		if mapped {
			return nil
		}
		return cmdutil.UsageErrorf("--user %s: the store %s belongs to %s, and sessgc run as root refuses a store another user owns (exit 3 on every run), as files root created there would be unusable by the applications; %s", name, dir, owner, fix)
	}
	if fi.Mode().Perm()&0o020 == 0 {
		return cmdutil.UsageErrorf("--user %s: the store %s belongs to %s and is not shared with a group %s is in (its marker is not group-writable): every run as %s would fail (exit 3), or create files the applications cannot use; %s, the user the applications run as", name, dir, owner, name, name, fix)
	}
	gid := strconv.FormatUint(uint64(st.Gid), 10)
	gname := "gid " + gid
	g, gerr := user.LookupGroupId(gid)
	if gerr == nil {
		gname = fmt.Sprintf("%s (gid %s)", g.Name, gid)
	}
	if group != "" {
		return vouched(dir, name, group, gid, gname)
	}
	gids, err := u.GroupIds()
	if slices.Contains(gids, gid) {
		return nil // a group-shared store, and the user is in its group
	}
	idSays, idErr := idGroups(ctx, name)
	if slices.Contains(idSays, gid) {
		return nil // a group this process's lookup cannot see (LDAP, sssd)
	}
	if ctx.Err() != nil {
		// Not a finding about the user's groups: the operator stopped
		// install-cron while id waited.
		return pass.Interrupted(ctx, fmt.Sprintf("while id -G %s listed the user's groups; nothing was written", name))
	}
	check := fmt.Sprintf("check with: id %s", shellquote.Quote(name))
	if idErr == nil {
		check = fmt.Sprintf("id -G %s does not list it either", name)
	}
	// Say why the lookup may be wrong: a group it does not know, or
	// groups it could not list, is no evidence that the user is not in it.
	var seen string
	switch {
	case err != nil:
		seen = fmt.Sprintf("this host's group lookup could not list %s's groups (%v)", name, err)
	case gerr != nil:
		seen = fmt.Sprintf("this host's group lookup does not know gid %s, so it lists %s outside it", gid, name)
	default:
		seen = fmt.Sprintf("%s is not in it as this host's group lookup lists its groups", name)
	}
	return cmdutil.UsageErrorf("--user %s: the store %s belongs to %s and is shared with group %s, but %s: every run as %s outside that group would fail (exit 3), or create files the applications cannot use. "+
		"If %s is not in that group, add it (usermod -a -G %s %s) or %s, the user the applications run as. "+
		"If it is, through LDAP or sssd, which a static sessgc does not read (it reads /etc/passwd and /etc/group only; %s), pass --group %s",
		name, dir, owner, gname, seen, name, name, shellquote.Quote(gid), shellquote.Quote(name), fix, check, shellquote.Quote(gid))
}

// idWait bounds id(1): a directory service that does not answer must
// not hold install-cron.
const idWait = 10 * time.Second

// idPipeWait bounds the wait for id's output to close once id is killed:
// a process it started (an NSS helper) may hold it open for as long as it
// runs, and the bound would not hold.
const idPipeWait = time.Second

// idGroups returns the gids of user as "id -G" lists them. id is linked
// to the C library and asks NSS, which sees the LDAP and sssd groups that
// os/user in a static build (/etc/group only) does not: where it lists
// the store's group, the operator need not vouch for it with --group.
// An error (no id, an unknown user, no answer within idWait, ctx's end)
// returns no groups; id is killed when ctx ends.
func idGroups(ctx context.Context, user string) ([]string, error) {
	id, err := exec.LookPath("id")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, idWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, id, "-G", "--", user)
	cmd.WaitDelay = idPipeWait
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			// The kill's "signal: killed" says nothing of why.
			return nil, fmt.Errorf("id -G %s: %w (%w)", user, context.Cause(ctx), err)
		}
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// vouched checks the group an operator passed with --group for a user
// the store at dir is shared with by group gid (gname: how to name it):
// it must be that group, by number or by a name that resolves to it.
func vouched(dir, name, group, gid, gname string) error {
	if _, err := strconv.ParseUint(group, 10, 32); err != nil {
		g, err := user.LookupGroup(group)
		if err != nil {
			return cmdutil.UsageErrorf("--group %s: %v: this host's group lookup does not know that name (a static sessgc reads /etc/group only, not LDAP or sssd); give the store's group by its number: --group %s", group, err, gid)
		}
		group = g.Gid
	}
	if group != gid {
		return cmdutil.UsageErrorf("--group %s: the store %s is shared with group %s, not with gid %s: pass --group %s if %s is in it", group, dir, gname, group, shellquote.Quote(gid), name)
	}
	return nil
}

// warnNoStoreYet warns where dir on this host is a directory with no
// store in it: checkStoreUser could check nothing there, and the files
// would fail quietly until much later. Empty, it is most likely a fresh
// volume that the applications create the store in when they first open
// it: until then every run is refused (exit 3, mailed by cron) unless the
// files say --missing-ok; and the store will then be the user's of the
// application that created it, so that runs as another --user fail from
// then on. The directory's owner, where it is neither --user nor root, is
// named as the likely one. Not empty, with no marker, or a directory of
// a store, it is refused by every run, --missing-ok or not. One it could
// not list (an error part-way included) is said to be so. It takes what
// it knows of dir from look (lookDir), and makes no call into dir.
func warnNoStoreYet(opts *InstallOptions, look dirLook) {
	dir, fi := opts.Dir, look.dir
	switch {
	case fi == nil || !fi.IsDir():
		return // not on this host, or not mounted here: may be for others
	case !look.markerGone || look.created:
		return // a store (checkStoreUser), or a marker run will judge
	case look.inside != nil:
		// A directory of a store (its data directory, empty while the
		// store holds no session) holds no marker either, but every run
		// refuses it, as pass.OpenStore does: said in its words, where
		// the warning below took it for a fresh volume and said to pass
		// --missing-ok.
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: %v, as every run will (exit 3), --missing-ok or not\n", look.inside)
		return
	case look.listErr != nil:
		// Said, where it was passed over: a listing that fails part-way
		// (EIO from a file server) may hide the entries that make every
		// run refuse --dir, and whether it holds no store yet is unknown.
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: could not list --dir %s (%v): it holds no %s marker, and whether it is empty (a store not created yet) or holds other files (refused by every run, exit 3) was not checked\n", dir, look.listErr, fsstore.MarkerFile)
		return
	}
	w := opts.IO.ErrOut
	if !look.empty {
		fmt.Fprintf(w, "sessgc: warning: %s is not empty and holds no %s marker: every run refuses it (exit 3), --missing-ok or not; give the store's own directory as --dir\n", dir, fsstore.MarkerFile)
		return
	}
	if !opts.MissingOK {
		fmt.Fprintf(w, "sessgc: warning: %s holds no sessfs store yet: every run is refused (exit 3) until an application creates it; pass --missing-ok to have the runs do nothing until then\n", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	u, err := user.Lookup(opts.User)
	if !ok || st.Uid == 0 || err != nil || u.Uid == strconv.FormatUint(uint64(st.Uid), 10) {
		return
	}
	o, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return // a uid without a name here says little of the applications
	}
	fmt.Fprintf(w, "sessgc: warning: --user %s could not be checked against the store's owner, as %s holds no store yet: the store will belong to the user of the application that creates it, and every run as another user will fail (exit 3); its directory belongs to %s (uid %d): if the applications run as %s, pass --user %s\n",
		opts.User, dir, o.Username, st.Uid, o.Username, shellquote.Quote(o.Username))
}

// storeOwner is the name of the user that owns marker, the marker of the
// store at --dir on this host, or "" where there is none here (nil) or its
// owner has no name.
func storeOwner(marker fs.FileInfo) string {
	if marker == nil {
		return ""
	}
	st, ok := marker.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}
