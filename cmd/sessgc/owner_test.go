//go:build unix

package main_test

// A store owned by the applications' user (or group), and sessgc run as
// root or as another user of the group.

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// chownTree gives dir and everything under it to uid/gid, as a store owned
// by the application's user is.
func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rootOwned lists the files under dir that root owns.
func rootOwned(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Sys().(*syscall.Stat_t).Uid == 0 {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestRunAsRootBreaksAppUserRuns: docs/operations.md says "Run it as
// the user that owns the store's files (the app's user). As root it works
// but any shard directory it creates would be root's." One sweep as root
// (an operator trying it by hand with sudo) leaves locks/.sessgc and
// locks/sweep owned by root, mode 0600; from then on every cron run as the
// app's user exits 3 ("fleet lock .sessgc: ... permission denied"), and
// with the fleet lock file fixed, 1 with an error per shard (sweep lock),
// removing no session. Either a root run must refuse a store that another
// user owns (nothing created), or what it creates must belong to the
// store's owner.
func TestRunAsRootBreaksAppUserRuns(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	st := newStore(t)
	st.expire(st.save(4)...)
	st.s.Close()
	openUp(t, filepath.Dir(st.dir))
	chownTree(t, st.dir, 65534, 65534)

	asRoot := runGC(t, []string{"run", "--dir", st.dir, "-q"})
	t.Logf("as root: exit %d, stderr %q; root-owned now: %v", asRoot.code, asRoot.stderr, rootOwned(t, st.dir))

	cmd := command([]string{"run", "--dir", st.dir, "--json"})
	asUnprivileged(cmd)
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Errorf("the app user's run after a run as root: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if left := rootOwned(t, st.dir); len(left) > 0 {
		t.Errorf("files in the app user's store owned by root after sessgc run as root: %v", left)
	}
}

// TestRekeyAsRootMakesRecordsUnreadable: the documented rotation
// runs "sessgc rekey --dir /srv/sessions --keys-file /etc/sessfs/keys";
// run with sudo (the key file is 0600), every record it rewrites is a new
// file owned by root, mode 0600: the applications, running as the store's
// owner, can no longer read any of those sessions (EACCES on Load).
func TestRekeyAsRootMakesRecordsUnreadable(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(10)
	st.s.Close()
	openUp(t, filepath.Dir(st.dir))
	chownTree(t, st.dir, 65534, 65534)
	keys := writeKeys(t, 0o600, k2, k1)

	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0"})
	t.Logf("rekey as root: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	var records []string
	for _, p := range rootOwned(t, st.dir) {
		if filepath.Dir(filepath.Dir(p)) == fsstore.DataDir {
			records = append(records, p)
		}
	}
	if len(records) > 0 {
		t.Errorf("after sessgc rekey as root, %d session records of the app user's store belong to root (mode 0600), unreadable by the applications: %v",
			len(records), records[:min(3, len(records))])
	}
}

// TestRekeyAsRootOfAppUsersKeysNamesTheUser: the documented rotation
// keeps the keys file the application user's, mode 0600, as the store
// is. Run with sudo, the rekey must send the operator to that user; it
// refused the keys file first (exit 2: owned by a user neither root nor
// sessgc's), advising chown or --keys-file-trusted, either of which only
// led to the refusal of the store as root (exit 3), or, chowned, left the
// applications unable to read their keys.
func TestRekeyAsRootOfAppUsersKeysNamesTheUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	k1 := newKey(t, 1)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(2)
	st.s.Close()
	openUp(t, filepath.Dir(st.dir))
	chownTree(t, st.dir, 65534, 65534)
	keys := writeKeys(t, 0o600, k1)
	chownTree(t, filepath.Dir(keys), 65534, 65534)

	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys})
	who := "'#65534'"
	if u, err := user.LookupId("65534"); err == nil {
		who = u.Username
	}
	if want := "run sessgc as that user (e.g. sudo -u " + who + " "; r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Errorf("rekey as root of uid 65534's store and keys: exit %d, stderr %q; want 3 and %q", r.code, r.stderr, want)
	}
}

