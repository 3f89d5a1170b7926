package httpsession

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// members returns v's current members, failing when they are not sorted
// by key and unique.
func members(t testing.TB, v *values) ([]string, map[string][]byte) {
	t.Helper()
	keys := v.keys()
	got := make(map[string][]byte, len(keys))
	for i, k := range keys {
		if i > 0 && keys[i-1] >= k {
			t.Fatalf("keys %q not sorted and unique", keys)
		}
		raw, ok := v.get(k)
		if !ok {
			t.Fatalf("key %q listed but not found", k)
		}
		got[k] = raw
	}
	if n := v.len(); n != len(keys) {
		t.Fatalf("len %d, %d keys", n, len(keys))
	}
	return keys, got
}

// short quotes b for a failure message, cut to a readable length.
func short(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", b[:200], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func compactOf(b []byte) string {
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return "invalid:" + string(b)
	}
	return c.String()
}

// inLineLayout reports whether b is laid out as encode writes it.
func inLineLayout(b []byte) bool {
	return len(b) >= 4 && string(b[:2]) == "{\n" && string(b[len(b)-2:]) == "\n}"
}

// checkDecode holds decodeValues to its contract against encoding/json,
// the parser the payload was read with before: what it refuses, decode
// refuses; what it accepts, decode splits into the same members; and
// a payload in the line layout may load with a damaged value, which then
// is the only difference. It then checks that encoding after a change
// writes the untouched values' bytes as loaded and loads back the same.
func checkDecode(t testing.TB, b []byte) {
	t.Helper()
	v, err := decodeValues(b, nil)
	var want map[string]json.RawMessage
	werr := json.Unmarshal(b, &want)
	if len(b) == 0 {
		werr, want = nil, nil // an empty payload is an empty session
	}
	if err != nil {
		if werr == nil {
			t.Fatalf("decode refused %s, which json.Unmarshal accepts: %v", short(b), err)
		}
		return
	}
	keys, got := members(t, &v)
	// A value is valid alone, and as a member (for the depth limit).
	allValid := true
	for _, raw := range got {
		allValid = allValid && json.Valid(raw) && json.Valid(append(append([]byte(`{"":`), raw...), '}'))
	}
	switch {
	case werr != nil && (!inLineLayout(b) || allValid):
		t.Fatalf("decode accepted %s, which json.Unmarshal refuses (%v)", short(b), werr)
	case werr == nil && allValid:
		if len(got) != len(want) {
			t.Fatalf("decode %s: keys %q, json.Unmarshal has %d", short(b), keys, len(want))
		}
		for k, w := range want {
			g, ok := got[k]
			switch {
			case !ok:
				t.Fatalf("decode %s: key %q missing", short(b), k)
			case bytes.IndexByte(b, '\n') < 0 && !bytes.Equal(g, w):
				t.Fatalf("decode %s: key %q holds %s, json.Unmarshal %s", short(b), k, short(g), short(w))
			case compactOf(g) != compactOf(w):
				t.Fatalf("decode %s: key %q holds %s, json.Unmarshal %s", short(b), k, short(g), short(w))
			}
		}
	}

	// Change one key, and delete another.
	const added = "\x00added <&>"
	v.put(added, []byte(`[1,"\u003c"]`))
	var deleted string
	if len(keys) > 0 {
		deleted = keys[len(keys)/2]
		v.del(deleted)
	}
	if !v.changed() {
		t.Fatal("no change recorded")
	}
	out, next, err := v.encode(nil, nil)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if allValid && !json.Valid(out) {
		t.Fatalf("encode of %s wrote invalid JSON %s", short(b), short(out))
	}
	back, err := decodeValues(out, nil)
	if err != nil {
		t.Fatalf("encoding %s does not load: %v", short(out), err)
	}
	if _, ok := splitLines(out, nil); !ok {
		t.Fatalf("encoding %s is not in the line layout", short(out))
	}
	for _, w := range []*values{&next, &back} {
		k2, g2 := members(t, w)
		if len(k2) != v.len() {
			t.Fatalf("encoding %s has keys %q, want %d", short(out), k2, v.len())
		}
		for _, k := range k2 {
			want, _ := v.get(k)
			if !bytes.Equal(g2[k], want) {
				t.Fatalf("encoding %s: key %q holds %s, want %s (the bytes as loaded or put)", short(out), k, short(g2[k]), short(want))
			}
		}
		if _, ok := g2[deleted]; ok && deleted != added {
			t.Fatalf("encoding %s kept deleted key %q", short(out), deleted)
		}
	}
	if next.changed() {
		t.Fatal("encode's values have changes pending")
	}
	checkReuse(t, b, &v, out)
}

