package httpsession

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// The session's payload is a JSON object, one member per key, with the
// keys sorted, written one member per line:
//
//	{
//	"cart":{"items":3},
//	"user":"ada"
//	}
//
// A request usually reads a few keys and changes one, so the codec's cost
// follows what the request touches, not the session's size. A compact JSON
// value never contains a line break, so a payload in this layout is split
// into its members at its line breaks (a memchr) and by reading each key,
// without reading the values; a value is parsed only when Get asks for it.
// A change is known from the keys Put and Delete touched, not by
// re-encoding and comparing, and the encoding copies every untouched
// member's bytes as they were loaded.
//
// A payload in any other layout (written by an older version, or by
// another tool) is validated in full as it is loaded, and refused if
// json.Unmarshal would refuse it. One in this layout is trusted to be what
// this package wrote: a value damaged in it fails the Get that reads it
// (the session's other keys stay readable), where a damaged payload in
// another layout starts a new session. If each line holds a valid JSON
// value, the members found are exactly those json.Unmarshal finds.

// errNotObject reports a payload that is valid JSON but not an object:
// another application's encoding.
var errNotObject = errors.New("httpsession: session payload is not a JSON object")

// maxDepth is encoding/json's nesting limit: a payload it would refuse is
// refused here too, so that what loads never depends on which parser ran.
const maxDepth = 10000

// maxValueDepth is the deepest nesting Put takes in a value: one level
// less than maxDepth, which the payload, an object around the values,
// adds.
const maxValueDepth = maxDepth - 1

// nestedDeeper reports whether raw, a valid JSON value, nests arrays and
// objects more than limit levels deep. A value that does has two bytes a
// level at least, and more than limit opening brackets: one that has not
// (most, whatever their size) is not scanned.
func nestedDeeper(raw []byte, limit int) bool {
	if len(raw) <= 2*limit || bytes.Count(raw, openBracket)+bytes.Count(raw, openBrace) <= limit {
		return false
	}
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			end, _, err := scanString(raw, i)
			if err != nil {
				return false // not a value this package wrote: json.Marshal's are valid
			}
			i = end - 1
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

var openBracket, openBrace = []byte{'['}, []byte{'{'}

// member is one key of the payload, by its offsets in the payload: small,
// so that a session of many keys costs one small slice, not a copy.
type member struct {
	q0, q1 int32 // the key as encoded, quotes included: src[q0:q1]
	v0, v1 int32 // the value's encoding: src[v0:v1]
	esc    bool  // the key has escapes: unescaped, it is in values.ekeys
}

// edit is a change to one key: a new encoding, or its deletion.
type edit struct {
	raw []byte // nil: deleted
}

// values is a session's values: the payload as loaded or last saved, its
// members, and the changes made since. edits holds only keys whose state
// differs from base, so "changed" is len(edits) > 0 however often a key
// was set back.
type values struct {
	src   []byte
	base  []member         // sorted by key, one per key
	ekeys map[int32][]byte // unescaped keys of the members with esc, by q0
	edits map[string]edit
	// lined: base's members lie in src as encode writes them, each key
	// followed by ':' and its value, one after the other with ",\n"
	// between them (splitLines checked it, or encode wrote them so), so
	// that any run of them is one copy.
	lined bool
}

// decodeValues splits a payload into its members, listed over base (or a
// new slice when base is too small). The values keep b (or a compacted
// copy), which must not change, and base.
func decodeValues(b []byte, base []member) (values, error) {
	if len(b) > math.MaxInt32 {
		return values{}, errors.New("httpsession: session payload over 2 GiB")
	}
	if v, ok := splitLines(b, base); ok {
		return v, nil
	}
	if bytes.IndexByte(b, '\n') >= 0 {
		// A line break inside a value would split it when this payload,
		// written back in the line layout, is loaded again.
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			return values{}, fmt.Errorf("httpsession: session payload: %w", err)
		}
		b = c.Bytes()
	}
	return scanObject(b, base)
}

