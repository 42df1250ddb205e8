//go:build race

package media

// raceEnabled: the race detector makes sync.Pool drop items at random,
// so pion's pooled buffers allocate and allocation counts mean nothing.
const raceEnabled = true
