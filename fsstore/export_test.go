package fsstore

// Test-only access to internals for the external test package: where a
// session's record lives and which lock stripe covers it, so that tests
// can corrupt a record or pick sessions on distinct stripes without
// duplicating the naming scheme.

// RecordPathForTest returns the path of the record file of id.
func (s *Store) RecordPathForTest(id string) string {
	_, p := s.path(deriveKey(id))
	return p
}

// StripeForTest returns the name of the lock file that covers id.
func (s *Store) StripeForTest(id string) string {
	return stripeName(deriveKey(id).stripe, s.layout.stripes)
}
