//go:build unix && !race

package lock_test

const raceEnabled = false