// splitLines splits a payload in the line layout (one member per line,
// keys sorted and unique, as encode writes it), and reports false for one
// that is not in it.
func splitLines(b []byte, base []member) (values, bool) {
	n := len(b)
	if n < 4 || b[0] != '{' || b[1] != '\n' || b[n-2] != '\n' || b[n-1] != '}' {
		return values{}, false
	}
	// One member per line: with no list to reuse, a memchr count sizes the
	// new one exactly. A reused list grows as it must instead: the count
	// would be a pass over the payload for nothing.
	if cap(base) == 0 {
		base = make([]member, 0, bytes.Count(b, newline)-1)
	}
	v := values{src: b, base: base[:0], lined: true}
	// The loop runs once per member, so a session of many small values
	// spends most of its decode here: the common key (plain ASCII, no
	// escapes) is read by plainKey rather than scanString, and an object
	// or array value is judged by its brackets without a call.
	var prev []byte // the previous member's key, unescaped
	for i := 2; i < n-1; {
		end := i + bytes.IndexByte(b[i:], '\n') // found: b[n-2] is one
		vend := end
		if end < n-2 {
			if b[end-1] != ',' {
				return values{}, false
			}
			vend--
		}
		line := b[i:vend]
		if len(line) == 0 || line[0] != '"' {
			return values{}, false
		}
		kend, plain := i+plainKey(line), true
		if kend == i {
			var err error
			if kend, plain, err = scanString(b[:vend], i); err != nil {
				return values{}, false
			}
		}
		if kend >= vend-1 || b[kend] != ':' {
			return values{}, false
		}
		m := member{q0: int32(i), q1: int32(kend), v0: int32(kend + 1), v1: int32(vend)}
		if first, last := b[kend+1], b[vend-1]; !(first == '{' && last == '}' || first == '[' && last == ']') &&
			!plausible(b[kend+1:vend]) {
			return values{}, false
		}
		key := b[i+1 : kend-1]
		if !plain {
			if !v.setKey(&m) {
				return values{}, false
			}
			key = v.key(m)
		}
		if len(v.base) > 0 && string(prev) >= string(key) {
			// Not as written here, where keys are sorted and unique: a
			// repeated key could hide a damaged value.
			return values{}, false
		}
		prev = key
		v.base = append(v.base, m)
		i = end + 1
	}
	return v, true
}

// keyByte holds the bytes of a plain key (as scanString reports one):
// ASCII, no control character, quote or backslash.
var keyByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainKey returns the length of the JSON string that line starts with,
// quotes included, when that string is plain (what scanString reports as
// plain and valid), and 0 otherwise, for scanString to judge. A byte at
// a time: keys are short, and for one of 8 bytes a word at a time
// (scanString's way) took half as many instructions again.
func plainKey(line []byte) int {
	for j := 1; j < len(line); j++ {
		if c := line[j]; !keyByte[c] {
			if c == '"' {
				return j + 1
			}
			return 0
		}
	}
	return 0
}

var newline = []byte{'\n'}

// plausible reports whether raw can be one JSON value with no space
// around it: a guard, costing a memchr at most, that sends a payload merely
// laid out like this package's (a value over several lines, two members on
// one, spaces after colons) to the full parse. A number or literal is
// checked in full, a string for its closing quote, an object or array by
// its brackets only.
func plausible(raw []byte) bool {
	first, last := raw[0], raw[len(raw)-1]
	switch {
	case first == '{':
		return last == '}'
	case first == '[':
		return last == ']'
	case first == '"':
		return oneString(raw)
	case first == '-' || first >= '0' && first <= '9':
		end, err := scanNumber(raw, 0)
		return err == nil && end == len(raw)
	}
	s := string(raw)
	return s == "true" || s == "false" || s == "null"
}

// oneString reports whether the first unescaped quote after raw[0] is its
// last byte.
func oneString(raw []byte) bool {
	for i := 1; ; {
		j := bytes.IndexByte(raw[i:], '"')
		if j < 0 {
			return false
		}
		q := i + j
		bs := 0
		for k := q - 1; k > 0 && raw[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return q == len(raw)-1
		}
		i = q + 1
	}
}

