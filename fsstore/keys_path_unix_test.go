//go:build unix

package fsstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// A keys file that a user other than root and the process's own could
// replace is refused, as OpenSSH's StrictModes refuses such an
// authorized_keys file: owned by another user, or reached through a
// directory (of the path or of a symbolic link followed) that another
// user owns or may write. A directory with the sticky bit (/tmp, the tmpfs
// of a Kubernetes secret volume) is fine for entries owned by root or the
// process's user, and so is a Kubernetes secret volume's layout of
// symbolic links. The cases that need another user's files run as root.
func TestKeysFileReplaceableByOthers(t *testing.T) {
	k1 := mustKey(t, 1)
	text := keysFileText(k1)
	const nobody = 65534
	// setup makes the keys file under base and returns its path.
	for _, tc := range []struct {
		name     string
		root     bool // needs root (chown)
		setup    func(t *testing.T, base string) string
		refused  string // a part of the error; "": accepted
		trustsIt bool   // WithKeysFileTrusted accepts it
	}{{
		name: "private directory",
		setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "keys")
			writeFile0600(t, p, text)
			return p
		},
	}, {
		name: "directory writable by others",
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o777))
			p := filepath.Join(base, "keys")
			writeFile0600(t, p, text)
			return p
		},
		refused:  "writable by group or others",
		trustsIt: true,
	}, {
		name: "directory writable by its group",
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o770))
			p := filepath.Join(base, "keys")
			writeFile0600(t, p, text)
			return p
		},
		refused:  "writable by group or others",
		trustsIt: true,
	}, {
		name: "a directory above writable by others",
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o777))
			sub := filepath.Join(base, "sessfs")
			must(t, os.Mkdir(sub, 0o700))
			p := filepath.Join(sub, "keys")
			writeFile0600(t, p, text)
			return p
		},
		refused:  "writable by group or others",
		trustsIt: true,
	}, {
		name: "symbolic link into a directory writable by others",
		setup: func(t *testing.T, base string) string {
			open := filepath.Join(base, "open")
			must(t, os.Mkdir(open, 0o700))
			must(t, os.Chmod(open, 0o777))
			writeFile0600(t, filepath.Join(open, "keys"), text)
			safe := filepath.Join(base, "safe")
			must(t, os.Mkdir(safe, 0o700))
			p := filepath.Join(safe, "keys")
			must(t, os.Symlink("../open/keys", p))
			return p
		},
		refused:  "writable by group or others",
		trustsIt: true,
	}, {
		name: "sticky directory writable by everyone",
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o777|os.ModeSticky))
			p := filepath.Join(base, "keys")
			writeFile0600(t, p, text)
			return p
		},
	}, {
		// /etc/secret-volume (tmpfs, 1777) holds keys -> ..data/keys,
		// ..data -> ..2026_12_04_20_00_00.123456789, and the real file in
		// that directory (0755), all root's when the kubelet makes them.
		name: "Kubernetes secret volume",
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o777|os.ModeSticky))
			ts := filepath.Join(base, "..2026_12_04_20_00_00.123456789")
			must(t, os.Mkdir(ts, 0o755))
			writeFile0600(t, filepath.Join(ts, "keys"), text)
			must(t, os.Chmod(filepath.Join(ts, "keys"), 0o400))
			must(t, os.Symlink(filepath.Base(ts), filepath.Join(base, "..data")))
			p := filepath.Join(base, "keys")
			must(t, os.Symlink("..data/keys", p))
			return p
		},
	}, {
		name: "Kubernetes secret volume, file 0640 root:fsGroup",
		root: true,
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o777|os.ModeSticky|os.ModeSetgid))
			ts := filepath.Join(base, "..2026_12_04_20_00_00.123456789")
			must(t, os.Mkdir(ts, 0o755))
			must(t, os.Chmod(ts, 0o755|os.ModeSetgid))
			f := filepath.Join(ts, "keys")
			writeFile0600(t, f, text)
			must(t, os.Chown(f, 0, 2000))
			must(t, os.Chmod(f, 0o640))
			must(t, os.Symlink(filepath.Base(ts), filepath.Join(base, "..data")))
			p := filepath.Join(base, "keys")
			must(t, os.Symlink("..data/keys", p))
			return p
		},
	}, {
		name: "sticky directory, link owned by another user",
		root: true,
		setup: func(t *testing.T, base string) string {
			must(t, os.Chmod(base, 0o777|os.ModeSticky))
			safe := filepath.Join(t.TempDir(), "keys")
			writeFile0600(t, safe, text)
			p := filepath.Join(base, "keys")
			must(t, os.Symlink(safe, p))
			must(t, os.Lchown(p, nobody, nobody))
			return p
		},
		refused:  "owned by uid 65534",
		trustsIt: true,
	}, {
		name: "file owned by another user",
		root: true,
		setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "keys")
			writeFile0600(t, p, text)
			must(t, os.Chown(p, nobody, nobody))
			return p
		},
		refused:  "owned by uid 65534",
		trustsIt: true,
	}, {
		name: "directory owned by another user",
		root: true,
		setup: func(t *testing.T, base string) string {
			sub := filepath.Join(base, "sessfs")
			must(t, os.Mkdir(sub, 0o700))
			p := filepath.Join(sub, "keys")
			writeFile0600(t, p, text)
			must(t, os.Chown(sub, nobody, nobody))
			return p
		},
		refused:  "owned by uid 65534",
		trustsIt: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root to give files to another user")
			}
			p := tc.setup(t, t.TempDir())
			_, err := fsstore.KeysFromFile(p)
			s, oerr := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p))
			if oerr == nil {
				s.Close()
			}
			if tc.refused == "" {
				if err != nil || oerr != nil {
					t.Fatalf("KeysFromFile: %v; Open: %v; want both to take the keys", err, oerr)
				}
				return
			}
			for name, err := range map[string]error{"KeysFromFile": err, "Open": oerr} {
				if err == nil || !strings.Contains(err.Error(), tc.refused) || !strings.Contains(err.Error(), "keys") {
					t.Errorf("%s: %v; want it refused, saying %q", name, err, tc.refused)
				}
			}
			// The refusal names the way past it for an operator who
			// vouches for those users.
			if tc.trustsIt && oerr != nil && !strings.Contains(oerr.Error(), "or open the store with fsstore.WithKeysFileTrusted") {
				t.Errorf("Open: %v; want the refusal to name fsstore.WithKeysFileTrusted", oerr)
			}
			s, err = fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p), fsstore.WithKeysFileTrusted())
			if err == nil {
				s.Close()
			}
			if tc.trustsIt && err != nil {
				t.Errorf("Open WithKeysFileTrusted: %v; want the keys taken", err)
			}
			if _, err := fsstore.KeysFromFileTrusted(p); tc.trustsIt && err != nil {
				t.Errorf("KeysFromFileTrusted: %v; want the keys taken", err)
			}
		})
	}
}

// A keys file whose directory became writable by others while the store
// runs is not reloaded: the store keeps its keys and reports the reload
// as failed, as for any keys file it cannot take.
func TestKeysFileReloadRefusedOnceReplaceable(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	p := filepath.Join(dir, "keys")
	writeFile0600(t, p, keysFileText(k1))
	ev := make(reloadEvents, 16)
	s := openDir(t, t.TempDir(), fsstore.WithKeysFile(p), fsstore.WithObserver(ev))
	must(t, os.Chmod(dir, 0o777))
	renameOver(t, p, keysFileText(k2, k1))
	deadline := time.After(30 * time.Second)
	for failed := false; !failed; {
		select {
		case e := <-ev:
			if e.Outcome == fsstore.OutcomeOK {
				t.Fatal("a keys file in a directory everyone may write was reloaded")
			}
			failed = true
		case <-deadline:
			t.Fatal("no failed reload within 30s")
		}
	}
	if newest, ids := s.KeysInUseForTest(); newest != 1 || len(ids) != 1 {
		t.Errorf("keys in use %v, newest %d; want [1] kept", ids, newest)
	}
}
