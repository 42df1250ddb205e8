// Package xdata owns XEP-0004 data forms: the element types, building forms
// and reading submitted values.
//
// Tier 0: pure code, standard library only. It knows nothing of what the
// forms are used for.
package xdata

import (
	"encoding/xml"
	"strings"
)

// NS is the data forms namespace.
const NS = "jabber:x:data"

// Form types.
const (
	TypeForm   = "form"
	TypeSubmit = "submit"
	TypeCancel = "cancel"
	TypeResult = "result"
)

// Field types used by the gateway.
const (
	FieldHidden      = "hidden"
	FieldTextSingle  = "text-single"
	FieldTextPrivate = "text-private"
	FieldListSingle  = "list-single"
	FieldBoolean     = "boolean"
	FieldFixed       = "fixed"
)

// Form is a <x xmlns='jabber:x:data'/> element.
type Form struct {
	XMLName      xml.Name `xml:"jabber:x:data x"`
	Type         string   `xml:"type,attr"`
	Title        string   `xml:"title,omitempty"`
	Instructions string   `xml:"instructions,omitempty"`
	Fields       []Field  `xml:"field"`
}

// Field is one form field.
type Field struct {
	Var      string    `xml:"var,attr,omitempty"`
	Type     string    `xml:"type,attr,omitempty"`
	Label    string    `xml:"label,attr,omitempty"`
	Desc     string    `xml:"desc,omitempty"`
	Required *struct{} `xml:"required"`
	Values   []string  `xml:"value"`
	Options  []Option  `xml:"option"`
}

// Option is a choice of a list field.
type Option struct {
	Label string `xml:"label,attr,omitempty"`
	Value string `xml:"value"`
}

// Required marks a field as required when building forms.
func Required() *struct{} { return &struct{}{} }

// Value returns the first value of the field named v, trimmed, and whether
// the field was present at all.
func (f *Form) Value(v string) (string, bool) {
	for _, fl := range f.Fields {
		if fl.Var == v {
			if len(fl.Values) == 0 {
				return "", true
			}
			return strings.TrimSpace(fl.Values[0]), true
		}
	}
	return "", false
}

// Bool reads a boolean field ("1"/"true" are true, XEP-0004 §3.3).
func (f *Form) Bool(v string) bool {
	s, _ := f.Value(v)
	return s == "1" || s == "true"
}

// FormType returns the value of the hidden FORM_TYPE field.
func (f *Form) FormType() string {
	s, _ := f.Value("FORM_TYPE")
	return s
}
