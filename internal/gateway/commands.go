package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"strconv"
	"sync"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
	"fargo.dev/fargo/internal/xdata"
)

// Ad-hoc command nodes (XEP-0050), for clients whose XEP-0077 support for
// gateways is limited.
const (
	nodeRegister   = "register"
	nodeUnregister = "unregister"
	nodeStatus     = "status"
)

type commandInfo struct{ node, name string }

var commands = []commandInfo{
	{nodeRegister, "Register or change your SIP account"},
	{nodeUnregister, "Remove your SIP account"},
	{nodeStatus, "SIP account status"},
}

func commandByNode(node string) (commandInfo, bool) {
	for _, c := range commands {
		if c.node == node {
			return c, true
		}
	}
	return commandInfo{}, false
}

type commandElement struct {
	XMLName   xml.Name    `xml:"http://jabber.org/protocol/commands command"`
	Node      string      `xml:"node,attr"`
	SessionID string      `xml:"sessionid,attr,omitempty"`
	Action    string      `xml:"action,attr,omitempty"`
	Status    string      `xml:"status,attr,omitempty"`
	Actions   *actions    `xml:"actions"`
	Notes     []note      `xml:"note"`
	Form      *xdata.Form `xml:"jabber:x:data x"`
}

type actions struct {
	Execute  string    `xml:"execute,attr,omitempty"`
	Complete *struct{} `xml:"complete"`
}

type note struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// Command statuses (XEP-0050 §6).
const (
	statusExecuting = "executing"
	statusCompleted = "completed"
	statusCanceled  = "canceled"
)

// commandSessions remembers multi-stage commands: which user started which
// node, so a sessionid cannot be used by anyone else.
type commandSessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cmdSession
}

type cmdSession struct {
	jid, node string
	expires   time.Time
}

func newCommandSessions(ttl time.Duration) *commandSessions {
	return &commandSessions{ttl: ttl, m: make(map[string]cmdSession)}
}

func (c *commandSessions) open(jid, node string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, s := range c.m {
		if now.After(s.expires) {
			delete(c.m, k)
		}
	}
	c.m[id] = cmdSession{jid: jid, node: node, expires: now.Add(c.ttl)}
	return id
}

func (c *commandSessions) valid(id, jid, node string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	return ok && s.jid == jid && s.node == node && time.Now().Before(s.expires)
}

func (c *commandSessions) close(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

var errBadSession = stanza.Error{Type: stanza.TypeModify, Condition: stanza.BadRequest, Text: "unknown or expired command session",
	App: []byte(`<bad-sessionid xmlns="http://jabber.org/protocol/commands"/>`)}

func (g *Gateway) handleCommand(ctx context.Context, r *iqRequest) {
	var c commandElement
	if _, err := r.Decode(nsCommands, "command", &c); err != nil {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "malformed command: %v", err))
		return
	}
	if _, ok := commandByNode(c.Node); !ok {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeCancel, stanza.ItemNotFound, "no command %q", c.Node))
		return
	}
	g.stats.commands.Add(1)
	if c.SessionID != "" && !g.sessions.valid(c.SessionID, r.bare, c.Node) {
		e := errBadSession
		g.replyError(ctx, r.Stanza, &e)
		return
	}
	if c.Action == "cancel" || (c.Form != nil && c.Form.Type == xdata.TypeCancel) {
		g.sessions.close(c.SessionID)
		g.reply(ctx, r.Stanza, commandElement{Node: c.Node, SessionID: c.SessionID, Status: statusCanceled})
		return
	}
	switch c.Action {
	case "", "execute", "complete", "next":
	default:
		g.replyError(ctx, r.Stanza, &stanza.Error{Type: stanza.TypeModify, Condition: stanza.BadRequest, Text: "action " + c.Action + " is not offered",
			App: []byte(`<bad-action xmlns="http://jabber.org/protocol/commands"/>`)})
		return
	}
	switch c.Node {
	case nodeRegister:
		g.commandRegister(ctx, r, &c)
	case nodeUnregister:
		g.commandUnregister(ctx, r, &c)
	case nodeStatus:
		g.commandStatus(ctx, r)
	}
}

func (g *Gateway) commandRegister(ctx context.Context, r *iqRequest, c *commandElement) {
	if !g.domainAllowed(r.from.Domainpart()) {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeCancel, stanza.NotAllowed, "users of %s may not register with this gateway", r.from.Domainpart()))
		return
	}
	if c.Form == nil || c.Form.Type != xdata.TypeSubmit {
		cur, serr := g.currentAccount(ctx, r.bare)
		if serr != nil {
			g.replyError(ctx, r.Stanza, serr)
			return
		}
		sid := g.sessions.open(r.bare, c.Node)
		g.reply(ctx, r.Stanza, registerStep(sid, cur, ""))
		return
	}
	sid := c.SessionID
	if sid == "" {
		sid = g.sessions.open(r.bare, c.Node)
	}
	in, serr := parseAccountForm(c.Form)
	if serr != nil {
		g.reply(ctx, r.Stanza, registerStep(sid, nil, serr.Text))
		return
	}
	u := g.user(r.bare)
	req := r.Stanza
	u.post(func() {
		isNew, err := u.register(in)
		if err != nil {
			g.reply(u.ctx, req, registerStep(sid, u.account, err.Text))
			return
		}
		g.sessions.close(sid)
		g.reply(u.ctx, req, commandElement{Node: nodeRegister, SessionID: sid, Status: statusCompleted,
			Notes: []note{{Type: "info", Text: "SIP account sip:" + u.account.SIPAddress + " registered. The gateway logs you in to SIP whenever you are online."}}})
		u.afterRegister(isNew)
	})
}

