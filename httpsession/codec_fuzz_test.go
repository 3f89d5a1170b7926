package httpsession

import "testing"

// FuzzDecodeValues holds the payload decoder to its contract against
// encoding/json (see checkDecode) on any input: no panic, no payload loaded
// that encoding/json refuses unless it is in the line layout and only a
// value is damaged, the same members for what it accepts, and an encoding
// after a change that loads back as written. The seed corpus is in
// testdata/fuzz/FuzzDecodeValues.
func FuzzDecodeValues(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecode(t, b) })
}
