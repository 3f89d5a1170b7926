//go:build unix && race

package lock_test

const raceEnabled = true
