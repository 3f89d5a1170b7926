package lock

import "time"

// mono is a reading of the monotonic clock: nanoseconds since monoBase,
// plus one, so that the zero value means "none". A lock's tenure, its
// pause and its last confirmation are only ever compared with other
// readings, for which time.Now reads the wall clock as well, for nothing:
// a reading here is one call into the vDSO where time.Now makes two, and
// the lock and unlock of a session read the clock several times.
type mono int64

// monoBase is the process's origin of mono readings, set once at start.
var monoBase = time.Now()

// monoNow reads the monotonic clock.
func monoNow() mono { return mono(time.Since(monoBase)) + 1 }

// add is m later by d.
func (m mono) add(d time.Duration) mono { return m + mono(d) }

// sub is the time from o to m.
func (m mono) sub(o mono) time.Duration { return time.Duration(m - o) }

// time is m as a time.Time, for tests and messages.
func (m mono) time() time.Time { return monoBase.Add(time.Duration(m - 1)) }
