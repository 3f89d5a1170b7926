package fsstore

import "fmt"

// unsupportedErr is Open's error on a platform the store does not run on
// (fileio_other.go), built on every platform so that its words can be
// tested anywhere. On Windows it says where the application can run: a
// developer there has WSL 2 at hand, and a fleet whose hosts are Windows
// needs Linux hosts that mount the share.
func unsupportedErr(goos, goarch string) error {
	err := fmt.Errorf("%w: %s/%s (linux, darwin and freebsd are)", ErrNotSupported, goos, goarch)
	if goos == "windows" {
		err = fmt.Errorf("%w: run the application under WSL 2, with the store in its Linux file system or on the share mounted there, or on a Linux host that mounts the share", err)
	}
	return err
}
