package fsstore

// ForceWalkForTest makes the store resolve paths one directory at a time,
// as it does on kernels without openat2(2) and on other systems.
func (s *Store) ForceWalkForTest() { s.root.noOpenat2.Store(true) }
