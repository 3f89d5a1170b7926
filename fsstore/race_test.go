//go:build linux && race

package fsstore_test

const raceEnabled = true
