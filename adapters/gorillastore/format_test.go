package gorillastore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
)

// TestFormattingRedactsKeys: a Store printed or logged by mistake shows
// its directory, not the cookie keys its Codecs hold, in any of the forms
// fmt and slog give bytes (raw, decimal, hex, base64), also as gin's Store,
// which embeds it.
func TestFormattingRedactsKeys(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hashKey := []byte("hash-key-that-must-never-be-printed-64b-long-0123456789abcdefgh")
	blockKey := []byte("block-key-never-printed-32-bytes")
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"gorillastore", gorillastore.New(st, hashKey, blockKey)},
		{"ginstore", ginstore.NewStore(st, hashKey, blockKey)},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "slog text", "slog JSON"} {
			var out string
			switch verb {
			case "slog text", "slog JSON":
				var b bytes.Buffer
				var h slog.Handler = slog.NewTextHandler(&b, nil)
				if verb == "slog JSON" {
					h = slog.NewJSONHandler(&b, nil)
				}
				slog.New(h).Info("opened", "store", tc.v)
				out = b.String()
			default:
				out = fmt.Sprintf(verb, tc.v)
			}
			for _, k := range [][]byte{hashKey, blockKey} {
				for _, form := range []string{string(k), fmt.Sprint(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), fmt.Sprint(k[:8])[1:]} {
					if strings.Contains(out, strings.TrimSuffix(form, "]")) {
						t.Errorf("%s, %s: output %.80q... holds a cookie key", tc.name, verb, out)
					}
				}
			}
			if !strings.Contains(out, st.Dir()) {
				t.Errorf("%s, %s: output %q does not name the directory", tc.name, verb, out)
			}
		}
	}
}
