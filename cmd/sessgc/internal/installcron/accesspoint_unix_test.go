//go:build unix

package installcron

import (
	"context"
	"os"
	"os/user"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestAccessPointAnyUser: on an EFS access point (NFS all_squash) every
// file is the access point's user's, whoever the client's user, so a
// store there shows as the access point's uid, which may have no name on
// the host (65532 in deploy/kubernetes). install-cron --user daemon was
// refused there as "not shared with a group daemon is in", with the fix
// "pass --user with the name of uid 4242": a user that does not exist,
// for a store daemon's runs sweep as well as any. Where root's files are
// the store's owner's (the probe sessgc run makes, injected here: no
// local file system maps root), the files are written with a warning
// that says why and how to check it (under root_squash with anonuid,
// root alone is mapped, and daemon's runs would fail); elsewhere the
// refusal stands.
func TestAccessPointAnyUser(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to give the store to another uid")
	}
	if _, err := user.Lookup("daemon"); err != nil {
		t.Skipf("no user daemon on this host: %v", err)
	}
	const apUID = 4242 // the access point's uid, unknown here
	if _, err := user.LookupId("4242"); err == nil {
		t.Skip("uid 4242 has a name on this host")
	}
	store := ownedStore(t, apUID, apUID, false)
	for _, tc := range []struct {
		name        string
		mapped      bool // root's files are the store's owner's
		user        string
		refused     string // "": written
		warned      string
		notInOutput string
	}{
		{name: "access point, another user", mapped: true, user: "daemon", warned: "this file server makes root's files uid 4242's", notInOutput: "name of uid 4242"},
		{name: "access point, root", mapped: true, user: "root"},
		{name: "not mapped, another user", mapped: false, user: "daemon", refused: "is not shared with a group daemon is in"},
		{name: "not mapped, root", mapped: false, user: "root", refused: "sessgc run as root refuses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write := t.TempDir()
			var probed bool
			r := cmdtest.Run(t, NewCmdInstallCron, func(o *InstallOptions) error {
				probe := func(dir string, uid uint32) bool {
					probed = true
					return tc.mapped && dir == store && uid == apUID
				}
				o.rootFilesAre = &probe
				return installRun(context.Background(), o)
			}, strings.Fields("--dir "+store+" --user "+tc.user+" --write "+write), nil)
			ents, _ := os.ReadDir(write)
			if tc.refused != "" {
				if cmdutil.ExitCode(r.Err) != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), tc.refused) || len(ents) != 0 {
					t.Errorf("--user %s: %v, wrote %d files; want a usage error with %q, nothing written", tc.user, r.Err, len(ents), tc.refused)
				}
				return
			}
			if r.Err != nil || len(ents) != 1 {
				t.Fatalf("--user %s: %v, wrote %d files; want the cron entry\nstderr: %s", tc.user, r.Err, len(ents), r.ErrOut)
			}
			if !probed || !strings.Contains(r.ErrOut, tc.warned) {
				t.Errorf("--user %s: probed %v, stderr %q; want the probe made and %q", tc.user, probed, r.ErrOut, tc.warned)
			}
			if tc.notInOutput != "" && strings.Contains(r.ErrOut, tc.notInOutput) {
				t.Errorf("--user %s: stderr %q says %q", tc.user, r.ErrOut, tc.notInOutput)
			}
		})
	}
}
