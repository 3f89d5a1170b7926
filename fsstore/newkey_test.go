package fsstore_test

import (
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestNewKeyRefusesIDZero: NewKey makes a key for a keys file, and Key.ID
// is nonzero: ID 0 is plaintext's, which every key set refuses (CheckKeys,
// ParseKeys, Open). NewKey(0) made such a key, whose line no keys file
// could hold.
func TestNewKeyRefusesIDZero(t *testing.T) {
	if k, err := fsstore.NewKey(0); err == nil {
		t.Errorf("NewKey(0) = %v, want an error", k)
	}
	k, err := fsstore.NewKey(1)
	if err != nil || k.ID != 1 || len(k.Secret) != 32 || fsstore.CheckKeys([]fsstore.Key{k}) != nil {
		t.Errorf("NewKey(1) = %v, %v; want a valid key 1", k, err)
	}
}
