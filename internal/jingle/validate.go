package jingle

import (
	"errors"
	"fmt"
)

// ErrInvalid wraps every Validate failure; its text says what was wrong.
var ErrInvalid = errors.New("jingle: invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Validate checks what the gateway relies on before acting: a sid, and
// for actions that carry contents, named RTP contents with known senders
// and sane candidates. It does not judge whether the session is one the
// gateway can carry (codecs, transports): that is negotiation, answered
// with a Jingle reason rather than a stanza error.
func (j *Jingle) Validate() error {
	if j.SID == "" {
		return invalid("no sid")
	}
	if j.Action == "" {
		return invalid("no action")
	}
	switch j.Action {
	case ActionSessionInitiate, ActionSessionAccept:
		if len(j.Contents) == 0 {
			return invalid("%s without content", j.Action)
		}
	}
	seen := make(map[string]bool, len(j.Contents))
	for i := range j.Contents {
		c := &j.Contents[i]
		if c.Name == "" {
			return invalid("content %d has no name", i)
		}
		if seen[c.Name] {
			return invalid("two contents named %q", c.Name)
		}
		seen[c.Name] = true
		if err := c.validate(); err != nil {
			return err
		}
	}
	if j.Reason != nil && j.Reason.Condition == "" {
		return ErrNoCondition
	}
	return nil
}

func (c *Content) validate() error {
	if c.Senders != "" && c.Senders.Normalize() == "" {
		return invalid("content %q: senders=%q", c.Name, c.Senders)
	}
	if c.Creator != "" && c.Creator != RoleInitiator && c.Creator != RoleResponder {
		return invalid("content %q: creator=%q", c.Name, c.Creator)
	}
	if t := c.Transport; t != nil {
		for _, cand := range t.Candidates {
			if cand.Component == 0 {
				return invalid("content %q: candidate %q without component", c.Name, cand.ID)
			}
		}
	}
	return nil
}
