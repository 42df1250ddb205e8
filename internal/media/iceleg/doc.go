// Package iceleg is one ICE-UDP + DTLS-SRTP endpoint with rtcp-mux over a
// single UDP socket, as an XMPP client such as Conversations expects on the
// other end: pion/ice for connectivity (full agent, either role), pion/dtls
// for the handshake with the use_srtp extension, pion/srtp contexts keyed
// from the DTLS exporter, and the RFC 7983 demultiplexing of STUN, DTLS
// and SRTP/SRTCP arriving on the same socket. It hands out plain RTP and
// RTCP packets and takes plain ones to send.
//
// The caller's socket reaches pion/ice through a UDP mux (pion reads it and
// answers STUN itself); what is not STUN comes out of the agent's ice.Conn.
// During the handshake a goroutine of the leg reads that conn, feeding
// DTLS records to pion/dtls and keeping SRTP that arrives before the keys;
// once SRTP is keyed, ReadPacket reads the ice.Conn itself on the caller's
// goroutine and decrypts in place, so the media path adds no goroutine,
// channel or allocation of its own. The handshake therefore progresses
// whether or not the caller is already reading.
//
// Tier 1 engine under internal/media: stdlib and pion only.
package iceleg
