package cmdutil

import (
	"io"
	"io/fs"
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
// it never matches the *.prom or *.svg a reader looks for.
func WriteFile(path string, perm fs.FileMode, write func(io.Writer) error) error {
	return writeFile(path, perm, write)
}
