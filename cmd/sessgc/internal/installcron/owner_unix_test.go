//go:build unix

package installcron

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	uid, _ := strconv.Atoi(nobody.Uid)
	nobodyGid, _ := strconv.Atoi(nobody.Gid)
	daemonGid, _ := strconv.Atoi(daemon.Gid) // daemon's own group
	private, shared := ownedStore(t, uid, nobodyGid, false), ownedStore(t, uid, daemonGid, true)
	for _, tc := range []struct {
		name, dir, user string
		want            string // "": accepted
	}{
		{"root", private, "root", "belongs to nobody (uid 65534), and sessgc run as root refuses"},
		{"owner", private, "nobody", ""},
		{"another user", private, "daemon", "belongs to nobody (uid 65534) and is not shared with a group daemon is in"},
		{"root, shared", shared, "root", "sessgc run as root refuses"},
		{"group member, shared", shared, "daemon", ""},
		{"not a group member, shared", shared, "bin", "is shared with group daemon (gid " + daemon.Gid + "), but bin is not in it as this host's group lookup lists its groups"},
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

// ownedStore makes a store owned by uid and gid, group-shared (marker and
// directories group-writable) or not.
func ownedStore(t *testing.T, uid, gid int, shared bool) string {
	t.Helper()
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
	err = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGroupUnknownToLookup: a store shared with a group that this host's
// group lookup does not know, as a static sessgc (os/user without cgo,
// /etc/group only) does not know an LDAP or sssd group, and --user in it
// there. install-cron refused it as "not shared with a group daemon is
// in", which was false and left no way on. The refusal now says that the
// lookup does not know the group and how to go on: add the user to it, or
// vouch for the membership with --group and the numeric gid, which is
// accepted for the store's own group of a group-shared store alone, and
// never for root. Where "id -G" (NSS, which sees LDAP and sssd) lists
// the group, no --group is needed: it was, the operator told to run id
// and then pass what it printed.
func TestGroupUnknownToLookup(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to give the store to another user")
	}
	const gid = 4242
	for _, g := range []string{"4242", "4243"} {
		if _, err := user.LookupGroupId(g); err == nil {
			t.Skipf("gid %s has a name on this host", g)
		}
	}
	if _, err := user.Lookup("daemon"); err != nil {
		t.Skipf("no user daemon on this host: %v", err)
	}
	shared, private := ownedStore(t, 65534, gid, true), ownedStore(t, 65534, gid, false)
	for _, tc := range []struct {
		name, args string
		want       []string // in the refusal; none: accepted
	}{
		{"unknown group", "--dir " + shared + " --user daemon",
			[]string{"is shared with group gid 4242, but this host's group lookup does not know gid 4242", "id -G daemon does not list it either", "pass --group 4242", "usermod -a -G 4242 daemon"}},
		{"vouched by gid", "--dir " + shared + " --user daemon --group 4242", nil},
		{"another gid", "--dir " + shared + " --user daemon --group 4243",
			[]string{"the store " + shared + " is shared with group gid 4242, not with gid 4243", "pass --group 4242"}},
		{"a name that does not resolve", "--dir " + shared + " --user daemon --group no-such-group",
			[]string{"--group no-such-group", "does not know that name", "--group 4242"}},
		{"root", "--dir " + shared + " --user root --group 4242", []string{"sessgc run as root refuses"}},
		{"not shared", "--dir " + private + " --user daemon --group 4242", []string{"is not shared with a group daemon is in"}},
		{"no store here", "--dir " + filepath.Join(t.TempDir(), "elsewhere") + " --user daemon --group 4243", nil},
		// id(1), linked to the C library, reads the groups through NSS
		// (LDAP, sssd) where a static sessgc cannot: when it lists the
		// store's group, no --group is needed.
		{"listed by id -G", "--dir " + shared + " --user daemon", nil},
		{"id -G lists others", "--dir " + shared + " --user daemon",
			[]string{"this host's group lookup does not know gid 4242", "id -G daemon does not list it either", "pass --group 4242"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.name {
			case "listed by id -G":
				fakeID(t, "daemon", "1 4242 27")
			case "id -G lists others":
				fakeID(t, "daemon", "1 27")
			}
			write := t.TempDir()
			_, _, err := execute(t, tc.args+" --write "+write)
			ents, _ := os.ReadDir(write)
			if tc.want == nil {
				if err != nil || len(ents) != 1 {
					t.Fatalf("%s: %v, wrote %d files; want the cron entry", tc.args, err, len(ents))
				}
				b, _ := os.ReadFile(filepath.Join(write, ents[0].Name()))
				if !strings.Contains(string(b), "--user daemon --group ") && tc.name != "listed by id -G" {
					t.Errorf("the cron entry does not record --group in its install-cron command:\n%s", b)
				}
				return
			}
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("%s: %v; want a usage error", tc.args, err)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %v; want %q in it", tc.args, err, w)
				}
			}
			if len(ents) != 0 {
				t.Errorf("%s refused, but wrote %v", tc.args, ents)
			}
		})
	}
}