// registerStep is the executing stage of the register command, with an
// error note when the last submission was refused.
func registerStep(sid string, cur *store.Account, errText string) commandElement {
	c := commandElement{Node: nodeRegister, SessionID: sid, Status: statusExecuting,
		Actions: &actions{Execute: "complete", Complete: &struct{}{}}, Form: accountForm(xdata.TypeForm, cur)}
	if errText != "" {
		c.Notes = []note{{Type: "error", Text: errText}}
	}
	return c
}

func (g *Gateway) commandUnregister(ctx context.Context, r *iqRequest, c *commandElement) {
	u := g.existingUser(r.bare)
	if u == nil {
		g.reply(ctx, r.Stanza, completed(c.Node, c.SessionID, "error", "You have no SIP account registered with this gateway."))
		return
	}
	req := r.Stanza
	if c.Form == nil || c.Form.Type != xdata.TypeSubmit {
		u.post(func() {
			if u.account == nil {
				g.reply(u.ctx, req, completed(nodeUnregister, "", "error", "You have no SIP account registered with this gateway."))
				return
			}
			sid := g.sessions.open(u.jid, nodeUnregister)
			g.reply(u.ctx, req, commandElement{Node: nodeUnregister, SessionID: sid, Status: statusExecuting,
				Actions: &actions{Execute: "complete", Complete: &struct{}{}},
				Form: &xdata.Form{Type: xdata.TypeForm, Title: "Remove SIP account",
					Instructions: "Remove sip:" + u.account.SIPAddress + " from the gateway? Its password is deleted and you are logged out of SIP.",
					Fields:       []xdata.Field{{Var: "confirm", Type: xdata.FieldBoolean, Label: "Remove the account", Required: xdata.Required(), Values: []string{"0"}}}}})
		})
		return
	}
	confirm := c.Form.Bool("confirm")
	sid := c.SessionID
	u.post(func() {
		g.sessions.close(sid)
		if !confirm {
			g.reply(u.ctx, req, completed(nodeUnregister, sid, "info", "Nothing was changed."))
			return
		}
		if u.account == nil {
			g.reply(u.ctx, req, completed(nodeUnregister, sid, "error", "You have no SIP account registered with this gateway."))
			return
		}
		aor := u.account.SIPAddress
		if err := u.removeAccount(); err != nil {
			g.replyError(u.ctx, req, stanza.NewError(stanza.TypeWait, stanza.InternalServerError, "could not delete the account"))
			return
		}
		g.reply(u.ctx, req, completed(nodeUnregister, sid, "info", "SIP account sip:"+aor+" removed."))
		u.afterRemove()
	})
}

func completed(node, sid, noteType, text string) commandElement {
	return commandElement{Node: node, SessionID: sid, Status: statusCompleted, Notes: []note{{Type: noteType, Text: text}}}
}

func (g *Gateway) commandStatus(ctx context.Context, r *iqRequest) {
	u := g.existingUser(r.bare)
	if u == nil {
		g.reply(ctx, r.Stanza, completed(nodeStatus, "", "info", "No SIP account registered. Use the register command."))
		return
	}
	req := r.Stanza
	u.post(func() { g.reply(u.ctx, req, u.statusReport()) })
}

// statusReport describes the account and its SIP registration.
func (u *user) statusReport() commandElement {
	if u.account == nil {
		return completed(nodeStatus, "", "info", "No SIP account registered. Use the register command.")
	}
	st := u.regState
	text := "sip:" + u.account.SIPAddress + ": " + string(st.Phase)
	noteType := "info"
	if st.Phase == PhaseFailed {
		noteType = "warn"
		text += " (" + errText(st.Err) + ")"
	}
	fields := []xdata.Field{
		{Var: "sip-address", Label: "SIP address", Values: []string{"sip:" + u.account.SIPAddress}},
		{Var: "sip-transport", Label: "Transport", Values: []string{string(u.account.Transport)}},
		{Var: "registration-state", Label: "SIP registration", Values: []string{string(st.Phase)}},
		{Var: "online-resources", Label: "Online XMPP resources", Values: []string{strconv.Itoa(len(u.resources))}},
	}
	add := func(v, label, val string) {
		if val != "" {
			fields = append(fields, xdata.Field{Var: v, Label: label, Values: []string{val}})
		}
	}
	add("sip-registrar", "Registrar", u.account.Registrar)
	add("sip-outbound-proxy", "Outbound proxy", u.account.OutboundProxy)
	if st.Phase == PhaseRegistered && !st.ExpiresAt.IsZero() {
		add("expires", "Registration expires", st.ExpiresAt.UTC().Format(time.RFC3339))
	}
	add("last-error", "Last error", errText(st.Err))
	if st.Phase == PhaseFailed && !st.RetryAt.IsZero() {
		add("retry-at", "Next attempt", st.RetryAt.UTC().Format(time.RFC3339))
	}
	return commandElement{Node: nodeStatus, Status: statusCompleted, Notes: []note{{Type: noteType, Text: text}},
		Form: &xdata.Form{Type: xdata.TypeResult, Title: "SIP account status", Fields: fields}}
}
