package testenv

import "testing"

// NoPanic returns what call returns, and fails the test at once if call
// panics instead: the check of the misuse tests that a mistake a caller
// can make (a nil receiver, a zero value, a nil Context) gives an error
// rather than a panic.
func NoPanic(t testing.TB, call func() error) error {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panicked: %v", r)
			}
		}()
		err = call()
	}()
	return err
}
