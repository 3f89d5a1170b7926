//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/forge"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// Encryption across two NFS client hosts, scenarios of TestNFSStore (with
// delegations off and on):
//
// EncryptedStore: hostA opens the store with keys (which marks it
// encrypted) and saves a session. hostB, without keys, cannot open it for
// writing; with the keys it reads hostA's session; as an attacker it then
// writes a cleartext {"user":"admin"} over it, which hostA refuses.
//
// KeylessHostLearns: hostB opens the store without keys; hostA then opens
// it with keys, which marks it encrypted in the marker, and saves. hostB,
// still running, must re-read the marker through its NFS client's caches
// and refuse its saves (ErrKeysRequired), here on the real clock. Then
// hostA, as a writer of the mount, removes the marker's "encrypted 1"
// line: a new keyless Open on hostB must still be refused, by the key
// check file hostA wrote, which hostB's client last listed before it was
// there.

var nfsCryptoKey = fsstore.Key{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}

const nfsEncryptedID = "nfs-encrypted-store-000001"

// nfsCryptoSig is the signal file name, apart from the store.
func nfsCryptoSig(t *testing.T, name string) string {
	return filepath.Join(nfstest.Dir(t), "sig", name)
}

// nfsCryptoWait waits for the other host's signal name.
func nfsCryptoWait(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := nfstest.WaitFile(ctx, nfsCryptoSig(t, name)); err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
}

// nfsCryptoDir is the scenario's store directory, created.
func nfsCryptoDir(t *testing.T) string {
	d := filepath.Join(nfstest.Dir(t), "store")
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func nfsEncryptedStoreA(t *testing.T) {
	ctx := context.Background()
	s, err := fsstore.Open(nfsCryptoDir(t), fsstore.WithKeys(nfsCryptoKey))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(ctx, &fsstore.Session{ID: nfsEncryptedID, Data: []byte(`{"user":"alice"}`)}); err != nil {
		t.Fatal(err)
	}
	nfstest.Signal(nfsCryptoSig(t, "saved"))
	nfsCryptoWait(t, "forged")
	got, err := s.Load(ctx, nfsEncryptedID)
	if err == nil {
		t.Fatalf("hostA loaded the record hostB forged in clear: %q", got.Data)
	}
	if !errors.Is(err, fsstore.ErrUnencrypted) {
		t.Fatalf("hostA Load of the forged record: %v, want ErrUnencrypted", err)
	}
}

func nfsEncryptedStoreB(t *testing.T) {
	ctx := context.Background()
	nfsCryptoWait(t, "saved")
	dir := nfsCryptoDir(t)
	if _, err := fsstore.Open(dir); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Fatalf("hostB Open without keys: %v, want ErrKeysRequired", err)
	}
	s, err := fsstore.Open(dir, fsstore.WithKeys(nfsCryptoKey))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Load(ctx, nfsEncryptedID); err != nil || string(got.Data) != `{"user":"alice"}` {
		t.Fatalf("hostB Load of hostA's session: %v", err)
	}
	if _, err := forge.Write(dir, forge.Record{ID: nfsEncryptedID, Payload: []byte(`{"user":"admin"}`), Version: 5}); err != nil {
		t.Fatal(err)
	}
	nfstest.Signal(nfsCryptoSig(t, "forged"))
}

