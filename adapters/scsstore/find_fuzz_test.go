package scsstore_test

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// FuzzFind holds the store to scs's contract for any token scs hands it
// (a cookie's value) and any payload found under a token (written by
// another application, a damaged or older envelope):
//
//   - Find of any token never fails nor panics: an unusable token or
//     record is found=false with a nil error, which scs answers with a new
//     session;
//   - for a well-formed token, Commit then Find gives back the data
//     committed, and after Delete nothing is found;
//   - a record of any payload raw under a token is found exactly when raw
//     is an envelope (magic, uvarint length, token) holding that token or
//     none, and then the data found is the rest of raw, never anything
//     else.
func FuzzFind(f *testing.F) {
	st, err := fsstore.Open(f.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	s := scsstore.New(st, scsstore.WithoutDeleteGuard(), scsstore.WithLogger(slog.New(slog.DiscardHandler)))
	const other = "scsstore-fuzz-record-token-0001"
	envelope := func(token string, data string) []byte {
		b := binary.AppendUvarint([]byte("scs1"), uint64(len(token)))
		return append(append(b, token...), data...)
	}
	f.Add("", []byte(nil), []byte(nil))
	f.Add("../../etc/passwd", []byte("x"), envelope(other, "data"))
	f.Add("AAAAAAAAAAAAAAAA", []byte("scs data"), envelope("", "data"))
	f.Add("AAAAAAAAAAAAAAA\x00", []byte{}, envelope("AAAAAAAAAAAAAAAA", "data"))
	f.Add("session-token-with-dashes_and_underscores", []byte("\x00scsstore: deleted"), []byte("\x00scsstore: deleted"))
	f.Add("BBBBBBBBBBBBBBBB", []byte("x"), []byte("scs1\x80\x00data"))
	f.Add("BBBBBBBBBBBBBBBB", []byte("x"), []byte("scs1\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Add("BBBBBBBBBBBBBBBB", []byte("x"), []byte("scs1\x1f"+other))

	f.Fuzz(func(t *testing.T, token string, data, raw []byte) {
		found := func(tok string) ([]byte, bool) {
			t.Helper()
			b, ok, err := s.Find(tok)
			if err != nil {
				t.Fatalf("Find(%q): %v, want no error", tok, err)
			}
			if !ok && b != nil {
				t.Fatalf("Find(%q) = %q, not found", tok, b)
			}
			return b, ok
		}
		if fsstore.ValidID(token) != nil {
			if b, ok := found(token); ok {
				t.Fatalf("Find of the malformed token %q found %q", token, b)
			}
		} else {
			if err := s.Commit(token, data, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Commit(%q): %v", token, err)
			}
			if b, ok := found(token); !ok || !bytes.Equal(b, data) {
				t.Fatalf("Find(%q) after Commit = %q, %v; want %q", token, b, ok, data)
			}
			if err := s.Delete(token); err != nil {
				t.Fatalf("Delete(%q): %v", token, err)
			}
			if b, ok := found(token); ok {
				t.Fatalf("Find(%q) after Delete = %q", token, b)
			}
		}

		if err := st.Save(t.Context(), &fsstore.Session{ID: other, Data: raw}); err != nil {
			t.Fatal(err)
		}
		want, wantOK := []byte(nil), false
		if rest, ok := bytes.CutPrefix(raw, []byte("scs1")); ok {
			n, k := binary.Uvarint(rest)
			if k > 0 && n <= uint64(len(rest)-k) {
				if tok := string(rest[k : k+int(n)]); tok == "" || tok == other {
					want, wantOK = rest[k+int(n):], true
				}
			}
		}
		b, ok := found(other)
		if ok != wantOK || !bytes.Equal(b, want) {
			t.Fatalf("Find of a record holding %q = %q, %v; want %q, %v", raw, b, ok, want, wantOK)
		}
	})
}
