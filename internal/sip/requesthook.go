package sip

import sipmsg "github.com/emiago/sipgo/sip"

// RequestHook serves a request that is not part of a call, before the UA
// answers it itself (404, 405, OPTIONS). It returns false to leave the
// request to the UA, true when it has responded on tx. It runs on a
// goroutine of sipgo's transaction layer: it must answer at once and
// never block. The SIP echo uses it to act as a small registrar (REGISTER
// is otherwise refused with 405).
type RequestHook func(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool

// SetRequestHook installs h; call it before Run.
func (ua *UA) SetRequestHook(h RequestHook) { ua.hook = h }
