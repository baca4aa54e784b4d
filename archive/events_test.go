package archive_test

import (
	"context"
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// scteCue is a splice_insert splice_info_section (base64, as in SCTE 35
// examples).
const scteCue = "/DAlAAAAAAAAAP/wFAUAAAABf+/+LRQrAP4BI9MIAAEBAQAAXKdYGw=="

// TestOfferSegmentEvents: the emsg boxes (v0 and v1) of a stored segment
// are indexed with exact start times, once per (scheme, value, id) however
// many segments and sources repeat them; every stored object says in
// reap-events how many emsg boxes it carries.
func TestOfferSegmentEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cue, err := base64.StdEncoding.DecodeString(scteCue)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.OfferInits(t, "a", sim)
	e.OfferInits(t, "b", sim)
	rep := simulate.VideoRep
	track := e.Track(t, rep)
	plain0 := testenv.MustSeg(t, sim, rep, k0)
	info0, err := cmaf.ParseSegment(plain0, nil)
	if err != nil {
		t.Fatal(err)
	}
	spliceAt := info0.EPT*90000/uint64(track.Timescale) + 7*90000
	v1 := &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: spliceAt, EventDuration: 900000, ID: 42,
		SchemeIDURI: "urn:scte:scte35:2013:bin", MessageData: cue}
	v0 := &mp4.EmsgBox{Version: 0, TimeScale: 1000, PresentationTimeDelta: 500, EventDuration: 0xFFFFFFFF, ID: 1,
		SchemeIDURI: "https://aomedia.org/emsg/ID3", Value: "id3", MessageData: []byte("ID3 tag")}
	segs := []struct {
		source string
		k      int64
		data   []byte
		events string // reap-events of the stored object
	}{
		{"a", k0, testenv.WithEmsg(t, plain0, v1, v0), "2"},
		{"b", k0, testenv.WithEmsg(t, plain0, v1, v0), "2"}, // a duplicate: not stored
		{"b", k0 + 1, testenv.WithEmsg(t, testenv.MustSeg(t, sim, rep, k0+1), v1), "1"},
		{"a", k0 + 2, testenv.MustSeg(t, sim, rep, k0+2), "0"},
	}
	for _, s := range segs {
		if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: s.source, Rep: rep, Data: s.data, ExpectK: s.k}); err != nil {
			t.Fatalf("K %d from %s: %v", s.k, s.source, err)
		}
		at, err := e.store.Attributes(ctx, mediaKey(rep, s.k))
		if err != nil {
			t.Fatal(err)
		}
		if got := at.Meta[layout.MetaEvents]; got != s.events {
			t.Errorf("K %d: %s = %q, want %q", s.k, layout.MetaEvents, got, s.events)
		}
	}
	got, err := e.db.Events(ctx, e.ch.Info.ID, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	want := []index.Event{
		{TrackID: track.ID, Rep: rep, Scheme: v0.SchemeIDURI, Value: "id3", ID: 1, K: k0, Version: 0, Timescale: 1000,
			PresentationTime: info0.EPT*1000/uint64(track.Timescale) + 500, Duration: 0xFFFFFFFF, Message: []byte("ID3 tag")},
		{TrackID: track.ID, Rep: rep, Scheme: v1.SchemeIDURI, ID: 42, K: k0, Version: 1, Timescale: 90000,
			PresentationTime: spliceAt, Duration: 900000, Message: cue},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
}
