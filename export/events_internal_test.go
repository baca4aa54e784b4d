package export

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
)

// TestInbandEventsFromSpans: the event streams a track's entries carry,
// answered from the spans of the whole plan (presenter.inbandEvents: one
// query for every track and Period), are those the track's events in the
// entries' K range give (Deps.inbandEvents), over random events and
// ranges; the track's events are read only for a range that a span starts
// before and ends after.
func TestInbandEventsFromSpans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ch, tracks := eventTracks(t, db)
	rng := rand.New(rand.NewPCG(3, 5))
	w := &presenter{d: Deps{DB: db}, p: &Plan{plan: plan{firstK: 100, lastK: 199}, loaded: &Loaded{Channel: ch}}}
	carried := 0
	for range 400 {
		a := 100 + rng.Int64N(100)
		segs := []manifest.VoDSegment{{K: a, Duration: 2000, Repeat: rng.Int64N(min(20, 200-a))}}
		for _, tr := range tracks {
			reads := w.exactReads
			got, err := w.inbandEvents(ctx, tr, segs)
			if err != nil {
				t.Fatal(err)
			}
			want, err := w.d.inbandEvents(ctx, tr, segs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s K %d-%d: from spans %v, from its events %v", tr.Rep, segs[0].K, segs[0].LastK(), got, want)
			}
			carried += len(got)
			if w.exactReads > reads && !straddled(w.spans[tr.ID], segs[0].K, segs[0].LastK()) {
				t.Fatalf("%s K %d-%d: read the track's events, though no span %v starts before and ends after the range", tr.Rep, segs[0].K, segs[0].LastK(), w.spans[tr.ID])
			}
		}
	}
	if carried == 0 {
		t.Fatal("no range carried an event stream: the test compares nothing")
	}
}

// straddled reports whether one of spans starts before from and ends after to.
func straddled(spans []index.SchemeSpan, from, to int64) bool {
	return slices.ContainsFunc(spans, func(s index.SchemeSpan) bool { return s.FromK < from && s.ToK > to })
}

// eventTracks is a channel of two tracks with segments K 100-199, some of
// which carry events of three schemes.
func eventTracks(t *testing.T, db *index.DB) (index.ChannelRow, []index.Track) {
	t.Helper()
	ctx := context.Background()
	ch, err := db.EnsureChannel(ctx, "ch")
	if err != nil {
		t.Fatal(err)
	}
	src, err := db.EnsureSource(ctx, ch.ID, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	schemes := []string{"urn:scte:scte35:2013:bin", "urn:a", "urn:b"}
	var tracks []index.Track
	for _, rep := range []string{"v", "a"} {
		tr, err := db.UpsertTrack(ctx, index.Track{ChannelID: ch.ID, Rep: rep, ContentType: "video", Timescale: 1000, SegDur: 2000, Ext: "m4s"})
		if err != nil {
			t.Fatal(err)
		}
		in, err := db.AddInit(ctx, index.Init{TrackID: tr.ID, Hash: "h" + rep, Key: "ch/" + rep + "/init.mp4", Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		for k := int64(100); k < 200; k++ {
			seg := index.Segment{TrackID: tr.ID, K: k, EPT: uint64(k) * 2000, Duration: 2000, Size: 1, SHA256: fmt.Sprintf("%064x", k),
				Key: fmt.Sprintf("ch/%s/%d.m4s", rep, k), InitID: in.ID, SourceID: src.ID, ReceivedAt: time.Unix(1_700_000_000, k)}
			c := &index.Contents{TrackID: tr.ID, K: k}
			if rng.IntN(8) == 0 {
				s := rng.IntN(len(schemes))
				c.Events = append(c.Events, index.Event{TrackID: tr.ID, K: k, Scheme: schemes[s], Value: fmt.Sprint(s % 2), ID: uint32(k),
					Timescale: 1000, PresentationTime: uint64(k) * 2000, Duration: 1})
			}
			if err := db.RecordWith(ctx, &seg, c, index.Delivery{SourceID: src.ID, Outcome: index.Stored}); err != nil {
				t.Fatal(err)
			}
		}
		tracks = append(tracks, tr)
	}
	return ch, tracks
}
