//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileRotatedByOperatorTools rotates a keys file with the tools
// operators use, run as real processes, each writing the file its own way:
// echo >> appends in place, cp truncates and rewrites it in place (a
// reader can see it empty or half-copied), sed -i and install write a new
// file and rename or link it into place, perl -pi unlinks the file and
// creates it again, and vim renames it to its backup before it writes a
// new one (backupcopy=no) or rewrites it in place (backupcopy=yes). Each
// step (the new key added below, then moved first) must be applied by the
// change notifications alone (the timed read is off), once, never as a
// key set without the old key (a session sealed under it would fail to
// load), and with no error logged: the transient states (no file, an
// empty one, one cut short) are held until the write completes. A tool
// not installed is skipped.
func TestKeysFileRotatedByOperatorTools(t *testing.T) {
	tool := func(t *testing.T, name string, args ...string) func(stdin string) {
		t.Helper()
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s is not installed", name)
		}
		return func(stdin string) {
			cmd := exec.Command(name, args...)
			cmd.Stdin = strings.NewReader(stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s %v: %v\n%s", name, args, err, out)
			}
		}
	}
	// Each writer replaces the file at path with text; src holds text too.
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, path, src, text string)
	}{
		{"cp", func(t *testing.T, path, src, _ string) { tool(t, "cp", src, path)("") }},
		{"install", func(t *testing.T, path, src, _ string) { tool(t, "install", "-m", "600", src, path)("") }},
		{"sed -i", func(t *testing.T, path, src, _ string) {
			if runtime.GOOS != "linux" {
				t.Skip("BSD sed takes -i's next argument for a backup suffix")
			}
			tool(t, "sed", "-i", "-e", "1r "+src, "-e", "d", path)("")
		}},
		{"perl -pi", func(t *testing.T, path, src, _ string) {
			tool(t, "perl", "-pi", "-e", `BEGIN { local $/; open F, "<", shift; $new = <F> } $_ = $. == 1 ? $new : ""`, src, path)("")
		}},
		{"vim backupcopy=no", vimWriter("no")},
		{"vim backupcopy=yes", vimWriter("yes")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir, keysDir := t.TempDir(), t.TempDir()
			keysPath := filepath.Join(keysDir, "keys")
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			writeFile0600(t, keysPath, keysFileText(k1))
			ev, logs := make(reloadEvents, 64), &syncBuffer{}
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
				fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))), fsstore.WithKeysPollForTest(time.Hour))
			must(t, err)
			defer s.Close()
			old := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: old, Data: []byte("sealed with key 1")}))
			// Step 1 appends the new key's line, as an operator's
			// echo "$(sessgc keygen --id 2)" >> keys does; step 2 moves
			// it first with the tool.
			tool(t, "sh", "-c", `cat >> "$1"`, "sh", keysPath)(k2.SecretLine() + "\n")
			ok := waitReloadOK(t, ev, time.Minute)
			if ok {
				src := filepath.Join(t.TempDir(), "src")
				text := keysFileText(k2, k1)
				writeFile0600(t, src, text)
				tc.write(t, keysPath, src, text)
				ok = waitReloadOK(t, ev, time.Minute)
			}
			if !ok {
				t.Fatalf("a step of the rotation was not applied without the timed read; log:\n%s", logs.String())
			}
			// Every key set applied on the way kept the old key: none was
			// read half-written and acted on.
			if got := strings.Count(logs.String(), "keys file reloaded"); got != 2 || strings.Count(logs.String(), `key_ids="[1 2]"`)+strings.Count(logs.String(), `key_ids="[2 1]"`) != 2 {
				t.Errorf("want two reloads, to keys [1 2] then [2 1]; log:\n%s", logs.String())
			}
			if _, err := s.Load(ctx, old); err != nil {
				t.Errorf("the session sealed under the old key: %v", err)
			}
			if b, err := os.ReadFile(keysPath); err != nil || string(b) != keysFileText(k2, k1) {
				t.Fatalf("the tool left %q, %v; want the rotated key set", b, err)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("an error was logged for a rotation that went right:\n%s", logs.String())
			}
			mustSealWith(t, s, dir, k2)
		})
	}
}

// vimWriter writes the keys file with vim, its backup made as backupcopy
// says: "no" renames the file to the backup and writes a new one, "yes"
// copies it to the backup and rewrites the file in place.
func vimWriter(backupcopy string) func(t *testing.T, path, src, text string) {
	return func(t *testing.T, path, src, text string) {
		if _, err := exec.LookPath("vim"); err != nil {
			t.Skip("vim is not installed")
		}
		cmd := exec.Command("vim", "-u", "NONE", "-i", "NONE", "-N", "-n", "-es",
			"-c", "set backup backupdir=. backupcopy="+backupcopy, "-c", "%d",
			"-c", fmt.Sprintf("call setline(1, readfile(%q))", src), "-c", "wq", path)
		cmd.Dir = filepath.Dir(path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vim: %v\n%s", err, out)
		}
	}
}