// setKey records the unescaped key of m, a key with escapes or non-ASCII
// bytes, when it differs from its encoding, as json.Unmarshal unescapes it
// (invalid UTF-8 replaced). It reports false for a key json.Unmarshal
// refuses.
func (v *values) setKey(m *member) bool {
	q := v.src[m.q0:m.q1]
	if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q[1:len(q)-1]) {
		return true
	}
	var k string
	if err := json.Unmarshal(q, &k); err != nil {
		return false
	}
	if v.ekeys == nil {
		v.ekeys = map[int32][]byte{}
	}
	v.ekeys[m.q0], m.esc = []byte(k), true
	return true
}

// sortBase orders the members by key, and of a repeated key keeps the
// last, as json.Unmarshal does.
func (v *values) sortBase() {
	slices.SortStableFunc(v.base, func(x, y member) int { return bytes.Compare(v.key(x), v.key(y)) })
	out := v.base[:0]
	for j, m := range v.base {
		if j+1 < len(v.base) && bytes.Equal(v.key(v.base[j+1]), v.key(m)) {
			continue
		}
		out = append(out, m)
	}
	v.base = out
}

// scanObject validates a payload in full and splits it into its members.
// It accepts what json.Unmarshal into a map[string]json.RawMessage accepts
// (an object, null, or nothing at all) and refuses the rest; each member's
// value is the bytes json.Unmarshal would give.
func scanObject(b []byte, base []member) (values, error) {
	v := values{src: b}
	i := skipSpace(b, 0)
	if i == len(b) {
		if len(b) == 0 {
			return v, nil
		}
		return values{}, syntaxError(b, i, "")
	}
	switch b[i] {
	case '{':
	case 'n':
		end, err := scanValue(b, i, 1)
		if err != nil {
			return values{}, err
		}
		if i = skipSpace(b, end); i != len(b) {
			return values{}, syntaxError(b, i, "after top-level value")
		}
		return v, nil
	default:
		if _, err := scanValue(b, i, 1); err != nil {
			return values{}, err
		}
		return values{}, errNotObject
	}
	// A guess at the member count (one per 128 bytes) saves most of the
	// slice's regrowth without reserving much for a session of one long
	// value.
	if c := len(b)/128 + 4; cap(base) < c {
		base = make([]member, 0, c)
	}
	v.base = base[:0]
	i = skipSpace(b, i+1)
	sorted := true
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return values{}, syntaxError(b, i, "looking for beginning of object key string")
			}
			kend, plain, err := scanString(b, i)
			if err != nil {
				return values{}, err
			}
			m := member{q0: int32(i), q1: int32(kend)}
			if !plain && !v.setKey(&m) {
				return values{}, syntaxError(b, i, "in object key")
			}
			i = skipSpace(b, kend)
			if i >= len(b) || b[i] != ':' {
				return values{}, syntaxError(b, i, "after object key")
			}
			i = skipSpace(b, i+1)
			vend, err := scanValue(b, i, 2)
			if err != nil {
				return values{}, err
			}
			m.v0, m.v1 = int32(i), int32(vend)
			if n := len(v.base); n > 0 && bytes.Compare(v.key(v.base[n-1]), v.key(m)) >= 0 {
				sorted = false
			}
			v.base = append(v.base, m)
			i = skipSpace(b, vend)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return values{}, syntaxError(b, i, "after object key:value pair")
		}
	}
	if i = skipSpace(b, i); i != len(b) {
		return values{}, syntaxError(b, i, "after top-level value")
	}
	if !sorted {
		v.sortBase()
	}
	return v, nil
}

// relist lists the members of v.src again, into a new list, after its
// list was handed over (Session.end); the edits stay.
func (v *values) relist() error {
	nv, err := decodeValues(v.src, nil)
	if err != nil {
		return err
	}
	nv.edits = v.edits
	*v = nv
	return nil
}

// key returns m's unescaped key.
func (v *values) key(m member) []byte {
	if m.esc {
		return v.ekeys[m.q0]
	}
	return v.src[m.q0+1 : m.q1-1]
}

