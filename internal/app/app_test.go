package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/gateway"
	"fargo.dev/fargo/internal/sip"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp"
)

func TestSIPErrorClassification(t *testing.T) {
	cases := []struct {
		name string
		err  error
		kind gateway.SIPErrorKind
		code int
	}{
		{"forbidden", &sip.StatusError{Code: 403, Reason: "Forbidden"}, gateway.SIPAuthFailed, 403},
		{"server error", &sip.StatusError{Code: 503, Reason: "Service Unavailable"}, gateway.SIPRejected, 503},
		{"not found", fmt.Errorf("register: %w", &sip.StatusError{Code: 404, Reason: "Not Found"}), gateway.SIPRejected, 404},
		{"timeout", fmt.Errorf("register: %w", sip.ErrTimeout), gateway.SIPTimeout, 0},
		{"deadline", context.DeadlineExceeded, gateway.SIPTimeout, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var se *gateway.SIPError
			if !errors.As(sipError(tc.err), &se) || se.Kind != tc.kind || se.Code != tc.code || se.Text == "" {
				t.Fatalf("got %+v", se)
			}
		})
	}
	if sipError(nil) != nil {
		t.Fatal("nil error classified as a failure")
	}
}

func TestHealth(t *testing.T) {
	link, err := xmpp.NewLink(xmpp.Config{Addr: "127.0.0.1:1", Domain: "sip.example.test", Secret: "x"},
		xmpp.HandlerFunc(func(context.Context, *stanza.Stanza) {}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a := New(config.Default(), slog.New(slog.DiscardHandler), "test")
	rec := httptest.NewRecorder()
	a.health(rec, link)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"degraded"`) {
		t.Fatalf("unlinked: %d %s", rec.Code, rec.Body)
	}
	a.draining.Store(true)
	rec = httptest.NewRecorder()
	a.health(rec, link)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"draining"`) {
		t.Fatalf("draining: %d %s", rec.Code, rec.Body)
	}
}
