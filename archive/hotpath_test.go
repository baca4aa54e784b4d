package archive_test

import (
	"context"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestOfferSegmentPrecomputedSum: a digest the adapter computed while the
// body streamed in (Offer.SHA256) is the segment's digest everywhere (the
// index row, the delivery, the object's reap-sha256): OfferSegment does not
// hash the bytes a second time. The test passes a digest that is not the
// bytes' to see it used; without Offer.SHA256 the bytes are hashed.
func TestOfferSegmentPrecomputedSum(t *testing.T) {
	t.Parallel()
	marker := strings.Repeat("ab", 32) // not the bytes' digest: only a caller's sum can put it there
	for _, tc := range []struct {
		name, given string
		want        func(data []byte) string
	}{
		{"given", marker, func([]byte) string { return marker }},
		{"computed", "", sha},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			e.OfferInits(t, "a", sim)
			data := testenv.MustSeg(t, sim, simulate.VideoRep, k0)
			res, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.VideoRep, Data: data, ExpectK: -1, SHA256: tc.given})
			if err != nil || res.Outcome != index.Stored {
				t.Fatalf("offer: %+v, %v; want stored", res, err)
			}
			want := tc.want(data)
			seg, ok := e.Segment(t, simulate.VideoRep, k0)
			ds := e.deliveries(t, simulate.VideoRep, k0)
			at, err := e.store.Attributes(ctx, res.Key)
			if err != nil {
				t.Fatal(err)
			}
			if res.Info.SHA256 != want || !ok || seg.SHA256 != want || len(ds) != 1 || ds[0].SHA256 != want || at.Meta[layout.MetaSHA256] != want {
				t.Errorf("sha256: result %s, row %s (%v), deliveries %+v, attribute %s; want %s", res.Info.SHA256, seg.SHA256, ok, ds, at.Meta[layout.MetaSHA256], want)
			}
		})
	}
}

// TestOfferSegmentIndexCost: once a track is warm, recording a segment
// costs the index one segment lookup and one write transaction, whatever
// the segment holds: the segment row, its delivery and its events are
// written together (before, events took a transaction of their own), and
// no step looks K up a second time.
func TestOfferSegmentIndexCost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.OfferInits(t, "a", sim)
	e.OfferInits(t, "b", sim)
	rep := simulate.VideoRep
	e.Offer(t, "a", sim, rep, k0) // warm: D, the init's first K, source a's row
	e.Offer(t, "b", sim, rep, k0) // source b's row
	ev := &mp4.EmsgBox{Version: 0, TimeScale: 1000, PresentationTimeDelta: 0, EventDuration: 1000, ID: 7,
		SchemeIDURI: "https://aomedia.org/emsg/ID3", Value: "id3", MessageData: []byte("ID3 tag")}
	withEvent := testenv.WithEmsg(t, testenv.MustSeg(t, sim, rep, k0+2), ev)
	for _, tc := range []struct {
		name    string
		source  string
		data    []byte
		outcome index.Outcome
	}{
		{"plain", "a", testenv.MustSeg(t, sim, rep, k0+1), index.Stored},
		{"with an event", "a", withEvent, index.Stored},
		{"duplicate", "b", withEvent, index.Duplicate},
	} {
		// Sequential: each case reads the counts of the one index.
		before := e.db.Counts()
		res, err := e.ch.OfferSegment(ctx, archive.Offer{Source: tc.source, Rep: rep, Data: tc.data, ExpectK: -1})
		if err != nil || res.Outcome != tc.outcome {
			t.Fatalf("%s: %+v, %v; want %s", tc.name, res, err, tc.outcome)
		}
		after := e.db.Counts()
		if tx, look := after.WriteTx-before.WriteTx, after.SegmentLookups-before.SegmentLookups; tx != 1 || look != 1 {
			t.Errorf("%s: %d write transactions and %d segment lookups; want 1 and 1", tc.name, tx, look)
		}
	}
	evs, err := e.db.Events(ctx, e.ch.Info.ID, 0, 1<<62)
	if err != nil || len(evs) != 1 {
		t.Errorf("events %+v, %v; want the one of K %d", evs, err, k0+2)
	}
}
