package fsstore

import (
	"path/filepath"
	"testing"
)

// TestStoreKeyMatchesDeriveKey: Store.key builds the record's path in the
// name's allocation; it must name the same file and stripe as deriveKey
// and the path that filepath.Join and shardPath give, at every shard depth.
func TestStoreKeyMatchesDeriveKey(t *testing.T) {
	ids := []string{"abcdefghijklmnopqrstuvwxyz012345", "A-_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"}
	for depth := 0; depth <= 3; depth++ {
		s, err := Open(t.TempDir(), WithShardDepth(depth))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			want := deriveKey(id)
			got := s.key(id)
			if got.name != want.name || got.stripe != want.stripe {
				t.Errorf("depth %d, ID %q: key name %s stripe %d, deriveKey name %s stripe %d", depth, id, got.name, got.stripe, want.name, want.stripe)
			}
			wantDir := shardPath(s.dataDir, want.name, depth)
			wantFile := filepath.Join(wantDir, want.name)
			if dir, file := s.path(got); dir != wantDir || file != wantFile {
				t.Errorf("depth %d, ID %q: path %q in %q, want %q in %q", depth, id, file, dir, wantFile, wantDir)
			}
			if dir, file := s.path(want); dir != wantDir || file != wantFile {
				t.Errorf("depth %d, ID %q: path of deriveKey's key %q in %q, want %q in %q", depth, id, file, dir, wantFile, wantDir)
			}
		}
		s.Close()
	}
}
