package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestNFSKeylessHostLearnsEncryption: hostB opens the store without keys;
// hostA then opens it with keys, which marks it encrypted in the marker,
// and saves. hostB, still running, must re-read the marker through its NFS
// client's caches and refuse its saves (ErrKeysRequired), here on the real
// clock.
func TestNFSKeylessHostLearnsEncryption(t *testing.T) {
	key := fsstore.Key{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}
	sig := func(t *testing.T, name string) string { return filepath.Join(nfstest.Dir(t), "sig", name) }
	wait := func(t *testing.T, name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := nfstest.WaitFile(ctx, sig(t, name)); err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
	}
	storeDir := func(t *testing.T) string { return filepath.Join(nfstest.Dir(t), "store") }
	cfg := nfstest.Config{Hosts: 2, Timeout: 3 * time.Minute}
	nfstest.Run(t, cfg, map[string]func(*testing.T){
		"hostA": func(t *testing.T) {
			wait(t, "opened")
			s, err := fsstore.Open(storeDir(t), fsstore.WithKeys(key))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Save(context.Background(), &fsstore.Session{ID: "nfs-keyless-host-000001", Data: []byte("secret")}); err != nil {
				t.Fatal(err)
			}
			nfstest.Signal(sig(t, "marked"))
		},
		"hostB": func(t *testing.T) {
			if err := os.MkdirAll(storeDir(t), 0o700); err != nil {
				t.Fatal(err)
			}
			s, err := fsstore.Open(storeDir(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			nfstest.Signal(sig(t, "opened"))
			wait(t, "marked")
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
		},
	})
}
