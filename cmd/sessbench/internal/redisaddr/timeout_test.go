package redisaddr

import (
	"testing"
	"time"
)

func TestAnswerTimeout(t *testing.T) {
	tests := []struct {
		payload, clients int
		want             time.Duration
	}{
		{0, 1, 5 * time.Second},
		{1 << 10, 64, 5 * time.Second},  // 64 KiB in flight: well under a second
		{16 << 10, 64, 6 * time.Second}, // 1 MiB
		{1 << 20, 1, 6 * time.Second},   // a 1 MiB session
		{1 << 20, 64, 69 * time.Second}, // 64 MiB in flight
		{64 << 20, 100_000, time.Hour},  // bounded
		{-1, 0, 5 * time.Second},        // nonsense in, the base out
	}
	for _, tt := range tests {
		if got := AnswerTimeout(tt.payload, tt.clients); got != tt.want {
			t.Errorf("AnswerTimeout(%d, %d) = %v, want %v", tt.payload, tt.clients, got, tt.want)
		}
	}
}
