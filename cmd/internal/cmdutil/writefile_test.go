package cmdutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
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

// A writer killed between its temp file's creation and the rename leaves
// the temp file; the next write removes those of its own naming that are
// old, and nothing else.
func TestWriteFileRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.prom")
	old := time.Now().Add(-2 * staleTempAge)
	files := []struct {
		name  string
		old   bool
		dir   bool
		stays bool
	}{
		{".out.prom5577006791947779410", true, false, false}, // a killed writer's (renameio)
		{".out.prom123", true, false, false},                 // a killed writer's (os.CreateTemp)
		{".out.prom8674665223082153551", false, false, true}, // another writer's, being written
		{".out.prom123.bak", true, false, true},              // not our naming
		{".out.prom", true, false, true},                     // no digits
		{".other.prom123", true, false, true},                // another file's
		{"out.prom123", true, false, true},                   // no dot
		{".out.prom42", true, true, true},                    // a directory
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		var err error
		if f.dir {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte("partial"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.old {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := WriteFile(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(dir, f.name))
		if gone := errors.Is(err, os.ErrNotExist); gone == f.stays {
			t.Errorf("%s: gone = %v (%v), want %v", f.name, gone, err, !f.stays)
		}
	}
	if b, err := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q (%v), want %q", b, err, "new")
	}
}
