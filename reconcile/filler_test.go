package reconcile_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// recordFillers adds to f: video K0+4 as a filler (slat) from a, then its
// real copy from b (both objects stay in the store); video K0+5 as a
// filler only; K0+6 of both tracks as their last segment (lmsg).
func recordFillers(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	ch, err := archive.New(f.store, f.db, nil).OpenChannel(ctx, channel, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	offer := func(source, rep string, k int64, brands ...string) {
		t.Helper()
		data, err := f.sim.Segment(rep, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(brands) > 0 {
			if data, err = testenv.WithStypBrands(data, brands...); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ch.OfferSegment(ctx, archive.Offer{Source: source, Rep: rep, Data: data, ExpectK: k}); err != nil {
			t.Fatal(err)
		}
	}
	v, a := simulate.VideoRep, simulate.AudioRep
	offer("a", v, k0+4, "slat")
	offer("b", v, k0+4)
	offer("a", v, k0+5, "slat")
	offer("a", a, k0+4)
	offer("a", a, k0+5)
	offer("a", v, k0+6, "lmsg")
	offer("a", a, k0+6, "lmsg")
	f.ks = append(f.ks, k0+4, k0+5, k0+6)
}

// TestReindexFillers: the store alone says which object stands for a K
// stored as an encoder filler: a reindex of a store that holds both the
// filler at <K>.<ext> and the real copy at real/<K>.<ext> points the row at
// the real copy, keeps a filler-only K a filler and the lmsg end, with or
// without the objects' attributes; verify finds nothing to report on
// either index.
func TestReindexFillers(t *testing.T) {
	t.Parallel()
	kind := testenv.Store("file")
	f := record(t, kind, k0, k0+1, k0+2, k0+3)
	recordFillers(t, f)
	want := dump(t, f.db)
	realKey := layout.RealKey(channel, simulate.VideoRep, k0+4, "m4s")
	cases := []struct {
		name  string
		store func(t *testing.T) *cloud.Store
	}{
		{"with attributes", func(*testing.T) *cloud.Store { return f.store }},
		{"without attributes", func(t *testing.T) *cloud.Store { return withoutAttributes(t, f, kind) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := tc.store(t)
			db := openIndex(t, filepath.Join(t.TempDir(), "rebuilt.db"))
			res, err := reconcile.Reindex(ctx, st, db, reconcile.Options{Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Channels) != 1 || len(res.Channels[0].Problems) != 0 {
				t.Errorf("reindex %+v; want one channel, no problems", res.Channels)
			}
			sameIndex(t, want, dump(t, db))
			ch, err := db.Channel(ctx, channel)
			if err != nil {
				t.Fatal(err)
			}
			for _, rep := range reps {
				tr, err := db.Track(ctx, ch.ID, rep)
				if err != nil {
					t.Fatal(err)
				}
				segs, err := db.Segments(ctx, tr.ID, k0+4, k0+6)
				if err != nil || len(segs) != 3 {
					t.Fatalf("%s rows %+v, %v", rep, segs, err)
				}
				wantFiller := rep == simulate.VideoRep
				if segs[0].Filler || segs[1].Filler != wantFiller || !segs[2].Last || segs[0].Last {
					t.Errorf("%s rows K0+4..K0+6 %+v; want K0+5 a filler: %v, K0+6 the last", rep, segs, wantFiller)
				}
				if rep == simulate.VideoRep && segs[0].Key != realKey {
					t.Errorf("video K0+4 at %s; want the real copy %s", segs[0].Key, realKey)
				}
			}
			for name, idx := range map[string]*index.DB{"rebuilt": db, "recorder's": f.db} {
				if name == "recorder's" && st != f.store {
					continue
				}
				rep, err := reconcile.Verify(ctx, st, idx, reconcile.VerifyOptions{ReadData: true})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Mismatches != 0 {
					t.Errorf("verify of the %s index: %+v", name, rep.Channels)
				}
			}
		})
	}
}

// TestVerifyInterruptedFillerReplacement: a writer that stopped after
// writing the real copy of a filler's K, before switching the index row,
// leaves a row pointing at the filler; verify reports it and
// --repair-index points the row at the real copy, as the store says.
func TestVerifyInterruptedFillerReplacement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := record(t, testenv.Store("file"), k0, k0+1, k0+2, k0+3)
	recordFillers(t, f)
	ch, err := f.db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := f.db.Track(ctx, ch.ID, simulate.VideoRep)
	if err != nil {
		t.Fatal(err)
	}
	// The row as it was before the switch: the filler's.
	at, err := f.store.Attributes(ctx, layout.MediaKey(channel, simulate.VideoRep, k0+4, "m4s"))
	if err != nil {
		t.Fatal(err)
	}
	row, _, err := f.db.Segment(ctx, tr.ID, k0+4)
	if err != nil {
		t.Fatal(err)
	}
	row.Key, row.Size, row.SHA256, row.Filler = layout.MediaKey(channel, simulate.VideoRep, k0+4, "m4s"), at.Size, at.Meta[layout.MetaSHA256], true
	if err := f.db.DeleteSegment(ctx, tr.ID, k0+4); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Record(ctx, &row); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		repair     bool
		mismatches bool
	}{{"report", false, true}, {"repair the index", true, true}, {"clean after the repair", false, false}}
	for _, c := range cases { // in order: each step acts on the one before
		rep, err := reconcile.Verify(ctx, f.store, f.db, reconcile.VerifyOptions{RepairIndex: c.repair})
		if err != nil {
			t.Fatal(err)
		}
		if (rep.Mismatches > 0) != c.mismatches {
			t.Errorf("%s: %d mismatches %+v; want some: %v", c.name, rep.Mismatches, rep.Channels, c.mismatches)
		}
	}
	got, _, err := f.db.Segment(ctx, tr.ID, k0+4)
	if err != nil || got.Key != layout.RealKey(channel, simulate.VideoRep, k0+4, "m4s") || got.Filler {
		t.Errorf("row after verify --repair-index: %+v, %v; want the real copy", got, err)
	}
}
