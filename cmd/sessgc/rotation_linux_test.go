package main_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestKeyRecipesKeepKeysOnFailure runs the keys file commands that
// sessgc keygen --help and docs/operations.md give: the first key, and
// steps 1 and 2 of a rotation (each writes keys.new and renames it over
// the keys file). Each step's rename came on its own line, run whatever
// the line before did: on a full file system the cat and sessgc keygen
// writing keys.new failed, and the empty keys.new replaced the keys file,
// which every application host watching it then read as no keys (at a
// restart: no start), and every session sealed under a key now gone was
// lost. The first key's command, run again on a host that has its keys
// (a setup script run twice), emptied the file the same way. A command
// that fails must leave the keys file as it was; with room, the steps
// make key 2 first and keep key 1 after it. The first key's command on a
// full file system must leave no keys file: set -C made the run again
// that would fix it refuse the empty file it left ("File exists"), and the
// store refuses an empty keys file. Each command run twice (a setup script
// run again, an operator unsure it ran) must leave what running it once
// does: step 1 run twice added a second key 2, a key set every host then
// refused ("key ID 2 appears twice"), at start-up too.
func TestKeyRecipesKeepKeysOnFailure(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount a small tmpfs and fill it")
	}
	for _, src := range []struct {
		name string
		text func(t *testing.T) keyRecipes
	}{
		{"sessgc keygen --help", keygenRecipes},
		{"docs/operations.md", operationsRecipes},
		{"docs/security.md", securityRecipes},
		{"fsstore's missing keys file error", fsstoreRecipes},
	} {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel() // each runs sessgc six times or so, on its own tmpfs
			r := src.text(t)
			mnt := smallTmpfs(t)
			keys := filepath.Join(mnt, "keys")
			k1 := newKey(t, 1).SecretLine() + "\n"
			if err := os.WriteFile(keys, []byte(k1), 0o600); err != nil {
				t.Fatal(err)
			}
			fresh := filepath.Join(mnt, "fresh") // for a first key where there is none
			if err := os.Mkdir(fresh, 0o700); err != nil {
				t.Fatal(err)
			}
			runIn := func(dir, what, script string) {
				t.Helper()
				cmd := exec.Command("sh", "-c", strings.ReplaceAll(script, "/etc/sessfs", dir))
				cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(sessgcBin)+":"+os.Getenv("PATH"))
				out, _ := cmd.CombinedOutput() // what a failure leaves is checked below
				t.Logf("%s:\n%s%s", what, script, out)
			}
			run := func(what, script string) { t.Helper(); runIn(mnt, what, script) }
			kept := func(what string) {
				t.Helper()
				if b, err := os.ReadFile(keys); err != nil || string(b) != k1 {
					t.Fatalf("%s left the keys file %q (%v), want it as it was, %q", what, b, err, k1)
				}
			}
			if r.first != "" {
				run("the first key, again", r.first)
				kept("the first key's command run where the keys file is")
				os.Remove(keys + ".new")
			}
			// Full blocks, free inodes: keys.new is made, and its writes fail.
			filler := filepath.Join(mnt, "filler")
			fillBlocks(t, filler)
			for i, step := range r.steps {
				run("on a full file system", step)
				kept(fmt.Sprintf("step %d on a full file system", i+1))
			}
			if r.first != "" {
				runIn(fresh, "the first key on a full file system", r.first)
				if _, err := os.Lstat(filepath.Join(fresh, "keys")); !os.IsNotExist(err) {
					t.Errorf("the first key's command on a full file system left a keys file (%v), want none, so that running it again makes one", err)
				}
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			if r.first != "" {
				runIn(fresh, "the first key, with room", r.first)
				runIn(fresh, "the first key, with room, again", r.first)
				fi, err := os.Stat(filepath.Join(fresh, "keys"))
				b, _ := os.ReadFile(filepath.Join(fresh, "keys"))
				if err != nil || fi.Mode().Perm() != 0o600 || len(strings.Split(strings.TrimSpace(string(b)), "\n")) != 1 || !strings.HasPrefix(string(b), "1 ") {
					t.Errorf("the first key's command with room: keys file %q (%v, mode %v), want one line, key 1, mode 0600", b, err, fi.Mode())
				}
			}
			if len(r.steps) == 0 {
				return
			}
			for _, step := range r.steps {
				run("with room", step)
				run("with room, again", step)
			}
			b, err := os.ReadFile(keys)
			if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "2 ") || lines[1]+"\n" != k1 {
				t.Errorf("keys file after steps 1 and 2: %q (%v), want key 2 first, then key 1", b, err)
			}
		})
	}
}

