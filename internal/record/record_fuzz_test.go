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
