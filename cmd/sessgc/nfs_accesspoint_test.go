//go:build unix

package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// The access point's POSIX user, and the app's users on the two hosts:
// each host's app server runs as a user of its own (www-data on one, a
// uid of the image's on the other), as the access point lets them.
const (
	apUID, apGID = 1000, 1000
	apAppUIDA    = 33
	apAppUIDB    = 1001
)

// Environment of the "apapp" child: the app server of a host, run as its
// own user (see apApp).
const (
	envAPDir   = "SESSFS_TEST_AP_DIR"
	envAPKeys  = "SESSFS_TEST_AP_KEYS"
	envAPOp    = "SESSFS_TEST_AP_OP"
	envAPID    = "SESSFS_TEST_AP_ID"
	envAPCount = "SESSFS_TEST_AP_COUNT"
)

// accessPointRoles are TestNFSSessgc/AccessPoint's roles:
// docs/operator-guide.md's EFS access point, on real NFS (the guest's
// second export, all_squash,anonuid=1000,anongid=1000: sessgcGuest's
// Config.Squashed), where the store is; the hosts pass each other what
// the test needs through the first. The app runs
// as uid 33 on hostA and as uid 1001 on hostB, each with its keys file on
// its local disk: both open one store, and their locked increments of one
// session lose none of each other's. Then sessgc run as root, from hostB's
// cron, sweeps the store: on an access point root's files are the store's
// user's as the app's are, so nothing root creates is unusable, and
// refusing it (exit 3, "run sessgc as that user") sent the operator to a
// sudo that changes nothing. The app goes on saving after it, and an app
// started as root opens the store too.
func accessPointRoles() map[string]func(*testing.T) {
	const incrs = 15
	wait := 90 * time.Second
	// The test binary again, as the app's user: a copy that user may
	// run, and its keys file, both on this host's local disk.
	local := func(t *testing.T, uid int, keyLine string) (bin, keys string) {
		t.Helper()
		d := t.TempDir()
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		openUp(t, d)
		b, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(d, "app.test")
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		keys = filepath.Join(d, "keys")
		if err := os.WriteFile(keys, []byte(keyLine+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(keys, uid, uid); err != nil {
			t.Fatal(err)
		}
		return bin, keys
	}
	app := func(t *testing.T, bin string, uid int, dir, keys, op, id string, n int) string {
		t.Helper()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "SESSFS_TEST_SESSGC_ROLE=apapp", envAPDir+"="+dir, envAPKeys+"="+keys,
			envAPOp+"="+op, envAPID+"="+id, envAPCount+"="+strconv.Itoa(n))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("app as uid %d, %s: %v\n%s", uid, op, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	exists := func(t *testing.T, dir, id string) bool {
		t.Helper()
		name, _ := nameOf(id)
		_, err := os.Stat(filepath.Join(dir, fsstore.DataDir, name[:2], name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	readLines := func(t *testing.T, p string) []string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
	writeShared := func(t *testing.T, p, s string) {
		t.Helper()
		if err := os.WriteFile(p+".tmp", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]func(*testing.T){
		"hostA": func(t *testing.T) {
			shared := nfstest.Dir(t)
			dir := filepath.Join(nfstest.SquashedDir(t), "sessions")
			k, err := fsstore.NewKey(1)
			if err != nil {
				t.Fatal(err)
			}
			bin, keys := local(t, apAppUIDA, k.SecretLine())
			// The operator's mkdir, as root: the access point makes it
			// its user's, as it makes every file there.
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			// Plumbing of the test, not the app's: hostB's copy of the
			// key goes through the export.
			writeShared(t, filepath.Join(shared, "keyline"), k.SecretLine())
			ids := strings.Fields(app(t, bin, apAppUIDA, dir, keys, "seed", "", 5))
			if len(ids) != 6 {
				t.Fatalf("seed: %q, want 6 IDs", ids)
			}
			fi, err := os.Stat(filepath.Join(dir, fsstore.MarkerFile))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != apUID || st.Gid != apGID {
				t.Errorf("the app as uid %d made a marker of %d:%d; want the access point's %d:%d", apAppUIDA, st.Uid, st.Gid, apUID, apGID)
			}
			for _, id := range ids[:3] {
				name, _ := nameOf(id)
				setMtime(t, filepath.Join(dir, fsstore.DataDir, name[:2], name), old)
			}
			writeShared(t, filepath.Join(shared, "ids"), strings.Join(ids, "\n"))
			nfstest.Barrier(t, "seeded", wait)
			app(t, bin, apAppUIDA, dir, keys, "incr", ids[5], incrs)
			nfstest.Barrier(t, "incremented", wait)
			if got := app(t, bin, apAppUIDA, dir, keys, "get", ids[5], 0); got != strconv.Itoa(2*incrs) {
				t.Errorf("after %d locked increments on each host, the session holds %s", incrs, got)
			}
			nfstest.Barrier(t, "swept", wait)
			// After root's sweep, whose lock files are the access
			// point's user's too, the app goes on.
			app(t, bin, apAppUIDA, dir, keys, "incr", ids[5], 1)
			if got := app(t, bin, apAppUIDA, dir, keys, "get", ids[5], 0); got != strconv.Itoa(2*incrs+1) {
				t.Errorf("after the sweep and one more increment, the session holds %s, want %d", got, 2*incrs+1)
			}
			// An app started as root (a sudo to try it once) is not
			// refused: root's files here are the access point's user's.
			rootKeys := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(rootKeys, []byte(k.SecretLine()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(rootKeys), fsstore.WithCreate(false))
			if err != nil {
				t.Fatalf("Open as root on the access point: %v", err)
			}
			s.Close()
			// data/ made 0500 by hand refuses every user here, the
			// access point's own: the error says so, and not to run as
			// the store's owner (every user here is) or to chown (no
			// one may, on an access point).
			data := filepath.Join(dir, fsstore.DataDir)
			if err := os.Chmod(data, 0o500); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "SESSFS_TEST_SESSGC_ROLE=apapp", envAPDir+"="+dir, envAPKeys+"="+keys, envAPOp+"=seed", envAPCount+"=0")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: apAppUIDA, Gid: apAppUIDA}}
			out, err := cmd.CombinedOutput()
			if want := "chmod u+rwx"; err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "run it as the user that owns") {
				t.Errorf("the app as uid %d with data/ mode 0500 on the access point: %v, %s; want an error saying %q, and not to run as the owner", apAppUIDA, err, out, want)
			}
			if err := os.Chmod(data, 0o700); err != nil {
				t.Fatal(err)
			}
		},
		"hostB": func(t *testing.T) {
			shared := nfstest.Dir(t)
			dir := filepath.Join(nfstest.SquashedDir(t), "sessions")
			nfstest.Barrier(t, "seeded", wait)
			line, err := os.ReadFile(filepath.Join(shared, "keyline"))
			if err != nil {
				t.Fatal(err)
			}
			bin, keys := local(t, apAppUIDB, string(line))
			ids := readLines(t, filepath.Join(shared, "ids"))
			app(t, bin, apAppUIDB, dir, keys, "incr", ids[5], incrs)
			nfstest.Barrier(t, "incremented", wait)
			// The operator installs root's cron line on this host...
			if r := runCmd(t, command([]string{"install-cron", "--dir", dir, "--user", "root"})); r.code != 0 {
				t.Errorf("sessgc install-cron --user root on the access point: exit %d, stderr %s", r.code, r.stderr)
			}
			// ...and sessgc run runs from it.
			r := runCmd(t, command([]string{"run", "--dir", dir}))
			if r.code != 0 {
				t.Errorf("sessgc run as root on the access point: exit %d, stderr %s", r.code, r.stderr)
			} else {
				for i, id := range ids {
					if want := i >= 3; exists(t, dir, id) != want {
						t.Errorf("after sessgc run, session %d (expired: %v) exists: %v", i, !want, !want)
					}
				}
			}
			nfstest.Barrier(t, "swept", wait)
		},
	}
}

// apApp is the "apapp" child: an app server of TestNFSSessgc/AccessPoint,
// running as its host's user. op "seed" saves count sessions and one
// holding 0, and prints their IDs; "incr" adds one to the number in
// session id, count times, each under the session's lock; "get" prints it.
func apApp() error {
	ctx := context.Background()
	s, err := fsstore.Open(os.Getenv(envAPDir), fsstore.WithKeysFile(os.Getenv(envAPKeys)))
	if err != nil {
		return err
	}
	defer s.Close()
	n, _ := strconv.Atoi(os.Getenv(envAPCount))
	id := os.Getenv(envAPID)
	switch op := os.Getenv(envAPOp); op {
	case "seed":
		for i := 0; i <= n; i++ {
			id, err := fsstore.NewID()
			if err != nil {
				return err
			}
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("0")}); err != nil {
				return err
			}
			fmt.Println(id)
		}
	case "incr":
		for range n {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			sess, err := l.Load(ctx)
			if err != nil {
				l.Unlock()
				return err
			}
			v, err := strconv.Atoi(string(sess.Data))
			if err != nil {
				l.Unlock()
				return err
			}
			sess.Data = []byte(strconv.Itoa(v + 1))
			if err := l.Save(ctx, sess); err != nil {
				l.Unlock()
				return err
			}
			if err := l.Unlock(); err != nil {
				return err
			}
		}
	case "get":
		sess, err := s.Load(ctx, id)
		if err != nil {
			return err
		}
		fmt.Println(string(sess.Data))
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	return nil
}
