//go:build !race

package testutil

// raceEnabled is true when the test binary runs with the race detector; the
// warren binary is then built with -race too.
const raceEnabled = false
