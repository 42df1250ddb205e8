package testkit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Captured from kamcmd ul.dump (Kamailio 5.6.3, use_domain off), with a
// second AoR and a second contact added by the same REGISTERs.
const ulDumpSample = `{
	Domains: {
		Domain: {
			Domain: location
			Size: 1024
			AoRs: {
				Info: {
					AoR: alice
					HashID: 1834153949
					Contacts: {
						Contact: {
							Address: sip:alice@127.0.0.1:45071;transport=UDP
							Expires: 300
							Q: -1
							Call-ID: 1-12407@127.0.0.1
							CSeq: 2
							User-Agent: sipp-lab
							Received: [not set]
							Path: [not set]
							State: CS_NEW
							Flags: 0
							CFlags: 0
							Socket: udp:127.0.0.1:45060
							Methods: -1
							Ruid: uloc-6b05402f-2ffc-1
							Instance: [not set]
							Reg-Id: 0
							Server-Id: 0
							Tcpconn-Id: -1
							Keepalive: 0
							Last-Keepalive: 1795506227
							KA-Roundtrip: 0
							Last-Modified: 1795506227
						}
						Contact: {
							Address: sip:alice@127.0.0.1:45072;transport=tcp
							Expires: expired
							Q: 500
							Call-ID: abc@127.0.0.1
							CSeq: 7
							User-Agent: fargo: gateway/1.0
							Received: sip:127.0.0.1:51000
							Path: [not set]
							Socket: tcp:127.0.0.1:45060
							Instance: <urn:uuid:00000000-0000-0000-0000-000000000001>
							Reg-Id: 1
							Last-Modified: 1795506300
						}
					}
				}
				Info: {
					AoR: bob@sip.example.org
					HashID: 42
					Contacts: {
						Contact: {
							Address: sip:bob@127.0.0.1:5090
							Expires: 60
							Q: -1
							Call-ID: b1
							CSeq: 1
							User-Agent: [not set]
							Last-Modified: 1795506000
						}
					}
				}
			}
			Stats: {
				Records: 2
				Max-Slots: 1
			}
		}
	}
}
`

func TestParseULDump(t *testing.T) {
	got, err := parseULDump(ulDumpSample)
	if err != nil {
		t.Fatal(err)
	}
	want := []Contact{
		{AOR: "alice", URI: "sip:alice@127.0.0.1:45071;transport=UDP", Expires: 300 * time.Second, ExpiresRaw: "300", Q: -1,
			CallID: "1-12407@127.0.0.1", CSeq: 2, UserAgent: "sipp-lab", Socket: "udp:127.0.0.1:45060", LastModified: 1795506227},
		{AOR: "alice", URI: "sip:alice@127.0.0.1:45072;transport=tcp", ExpiresRaw: "expired", Q: 500, CallID: "abc@127.0.0.1", CSeq: 7,
			UserAgent: "fargo: gateway/1.0", Received: "sip:127.0.0.1:51000", Socket: "tcp:127.0.0.1:45060",
			Instance: "<urn:uuid:00000000-0000-0000-0000-000000000001>", RegID: 1, LastModified: 1795506300},
		{AOR: "bob@sip.example.org", URI: "sip:bob@127.0.0.1:5090", Expires: time.Minute, ExpiresRaw: "60", Q: -1, CallID: "b1", CSeq: 1, LastModified: 1795506000},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parseULDump mismatch (-want +got):\n%s", diff)
	}
}

func TestParseULDumpEmptyAndBroken(t *testing.T) {
	got, err := parseULDump("{\n\tDomains: {\n\t\tDomain: {\n\t\t\tAoRs: {\n\t\t\t}\n\t\t}\n\t}\n}\n")
	if err != nil || len(got) != 0 {
		t.Fatalf("empty table: %v, %v", got, err)
	}
	if _, err := parseULDump("AoR: alice\nContact: {\nCSeq: two\n}\n"); err == nil {
		t.Fatal("a non-numeric CSeq was accepted")
	}
	if _, err := parseULDump("AoR: alice\nContact: {\nCSeq: 2\n"); err == nil {
		t.Fatal("an unterminated contact was accepted")
	}
}

func TestAORMatches(t *testing.T) {
	for _, tc := range []struct {
		key, want string
		match     bool
	}{
		{"alice", "alice", true},
		{"alice", "alice@sip.example.org", true},
		{"alice", "sip:alice@sip.example.org", true},
		{"alice", "sip:alice@sip.example.org;transport=udp", true},
		{"alice@sip.example.org", "alice", true},
		{"alice@sip.example.org", "sip:alice@SIP.example.org", true},
		{"alice@sip.example.org", "alice@other.org", false},
		{"alice", "alicia", false},
		{"bob", "sip:alice@sip.example.org", false},
	} {
		if got := aorMatches(tc.key, tc.want); got != tc.match {
			t.Errorf("aorMatches(%q, %q) = %v, want %v", tc.key, tc.want, got, tc.match)
		}
	}
}
