//go:build windows

package lock

import (
	"testing"
	"time"
)

// TestBasicTimesUnset: FAT keeps no ChangeTime, and answers 0 for it (its
// driver zeroes FILE_BASIC_INFO and fills in the times it keeps; exFAT
// keeps no ChangeTime either). Taken as a time, 0 is 1601, whose nanoseconds since 1970 do not
// fit an int64: it wrapped to a date in 2185, so every claim of a breaker
// there counted as fresh for ever (a breaker that died holding one kept
// the lease from being broken for good) and a lease file without a record
// (its holder crashed between the create and the write) never expired.
// Such a file is dated by its last write, as before ChangeTime was read,
// and one with a ChangeTime and no write time by its ChangeTime; a file
// without either time is an error, never a date.
func TestBasicTimesUnset(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	ft := at.UnixNano()/100 + 116444736000000000 // FILETIME units
	for _, tt := range []struct {
		name         string
		bi           fileBasicInfo
		ctime, mtime time.Time
		fails        bool
	}{
		{"NTFS", fileBasicInfo{ChangeTime: ft + 10, LastWriteTime: ft}, at.Add(time.Microsecond), at, false},
		{"FAT: no ChangeTime", fileBasicInfo{LastWriteTime: ft}, at, at, false},
		// A filesystem that leaves the write time unset: dated by its
		// ChangeTime, which failed every look at the file (a lease, a
		// claim) with "neither a change time nor a write time".
		{"no LastWriteTime", fileBasicInfo{ChangeTime: ft}, at, at, false},
		{"no times at all", fileBasicInfo{}, time.Time{}, time.Time{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctime, mtime, err := basicTimes(&tt.bi)
			if tt.fails {
				if err == nil {
					t.Errorf("basicTimes = ctime %v, mtime %v; want an error", time.Unix(0, ctime).UTC(), time.Unix(0, mtime).UTC())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Unix(0, ctime).UTC(); !got.Equal(tt.ctime) {
				t.Errorf("ctime = %v, want %v", got, tt.ctime)
			}
			if got := time.Unix(0, mtime).UTC(); !got.Equal(tt.mtime) {
				t.Errorf("mtime = %v, want %v", got, tt.mtime)
			}
		})
	}
}
