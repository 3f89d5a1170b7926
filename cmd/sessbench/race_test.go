//go:build race

package main_test

// buildFlags builds the binary under test with the race detector when the
// tests themselves run with it, so the end-to-end runs check the targets'
// concurrency too.
var buildFlags = []string{"-race"}
