package address

import "testing"

func BenchmarkToJID(b *testing.B) {
	benches := []struct {
		name string
		r    Remote
	}{
		{name: "sip", r: sipR("bob", "example.org")},
		{name: "escaped", r: sipR("O'Malley", "example.org:5080")},
		{name: "utf8", r: sipR("Müller", "example.org")},
		{name: "phone", r: phoneR("+14155550100")},
		{name: "short", r: sipR("1001", testAccount)},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ToJID(bb.r, testGateway, testAccount); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFromJID(b *testing.B) {
	benches := []struct{ name, jid string }{
		{name: "sip", jid: `bob\40example.org@sip.example.net/sip`},
		{name: "escaped", jid: `o\27malley\40example.org\3a5080@sip.example.net`},
		{name: "utf8", jid: `müller\40example.org@sip.example.net`},
		{name: "phone", jid: "+14155550100@sip.example.net"},
		{name: "legacy", jid: "bob%example.org@sip.example.net"},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FromJID(bb.jid, testGateway); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
