// Package address owns the mapping between contact JIDs at the gateway
// domain and remote SIP parties: sip:, sips: and tel: URIs (RFC 3261, RFC
// 3966) on one side, JID localparts on the other, using XEP-0106 JID
// escaping (the canonical form), the legacy "%" form (accepted on input
// only) and E.164 numbers.
//
// Tier 0: pure functions, no goroutines, no I/O, no package-level mutable
// state. It may import only the standard library, mellium.im/xmpp/jid and
// golang.org/x/text. It knows nothing of stanzas, SIP transactions or the
// gateway; callers map its errors (all wrapping ErrMalformed unless noted)
// onto stanza errors or SIP responses themselves.
//
// # Forms
//
//	Remote                      localpart                    SIP target
//	sip:bob@example.org         bob\40example.org            sip:bob@example.org
//	tel:+1-415-555-0100         +14155550100                 sip:+14155550100@<account>;user=phone
//	sip:1001@<account>          1001                         sip:1001@<account>
//	sip:x@anonymous.invalid     anonymous                    (none: ErrAnonymous)
//
// # Policy choices
//
// The protocol map (§1) leaves several choices open; this package makes
// them once so that every direction agrees:
//
//   - Case: the localpart goes through PRECIS UsernameCaseMapped, which
//     lowercases. SIP user parts are case-sensitive, so sip:Alice@x and
//     sip:alice@x share one JID. SIPURI never folds case, so a caller that
//     remembers the original spelling can hand it back.
//   - Unicode: the whole escaped localpart must pass PRECIS, so user
//     parts with emoji, compatibility characters or right-to-left script
//     next to a left-to-right host (the Bidi Rule) are refused with
//     ErrMalformed rather than mangled.
//   - SIPS is not part of the JID. Remote.SIPS is a per-contact flag the
//     caller stores; everything decoded from a JID has SIPS false.
//   - Ports: 5060 is always dropped and 5061 is dropped for sips. Dropping
//     5060 even for sips keeps the mapping reversible once the SIPS flag
//     is gone; a sips: target on 5060 is a misconfiguration we accept
//     losing. Other ports are kept (user\40host\3a5080).
//   - Hosts: strict RFC 3261 hostnames (ASCII letters, digits, hyphens;
//     the top label starts with a letter), dotted IPv4, or bracketed IPv6
//     without zone. Hosts are lowercased, a trailing dot is removed and
//     IPv6 is written in RFC 5952 form so one party gets one JID.
//   - Phones: a user part that is "+" and 1 to 15 digits once the visual
//     separators - . ( ) and space are removed is a phone number,
//     whatever host it came with; the host is dropped and calls go out
//     through the user's own account. Parameters of global tel numbers
//     (ext, isub) are dropped.
//   - Local numbers (tel:7042;phone-context=...) are never encoded into a
//     localpart. ParseURI rejects them with ErrLocalNumber. ParseURIFor
//     maps them to the short form when the phone-context is a domain
//     equal to the account domain, and rejects every other context.
//   - Short form: a user on the account's own domain is written as a bare
//     localpart, unless that would read back as something else (it has
//     "@" or "%", looks like a phone number, or is "anonymous"); then the
//     full user\40domain form is used.
//   - Anonymous: any URI at host anonymous.invalid (RFC 3261 §8.1.1.3,
//     RFC 3323) maps to the reserved localpart "anonymous"; it cannot be
//     turned back into a SIP target.
//   - Passwords in userinfo (deprecated, RFC 3261 §19.1.1) are discarded.
//   - XEP-0106 escape sequences are recognised case-insensitively, so a
//     string escaped here still unescapes correctly after PRECIS has
//     lowercased it.
package address
