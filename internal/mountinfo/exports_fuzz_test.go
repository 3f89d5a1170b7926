package mountinfo

import (
	"path"
	"strings"
	"testing"
)

// FuzzExportHolding: the lock package reads this host's NFS export tables
// to tell whether a lock directory is exported (then it takes an open file
// description lock beside each flock, which an NFS client's lock on the
// server blocks). ExportHolding never panics; an export it returns is an
// absolute path that holds abs; and an export line for any absolute path
// p, escaped as the kernel and exportfs escape it, after whatever text came
// before it, is found to hold p and what is below it: a path with a space,
// a tab, a newline or a backslash in it is still recognised.
func FuzzExportHolding(f *testing.F) {
	f.Add("/srv/other\t*(rw,sync)\n", "/srv/nfs", "sessions/locks")
	f.Add("# Version 1.1\n# Path Client(Flags) # IPs\n/\t*(ro,v4root)\n", "/srv/with space", "")
	f.Add("", "/srv/tab\there\\", "locks")
	f.Add("/srv\t*(rw,v4root)\n/srv/nfs", "/", "x")
	f.Fuzz(func(t *testing.T, table, p, below string) {
		abs := path.Clean("/" + p + "/" + below)
		if got, ok := ExportHolding(strings.NewReader(table), abs); ok && (!strings.HasPrefix(got, "/") || !within(abs, got)) {
			t.Fatalf("ExportHolding(%q, %q) = %q, which does not hold it", table, abs, got)
		}
		if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || len(table) > 1<<16 {
			return
		}
		p = path.Clean(p)
		if table != "" && !strings.HasSuffix(table, "\n") {
			table += "\n"
		}
		table += escape(p) + "\t*(rw,sync,no_subtree_check)\n"
		abs = path.Clean(p + "/" + below)
		if !within(abs, p) {
			return // below climbed out of p with ".."
		}
		if got, ok := ExportHolding(strings.NewReader(table), abs); !ok || !within(abs, got) {
			t.Fatalf("ExportHolding(%q, %q) = %q, %v; want %q or an export above it", table, abs, got, ok, p)
		}
	})
}
