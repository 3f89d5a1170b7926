//go:build unix

package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestUnreadableDirCleanedUp: a run in a --dir (or a $TMPDIR without
// --dir) that its user may write and enter but not list, mode 0733 as a
// drop directory has, removes everything it created there and exits 0.
// os.RemoveAll opens the parent of the directory it removes to read it,
// which that mode refuses: the run measured, printed its report, then
// failed with "removing DIR/.sessbench-N: open DIR: permission denied"
// (exit 1) and left its sessions behind, where no later run's note,
// which cannot list DIR either, would name them.
func TestUnreadableDirCleanedUp(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to make a directory another user may write but not read, and to run sessbench as that user")
	}
	top := t.TempDir()
	for _, d := range []string{filepath.Dir(top), top} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The binary where uid 65534 may run it.
	bin := filepath.Join(top, "sessbench")
	copyFile(t, binary, bin, 0o755)
	for _, tt := range tinyCommands() {
		for _, viaTmp := range []bool{false, true} {
			name := tt.name + "/--dir"
			if viaTmp {
				name = tt.name + "/TMPDIR"
			}
			t.Run(name, func(t *testing.T) {
				drop, err := os.MkdirTemp(top, "drop-")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(drop, 0o733); err != nil {
					t.Fatal(err)
				}
				args := slices.Clone(tt.args)
				env := append(os.Environ(), "TMPDIR="+drop)
				if !viaTmp {
					args = append(args, "--dir", drop)
					env = append(os.Environ(), "TMPDIR="+top)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, args...)
				cmd.Dir, cmd.Env = "/", env
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err = cmd.Run()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != 0 {
					t.Errorf("exit %d, stderr %q; want 0", code, stderr.String())
				}
				// Listed as root, who may.
				ents, err := os.ReadDir(drop)
				if err != nil {
					t.Fatal(err)
				}
				var left []string
				for _, e := range ents {
					left = append(left, e.Name())
				}
				if len(left) > 0 {
					t.Errorf("the run left %q in %s", left, drop)
				}
			})
		}
	}
}
