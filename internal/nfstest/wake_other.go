//go:build !linux

package nfstest

// wakeControl does nothing: the harness's guest, which sets NFS_CTL_WAKE,
// is Linux.
func wakeControl() {}
