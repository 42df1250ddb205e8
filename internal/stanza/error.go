package stanza

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// ErrorType is the type attribute of a stanza error (RFC 6120 §8.3.2).
type ErrorType string

// Error types of RFC 6120 §8.3.2.
const (
	TypeAuth     ErrorType = "auth"
	TypeCancel   ErrorType = "cancel"
	TypeContinue ErrorType = "continue"
	TypeModify   ErrorType = "modify"
	TypeWait     ErrorType = "wait"
)

// Condition is a defined condition of RFC 6120 §8.3.3.
type Condition string

// Defined conditions used by the gateway.
const (
	BadRequest            Condition = "bad-request"
	Conflict              Condition = "conflict"
	FeatureNotImplemented Condition = "feature-not-implemented"
	Forbidden             Condition = "forbidden"
	Gone                  Condition = "gone"
	InternalServerError   Condition = "internal-server-error"
	ItemNotFound          Condition = "item-not-found"
	JIDMalformed          Condition = "jid-malformed"
	NotAcceptable         Condition = "not-acceptable"
	NotAllowed            Condition = "not-allowed"
	NotAuthorized         Condition = "not-authorized"
	PolicyViolation       Condition = "policy-violation"
	RecipientUnavailable  Condition = "recipient-unavailable"
	Redirect              Condition = "redirect"
	RegistrationRequired  Condition = "registration-required"
	RemoteServerNotFound  Condition = "remote-server-not-found"
	RemoteServerTimeout   Condition = "remote-server-timeout"
	ResourceConstraint    Condition = "resource-constraint"
	ServiceUnavailable    Condition = "service-unavailable"
	SubscriptionRequired  Condition = "subscription-required"
	UndefinedCondition    Condition = "undefined-condition"
	UnexpectedRequest     Condition = "unexpected-request"
)

// Error is a stanza error. It implements error, so gateway code can return
// it up to the point where the reply is written, and it marshals to the
// <error/> element of RFC 6120 §8.3.
type Error struct {
	Type      ErrorType
	Condition Condition
	Text      string
	// App is an optional application-specific condition element, already
	// serialized (for example <unknown-session xmlns='urn:xmpp:jingle:errors:1'/>).
	App []byte
}

// NewError builds an error with the given type, condition and text.
func NewError(t ErrorType, c Condition, text string) *Error {
	return &Error{Type: t, Condition: c, Text: text}
}

// Errorf builds an error whose text is formatted.
func Errorf(t ErrorType, c Condition, format string, args ...any) *Error {
	return &Error{Type: t, Condition: c, Text: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("stanza error %s/%s", e.Type, e.Condition)
	}
	return fmt.Sprintf("stanza error %s/%s: %s", e.Type, e.Condition, e.Text)
}

// Bytes serializes e as <error type='…'><condition xmlns='…stanzas'/><text/>app</error>.
func (e *Error) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(`<error type="`)
	_ = xml.EscapeText(&b, []byte(e.Type))
	b.WriteString(`"><`)
	b.WriteString(string(e.Condition))
	b.WriteString(` xmlns="` + NSStanzas + `"/>`)
	if e.Text != "" {
		b.WriteString(`<text xmlns="` + NSStanzas + `">`)
		_ = xml.EscapeText(&b, []byte(e.Text))
		b.WriteString(`</text>`)
	}
	b.Write(e.App)
	b.WriteString(`</error>`)
	return b.Bytes()
}

// wireError is the decoding form of <error/>.
type wireError struct {
	Type  string `xml:"type,attr"`
	Inner []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

// ParseError extracts the stanza error carried by an error stanza, or nil if
// s is not of type error or carries no <error/>.
func ParseError(s *Stanza) *Error {
	if s.Type != "error" {
		return nil
	}
	var w wireError
	found, err := s.Decode("", "error", &w)
	if !found || err != nil {
		if found2, err2 := s.Decode(NSComponent, "error", &w); !found2 || err2 != nil {
			return &Error{Type: TypeCancel, Condition: UndefinedCondition}
		}
	}
	e := &Error{Type: ErrorType(w.Type), Condition: UndefinedCondition}
	for _, c := range w.Inner {
		if c.XMLName.Space != NSStanzas {
			continue
		}
		if c.XMLName.Local == "text" {
			e.Text = c.Text
			continue
		}
		e.Condition = Condition(c.XMLName.Local)
	}
	return e
}
