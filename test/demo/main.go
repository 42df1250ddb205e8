// Command demo is the client side of scripts/demo-phones.sh (`fargo demo`,
// which scripts/demo.sh runs, is the short demo; fargodemo_test.go runs
// it in CI). It plays an XMPP user, alice, against real servers: she registers her SIP account with
// the gateway, comes online (the gateway REGISTERs her), adds a SIP
// contact, calls a real SIP phone (baresip) through the gateway and is
// called back by it, with audio both ways, then goes offline (the gateway
// un-REGISTERs her). Every step prints what was seen, and the calls print
// a transcript of their signalling on both sides. It is not part of the
// gateway.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"fargo.dev/fargo/internal/testkit"
)

type config struct {
	c2s, jid, password, gateway string
	sipAddr, sipPassword        string
	registrar, ulCmd            string
	phone                       string // the SIP phone's address of record (baresip)
	phoneDir                    string // its runtime directory (baresip.log, rec/)
	phoneCons                   int    // its console port
	phoneSIP                    int    // its SIP port, to tell its messages apart in the trace
	echo                        string // the SIP echo service's address of record
}

// demo is the state the steps share.
type demo struct {
	cfg   config
	ctx   context.Context
	c     *testkit.Client
	phone *testkit.Phone
	tr    *transcript
	step  int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.c2s, "c2s", "127.0.0.1:7222", "XMPP client address")
	flag.StringVar(&cfg.jid, "jid", "alice@example.test", "XMPP account")
	flag.StringVar(&cfg.password, "password", "alicepass", "XMPP password")
	flag.StringVar(&cfg.gateway, "gateway", "sip.example.test", "gateway component domain")
	flag.StringVar(&cfg.sipAddr, "sip", "alice@sip.example.org", "SIP address to register")
	flag.StringVar(&cfg.sipPassword, "sip-password", "alicepw", "SIP password")
	flag.StringVar(&cfg.registrar, "registrar", "127.0.0.1:7060", "SIP registrar")
	flag.StringVar(&cfg.ulCmd, "ul", "scripts/peers/kamailio.sh ul brief", "command printing the registrar's location table")
	flag.StringVar(&cfg.phone, "phone", "bob@sip.example.org", "the SIP phone to call (baresip, auto-answering)")
	flag.StringVar(&cfg.phoneDir, "phone-dir", "/tmp/fargo-demo/baresip/bob", "the SIP phone's runtime directory")
	flag.IntVar(&cfg.phoneCons, "phone-console", 7602, "the SIP phone's console port")
	flag.IntVar(&cfg.phoneSIP, "phone-sip-port", 7600, "the SIP phone's SIP port")
	flag.StringVar(&cfg.echo, "echo", "echo@sip.example.org", "the SIP echo service (fargo echo-sip) to call through the relay")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := &demo{cfg: cfg, ctx: ctx, tr: newTranscript()}
	if err := d.run(); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed at step %d: %v\n", d.step, err)
		os.Exit(1)
	}
}

func (d *demo) run() error {
	if err := d.login(); err != nil {
		return err
	}
	defer d.c.Close()
	for _, step := range []func() error{
		d.register, d.showRegistration, d.addContact, d.callOut, d.callIn, d.callEcho, d.goOffline,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	say("\ndemo finished: SIP registration follows presence, and calls work both ways through the gateway, and its relay joins ICE + DTLS-SRTP to plain RTP")
	return nil
}

// say numbers a new step.
func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Printf("\n%d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }
