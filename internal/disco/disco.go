// Package disco owns the wire types of service discovery (XEP-0030
// disco#info and disco#items) and entity capabilities (XEP-0115): the
// identities and features an entity announces and the verification
// string its presence carries, which clients use to decide whether to show
// a call button.
//
// Tier 0: pure, it imports only the standard library.
package disco

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"slices"
	"strings"
)

// Namespaces of the protocols this package encodes.
const (
	NSInfo  = "http://jabber.org/protocol/disco#info"
	NSItems = "http://jabber.org/protocol/disco#items"
	NSCaps  = "http://jabber.org/protocol/caps"
)

// Identity is a disco#info <identity/>.
type Identity struct {
	Category string `xml:"category,attr"`
	Type     string `xml:"type,attr"`
	Lang     string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Name     string `xml:"name,attr,omitempty"`
}

// Feature is a disco#info <feature/>.
type Feature struct {
	Var string `xml:"var,attr"`
}

// Info is a disco#info <query/>, request or result.
type Info struct {
	XMLName    xml.Name   `xml:"http://jabber.org/protocol/disco#info query"`
	Node       string     `xml:"node,attr,omitempty"`
	Identities []Identity `xml:"identity"`
	Features   []Feature  `xml:"feature"`
}

// NewInfo is a disco#info result for node.
func NewInfo(node string, ids []Identity, features []string) Info {
	in := Info{Node: node, Identities: ids, Features: make([]Feature, len(features))}
	for i, f := range features {
		in.Features[i] = Feature{Var: f}
	}
	return in
}

// Item is a disco#items <item/>.
type Item struct {
	JID  string `xml:"jid,attr"`
	Node string `xml:"node,attr,omitempty"`
	Name string `xml:"name,attr,omitempty"`
}

// Items is a disco#items <query/>, request or result.
type Items struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#items query"`
	Node    string   `xml:"node,attr,omitempty"`
	Items   []Item   `xml:"item"`
}

// Caps is the XEP-0115 <c/> of a presence.
type Caps struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/caps c"`
	Hash    string   `xml:"hash,attr"`
	Node    string   `xml:"node,attr"`
	Ver     string   `xml:"ver,attr"`
}

// CapsVer is the XEP-0115 §5.1 verification string (sha-1) of a
// disco#info result without data forms.
func CapsVer(ids []Identity, features []string) string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, s := range slices.Concat(keys, slices.Sorted(slices.Values(features))) {
		b.WriteString(s)
		b.WriteByte('<')
	}
	sum := sha1.Sum([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}
