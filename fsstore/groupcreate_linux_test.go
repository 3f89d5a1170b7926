//go:build linux

package fsstore_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The operator guide's shared-group recipe ("Permissions and user IDs": a
// setgid directory of the group, WithPermissions(0o660, 0o2770), umask
// 0007) with the umask left at 0022 on the host that happens to create the
// store. It made a store its group could not share (.sessfs 0640, data/
// 2750) and said nothing; the hosts of the group's other users then failed
// at Open with a permission error that told them to chown the store to
// one user. The creating host now warns, naming the umask to use and the
// chmod that makes the store the group's, and that chmod does.
func TestGroupStoreCreatedUnderNarrowingUmaskWarns(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run hosts as two users of one group")
	}
	const (
		group = 61010
		userA = 61011
		userB = 61012
	)
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	groupDir(t, dir, group, os.ModeSetgid|0o770)
	host := func(uid int, fileMode, dirMode, umk, load, save string) *child {
		return startChild(t, "modes", []string{"STORE_DIR=" + dir,
			"STORE_FILE_MODE=" + fileMode, "STORE_DIR_MODE=" + dirMode, "STORE_UMASK=" + umk,
			"STORE_LOAD=" + load, "STORE_SAVE=" + save},
			asUser(uint32(uid), group, binary), func(c *exec.Cmd) { c.Dir = base })
	}
	idA, idB := newID(t), newID(t)

	a := host(userA, "660", "2770", "022", "", idA)
	a.Expect(t, "open ok")
	a.Expect(t, "save ok")
	a.Finish(t)
	warned := a.Stderr.String()
	for _, w := range []string{"modes its group cannot share", "umask 0022", "0640", "2750", "umask of 0007", "chmod -R g+rwX " + dir} {
		if !strings.Contains(warned, w) {
			t.Errorf("the creating host's log does not name %q: %q", w, warned)
		}
	}

	b := host(userB, "660", "2770", "007", idA, idB)
	if got := b.Expect(t, "open "); !strings.HasPrefix(got, "open permission: ") || strings.Contains(got, "chown -R USER") {
		t.Errorf("another user's host of the group before the chmod: %q, want a permission error that does not say to chown the store", got)
	}
	b.Finish(t)

	// The warning's advice.
	if out, err := exec.Command("chmod", "-R", "g+rwX", dir).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v: %s", err, out)
	}
	b = host(userB, "660", "2770", "007", idA, idB)
	if got := b.Expect(t, "open "); got != "open ok" {
		t.Fatalf("another user's host of the group after the chmod: %q, want open ok", got)
	}
	b.Expect(t, "load ok")
	b.Expect(t, "save ok")
	b.Finish(t)

	// No warning where the umask lets the modes through.
	dir2 := filepath.Join(base, "store2")
	groupDir(t, dir2, group, os.ModeSetgid|0o770)
	dir = dir2
	a = host(userA, "660", "2770", "007", "", idA)
	a.Expect(t, "open ok")
	a.Expect(t, "save ok")
	a.Finish(t)
	if s := a.Stderr.String(); strings.Contains(s, "cannot share") {
		t.Errorf("warned under umask 0007: %q", s)
	}
}

