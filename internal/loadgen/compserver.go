package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// Why the load generator can play the XMPP server: the gateway sees its
// users only as stanzas on its one component connection (and as SIP
// REGISTERs over UDP), so its memory per online user can be measured
// without a real server holding a socket per user, which this machine's
// open-files limit (20,000 per process) would not allow for 100,000 users.
// compServer is the server's side of that one XEP-0114 connection: stream
// header, handshake, then stanzas in both directions, nothing else (no
// routing to anyone but the gateway, no rosters, no storage).

const (
	nsComponent     = "jabber:component:accept"
	nsStreamsErrors = "urn:ietf:params:xml:ns:xmpp-streams"

	// compQueue bounds the stanzas waiting for the writer: the reader
	// answers the gateway from its own goroutine and must not wait on a
	// socket the gateway may be busy writing into.
	compQueue = 1 << 16
)

// compServer accepts one component connection and exchanges stanzas on it.
type compServer struct {
	ln     net.Listener
	domain string // the component's domain, expected in its stream header
	secret string

	nc  net.Conn
	dec *xml.Decoder
	out chan string

	quit      chan struct{} // closed by close: the writer ends the stream
	closeOnce sync.Once
	done      chan struct{} // closed when the writer has stopped
}

// listenComponent opens the listener the gateway's [component] server
// points at.
func listenComponent(addr, domain, secret string) (*compServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("component listener: %w", err)
	}
	return &compServer{ln: ln, domain: domain, secret: secret, out: make(chan string, compQueue), quit: make(chan struct{}), done: make(chan struct{})}, nil
}

func (s *compServer) addr() string { return s.ln.Addr().String() }

// accept waits for the gateway to connect and authenticates it. A
// connection that fails the handshake is closed and the next one awaited:
// the gateway reconnects by itself.
func (s *compServer) accept(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = s.ln.Close() })
	defer stop()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("no component connection: %w", ctx.Err())
			}
			return fmt.Errorf("component listener: %w", err)
		}
		dec, err := s.handshake(nc)
		if err == nil {
			s.nc, s.dec = nc, dec
			go s.writeLoop()
			return nil
		}
		_ = nc.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("component handshake: %w", err)
		}
	}
}

// handshake reads the component's stream header, answers with ours and a
// fresh stream id, and checks <handshake/> = hex SHA-1(id ‖ secret).
func (s *compServer) handshake(nc net.Conn) (*xml.Decoder, error) {
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	dec := xml.NewDecoder(bufio.NewReaderSize(nc, 64<<10))
	start, err := nextStart(dec)
	if err != nil {
		return nil, fmt.Errorf("stream header: %w", err)
	}
	if start.Name.Space != nsStream || start.Name.Local != "stream" {
		return nil, fmt.Errorf("expected <stream:stream>, got <%s xmlns=%q>", start.Name.Local, start.Name.Space)
	}
	to := attr(start, "to")
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	header := `<?xml version='1.0'?><stream:stream xmlns='` + nsComponent + `' xmlns:stream='` + nsStream +
		`' from='` + xmlEscape(to) + `' id='` + id + `'>`
	if !strings.EqualFold(to, s.domain) {
		_, _ = io.WriteString(nc, header+streamError("host-unknown"))
		return nil, fmt.Errorf("component domain %q, want %q", to, s.domain)
	}
	if _, err := io.WriteString(nc, header); err != nil {
		return nil, err
	}
	if start, err = nextStart(dec); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	var hs struct {
		Digest string `xml:",chardata"`
	}
	if start.Name.Local != "handshake" {
		return nil, fmt.Errorf("expected <handshake>, got <%s>", start.Name.Local)
	}
	if err := dec.DecodeElement(&hs, &start); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	sum := sha1.Sum([]byte(id + s.secret))
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(strings.TrimSpace(hs.Digest))), []byte(hex.EncodeToString(sum[:]))) != 1 {
		_, _ = io.WriteString(nc, streamError("not-authorized"))
		return nil, errors.New("handshake: wrong secret")
	}
	if _, err := io.WriteString(nc, `<handshake/>`); err != nil {
		return nil, err
	}
	return dec, nil
}

func streamError(cond string) string {
	return `<stream:error><` + cond + ` xmlns='` + nsStreamsErrors + `'/></stream:error></stream:stream>`
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// readLoop hands every stanza from the gateway to h until the stream
// ends; h runs on this goroutine and must not wait.
func (s *compServer) readLoop(h func(*stanza.Stanza)) error {
	for {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "error" && t.Name.Space == nsStream {
				return errors.New("stream error from the gateway")
			}
			st := new(stanza.Stanza)
			if err := s.dec.DecodeElement(st, &t); err != nil {
				return err
			}
			h(st)
		case xml.EndElement:
			if t.Name.Local == "stream" {
				return io.EOF
			}
		}
	}
}

// send queues raw XML for the gateway; false once the connection is gone.
func (s *compServer) send(x string) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.out <- x:
		return true
	case <-s.done:
		return false
	}
}

// writeLoop writes the queue, flushing whenever it runs empty so that
// bursts go out in few syscalls and single stanzas without delay. On quit
// it writes what is queued and ends the stream.
func (s *compServer) writeLoop() {
	defer s.closeOnce.Do(func() { close(s.done) })
	bw := bufio.NewWriterSize(s.nc, 64<<10)
	flush := func() error {
		_ = s.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		return bw.Flush()
	}
	for {
		select {
		case x := <-s.out:
			if _, err := bw.WriteString(x); err != nil {
				return
			}
			if len(s.out) == 0 && flush() != nil {
				return
			}
		case <-s.quit:
			for len(s.out) > 0 {
				_, _ = bw.WriteString(<-s.out)
			}
			_, _ = bw.WriteString(`</stream:stream>`)
			_ = flush()
			return
		}
	}
}

// close ends the stream and the listener.
func (s *compServer) close() {
	_ = s.ln.Close()
	if s.nc == nil {
		return
	}
	close(s.quit)
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	_ = s.nc.Close()
}
