package media

import "time"

// checkIdle runs when the session's idle timer fires. Readers only store
// the time of the last packet (an atomic store, no timer reset per packet);
// the timer is armed for the earliest moment the session could be idle
// and, if a packet came meanwhile, re-armed for the remaining time. So a
// session with media costs one timer callback per IdleTimeout.
func (s *Session) checkIdle() {
	s.syncKernel() // its packets never reached the readers
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	if rem := s.lastRx.Load() + int64(s.r.cfg.IdleTimeout) - s.r.now(); rem > 0 {
		// Under mu, so end cannot stop the timer between the check and
		// the re-arm and leave it pending after the session.
		s.idle.Reset(time.Duration(rem))
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.end(ErrIdle, &s.r.stats.idles)
}
