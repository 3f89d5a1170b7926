package cmdutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteFile(t *testing.T) {
	// The mode must not depend on the umask: cron skips files in
	// /etc/cron.d that are group-writable, node-exporter reads as another
	// user.
	setUmask(t, 0o077)
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		old     string // "": no file before
		write   func(io.Writer) error
		want    string // content afterwards; "": no file
		wantErr error
	}{
		{"new", "", write("chart"), "chart", nil},
		{"replace", "old", write("new"), "new", nil},
		{"write fails, no file", "", func(io.Writer) error { return boom }, "", boom},
		{"write fails, old file kept", "old", func(w io.Writer) error { write("half")(w); return boom }, "old", boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.prom")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, 0o644, tt.write); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			b, err := os.ReadFile(path)
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("a failed write left %q", b)
			case tt.want != "" && string(b) != tt.want:
				t.Errorf("content %q (%v), want %q", b, err, tt.want)
			}
			if fi, err := os.Stat(path); err == nil && tt.wantErr == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644 whatever the umask", fi.Mode().Perm())
			}
			// No temp file is left behind, failed or not.
			ents, _ := os.ReadDir(dir)
			if want := min(1, len(tt.want)); len(ents) != want {
				t.Errorf("directory holds %v, want %d file", ents, want)
			}
		})
	}
}
