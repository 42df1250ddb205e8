package jinglesdp

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fargo.dev/fargo/internal/jingle"
)

func TestCodecs(t *testing.T) {
	j := readJingle(t, "jsxc-01-session-initiate-from-caller.xml")
	got := Codecs(j.Contents)
	want := []string{"opus/48000/2", "G722/8000", "PCMU/8000", "PCMA/8000", "VP8/90000", "VP9/90000", "H264/90000", "AV1/90000"}
	if !slices.Equal(got, want) {
		t.Errorf("Codecs = %q, want %q", got, want)
	}
	static := []jingle.Content{audioContent("a", jingle.SendersBoth, "192.0.2.1", 4000, jingle.PayloadType{ID: 18}, jingle.PayloadType{ID: 96})}
	if got := Codecs(static); !slices.Equal(got, []string{"G729/8000", "96"}) {
		t.Errorf("Codecs of unnamed payload types = %q", got)
	}
}

func TestIntersect(t *testing.T) {
	supported := []jingle.PayloadType{
		{ID: 0, Name: "pcmu", Clockrate: 8000}, ptPCMA, ptOpus, ptTE8, ptTE48, ptCN,
		{ID: 96, Name: "VP8", Clockrate: 90000}, {ID: 97, Name: "rtx", Clockrate: 90000},
	}
	cases := []struct {
		name  string
		offer []jingle.PayloadType
		want  []jingle.PayloadType
	}{
		{"offer order and ids kept", []jingle.PayloadType{{ID: 8, Name: "PCMA", Clockrate: 8000}, ptG729, {ID: 0}},
			[]jingle.PayloadType{{ID: 8, Name: "PCMA", Clockrate: 8000}, {ID: 0}}},
		{"telephone-event only at a kept clock rate", []jingle.PayloadType{ptPCMU, ptTE48, ptTE8b},
			[]jingle.PayloadType{ptPCMU, ptTE8b}},
		{"both telephone-events with opus and PCMU", []jingle.PayloadType{ptOpus, ptPCMU, ptTE48, ptTE8b},
			[]jingle.PayloadType{ptOpus, ptPCMU, ptTE48, ptTE8b}},
		{"no codec, no telephone-event", []jingle.PayloadType{ptG729, ptTE8}, []jingle.PayloadType{}},
		{"opus channels must match", []jingle.PayloadType{{ID: 100, Name: "OPUS", Clockrate: 48000, Channels: 2}, {ID: 101, Name: "speex", Clockrate: 16000}},
			[]jingle.PayloadType{{ID: 100, Name: "OPUS", Clockrate: 48000, Channels: 2}}},
		{"CN follows the codec clock", []jingle.PayloadType{ptOpus, ptCN}, []jingle.PayloadType{ptOpus}},
		{"rtx only for a kept payload type", []jingle.PayloadType{{ID: 96, Name: "VP8", Clockrate: 90000},
			{ID: 97, Name: "rtx", Clockrate: 90000, Params: []jingle.Parameter{{Name: "apt", Value: "96"}}},
			{ID: 98, Name: "VP9", Clockrate: 90000},
			{ID: 99, Name: "rtx", Clockrate: 90000, Params: []jingle.Parameter{{Name: "apt", Value: "98"}}}},
			[]jingle.PayloadType{{ID: 96, Name: "VP8", Clockrate: 90000},
				{ID: 97, Name: "rtx", Clockrate: 90000, Params: []jingle.Parameter{{Name: "apt", Value: "96"}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			offer := []jingle.Content{audioContent("a", jingle.SendersBoth, "192.0.2.1", 4000, c.offer...)}
			got := Intersect(offer, supported)
			if diff := cmp.Diff(c.want, got[0].Description.PayloadTypes); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if len(offer[0].Description.PayloadTypes) != len(c.offer) {
				t.Error("Intersect changed the offer")
			}
		})
	}
	if got := Intersect([]jingle.Content{{Name: "x"}}, supported); len(got) != 1 || got[0].Name != "x" {
		t.Errorf("content without description: %+v", got)
	}
}

func TestCheckAnswer(t *testing.T) {
	offer := []jingle.Content{
		audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU, ptPCMA, ptTE8),
		{Name: "video", Senders: jingle.SendersBoth, Description: &jingle.Description{Media: "video", PayloadTypes: []jingle.PayloadType{{ID: 96, Name: "VP8", Clockrate: 90000}}}},
	}
	declinedVideo := jingle.Content{Name: "video", Senders: jingle.SendersNone, Description: jingle.NewDescription("video")}
	answer := func(pts ...jingle.PayloadType) []jingle.Content {
		return []jingle.Content{audioContent("audio", jingle.SendersBoth, "192.0.2.2", 5000, pts...), declinedVideo}
	}
	ok := [][]jingle.Content{
		answer(ptPCMA),
		answer(ptPCMU, ptTE8),
		answer(jingle.PayloadType{ID: 0}), // static id only
		answer(jingle.PayloadType{ID: 120, Name: "pcma", Clockrate: 8000}), // renumbered, matched by name
	}
	for i, a := range ok {
		if err := CheckAnswer(offer, a); err != nil {
			t.Errorf("answer %d: %v", i, err)
		}
	}
	bad := []struct {
		answer []jingle.Content
		want   string
	}{
		{answer(ptG729), `content "audio": G729/8000 was not offered (offered PCMU/8000, PCMA/8000; answered G729/8000)`},
		{answer(ptTE8), `content "audio": no common codec (offered PCMU/8000, PCMA/8000; answered none)`},
		{answer(ptPCMU)[:1], `content "video" was not answered (offered VP8/90000; answered none)`},
		{append(answer(ptPCMU), audioContent("extra", jingle.SendersBoth, "192.0.2.2", 5002, ptPCMU)), `content "extra" was not offered (offered none; answered PCMU/8000)`},
	}
	for _, c := range bad {
		err := CheckAnswer(offer, c.answer)
		if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckAnswer = %v, want ErrIncompatible with %q", err, c.want)
		}
	}
}
