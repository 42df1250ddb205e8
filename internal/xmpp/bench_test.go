package xmpp

import (
	"bufio"
	"context"
	"encoding/xml"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// jingleIQ is a Conversations-style session-initiate (~2 KB), the biggest
// stanza on the call path.
const jingleIQ = `<iq type='set' id='bench1' from='alice@example.test/phone' to='+14155550100@sip.example.test'>` +
	`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='a73sjjvkla37jfea' initiator='alice@example.test/phone'>` +
	`<content creator='initiator' name='0' senders='both'>` +
	`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>` +
	`<payload-type id='111' name='opus' clockrate='48000' channels='2'><parameter name='minptime' value='10'/><parameter name='useinbandfec' value='1'/>` +
	`<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/></payload-type>` +
	`<payload-type id='9' name='G722' clockrate='8000'/><payload-type id='0' name='PCMU' clockrate='8000'/>` +
	`<payload-type id='8' name='PCMA' clockrate='8000'/><payload-type id='126' name='telephone-event' clockrate='8000'/>` +
	`<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='urn:ietf:params:rtp-hdrext:ssrc-audio-level'/>` +
	`<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='3347765753'><parameter name='cname' value='xyzzy0123456789'/></source>` +
	`<rtcp-mux/></description>` +
	`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'>` +
	`<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2</fingerprint>` +
	`<candidate component='1' foundation='1' generation='0' id='el0747fg11' ip='10.0.1.1' network='1' port='8998' priority='2130706431' protocol='udp' type='host'/>` +
	`<candidate component='1' foundation='2' generation='0' id='y3s2b30v3r' ip='192.0.2.3' network='1' port='45664' priority='1694498815' protocol='udp' rel-addr='10.0.1.1' rel-port='8998' type='srflx'/>` +
	`<candidate component='1' foundation='3' generation='0' id='zzl2b30v3r' ip='198.51.100.7' network='1' port='3478' priority='16777215' protocol='udp' rel-addr='192.0.2.3' rel-port='45664' type='relay'/>` +
	`</transport></content><group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/></group></jingle></iq>`

// cycle repeats b forever.
type cycle struct {
	b   []byte
	off int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.off:])
	c.off = (c.off + n) % len(c.b)
	return n, nil
}

func BenchmarkDecodeStanza(b *testing.B) {
	sr := newStreamReader(io.MultiReader(strings.NewReader(header), &cycle{b: []byte(jingleIQ)}), DefaultMaxStanzaSize)
	if _, err := sr.header(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(jingleIQ)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sr.next(); err != nil {
			b.Fatal(err)
		}
	}
}

// discardConn is a net.Conn whose writes vanish.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

func BenchmarkMarshalWrite(b *testing.B) {
	var st stanza.Stanza
	if err := xml.Unmarshal([]byte(jingleIQ), &st); err != nil {
		b.Fatal(err)
	}
	c := newConn(discardConn{}, 1)
	w := &writer{c: c, bw: bufio.NewWriterSize(c.nc, 32<<10), timeout: time.Second, stats: &counters{}}
	b.SetBytes(int64(len(jingleIQ)))
	b.ReportAllocs()
	for b.Loop() {
		buf, err := st.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		if err := w.batch(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendLoopback measures Send through the queue, the writer and
// loopback TCP to a server that discards.
func BenchmarkSendLoopback(b *testing.B) {
	fs := newFakeServer(b)
	fs.discard = true
	h := newHarness(b, fs, nil)
	h.start(b)
	h.waitConnected(b)
	var st stanza.Stanza
	if err := xml.Unmarshal([]byte(jingleIQ), &st); err != nil {
		b.Fatal(err)
	}
	st.From, st.To = "+14155550100@sip.example.test/gw", "alice@example.test/phone"
	ctx := context.Background()
	b.SetBytes(int64(len(jingleIQ)))
	b.ReportAllocs()
	for b.Loop() {
		if err := h.link.Send(ctx, &st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveLoopback measures loopback TCP, decode and dispatch of
// inbound session-initiates up to the handler.
func BenchmarkReceiveLoopback(b *testing.B) {
	fs := newFakeServer(b)
	h := newHarness(b, fs, nil)
	var got atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	h.tap = func(*stanza.Stanza) {
		if got.Add(1) == target {
			close(done)
		}
	}
	h.start(b)
	h.waitConnected(b)
	sc := fs.nextConn(b)
	b.SetBytes(int64(len(jingleIQ)))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		bw := bufio.NewWriter(sc.nc)
		for range b.N {
			if _, err := bw.WriteString(jingleIQ); err != nil {
				return
			}
		}
		_ = bw.Flush()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatal("stanzas did not arrive")
	}
}
