package lock

// SetRemoveRefused makes t, a Lease table, call refused each time a
// remove of one of its files is refused for the moment (another process
// has the file open without sharing delete access), before it tries
// again.
func SetRemoveRefused(t *Table, refused func(path string)) {
	t.backend().(*leaseBackend).dir.removeRefused = refused
}
