package jingle

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestMarshalJMIQualifiesTheReason(t *testing.T) {
	m := NewJMI(JMIReject, "S1")
	m.Reason = &Reason{Condition: Busy, Text: "486 Busy Here", SIPStatus: 486}
	b, err := MarshalJMI(m)
	if err != nil {
		t.Fatal(err)
	}
	var got JMI
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind() != JMIReject || got.ID != "S1" || got.Reason == nil || *got.Reason != *m.Reason {
		t.Fatalf("%s decoded as %+v (reason %+v)", b, got, got.Reason)
	}
	if m.Reason == nil {
		t.Fatal("MarshalJMI changed its argument")
	}

	p := NewJMI(JMIPropose, "S2")
	p.Descriptions = []Description{*NewDescription("audio")}
	b, err = MarshalJMI(p)
	if err != nil || strings.Contains(string(b), "reason") {
		t.Fatalf("propose: %s %v", b, err)
	}
	var prop JMI
	if err := xml.Unmarshal(b, &prop); err != nil || prop.Kind() != JMIPropose || len(prop.Media()) != 1 || prop.Reason != nil {
		t.Fatalf("propose %s decoded as %+v, %v", b, prop, err)
	}
}