// A store that one user's host made, with the default modes, in a
// directory its group shares (the guide's install -d -o root -g app -m
// 2770): the hosts of the group's other users cannot open it. Their error
// said the directory was root's and to chown the store to one user, which
// would lock out the user whose store it is; it now names the store's
// owner and mode and both ways out.
func TestGroupDirectoryOneUsersStoreHint(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run hosts as two users of one group")
	}
	const (
		group = 61020
		userA = 61021
		userB = 61022
	)
	base, binary := binaryForOthers(t)
	for _, tc := range []struct {
		name                   string
		top                    os.FileMode // the group's directory
		fileMode, dirMode, umk string      // the creating host's
		marker                 string      // the mode it gives .sessfs
		want                   []string    // besides what every case wants
	}{
		{"default modes", os.ModeSetgid | 0o770, "600", "700", "022", "0600", nil},
		{"group modes, group read only", os.ModeSetgid | 0o770, "640", "2750", "022", "0640", nil},
		// The advice is the guide's modes whatever else the directory
		// lets: not the world's bits (session data world-readable),
		// and the setgid bit it lacks, without which the records and
		// directories of each host are its user's primary group's.
		{"world-readable group directory", os.ModeSetgid | 0o775, "600", "700", "022", "0600", []string{"umask of 0007"}},
		{"group directory without setgid", 0o770, "600", "700", "022", "0600", []string{"umask of 0007", "chmod g+s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			groupDir(t, dir, group, tc.top)
			host := func(uid int, fileMode, dirMode, umk, save string) *child {
				return startChild(t, "modes", []string{"STORE_DIR=" + dir,
					"STORE_FILE_MODE=" + fileMode, "STORE_DIR_MODE=" + dirMode, "STORE_UMASK=" + umk,
					"STORE_SAVE=" + save},
					asUser(uint32(uid), group, binary), func(c *exec.Cmd) { c.Dir = base })
			}
			a := host(userA, tc.fileMode, tc.dirMode, tc.umk, newID(t))
			a.Expect(t, "open ok")
			a.Expect(t, "save ok")
			a.Finish(t)

			b := host(userB, "660", "2770", "007", newID(t))
			got := b.Expect(t, "open ")
			if !strings.HasPrefix(got, "open permission: ") {
				t.Fatalf("another user's host on a one-user store: %q, want a permission error", got)
			}
			if strings.Contains(got, "chown -R USER") {
				t.Errorf("the error tells the group's host to give the store to one user: %s", got)
			}
			for _, w := range append([]string{"uid 61021", tc.marker, "fsstore.WithPermissions(0o660, 0o2770)", "chmod -R g+rwX", "run every app server and sessgc as uid 61021"}, tc.want...) {
				if !strings.Contains(got, w) {
					t.Errorf("the error does not name %q: %s", w, got)
				}
			}
			if strings.Contains(got, "0o664") || strings.Contains(got, "umask of 0002") {
				t.Errorf("the error advises modes that let the world read the sessions: %s", got)
			}
			b.Finish(t)
		})
	}
}

// The warning of a store created under a narrowing umask, in a group's
// directory without the setgid bit: each host's records and directories
// are its user's primary group's there, so chmod g+rwX alone does not make
// the store the group's; the warning names the chgrp and the setgid bit
// too, and following it lets another user's host of the group in.
func TestGroupStoreCreatedUnderNarrowingUmaskNoSetgidWarns(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run hosts as two users of one group")
	}
	const (
		group = 61030
		userA = 61031
		userB = 61032
	)
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	groupDir(t, dir, group, 0o770)
	host := func(uid int, umk, save string) *child {
		return startChild(t, "modes", []string{"STORE_DIR=" + dir,
			"STORE_FILE_MODE=660", "STORE_DIR_MODE=2770", "STORE_UMASK=" + umk, "STORE_SAVE=" + save},
			asUser(uint32(uid), group, binary), func(c *exec.Cmd) { c.Dir = base })
	}
	a := host(userA, "022", newID(t))
	a.Expect(t, "open ok")
	a.Expect(t, "save ok")
	a.Finish(t)
	warned := a.Stderr.String()
	for _, w := range []string{"modes its group cannot share", "chgrp -R 61030 " + dir, "chmod -R g+rwX " + dir, "chmod g+s", "directories mode 0750"} {
		if !strings.Contains(warned, w) {
			t.Errorf("the creating host's log does not name %q: %q", w, warned)
		}
	}
	share := exec.Command("sh", "-c", "chgrp -R 61030 "+dir+" && chmod -R g+rwX "+dir+" && find "+dir+" -type d -exec chmod g+s {} +")
	if out, err := share.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", share.Args, err, out)
	}
	b := host(userB, "007", newID(t))
	if got := b.Expect(t, "open "); got != "open ok" {
		t.Fatalf("another user's host of the group after the warning's commands: %q, want open ok", got)
	}
	b.Expect(t, "save ok")
	b.Finish(t)
}

