package mediapath

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
	"fargo.dev/fargo/internal/media"
)

// newSDESRelay runs a relay in this file's port range (29100–29199).
func newSDESRelay(t *testing.T) *Relay {
	t.Helper()
	r, err := media.NewRelay(media.Config{
		BindAddr: loopback, SIPAddr: loopback, XMPPAddr: loopback,
		PortMin: 29100, PortMax: 29199, MaxSessions: 10, HandshakeTimeout: 5 * time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return New(r, nil)
}

func openSDES(t *testing.T) *Path {
	t.Helper()
	p, err := newSDESRelay(t).Open(false, func(err error) { t.Errorf("ended: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func newKey(t *testing.T, suite string) media.SDESKey {
	t.Helper()
	k, err := media.GenerateSDESKey(suite)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func inline(k media.SDESKey) string { return "inline:" + base64.StdEncoding.EncodeToString(k.Key) }

// withCrypto is audio() with the SIP side's crypto lines.
func withCrypto(tr *jingle.Transport, required bool, lines ...jingle.Crypto) []jingle.Content {
	cs := audio(tr, pcmu, dtmf101)
	cs[0].Description.Encryption = &jingle.Encryption{Crypto: lines}
	if required {
		cs[0].Description.Encryption.Required = "1"
	}
	return cs
}

// ourKey reads the key of our one crypto line toward SIP.
func ourKey(t *testing.T, cs []jingle.Content) (jingle.Crypto, media.SDESKey) {
	t.Helper()
	e := cs[0].Description.Encryption
	if e == nil || len(e.Crypto) != 1 {
		t.Fatalf("toward SIP: encryption %+v, want our one crypto line", e)
	}
	k, ok := sdesKeyOf(e.Crypto[0])
	if !ok {
		t.Fatalf("our crypto line %+v does not read back", e.Crypto[0])
	}
	return e.Crypto[0], k
}

// noKeysTowardXMPP fails if anything of SDES reaches the user's device.
func noKeysTowardXMPP(t *testing.T, cs []jingle.Content) {
	t.Helper()
	out, err := xml.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("crypto")) || bytes.Contains(out, []byte("encryption")) {
		t.Fatalf("SDES toward XMPP: %s", out)
	}
}

// srtpPeer is the SIP phone's SRTP: it encrypts with its key and decrypts
// with ours.
type srtpPeer struct{ enc, dec *srtp.Context }

func newSRTPPeer(t *testing.T, own, relay media.SDESKey) srtpPeer {
	t.Helper()
	return srtpPeer{enc: srtpContext(t, own), dec: srtpContext(t, relay)}
}

func srtpContext(t *testing.T, k media.SDESKey) *srtp.Context {
	t.Helper()
	profile := map[string]srtp.ProtectionProfile{
		media.SuiteAES128SHA1_80: srtp.ProtectionProfileAes128CmHmacSha1_80,
		media.SuiteAEADAES128GCM: srtp.ProtectionProfileAeadAes128Gcm,
	}[k.Suite]
	kl, _ := profile.KeyLen()
	ctx, err := srtp.CreateContext(k.Key[:kl], k.Key[kl:], profile)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func rtpPkt(seq uint16) []byte {
	return []byte{0x80, 0, byte(seq >> 8), byte(seq), 0, 0, 0, 160, 0, 0, 0x51, 0x50, 0xde, 0xad, 0xbe, 0xef}
}

func recv(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("nothing relayed: %v", err)
	}
	return buf[:n]
}

func write(t *testing.T, c *net.UDPConn, to netip.AddrPort, pkt []byte) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(pkt, to); err != nil {
		t.Fatal(err)
	}
}

// checkSRTPBothWays sends one packet each way: SRTP from the phone,
// plain from the user.
func checkSRTPBothWays(t *testing.T, peer srtpPeer, phone, user *net.UDPConn, sipLeg, xmppLeg netip.AddrPort, seq uint16) {
	t.Helper()
	wire, err := peer.enc.EncryptRTP(nil, rtpPkt(seq), nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, phone, sipLeg, wire)
	if got := recv(t, user); !bytes.Equal(got, rtpPkt(seq)) {
		t.Fatalf("user got % x, want the phone's packet decrypted", got)
	}
	write(t, user, xmppLeg, rtpPkt(seq))
	got, err := peer.dec.DecryptRTP(nil, recv(t, phone), nil)
	if err != nil || !bytes.Equal(got, rtpPkt(seq)) {
		t.Fatalf("phone got % x (%v), want the user's packet encrypted with our key", got, err)
	}
}

// A SIP phone calls with SDES: we take the first line the relay supports,
// answer it with our own key under its tag, and media crosses, SRTP on the
// SIP side and plain on the user's; the user never sees a key.
func TestSIPOfferWithSDESKeysTheSIPLeg(t *testing.T) {
	p := openSDES(t)
	user, phone := udp(t), udp(t)
	theirs := newKey(t, media.SuiteAES128SHA1_80)
	offer := withCrypto(raw(addrOf(phone)), true,
		jingle.Crypto{Tag: "1", Suite: "F8_128_HMAC_SHA1_80", KeyParams: inline(theirs)},
		jingle.Crypto{Tag: "2", Suite: media.SuiteAES128SHA1_80, KeyParams: inline(theirs) + "|2^31"},
		jingle.Crypto{Tag: "3", Suite: media.SuiteAEADAES128GCM, KeyParams: inline(newKey(t, media.SuiteAEADAES128GCM))},
	)
	toXMPP, err := p.ToXMPP(offer)
	if err != nil {
		t.Fatal(err)
	}
	noKeysTowardXMPP(t, toXMPP)
	if offer[0].Description.Encryption == nil {
		t.Fatal("ToXMPP changed the caller's contents")
	}
	toSIP, err := p.ToSIP(audio(raw(addrOf(user)), pcmu, dtmf126))
	if err != nil {
		t.Fatal(err)
	}
	line, ours := ourKey(t, toSIP)
	if line.Tag != "2" || line.Suite != media.SuiteAES128SHA1_80 || line.SessionParams != "" || bytes.Equal(ours.Key, theirs.Key) {
		t.Fatalf("our crypto line %+v", line)
	}
	checkSRTPBothWays(t, newSRTPPeer(t, theirs, ours), phone, user,
		candidateAddr(t, toSIP[0].Transport), candidateAddr(t, toXMPP[0].Transport), 1)
}

// The SDP the gateway builds from it answers RTP/SAVP with RTP/SAVP and
// our a=crypto line; best-effort SDES (RTP/AVP with a=crypto) keeps
// RTP/AVP.
func TestSDESAnswerSDP(t *testing.T) {
	for _, proto := range []string{"RTP/SAVP", "RTP/AVP"} {
		t.Run(proto, func(t *testing.T) {
			p := openSDES(t)
			theirs := newKey(t, media.SuiteAES128SHA1_80)
			sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
				"m=audio 4000 %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
				"a=crypto:7 AES_CM_128_HMAC_SHA1_80 %s\r\na=sendrecv\r\n", proto, inline(theirs))
			m, err := jinglesdp.ParseSDP([]byte(sdp), jingle.RoleInitiator, nil)
			if err != nil {
				t.Fatal(err)
			}
			toXMPP, err := p.ToXMPP(m.Accepted())
			if err != nil {
				t.Fatal(err)
			}
			noKeysTowardXMPP(t, toXMPP)
			answer := audio(raw(addrOf(udp(t))), pcmu, dtmf126)
			answer[0].Name = toXMPP[0].Name
			toSIP, err := p.ToSIP(answer)
			if err != nil {
				t.Fatal(err)
			}
			_, ours := ourKey(t, toSIP)
			out, err := jinglesdp.BuildSDP(toSIP, nil, jingle.RoleResponder, jinglesdp.NewOrigin(loopback).Next(), m)
			if err != nil {
				t.Fatal(err)
			}
			sip := p.s.SIP().Local()
			for _, want := range []string{
				fmt.Sprintf("m=audio %d %s 0 ", sip.Port(), proto),
				"a=crypto:7 AES_CM_128_HMAC_SHA1_80 " + inline(ours) + "\r\n",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("answer lacks %q:\n%s", want, out)
				}
			}
			if strings.Count(string(out), "a=crypto") != 1 {
				t.Errorf("answer has other crypto lines:\n%s", out)
			}
		})
	}
}

// Our calls toward SIP offer plain RTP/AVP, and stay plain whatever the
// answer says: it cannot answer a crypto line we did not send.
func TestOutgoingCallStaysPlain(t *testing.T) {
	p := openSDES(t)
	user, phone := udp(t), udp(t)
	toSIP, err := p.ToSIP(audio(raw(addrOf(user)), pcmu, dtmf126))
	if err != nil {
		t.Fatal(err)
	}
	if e := toSIP[0].Description.Encryption; e != nil {
		t.Fatalf("our offer carries %+v", e)
	}
	out, err := jinglesdp.BuildSDP(toSIP, nil, jingle.RoleInitiator, jinglesdp.NewOrigin(loopback).Next(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), " RTP/AVP ") || strings.Contains(string(out), "crypto") {
		t.Fatalf("offer toward SIP:\n%s", out)
	}
	toXMPP, err := p.ToXMPP(withCrypto(raw(addrOf(phone)), true,
		jingle.Crypto{Tag: "1", Suite: media.SuiteAES128SHA1_80, KeyParams: inline(newKey(t, media.SuiteAES128SHA1_80))}))
	if err != nil {
		t.Fatal(err)
	}
	noKeysTowardXMPP(t, toXMPP)
	sipLeg := candidateAddr(t, toSIP[0].Transport)
	write(t, phone, sipLeg, rtpPkt(1))
	if got := recv(t, user); !bytes.Equal(got, rtpPkt(1)) {
		t.Fatalf("user got % x", got)
	}
	// A later hold re-offer of ours is still plain.
	if again, err := p.ToSIP(audio(raw(addrOf(user)), pcmu, dtmf126)); err != nil || again[0].Description.Encryption != nil {
		t.Fatalf("re-offer: %v %+v", err, again[0].Description.Encryption)
	}
}

// A SIP offer that makes SRTP mandatory with suites we lack is refused; a
// best-effort one is answered plain.
func TestUnsupportedSDES(t *testing.T) {
	f8 := jingle.Crypto{Tag: "1", Suite: "F8_128_HMAC_SHA1_80", KeyParams: inline(newKey(t, media.SuiteAES128SHA1_80))}
	mki := jingle.Crypto{Tag: "2", Suite: media.SuiteAES128SHA1_80, KeyParams: inline(newKey(t, media.SuiteAES128SHA1_80)) + "|2^20|1:4"}
	p := openSDES(t)
	if _, err := p.ToXMPP(withCrypto(raw(addrOf(udp(t))), true, f8, mki)); !errors.Is(err, media.ErrBadInput) {
		t.Fatalf("mandatory SRTP without a usable line: %v, want ErrBadInput", err)
	}

	p = openSDES(t)
	user, phone := udp(t), udp(t)
	toXMPP, err := p.ToXMPP(withCrypto(raw(addrOf(phone)), false, f8, mki))
	if err != nil {
		t.Fatal(err)
	}
	noKeysTowardXMPP(t, toXMPP)
	toSIP, err := p.ToSIP(audio(raw(addrOf(user)), pcmu))
	if err != nil {
		t.Fatal(err)
	}
	if e := toSIP[0].Description.Encryption; e != nil {
		t.Fatalf("answer to best-effort SDES we cannot do carries %+v", e)
	}
	write(t, phone, candidateAddr(t, toSIP[0].Transport), rtpPkt(1))
	if got := recv(t, user); !bytes.Equal(got, rtpPkt(1)) {
		t.Fatalf("user got % x", got)
	}
}

// Re-INVITEs: the same line keeps every key, a new key of theirs (new tag)
// keeps ours under the new tag, and an offer without crypto goes plain.
func TestSDESReoffers(t *testing.T) {
	p := openSDES(t)
	user, phone := udp(t), udp(t)
	first := newKey(t, media.SuiteAEADAES128GCM)
	line := jingle.Crypto{Tag: "1", Suite: media.SuiteAEADAES128GCM, KeyParams: inline(first)}
	toXMPP, err := p.ToXMPP(withCrypto(raw(addrOf(phone)), true, line))
	if err != nil {
		t.Fatal(err)
	}
	answer := func() []jingle.Content {
		t.Helper()
		toSIP, err := p.ToSIP(audio(raw(addrOf(user)), pcmu, dtmf126))
		if err != nil {
			t.Fatal(err)
		}
		return toSIP
	}
	toSIP := answer()
	_, ours := ourKey(t, toSIP)
	sipLeg, xmppLeg := candidateAddr(t, toSIP[0].Transport), candidateAddr(t, toXMPP[0].Transport)
	peer := newSRTPPeer(t, first, ours)
	checkSRTPBothWays(t, peer, phone, user, sipLeg, xmppLeg, 1)

	if _, err := p.ToXMPP(withCrypto(raw(addrOf(phone)), true, line)); err != nil {
		t.Fatal(err)
	}
	if l, k := ourKey(t, answer()); l.Tag != "1" || !bytes.Equal(k.Key, ours.Key) {
		t.Fatalf("same offer: our line %+v changed", l)
	}
	checkSRTPBothWays(t, peer, phone, user, sipLeg, xmppLeg, 2) // SRTP state kept: the contexts go on

	second := newKey(t, media.SuiteAEADAES128GCM)
	if _, err := p.ToXMPP(withCrypto(raw(addrOf(phone)), true,
		jingle.Crypto{Tag: "4", Suite: media.SuiteAEADAES128GCM, KeyParams: inline(second)})); err != nil {
		t.Fatal(err)
	}
	if l, k := ourKey(t, answer()); l.Tag != "4" || !bytes.Equal(k.Key, ours.Key) {
		t.Fatalf("new key of theirs: our line %+v, key changed: %v", l, !bytes.Equal(k.Key, ours.Key))
	}
	peer.enc = srtpContext(t, second)
	checkSRTPBothWays(t, peer, phone, user, sipLeg, xmppLeg, 3)

	if _, err := p.ToXMPP(audio(raw(addrOf(phone)), pcmu, dtmf101)); err != nil {
		t.Fatal(err)
	}
	if e := answer()[0].Description.Encryption; e != nil {
		t.Fatalf("answer to a plain re-offer carries %+v", e)
	}
	write(t, phone, sipLeg, rtpPkt(4))
	if got := recv(t, user); !bytes.Equal(got, rtpPkt(4)) {
		t.Fatalf("plain again: user got % x", got)
	}
}

func TestSDESKeyOf(t *testing.T) {
	k := newKey(t, media.SuiteAES128SHA1_80)
	b64 := base64.StdEncoding.EncodeToString(k.Key)
	gcm := newKey(t, media.SuiteAEADAES128GCM) // 28 bytes: base64 padding
	for _, tc := range []struct {
		c  jingle.Crypto
		ok bool
	}{
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64}, true},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64 + "|2^31"}, true},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64, SessionParams: "WSH=128"}, true},
		{jingle.Crypto{Suite: media.SuiteAEADAES128GCM, KeyParams: "inline:" + base64.RawStdEncoding.EncodeToString(gcm.Key)}, true},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64 + "|1:4"}, false},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64 + "|2^20|1:4"}, false},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64 + ";inline:" + b64}, false},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64, SessionParams: "UNENCRYPTED_SRTCP"}, false},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:" + b64, SessionParams: "KDR=1"}, false},
		{jingle.Crypto{Suite: media.SuiteAEADAES128GCM, KeyParams: "inline:" + b64}, false}, // 30 bytes for a 28-byte suite
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: "inline:not base64!"}, false},
		{jingle.Crypto{Suite: media.SuiteAES128SHA1_80, KeyParams: b64}, false},
	} {
		if _, ok := sdesKeyOf(tc.c); ok != tc.ok {
			t.Errorf("%+v: usable %v, want %v", tc.c, ok, tc.ok)
		}
	}
}
