package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedFixtures are the captured client stanzas kept outside the
// repository (../shared/fixtures, see its README); tests use them when
// they are there.
var sharedFixtures = filepath.Join("..", "..", "..", "shared", "fixtures", "jingle")

// fixtureFiles lists the captured stanzas: testdata and the shared ones.
func fixtureFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	shared, _ := filepath.Glob(filepath.Join(sharedFixtures, "*", "*.xml"))
	return append(files, shared...)
}

// iqPayload is the inner XML of a captured stanza, what the gateway hands
// to Decode.
func iqPayload(t testing.TB, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Inner []byte `xml:",innerxml"`
	}
	if err := xml.Unmarshal(raw, &st); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return st.Inner
}

// checkDecode fails unless Decode and xml.Unmarshal agree on in: the same
// value, or both an error.
func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	var want Jingle
	werr := xml.Unmarshal(in, &want)
	got, err := Decode(in)
	switch {
	case werr != nil && err != nil:
	case werr != nil:
		t.Fatalf("encoding/xml fails (%v) but Decode gives %+v\ninput: %q", werr, got, in)
	case err != nil:
		t.Fatalf("encoding/xml decodes %+v but Decode fails: %v\ninput: %q", want, err, in)
	case !reflect.DeepEqual(&want, got):
		t.Fatalf("Decode differs from encoding/xml\ninput: %q\n got: %#v\nwant: %#v", in, got, &want)
	}
}

// refChildNames is what the gateway used before ChildNames: every token of
// the payload through encoding/xml.
func refChildNames(payload []byte) ([]xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(payload))
	var names []xml.Name
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				names = append(names, t.Name)
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func checkChildNames(t *testing.T, in []byte) {
	t.Helper()
	want, werr := refChildNames(in)
	got, err := ChildNames(in)
	if (werr == nil) != (err == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("ChildNames(%q) = %v, %v; encoding/xml gives %v, %v", in, got, err, want, werr)
	}
}

func TestDecodeFixtures(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			payload := iqPayload(t, f)
			for _, in := range [][]byte{raw, payload} {
				checkDecode(t, in)
				checkChildNames(t, in)
			}
			if !strings.Contains(f, "disco") && !strings.Contains(f, "presence") {
				if _, err := Decode(payload); err != nil {
					t.Fatalf("a captured Jingle payload fails: %v", err)
				}
			}
		})
	}
}

