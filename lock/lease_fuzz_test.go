package lock

import (
	"strings"
	"testing"
	"time"
)

func validLeaseRecord() leaseRecord {
	return leaseRecord{token: "0123456789abcdef0123456789abcdef", expires: time.Unix(1700000000, 123456789), pid: 4242, host: "web-1.example.com"}
}

// FuzzParseLease: parseLease never panics, and whatever it accepts is a
// well-formed owner record that encode writes back at the fixed length and
// parseLease reads back unchanged (up to the host-name normalization encode
// applies).
func FuzzParseLease(f *testing.F) {
	f.Add(validLeaseRecord().encode())
	long := validLeaseRecord()
	long.host = strings.Repeat("h", 40)
	f.Add(long.encode())
	// Short numbers leave room in the input for a long host name, which
	// encode (fixed-width numbers) must still fit into the record.
	short := "sessfs-lease 1 token=0123456789abcdef0123456789abcdef expires=1 pid=1 host=" + strings.Repeat("h", 70)
	f.Add([]byte(short + strings.Repeat(" ", leaseRecordLen-1-len(short)) + "\n"))
	f.Add([]byte{})
	f.Add([]byte(strings.Repeat(" ", leaseRecordLen-1) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseLease(b)
		if err != nil {
			return
		}
		if len(r.token) != 32 || r.expires.UnixNano() <= 0 || r.pid < 0 {
			t.Fatalf("accepted a malformed record %+v from %q", r, b)
		}
		var enc []byte
		func() {
			// Report a panic as this input's failure rather than abort the
			// whole test binary.
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("encode of accepted record %+v panicked: %v", r, p)
				}
			}()
			enc = r.encode()
		}()
		if len(enc) != leaseRecordLen {
			t.Fatalf("encode of %+v: %d bytes, want %d", r, len(enc), leaseRecordLen)
		}
		r2, err := parseLease(enc)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v\n%q", err, enc)
		}
		if r2.token != r.token || !r2.expires.Equal(r.expires) || r2.pid != r.pid {
			t.Fatalf("round trip changed the record: %+v -> %+v", r, r2)
		}
		for i := 0; i < len(r2.host); i++ {
			if c := r2.host[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("re-encoded host %q holds byte %#x", r2.host, c)
			}
		}
		if r3, err := parseLease(r2.encode()); err != nil || r3 != r2 {
			t.Fatalf("encode is not stable: %+v -> %+v (%v)", r2, r3, err)
		}
	})
}

// encode must produce a parseable fixed-length record for every host name
// the OS can report (up to 64 bytes) and every pid (up to 2^22 on Linux, but
// be generous).
func TestLeaseRecordFits(t *testing.T) {
	for _, host := range []string{"", "h", strings.Repeat("h", 57), strings.Repeat("h", 58), strings.Repeat("h", 64), strings.Repeat("h", 300), "bad host\x00é"} {
		for _, pid := range []int{0, 1, 4194304, 1<<31 - 1} {
			r := validLeaseRecord()
			r.host, r.pid = host, pid
			var enc []byte
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("encode(host of %d bytes, pid %d) panicked: %v", len(host), pid, p)
					}
				}()
				enc = r.encode()
			}()
			if enc == nil {
				continue
			}
			if len(enc) != leaseRecordLen {
				t.Errorf("encode(host of %d bytes, pid %d): %d bytes, want %d", len(host), pid, len(enc), leaseRecordLen)
				continue
			}
			got, err := parseLease(enc)
			if err != nil {
				t.Errorf("parse(encode(host of %d bytes, pid %d)): %v", len(host), pid, err)
				continue
			}
			if got.pid != pid || got.token != r.token {
				t.Errorf("round trip: %+v -> %+v", r, got)
			}
		}
	}
}
