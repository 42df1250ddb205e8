package xmpp

import (
	"bufio"
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

// streamReader decodes the server's side of a component stream.
type streamReader struct {
	lr  *limitedReader
	dec *xml.Decoder
	// onSkip is told about top-level elements that are not stanzas.
	onSkip func(xml.Name)
}

func newStreamReader(r io.Reader, maxElement int64) *streamReader {
	lr := &limitedReader{r: bufio.NewReaderSize(r, 16<<10), max: maxElement}
	return &streamReader{lr: lr, dec: xml.NewDecoder(lr)}
}

// header reads the server's <stream:stream> and returns its id.
func (r *streamReader) header() (string, error) {
	r.lr.reset()
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return "", r.wrap(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst, xml.CharData, xml.Comment:
			continue
		case xml.StartElement:
			if t.Name.Space != stanza.NSStream || t.Name.Local != "stream" {
				return "", fmt.Errorf("%w: expected <stream:stream>, got <%s xmlns=%q>", errMalformed, t.Name.Local, t.Name.Space)
			}
			for _, a := range t.Attr {
				if a.Name.Space == "" && a.Name.Local == "id" && a.Value != "" {
					return a.Value, nil
				}
			}
			return "", errors.New("stream header has no id")
		default:
			return "", fmt.Errorf("%w: unexpected %T before the stream header", errMalformed, tok)
		}
	}
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
	for {
		start, err := r.nextStart()
		if err != nil {
			return nil, err
		}
		switch {
		case isStanza(start.Name):
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

func isStanza(n xml.Name) bool {
	if n.Space != stanza.NSComponent {
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
	var w wireStreamError
	if err := r.dec.DecodeElement(&w, start); err != nil {
		return r.wrap(err)
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
