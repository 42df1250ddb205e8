package sip

import (
	"context"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Every request we originate leaves through these two functions. sipgo
// looks up (or opens) a connection for each one; once Run has closed the
// listeners and cleared the pool, a request that slipped past a stopped
// check would open a fresh UDP socket and a reader that nothing closes.
// Sends hold sendMu for reading; Run takes it for writing after marking
// the UA stopped, so every send either finished before the listeners
// close or sees the UA stopped.

// transaction starts a client transaction. ctx bounds only the connection
// setup (a TCP or TLS dial); shutdown cuts that short too.
func (ua *UA) transaction(ctx context.Context, req *sipmsg.Request) (sipmsg.ClientTransaction, error) {
	if !ua.enterSend() {
		return nil, ErrClosed
	}
	defer ua.sendMu.RUnlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ua.stopCtx, cancel)
	defer stop()
	return ua.cli.TransactionRequest(ctx, req, prebuilt)
}

// write sends a request outside any transaction (an ACK to a 2xx).
func (ua *UA) write(req *sipmsg.Request) error {
	if !ua.enterSend() {
		return ErrClosed
	}
	defer ua.sendMu.RUnlock()
	return ua.cli.WriteRequest(req, prebuilt)
}

func (ua *UA) enterSend() bool {
	ua.sendMu.RLock()
	if ua.isStopped() {
		ua.sendMu.RUnlock()
		return false
	}
	return true
}

// drainSends returns once no send is under way; called after stopped is
// closed, it guarantees none starts again.
func (ua *UA) drainSends() {
	ua.sendMu.Lock()
	defer ua.sendMu.Unlock()
}
