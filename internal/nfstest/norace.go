//go:build !race

package nfstest

const raceEnabled = false
