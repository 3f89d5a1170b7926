//go:build linux

package fsstore_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A store shared by the users of one group (WithPermissions(0o660,
// 0o2770), a setgid top directory, umask 0007: the operator guide's
// "Permissions and user IDs"), and one host of another user of the group
// whose modes or umask differ, as a deploy that missed that host leaves
// it. Its records, shard directories and lock files would be its own
// user's alone, so the other users' hosts failed on every session that
// hashed there; and its first raise of the marker's max idle rewrote
// .sessfs 0600, after which no host of another user could open the store
// at all. Such a host is refused at Open, naming both settings, and the
// store stays usable by the others.
func TestGroupStoreRefusesHostWithoutGroupAccess(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run hosts as two users of one group")
	}
	const (
		group = 61000
		userA = 61001 // the hosts configured as the guide says
		userB = 61002 // the host whose deploy differs
	)
	base, binary := binaryForOthers(t)
	for _, tc := range []struct {
		name                   string
		fileMode, dirMode, umk string // host B's
		refused                bool
		says                   []string // what the refusal names
		storeFile, storeDir    string   // host A's, the store's ("": 660, 2770)
	}{
		{"default modes", "600", "700", "007", true, []string{"0600", "0700", "0660", "fsstore.WithPermissions(0o660, 0o2770)", "umask 0007"}, "", ""},
		{"umask 0022", "660", "2770", "022", true, []string{"0640", "umask", "0660"}, "", ""},
		{"same modes", "660", "2770", "007", false, nil, "", ""},
		// The advice is the store's own modes, not a fixed pair.
		{"default modes, store 664", "600", "700", "007", true, []string{"0664", "fsstore.WithPermissions(0o664, 0o2775)", "umask 0002"}, "664", "2775"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chown(dir, 0, group))
			must(t, os.Chmod(dir, os.ModeSetgid|0o770))
			host := func(uid int, fileMode, dirMode, umk, idle, load, save string) *child {
				return startChild(t, "modes", []string{"STORE_DIR=" + dir,
					"STORE_FILE_MODE=" + fileMode, "STORE_DIR_MODE=" + dirMode, "STORE_UMASK=" + umk,
					"STORE_IDLE=" + idle, "STORE_LOAD=" + load, "STORE_SAVE=" + save},
					asUser(uint32(uid), group, binary), func(c *exec.Cmd) { c.Dir = base })
			}
			idA, idB := newID(t), newID(t)
			storeFile, storeDir := "660", "2770"
			if tc.storeFile != "" {
				storeFile, storeDir = tc.storeFile, tc.storeDir
			}
			a := host(userA, storeFile, storeDir, "002", "", "", idA)
			a.Expect(t, "open ok")
			a.Expect(t, "save ok")
			a.Finish(t)

			// Host B, with a longer idle timeout than the store's (a raise
			// of the marker), loads A's session and saves one of its own.
			b := host(userB, tc.fileMode, tc.dirMode, tc.umk, "2h", idA, idB)
			got := b.Expect(t, "open ")
			if tc.refused {
				if !strings.HasPrefix(got, "open layout: ") {
					t.Errorf("host B (files %s, directories %s, umask %s) on a group-shared store: %q, want Open refused with ErrLayoutMismatch", tc.fileMode, tc.dirMode, tc.umk, got)
				}
				for _, w := range tc.says {
					if !strings.Contains(got, w) {
						t.Errorf("the refusal does not name %q: %s", w, got)
					}
				}
				t.Logf("host B: %s", got)
			} else {
				if got != "open ok" {
					t.Fatalf("host B with the store's modes: %q, want open ok", got)
				}
				b.Expect(t, "load ok")
				b.Expect(t, "save ok")
			}
			b.Finish(t)

			// Host A again: the store, its session and B's (when B
			// could save) are still its to use.
			load := idA
			if !tc.refused {
				load += "," + idB
			}
			a = host(userA, "660", "2770", "007", "", load, idA+","+newID(t))
			if got := a.Expect(t, "open "); got != "open ok" {
				t.Fatalf("host A after host B (files %s, directories %s, umask %s) ran: %q, want open ok", tc.fileMode, tc.dirMode, tc.umk, got)
			}
			for range strings.Split(load, ",") {
				if got := a.Expect(t, "load "); !strings.HasPrefix(got, "load ok") {
					t.Errorf("host A after host B ran: %q, want load ok", got)
				}
			}
			a.Expect(t, "save ok")
			a.Expect(t, "save ok")
			a.Finish(t)
		})
	}
}

// TestOneUsersStoreTakesOtherModes: group-writable files in a store whose
// top directory the group cannot enter share nothing with the group, so
// a host of the same user with the default modes is not refused there.
func TestOneUsersStoreTakesOtherModes(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run the hosts as a user of its own")
	}
	const user = 61003
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chown(dir, user, user))
	host := func(fileMode, dirMode, umk, load, save string) *child {
		return startChild(t, "modes", []string{"STORE_DIR=" + dir,
			"STORE_FILE_MODE=" + fileMode, "STORE_DIR_MODE=" + dirMode, "STORE_UMASK=" + umk,
			"STORE_LOAD=" + load, "STORE_SAVE=" + save},
			asUser(user, user, binary), func(c *exec.Cmd) { c.Dir = base })
	}
	id := newID(t)
	a := host("660", "2770", "007", "", id)
	a.Expect(t, "open ok")
	a.Expect(t, "save ok")
	a.Finish(t)
	b := host("600", "700", "022", id, "")
	if got := b.Expect(t, "open "); got != "open ok" {
		t.Fatalf("a host of the store's one user with the default modes: %q, want open ok", got)
	}
	b.Expect(t, "load ok")
	b.Finish(t)
}
