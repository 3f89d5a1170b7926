//go:build unix

package main_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeyLineInDirNotShown: a key line pasted into SESSGC_DIR or --dir
// (the keys where the store's path goes) names no store, and sessgc says
// so everywhere without the secret: its standard error already left it
// out, but the --json summary's "dir" and "error", and the textfile's dir
// label, which go to log collectors and Prometheus, repeated it, also
// where escaped ("\t" in JSON glued an escape's letter to the secret),
// and where the secret alone was a component of the path.
func TestKeyLineInDirNotShown(t *testing.T) {
	k, err := fsstore.NewKey(7)
	if err != nil {
		t.Fatal(err)
	}
	secret := base64.StdEncoding.EncodeToString(k.Secret)
	work := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{"run, SESSGC_DIR", []string{"run", "--json"}, []string{"SESSGC_DIR=" + k.SecretLine()}},
		{"run, SESSGC_DIR with a tab", []string{"run", "--json"}, []string{"SESSGC_DIR=7\t" + secret}},
		{"run, --dir", []string{"run", "--json", "--dir", filepath.Join(work, k.SecretLine())}, nil},
		{"rekey, SESSGC_DIR", []string{"rekey", "--json"}, []string{"SESSGC_DIR=" + k.SecretLine(), "SESSGC_KEYS=" + k.SecretLine()}},
		{"stats, SESSGC_DIR", []string{"stats", "--json"}, []string{"SESSGC_DIR=" + k.SecretLine()}},
		// The secret alone, as a path's component: the path is one word
		// of base64's alphabet ("/" is of it), which no secret is, and
		// the summary and the textfile left nothing out of it.
		{"run, --dir with the secret in its path", []string{"run", "--json", "--dir", filepath.Join(work, secret)}, nil},
		{"run, SESSGC_DIR with the secret in its path", []string{"run", "--json"}, []string{"SESSGC_DIR=" + filepath.Join(work, secret, "sessions")}},
		{"stats, --dir=, the secret in its path", []string{"stats", "--json", "--dir=" + filepath.Join(work, secret)}, nil},
		// After a "-", and cut from its "=" padding: pflag's "unknown
		// flag: --bogus-SECRET" drops it, and neither was taken for a
		// secret.
		{"run, an unknown flag glued to the secret", []string{"run", "--json", "--bogus-" + secret}, nil},
		{"run, --dir=, the secret after a dash", []string{"run", "--json", "--dir=" + filepath.Join(work, "x-"+secret)}, nil},
		{"run, SESSGC_DIR, the secret after a dash", []string{"run", "--json"}, []string{"SESSGC_DIR=" + filepath.Join(work, "x-"+secret, "s")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			args := tc.args
			if tc.args[0] != "stats" {
				args = append(args, "--textfile", prom)
			}
			cmd := command(args, tc.env...)
			cmd.Dir = work
			r := runCmd(t, cmd)
			if r.code == 0 {
				t.Fatalf("exit 0 for a store directory that is a key line; stdout %s", r.stdout)
			}
			text, _ := os.ReadFile(prom)
			for what, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "textfile": string(text)} {
				if strings.Contains(s, strings.TrimRight(secret, "=")) {
					t.Errorf("the key's secret is in sessgc's %s:\n%s", what, s)
				}
			}
		})
	}
}

// TestKeyInDirNotInWarnings: a secret in --dir is left out of the
// warnings sessgc prints where they arise, as of its errors: install-cron's
// warning that the directory holds no store repeated it.
func TestKeyInDirNotInWarnings(t *testing.T) {
	k, err := fsstore.NewKey(7)
	if err != nil {
		t.Fatal(err)
	}
	secret := base64.StdEncoding.EncodeToString(k.Secret)
	dir := filepath.Join(t.TempDir(), "x-"+secret)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runGC(t, []string{"install-cron", "--dir=" + dir, "--binary", sessgcBin})
	if r.code != 0 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("exit %d, stderr %q: want 0 and the warning that the directory is not empty", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, strings.TrimRight(secret, "=")) {
		t.Errorf("the key's secret is in sessgc's warning:\n%s", r.stderr)
	}
}
