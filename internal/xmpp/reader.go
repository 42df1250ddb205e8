package xmpp

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"fargo.dev/fargo/internal/stanza"
)

var (
	nameStreamError = xml.Name{Space: stanza.NSStream, Local: "error"}
	nameHandshake   = xml.Name{Space: stanza.NSComponent, Local: "handshake"}
)

// limitedReader counts the bytes the decoder pulls for the current top-level
// element and fails once they exceed max. encoding/xml reads through
// io.ByteReader when the source implements it, so the count is exact and the
// decoder never buffers more than max bytes of one element.
type limitedReader struct {
	r        *bufio.Reader
	n, max   int64
	exceeded bool
	err      error // first error of the underlying reader, to tell EOF and network errors from bad XML
	// pulled counts the bytes the current decoder took, to compare with its
	// InputOffset: they differ while it holds an unread byte.
	pulled int64
	// tap, while tapping, keeps the bytes from the last '<' on: the stream
	// header's name as written.
	tap     []byte
	tapping bool
}

func (l *limitedReader) reset() { l.n = 0 }

func (l *limitedReader) ReadByte() (byte, error) {
	if l.n >= l.max {
		l.exceeded = true
		return 0, errTooBig
	}
	b, err := l.r.ReadByte()
	if err != nil {
		l.noteErr(err)
		return 0, err
	}
	l.n++
	l.pulled++
	if l.tapping {
		if b == '<' {
			l.tap = l.tap[:0]
		}
		l.tap = append(l.tap, b)
	}
	return b, nil
}

// Read exists only to satisfy io.Reader; the decoder uses ReadByte.
func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n >= l.max {
		l.exceeded = true
		return 0, errTooBig
	}
	if rem := l.max - l.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	l.pulled += int64(n)
	if err != nil {
		l.noteErr(err)
	}
	return n, err
}

func (l *limitedReader) noteErr(err error) {
	if l.err == nil {
		l.err = err
	}
}

// streamReader decodes the server's side of a component or client stream.
// encoding/xml reads the header and the negotiation (element, handshake);
// next reads stanzas with the scanner, which finds where each ends without
// building tokens for its payload. Both read the same bufio.Reader, and
// hand over without losing a byte: encoding/xml reads through
// limitedReader's ReadByte one byte at a time and buffers nothing but the
// one byte it may unread, which it never holds after a tag's '>' (where
// every call before next ends); next checks that (InputOffset == pulled).
// The scanner returns every byte it did not consume to the bufio.Reader.
type streamReader struct {
	lr  *limitedReader
	dec *xml.Decoder
	sc  *scanner
	ns  string // the stream's content namespace: stanzas are in it
	// onSkip is told about top-level elements that are not stanzas.
	onSkip func(xml.Name)
}

func newStreamReader(r io.Reader, maxElement int64) *streamReader {
	lr := &limitedReader{r: bufio.NewReaderSize(r, 16<<10), max: maxElement}
	return &streamReader{lr: lr, dec: xml.NewDecoder(lr), sc: &scanner{br: lr.r, lr: lr}, ns: stanza.NSComponent}
}

// restart forgets the old stream for a stream restart (RFC 6120 §6.4.6):
// a new decoder reads on from the same buffered bytes. encoding/xml pulls
// byte by byte through io.ByteReader, so the old decoder read nothing past
// the element that ended the old stream.
func (r *streamReader) restart() {
	r.dec = xml.NewDecoder(r.lr)
	r.lr.pulled = 0
	r.sc.ctx = streamContext{}
}

// buffered is how many bytes were read from the socket but not decoded.
func (r *streamReader) buffered() int { return r.lr.r.Buffered() }

// header reads the server's <stream:stream> and returns its id.
func (r *streamReader) header() (string, error) {
	t, err := r.streamStart()
	if err != nil {
		return "", err
	}
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == "id" && a.Value != "" {
			return a.Value, nil
		}
	}
	return "", errors.New("stream header has no id")
}

// streamStart reads the server's <stream:stream> start tag.
func (r *streamReader) streamStart() (xml.StartElement, error) {
	r.lr.reset()
	r.lr.tapping = true
	defer func() { r.lr.tapping, r.lr.tap = false, nil }()
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return xml.StartElement{}, r.wrap(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst, xml.CharData, xml.Comment:
			continue
		case xml.StartElement:
			if t.Name.Space != stanza.NSStream || t.Name.Local != "stream" {
				return t, fmt.Errorf("%w: expected <stream:stream>, got <%s xmlns=%q>", errMalformed, t.Name.Local, t.Name.Space)
			}
			r.sc.ctx = newStreamContext(t, rawName(r.lr.tap))
			return t, nil
		default:
			return xml.StartElement{}, fmt.Errorf("%w: unexpected %T before the stream header", errMalformed, tok)
		}
	}
}

