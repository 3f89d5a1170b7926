package fsstore

import "os"

// openDescriptors returns how many descriptors the process has open, and
// whether it could tell.
func openDescriptors() (int, bool) {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return 0, false
	}
	return len(names) - 1, true // less the one reading the list
}
