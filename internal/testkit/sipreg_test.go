package testkit

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"strconv"
	"strings"
	"time"
)

// sipRegistration is what a test REGISTER bound, to compare with Contacts.
type sipRegistration struct {
	Contact string
	CallID  string
	CSeq    int
}

var errSIPStatus = errors.New("unexpected SIP status")

// sipRegister sends REGISTER for user over UDP from an ephemeral loopback
// port, answers the digest challenge (MD5 or SHA-256, qop=auth) and returns
// the binding once the registrar says 200. It is the smallest honest SIP
// client: the test must not depend on sipp, which knows no SHA-256 digest.
func sipRegister(ctx context.Context, server, domain, user, password string, expires int) (*sipRegistration, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("sip client socket: %w", err)
	}
	defer conn.Close()
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, fmt.Errorf("sip server address: %w", err)
	}
	local := conn.LocalAddr().String()
	reg := &sipRegistration{
		Contact: "sip:" + user + "@" + local,
		CallID:  randomHex(8) + "@127.0.0.1",
		CSeq:    1,
	}
	req := func(auth string) string {
		return fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK%s\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:%s@%s>;tag=%s\r\n"+
			"To: <sip:%s@%s>\r\n"+
			"Call-ID: %s\r\n"+
			"CSeq: %d REGISTER\r\n"+
			"Contact: <%s>\r\n"+
			"Expires: %d\r\n"+
			"User-Agent: fargo-testkit\r\n"+
			"%s"+
			"Content-Length: 0\r\n\r\n",
			domain, local, randomHex(6), user, domain, randomHex(4), user, domain,
			reg.CallID, reg.CSeq, reg.Contact, expires, auth)
	}
	status, headers, err := sipRoundTrip(ctx, conn, raddr, req(""))
	if err != nil {
		return nil, err
	}
	if status != 401 {
		return nil, fmt.Errorf("%w: first REGISTER got %d, want 401", errSIPStatus, status)
	}
	auth, err := digestAuthorization(headers["www-authenticate"], user, password, "REGISTER", "sip:"+domain)
	if err != nil {
		return nil, err
	}
	reg.CSeq = 2
	status, _, err = sipRoundTrip(ctx, conn, raddr, req("Authorization: "+auth+"\r\n"))
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("%w: authenticated REGISTER got %d, want 200", errSIPStatus, status)
	}
	return reg, nil
}

// sipRoundTrip sends msg and returns the first final response (provisional
// ones are skipped), with header names lower-cased.
func sipRoundTrip(ctx context.Context, conn *net.UDPConn, to *net.UDPAddr, msg string) (int, map[string]string, error) {
	if _, err := conn.WriteToUDP([]byte(msg), to); err != nil {
		return 0, nil, fmt.Errorf("send REGISTER: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, 65535)
	for {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			return 0, nil, fmt.Errorf("read SIP response: %w", err)
		}
		status, headers, err := parseSIPResponse(string(buf[:n]))
		if err != nil {
			return 0, nil, err
		}
		if status >= 200 {
			return status, headers, nil
		}
	}
}

func parseSIPResponse(msg string) (int, map[string]string, error) {
	lines := strings.Split(msg, "\r\n")
	parts := strings.SplitN(lines[0], " ", 3)
	if len(parts) < 2 || parts[0] != "SIP/2.0" {
		return 0, nil, fmt.Errorf("not a SIP response: %q", lines[0])
	}
	status, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q: %w", lines[0], err)
	}
	headers := map[string]string{}
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if ok {
			headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return status, headers, nil
}

// digestAuthorization answers a Digest challenge (RFC 7616 / RFC 8760) with
// qop=auth, using the challenge's algorithm.
func digestAuthorization(challenge, user, password, method, uri string) (string, error) {
	scheme, rest, _ := strings.Cut(challenge, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return "", fmt.Errorf("not a digest challenge: %q", challenge)
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			params[strings.ToLower(k)] = strings.Trim(v, `"`)
		}
	}
	var newHash func() hash.Hash
	switch alg := params["algorithm"]; strings.ToUpper(alg) {
	case "", "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", fmt.Errorf("unsupported digest algorithm %q", alg)
	}
	h := func(s string) string {
		d := newHash()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil))
	}
	if !strings.Contains(params["qop"], "auth") {
		return "", fmt.Errorf("challenge without qop=auth: %q", challenge)
	}
	const nc = "00000001"
	cnonce := randomHex(8)
	ha1 := h(user + ":" + params["realm"] + ":" + password)
	ha2 := h(method + ":" + uri)
	response := h(ha1 + ":" + params["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	alg := params["algorithm"]
	if alg == "" {
		alg = "MD5"
	}
	auth := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%s`,
		user, params["realm"], params["nonce"], uri, response, alg, cnonce, nc)
	if o, ok := params["opaque"]; ok {
		auth += fmt.Sprintf(`, opaque="%s"`, o)
	}
	return auth, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
