package sip

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

func newTestClient(t testing.TB) *sipgo.Client {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(log)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log), sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInbound(t *testing.T) {
	ua := startUA(t, Config{UserAgent: "fargo/0.1"})
	client := newTestClient(t)
	addr := ua.Addr()
	for _, tc := range []struct {
		name      string
		method    sipmsg.RequestMethod
		user      string
		transport string
		want      int
	}{
		{"OPTIONS to the gateway", sipmsg.OPTIONS, "", "UDP", 200},
		{"OPTIONS to a known token", sipmsg.OPTIONS, testToken, "UDP", 200},
		{"OPTIONS to a known token over TCP", sipmsg.OPTIONS, testToken, "TCP", 200},
		{"OPTIONS to an unknown user", sipmsg.OPTIONS, "mallory", "UDP", 404},
		{"INVITE to a known token", sipmsg.INVITE, testToken, "UDP", 405},
		{"MESSAGE to a known token over TCP", sipmsg.MESSAGE, testToken, "TCP", 405},
		{"INVITE to an unknown user", sipmsg.INVITE, "nobody", "UDP", 404},
		{"SUBSCRIBE to a token-shaped unknown", sipmsg.SUBSCRIBE, "tok-carol", "UDP", 404},
		{"user that is no valid token", sipmsg.MESSAGE, "a%20b", "UDP", 404},
		{"REGISTER to the gateway", sipmsg.REGISTER, "", "UDP", 405},
		{"unmatched CANCEL", sipmsg.CANCEL, testToken, "UDP", 481},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sipmsg.NewRequest(tc.method, sipmsg.Uri{Scheme: "sip", User: tc.user, Host: addr.Addr().String(), Port: int(addr.Port())})
			req.SetTransport(tc.transport)
			res, err := client.Do(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tc.want)
			}
			if to := res.To(); to == nil || !to.Params.Has("tag") {
				t.Error("response without To tag")
			}
			if h := res.GetHeader("Server"); h == nil || h.Value() != "fargo/0.1" {
				t.Errorf("Server header %v", h)
			}
			allow := res.GetHeader("Allow")
			if tc.want == 200 || tc.want == 405 {
				if allow == nil || !strings.Contains(allow.Value(), "OPTIONS") {
					t.Errorf("Allow %v", allow)
				}
			}
			if tc.want == 200 {
				if h := res.GetHeader("Accept"); h == nil || h.Value() != "application/sdp" {
					t.Errorf("Accept %v", h)
				}
			}
		})
	}
}

// TestInboundMalformed throws broken messages at both listeners and checks
// the UA keeps answering.
func TestInboundMalformed(t *testing.T) {
	ua := startUA(t, Config{})
	addr := ua.Addr().String()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	for _, m := range []string{
		"garbage",
		"\r\n\r\n",
		"OPTIONS sip:x SIP/2.0\r\n\r\n",
		"OPTIONS SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK1\r\n\r\n",
		"INVITE sip:" + testToken + "@" + addr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK2\r\nContent-Length: 99999\r\n\r\n",
		"MESSAGE sip:" + testToken + "@" + addr + " SIP/2.0\r\nVia: garbage\r\nCSeq: x\r\nFrom: <<<\r\nTo: >\r\nContact: ,,,\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bKnomatch\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
		strings.Repeat("A", 65000),
	} {
		if _, err := conn.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	tcp, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(tcp, "OPTIONS sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n\x00\x01\x02")
	tcp.Close()

	// A request without From, To or Call-ID is still answered, not crashed on.
	fmt.Fprintf(conn, "OPTIONS sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKbare;rport\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n", testToken, addr, local)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer after malformed input: %v", err)
	}
	if !strings.HasPrefix(line, "SIP/2.0 ") {
		t.Errorf("answer %q", line)
	}

	// And a proper client still gets its 200.
	client := newTestClient(t)
	req := sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: ua.Addr().Addr().String(), Port: int(ua.Addr().Port())})
	res, err := client.Do(t.Context(), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS after malformed input: %v %v", res, err)
	}
}
