package demo

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp"
)

// client is the demo user's XMPP client: a Link in client mode, answering
// what a client must (roster pushes, Jingle iqs, the gateway's
// subscription request) and keeping every other stanza it receives for
// the steps to wait on.
type client struct {
	link *xmpp.Link
	tr   *transcript
	ids  atomic.Uint64

	connected chan struct{}
	failed    chan error

	mu       sync.Mutex
	received []*stanza.Stanza
	notify   chan struct{} // closed and replaced on each stanza
}

// dialClient connects and logs in; it returns once the session is up, or
// the first login failure.
func dialClient(ctx context.Context, c Config, tr *transcript, log *slog.Logger) (*client, *service, error) {
	cl := &client{tr: tr, connected: make(chan struct{}), failed: make(chan error, 1), notify: make(chan struct{})}
	var once sync.Once
	link, err := xmpp.NewLink(xmpp.Config{
		Client: &xmpp.ClientLogin{JID: userName + "@" + xmppDomain + "/demo", Password: userPassword, TLS: xmpp.TLSDisabled},
		Addr:   "127.0.0.1:" + strconv.Itoa(c.C2SPort),
		OnConnect: func(context.Context) {
			once.Do(func() { close(cl.connected) })
		},
		OnConnectError: func(err error) {
			select {
			case cl.failed <- err:
			default:
			}
		},
	}, xmpp.HandlerFunc(cl.handle), log.With("subsystem", "client"))
	if err != nil {
		return nil, nil, err
	}
	cl.link = link
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &service{stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- link.Run(run) }()
	select {
	case <-cl.connected:
		return cl, s, nil
	case err := <-cl.failed:
		_ = s.halt()
		return nil, nil, err
	case <-ctx.Done():
		_ = s.halt()
		return nil, nil, ctx.Err()
	}
}

func (cl *client) jid() string { return cl.link.JID() }

func (cl *client) newID() string { return "demo" + strconv.FormatUint(cl.ids.Add(1), 10) }

// handle runs on the link's read goroutine: it answers at once and never
// waits.
func (cl *client) handle(ctx context.Context, s *stanza.Stanza) {
	cl.tr.record(false, s)
	switch {
	case s.Kind() == stanza.KindPresence && s.Type == "subscribe":
		// The gateway asks to see her presence (XEP-0100): she approves.
		cl.send(ctx, &stanza.Stanza{XMLName: xml.Name{Local: "presence"}, Type: "subscribed", To: s.From})
	case s.IsIQRequest():
		cl.answer(ctx, s)
	}
	cl.mu.Lock()
	cl.received = append(cl.received, s)
	close(cl.notify)
	cl.notify = make(chan struct{})
	cl.mu.Unlock()
}

// answer acknowledges roster pushes and Jingle actions, and refuses the
// rest as a client without those features would.
func (cl *client) answer(ctx context.Context, s *stanza.Stanza) {
	name, _ := s.Element("")
	switch {
	case s.Type == "set" && (name.Space == "jabber:iq:roster" || name.Space == jingle.NS):
		res, err := stanza.Result(s)
		if err == nil {
			cl.send(ctx, res)
		}
	default:
		cl.send(ctx, stanza.ErrorReply(s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, "")))
	}
}

// send writes a stanza (recorded in the transcript); errors show up as the
// step's missing answer.
func (cl *client) send(ctx context.Context, s *stanza.Stanza) {
	cl.tr.record(true, s)
	_ = cl.link.Send(ctx, s)
}

// sendIQ sends an iq and waits for its answer; an error answer is
// returned as an error wrapping the *stanza.Error.
func (cl *client) sendIQ(ctx context.Context, typ, to string, payload []byte) (*stanza.Stanza, error) {
	iq := &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: typ, To: to, ID: cl.newID(), Payload: payload}
	cl.tr.record(true, iq)
	res, err := cl.link.SendIQ(ctx, iq)
	if res != nil {
		cl.tr.record(false, res)
	}
	if err != nil {
		return res, err
	}
	if res.Type == "error" {
		return res, stanza.ParseError(res)
	}
	return res, nil
}

// mark is the position to wait from: stanzas received before it are not
// considered.
func (cl *client) mark() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return len(cl.received)
}

// waitFor returns the first stanza since mark that match accepts.
func (cl *client) waitFor(ctx context.Context, mark int, limit time.Duration, what string, match func(*stanza.Stanza) bool) (*stanza.Stanza, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		cl.mu.Lock()
		for ; mark < len(cl.received); mark++ {
			if s := cl.received[mark]; match(s) {
				cl.mu.Unlock()
				return s, nil
			}
		}
		ch := cl.notify
		cl.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("no %s within %s", what, limit)
			}
			return nil, ctx.Err()
		}
	}
}

// presence sends a presence of type typ ("" for available) to to ("" for
// her contacts).
func (cl *client) presence(ctx context.Context, typ, to string) {
	cl.send(ctx, &stanza.Stanza{XMLName: xml.Name{Local: "presence"}, Type: typ, To: to})
}