// checkReuse decodes b and encodes v again into buffers a request reuses,
// filled with what an earlier, larger session left there: the results
// must be those made in fresh buffers (want, v's encoding), none of the
// earlier bytes or members showing through.
func checkReuse(t testing.TB, b []byte, v *values, want []byte) {
	t.Helper()
	junk := bytes.Repeat([]byte(`"old":"secret",`), len(b)/8+64)
	oldBase := make([]member, len(b)+64)
	for i := range oldBase {
		oldBase[i] = member{q0: 1, q1: 6, v0: 7, v1: 15}
	}
	fresh, ferr := decodeValues(b, nil)
	reused, rerr := decodeValues(b, oldBase[:3])
	if (ferr == nil) != (rerr == nil) {
		t.Fatalf("decode of %s into a reused list: %v, into a new one: %v", short(b), rerr, ferr)
	}
	if ferr == nil {
		if fk, rk := fresh.keys(), reused.keys(); !slices.Equal(fk, rk) {
			t.Fatalf("decode of %s into a reused list has keys %q, want %q", short(b), rk, fk)
		}
	}
	out, next, err := v.encode(junk[:7], oldBase[:5])
	if err != nil {
		t.Fatalf("encode into a reused buffer: %v", err)
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("encode into a reused buffer wrote %s, want %s", short(out), short(want))
	}
	back, err := decodeValues(out, nil)
	if err != nil {
		t.Fatalf("encoding into a reused buffer does not load: %v", err)
	}
	if nk, bk := next.keys(), back.keys(); !slices.Equal(nk, bk) {
		t.Fatalf("encode into a reused buffer describes keys %q, its payload holds %q", nk, bk)
	}
	for _, k := range back.keys() {
		g1, _ := next.get(k)
		g2, _ := back.get(k)
		if !bytes.Equal(g1, g2) {
			t.Fatalf("encode into a reused buffer: key %q is %s, its payload holds %s", k, short(g1), short(g2))
		}
	}
}

var decodeCases = []string{
	``, `null`, ` null `, `{}`, ` { } `, "{\n}", `{"a":1}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`,
	`{"a" : [1, 2 ,{"x":null}] , "b":"\u00e9\n"}`, "{\n\"a\":1,\n\"b\":{\"c\":[true,false,null]}\n}",
	"{\n\"a\":{\"x\":1,\n\"y\":2},\n\"b\":3\n}", "{\n\"a\":{\"x\":{},\n\"y\":{}},\n\"b\":3\n}",
	"{\n\"a\":\"x\",\"b\":\"y\"\n}", "{\n\"a\":1,\"b\":2\n}", "{\n\"a\":\"x\\\\\",\"b\":\"y\\\"\"\n}", "{\n\"a\": 1\n}", "{\n\"a\":1\n}\n", "{\n\"b\":1,\n\"a\":2,\n\"b\":3\n}",
	`{"\u0061":1,"a":2}`, "{\"\xff\":1}", `{"\ud800":1}`, `{"<>&":"<>&"}`, `{"a":-0.5e+10,"b":0,"c":-1E-2}`,
	`{"a":"\/\b\f\n\r\t\"\\"}`, `{"a":1e400}`,
	// Refused.
	` `, `nul`, `nulls`, `[]`, `"str"`, `1`, `true`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
	`{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"x` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12g4"}`,
	`{"a"1}`, `{a:1}`, `{"a":1}}`, `{"a":1} x`, `{"a":[1,]}`, `{"a":{"b"}}`, `{"a":[1 2]}`, `{`, `{"a`,
	"{\n\"a\":1,\n}", "{\n\"a\":1\n\n}", "{\n,\n}", "{\n\"a\":\n}", "{\n\"a\":1,\n\"b\"\n}",
	"{\n\"a\":tru\n}", "{\n\"a\":[1,]\n}", "{\n\"a\":\"\x01\"\n}", "{\n\"\x01\":1\n}", "{\n\"a\"\x01:1\n}",
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(fmt.Sprintf("%q", c), func(t *testing.T) { checkDecode(t, []byte(c)) })
	}
}

