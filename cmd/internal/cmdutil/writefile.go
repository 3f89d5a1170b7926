package cmdutil

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFile replaces the file at path with what write writes, atomically:
// a reader (node-exporter's textfile collector, cron, a web server serving
// a chart) sees the old file or the new one, never a part, and a failure
// or a crash leaves the old file in place. The data is synced before the
// rename, so a crash cannot leave an empty file under the final name. The
// file gets exactly perm, whatever the umask (cron refuses group-writable
// files in /etc/cron.d; node-exporter runs as another user).
//
// The temporary file is ".BASE" plus random digits, in path's directory, so
// it never matches the *.prom or *.svg a reader looks for. A writer killed
// before its rename (SIGKILL, out of memory, a host restart) leaves its
// temporary file; WriteFile removes those of path left more than
// staleTempAge ago, so that they do not pile up in the directory one
// per killed run. A younger one may be another writer's, still being written.
func WriteFile(path string, perm fs.FileMode, write func(io.Writer) error) error {
	removeStaleTemps(path, time.Now())
	return writeFile(path, perm, write)
}

// staleTempAge is the age past which WriteFile takes a temporary file of
// its naming for one a killed writer left. Writing one of these files
// takes well under a second; an hour leaves room for a clock that differs
// from the file system's.
const staleTempAge = time.Hour

// removeStaleTemps removes the regular files named ".BASE" plus digits
// in path's directory last modified more than staleTempAge before now. It
// is best effort: a directory it cannot list or a file it cannot remove
// is litter, not a reason to fail the write.
func removeStaleTemps(path string, now time.Time) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !isTempName(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) <= staleTempAge {
			continue
		}
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// isTempName reports whether name is prefix followed by decimal digits
// only, the names renameio and os.CreateTemp give the temporary files.
func isTempName(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
