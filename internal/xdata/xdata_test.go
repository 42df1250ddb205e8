package xdata

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestValuesOfASubmittedForm(t *testing.T) {
	var f Form
	raw := `<x xmlns="jabber:x:data" type="submit">
<field var="FORM_TYPE" type="hidden"><value>jabber:iq:register</value></field>
<field var="username"><value>  alice@example.org </value></field>
<field var="empty"/>
<field var="confirm"><value>true</value></field>
<field var="no"><value>0</value></field></x>`
	if err := xml.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	if f.FormType() != "jabber:iq:register" {
		t.Errorf("FORM_TYPE %q", f.FormType())
	}
	if v, ok := f.Value("username"); !ok || v != "alice@example.org" {
		t.Errorf("username %q %v", v, ok)
	}
	if v, ok := f.Value("empty"); !ok || v != "" {
		t.Errorf("empty field: %q %v", v, ok)
	}
	if _, ok := f.Value("missing"); ok {
		t.Error("missing field reported present")
	}
	if !f.Bool("confirm") || f.Bool("no") || f.Bool("missing") {
		t.Error("boolean fields misread")
	}
}

func TestFormMarshal(t *testing.T) {
	f := Form{Type: TypeForm, Title: "T", Fields: []Field{
		{Var: "password", Type: FieldTextPrivate, Required: Required()},
		{Var: "t", Type: FieldListSingle, Values: []string{"udp"}, Options: []Option{{Label: "UDP", Value: "udp"}}},
	}}
	b, err := xml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`<x xmlns="jabber:x:data" type="form">`, `<required></required>`, `<option label="UDP"><value>udp</value></option>`} {
		if !strings.Contains(s, want) {
			t.Errorf("form lacks %s: %s", want, s)
		}
	}
}
