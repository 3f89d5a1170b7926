//go:build !unix

package lock

// syscallNoFollow: Windows has no O_NOFOLLOW. Lock files are created by
// this package in a directory only the store's users can write, and a
// symbolic link on Windows needs a privilege ordinary processes lack.
const syscallNoFollow = 0

// syscallNonBlock: no FIFOs in a directory here.
const syscallNonBlock = 0