// A store its group shares, made as the guide says, where a host of its
// first user later ran under a umask of 0022: Open does not judge that
// host (the marker and data/ are its own user's), and the shard directory
// it made is its user's alone. Another user's host of the group then
// fails to save there, and its error said the directory was root's and to
// chown the store to one user, which would lock out every other user; it
// now says to make the store the group's again.
func TestGroupStoreShardOneUsersHint(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run hosts as two users of one group")
	}
	const (
		group = 61040
		userA = 61041
		userB = 61042
	)
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	groupDir(t, dir, group, os.ModeSetgid|0o770)
	host := func(uid int, umk, save string) *child {
		return startChild(t, "modes", []string{"STORE_DIR=" + dir,
			"STORE_FILE_MODE=660", "STORE_DIR_MODE=2770", "STORE_UMASK=" + umk, "STORE_SAVE=" + save},
			asUser(uint32(uid), group, binary), func(c *exec.Cmd) { c.Dir = base })
	}
	a := host(userA, "007", "")
	a.Expect(t, "open ok")
	a.Finish(t)
	id := newID(t)
	a = host(userA, "022", id) // the same user's host, left on 0022
	a.Expect(t, "open ok")
	a.Expect(t, "save ok")
	a.Finish(t)

	b := host(userB, "007", id)
	b.Expect(t, "open ok")
	got := b.Expect(t, "save ")
	if !strings.HasPrefix(got, "save permission: ") {
		t.Fatalf("another user's host saving in a shard directory one user made: %q, want a permission error", got)
	}
	if strings.Contains(got, "chown -R USER") {
		t.Errorf("the error tells the group's host to give the store to one user: %s", got)
	}
	for _, w := range []string{"chmod -R g+rwX " + dir, "umask of 0007"} {
		if !strings.Contains(got, w) {
			t.Errorf("the error does not name %q: %s", w, got)
		}
	}
	b.Finish(t)

	// The error's advice.
	if out, err := exec.Command("sh", "-c", "chgrp -R 61040 "+dir+" && chmod -R g+rwX "+dir).CombinedOutput(); err != nil {
		t.Fatalf("chgrp, chmod: %v: %s", err, out)
	}
	b = host(userB, "007", id)
	b.Expect(t, "open ok")
	if got := b.Expect(t, "save "); got != "save ok" {
		t.Errorf("another user's host of the group after the error's commands: %q, want save ok", got)
	}
	b.Finish(t)
}

// Modes that let the group read, not write (WithPermissions(0o640,
// 0o2750)), under a umask that takes the group's bits away: the warning's
// chmod gives the group what was asked for, not write access on top.
func TestGroupReadStoreCreatedUnderNarrowingUmaskWarns(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a host as a user of a group")
	}
	const (
		group = 61050
		userA = 61051
	)
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	groupDir(t, dir, group, os.ModeSetgid|0o770)
	a := startChild(t, "modes", []string{"STORE_DIR=" + dir,
		"STORE_FILE_MODE=640", "STORE_DIR_MODE=2750", "STORE_UMASK=077", "STORE_SAVE=" + newID(t)},
		asUser(userA, group, binary), func(c *exec.Cmd) { c.Dir = base })
	a.Expect(t, "open ok")
	a.Expect(t, "save ok")
	a.Finish(t)
	warned := a.Stderr.String()
	for _, w := range []string{"modes its group cannot share", "umask of 0027", "chmod -R g+rX " + dir} {
		if !strings.Contains(warned, w) {
			t.Errorf("the creating host's log does not name %q: %q", w, warned)
		}
	}
	if strings.Contains(warned, "g+rwX") {
		t.Errorf("the warning gives the group write access it was not asked for: %q", warned)
	}
}

// groupDir makes dir, root's and group's, with mode: the directory the
// operator guide's shared-group recipe makes with install -d -o root -g.
func groupDir(t *testing.T, dir string, group int, mode os.FileMode) {
	t.Helper()
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chown(dir, 0, group))
	must(t, os.Chmod(dir, mode))
}
