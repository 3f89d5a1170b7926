package record

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode: Decode never panics; what it accepts re-encodes to exactly the
// input (so no two byte strings decode to the same record, and nothing in a
// valid record goes unchecked); what it refuses is ErrCorrupt.
func FuzzDecode(f *testing.F) {
	h := Header{Created: 1700000000e9, Deadline: 1700086400e9, Idle: 1440e9, Version: 7, Bind: Bind("seed-session-id-0000")}
	f.Add(Append(nil, &h, []byte("payload")))
	f.Add(Append(nil, &Header{}, nil))
	f.Add(Append(nil, &Header{Flags: FlagEncrypted, KeyID: 3}, bytes.Repeat([]byte{0xff}, 100)))
	f.Add(Append(nil, &Header{Flags: 1 << 1}, []byte("a future encoding")))
	f.Add(Append(nil, &Header{Flags: 1 << 8}, []byte("a future hint")))
	f.Add([]byte("SSFS"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error %v does not match ErrCorrupt", err)
			}
			return
		}
		if got := Append(nil, &h, payload); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, got)
		}
		if _, n, err := DecodeHeader(b); err != nil || n != len(payload) {
			t.Fatalf("DecodeHeader disagrees with Decode: n=%d, %v", n, err)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	h := Header{Flags: FlagEncrypted, Created: 1, Deadline: 2, Idle: 3, Version: 4, KeyID: 5, Bind: Bind("x")}
	b := Append([]byte("prefix"), &h, []byte("data"))
	got, payload, err := Decode(b[len("prefix"):])
	if err != nil || got != h || string(payload) != "data" {
		t.Fatalf("Decode(Append) = %+v %q %v", got, payload, err)
	}
}

// TestUnknownFlags: a flag this build does not know among the critical bits
// (0-7) may change what the record means (a new encoding of its payload):
// the record is refused as unsupported, not read as if the flag were not
// there; one among bits 8-15 is for what a reader may ignore. Accepted
// records keep their flags.
func TestUnknownFlags(t *testing.T) {
	for _, tc := range []struct {
		flags uint16
		ok    bool
	}{
		{0, true},
		{FlagEncrypted, true},
		{1 << 1, false},
		{1 << 7, false},
		{FlagEncrypted | 1<<3, false},
		{1 << 8, true},
		{1<<15 | FlagEncrypted, true},
	} {
		b := Append(nil, &Header{Flags: tc.flags, Created: 1}, []byte("data"))
		for name, decode := range map[string]func([]byte) (Header, error){
			"Decode":       func(b []byte) (Header, error) { h, _, err := Decode(b); return h, err },
			"Split":        func(b []byte) (Header, error) { h, _, err := Split(b); return h, err },
			"DecodeHeader": func(b []byte) (Header, error) { h, _, err := DecodeHeader(b); return h, err },
		} {
			h, err := decode(b)
			switch {
			case tc.ok && (err != nil || h.Flags != tc.flags):
				t.Errorf("%s of flags %#04x: flags %#04x, %v; want accepted", name, tc.flags, h.Flags, err)
			case !tc.ok && (!errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrCorrupt)):
				t.Errorf("%s of flags %#04x: %v; want ErrUnsupported (matching ErrCorrupt)", name, tc.flags, err)
			}
		}
	}
}