func nfsKeylessHostA(t *testing.T) {
	nfsCryptoWait(t, "opened")
	s, err := fsstore.Open(nfsCryptoDir(t), fsstore.WithKeys(nfsCryptoKey))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(context.Background(), &fsstore.Session{ID: "nfs-keyless-host-000001", Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	nfstest.Signal(nfsCryptoSig(t, "marked"))
	nfsCryptoWait(t, "refused")
	marker := filepath.Join(nfsCryptoDir(t), fsstore.MarkerFile)
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	stripped := strings.Replace(string(b), "encrypted 1\n", "", 1)
	if stripped == string(b) {
		t.Fatalf("marker %q has no encrypted line", b)
	}
	tmp := marker + ".edit"
	if err := os.WriteFile(tmp, []byte(stripped), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, marker); err != nil {
		t.Fatal(err)
	}
	nfstest.Signal(nfsCryptoSig(t, "stripped"))
	nfsCryptoWait(t, "reopened")
}

func nfsKeylessHostB(t *testing.T) {
	s, err := fsstore.Open(nfsCryptoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nfstest.Signal(nfsCryptoSig(t, "opened"))
	nfsCryptoWait(t, "marked")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for n := 0; ; n++ {
		err := s.Save(ctx, &fsstore.Session{ID: "nfs-keyless-host-000002", Data: []byte("clear")})
		if errors.Is(err, fsstore.ErrKeysRequired) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("hostB still saving plaintext after %d saves", n)
		}
	}
	nfstest.Signal(nfsCryptoSig(t, "refused"))
	nfsCryptoWait(t, "stripped")
	// This client may still read the marker it cached, with its line (CI
	// saw it once): that Open is refused too, by the marker, and proves
	// nothing about the key files. Open again until this host reads the
	// marker hostA wrote, within the client's attribute cache's longest
	// hold.
	deadline := time.Now().Add(90 * time.Second)
	for {
		o, err := fsstore.Open(nfsCryptoDir(t))
		if err == nil {
			o.Close()
			t.Fatal("hostB opened the store without keys once hostA removed the marker's encrypted line, beside hostA's .keycheck-1")
		}
		if errors.Is(err, fsstore.ErrKeysRequired) && strings.Contains(err.Error(), "(its .sessfs file says so)") && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if !errors.Is(err, fsstore.ErrKeysRequired) || !strings.Contains(err.Error(), ".keycheck-1") {
			t.Fatalf("hostB Open without keys, the marker's line removed: %v, want ErrKeysRequired naming .keycheck-1", err)
		}
		break
	}
	nfstest.Signal(nfsCryptoSig(t, "reopened"))
}

// KeysFileChangedOnOtherHost: the keys file is on the export, and hostB
// rotates it (temp file, rename over). hostA's watcher gets no event for
// it: inotify on an NFS client sees only that client's own changes. hostA
// kept its old key set for good, with no error, until the watcher read the
// file on a timer as well (fsstore.WithKeysFile; here every 100 ms rather
// than every 10 s). Two rotations: the first may be read by the watcher's
// first look at the file, as it starts.
func nfsKeysFileOtherHostA(t *testing.T) {
	path := nfsKeysFilePath(t)
	nfsWriteKeysFile(t, path, nfsCryptoKey)
	ev := make(reloadEvents, 64)
	s, err := fsstore.Open(nfsCryptoDir(t), fsstore.WithKeysFile(path), fsstore.WithKeysFileTrusted(),
		fsstore.WithObserver(ev), fsstore.WithKeysPollForTest(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nfstest.Signal(nfsCryptoSig(t, "keys-0"))
	for gen := 1; gen <= 2; gen++ {
		nfsCryptoWait(t, fmt.Sprintf("rotated-%d", gen))
		if !waitReloadOK(t, ev, time.Minute) {
			t.Fatalf("rotation %d: hostB replaced the keys file on the export; hostA never applied it", gen)
		}
		if newest, _ := s.KeysInUseForTest(); newest != uint32(gen+1) {
			t.Fatalf("rotation %d: hostA's newest key is %d, want %d", gen, newest, gen+1)
		}
		nfstest.Signal(nfsCryptoSig(t, fmt.Sprintf("keys-%d", gen)))
	}
}

func nfsKeysFileOtherHostB(t *testing.T) {
	path := nfsKeysFilePath(t)
	for gen := 1; gen <= 2; gen++ {
		nfsCryptoWait(t, fmt.Sprintf("keys-%d", gen-1))
		k, err := fsstore.NewKey(uint32(gen + 1))
		if err != nil {
			t.Fatal(err)
		}
		nfsWriteKeysFile(t, path, k, nfsCryptoKey)
		nfstest.Signal(nfsCryptoSig(t, fmt.Sprintf("rotated-%d", gen)))
	}
	nfsCryptoWait(t, "keys-2")
}

// nfsKeysFilePath is KeysFileChangedOnOtherHost's keys file, its
// directory created.
func nfsKeysFilePath(t *testing.T) string {
	d := filepath.Join(nfstest.Dir(t), "keys")
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "keys")
}

// nfsWriteKeysFile replaces the keys file at path atomically.
func nfsWriteKeysFile(t *testing.T, path string, keys ...fsstore.Key) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(keysFileText(keys...)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
