package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// Stream headers the differential tests read stanzas under.
var scanHeaders = []struct {
	header, ns string
}{
	{header, "jabber:component:accept"},
	{`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='c2s' version='1.0'>`, nsClient},
	{`<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns:c='jabber:client' xmlns:l='http://www.w3.org/XML/1998/namespace' id='x'>`, nsClient},
}

// readResult is one call of next, rendered so that two readers compare.
type readResult string

// readAll reads stanzas until the first error; decoded selects the
// encoding/xml reference path instead of the scanner. chunk > 0 feeds the
// reader that many bytes per Read, to split elements across buffers.
func readAll(t testing.TB, hdr int, body []byte, limit int64, decoded bool, chunk int) []readResult {
	var in io.Reader = io.MultiReader(strings.NewReader(scanHeaders[hdr].header), bytes.NewReader(body))
	if chunk > 0 {
		in = &chunkReader{r: in, n: chunk}
	}
	sr := newStreamReader(in, limit)
	sr.ns = scanHeaders[hdr].ns
	var out []readResult
	sr.onSkip = func(n xml.Name) { out = append(out, readResult(fmt.Sprintf("skip %q %q", n.Space, n.Local))) }
	if _, err := sr.header(); err != nil {
		t.Fatalf("header %d: %v", hdr, err)
	}
	for i := 0; i <= len(body); i++ {
		next := sr.next
		if decoded {
			next = sr.nextDecoded
		}
		s, err := next()
		if err != nil {
			return append(out, readResult("error "+errClass(err)))
		}
		nilPayload := s.Payload == nil
		out = append(out, readResult(fmt.Sprintf("stanza %q %q id=%q type=%q from=%q to=%q lang=%q nil=%v payload=%q",
			s.XMLName.Space, s.XMLName.Local, s.ID, s.Type, s.From, s.To, s.Lang, nilPayload, s.Payload)))
	}
	t.Fatalf("reader did not end after %d bytes", len(body))
	return nil
}

func errClass(err error) string {
	var se *StreamError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("stream %q %q", se.Condition, se.Text)
	case errors.Is(err, errStreamEnd):
		return "end"
	case errors.Is(err, errTooBig):
		return "too-big"
	case errors.Is(err, errPeerClosed):
		return "eof"
	case errors.Is(err, errMalformed):
		return "malformed"
	}
	return "other: " + err.Error()
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// sameAsDecoder checks that the scanner reads body exactly as encoding/xml
// does, whole and in small pieces.
func sameAsDecoder(t *testing.T, hdr int, body []byte, limit int64) {
	t.Helper()
	want := readAll(t, hdr, body, limit, true, 0)
	for _, chunk := range []int{0, 1, 7} {
		got := readAll(t, hdr, body, limit, false, chunk)
		if !equalResults(got, want, body) {
			t.Fatalf("header %d, chunk %d, input %q:\nscanner: %q\ndecoder: %q", hdr, chunk, body, got, want)
		}
	}
}

// equalResults compares two readings. The one allowed difference: what
// only encoding/xml judges (non-ASCII names, <?xml?>) is judged once the
// element is complete, so an input that also ends or outgrows the limit
// before that fails as such rather than as malformed.
func equalResults(got, want []readResult, body []byte) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] == want[i] {
			continue
		}
		deferred := !utf8.Valid(body) || bytes.ContainsFunc(body, func(r rune) bool { return r >= utf8.RuneSelf }) ||
			bytes.Contains(body, []byte("<?xml"))
		if i != len(got)-1 || !deferred || want[i] != "error malformed" ||
			(got[i] != "error eof" && got[i] != "error too-big") {
			return false
		}
	}
	return true
}

