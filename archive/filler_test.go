package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

// branded is segment K of rep from sim with the styp brands added.
func branded(tb testing.TB, sim *simulate.Server, rep string, k int64, brands ...string) []byte {
	tb.Helper()
	b, err := testenv.WithStypBrands(testenv.MustSeg(tb, sim, rep, k), brands...)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (e *env) offerData(tb testing.TB, source, rep string, k int64, data []byte) archive.Result {
	tb.Helper()
	res, err := e.ch.OfferSegment(context.Background(), archive.Offer{Source: source, Rep: rep, Data: data, ExpectK: k})
	if err != nil {
		tb.Fatalf("OfferSegment %s %d from %s: %v", rep, k, source, err)
	}
	return res
}

// TestFillerReplacedByRealCopy: a segment whose styp carries slat is an
// encoder's filler. Stored first (source a), a later real copy of the K
// (source b) becomes the archive's copy at real/<K>.<ext> without
// overwriting the filler, and the export addresses it; stored after a real
// copy, a filler changes nothing. Either way gaps reports nothing.
func TestFillerReplacedByRealCopy(t *testing.T) {
	t.Parallel()
	const rep = simulate.VideoRep
	kf := k0 + 1 // the K one source sends as a filler
	cases := []struct {
		name        string
		fillerFirst bool
	}{
		{"filler from a, then the real copy from b", true},
		{"real copy from b, then a filler from a", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			simA, simB := testenv.NewSim(t, simulate.Options{}), testenv.NewSim(t, simulate.Options{Variant: 1})
			e.Fill(t, "a", simA, k0, k0+3, kf)
			e.OfferInits(t, "b", simB)
			e.Offer(t, "a", simA, simulate.AudioRep, kf)
			filler, real := branded(t, simA, rep, kf, "slat"), testenv.MustSeg(t, simB, rep, kf)
			var fres, rres archive.Result
			if tc.fillerFirst {
				fres = e.offerData(t, "a", rep, kf, filler)
				rres = e.offerData(t, "b", rep, kf, real)
			} else {
				rres = e.offerData(t, "b", rep, kf, real)
				fres = e.offerData(t, "a", rep, kf, filler)
			}
			wantKey := mediaKey(rep, kf)
			if tc.fillerFirst {
				wantKey = layout.RealKey(testChannel, rep, kf, "m4s")
				if fres.Outcome != index.Stored || rres.Outcome != index.Stored || rres.Key != wantKey {
					t.Errorf("filler %s %s, real copy %s %s; want both stored, the real copy at %s", fres.Outcome, fres.Key, rres.Outcome, rres.Key, wantKey)
				}
				// The filler is kept at <K>.<ext>, unchanged.
				if got := e.Get(t, mediaKey(rep, kf)); !bytes.Equal(got, filler) {
					t.Error("the filler object was changed")
				}
			} else if rres.Outcome != index.Stored || fres.Outcome != index.Duplicate {
				t.Errorf("real copy %s, filler %s; want stored, duplicate", rres.Outcome, fres.Outcome)
			}
			seg, ok := e.Segment(t, rep, kf)
			if !ok || seg.Key != wantKey || seg.Filler || seg.SHA256 != sha(real) {
				t.Errorf("segment row %+v; want the real copy at %s", seg, wantKey)
			}
			if got := e.Get(t, wantKey); !bytes.Equal(got, real) {
				t.Errorf("%s does not hold the real copy's bytes", wantKey)
			}
			var fillers int
			for _, d := range e.deliveries(t, rep, kf) {
				if d.Filler {
					fillers++
				}
			}
			if fillers != 1 {
				t.Errorf("%d deliveries marked as fillers; want 1", fillers)
			}
			gaps, err := repair.Find(ctx, e.db, testChannel, kTime(k0), kTime(k0+4))
			if err != nil || len(gaps) != 0 {
				t.Errorf("gaps %+v, %v; want none", gaps, err)
			}

			pkg := filepath.Join(e.dir, "pkg")
			res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 4), Out: fileURL(pkg) + "/", Copy: true,
				Formats: []string{export.FormatDASH, export.FormatHLS}})
			var hlsURIs []string
			for _, s := range mpdtest.ReadHLS(t, res.HLSPath)[rep] {
				hlsURIs = append(hlsURIs, s.URI)
			}
			if !slices.ContainsFunc(hlsURIs, func(u string) bool { return strings.HasSuffix(u, wantKey) }) ||
				tc.fillerFirst && slices.ContainsFunc(hlsURIs, func(u string) bool { return strings.HasSuffix(u, mediaKey(rep, kf)) }) {
				t.Errorf("the HLS playlist addresses %v; want %s, not the filler", hlsURIs, wantKey)
			}
			m := mpdtest.Read(t, res.MPDPath)
			refs := m.Refs()
			if !slices.Contains(refs, wantKey) {
				t.Errorf("the MPD references %v; want %s among them", refs, wantKey)
			}
			if tc.fillerFirst && slices.Contains(refs, mediaKey(rep, kf)) {
				t.Errorf("the MPD references the filler %s", mediaKey(rep, kf))
			}
			got, err := os.ReadFile(filepath.Join(pkg, filepath.FromSlash(wantKey)))
			if err != nil || !bytes.Equal(got, real) {
				t.Errorf("exported %s: %v; want the real copy's bytes", wantKey, err)
			}
			var ks []int64
			for _, p := range m.Periods {
				ks = append(ks, p.Ks(rep)...)
			}
			slices.Sort(ks)
			if !mpdtest.EqualKs(ks, mpdtest.KRange(k0, k0+3)) {
				t.Errorf("exported %s K %v; want K0..K0+3", rep, ks)
			}
			checkTimeline(t, e, m, pkg)
		})
	}
}

