package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/forge"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestNFSEncryptedStore: on two NFS client hosts, hostA opens the store
// with keys (which marks it encrypted) and saves a session. hostB, without
// keys, cannot open it for writing; with the keys it reads hostA's session;
// as an attacker it then writes a cleartext {"user":"admin"} over it, which
// hostA refuses.
func TestNFSEncryptedStore(t *testing.T) {
	key := fsstore.Key{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}
	const id = "nfs-encrypted-store-000001"
	sig := func(t *testing.T, name string) string { return filepath.Join(nfstest.Dir(t), "sig", name) }
	wait := func(t *testing.T, name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := nfstest.WaitFile(ctx, sig(t, name)); err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
	}
	storeDir := func(t *testing.T) string {
		d := filepath.Join(nfstest.Dir(t), "store")
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := nfstest.Config{Hosts: 2, Timeout: 3 * time.Minute}
	nfstest.Run(t, cfg, map[string]func(*testing.T){
		"hostA": func(t *testing.T) {
			ctx := context.Background()
			s, err := fsstore.Open(storeDir(t), fsstore.WithKeys(key))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"user":"alice"}`)}); err != nil {
				t.Fatal(err)
			}
			nfstest.Signal(sig(t, "saved"))
			wait(t, "forged")
			got, err := s.Load(ctx, id)
			if err == nil {
				t.Fatalf("hostA loaded the record hostB forged in clear: %q", got.Data)
			}
			if !errors.Is(err, fsstore.ErrUnencrypted) {
				t.Fatalf("hostA Load of the forged record: %v, want ErrUnencrypted", err)
			}
		},
		"hostB": func(t *testing.T) {
			ctx := context.Background()
			wait(t, "saved")
			dir := storeDir(t)
			if _, err := fsstore.Open(dir); !errors.Is(err, fsstore.ErrKeysRequired) {
				t.Fatalf("hostB Open without keys: %v, want ErrKeysRequired", err)
			}
			s, err := fsstore.Open(dir, fsstore.WithKeys(key))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, err := s.Load(ctx, id); err != nil || string(got.Data) != `{"user":"alice"}` {
				t.Fatalf("hostB Load of hostA's session: %v", err)
			}
			if _, err := forge.Write(dir, forge.Record{ID: id, Payload: []byte(`{"user":"admin"}`), Version: 5}); err != nil {
				t.Fatal(err)
			}
			nfstest.Signal(sig(t, "forged"))
		},
	})
}