// TestDecodeDepth holds the nesting limit to encoding/json's, on both
// sides of it.
func TestDecodeDepth(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, layout := range []string{`{"a":%s}`, "{\n\"a\":%s\n}"} {
			inner := strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1)
			b := []byte(fmt.Sprintf(layout, inner))
			t.Run(fmt.Sprintf("%d/%t", depth, inLineLayout(b)), func(t *testing.T) {
				checkDecode(t, b)
				if _, err := decodeValues(b, nil); (err == nil) != json.Valid(b) && !inLineLayout(b) {
					t.Errorf("decode error %v, json.Valid %t", err, json.Valid(b))
				}
			})
		}
	}
}

// TestEditsTrackChanges: a change is what differs from the loaded values,
// however it was reached.
func TestEditsTrackChanges(t *testing.T) {
	tests := []struct {
		name    string
		do      func(v *values) bool // reports what the last call said
		changed bool
		keys    string
	}{
		{"put same", func(v *values) bool { return v.put("a", []byte("1")) }, false, "[a b]"},
		{"put new value", func(v *values) bool { return v.put("a", []byte("2")) }, true, "[a b]"},
		{"put back", func(v *values) bool { v.put("a", []byte("2")); return v.put("a", []byte("1")) }, false, "[a b]"},
		{"put new key", func(v *values) bool { return v.put("c", []byte("3")) }, true, "[a b c]"},
		{"add and delete", func(v *values) bool { v.put("c", []byte("3")); return v.del("c") }, false, "[a b]"},
		{"delete missing", func(v *values) bool { return v.del("z") }, false, "[a b]"},
		{"delete", func(v *values) bool { return v.del("a") }, true, "[b]"},
		{"delete and put back", func(v *values) bool { v.del("a"); return v.put("a", []byte("1")) }, false, "[a b]"},
		{"clear", func(v *values) bool { return v.clear() }, true, "[]"},
		{"clear and refill", func(v *values) bool {
			v.clear()
			v.put("a", []byte("1"))
			return v.put("b", []byte(`"x"`))
		}, false, "[a b]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeValues([]byte(`{"a":1,"b":"x"}`), nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.do(&v)
			if v.changed() != tt.changed {
				t.Errorf("changed %t, want %t (edits %v)", v.changed(), tt.changed, v.edits)
			}
			if got := fmt.Sprint(v.keys()); got != tt.keys {
				t.Errorf("keys %s, want %s", got, tt.keys)
			}
		})
	}
	var empty values
	if empty.clear() || empty.del("a") || empty.len() != 0 || empty.changed() {
		t.Error("the zero values are not empty")
	}
	out, _, err := empty.encode(nil, nil)
	if err != nil || string(out) != "{}" {
		t.Errorf("empty encoding %q, %v", out, err)
	}
}

