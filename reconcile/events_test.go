package reconcile_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

func allEvents(t testing.TB, db *index.DB) []index.Event {
	t.Helper()
	ch, err := db.Channel(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(context.Background(), ch.ID, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].TrackID = 0 // differs between indexes; Rep names the track
	}
	return evs
}

// TestReindexEvents: reindex into an empty index rebuilds the events of
// the stored segments, reading only the objects whose reap-events counts
// emsg boxes (and, lacking attributes, every object).
func TestReindexEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kind := testenv.Store("file")
	f := record(t, kind, k0)
	ch, err := archive.New(f.store, f.db, nil).OpenChannel(ctx, channel, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v1 := &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: uint64(k0+3) * 2 * 90000, EventDuration: 900000, ID: 9,
		SchemeIDURI: "urn:scte:scte35:2013:bin", MessageData: []byte{0xfc, 0x30}}
	v0 := &mp4.EmsgBox{Version: 0, TimeScale: 1000, PresentationTimeDelta: 40, EventDuration: 0xFFFFFFFF, ID: 3,
		SchemeIDURI: "urn:x:id3", Value: "v", MessageData: []byte("tag")}
	for _, s := range []struct {
		k     int64
		boxes []*mp4.EmsgBox
	}{{k0 + 1, []*mp4.EmsgBox{v1, v0}}, {k0 + 2, []*mp4.EmsgBox{v1}}} {
		data := testenv.WithEmsg(t, testenv.MustSeg(t, f.sim, simulate.VideoRep, s.k), s.boxes...)
		if _, err := ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.VideoRep, Data: data, ExpectK: s.k}); err != nil {
			t.Fatal(err)
		}
	}
	want := allEvents(t, f.db)
	if len(want) != 2 {
		t.Fatalf("recorder indexed %d events, want 2", len(want))
	}
	cases := []struct {
		name       string
		store      func(t *testing.T) *cloud.Store
		bodiesRead int64
	}{
		{"attributes", func(t *testing.T) *cloud.Store { return f.store }, 2},
		{"objects without attributes", func(t *testing.T) *cloud.Store { return withoutAttributes(t, f, kind) }, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openIndex(t, filepath.Join(t.TempDir(), "fresh.db"))
			res, err := reconcile.Reindex(ctx, c.store(t), db, reconcile.Options{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Channels[0]; got.BodiesRead != c.bodiesRead || got.Events != 3 || len(got.Problems) != 0 {
				t.Errorf("bodies read %d, events %d, problems %v; want %d, 3, none", got.BodiesRead, got.Events, got.Problems, c.bodiesRead)
			}
			if got := allEvents(t, db); !reflect.DeepEqual(got, want) {
				t.Errorf("events\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
