package testkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SIPDomain is the lab registrar's domain (KAM_DOMAIN).
const SIPDomain = "sip.example.org"

// Digest algorithms the lab Kamailio can challenge with (KAM_ALGORITHM).
const (
	DigestMD5    = "MD5"
	DigestSHA256 = "SHA-256"
)

// pollInterval is how often WaitContacts reads the location table.
const pollInterval = 100 * time.Millisecond

// KamailioConfig chooses the port (UDP and TCP) and digest algorithm of a
// Kamailio instance.
type KamailioConfig struct {
	Port int
	// Algorithm of the digest challenges: DigestMD5 (default) or DigestSHA256.
	Algorithm string
	// Env adds KEY=value settings for scripts/peers/kamailio.sh
	// (e.g. KAM_DEBUG=1 to log every request).
	Env []string
}

// Kamailio is a running lab SIP registrar/proxy with digest auth (qop=auth).
// It keeps registrations in memory only: Restart forgets them.
type Kamailio struct {
	Addr      string // 127.0.0.1:port, UDP and TCP
	Port      int
	Domain    string // "sip.example.org"
	Algorithm string // digest algorithm of its challenges
	Users     map[string]User
	RunDir    string

	p *peer
}

// Contact is one binding in Kamailio's location table (fields of ul.dump).
type Contact struct {
	AOR     string // the table's key: "alice", or "alice@sip.example.org" with use_domain
	URI     string // the Contact address, e.g. sip:alice@127.0.0.1:5070;transport=udp
	Expires time.Duration
	// ExpiresRaw is Kamailio's value as printed: seconds left, or
	// "permanent", "expired", "deleted" (then Expires is 0).
	ExpiresRaw   string
	Q            int // -1 when not set
	CallID       string
	CSeq         int
	UserAgent    string
	Received     string // source address when it differs from the contact (NAT), else ""
	Path         string
	Socket       string // Kamailio's socket that received the REGISTER, e.g. udp:127.0.0.1:5060
	Instance     string // +sip.instance (RFC 5626), else ""
	RegID        int
	LastModified int64 // unix seconds
}

// StartKamailio starts Kamailio 5.6 on 127.0.0.1:cfg.Port (UDP and TCP)
// with users alice/alicepw, bob/bobpw, carol/carolpw and echo/echopw.
func StartKamailio(t testing.TB, cfg KamailioConfig) *Kamailio {
	t.Helper()
	requirePeer(t, "kamailio", "kamailio", "kamcmd", "sqlite3", "ss")
	alg := cfg.Algorithm
	if alg == "" {
		alg = DigestMD5
	}
	if alg != DigestMD5 && alg != DigestSHA256 {
		t.Fatalf("kamailio: algorithm %q: want %q or %q", alg, DigestMD5, DigestSHA256)
	}
	env := append([]string{"KAM_PORT=" + strconv.Itoa(cfg.Port), "KAM_ALGORITHM=" + alg}, cfg.Env...)
	p := newPeer(t, "kamailio", env, []int{cfg.Port}, []int{cfg.Port}, "kamailio/kamailio.log")
	users := map[string]User{}
	for _, u := range []User{{Name: "alice", Password: "alicepw"}, {Name: "bob", Password: "bobpw"}, {Name: "carol", Password: "carolpw"}, {Name: "echo", Password: "echopw"}} {
		u.Address = "sip:" + u.Name + "@" + SIPDomain
		users[u.Name] = u
	}
	k := &Kamailio{Addr: addr(cfg.Port), Port: cfg.Port, Domain: SIPDomain, Algorithm: alg, Users: users, RunDir: p.runDir(), p: p}
	p.start(t)
	return k
}

// Start starts Kamailio again after Stop (no-op while it runs).
func (k *Kamailio) Start(t testing.TB) { t.Helper(); k.p.start(t) }

// Stop stops Kamailio; its registrations are lost.
func (k *Kamailio) Stop(t testing.TB) { t.Helper(); k.p.stop(t) }

// Restart stops and starts Kamailio with an empty location table, as a
// registrar restart would: clients must register again.
func (k *Kamailio) Restart(t testing.TB) {
	t.Helper()
	k.p.stop(t)
	k.p.start(t)
}

