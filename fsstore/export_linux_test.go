package fsstore

// ForceWalkForTest makes the store resolve paths one directory at a time,
// as it does on kernels without openat2(2) and on other systems.
func (s *Store) ForceWalkForTest() { s.root.noOpenat2.Store(true) }

// Openat2RefusedForTest reports whether s resolves paths one directory at
// a time, openat2 found refused (rootDir.noOpenat2).
func (s *Store) Openat2RefusedForTest() bool { return s.root.noOpenat2.Load() }

// StatxRefusedForTest reports whether s found statx refused when it
// opened (rootDir.noStatx), and so stats with fstatat.
func (s *Store) StatxRefusedForTest() bool { return s.root.noStatx }

// FetchesFreshForTest reports whether s's attribute fetches ask the file
// server whatever the client has cached (Store.fetchesFresh).
func (s *Store) FetchesFreshForTest() bool { return s.fetchesFresh() }

// SetOpenHookForTest runs h with the path of each open the store makes
// below its directory (nil: none).
func (s *Store) SetOpenHookForTest(h func(path string)) { s.root.testOpened = h }

// SetFaultForTest makes each open and lstat of a file below the store's
// directory fail with the error f returns for its path (nil: none, and
// f nil: no faults).
func (s *Store) SetFaultForTest(f func(path string) error) { s.root.testFault = f }

// SetOpenFaultForTest is SetFaultForTest for opens alone: an lstat of
// the file works.
func (s *Store) SetOpenFaultForTest(f func(path string) error) { s.root.testOpenFault = f }