// TestEncodeKeepsUntouchedBytes: a value nobody changed reaches the store
// as the very bytes loaded (another tool's spacing and escapes included),
// and a changed value as json.Marshal wrote it.
func TestEncodeKeepsUntouchedBytes(t *testing.T) {
	src := []byte(`{"big":"` + strings.Repeat("<x>", 100) + `","esc":"\u00e9","n":1,"obj":{"b":1,  "a":[ 1 ]}}`)
	v, err := decodeValues(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(2)
	v.put("n", raw)
	out, next, err := v.encode(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n" + `"big":"` + strings.Repeat("<x>", 100) + `",` + "\n" + `"esc":"\u00e9",` + "\n" + `"n":2,` + "\n" + `"obj":{"b":1,  "a":[ 1 ]}` + "\n}"
	if string(out) != want {
		t.Errorf("encoding\n%s\nwant\n%s", out, want)
	}
	if next.src == nil || &next.src[0] != &out[0] {
		t.Error("the values to adopt do not describe the payload written")
	}
}

// TestEncodeAllocatesThePayloadsSize: an encoding that needs a new buffer
// gets one of the payload's size, and a members list of its count. Once
// saved, that buffer is the one the session's data lives in, which stays
// with the session after its request, so any room beyond the payload is
// garbage; and a key replaced or deleted is not counted twice (a request
// changing its session's one large value allocated twice its size).
func TestEncodeAllocatesThePayloadsSize(t *testing.T) {
	big := `"` + strings.Repeat("x", 16<<10) + `"`
	keys := func(n int) string {
		var b strings.Builder
		b.WriteString("{\n")
		for i := range n {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, `"item%04d":{"id":%d,"name":"ada"}`, i, i)
		}
		b.WriteString("\n}")
		return b.String()
	}
	for _, tc := range []struct {
		name, payload string
		change        func(v *values)
	}{
		{"counter of a blob", "{\n\"blob\":" + big + ",\n\"n\":9\n}", func(v *values) { v.put("n", []byte("10")) }},
		{"the blob replaced", "{\n\"blob\":" + big + ",\n\"n\":9\n}", func(v *values) { v.put("blob", []byte(strings.ToUpper(big))) }},
		{"the blob deleted, a key added", "{\n\"blob\":" + big + ",\n\"n\":9\n}", func(v *values) {
			v.del("blob")
			v.put("new", []byte(`"<&>"`))
		}},
		{"an escaped key replaced", "{\n\"\\u003ca\\u003e\":" + big + ",\n\"n\":9\n}", func(v *values) { v.put("<a>", []byte("1")) }},
		{"one of many keys", keys(200), func(v *values) { v.put("item0100", []byte("{}")) }},
		{"every one of many keys", keys(200), func(v *values) {
			for i := range 200 {
				v.put(fmt.Sprintf("item%04d", i), []byte(strings.Repeat("7", i+1)))
			}
		}},
		{"every key deleted", keys(20), func(v *values) { v.clear() }},
		{"a new session", "", func(v *values) { v.put("user", []byte(`"ada"`)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeValues([]byte(tc.payload), nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(&v)
			out, next, err := v.encode(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := decodeValues(out, nil); err != nil || !slices.Equal(back.keys(), v.keys()) {
				t.Fatalf("encoding %s loads as %q, %v; want keys %q", short(out), back.keys(), err, v.keys())
			}
			// Within the 2 bytes of a separator not written after the
			// last member.
			if cap(out) > len(out)+2 {
				t.Errorf("encoding of %d bytes allocated %d", len(out), cap(out))
			}
			if cap(next.base) != len(next.base) {
				t.Errorf("members list of %d allocated for %d", len(next.base), cap(next.base))
			}
		})
	}
}

// TestPlainKeyAgreesWithScanString holds plainKey, the line layout's
// quick read of a key, to scanString's verdict: a length only for a
// string scanString finds valid and plain, of the same length; 0 for any
// other, which scanString then judges. Every byte value is tried at each
// position of a key of up to 17 bytes, before a closing quote or at the
// end of the line.
func TestPlainKeyAgreesWithScanString(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"plain", `"user":1`},
		{"empty key", `"":1`},
		{"no closing quote", `"user`},
		{"quote only", `"`},
		{"escape", `"us\"er":1`},
		{"unicode escape", `"\u00e9":1`},
		{"non-ASCII", "\"caf\xc3\xa9\":1"},
		{"invalid UTF-8", "\"caf\xff\":1"},
		{"control character", "\"a\tb\":1"},
		{"DEL", "\"a\x7fb\":1"},
		{"HTML characters", `"<&>":1`},
	}
	for n := 0; n <= 17; n++ {
		for c := 0; c < 256; c++ {
			key := strings.Repeat("k", n) + string(rune(0)) // placeholder byte, set below
			b := []byte(key)
			b[n] = byte(c)
			tests = append(tests,
				struct{ name, line string }{fmt.Sprintf("byte %#x at %d", c, n), `"` + string(b) + `":1`},
				struct{ name, line string }{fmt.Sprintf("byte %#x at %d, line end", c, n), `"` + string(b)})
		}
	}
	for _, tt := range tests {
		line := []byte(tt.line)
		got := plainKey(line)
		end, plain, err := scanString(line, 0)
		switch {
		case got != 0 && (err != nil || !plain || end != got):
			t.Fatalf("%s: plainKey(%q) = %d; scanString: end %d, plain %v, err %v", tt.name, line, got, end, plain, err)
		case got == 0 && err == nil && plain:
			t.Fatalf("%s: plainKey(%q) = 0; scanString finds a plain string of %d bytes", tt.name, line, end)
		}
	}
}

// TestEncodeLinedRuns holds encode's copy of untouched members from a
// payload in the line layout, which takes each stretch between changed
// keys as one run and sizes the output from its first and last members:
// the encoding after changes at the start, the middle and the end (and
// of keys with escapes, whose unescaped forms move with their offsets) is
// what json.Marshal writes for the same map, laid out one member a line,
// and the members encode reports are the ones a decode of it finds.
func TestEncodeLinedRuns(t *testing.T) {
	const payload = "{\n\"a\":1,\n\"b\\u00e9\":[2],\n\"c\":\"x\",\n\"d<\":{\"e\":3},\n\"f\":null\n}"
	tests := []struct {
		name  string
		edits map[string]string // "" deletes
	}{
		{"none but one set back", map[string]string{"a": "1"}},
		{"first", map[string]string{"a": "9"}},
		{"middle", map[string]string{"c": `"y"`}},
		{"last", map[string]string{"f": "true"}},
		{"new before all", map[string]string{"0": "0"}},
		{"new after all", map[string]string{"z": "0"}},
		{"deleted escaped", map[string]string{"bé": ""}},
		{"several", map[string]string{"a": "", "c": "[]", "d<": `"w"`, "g": "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeValues([]byte(payload), nil)
			if err != nil || !v.lined {
				t.Fatalf("decode: lined %v, err %v", v.lined, err)
			}
			want := map[string]json.RawMessage{}
			if err := json.Unmarshal([]byte(payload), &want); err != nil {
				t.Fatal(err)
			}
			for k, raw := range tt.edits {
				if raw == "" {
					v.del(k)
					delete(want, k)
					continue
				}
				v.put(k, []byte(raw))
				want[k] = json.RawMessage(raw)
			}
			out, next, err := v.encode(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("encoding %q: %v", out, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("encoding %q reads back as %q, want %q", out, got, want)
			}
			again, err := decodeValues(out, nil)
			if err != nil || !again.lined {
				t.Fatalf("encoding %q: decoded lined %v, err %v", out, again.lined, err)
			}
			if !slices.Equal(next.base, again.base) || !next.lined {
				t.Fatalf("encoding %q: members %v (lined %v), a decode finds %v", out, next.base, next.lined, again.base)
			}
			for _, m := range next.base {
				if !bytes.Equal(next.key(m), again.key(m)) {
					t.Fatalf("encoding %q: key at %d is %q, a decode finds %q", out, m.q0, next.key(m), again.key(m))
				}
			}
		})
	}
}