// AddUser adds a subscriber while Kamailio runs (auth_db reads the table per
// request, so no restart is needed).
func (k *Kamailio) AddUser(t testing.TB, name, password string) {
	t.Helper()
	if out, err := k.p.run(context.Background(), "adduser", name, password); err != nil {
		t.Fatalf("kamailio adduser %s: %v\n%s", name, err, out)
	}
	k.Users[name] = User{Name: name, Password: password, Address: "sip:" + name + "@" + k.Domain}
}

// Contacts returns the bindings of aor, given as "alice",
// "alice@sip.example.org" or "sip:alice@sip.example.org"; none is not an error.
func (k *Kamailio) Contacts(ctx context.Context, aor string) ([]Contact, error) {
	kamcmd, err := lookProgram("kamcmd")
	if err != nil {
		return nil, err
	}
	sock := "unix:" + filepath.Join(k.RunDir, "kamailio_ctl")
	out, err := exec.CommandContext(ctx, kamcmd, "-s", sock, "ul.dump").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("kamcmd ul.dump: %w: %s", err, strings.TrimSpace(string(out)))
	}
	all, err := parseULDump(string(out))
	if err != nil {
		return nil, err
	}
	var found []Contact
	for _, c := range all {
		if aorMatches(c.AOR, aor) {
			found = append(found, c)
		}
	}
	return found, nil
}

// WaitContacts polls Contacts every 100 ms until done accepts them, and
// returns them; on timeout the error shows the last contacts seen.
func (k *Kamailio) WaitContacts(ctx context.Context, aor string, done func([]Contact) bool) ([]Contact, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last []Contact
	var lastErr error
	for {
		cs, err := k.Contacts(ctx, aor)
		if err == nil && done(cs) {
			return cs, nil
		}
		if err == nil {
			last = cs
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("contacts of %s: condition not met: %w (last contacts %+v, last error %v)", aor, ctx.Err(), last, lastErr)
		case <-tick.C:
		}
	}
}

// aorMatches compares a location key with the AOR a test asked for. With
// use_domain off (our config) Kamailio keys by user only, so only the user
// parts are compared unless both sides carry a domain.
func aorMatches(key, want string) bool {
	want = strings.TrimPrefix(strings.TrimPrefix(want, "sips:"), "sip:")
	want, _, _ = strings.Cut(want, ";")
	kUser, kDomain, kHas := strings.Cut(key, "@")
	wUser, wDomain, wHas := strings.Cut(want, "@")
	if kUser != wUser {
		return false
	}
	return !kHas || !wHas || strings.EqualFold(kDomain, wDomain)
}

// parseULDump reads kamcmd's rendering of ul.dump: nested "Name: {" blocks
// with "Key: value" lines; each "Contact: {" block of an "AoR: x" is one
// binding.
func parseULDump(out string) ([]Contact, error) {
	var (
		contacts []Contact
		aor      string
		cur      *Contact
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "Contact: {":
			cur = &Contact{AOR: aor, Q: -1}
			continue
		case line == "}":
			if cur != nil {
				contacts = append(contacts, *cur)
				cur = nil
			}
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		if cur == nil {
			if key == "AoR" {
				aor = val
			}
			continue
		}
		if err := cur.set(key, val); err != nil {
			return nil, fmt.Errorf("ul.dump of %s: %w", aor, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ul.dump: %w", err)
	}
	if cur != nil {
		return nil, errors.New("ul.dump: unterminated Contact block")
	}
	return contacts, nil
}

func (c *Contact) set(key, val string) error {
	if val == "[not set]" {
		val = ""
	}
	var err error
	switch key {
	case "Address":
		c.URI = val
	case "Expires":
		c.ExpiresRaw = val
		if secs, perr := strconv.Atoi(val); perr == nil {
			c.Expires = time.Duration(secs) * time.Second
		}
	case "Q":
		c.Q, err = strconv.Atoi(val)
	case "Call-ID":
		c.CallID = val
	case "CSeq":
		c.CSeq, err = strconv.Atoi(val)
	case "User-Agent":
		c.UserAgent = val
	case "Received":
		c.Received = val
	case "Path":
		c.Path = val
	case "Socket":
		c.Socket = val
	case "Instance":
		c.Instance = val
	case "Reg-Id":
		c.RegID, err = strconv.Atoi(val)
	case "Last-Modified":
		c.LastModified, err = strconv.ParseInt(val, 10, 64)
	}
	if err != nil {
		return fmt.Errorf("field %s=%q: %w", key, val, err)
	}
	return nil
}
