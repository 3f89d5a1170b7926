//go:build race

package httpsession_test

const raceEnabled = true
