// Package cwd names the working directory as the kernel does (getcwd),
// for packages that anchor a relative path: not by $PWD, which os.Getwd
// prefers and which may name it through a symlink that has since moved
// on (a deploy's "current" link pointed at the next release).
package cwd

import "syscall"

// Get is the kernel's name of the working directory, asked again when a
// signal interrupted the call.
func Get() (string, error) {
	for {
		wd, err := syscall.Getwd()
		if err != syscall.EINTR {
			return wd, err
		}
	}
}
