package jingle

import (
	"bytes"
	"encoding/xml"
	"slices"
)

// MarshalJMI encodes m as xml.Marshal would, except that its <reason/> is
// qualified with the Jingle namespace, where XEP-0353 §3.3/§3.5 puts it and
// where JMI's own decoding looks for it. xml.Marshal(m) writes the reason
// unqualified (Reason.MarshalXML drops the namespace, right inside
// <jingle/>), which inside a JMI element puts it in the JMI namespace.
func MarshalJMI(m *JMI) ([]byte, error) {
	bare := *m
	bare.Reason = nil
	b, err := xml.Marshal(&bare)
	if err != nil || m.Reason == nil {
		return b, err
	}
	r, err := xml.Marshal(m.Reason)
	if err != nil {
		return nil, err
	}
	r = append([]byte(`<reason xmlns="`+NS+`"`), bytes.TrimPrefix(r, []byte("<reason"))...)
	end := bytes.LastIndex(b, []byte("</"))
	return slices.Concat(b[:end], r, b[end:]), nil
}
