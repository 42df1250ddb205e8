package sqlite

// ForgetCached drops jid's cached account, so that benchmarks can measure
// the query itself.
func ForgetCached(s *Store, jid string) { s.cache.Invalidate(jid) }