func TestScannerMatchesDecoder(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"jingle", jingleIQ},
		{"attribute entities", `<message from='a&amp;b@x/&lt;r&gt;' to="&quot;q&quot;" id='&#65;&#x42;&#x1F600;' type='&apos;'/>`},
		{"char refs in text", `<message><body>&#x10FFFF;&#9;&#10;&#13;&#xD800;</body></message>`},
		{"quoted > and /", `<iq id='a>b' type="c/d" to='x/>'><q a='>' b="/>"/></iq>`},
		{"self-closing", `<presence/>`},
		{"empty element", `<presence></presence>`},
		{"spaces in tags", "<iq\n\tid = 'x' \r\n></iq >"},
		{"attributes without space", `<iq id='1'type='get'/>`},
		{"nested same name", `<message><message><message/></message><x><message>t</message></x></message>`},
		{"comment cdata pi", `<message><!-- <a> -- x --><![CDATA[<b>]]&amp;]]><?pi x>y?></message>`},
		{"whitespace between", " \n\t\r <presence/>\n\n <iq type='result' id='2'/> \n"},
		{"text between", "hello &amp; <presence/>"},
		{"comment and pi between", `<!-- c --><?p q?><![CDATA[x]]><presence/>`},
		{"directive", `<!DOCTYPE x [<!ENTITY a "b>c"> <!-- ]> --> ]><message/>`},
		{"directive in stanza", `<message><!DOCTYPE x [<!ELEMENT a '>'> <x>]></message>`},
		{"prefixed stream error", `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>busy</text></stream:error>`},
		{"stream error default ns", `<error xmlns='http://etherx.jabber.org/streams'><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>`},
		{"explicit client ns", `<message xmlns='jabber:client' id='c'/><iq xmlns='jabber:component:accept' id='k'/>`},
		{"prefixed stanza", `<p:iq xmlns:p='jabber:component:accept' type='get'/><c:message id='m'/>`},
		{"unbound prefix", `<q:iq id='1'/><iq/>`},
		{"xml lang", `<message xml:lang='en' id='1'/><message l:lang='de' xmlns:l='http://www.w3.org/XML/1998/namespace'/><message lang='fr' x:lang='it'/>`},
		{"prefixed id", `<iq x:id='1' xmlns:type='t'/>`},
		{"duplicate attributes", `<iq id='1' id='2'/>`},
		{"cr in attribute", "<iq id='a\r\nb\rc&#13;\nd'/>"},
		{"unicode", "<message><body>h\u00e9llo \u4e16\u754c \U0001F600</body><\u00e9l \u00e9='1'/></message>"},
		{"unknown skipped", `<foo xmlns='urn:x'><bar/></foo><iq/>`},
		{"bad unicode name", "<\u0300x/><presence/>"},
		{"bad unicode name in payload", "<x><m \u0300='1'/></x><presence/>"},
		{"xml pi ok", `<message><?xml version='1.0'?></message>`},
		{"stream end", `<presence/></stream:stream>`},
		{"stream end spaced", `</stream:stream  >`},
		// Rejected by both.
		{"unknown entity", `<message><body>&nbsp;</body></message>`},
		{"entity in attribute", `<iq id='&foo;'/>`},
		{"entity without semicolon", `<message>&amp </message>`},
		{"bad char ref", `<message>&#0;</message>`},
		{"char ref too big", `<message>&#x110000;</message>`},
		{"char ref FFFE", `<message>&#xFFFE;</message>`},
		{"upper X char ref", `<message>&#X41;</message>`},
		{"control char", "<message>\x01</message>"},
		{"invalid utf-8", "<message>\xff</message>"},
		{"invalid utf-8 in attribute", "<message id='\xc3'/>"},
		{"cdata end in text", `<message>]]></message>`},
		{"lt in attribute", `<iq id='<'/>`},
		{"unquoted attribute", `<iq id=1/>`},
		{"attribute without value", `<iq id/>`},
		{"mismatched", `<message><a></b></message>`},
		{"mismatched depth 0", `<message></presence>`},
		{"prefix mismatch", `<message></stream:message>`},
		{"two colons", `<a:b:c/>`},
		{"digit name", `<message><1/></message>`},
		{"double dash comment", `<message><!-- a -- b --></message>`},
		{"bad cdata", `<message><![CDATX[x]]></message>`},
		{"xml pi bad version", `<message><?xml version='2.0'?></message>`},
		{"xml pi encoding", `<?xml version='1.0' encoding='latin1'?><presence/>`},
		{"wrong stream end", `</stream:foo>`},
		{"truncated", `<message from='a@example.test`},
		{"truncated payload", `<message><body>hi`},
		{"too big", `<message><body>` + strings.Repeat("z", 5000) + `</body></message>`},
		{"too big attribute", `<message a='` + strings.Repeat("z", 5000) + `'/>`},
		{"endless whitespace", strings.Repeat(" ", 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for hdr := range scanHeaders {
				sameAsDecoder(t, hdr, []byte(tc.body), 4096)
			}
		})
	}
}