// TestFillerOnlyAndLastSegment: a K only a filler was delivered for is
// stored and exported, counted in status and listed by gaps as kind
// filler; lmsg marks the track's clean end in status.
func TestFillerOnlyAndLastSegment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	const rep = simulate.VideoRep
	e.Fill(t, "a", sim, k0, k0+1)
	e.Offer(t, "a", sim, simulate.AudioRep, k0+2)
	e.offerData(t, "a", rep, k0+2, branded(t, sim, rep, k0+2, "slat"))
	e.Offer(t, "a", sim, simulate.AudioRep, k0+3)
	e.offerData(t, "a", rep, k0+3, branded(t, sim, rep, k0+3, "lmsg"))

	seg, ok := e.Segment(t, rep, k0+2)
	if !ok || !seg.Filler || seg.Key != mediaKey(rep, k0+2) {
		t.Errorf("filler row %+v; want a filler at %s", seg, mediaKey(rep, k0+2))
	}
	gaps, err := repair.Find(ctx, e.db, testChannel, kTime(k0), kTime(k0+4))
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 1 || gaps[0].Kind != repair.KindFiller || gaps[0].Rep != rep || gaps[0].From != k0+2 || gaps[0].To != k0+2 {
		t.Errorf("gaps %+v; want one of kind filler at %s K0+2", gaps, rep)
	}
	st, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range st.Channels[0].Tracks {
		wantFillers, wantEnded := int64(0), (*int64)(nil)
		if ts.Rep == rep {
			k := k0 + 3
			wantFillers, wantEnded = 1, &k
		}
		if ts.Fillers != wantFillers || (ts.Ended == nil) != (wantEnded == nil) || ts.Ended != nil && *ts.Ended != *wantEnded {
			t.Errorf("%s: fillers %d, ended %v; want %d, %v", ts.Rep, ts.Fillers, ts.Ended, wantFillers, wantEnded)
		}
		if ts.Ended != nil && ts.EndedTime != kTime(k0+4).Format("2006-01-02T15:04:05Z07:00") {
			t.Errorf("%s ended_time %s", ts.Rep, ts.EndedTime)
		}
		if ts.Rep == rep && (len(ts.Sources) != 1 || ts.Sources[0].Fillers != 1) {
			t.Errorf("%s sources %+v; want a with 1 filler", ts.Rep, ts.Sources)
		}
	}
	// The filler is playable: the export addresses it.
	res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 4), Out: fileURL(filepath.Join(e.storeDir, "vod", "f.mpd"))})
	if res.Gaps != 0 || res.Segments != 8 {
		t.Errorf("export %+v; want 8 segments, no gap", res)
	}
	m := mpdtest.Read(t, res.MPDPath)
	found := false
	for _, r := range m.Refs() {
		found = found || strings.HasSuffix(r, mediaKey(rep, k0+2))
	}
	if !found {
		t.Errorf("the export does not address the filler: %v", m.Refs())
	}
}