// decodeCases are inputs that exercise encoding/xml's rules one by one.
var decodeCases = []string{
	// Namespaces: default, prefixed, undeclared prefix, redeclared, reset.
	`<jingle xmlns='urn:xmpp:jingle:1' sid='s' action='session-initiate'><content name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'/></content></jingle>`,
	`<j:jingle xmlns:j='urn:xmpp:jingle:1' j:sid='s' action='x'><j:content name='a'><rtp:description xmlns:rtp='urn:xmpp:jingle:apps:rtp:1' media='v'><rtp:payload-type id='1'/></rtp:description></j:content></j:jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='3'><fb:rtcp-fb xmlns:fb='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/><rtcp-fb type='wrong-ns'/></payload-type></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/></group><group semantics='not-grouping-ns'/></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><x:ringing xmlns:x='urn:xmpp:jingle:apps:rtp:info:1' x:a='1' b='2' xmlns:y='u' y:c='3' z:d='4' xml:lang='en'/></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><p:q xmlns:p='xmlns' p:r='filtered'/><xmlns:a/><xmlns/><xml:b/><u:c/><d xmlns=''/></jingle>`,
	`<jingle xmlns="urn:xmpp:jingle:1"><other xmlns="urn:o"><jingle/><content/></other><content xmlns="urn:any" name="n"/></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' xmlns:a='urn:a' xmlns:a='urn:b'><a:x/></jingle>`,
	// Not a <jingle/>, or not in its namespace.
	`<jingle sid='s'/>`,
	`<jingle xmlns='urn:other'/>`,
	`<iq><jingle xmlns='urn:xmpp:jingle:1'/></iq>`,
	`<Jingle xmlns='urn:xmpp:jingle:1'/>`,
	``, `   `, `<!-- c -->`,
	// Attributes: repeats, any namespace, numbers.
	`<jingle xmlns='urn:xmpp:jingle:1' sid='a' sid='b' x:action='c'><content name='1' name='2'/></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id=' 8 ' clockrate='&#32;8000&#x9;' channels=''/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='256'/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='-1'/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='+1'/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='  '/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='1' maxptime='4294967295' ptime='4294967296'/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><transport><candidate component='1' port='65535' rel-port='0' generation='0' priority='2130706431' ip='::1'/><remote-candidate port='1'/><remote-candidate ip='x'/></transport></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><transport><candidate port='65536'/></transport></content></jingle>`,
	"<jingle xmlns='urn:xmpp:jingle:1'><content><description><payload-type id='1\u00a0'/></description></content></jingle>",
	// Singular children seen twice merge into one value.
	`<jingle xmlns='urn:xmpp:jingle:1'><content name='a'><description media='audio' ssrc='1'><payload-type id='1'/><bandwidth type='AS'>64</bandwidth></description><description xmlns='urn:d'><payload-type id='2'/><bandwidth/></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><transport ufrag='u'><candidate component='1'/></transport><transport pwd='p' xmlns='urn:t'><candidate component='2'/></transport></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='A'><content name='1'/></group><group xmlns='urn:xmpp:jingle:apps:grouping:0'><content name='2'/></group></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><encryption required='1'><crypto tag='1' crypto-suite='s' key-params='k' session-params='p'/></encryption><encryption><crypto tag='2'/></encryption></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='5'/><rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0'/><rtcp-mux>text<x/></rtcp-mux><rtcp-mux/><extmap-allow-mixed xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'/><extmap-allow-mixed/></description></content></jingle>`,
	// Sources and groups.
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'><parameter name='cname' value='c'/></source><ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='1'><parameter name='x'/></source><source ssrc='2'/></ssrc-group><source ssrc='3'/></description></content></jingle>`,
	// Character data: entities, references, CDATA, comments, CR LF.
	"<jingle xmlns='urn:xmpp:jingle:1'><content><transport><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='a&amp;b'>AB<!-- c -->&lt;<![CDATA[<x>&amp;\r\n]]>\r\n&#65;&#x42;<x>skipped</x>C\rD</fingerprint></transport></content></jingle>",
	"<jingle xmlns='urn:xmpp:jingle:1' sid='a\r\nb\rc\td&#13;&#xD800;'/>",
	`<jingle xmlns='urn:xmpp:jingle:1'><content><description><bandwidth>1]]&gt;2]]]]>&#93;]></bandwidth></description></content></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'>]]></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid=']]>'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&#0;'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&#x110000;'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&#xFFFE;'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&#X41;'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&#;'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&nbsp;'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='&amp'/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' sid='a<b'/>`,
	"<jingle xmlns='urn:xmpp:jingle:1' sid='\x01'/>",
	"<jingle xmlns='urn:xmpp:jingle:1' sid='\xff'/>",
	"<jingle xmlns='urn:xmpp:jingle:1' sid='\uFFFD\U0001F600'/>",
	"<jingle xmlns='urn:xmpp:jingle:1'>\x00</jingle>",
	"<jingle xmlns='urn:xmpp:jingle:1'><![CDATA[\x00]]></jingle>",
	// Reason.
	`<jingle xmlns='urn:xmpp:jingle:1'><reason><busy/><text>486 <b>Busy</b> Here</text><sip-status xmlns='urn:xmpp:fargo:sip:0' code='486'/><decline/></reason></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><reason><text xmlns='urn:other'>t</text><x xmlns='urn:other'/><made-up/><sip-status code='5'/><sip-status xmlns='urn:xmpp:fargo:sip:0' a:code=' 7' code='99999999999999999999'/></reason><reason xmlns='urn:any'><gone/></reason></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><reason xmlns=''><success/><text/></reason></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><reason><sip-status code='7'/><sip-status xmlns='urn:xmpp:fargo:sip:0'/></reason></jingle>`,
	// Session-info payloads and other children kept in Info.
	`<jingle xmlns='urn:xmpp:jingle:1' action='session-info'><ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/><dtmf xmlns='urn:xmpp:jingle:dtmf:0' code='1' duration='100'></dtmf><mute xmlns='urn:xmpp:jingle:apps:rtp:info:1' name='voice'> <a>&amp;</a>&#65;<!--c--> </mute><Info/></jingle>`,
	// Markup around the element.
	"\ufeff<?xml version='1.0' encoding='UTF-8'?><!DOCTYPE jingle [<!ENTITY a 'b'>]><!-- c --><?pi x?>\n<jingle xmlns='urn:xmpp:jingle:1'/>trailing <garbage",
	`<?xml version='1.1'?><jingle xmlns='urn:xmpp:jingle:1'/>`,
	`<?xml encoding="latin1"?><jingle xmlns='urn:xmpp:jingle:1'/>`,
	`<?xml encoding="utf-8"?><jingle xmlns='urn:xmpp:jingle:1'><?xml version='2'?></jingle>`,
	`<!x<>'>"<!--'-->>><jingle xmlns='urn:xmpp:jingle:1'/>`,
	`<!--->--><jingle xmlns='urn:xmpp:jingle:1'/>`,
	`<!-- -- --><jingle xmlns='urn:xmpp:jingle:1'/>`,
	`</x><jingle xmlns='urn:xmpp:jingle:1'/>`,
	// Malformed inside the element.
	`<jingle xmlns='urn:xmpp:jingle:1'><a></b></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><a:b></a:c></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><a:b:c/></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><:a></:a><a:></a:></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1'><1a/></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' a="1"b='2' c = "3"/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' a=1/>`,
	`<jingle xmlns='urn:xmpp:jingle:1' a/>`,
	`<jingle xmlns='urn:xmpp:jingle:1'/ >`,
	`<jingle xmlns='urn:xmpp:jingle:1'><a>`,
	`<jingle xmlns='urn:xmpp:jingle:1'`,
	"<jingle xmlns='urn:xmpp:jingle:1'><\u00e9l\u00e9ment \u00e9='1'/><\u00b7x/></jingle>",
	`<jingle xmlns='urn:xmpp:jingle:1'></jingle >`,
	`<jingle xmlns='urn:xmpp:jingle:1'><x></x	 ></jingle>`,
}