// TestSharedGroupStore: docs/operator-guide.md, "Permissions and user
// IDs": app servers that run as different users share one group, open the
// store with fsstore.WithPermissions(0o660, 0o2770), and the top directory
// is "install -d -o root -g app -m 2770". sessgc has no such option and
// always opens the store with the defaults (0600/0700): the fleet lock and
// sweep lock files the first sessgc creates are 0600, so sessgc running as
// any other app user of the group (another host's cron line) exits 3 at
// the fleet lock from then on; and every record sessgc rekey rewrites
// becomes 0600, unreadable by the other app users.
func TestSharedGroupStore(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (two users sharing a group)")
	}
	old := syscall.Umask(0o007)
	defer syscall.Umask(old)
	const gid = 4242
	userA := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4001, Gid: gid}}
	userB := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4002, Gid: gid}}

	k1, k2 := newKey(t, 1), newKey(t, 2)
	parent := t.TempDir()
	openUp(t, parent)
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, os.ModeSetgid|0o770); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir, fsstore.WithPermissions(0o660, 0o2770), fsstore.WithKeys(k1), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	st := &store{t: t, dir: dir, s: s}
	ids := st.save(6)
	st.expire(ids[:2]...)
	s.Close()
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != dir {
			os.Lchown(p, 4001, gid)
		}
		return err
	})

	// Host 1's cron line, as app user A.
	cmd := command([]string{"run", "--dir", dir, "-q"})
	cmd.SysProcAttr = userA
	if r := runCmd(t, cmd); r.code != 0 {
		t.Fatalf("run as A: exit %d, %s", r.code, r.stderr)
	}
	// Host 2's cron line, as app user B of the same group.
	cmd = command([]string{"run", "--dir", dir, "-q"})
	cmd.SysProcAttr = userB
	if r := runCmd(t, cmd); r.code != 0 {
		t.Errorf("run as B after a run as A: exit %d, stderr %q; want 0", r.code, r.stderr)
	}

	// A rotation run as A, once the hosts have the new key.
	s, err = fsstore.Open(dir, fsstore.WithPermissions(0o660, 0o2770), fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	keys := writeKeys(t, 0o600, k2, k1)
	os.Chown(keys, 4001, gid)
	openUp(t, filepath.Dir(keys))
	cmd = command([]string{"rekey", "--dir", dir, "--keys-file", keys, "--rate", "0", "--no-fleet-lock"})
	cmd.SysProcAttr = userA
	r := runCmd(t, cmd)
	t.Logf("rekey as A: exit %d, %q %q", r.code, r.stdout, r.stderr)
	for _, id := range ids[2:] {
		fi, err := os.Stat(st.path(id))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o660 {
			t.Errorf("record %s is %v after sessgc rekey, was 0660: the other app users of the group cannot read it", filepath.Base(st.path(id)), fi.Mode().Perm())
			break
		}
	}
}

// TestDryRunCreatesNothing: a dry run judged the records it must read
// under their session's lock, as a sweep does: those idle between a
// lowered max-idle-seconds and max-idle-ever-seconds (docs/operations.md,
// "Lowering the idle timeout"), and records a sweep left aside. Taking the
// lock created the stripe's lock file on its first use, so a dry run
// changed the store (and, run as another user than the applications',
// made lock files they might not open). A dry run creates nothing.
func TestDryRunCreatesNothing(t *testing.T) {
	for _, tc := range []string{"lowered idle", "aside"} {
		t.Run(tc, func(t *testing.T) {
			st := newStore(t)
			ids := st.save(6)
			switch tc {
			case "lowered idle":
				// Idle 10 minutes: past the lowered max idle (1m plus
				// --grace), not past the largest ever (24m).
				for _, id := range ids {
					setMtime(t, st.path(id), time.Now().Add(-10*time.Minute))
				}
				m := filepath.Join(st.dir, fsstore.MarkerFile)
				b, err := os.ReadFile(m)
				if err != nil {
					t.Fatal(err)
				}
				lowered := strings.Replace(string(b), "\nmax-idle-seconds 1440\n", "\nmax-idle-seconds 60\n", 1)
				if lowered == string(b) {
					t.Fatalf("marker %q has no max-idle-seconds 1440 line", b)
				}
				if err := os.WriteFile(m, []byte(lowered), 0o644); err != nil {
					t.Fatal(err)
				}
			case "aside":
				// Left aside by a sweep that died, long expired.
				for _, id := range ids {
					p := st.path(id)
					aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
					if err := os.Rename(p, aside); err != nil {
						t.Fatal(err)
					}
					setMtime(t, aside, old)
				}
			}
			st.s.Close()
			before, locksBefore := snapshot(t, st.dir), lockFiles(t, st.dir)

			r := runGC(t, []string{"run", "--dir", st.dir, "--dry-run", "--json", "-c", "1"})
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if after := snapshot(t, st.dir); !equal(before, after) {
				t.Errorf("the dry run changed the store:\nbefore %v\nafter  %v", before, after)
			}
			if after := lockFiles(t, st.dir); !equal(locksBefore, after) {
				t.Errorf("the dry run made lock files:\nbefore %v\nafter  %v", locksBefore, after)
			}
		})
	}
}

