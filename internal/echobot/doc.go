// Package echobot is the XMPP echo bot (`fargo echo`): an ordinary account
// on any server that users add as a contact to test their client. It
// approves subscription requests and asks back, sends every chat message
// body back to its sender, and answers Jingle calls (raw UDP, ICE-UDP,
// ICE-UDP + DTLS-SRTP; by Jingle Message Initiation or by a direct
// session-initiate) with the caller's own audio, and video bundled with
// it, through the media relay's echo sessions (internal/mediapath).
//
// It behaves as a well-behaved client would: presence with XEP-0115 caps,
// disco#info with the features clients check before they show a call
// button (protocol-map §5.5), answers to pings and to every iq it does not
// know. The connection itself is someone else's: the bot sees it only as a
// Sender, and gets its stanzas through HandleStanza.
//
// Tier 2: it imports the standard library, stanza, jingle, media and
// mediapath; never xmpp, gateway or app.
package echobot
