package fsstore

import (
	"testing"
	"time"
)

// Forged records may name any key ID: the answers kept stay bounded. A
// full cache makes room by dropping expired answers, then the never-had
// ones, and keeps the had ones (a key retired too early, whose records a
// pass meets by the thousand); one full of those looks anew for the rest.
// An answer stamped after now (the clock went back) is not trusted.
func TestKeyHadCacheBounded(t *testing.T) {
	var c keyHadCache
	now := time.Now().UnixNano()
	for id := uint32(1); id <= keyHadMax/2; id++ {
		c.put(id, true, now)
	}
	for id := uint32(1000); id < 1000+4*keyHadMax; id++ {
		c.put(id, false, now)
		if len(c.entries) > keyHadMax {
			t.Fatalf("%d answers kept, more than %d", len(c.entries), keyHadMax)
		}
	}
	for id := uint32(1); id <= keyHadMax/2; id++ {
		if had, ok := c.get(id, now); !ok || !had {
			t.Fatalf("had answer for key %d dropped for never-had ones: %v %v", id, had, ok)
		}
	}
	for id := uint32(2000); id < 2000+keyHadMax; id++ {
		c.put(id, true, now)
	}
	if len(c.entries) != keyHadMax {
		t.Fatalf("%d answers kept, want %d", len(c.entries), keyHadMax)
	}
	if _, ok := c.get(5000, now); ok {
		t.Fatal("an answer for a key never looked for")
	}
	for _, tc := range []struct {
		name string
		had  bool
		at   time.Duration // of the look, from now
		ok   bool
	}{
		{"had, 59s old", true, -59 * time.Second, true},
		{"had, a minute old", true, -time.Minute, false},
		{"never had, 1s old", false, -time.Second, true},
		{"never had, 2s old", false, -2 * time.Second, false},
		{"stamped in the future", true, time.Second, false},
	} {
		var c keyHadCache
		c.put(7, tc.had, now+int64(tc.at))
		if _, ok := c.get(7, now); ok != tc.ok {
			t.Errorf("%s: kept %v, want %v", tc.name, ok, tc.ok)
		}
	}
	c.forget()
	if _, ok := c.get(1, now); ok {
		t.Error("an answer kept after forget")
	}
}
