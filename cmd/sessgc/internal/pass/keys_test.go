package pass

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLoadKeysEnvReadsAsKeysFile: SESSGC_KEYS holding a keys file's text
// (SESSGC_KEYS="$(cat keys)") reads as the file does, a ";" in a # comment
// included; a comment whose text after a ";" holds a key is refused, as is
// that key commented out or meant to be read cannot be told.
func TestLoadKeysEnvReadsAsKeysFile(t *testing.T) {
	const k1 = "1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	const k2 = "2 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	const k3 = "3 AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
	ids := func(keys []fsstore.Key) []uint32 {
		var out []uint32
		for _, k := range keys {
			out = append(out, k.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		text    string
		refused bool // env only: the file reads it
	}{
		{name: "comment with semicolon", text: "# rotated 2026-01; see the runbook\n" + k2 + "\n" + k1 + "\n"},
		{name: "comment with semicolons, CRLF", text: "# a;b;c\r\n" + k2 + "\r\n"},
		{name: "comment after BOM", text: "\ufeff# keys; newest first\n" + k1 + "\n"},
		{name: "indented comment", text: "  \t# x; y\n" + k1},
		{name: "plain", text: k2 + "\n" + k1},
		{name: "key then comment", text: k2 + "\n# old one; kept for reads\n" + k1},
		{name: "retired key in comment", text: "# retired; " + k3 + "\n" + k2 + "\n", refused: true},
		{name: "retired key in comment, one line", text: "# staging;" + k3 + ";" + k2, refused: true},
		{name: "URL-safe key in comment", text: "# x;3 AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI\n" + k2, refused: true},
		{name: "only a comment", text: "# nothing; here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(file, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			fromFile, fileErr := LoadKeys(file, true, false, func(string) string { return "" })
			fromEnv, envErr := LoadKeys("", false, false, func(k string) string {
				if k == KeysEnv {
					return tc.text
				}
				return ""
			})
			if tc.refused {
				if envErr == nil || !strings.Contains(envErr.Error(), "a # comment holds") {
					t.Fatalf("SESSGC_KEYS read as key IDs %v (err %v), want it refused", ids(fromEnv), envErr)
				}
				if strings.Contains(envErr.Error(), "AgICAg") {
					t.Errorf("error quotes the secret: %v", envErr)
				}
				return
			}
			if (fileErr == nil) != (envErr == nil) || !slices.Equal(ids(fromFile), ids(fromEnv)) {
				t.Errorf("keys file: IDs %v, err %v; SESSGC_KEYS: IDs %v, err %v", ids(fromFile), fileErr, ids(fromEnv), envErr)
			}
		})
	}
}
