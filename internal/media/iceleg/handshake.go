package iceleg

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/srtp/v3"
)

// maxEarly bounds the SRTP/SRTCP kept while our side of the handshake is
// still finishing: the peer may start sending as soon as its side is done.
const maxEarly = 32

// replayWindow is the SRTP/SRTCP replay window (pion/webrtc's default).
const replayWindow = 64

var errHandshakeTimeout = errors.New("handshake timed out")

// SetRemote gives the peer's ICE credentials and DTLS fingerprint and
// setup. It may be called once; ICE (controlling or controlled per Config)
// and then DTLS run in the background, bounded by HandshakeTimeout; the
// outcome shows as Ready or as ReadPacket's ErrHandshake.
func (l *Leg) SetRemote(r RemoteICE) error {
	if r.Ufrag == "" || r.Pwd == "" {
		return fmt.Errorf("%w: remote ICE ufrag and pwd are required", errConfig)
	}
	if _, err := newHash(r.Fingerprint.Hash); err != nil {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	if r.Fingerprint.Value == "" {
		return fmt.Errorf("%w: empty remote fingerprint", errConfig)
	}
	l.mu.Lock()
	switch {
	case l.closing:
		l.mu.Unlock()
		return ErrClosed
	case l.started:
		l.mu.Unlock()
		return errors.New("iceleg: SetRemote called twice")
	}
	l.started = true
	l.mu.Unlock()

	// Outside the lock: pion runs this on its loop and reports the state
	// change to onICEState, which takes l.mu.
	var conn *ice.Conn
	var err error
	if l.cfg.Controlling {
		conn, err = l.agent.StartDial(r.Ufrag, r.Pwd)
	} else {
		conn, err = l.agent.StartAccept(r.Ufrag, r.Pwd)
	}

	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	if err != nil {
		l.mu.Unlock()
		// The leg cannot get ready any more: say so to ReadPacket too.
		l.fail(fmt.Errorf("start ICE: %w", err))
		return l.failErr
	}
	l.iceConn = conn
	ctx, cancel := context.WithCancelCause(l.ctx)
	ctx, stop := context.WithTimeoutCause(ctx, l.cfg.HandshakeTimeout, errHandshakeTimeout)
	l.hsCancel = cancel
	l.wg.Add(1)
	go l.handshake(ctx, func() { stop(); cancel(nil) }, r)
	l.mu.Unlock()
	return nil
}

// handshake is the leg's background goroutine: ICE, then DTLS, then SRTP
// keys; once ready it stays to drain the DTLS conn (alerts, the peer's
// close_notify) until Close.
func (l *Leg) handshake(ctx context.Context, stop func(), r RemoteICE) {
	defer l.wg.Done()
	conn, err := l.connect(ctx, r)
	stop()
	if err != nil {
		l.fail(err)
		return
	}
	l.log.Debug("ICE and DTLS ready", "remote", l.iceConn.RemoteAddr(), "srtp", l.profile)
	buf := make([]byte, receiveMTU)
	for {
		// Application data or a warning alert ends up here; nothing to do
		// with it, but it must be read or pion's DTLS reader stalls.
		if _, err := conn.Read(buf); errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			select {
			case <-l.closed:
			default:
				l.log.Debug("DTLS closed by the peer")
			}
			return
		}
	}
}

// fail records the handshake's failure and releases everything, so that
// no goroutine waits for a Close that may come late.
func (l *Leg) fail(err error) {
	l.failErr = fmt.Errorf("%w: %w", ErrHandshake, err)
	close(l.failed)
	select {
	case <-l.closed:
	default:
		l.log.Info("ICE/DTLS handshake failed", "err", err)
	}
	l.release()
}

// cause prefers the reason ctx ended (timeout, ICE failed, closed) to the
// error the canceled call returned.
func cause(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	c := context.Cause(ctx)
	if errors.Is(c, context.Canceled) {
		return ErrClosed
	}
	return c
}

// connect runs ICE, then DTLS on the ICE conn, then keys SRTP.
func (l *Leg) connect(ctx context.Context, r RemoteICE) (*dtls.Conn, error) {
	if err := l.agent.AwaitConnect(ctx); err != nil {
		return nil, fmt.Errorf("ICE: %w", cause(ctx, err))
	}
	remote := l.iceConn.RemoteAddr()
	if remote == nil {
		remote = &net.UDPAddr{} // pion/dtls only stores it
	}
	din := newDTLSConn(l.iceConn, remote)
	client := dtlsClient(l.cfg.Controlling, r.Setup)
	conn, err := newDTLS(din, remote, client, l.cfg.Certificate, r.Fingerprint, pionLogs{log: l.log})
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		_ = conn.Close()
		return nil, ErrClosed
	}
	l.din, l.dtls = din, conn
	l.wg.Add(1)
	l.mu.Unlock()
	pumpDone := make(chan struct{})
	go l.pump(din, pumpDone)

	if err := conn.HandshakeContext(ctx); err != nil {
		// release (via fail) closes the agent, which ends the pump.
		return nil, fmt.Errorf("DTLS as %s: %w", role(client), cause(ctx, err))
	}
	rx, tx, profile, err := srtpContexts(conn, client)
	if err != nil {
		return nil, err
	}
	l.profile = profile
	// Stop the pump: a read deadline in the past wakes it, it sees stop.
	l.pumpStop.Store(true)
	_ = l.iceConn.SetReadDeadline(time.Unix(1, 0))
	<-pumpDone
	_ = l.iceConn.SetReadDeadline(time.Time{})

	l.rx = rx
	l.wmu.Lock()
	l.tx = tx
	l.wmu.Unlock()
	l.isReady.Store(true)
	close(l.ready)
	return conn, nil
}

