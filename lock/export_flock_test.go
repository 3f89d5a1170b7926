//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock

// SetCloseHook makes t, a Flock table, call hook before it closes a lock
// descriptor.
func SetCloseHook(t *Table, hook func()) {
	b := t.backend().(*flockBackend)
	closeFd := b.closeFd
	b.closeFd = func(fd int) error {
		hook()
		return closeFd(fd)
	}
}

// SetNoLinkCounts makes t, a Flock table, see every lock file's link count
// as 0, as on a filesystem that counts no links.
func SetNoLinkCounts(t *Table) {
	t.backend().(*flockBackend).noLinkCounts = true
}

// SetWriteThrough makes t, a Flock table, verify its locks as on NFS,
// with write standing for the write-through to the lock file.
func SetWriteThrough(t *Table, write func() (op string, err error)) {
	b := t.backend().(*flockBackend)
	b.nfs = true
	b.writeThrough = func(int) (string, error) { return write() }
}

// NewTableRefusingFlock returns NewTable(cfg) whose flocks on the lock file
// name (".probe" for NewTable's probe) fail with refuse's error when it
// returns one, as on a server out of locks or without flock.
func NewTableRefusingFlock(cfg Config, refuse func(name string) error) (*Table, error) {
	cfg.flockErr = refuse
	return NewTable(cfg)
}

// NewTableFailingProbe returns NewTable(cfg) whose flock probe fails its
// step ("fstat", "unlock") with fault's error when it returns one.
func NewTableFailingProbe(cfg Config, fault func(step string) error) (*Table, error) {
	cfg.probeFault = fault
	return NewTable(cfg)
}
