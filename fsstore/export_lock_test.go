package fsstore

// LockWaitersForTest returns the lock requests of this store that are
// waiting, so tests can wait for them to queue instead of sleeping.
func (s *Store) LockWaitersForTest() int { return s.locks.Stats().Waiting }
