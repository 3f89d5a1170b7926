package fsstore

import (
	"fmt"
	"testing"
)

// stripeName formats by hand on the hot path; it must name the same lock
// files the fmt form always did, or processes of two versions would lock
// different files for one session.
func TestStripeNameMatchesFormat(t *testing.T) {
	for _, tt := range []struct {
		stripe  uint32
		stripes int
	}{
		{0, 1}, {5, 1}, {0, 1024}, {1023, 1024}, {1024, 1024}, {0xdeadbeef, 1024},
		{0xabcd, 65536}, {0xffffffff, 65536}, {7, 16}, {0x1234, 4096},
	} {
		want := fmt.Sprintf("%04x", tt.stripe%uint32(tt.stripes))
		if got := stripeName(tt.stripe, tt.stripes); got != want {
			t.Errorf("stripeName(%#x, %d) = %q, want %q", tt.stripe, tt.stripes, got, want)
		}
	}
}