func role(client bool) string {
	if client {
		return "client"
	}
	return "server"
}

// pump reads the ICE conn during the handshake: DTLS goes to the DTLS
// conn, early SRTP is kept for ReadPacket. It exists so the handshake does
// not depend on the caller reading; ReadPacket takes over once ready.
func (l *Leg) pump(din *dtlsConn, done chan<- struct{}) {
	defer l.wg.Done()
	defer close(done)
	buf := make([]byte, receiveMTU)
	for {
		n, err := l.iceConn.Read(buf)
		if err != nil {
			var ne net.Error
			if !l.pumpStop.Load() && errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // stopped, or the agent is closed
		}
		switch classify(buf[:n]) {
		case kindDTLS:
			din.feed(buf[:n])
		case kindRTP, kindRTCP:
			if len(l.early) < maxEarly {
				l.early = append(l.early, bytes.Clone(buf[:n]))
			} else {
				l.dropped.Add(1)
			}
		}
	}
}

// srtpProfiles are offered in this order: AES-GCM is both stronger and,
// with AES-NI, cheaper than HMAC-SHA1; AES128_CM_HMAC_SHA1_80 is the one
// every implementation has.
var srtpProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AEAD_AES_256_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
}

func newDTLS(din *dtlsConn, remote net.Addr, client bool, cert *Certificate, fp Fingerprint, logs pionLogs) (*dtls.Conn, error) {
	shared := []dtls.Option{
		dtls.WithCertificates(cert.tls),
		dtls.WithSRTPProtectionProfiles(srtpProfiles...),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		// The peer's certificate is self-signed: it is trusted through the
		// fingerprint signalled over XMPP, not through a CA.
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyFingerprint(fp, raw)
		}),
		dtls.WithLoggerFactory(logs),
	}
	if client {
		opts := make([]dtls.ClientOption, 0, len(shared))
		for _, o := range shared {
			opts = append(opts, o)
		}
		conn, err := dtls.ClientWithOptions(din, remote, opts...)
		if err != nil {
			return nil, fmt.Errorf("DTLS client: %w", err)
		}
		return conn, nil
	}
	opts := make([]dtls.ServerOption, 0, len(shared)+1)
	for _, o := range shared {
		opts = append(opts, o)
	}
	// Without a client certificate there is nothing to check the
	// fingerprint against.
	opts = append(opts, dtls.WithClientAuth(dtls.RequireAnyClientCert))
	conn, err := dtls.ServerWithOptions(din, remote, opts...)
	if err != nil {
		return nil, fmt.Errorf("DTLS server: %w", err)
	}
	return conn, nil
}

// srtpContexts keys SRTP from the DTLS exporter (RFC 5764 §4.2): the
// client writes with the client key and salt, the server with the
// server's. rx checks replays; tx does not need to.
func srtpContexts(conn *dtls.Conn, client bool) (rx, tx *srtp.Context, profile srtp.ProtectionProfile, err error) {
	dp, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, nil, 0, errors.New("no SRTP protection profile negotiated")
	}
	switch dp {
	case dtls.SRTP_AEAD_AES_128_GCM:
		profile = srtp.ProtectionProfileAeadAes128Gcm
	case dtls.SRTP_AEAD_AES_256_GCM:
		profile = srtp.ProtectionProfileAeadAes256Gcm
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		profile = srtp.ProtectionProfileAes128CmHmacSha1_80
	default:
		return nil, nil, 0, fmt.Errorf("unexpected SRTP protection profile %#x", uint16(dp))
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, nil, 0, errors.New("DTLS state unavailable")
	}
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, client); err != nil {
		return nil, nil, 0, fmt.Errorf("SRTP keys: %w", err)
	}
	k := cfg.Keys
	tx, err = srtp.CreateContext(k.LocalMasterKey, k.LocalMasterSalt, profile)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("SRTP send context: %w", err)
	}
	rx, err = srtp.CreateContext(k.RemoteMasterKey, k.RemoteMasterSalt, profile,
		srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("SRTP receive context: %w", err)
	}
	return rx, tx, profile, nil
}
