//go:build unix && !aix && !solaris && !illumos

package lock

import (
	"os"

	"golang.org/x/sys/unix"
)

// link makes newName a hard link to oldName, failing if newName exists.
func (d *lockDir) link(oldName, newName string) error {
	dfd, err := d.use()
	if err != nil {
		return err
	}
	defer d.done()
	if err := unix.Linkat(dfd, oldName, dfd, newName, 0); err != nil {
		return &os.LinkError{Op: "link", Old: d.join(oldName), New: d.join(newName), Err: err}
	}
	return nil
}
