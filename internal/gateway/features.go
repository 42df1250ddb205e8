package gateway

import (
	"context"
	"sync"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// featureCache remembers the disco#info features behind a caps node#ver
// (XEP-0115): one query per client version, not per call.
type featureCache struct {
	mu sync.Mutex
	m  map[string][]string
}

func newFeatureCache() *featureCache { return &featureCache{m: make(map[string][]string)} }

func (f *featureCache) get(key string) ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[key]
	return v, ok
}

func (f *featureCache) put(key string, v []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) > 10000 { // bounded: caps strings come from clients
		clear(f.m)
	}
	f.m[key] = v
}

// capsOf reads the XEP-0115 node#ver of a presence, "" without caps.
func capsOf(s *stanza.Stanza) string {
	var c capsElement
	if ok, err := s.Decode(nsCaps, "c", &c); !ok || err != nil || c.Ver == "" {
		return ""
	}
	return c.Node + "#" + c.Ver
}

// deviceFeatures is what one of the user's resources can do for calls.
type deviceFeatures struct {
	full   string
	jingle bool // Jingle RTP audio
	jmi    bool
	rawUDP bool
	ice    bool
	dtls   bool
}

// resourceFeatures asks full for its features (cached by caps). It runs
// off the actor: it waits for the client's answer.
func (g *Gateway) resourceFeatures(ctx context.Context, full, caps string) deviceFeatures {
	feats, ok := g.featureCache.get(caps)
	if !ok || caps == "" {
		feats = g.queryFeatures(ctx, full, caps)
	}
	d := deviceFeatures{full: full}
	for _, f := range feats {
		switch f {
		case jingle.NSRTP:
			d.jingle = true
		case jingle.NSJMI:
			d.jmi = true
		case jingle.NSRawUDP:
			d.rawUDP = true
		case jingle.NSICEUDP:
			d.ice = true
		case jingle.NSDTLS:
			d.dtls = true
		}
	}
	return d
}

func (g *Gateway) queryFeatures(ctx context.Context, full, caps string) []string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	node := ""
	if caps != "" && caps[0] != '#' {
		node = caps
	}
	req, _ := stanza.New(stanza.KindIQ, "get", g.cfg.Domain, full, newID(), discoInfoQuery{Node: node})
	if g.iq == nil {
		return nil
	}
	res, err := g.iq.SendIQ(ctx, req)
	if err != nil || res.Type != "result" {
		g.log.Debug("disco#info of a user's device failed", "to", full, "err", err)
		return nil
	}
	var q discoInfoQuery
	if ok, err := res.Decode(nsDiscoInfo, "query", &q); !ok || err != nil {
		return nil
	}
	feats := make([]string, 0, len(q.Features))
	for _, f := range q.Features {
		feats = append(feats, f.Var)
	}
	if caps != "" {
		g.featureCache.put(caps, feats)
	}
	return feats
}
