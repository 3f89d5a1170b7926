//go:build !unix

package installcron

// checkStoreUser: see owner_unix.go. On Windows, where neither cron nor
// systemd runs, the files can only be for other hosts.
func checkStoreUser(string, string, string) error { return nil }
