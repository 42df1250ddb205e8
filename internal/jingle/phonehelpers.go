package jingle

import (
	"encoding/xml"
)

// MarshalJMI encodes m as xml.Marshal would, except that its <reason/> is
// qualified with the Jingle namespace, where XEP-0353 §3.3/§3.5 puts it and
// where JMI's own decoding looks for it. xml.Marshal(m) writes the reason
// unqualified (Reason.MarshalXML drops the namespace, right inside
// <jingle/>), which inside a JMI element puts it in the JMI namespace.
func MarshalJMI(m *JMI) ([]byte, error) {
	// Reason.MarshalXML qualifies <reason/> itself, so a plain marshal
	// keeps it in the Jingle namespace.
	return xml.Marshal(m)
}
