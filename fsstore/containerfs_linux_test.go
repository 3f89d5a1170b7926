package fsstore_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestOverlayWarns: a container started without the share's volume
// opens the store in the image's own directory, on overlayfs, and each
// container keeps its users' sessions to itself, which behind a load
// balancer looks like random log outs. Open says so; a store on another
// local file system (tmpfs here) gets no such warning.
func TestOverlayWarns(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		want bool
	}{
		{"overlayfs", overlayDir, true},
		{"tmpfs", func(t *testing.T) string { return testenv.MountTmpfs(t, "4m") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, err := fsstore.Open(tc.dir(t), fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := strings.Contains(logs.String(), "overlayfs") && strings.Contains(logs.String(), "mount the shared volume")
			if got != tc.want {
				t.Errorf("Open logged %q; want a warning of a container's own layer: %v", logs.String(), tc.want)
			}
		})
	}
}