// element decodes the next top-level element into v during stream
// negotiation and returns its name; a <stream:error/> is returned as
// *StreamError, </stream:stream> as errStreamEnd.
func (r *streamReader) element(v any) (xml.Name, error) {
	start, err := r.nextStart()
	if err != nil {
		return xml.Name{}, err
	}
	if start.Name == nameStreamError {
		return start.Name, r.streamError(&start)
	}
	if err := r.dec.DecodeElement(v, &start); err != nil {
		return start.Name, r.wrap(err)
	}
	return start.Name, nil
}

// handshake reads the server's answer to our <handshake>: an empty
// <handshake/> on success, else a *StreamError.
func (r *streamReader) handshake() error {
	start, err := r.nextStart()
	if err != nil {
		return err
	}
	switch {
	case start.Name == nameHandshake || (start.Name.Space == "" && start.Name.Local == "handshake"):
		if err := r.dec.Skip(); err != nil {
			return r.wrap(err)
		}
		return nil
	case start.Name == nameStreamError:
		return r.streamError(&start)
	default:
		return fmt.Errorf("unexpected <%s xmlns=%q> instead of <handshake/>", start.Name.Local, start.Name.Space)
	}
}

// next returns the next stanza. Other top-level elements are skipped;
// <stream:error/> is returned as *StreamError, </stream:stream> as
// errStreamEnd.
func (r *streamReader) next() (*stanza.Stanza, error) {
	if r.dec.InputOffset() != r.lr.pulled {
		return r.nextDecoded() // the decoder holds a byte; never seen
	}
	return r.sc.scan(r)
}

// rawName is the name of the start tag in tag ("<name …>") as written.
func rawName(tag []byte) []byte {
	if len(tag) == 0 || tag[0] != '<' {
		return nil
	}
	end := 1
	for end < len(tag) && (tag[end] >= 0x80 || isNameByte(tag[end])) {
		end++
	}
	return bytes.Clone(tag[1:end])
}

// nextDecoded is next with encoding/xml only: the scanner's reference.
func (r *streamReader) nextDecoded() (*stanza.Stanza, error) {
	for {
		start, err := r.nextStart()
		if err != nil {
			return nil, err
		}
		switch {
		case isStanza(start.Name, r.ns):
			s := new(stanza.Stanza)
			if err := r.dec.DecodeElement(s, &start); err != nil {
				return nil, r.wrap(err)
			}
			return s, nil
		case start.Name == nameStreamError:
			return nil, r.streamError(&start)
		default:
			if r.onSkip != nil {
				r.onSkip(start.Name)
			}
			if err := r.dec.Skip(); err != nil {
				return nil, r.wrap(err)
			}
		}
	}
}

// nextStart returns the next top-level start element, skipping whitespace
// keepalives. The byte budget restarts for every top-level token, so
// whitespace between stanzas never accumulates against one stanza.
func (r *streamReader) nextStart() (xml.StartElement, error) {
	for {
		r.lr.reset()
		tok, err := r.dec.Token()
		if err != nil {
			return xml.StartElement{}, r.wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, errStreamEnd
		}
	}
}

func isStanza(n xml.Name, ns string) bool {
	if n.Space != ns {
		return false
	}
	switch stanza.Kind(n.Local) {
	case stanza.KindIQ, stanza.KindMessage, stanza.KindPresence:
		return true
	}
	return false
}

// wireStreamError is the decoding form of <stream:error/>.
type wireStreamError struct {
	Inner []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

func (r *streamReader) streamError(start *xml.StartElement) error {
	err := streamErrorOf(r.dec, start)
	var se *StreamError
	if !errors.As(err, &se) {
		return r.wrap(err)
	}
	return err
}

// streamErrorOf decodes the <stream:error/> that start opened: a
// *StreamError, or the decoder's error.
func streamErrorOf(d *xml.Decoder, start *xml.StartElement) error {
	var w wireStreamError
	if err := d.DecodeElement(&w, start); err != nil {
		return err
	}
	e := &StreamError{Condition: "undefined-condition"}
	for _, c := range w.Inner {
		switch {
		case c.XMLName.Space != nsStreams:
		case c.XMLName.Local == "text":
			e.Text = c.Text
		default:
			e.Condition = c.XMLName.Local
		}
	}
	return e
}

// wrap classifies a decoder error: size limit, socket error or EOF, or
// malformed XML. encoding/xml turns EOF inside the open stream element into
// a syntax error, so the underlying reader's error is checked first.
func (r *streamReader) wrap(err error) error {
	switch {
	case r.lr.exceeded:
		return errTooBig
	case r.lr.err != nil && errors.Is(r.lr.err, io.EOF):
		return errPeerClosed
	case r.lr.err != nil:
		return r.lr.err
	default:
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
}
