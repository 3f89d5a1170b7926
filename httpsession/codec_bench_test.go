package httpsession

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// codecPayload returns a session payload of about size bytes as this
// package writes it, in one of the shapes of BenchmarkRequest: "blob" (a
// counter and one string) or "keys" (a counter and small records), and a
// new encoding for every key, for the all-changed case.
func codecPayload(tb testing.TB, shape string, size int) ([]byte, map[string][]byte) {
	tb.Helper()
	vals := map[string]any{"n": 0}
	switch shape {
	case "blob":
		vals["blob"] = strings.Repeat("x", size-20)
	case "keys":
		for i := 0; i*100 < size-40; i++ {
			vals[fmt.Sprintf("item%04d", i)] = map[string]any{"id": i, "name": strings.Repeat("x", 40), "tags": []string{"alpha", "beta <&>"}}
		}
	}
	var v values
	changed := map[string][]byte{}
	for k, x := range vals {
		raw, err := json.Marshal(x)
		if err != nil {
			tb.Fatal(err)
		}
		v.put(k, raw)
		changed[k] = append(append([]byte("["), raw...), ']')
	}
	b, _, err := v.encode(nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b, changed
}

// BenchmarkCodec is the session codec alone, as a request uses it: decode
// the payload loaded and read the counter (read-only); also set the counter
// and encode (one-changed); or set every key and encode (all-changed). The
// new encodings are made before the timer starts: json.Marshal of the
// application's values is not the codec's cost. The members' lists and
// the encoding's buffer are reused from one iteration to the next, as
// requests reuse them (Manager.bufs).
func BenchmarkCodec(b *testing.B) {
	for _, shape := range []string{"blob", "keys"} {
		for _, size := range []int{1 << 10, 16 << 10} {
			payload, changed := codecPayload(b, shape, size)
			for _, work := range []string{"read-only", "one-changed", "all-changed"} {
				b.Run(fmt.Sprintf("%s/%dK/%s", shape, size>>10, work), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(payload)))
					var loaded, saved reqBuf
					for i := 0; i < b.N; i++ {
						v, err := decodeValues(payload, loaded.m)
						if err != nil {
							b.Fatal(err)
						}
						loaded.m = v.base[:0]
						raw, _ := v.get("n")
						var n int
						if err := json.Unmarshal(raw, &n); err != nil {
							b.Fatal(err)
						}
						switch work {
						case "read-only":
							continue
						case "one-changed":
							v.put("n", []byte("1"))
						case "all-changed":
							for k, raw := range changed {
								v.put(k, raw)
							}
						}
						out, next, err := v.encode(saved.b, saved.m)
						if err != nil {
							b.Fatal(err)
						}
						saved.b, saved.m = out[:0], next.base[:0]
					}
				})
			}
		}
	}
}

// BenchmarkPutEncoding is what Put adds to json.Marshal of a value
// (encodeValue: the key's UTF-8 check, and the nesting count of a value of
// 20000 bytes or more with as many brackets), against json.Marshal alone in
// the same run, for a string (a blob) and for a list of small records.
func BenchmarkPutEncoding(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		items := make([]map[string]any, size/100)
		for i := range items {
			items[i] = map[string]any{"id": i, "name": strings.Repeat("x", 40), "tags": []string{"alpha", "beta"}}
		}
		for _, shape := range []struct {
			name string
			v    any
		}{{"blob", strings.Repeat("x", size)}, {"records", items}} {
			for _, enc := range []struct {
				name string
				fn   func(any) ([]byte, error)
			}{
				{"json.Marshal", json.Marshal},
				{"encodeValue", func(v any) ([]byte, error) { return encodeValue("cart", v) }},
			} {
				b.Run(fmt.Sprintf("%s/%dK/%s", shape.name, size>>10, enc.name), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := enc.fn(shape.v); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
