//go:build !race

package httppeers

const raceEnabled = false