// keyRecipes are the shell commands of a text that makes keys: the first
// key's (if the text has one) and steps 1 and 2 of a rotation.
type keyRecipes struct {
	first string
	steps []string
}

// keygenRecipes returns the commands of sessgc keygen --help's examples,
// paragraphs of comment lines and commands.
func keygenRecipes(t *testing.T) keyRecipes {
	t.Helper()
	r := runGC(t, []string{"keygen", "--help"})
	_, ex, ok := strings.Cut(r.stdout, "Examples:\n")
	ex, _, _ = strings.Cut(ex, "\nFlags:")
	paras := strings.Split(strings.TrimSpace(ex), "\n\n")
	if r.code != 0 || !ok || len(paras) != 3 || !strings.Contains(paras[0], "--id 1") {
		t.Fatalf("sessgc keygen --help: exit %d, no three examples (the first key, steps 1 and 2) in\n%s", r.code, r.stdout)
	}
	return keyRecipes{first: paras[0], steps: paras[1:]}
}

// operationsRecipes returns the commands of steps 1 and 2 of "Rotating
// from key 1 to key 2" in docs/operations.md.
func operationsRecipes(t *testing.T) keyRecipes {
	t.Helper()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "**Rotating from key 1 to key 2**")
	if ok {
		_, rest, ok = strings.Cut(rest, "```sh\n")
	}
	block, _, _ := strings.Cut(rest, "```")
	one, rest, ok1 := strings.Cut(block, "# 2.")
	two, _, ok2 := strings.Cut(rest, "# 3.")
	if !ok || !ok1 || !ok2 || !strings.Contains(one, "sessgc keygen") {
		t.Fatalf("docs/operations.md: no rotation steps 1 and 2 found")
	}
	return keyRecipes{steps: []string{one, "# 2." + two}}
}

// securityRecipes returns the first key's command of docs/security.md, the
// script its sudo -u app sh -c runs.
func securityRecipes(t *testing.T) keyRecipes {
	t.Helper()
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(doc), "\n") {
		if _, script, ok := strings.Cut(l, "sh -c '"); ok && strings.Contains(l, "keygen --id 1") {
			script, _, _ = strings.Cut(script, "'")
			return keyRecipes{first: strings.ReplaceAll(script, "/usr/local/bin/sessgc", "sessgc")}
		}
	}
	t.Fatal("docs/security.md: no first key's command (sh -c '... sessgc keygen --id 1 ...') found")
	return keyRecipes{}
}

// fsstoreRecipes returns the first key's command that fsstore.Open's
// error suggests for a keys file that does not exist, for
// /etc/sessfs/keys.
func fsstoreRecipes(t *testing.T) keyRecipes {
	t.Helper()
	etc := filepath.Join(t.TempDir(), "etc", "sessfs")
	dir := t.TempDir()
	_, err := fsstore.Open(dir, fsstore.WithKeysFile(filepath.Join(etc, "keys")))
	if err == nil {
		t.Fatal("fsstore.Open with a keys file that does not exist: no error")
	}
	_, cmd, ok := strings.Cut(err.Error(), "as the user the app servers run as: ")
	cmd, _, ok2 := strings.Cut(cmd, "; then copy")
	if !ok || !ok2 || !strings.Contains(cmd, "keygen --id 1") {
		t.Fatalf("fsstore.Open with a keys file that does not exist: %v; no first key's command found", err)
	}
	return keyRecipes{first: strings.ReplaceAll(cmd, etc, "/etc/sessfs")}
}

// fillBlocks fills the file system of path with a file at path, leaving
// its free inodes: an empty file can still be made there.
func fillBlocks(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for n := len(buf); n > 0; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				if !errors.Is(err, unix.ENOSPC) {
					t.Fatalf("filling the file system: %v", err)
				}
				break
			}
		}
	}
}
