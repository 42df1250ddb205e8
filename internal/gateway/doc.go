// Package gateway owns the product logic of the XMPP side of Fargo that is
// not a call: who the gateway's users are, their SIP accounts (XEP-0077,
// XEP-0100, XEP-0050 commands, jabber:iq:gateway), discovery, and how a
// user's XMPP presence drives their SIP registration.
//
// Tier 2. It imports tier 0/1 packages that carry no transport (stanza,
// address, xdata, store's types) and declares the small interfaces it needs
// from the outside world: Sender for the XMPP link, SIP for the SIP user
// agent, store.Store for persistence. It never imports internal/xmpp or
// internal/sip; internal/app adapts those to these interfaces.
//
// Concurrency: every user is an actor. One goroutine owns a user's state
// (online resources, account, SIP registration) and runs the closures posted
// to its mailbox in order, so presence, registration changes and SIP state
// events for one user never race. The XMPP read loop only dispatches.
package gateway
