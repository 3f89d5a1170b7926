//go:build !unix

package fsstore

// dirWritable has no answer here: the store does not run on this
// platform.
func dirWritable(string) error { return nil }