// lockFiles lists the names in dir's lock directory, dot files aside
// (lock probes come and go).
func lockFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, fsstore.LockDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestReadOnlyCommandsWithoutDataDir: an operator may empty a store by
// removing data/ (the applications recreate it with their next save).
// Opening the store probed that it is writable by creating a temp file in
// data/, and so created data/ itself, with sessgc's user and modes rather
// than the next application save's. "sessgc stats" and "sessgc run
// --dry-run" change nothing; a sweep has nothing to do there.
func TestReadOnlyCommandsWithoutDataDir(t *testing.T) {
	for _, args := range [][]string{{"stats"}, {"run", "--dry-run"}, {"run"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			st := newStore(t)
			st.save(2)
			st.s.Close()
			if err := os.RemoveAll(filepath.Join(st.dir, fsstore.DataDir)); err != nil {
				t.Fatal(err)
			}
			r := runGC(t, append(args, "--dir", st.dir))
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if _, err := os.Lstat(filepath.Join(st.dir, fsstore.DataDir)); !os.IsNotExist(err) {
				t.Errorf("sessgc %v made data/ again (%v)", args, err)
			}
		})
	}
}

// TestCommandsAsRootOnAnotherUsersStore: every command that opens a store
// refuses, as root, a store that another user owns, also those that
// change nothing, but stats, which opens it read-only there and counts
// (TestStatsWithReadAccessOnly). docs/operator-guide.md tells the operator
// who changes the lock strategy to stop every process, remove
// locks/.strategy and start them again; a "sudo sessgc stats" (or "run
// --dry-run") in between opened the store first and recorded the
// strategy: locks/.strategy and locks/.probe became root's, mode 0600,
// and no application could open the store any more ("open
// locks/.strategy: permission denied").
func TestCommandsAsRootOnAnotherUsersStore(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (CI runs it as root)")
	}
	for _, args := range [][]string{{"stats"}, {"run", "--dry-run"}, {"run"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			st := newStore(t)
			st.save(2)
			st.s.Close()
			for _, f := range []string{".strategy", ".probe"} {
				if err := os.Remove(filepath.Join(st.dir, fsstore.LockDir, f)); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			openUp(t, filepath.Dir(st.dir))
			chownTree(t, st.dir, 65534, 65534)

			before := testenv.TreeState(t, st.dir)
			r := runGC(t, append(args, "--dir", st.dir))
			code, msg := 3, "run sessgc as that user"
			if args[0] == "stats" {
				code, msg = 0, "counted without writing to it (sessgc runs as root and another user owns the store"
			}
			if r.code != code || !strings.Contains(r.stderr, msg) {
				t.Errorf("sessgc %v as root on uid 65534's store: exit %d, stderr %q; want exit %d and %q", args, r.code, r.stderr, code, msg)
			}
			if after := testenv.TreeState(t, st.dir); after != before {
				t.Errorf("sessgc %v as root changed uid 65534's store:\n%s\n---\n%s", args, before, after)
			}
			if left := rootOwned(t, st.dir); len(left) > 0 {
				t.Errorf("sessgc %v as root created files owned by root in the app user's store: %v", args, left)
			}
		})
	}
}

// TestRekeyOrderRecordUnreadable: a key's record of when it became newest
// that sessgc may not read (root's, mode 0600, in the app user's store)
// leaves every record under the older key, pass after pass: sessgc
// reports it once, naming the file and what to do, rather than a bare
// "permission denied" for each record, and exits 1 with the records
// counted as errors.
func TestRekeyOrderRecordUnreadable(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(5)
	st.s.Close()
	deployKeys(t, st.dir, k2, k1) // records key 2 as the hosts' newest
	openUp(t, filepath.Dir(st.dir))
	chownTree(t, st.dir, 65534, 65534)
	order := filepath.Join(st.dir, ".keynewest-2")
	if err := os.Chown(order, 0, 0); err != nil {
		t.Fatal(err)
	}
	keys := notRoots(t, writeKeys(t, 0o600, k2, k1))
	openUp(t, filepath.Dir(keys))

	cmd := command([]string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"})
	asUnprivileged(cmd)
	r := runCmd(t, cmd)
	s := rekeyJSON(t, r)
	if r.code != 1 || s.Rekeyed != 0 || s.Errors != 5 || len(s.ErrorSamples) != 1 {
		t.Fatalf("rekey with %s unreadable: exit %d, %+v; want exit 1, the 5 records errors, reported once", order, r.code, s)
	}
	for _, want := range []string{order, "may not be read", "give the user read access"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q: %s", want, r.stderr)
		}
	}
}
