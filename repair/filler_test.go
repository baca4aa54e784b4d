package repair_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

// offerFiller offers segment K of rep from sim, as an encoder's filler
// (styp brand slat), from source.
func (e *env) offerFiller(tb testing.TB, source string, sim *simulate.Server, rep string, k int64) {
	tb.Helper()
	data, err := testenv.WithStypBrands(testenv.MustSeg(tb, sim, rep, k), "slat")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.ch.OfferSegment(context.Background(), archive.Offer{Source: source, Rep: rep, Data: data, ExpectK: k}); err != nil {
		tb.Fatalf("offer filler %s %d: %v", rep, k, err)
	}
}

// TestRepairReplacesFiller: a K stored only as an encoder's filler is a gap
// of kind filler, and repair --fill-from replaces it with a real copy
// (written to real/<K>.<ext>, the filler kept), unless the repair source
// has only a filler too.
func TestRepairReplacesFiller(t *testing.T) {
	t.Parallel()
	const base = int64(888_000_000)
	const rep = simulate.VideoRep
	kf := base + 2
	tests := []struct {
		name string
		// fill prepares the other archive, recorded from sim except kf.
		fill     func(t *testing.T, other *env, sim *simulate.Server)
		want     want
		from     string // the key the real copy is read from
		stillGap bool
	}{
		{"the other archive has the real copy", func(t *testing.T, other *env, sim *simulate.Server) {
			other.record(t, sim, kf, kf, nil)
		}, want{"filled", ""}, layout.MediaKey(testChannel, rep, kf, "m4s"), false},
		{"the other archive replaced its filler too", func(t *testing.T, other *env, sim *simulate.Server) {
			other.record(t, sim, kf-1, kf-1, nil)
			other.offerFiller(t, "a", sim, rep, kf)
			if _, err := other.ch.OfferSegment(t.Context(), archive.Offer{Source: "b", Rep: rep, Data: testenv.MustSeg(t, sim, rep, kf), ExpectK: kf}); err != nil {
				t.Fatal(err)
			}
		}, want{"filled", ""}, layout.RealKey(testChannel, rep, kf, "m4s"), false},
		{"the other archive has a filler too", func(t *testing.T, other *env, sim *simulate.Server) {
			other.record(t, sim, kf-1, kf-1, nil)
			other.offerFiller(t, "a", sim, rep, kf)
		}, want{"rejected", "encoder filler too"}, layout.MediaKey(testChannel, rep, kf, "m4s"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			sim := testenv.NewSim(t, simulate.Options{})
			e, other := newEnv(t), newEnv(t)
			e.record(t, sim, base, base+5, []int64{kf})
			e.offerFiller(t, "a", sim, rep, kf)
			if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.AudioRep, Data: testenv.MustSeg(t, sim, simulate.AudioRep, kf), ExpectK: kf}); err != nil {
				t.Fatal(err)
			}
			gaps, err := repair.Find(ctx, e.db, testChannel, archive.KTime(base, e.track(t, rep)), archive.KTime(base+6, e.track(t, rep)))
			if err != nil || len(gaps) != 1 || gaps[0].Kind != repair.KindFiller || gaps[0].From != kf || gaps[0].Rep != rep {
				t.Fatalf("gaps before the repair %+v, %v; want one filler at %s K %d", gaps, err, rep, kf)
			}
			tt.fill(t, other, sim)
			rep0, err := repair.Fill(ctx, e.a, repair.NewStore("repair.store", other.store), repair.Options{Channel: testChannel})
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("%s/%d", rep, kf)
			g := classes(rep0)[key]
			if g.class != tt.want.class || !strings.Contains(g.reason, tt.want.reason) {
				t.Errorf("%s: %s %q, want %s with %q", key, g.class, g.reason, tt.want.class, tt.want.reason)
			}
			if len(rep0.Filled)+len(rep0.Rejected) != 1 || (len(rep0.Filled) == 1 && rep0.Filled[0].From != tt.from) {
				t.Errorf("report %+v; want K %d read from %s", rep0, kf, tt.from)
			}
			seg, ok, err := e.db.Segment(ctx, e.track(t, rep).ID, kf)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if tt.stillGap != seg.Filler {
				t.Errorf("row %+v; want filler %v", seg, tt.stillGap)
			}
			if !tt.stillGap {
				realKey := layout.RealKey(testChannel, rep, kf, "m4s")
				data, err := e.store.Get(ctx, realKey)
				if seg.Key != realKey || err != nil || !bytes.Equal(data, testenv.MustSeg(t, sim, rep, kf)) {
					t.Errorf("row key %s (%v); want the real copy at %s", seg.Key, err, realKey)
				}
			}
			gaps, err = repair.Find(ctx, e.db, testChannel, archive.KTime(base, e.track(t, rep)), archive.KTime(base+6, e.track(t, rep)))
			if err != nil || (len(gaps) == 1) != tt.stillGap {
				t.Errorf("gaps after the repair %+v, %v; want the filler gap: %v", gaps, err, tt.stillGap)
			}
			e.checkConsistent(t)
		})
	}
}