// raw returns m's encoded value.
func (v *values) raw(m member) []byte { return v.src[m.v0:m.v1] }

// lowerBound returns the index of the first member of base whose key is
// not below key.
func (v *values) lowerBound(key string) int {
	lo, hi := 0, len(v.base)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if string(v.key(v.base[mid])) < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// find returns the index of key in base, or -1.
func (v *values) find(key string) int {
	if lo := v.lowerBound(key); lo < len(v.base) && string(v.key(v.base[lo])) == key {
		return lo
	}
	return -1
}

// get returns key's encoded value.
func (v *values) get(key string) ([]byte, bool) {
	if e, ok := v.edits[key]; ok {
		return e.raw, e.raw != nil
	}
	if j := v.find(key); j >= 0 {
		return v.raw(v.base[j]), true
	}
	return nil, false
}

// put sets key's encoded value and reports whether that changed it.
func (v *values) put(key string, raw []byte) bool {
	if cur, ok := v.get(key); ok && bytes.Equal(cur, raw) {
		return false
	}
	if j := v.find(key); j >= 0 && bytes.Equal(v.raw(v.base[j]), raw) {
		delete(v.edits, key) // set back to what was loaded
		return true
	}
	if v.edits == nil {
		v.edits = map[string]edit{}
	}
	v.edits[key] = edit{raw: raw}
	return true
}

// del deletes key and reports whether it was there.
func (v *values) del(key string) bool {
	if _, ok := v.get(key); !ok {
		return false
	}
	if v.find(key) >= 0 {
		if v.edits == nil {
			v.edits = map[string]edit{}
		}
		v.edits[key] = edit{}
	} else {
		delete(v.edits, key)
	}
	return true
}

// clear deletes every key and reports whether there was any.
func (v *values) clear() bool {
	if v.len() == 0 {
		return false
	}
	v.edits = make(map[string]edit, len(v.base))
	for _, m := range v.base {
		v.edits[string(v.key(m))] = edit{}
	}
	return true
}

// changed reports whether the values differ from base.
func (v *values) changed() bool { return len(v.edits) > 0 }

// len returns the number of keys.
func (v *values) len() int {
	n := len(v.base)
	for k, e := range v.edits {
		inBase := v.find(k) >= 0
		switch {
		case e.raw == nil && inBase:
			n--
		case e.raw != nil && !inBase:
			n++
		}
	}
	return n
}

// editKeys returns the edited keys in order.
func (v *values) editKeys() []string {
	keys := make([]string, 0, len(v.edits))
	for k := range v.edits {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// keys returns the keys in sorted order.
func (v *values) keys() []string {
	keys := make([]string, 0, len(v.base)+len(v.edits))
	i := 0
	for _, k := range v.editKeys() {
		for ; i < len(v.base) && string(v.key(v.base[i])) < k; i++ {
			keys = append(keys, string(v.key(v.base[i])))
		}
		if i < len(v.base) && string(v.key(v.base[i])) == k {
			i++
		}
		if v.edits[k].raw != nil {
			keys = append(keys, k)
		}
	}
	for ; i < len(v.base); i++ {
		keys = append(keys, string(v.key(v.base[i])))
	}
	return keys
}

// encode returns the payload for the current values, and the values that
// describe it with no change pending, to adopt once it is saved. The
// payload is written over dst when it fits in dst's capacity, and in a new
// slice otherwise, and its members listed over base likewise; neither may
// hold v's. Untouched members are copied as they were loaded, and only the
// changed keys are encoded.
func (v *values) encode(dst []byte, base []member) ([]byte, values, error) {
	ekeys := v.editKeys()
	qkeys := make([][]byte, len(ekeys))
	// The payload's size, within 2 bytes, and its member count: a key
	// replaced or deleted counts once, so that a request that changes its
	// session's one large value does not allocate twice its size.
	n, c := 4, len(v.base) // {\n and \n}
	switch {
	case v.lined && c > 0:
		n += int(v.base[c-1].v1-v.base[0].q0) + 2 // the members and their separators, as below
	default:
		for _, m := range v.base {
			n += int(m.q1-m.q0) + int(m.v1-m.v0) + 3 // :, ,\n
		}
	}
	for j, k := range ekeys {
		if i := v.find(k); i >= 0 {
			m := v.base[i]
			n -= int(m.q1-m.q0) + int(m.v1-m.v0) + 3
			c--
		}
		if raw := v.edits[k].raw; raw != nil {
			q, err := quoteKey(k)
			if err != nil {
				return nil, values{}, err
			}
			qkeys[j] = q
			n += len(q) + len(raw) + 3
			c++
		}
	}
	if n > math.MaxInt32 {
		return nil, values{}, errors.New("httpsession: encode session: payload over 2 GiB")
	}
	// A buffer allocated here is sized exactly: once saved, the encoding
	// is the one the session's data lives in, which by default stays with
	// the session after its request (Session.end) and never returns to the
	// pool, so room to grow would only be garbage. (Under WithBufferReuse
	// it returns, and loads grow the pool's buffers: Session.loaded.)
	if cap(dst) < n {
		dst = make([]byte, 0, n)
	}
	out := append(dst[:0], '{', '\n')
	if cap(base) < c {
		base = make([]member, 0, c)
	}
	next := values{base: base[:0], lined: true}
	add := func(qkey, raw, key []byte) {
		if len(next.base) > 0 {
			out = append(out, ',', '\n')
		}
		m := member{q0: int32(len(out))}
		out = append(out, qkey...)
		m.q1 = int32(len(out))
		out = append(out, ':')
		m.v0 = int32(len(out))
		out = append(out, raw...)
		m.v1 = int32(len(out))
		if !bytes.Equal(qkey[1:len(qkey)-1], key) {
			if next.ekeys == nil {
				next.ekeys = map[int32][]byte{}
			}
			next.ekeys[m.q0], m.esc = key, true
		}
		next.base = append(next.base, m)
	}
	// Untouched members go in runs: a run laid out in src as it is to be
	// written is one copy, its members shifted rather than re-added.
	copyRun := func(lo, hi int) {
		for lo < hi {
			r := lo + 1
			if v.lined {
				r = hi
			}
			for p := v.base[lo]; r < hi; r++ {
				m := v.base[r]
				if p.v0 != p.q1+1 || m.q0 != p.v1+2 || v.src[p.v1] != ',' || v.src[p.v1+1] != '\n' {
					break
				}
				p = m
			}
			if first, last := v.base[lo], v.base[r-1]; last.v0 == last.q1+1 {
				if len(next.base) > 0 {
					out = append(out, ',', '\n')
				}
				delta := int32(len(out)) - first.q0
				out = append(out, v.src[first.q0:last.v1]...)
				k := len(next.base)
				next.base = append(next.base, v.base[lo:r]...)
				for ; k < len(next.base); k++ {
					m := &next.base[k]
					if m.esc {
						if next.ekeys == nil {
							next.ekeys = map[int32][]byte{}
						}
						next.ekeys[m.q0+delta] = v.key(*m)
					}
					m.q0, m.q1, m.v0, m.v1 = m.q0+delta, m.q1+delta, m.v0+delta, m.v1+delta
				}
			} else {
				for _, m := range v.base[lo:r] {
					add(v.src[m.q0:m.q1], v.raw(m), v.key(m))
				}
			}
			lo = r
		}
	}
	i := 0
	for j, k := range ekeys {
		at := v.lowerBound(k)
		copyRun(i, at)
		i = at
		if i < len(v.base) && string(v.key(v.base[i])) == k {
			i++ // replaced or deleted
		}
		if raw := v.edits[k].raw; raw != nil {
			add(qkeys[j], raw, []byte(k))
		}
	}
	copyRun(i, len(v.base))
	if len(next.base) == 0 {
		out = append(out[:1], '}')
	} else {
		out = append(out, '\n', '}')
	}
	next.src = out
	return out, next, nil
}

// quoteKey encodes key as json.Marshal does (HTML-safe, invalid UTF-8
// replaced), without its cost for the usual key of plain ASCII.
func quoteKey(key string) ([]byte, error) {
	plain := true
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if !plain {
		q, err := json.Marshal(key)
		if err != nil {
			return nil, fmt.Errorf("httpsession: encode key: %w", err)
		}
		return q, nil
	}
	q := make([]byte, 0, len(key)+2)
	q = append(q, '"')
	q = append(q, key...)
	return append(q, '"'), nil
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func syntaxError(b []byte, i int, context string) error {
	if i >= len(b) {
		return fmt.Errorf("httpsession: session payload: unexpected end of JSON input")
	}
	return fmt.Errorf("httpsession: session payload: invalid character %q at offset %d %s", b[i], i, context)
}

// scanValue validates the JSON value starting at b[i], at nesting depth
// depth, and returns the index just past it.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, syntaxError(b, i, "")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{', c == '[':
		if depth > maxDepth {
			return i, errors.New("httpsession: session payload: exceeded max depth")
		}
		return scanContainer(b, i, depth)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, syntaxError(b, i, "looking for beginning of value")
}

// scanContainer validates the object or array starting at b[i].
func scanContainer(b []byte, i, depth int) (int, error) {
	obj := b[i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		var err error
		if obj {
			if i >= len(b) || b[i] != '"' {
				return i, syntaxError(b, i, "looking for beginning of object key string")
			}
			if i, _, err = scanString(b, i); err != nil {
				return i, err
			}
			if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
				return i, syntaxError(b, i, "after object key")
			}
			i = skipSpace(b, i+1)
		}
		if i, err = scanValue(b, i, depth+1); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == closer:
			return i + 1, nil
		default:
			return i, syntaxError(b, i, "after value in object or array")
		}
	}
}

// SWAR constants: one bit or byte value in every byte of a word.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports whether any byte of x is a control character, '"' or
// '\\': the bytes a string scan must stop at.
func special(x uint64) bool {
	ctl := (x - lows*0x20) &^ x & highs
	q := x ^ (lows * '"')
	q = (q - lows) &^ q & highs
	bs := x ^ (lows * '\\')
	bs = (bs - lows) &^ bs & highs
	return ctl|q|bs != 0
}

// scanString validates the JSON string starting at b[i] == '"' and returns
// the index just past its closing quote, and whether its content is
// exactly the string: no escapes, only ASCII (the common key, which then
// needs no unescaping).
func scanString(b []byte, i int) (end int, plain bool, err error) {
	i++
	var seen uint64 // every byte passed, ORed: its high bit says non-ASCII
	escaped := false
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			if special(x) {
				break
			}
			seen |= x
			i += 8
		}
		if i >= len(b) {
			return i, false, syntaxError(b, i, "in string literal")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, !escaped && seen&highs == 0, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i + 1, false, syntaxError(b, i+1, "in string escape code")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(b) || !isHex(b[j]) {
						return j, false, syntaxError(b, j, "in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				return i + 1, false, syntaxError(b, i+1, "in string escape code")
			}
		case c < 0x20:
			return i, false, syntaxError(b, i, "in string literal")
		default:
			seen |= uint64(c)
			i++
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(b []byte, i int) bool { return i < len(b) && b[i] >= '0' && b[i] <= '9' }

// scanNumber validates the JSON number starting at b[i].
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case !isDigit(b, i):
		return i, syntaxError(b, i, "in numeric literal")
	case b[i] == '0':
		i++
	default:
		for isDigit(b, i) {
			i++
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !isDigit(b, i) {
			return i, syntaxError(b, i, "after decimal point in numeric literal")
		}
		for isDigit(b, i) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !isDigit(b, i) {
			return i, syntaxError(b, i, "in exponent of numeric literal")
		}
		for isDigit(b, i) {
			i++
		}
	}
	return i, nil
}

// scanLiteral validates the literal lit (true, false, null) at b[i].
func scanLiteral(b []byte, i int, lit string) (int, error) {
	for j := 0; j < len(lit); j++ {
		if i+j >= len(b) || b[i+j] != lit[j] {
			return i + j, syntaxError(b, i+j, "in literal "+lit)
		}
	}
	return i + len(lit), nil
}
