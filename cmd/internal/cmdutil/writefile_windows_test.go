package cmdutil

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// TestWriteFileOverOpenFile: WriteFile over a file another handle holds
// open (a browser showing the chart, an editor) replaces it where the file
// system has POSIX rename semantics (NTFS on Windows 10 1809 and later)
// and the handle shares delete access, and otherwise (a handle that does
// not share it, as os.Open's; Wine, FAT, SMB) fails saying that another
// program has it open, the file left as it was and no temporary file
// beside it. It failed with a bare "Access is denied" from MoveFileEx
// wherever the file was open.
func TestWriteFileOverOpenFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(path string) (io.Closer, error)
	}{
		{"os.Open, not sharing delete", func(path string) (io.Closer, error) { return os.Open(path) }},
		{"sharing delete", func(path string) (io.Closer, error) {
			p, err := windows.UTF16PtrFromString(path)
			if err != nil {
				return nil, err
			}
			h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
			if err != nil {
				return nil, err
			}
			return os.NewFile(uintptr(h), path), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "chart.svg")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			reader, err := tc.open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			err = WriteFile(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err })
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			switch {
			case err == nil && string(got) != "new":
				t.Errorf("WriteFile succeeded, but the file holds %q", got)
			case err != nil && !strings.Contains(err.Error(), "another program has it open"):
				t.Errorf("WriteFile over an open file: %v; want an error saying another program has it open", err)
			case err != nil && string(got) != "old":
				t.Errorf("WriteFile failed (%v), but the file holds %q, want the old content", err, got)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("the directory holds %d entries after WriteFile (%v), want the file alone", len(ents), err)
			}
			t.Logf("WriteFile over an open file: %v", err)
		})
	}
}

// TestWriteFileReaderLetsGo: a handle that holds the file for a moment
// without sharing delete access (os.Open's; a virus scanner's, a viewer
// reloading the chart) delays WriteFile rather than failing it: the
// rename refused while the handle is open is tried again, and replaces
// the file once the handle is closed. It failed at the first refusal,
// and sessbench's --plot lost the chart of its run. The wait closes the
// reader, so the test does not depend on how long the tries take.
func TestWriteFileReaderLetsGo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chart.svg")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	waits := 0
	err = writeFileWaiting(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err },
		func(time.Duration) {
			if waits++; waits == 1 {
				reader.Close()
			}
		})
	if err != nil {
		t.Fatalf("WriteFile with a reader that lets go after the first try: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "new" {
		t.Errorf("the file holds %q (%v), want the new content", got, err)
	}
	if waits != 1 {
		t.Errorf("%d waits, want 1: refused while the reader had the file open, replaced once it closed it", waits)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the directory holds %d entries, want the file alone", len(ents))
	}
}
