package fsstore

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestWriteEndsReadOnlyFS: only Health's test write ended the read-only
// finding, so a process whose Health nothing calls (no readiness probe)
// kept ReadOnlyFS, and the gauge and alert kept from it, on for good
// after one refused write, however many writes succeeded once the mount
// was writable again. A write that succeeds after the refusal shows the
// file system writable and must end the finding. A write that began
// before the refusal must not (it says nothing of the file system since),
// nor must a read, a write that failed for another reason, or a Delete,
// which succeeds on a missing name without writing anything.
func TestWriteEndsReadOnlyFS(t *testing.T) {
	ctx := context.Background()
	erofs := errors.New("read-only file system")
	cases := []struct {
		name string
		do   func(t *testing.T, s *Store, id string) error
		ends bool
	}{
		{"Save", func(t *testing.T, s *Store, id string) error {
			return s.Save(ctx, &Session{ID: id, Data: []byte("new")})
		}, true},
		{"CompareAndSwap", func(t *testing.T, s *Store, id string) error {
			sess, err := s.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			sess.Data = []byte("new")
			return s.CompareAndSwap(ctx, sess)
		}, true},
		{"Touch", func(t *testing.T, s *Store, id string) error { return s.Touch(ctx, id) }, true},
		// A Delete succeeds without a write when the name is gone, which
		// says nothing of the file system: it never ends the finding.
		{"Delete", func(t *testing.T, s *Store, id string) error { return s.Delete(ctx, id) }, false},
		{"Delete of a missing session", func(t *testing.T, s *Store, id string) error { return s.Delete(ctx, mustID(t)) }, false},
		{"Locked.Delete of a missing session", func(t *testing.T, s *Store, id string) error {
			l, err := s.Lock(ctx, mustID(t), Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			return l.Delete(ctx)
		}, false},
		{"Locked.Save", func(t *testing.T, s *Store, id string) error {
			l, err := s.Lock(ctx, id, Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			return l.Save(ctx, &Session{ID: id, Data: []byte("new")})
		}, true},
		{"Load", func(t *testing.T, s *Store, id string) error {
			_, err := s.Load(ctx, id)
			return err
		}, false},
		{"Touch of a missing session", func(t *testing.T, s *Store, id string) error {
			err := s.Touch(ctx, mustID(t))
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Touch of a missing session: %v, want ErrNotFound", err)
			}
			return nil
		}, false},
		{"Save begun before the refusal", func(t *testing.T, s *Store, id string) error {
			// A write under way when another was refused, ending after.
			start := s.begin()
			s.noteReadOnly(erofs, false)
			s.end(OpSave, start, nil, 0, "")
			return nil
		}, false},
	}
	for _, tc := range cases {
		onRecordedStores(t, tc.name, func(t *testing.T, s *Store, rec *changesRecorder) {
			id := mustID(t)
			if err := s.Save(ctx, &Session{ID: id, Data: []byte("old")}); err != nil {
				t.Fatal(err)
			}
			s.noteReadOnly(erofs, false) // a write refused, the mount since writable again
			if err := tc.do(t, s, id); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want := []bool{true}
			if tc.ends {
				want = append(want, false)
			}
			if got := rec.got(); !slices.Equal(got, want) {
				t.Errorf("after %s: ObserveReadOnlyFS called with %v, want %v", tc.name, got, want)
			}
			if got := s.ReadOnlyFS(); got != !tc.ends {
				t.Errorf("after %s: ReadOnlyFS() = %v, want %v", tc.name, got, !tc.ends)
			}
		})
	}
}

func mustID(t *testing.T) string {
	t.Helper()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