// fakeID puts an id command first in $PATH that prints groups for "id -G
// user", and fails for anything else.
func fakeID(t *testing.T, user, groups string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n[ \"$1\" = -G ] && [ \"$2\" = -- ] && [ \"$3\" = " + user + " ] && { echo '" + groups + "'; exit 0; }\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "id"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestUnknownUserNamesStoreOwner: where --user is unknown on this host and
// --dir holds a store here, the warning names the user that owns it, the
// one --user most likely means.
func TestUnknownUserNamesStoreOwner(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skipf("no name for this process's user: %v", err)
	}
	dir := t.TempDir()
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var errOut bytes.Buffer
	self, _ := os.Executable()
	opts := &InstallOptions{IO: &cmdutil.IOStreams{ErrOut: &errOut}, Binary: self, Dir: dir, User: "no-such-user-sessgc"}
	look := dirLooks(dir)
	look.answered = true
	warnMissing(opts, "linux", look, binaryLooks(self))
	want := fmt.Sprintf("there is no user no-such-user-sessgc on this host, so cron would fail every run here: pass --user %s (the owner of %s), or create user no-such-user-sessgc, unless these files are for other hosts\n", me.Username, dir)
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("unknown --user, store owned by %s: warned %q; want %q", me.Username, errOut.String(), want)
	}
}

// TestWarnsNoStoreYet: a --dir that this host has but that holds no store
// yet (a fresh volume, before any application opened it) could not be
// checked against --user, and install-cron said nothing. Every run was
// then refused (exit 3, cron mail) until an application created the
// store, with no way to have the files say --missing-ok; and once the
// store was there, a --user other than the applications' failed every run
// (exit 3) too. It now warns of both: --missing-ok, where the files lack
// it, and the directory's owner where it is another user than --user, as
// the likely user of the applications that will create the store.
func TestWarnsNoStoreYet(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to give the directory to another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody on this host: %v", err)
	}
	if _, err := user.Lookup("daemon"); err != nil {
		t.Skipf("no user daemon on this host: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	empty := filepath.Join(t.TempDir(), "sessions")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(empty, uid, -1); err != nil {
		t.Fatal(err)
	}
	notStore := t.TempDir()
	if err := os.WriteFile(filepath.Join(notStore, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := ownedStore(t, uid, uid, false)
	const (
		missingOK = "holds no sessfs store yet: every run is refused (exit 3) until an application creates it; pass --missing-ok"
		owner     = "its directory belongs to nobody (uid " // ...): if the applications run as nobody, pass --user nobody
	)
	for _, tc := range []struct {
		name, args    string
		want, notWant []string
	}{
		{"another user", "--dir " + empty + " --user daemon", []string{missingOK, owner, "pass --user nobody"}, nil},
		{"another user, --missing-ok", "--dir " + empty + " --user daemon --missing-ok", []string{owner, "pass --user nobody"}, []string{missingOK}},
		{"the directory's owner", "--dir " + empty + " --user nobody", []string{missingOK}, []string{owner}},
		{"the directory's owner, --missing-ok", "--dir " + empty + " --user nobody --missing-ok", nil, []string{"warning"}},
		{"not empty", "--dir " + notStore + " --user nobody --missing-ok", []string{"is not empty and holds no .sessfs marker: every run refuses it (exit 3), --missing-ok or not"}, []string{missingOK}},
		{"a store", "--dir " + store + " --user nobody", nil, []string{"warning"}},
		// A store's empty data directory holds no marker either, but is
		// no fresh volume: every run refuses it, --missing-ok or not,
		// where the warning said to pass --missing-ok, and said nothing
		// once it was passed.
		{"the data directory of a store", "--dir " + filepath.Join(store, fsstore.DataDir) + " --user nobody", []string{"refusing to touch it, as every run will (exit 3), --missing-ok or not", "is part of a sessfs store", "in the store " + store}, []string{missingOK}},
		{"the data directory of a store, --missing-ok", "--dir " + filepath.Join(store, fsstore.DataDir) + " --user nobody --missing-ok", []string{"refusing to touch it, as every run will (exit 3), --missing-ok or not", "is part of a sessfs store"}, nil},
		{"no directory here", "--dir " + filepath.Join(empty, "elsewhere") + " --user daemon", nil, []string{"warning"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := execute(t, tc.args+" --binary "+self)
			if err != nil {
				t.Fatalf("%v; want the files, and warnings", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q; want %q", errOut, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(errOut, w) {
					t.Errorf("stderr %q; want no %q", errOut, w)
				}
			}
		})
	}
}

// TestWarnsDirNotListed: a --dir with no marker whose listing fails
// part-way (EIO from a file server's readdir, after a batch of NFS
// leftovers) got no warning: install-cron passed over it as unreadable,
// where an earlier version took it for a directory that is not empty.
// Whether it holds no store yet, or files every run refuses, is unknown:
// it says it could not list it, with the error, and nothing else of it.
func TestWarnsDirNotListed(t *testing.T) {
	dir := t.TempDir()
	var errOut bytes.Buffer
	opts := &InstallOptions{IO: &cmdutil.IOStreams{ErrOut: &errOut}, Dir: dir, User: "root"}
	look := dirLooks(dir)
	look.answered = true
	// The look as a readdir failing part-way leaves it.
	look.empty, look.listErr = false, &fs.PathError{Op: "readdirent", Path: dir, Err: syscall.EIO}
	warnNoStoreYet(opts, look)
	got := errOut.String()
	want := fmt.Sprintf("sessgc: warning: could not list --dir %s (readdirent %s: input/output error)", dir, dir)
	if !strings.Contains(got, want) || strings.Contains(got, "not empty") || strings.Contains(got, "no sessfs store yet") {
		t.Errorf("--dir whose listing failed part-way: warned %q; want only %q", got, want)
	}
}
