package httpsession

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unicode/utf8"
)

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

// FuzzPut holds Put's encoding (encodeValue) to what a later request and
// any JSON tool read back: a key and value it accepts are saved under that
// very key, beside a session's other keys (escaped ones included), and
// load back as put, through this package's decoder and through
// encoding/json reading the whole payload; what it refuses (a key that is
// not valid UTF-8, a value nested deeper than maxValueDepth) fails with
// ErrUnencodable. The value is a string (any bytes) inside depth levels
// of arrays. The seed corpus is in testdata/fuzz/FuzzPut.
func FuzzPut(f *testing.F) {
	f.Add("user", "ada", uint16(0))
	f.Add("\xff", "x", uint16(1))
	f.Add("<a>", "\xfe\x00\n", uint16(maxValueDepth))
	f.Fuzz(func(t *testing.T, key, s string, depth uint16) {
		d := int(depth)
		if d > maxValueDepth+3 {
			d %= 8 // most inputs shallow: a deep one costs a thousand shallow ones
		}
		var v any = s
		for range d {
			v = []any{v}
		}
		raw, err := encodeValue(key, v)
		refuse := !utf8.ValidString(key) || d > maxValueDepth
		switch {
		case refuse && !errors.Is(err, ErrUnencodable):
			t.Fatalf("encodeValue(%q, depth %d): %v, want ErrUnencodable", key, d, err)
		case !refuse && err != nil:
			t.Fatalf("encodeValue(%q, depth %d): %v", key, d, err)
		case refuse:
			return
		}
		base := "{\n\"\\u003ca\\u003e\":1,\n\"n\":[2],\n\"user\":\"bob\"\n}"
		vals, err := decodeValues([]byte(base), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"<a>": "1", "n": "[2]", "user": `"bob"`}
		vals.put(key, raw)
		want[key] = string(raw)
		out, _, err := vals.encode(nil, nil)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		back, err := decodeValues(out, nil)
		if err != nil {
			t.Fatalf("the payload %s does not load: %v", short(out), err)
		}
		var whole map[string]json.RawMessage
		if err := json.Unmarshal(out, &whole); err != nil {
			t.Fatalf("the payload %s does not read whole with encoding/json: %v", short(out), err)
		}
		if len(whole) != len(want) || back.len() != len(want) {
			t.Fatalf("the payload %s holds keys %q (encoding/json: %d), want %d", short(out), back.keys(), len(whole), len(want))
		}
		for k, w := range want {
			got, ok := back.get(k)
			if !ok || string(got) != w || string(whole[k]) != w {
				t.Fatalf("key %q loads back as %s (encoding/json: %s), want %s", k, short(got), short(whole[k]), short([]byte(w)))
			}
		}
		got := v
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("the value %s does not read back: %v", short(raw), err)
		}
		if utf8.ValidString(s) && !reflect.DeepEqual(got, v) {
			t.Fatalf("the value reads back as %s, want %s", short(fmt.Append(nil, got)), short(fmt.Append(nil, v)))
		}
	})
}
