package fsstore_test

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFromEnvReadsAsKeysFile: a variable holding a keys file's own text
// (SESSFS_KEYS="$(cat keys)", a systemd credential) reads as ParseKeys reads
// that file. A ";" inside a # comment split the comment, so a key retired
// behind one ("# retired 2026-11; 3 KEY") came back as the newest key, the
// one new writes are sealed with.
func TestKeysFromEnvReadsAsKeysFile(t *testing.T) {
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	for _, tc := range []struct {
		name, value string
		want        []uint32 // nil: refused
	}{
		{"file text", k2.SecretLine() + "\n" + k1.SecretLine() + "\n", []uint32{2, 1}},
		{"one line", k2.SecretLine() + ";" + k1.SecretLine(), []uint32{2, 1}},
		{"comment with ;", "# rotated; see the runbook\n" + k2.SecretLine() + "\n" + k1.SecretLine(), []uint32{2, 1}},
		{"key retired behind ; in a comment", "# retired; " + k3.SecretLine() + "\n" + k2.SecretLine() + "\n" + k1.SecretLine(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SESSFS_TEST_KEYS", tc.value)
			keys, err := fsstore.KeysFromEnv("SESSFS_TEST_KEYS")
			var got []uint32
			for _, k := range keys {
				got = append(got, k.ID)
			}
			if tc.want == nil {
				if err == nil {
					t.Fatalf("KeysFromEnv = key IDs %v, <nil>; want it refused: whether the key after the comment's \";\" is meant cannot be told", got)
				}
				if strings.Contains(err.Error(), strings.Fields(k3.SecretLine())[1]) {
					t.Fatalf("the error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) || got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1] {
				t.Fatalf("KeysFromEnv = key IDs %v, %v; want %v, <nil>", got, err, tc.want)
			}
		})
	}
}
