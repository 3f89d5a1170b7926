//go:build !linux

// Package nospace explains a "no space left on device" (ENOSPC) that a
// file system with free space gives: its inodes are used up, and every
// new file needs one. df -h shows space free then, which sent operators
// looking everywhere but df -i.
package nospace

// Explain returns err: the cause is looked for on Linux only.
func Explain(_ int, err error) error { return err }
