package fsstore_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSuggestedCommandsQuotePaths: a command an error suggests names the
// store's or the keys file's path as a shell takes it whole. A path with
// a space, a newline or a quote in it was pasted unquoted: Open's
// "install -d -o USER -m 0700 /srv/my sessions" made /srv/my and
// ./sessions, and the keys file's "sessgc keygen --id 1 > ..." failed or
// wrote elsewhere.
func TestSuggestedCommandsQuotePaths(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the suggested commands are a POSIX shell's")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to read the commands")
	}
	for _, name := range []string{"my sessions", "new\nline", "it's"} {
		parent := t.TempDir()
		missing := filepath.Join(parent, name)
		for _, tc := range []struct {
			what, cmd string // cmd: the command's text up to the path
			suffix    string // what the path in the command adds to the missing one
			open      func() error
		}{
			{"a missing store directory", "install -d -o USER -m 0700 ", "", func() error {
				_, err := fsstore.Open(missing)
				return err
			}},
			{"a missing store directory on an EFS access point", "mkdir -m 0700 ", "", func() error {
				_, err := fsstore.Open(missing)
				return err
			}},
			// Written beside it, then linked into place.
			{"a missing keys file", "sessgc keygen --id 1 > ", ".new", func() error {
				dir := filepath.Join(t.TempDir(), "store")
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				_, err := fsstore.Open(dir, fsstore.WithKeysFile(missing))
				return err
			}},
		} {
			err := tc.open()
			if err == nil {
				t.Fatalf("%s %q: no error", tc.what, name)
			}
			msg := err.Error()
			i := strings.Index(msg, tc.cmd)
			if i < 0 {
				t.Fatalf("%s %q: %q suggests no %q", tc.what, name, msg, tc.cmd)
			}
			// The path as the message gives it, read by a shell: the
			// text up to the parenthesis that closes the suggestion,
			// after the path (quoted, it is no shorter).
			rest := msg[i+len(tc.cmd):]
			j := -1
			word := missing + tc.suffix
			if len(rest) >= len(word) {
				j = strings.Index(rest[len(word):], ")")
			}
			if j < 0 {
				t.Fatalf("%s %q: no end to the suggestion in %q", tc.what, name, msg)
			}
			j += len(word)
			out, err := exec.Command(sh, "-c", `printf '%s\0' `+rest[:j]+`; printf '%d' $#`, "sh").Output()
			if err != nil {
				t.Fatalf("%s %q: sh on %q: %v", tc.what, name, rest[:j], err)
			}
			// One word, the path: it, a NUL, and no other argument.
			if got := string(out); got != word+"\x000" {
				t.Errorf("%s %q: the suggested command %q reads, to a shell, as %q, not the one path %q", tc.what, name, tc.cmd+rest[:j], got, word)
			}
		}
	}
}
