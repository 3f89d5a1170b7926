package fsstore_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/record"
)

// TestUnsupportedRecordRefused: a record whose header carries a flag this
// build does not know among the critical bits was read as if the flag were
// not there, so a newer writer's flag that changes what the payload means
// (a new encoding) was misread without a word. It is refused as
// unsupported (matching ErrCorrupt, which a web layer serves as no
// session), counted as corrupt, and left as it is; a flag among the bits
// a reader may ignore still loads.
func TestUnsupportedRecordRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		flags uint16
		ok    bool
	}{
		{"critical flag", 1 << 1, false},
		{"ignorable flag", 1 << 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := &panicObserver{when: func(string, fsstore.Event, fsstore.BreakerState, fsstore.BreakerState, bool) bool { return false }}
			s, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := newID(t)
			mustSave(t, s, id, "v1")
			p := s.RecordPathForTest(id)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h, pl, err := record.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			h.Flags |= tc.flags
			future := record.Append(nil, &h, pl)
			if err := os.WriteFile(p, future, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, id)
			if tc.ok {
				if err != nil || string(got.Data) != "v1" {
					t.Fatalf("Load: %v, %v; want v1", got, err)
				}
				return
			}
			if !errors.Is(err, fsstore.ErrUnsupportedRecord) || !errors.Is(err, fsstore.ErrCorrupt) {
				t.Fatalf("Load: %v, %v; want ErrUnsupportedRecord (matching ErrCorrupt)", got, err)
			}
			var corrupt int
			for _, e := range obs.events {
				if e.Op == fsstore.OpLoad && e.Outcome == fsstore.OutcomeCorrupt {
					corrupt++
				}
			}
			if corrupt != 1 {
				t.Errorf("%d loads observed as corrupt, want 1: %+v", corrupt, obs.events)
			}
			if b, err := os.ReadFile(p); err != nil || string(b) != string(future) {
				t.Errorf("the record was changed: %v", err)
			}
		})
	}
}
