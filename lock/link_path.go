//go:build aix || solaris || illumos

package lock

import "os"

// link makes newName a hard link to oldName, failing if newName exists.
// golang.org/x/sys has no linkat here: the names are joined to the path the
// directory was opened at (on these systems only the lease strategy runs).
func (d *lockDir) link(oldName, newName string) error {
	return os.Link(d.join(oldName), d.join(newName))
}
