package echobot

import "sync/atomic"

// Stats is a snapshot of the bot's counters.
type Stats struct {
	CallsActive   int    // proposed or answered now
	CallsAnswered uint64 // session-accepts sent
	CallsRefused  uint64 // turned away: busy, shutting down, nothing to echo
	CallsFailed   uint64 // ended by a media or signalling failure
	Messages      uint64 // message bodies echoed
	Subscriptions uint64 // subscription requests approved
}

type counters struct {
	answered, refused, failed, messages, subscriptions atomic.Uint64
}

// Stats returns the current counters.
func (b *Bot) Stats() Stats {
	b.mu.Lock()
	active := len(b.calls)
	b.mu.Unlock()
	return Stats{
		CallsActive:   active,
		CallsAnswered: b.stats.answered.Load(),
		CallsRefused:  b.stats.refused.Load(),
		CallsFailed:   b.stats.failed.Load(),
		Messages:      b.stats.messages.Load(),
		Subscriptions: b.stats.subscriptions.Load(),
	}
}
