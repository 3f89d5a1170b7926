//go:build race

package httppeers

const raceEnabled = true