func TestDecodeMatchesEncodingXML(t *testing.T) {
	for _, in := range decodeCases {
		t.Run("", func(t *testing.T) {
			checkDecode(t, []byte(in))
			checkChildNames(t, []byte(in))
		})
	}
}

func TestDecodeInnerXML(t *testing.T) {
	j, err := Decode([]byte(`<jingle xmlns='urn:xmpp:jingle:1'><a/><b></b><c> x </c></jingle>`))
	if err != nil {
		t.Fatal(err)
	}
	if j.Info[0].Inner != nil || j.Info[1].Inner == nil || len(j.Info[1].Inner) != 0 || string(j.Info[2].Inner) != " x " {
		t.Fatalf("inner XML %q %q %q", j.Info[0].Inner, j.Info[1].Inner, j.Info[2].Inner)
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := Decode([]byte(`<jingle xmlns='urn:xmpp:jingle:1'><a></b></jingle>`))
	var se *xml.SyntaxError
	if !errors.As(err, &se) || se.Line != 1 {
		t.Fatalf("mismatched end tag: %v", err)
	}
	if _, err := Decode([]byte(`<jingle xmlns='urn:other'/>`)); !errors.Is(err, errNotJingle) {
		t.Fatalf("other element: %v", err)
	}
	if _, err := Decode(nil); !errors.Is(err, io.EOF) {
		t.Fatalf("empty input: %v", err)
	}
}

// TestDecodeAllocs keeps the point of Decode: a browser's offer is a few
// dozen allocations, against thousands through encoding/xml.
func TestDecodeAllocs(t *testing.T) {
	payload := iqPayload(t, filepath.Join("testdata", "01-session-initiate-from-caller.xml"))
	n := testing.AllocsPerRun(20, func() {
		if _, err := Decode(payload); err != nil {
			t.Fatal(err)
		}
	})
	if n > 100 {
		t.Fatalf("Decode of the session-initiate allocates %v times", n)
	}
}

func FuzzDecodeMatchesEncodingXML(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(iqPayload(f, file))
	}
	for _, in := range decodeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecode(t, in)
	})
}