// TestScannerLimit checks the byte budget to the byte: an element may
// have limit bytes, one more when text before it already counted its '<'.
func TestScannerLimit(t *testing.T) {
	const limit = 256 // the header must fit too
	for n := limit - 3; n <= limit+3; n++ {
		el := `<message>` + strings.Repeat("z", n-len(`<message></message>`)) + `</message>`
		for _, body := range []string{el, el + el, " " + el, strings.Repeat(" ", limit-1) + el, strings.Repeat(" ", limit) + el} {
			sameAsDecoder(t, 0, []byte(body), limit)
		}
	}
}

// TestScannerPayload pins down what consumers see.
func TestScannerPayload(t *testing.T) {
	in := `<message id='a&amp;b' xml:lang='en'><body>x</body><!--c--></message><presence/><iq></iq>`
	sr := newStreamReader(strings.NewReader(header+in), 4096)
	if _, err := sr.header(); err != nil {
		t.Fatal(err)
	}
	m, err := sr.next()
	if err != nil || m.ID != "a&b" || m.Lang != "en" || string(m.Payload) != `<body>x</body><!--c-->` ||
		m.XMLName != (xml.Name{Space: "jabber:component:accept", Local: "message"}) {
		t.Fatalf("message = %+v, %v", m, err)
	}
	if p, err := sr.next(); err != nil || p.Payload != nil {
		t.Fatalf("presence = %+v, %v", p, err)
	}
	if iq, err := sr.next(); err != nil || iq.Payload == nil || len(iq.Payload) != 0 {
		t.Fatalf("iq = %+v, %v", iq, err)
	}
}

// TestScannerHandover reads negotiation elements with the decoder and then
// stanzas with the scanner from the same buffer, and back.
func TestScannerHandover(t *testing.T) {
	in := header + `<handshake/><iq id='1'/> <presence/>`
	sr := newStreamReader(iotest.OneByteReader(strings.NewReader(in)), 4096)
	if _, err := sr.header(); err != nil {
		t.Fatal(err)
	}
	if err := sr.handshake(); err != nil {
		t.Fatal(err)
	}
	if sr.dec.InputOffset() != sr.lr.pulled {
		t.Fatal("decoder holds a byte after the handshake")
	}
	if iq, err := sr.next(); err != nil || iq.ID != "1" {
		t.Fatalf("iq = %+v, %v", iq, err)
	}
	var v struct{}
	if name, err := sr.element(&v); err != nil || name.Local != "presence" {
		t.Fatalf("element after next = %v, %v", name, err)
	}
}

func BenchmarkDecodeStanzaDecoder(b *testing.B) {
	sr := newStreamReader(io.MultiReader(strings.NewReader(header), &cycle{b: []byte(jingleIQ)}), DefaultMaxStanzaSize)
	if _, err := sr.header(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(jingleIQ)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sr.nextDecoded(); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzScanStanzas compares the scanner with encoding/xml on arbitrary
// input after each test header. Seeds: testdata/fuzz/FuzzScanStanzas, the
// corpus of FuzzReadStanzas, the captured client stanzas.
func FuzzScanStanzas(f *testing.F) {
	f.Add([]byte(jingleIQ), uint8(0))
	for _, dir := range []string{"testdata/fuzz/FuzzReadStanzas", "../../../shared/fixtures/jingle/jsxc-3.4.4-audio"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			if s, ok := bytes.CutPrefix(b, []byte("go test fuzz v1\n[]byte(")); ok {
				var u string
				if _, err := fmt.Sscanf(string(bytes.TrimSuffix(bytes.TrimSpace(s), []byte(")"))), "%q", &u); err != nil {
					continue
				}
				b = []byte(u)
			}
			f.Add(b, uint8(len(name)))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, hdr uint8) {
		h := int(hdr) % len(scanHeaders)
		want := readAll(t, h, body, 4096, true, 0)
		for _, chunk := range []int{0, 3} {
			if got := readAll(t, h, body, 4096, false, chunk); !equalResults(got, want, body) {
				t.Fatalf("header %d, chunk %d:\nscanner: %q\ndecoder: %q", h, chunk, got, want)
			}
		}
	})
}
