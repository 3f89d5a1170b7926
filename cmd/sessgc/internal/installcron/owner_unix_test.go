//go:build unix

package installcron

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestRefusesUserNotOwningStore: install-cron wrote files running sessgc
// as a --user that the store at --dir on this host does not belong to:
// as root, every run is refused (pass.CheckOwner, exit 3), as rekey's is;
// as another user outside the store's group, every run fails to open it.
// The store is here, so this host is one the files are for: they are
// refused (exit 2), naming the store's owner, and nothing is written. A
// member of the group of a group-shared store may sweep it; a --dir with
// no store on this host is not checked (the files may be for others).
func TestRefusesUserNotOwningStore(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to give the store to another user")
	}
	for _, name := range []string{"root", "nobody", "daemon", "bin"} {
		if _, err := user.Lookup(name); err != nil {
			t.Skipf("no user %s on this host: %v", name, err)
		}
	}
	nobody, _ := user.Lookup("nobody")
	daemon, _ := user.Lookup("daemon")
	newStore := func(shared bool) string {
		dir := filepath.Join(t.TempDir(), "store")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		var opts []fsstore.Option
		if shared {
			opts = append(opts, fsstore.WithPermissions(0o660, 0o2770))
		}
		s, err := fsstore.Open(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if shared {
			// As the applications' umask (007) leaves it: the process's
			// umask takes the group's write bit off.
			if err := os.Chmod(filepath.Join(dir, fsstore.MarkerFile), 0o660); err != nil {
				t.Fatal(err)
			}
		}
		gid := nobody.Gid
		if shared {
			gid = daemon.Gid // daemon's own group
		}
		err = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			uid, _ := strconv.Atoi(nobody.Uid)
			gid, _ := strconv.Atoi(gid)
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	private, shared := newStore(false), newStore(true)
	for _, tc := range []struct {
		name, dir, user string
		want            string // "": accepted
	}{
		{"root", private, "root", "belongs to nobody (uid 65534), and sessgc run as root refuses"},
		{"owner", private, "nobody", ""},
		{"another user", private, "daemon", "belongs to nobody (uid 65534) and is not shared with a group daemon is in"},
		{"root, shared", shared, "root", "sessgc run as root refuses"},
		{"group member, shared", shared, "daemon", ""},
		{"not a group member, shared", shared, "bin", "is not shared with a group bin is in"},
		{"no store here", filepath.Join(t.TempDir(), "elsewhere"), "daemon", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write := t.TempDir()
			_, _, err := execute(t, "--dir "+tc.dir+" --user "+tc.user+" --write "+write)
			ents, _ := os.ReadDir(write)
			if tc.want == "" {
				if err != nil || len(ents) != 1 {
					t.Errorf("--user %s: %v, wrote %d files; want the cron entry", tc.user, err, len(ents))
				}
				return
			}
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "pass --user nobody") {
				t.Errorf("--user %s: %v; want a usage error with %q and the fix, --user nobody", tc.user, err, tc.want)
			}
			if len(ents) != 0 {
				t.Errorf("--user %s refused, but wrote %v", tc.user, ents)
			}
		})
	}
}