func FuzzChildNamesMatchesEncodingXML(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		f.Add(iqPayload(f, file))
	}
	for _, in := range decodeCases {
		f.Add([]byte(in))
	}
	f.Add([]byte(`<a xmlns='urn:a'/> text <p:b xmlns:p='urn:b'><c/></p:b><!-- --><d/>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkChildNames(t, in)
	})
}

// sweepTemplate has a bit of every construct the scanner reads.
const sweepTemplate = `<?xml version="1.0"?><!DOCTYPE x><!--c--><jingle xmlns='urn:xmpp:jingle:1' sid="a&amp;b">t<content><description media='m'><payload-type id='1'/></description><transport><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0'>F<![CDATA[G]]></fingerprint></transport></content><r:x xmlns:r='u' r:a='1'>i</r:x><reason><s/><text>T</text></reason></jingle>`

// sweepBytes stand for every class of byte the scanner tells apart.
const sweepBytes = "\x00\x01\x09\x0a\x0b\x0d\x1f\x7f !\"#&'-./09:;<=>?AZ[]_`axz{}~" +
	"\x80\xbf\xc0\xc2\xc3\xdf\xe0\xed\xef\xf0\xf4\xf5\xff"

// sweepMarks are places in sweepTemplate, one in each construct, that
// get every byte value.
var sweepMarks = []string{"<?xm", "<!DOC", "<!--", "<jin", ` sid="a&am`, ">t", "<cont", "media='", "id='",
	"xmlns:", "r:a='", ">F", "CDATA[", ">i", "<s", "</tex", "</jingle", "jingle>"}

// TestDecodeByteSweep puts bytes where random fuzzing rarely puts them:
// every kind of byte everywhere in a stanza, and every byte value in each
// construct. Decode and ChildNames must agree
// with encoding/xml on each.
func TestDecodeByteSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps thousands of inputs")
	}
	in := []byte(sweepTemplate)
	var buf []byte
	overwrite := func(i int, v byte) {
		buf = append(append(append(buf[:0], in[:i]...), v), in[i+1:]...)
		checkDecode(t, buf)
		checkChildNames(t, buf)
	}
	for i := range in {
		for _, v := range []byte(sweepBytes) {
			overwrite(i, v)
		}
	}
	for _, m := range sweepMarks {
		i := strings.Index(sweepTemplate, m) + len(m)
		if i < len(m) {
			t.Fatalf("%q is not in the template", m)
		}
		for v := range 256 {
			buf = append(append(append(buf[:0], in[:i]...), byte(v)), in[i:]...)
			checkDecode(t, buf)
			if i < len(in) {
				overwrite(i, byte(v))
			}
		}
	}
}

// sweepFragments are pieces of markup with rules of their own.
var sweepFragments = []string{
	"\r\n", "\r", "]]>", "]]", "&amp;", "&#x7F;", "&#0;", "&#xD800;", "&#x10FFFF;", "&#65;", "&;", "&lt",
	"<!---->", "<!-- - -->", "<!--", "-->", "<![CDATA[]]>", "<![CDATA[", "<?xml version='2'?>", "<?xml?>", "<?x?>",
	"<!x>", "<!>", "<!'>'>", `<!"<"><!--x-->`, "<a/>", "<a>", "</a>", "<a:b/>", "<:a/>", "<a:/>", "<xmlns:a/>",
	" xmlns='urn:z'", " xmlns=''", " xmlns:r='urn:y'", " xmlns:xml='u'", " a='1'", " a=\"'\"", " r:id='2'",
	"\u00e9", "\u00b7", "\xff", "\xc3", "\xed\xa0\x80", "\uFFFE", "\uFFFD", "\U0001F600", "\t", " ",
}

func TestDecodeFragmentSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps thousands of inputs")
	}
	in := []byte(sweepTemplate)
	var buf []byte
	for i := 0; i <= len(in); i++ {
		for _, f := range sweepFragments {
			buf = append(append(append(buf[:0], in[:i]...), f...), in[i:]...)
			checkDecode(t, buf)
			checkChildNames(t, buf)
		}
	}
}
