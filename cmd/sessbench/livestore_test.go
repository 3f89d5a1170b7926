package main_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLiveStoreDirRefused: sessbench given a live store's directory as
// --dir exits 1, naming it, and writes nothing in the store. sessbench
// run and http's sessfs peer measured there, with a directory of their
// own at the store's top that sessgc reported as foreign (and, after a
// run killed before its cleanup, kept for good, its sessions in it); http's
// gorilla-fs peer, no fsstore, wrote its session files inside the store's
// data directory, which fsstore refuses to open.
func TestLiveStoreDirRefused(t *testing.T) {
	store := filepath.Join(t.TempDir(), "sessions")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(store)
	if errors.Is(err, fsstore.ErrNotSupported) {
		t.Skipf("no store opens here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), &fsstore.Session{ID: "0123456789abcdef0123456789abcdef", Data: []byte("live")}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	data := filepath.Join(store, fsstore.DataDir)
	httpArgs := []string{"--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0"}
	for _, tt := range []struct {
		name string
		dir  string
		args []string
	}{
		{"run", store, append([]string{"run"}, tiny...)},
		{"http", store, append([]string{"http", "--peers", "sessfs,scs-mem"}, httpArgs...)},
		{"http gorilla-fs in data", data, append([]string{"http", "--peers", "gorilla-fs"}, httpArgs...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, store)
			r := run(t, nil, append(slices.Clone(tt.args), "--dir", tt.dir)...)
			if r.code != 1 || !strings.Contains(r.stderr, "sessfs store") || !strings.Contains(r.stderr, tt.dir) {
				t.Errorf("exit %d, stderr %q; want exit 1 saying that %s is a sessfs store's", r.code, r.stderr, tt.dir)
			}
			if after := snapshot(t, store); !slices.Equal(before, after) {
				t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}
