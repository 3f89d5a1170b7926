package rekey

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
)

// TestRekeyRefusesPlatformFirst: where the store does not run (Windows),
// rekey says so before it reads any keys, as run and stats do before they
// look at --dir. It answered a missing or unreadable keys file first
// ("no keys: pass --keys-file", exit 2), sending the operator to fix a
// keys file only to be refused once it was right.
func TestRekeyRefusesPlatformFirst(t *testing.T) {
	if cmdutil.StoreRuns {
		t.Skip("the store runs on this platform")
	}
	for _, tc := range []struct {
		name     string
		keysFile string
	}{
		{"no keys", ""},
		{"missing keys file", filepath.Join(t.TempDir(), "keys")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &RekeyOptions{
				IO:       &cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard, Getenv: func(string) string { return "" }},
				Dir:      t.TempDir(),
				KeysFile: tc.keysFile, KeysFileFromFlag: tc.keysFile != "",
				Rate: 0, Concurrency: 1,
			}
			el, log := pass.Stderr(io.Discard, opts.LogLevel)
			var prog progress
			var sum Summary
			err := rekey(context.Background(), opts, el, log, &prog, &sum)
			if !errors.Is(err, fsstore.ErrNotSupported) {
				t.Errorf("rekey where the store does not run, %s: %v; want the platform refused (fsstore.ErrNotSupported) before the keys are read", tc.name, err)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitStore {
				t.Errorf("exit %d, want %d (the store's error, not a usage error)", code, cmdutil.ExitStore)
			}
		})
	}
}
