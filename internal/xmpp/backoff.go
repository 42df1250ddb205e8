package xmpp

import (
	"math/rand/v2"
	"time"
)

// stableAfter is how long a connection must have stayed up for the next
// failure to start the backoff from BackoffMin again; a server that accepts
// us and drops us at once keeps the delay growing.
const stableAfter = 30 * time.Second

// backoff yields reconnect delays: the ceiling doubles from min up to max
// and each delay is drawn uniformly between min and the ceiling ("full
// jitter" above a floor), so many gateways restarting together spread out
// and a refusing server still gets at least min between attempts.
type backoff struct {
	min, max time.Duration
	attempt  int
	randN    func(n int64) int64 // uniform in [0, n); replaceable in tests
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, randN: rand.Int64N}
}

func (b *backoff) next() time.Duration {
	ceil := b.min
	for i := 0; i < b.attempt && ceil < b.max; i++ {
		ceil *= 2
	}
	if ceil > b.max || ceil <= 0 {
		ceil = b.max
	}
	b.attempt++
	if ceil <= b.min {
		return b.min
	}
	return b.min + time.Duration(b.randN(int64(ceil-b.min)+1))
}

func (b *backoff) reset() { b.attempt = 0 }
