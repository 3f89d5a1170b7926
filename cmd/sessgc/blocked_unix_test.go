//go:build unix

package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestDirBehindUnsearchableParent: a store this user owns, under a
// directory it may not enter (sudo -u www-data sessgc run --dir . from
// inside the store, below root's 0700 home; or --dir store from there),
// is refused naming that directory. A relative --dir said "store . is
// not readable and writable by this user", sending the operator to the
// store's own modes, which were right, or only "cannot reach store
// directory store: permission denied".
func TestDirBehindUnsearchableParent(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to run sessgc as another user")
	}
	// The working directory is entered as root and kept through the
	// change of user, as sudo -u keeps it; exec's Credential changes user
	// before its chdir, which then fails.
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("no setpriv to change user in a working directory the user may not enter:", err)
	}
	st := newStore(t)
	st.save(1)
	st.s.Close()
	// The store is uid 65534's, under a directory of root's it may not
	// enter.
	priv := filepath.Join(t.TempDir(), "priv")
	if err := os.Mkdir(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	openUp(t, filepath.Dir(priv))
	dir := filepath.Join(priv, "store")
	if err := os.Rename(st.dir, dir); err != nil {
		t.Fatal(err)
	}
	chownTree(t, dir, 65534, 65534)
	for _, tc := range []struct {
		name, cwd, dir string
	}{
		{"dot inside the store", dir, "."},
		{"relative from the parent", priv, "store"},
		{"relative through the parent", filepath.Dir(priv), "priv/store"},
		{"absolute", "/", dir},
	} {
		for _, sub := range []string{"run", "stats"} {
			t.Run(tc.name+"/"+sub, func(t *testing.T) {
				cmd := command([]string{sub, "--dir", tc.dir})
				cmd.Args = append([]string{setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", cmd.Path}, cmd.Args[1:]...)
				cmd.Path = setpriv
				cmd.Dir = tc.cwd
				cmd.Env = append(cmd.Env, "PWD="+tc.cwd)
				r := runCmd(t, cmd)
				want := regexp.MustCompile(`may not enter (the working directory )?` + regexp.QuoteMeta(priv) + `[ ,]`)
				if r.code != 3 || !want.MatchString(r.stderr) || strings.Contains(r.stderr, "not readable and writable") || strings.Contains(r.stderr, "may not read and write") {
					t.Errorf("exit %d, stderr %q; want 3 saying %q", r.code, r.stderr, want)
				}
			})
		}
	}
}
