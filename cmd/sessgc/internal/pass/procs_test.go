package pass

import (
	"os"
	"runtime"
	"testing"
)

func TestThreadsFor(t *testing.T) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set in the environment")
	}
	orig := runtime.GOMAXPROCS(0)
	tests := []struct {
		name    string
		env     string // "" for unset
		onNFS   bool
		workers int
		want    int
	}{
		{"raised to a P per worker plus one", "", true, orig + 15, orig + 16},
		{"never lowered", "", true, 0, orig},
		{"explicit GOMAXPROCS kept", "3", true, orig + 15, orig},
		{"local filesystem: kept", "", false, orig + 15, orig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("GOMAXPROCS", tt.env)
			}
			restore := ThreadsFor(tt.onNFS, tt.workers)
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS during the pass = %d, want %d", got, tt.want)
			}
			restore()
			if got := runtime.GOMAXPROCS(0); got != orig {
				t.Errorf("GOMAXPROCS after restore = %d, want %d", got, orig)
			}
		})
	}
}
