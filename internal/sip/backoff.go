package sip

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before retry number n (0 for the first): a
// uniform draw between lo and lo·2^(n+1), capped at hi. Jitter over the
// whole window spreads the retries of many accounts that failed together
// (a provider outage at gateway start); the floor lo keeps even the luckiest
// draw from turning into a hot loop.
func backoff(lo, hi time.Duration, n int) time.Duration {
	ceil := lo
	for i := 0; i <= n && ceil < hi; i++ {
		ceil *= 2
	}
	ceil = min(ceil, hi)
	if ceil <= lo {
		return lo
	}
	return lo + rand.N(ceil-lo)
}

// refreshDelay returns when to refresh a binding granted for g: at 80–90 %
// of it (randomised so bindings made together do not refresh together), but
// at least min(5s, g/2) before it expires and never sooner than 1s.
func refreshDelay(g time.Duration) time.Duration {
	d := g*8/10 + rand.N(g/10+1)
	ahead := min(5*time.Second, g/2)
	d = min(d, g-ahead)
	return max(d, time.Second)
}
