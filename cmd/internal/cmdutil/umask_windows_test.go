package cmdutil

import "testing"

// setUmask does nothing: Windows has no umask.
func setUmask(*testing.T, int) {}
