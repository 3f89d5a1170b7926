// Package statmode converts the file type bits of a stat's st_mode to
// fs.FileMode's, as the os package does, for the callers that stat
// through golang.org/x/sys/unix (fsstore's openat walk, the lock
// package's lock directory): one file has one type whichever of them, or
// os.Lstat, or a directory listing's d_type, looked at it.
package statmode
