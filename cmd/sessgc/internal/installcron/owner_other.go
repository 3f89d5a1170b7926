//go:build !unix

package installcron

import (
	"context"
	"io/fs"
)

// checkStoreUser: see owner_unix.go. On Windows, where neither cron nor
// systemd runs, the files can only be for other hosts.
func checkStoreUser(context.Context, *InstallOptions, fs.FileInfo) error { return nil }

// storeOwner: see owner_unix.go. Windows files have no Unix owner.
func storeOwner(fs.FileInfo) string { return "" }

// warnNoStoreYet: see owner_unix.go. On Windows the files can only be for
// other hosts.
func warnNoStoreYet(*InstallOptions, dirLook) {}
