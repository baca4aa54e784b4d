package archive_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/reconcile"
)

// TestOfferSegmentTextIssues: text segments that break the cue rules (a
// vttc without payl, a segment off the grid overlapping the one before,
// TTML cues outside their sample) are stored as sent, and the issues are
// counted per text track in status and listed by verify, which counts
// them apart from index/store mismatches. livesim2's own segments are
// clean.
func TestOfferSegmentTextIssues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	const d, k = 2000, testenv.LivesimTextK // D in the text tracks' timescale 1000
	wvttInit, wvttSeg := testenv.LivesimText(t, "timesubs_wvtt_de")
	stppInit, stppSeg := testenv.LivesimText(t, "timesubs_stpp_en")
	for rep, init := range map[string][]byte{"timewvtt-de": wvttInit, "timestpp-en": stppInit} {
		if _, err := e.ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
	}
	// The TTML document of K, one segment late: its cues (on the media
	// timeline) are outside the sample.
	ttml := stppSeg[mustParse(t, stppSeg, stppInit).TextSamples[0].Offset:]
	noPayl := testenv.Box("vttc", testenv.Box("sttg", []byte("line:0")))
	segs := []struct {
		rep  string
		k    int64
		data []byte
	}{
		{"timewvtt-de", k, wvttSeg},
		{"timewvtt-de", k + 1, testenv.TextSegment(t, (k+1)*d, []uint32{1000, 1000}, noPayl, testenv.Box("vtte"))},
		// 100 ticks early: off the grid and overlapping K+1.
		{"timewvtt-de", k + 2, testenv.TextSegment(t, (k+2)*d-100, []uint32{d}, testenv.Box("vtte"))},
		{"timestpp-en", k, stppSeg},
		{"timestpp-en", k + 1, testenv.TextSegment(t, (k+1)*d, []uint32{d}, ttml)},
	}
	for _, s := range segs {
		res, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: s.rep, Data: s.data, ExpectK: s.k})
		if err != nil {
			t.Fatalf("%s K %d: %v", s.rep, s.k, err)
		}
		if got := e.Get(t, res.Key); !bytes.Equal(got, s.data) {
			t.Errorf("%s K %d: stored %d bytes, not the %d sent", s.rep, s.k, len(got), len(s.data))
		}
	}
	st, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	counts, stored := map[string]int64{}, map[string]int64{}
	for _, tr := range st.Channels[0].Tracks {
		if tr.TextIssues == nil {
			t.Fatalf("%s: no text_issues", tr.Rep)
		}
		counts[tr.Rep], stored[tr.Rep] = *tr.TextIssues, tr.Segments
	}
	if want := map[string]int64{"timewvtt-de": 4, "timestpp-en": 2}; !maps.Equal(counts, want) {
		t.Errorf("status text issues %v, want %v", counts, want)
	}
	if want := map[string]int64{"timewvtt-de": 3, "timestpp-en": 2}; !maps.Equal(stored, want) {
		t.Errorf("status segments %v, want %v", stored, want)
	}
	rep, err := reconcile.Verify(ctx, e.store, e.db, reconcile.VerifyOptions{Options: reconcile.Options{Channel: testChannel, Workers: 2}})
	if err != nil {
		t.Fatal(err)
	}
	type found struct {
		rep, kind string
		k         int64
	}
	var got []found
	for _, p := range rep.Channels[0].Problems {
		if p.Kind != reconcile.TextIssue || p.K == nil {
			t.Errorf("problem %v", p)
			continue
		}
		kind, _, _ := strings.Cut(p.Detail, ":")
		got = append(got, found{p.Rep, kind, *p.K})
	}
	want := []found{
		{"timestpp-en", cmaf.TextCueTime, k + 1}, {"timestpp-en", cmaf.TextCueTime, k + 1},
		{"timewvtt-de", cmaf.TextMalformed, k + 1},
		{"timewvtt-de", cmaf.TextAlignment, k + 2}, {"timewvtt-de", cmaf.TextAlignment, k + 2}, {"timewvtt-de", cmaf.TextOrder, k + 2},
	}
	if !slices.Equal(got, want) || rep.TextIssues != 6 || rep.Mismatches != 0 {
		t.Errorf("verify: %d text issues %v, %d mismatches; want 6 %v, 0", rep.TextIssues, got, rep.Mismatches, want)
	}
}

func mustParse(tb testing.TB, seg, init []byte) *cmaf.SegmentInfo {
	tb.Helper()
	in, err := cmaf.ParseInit(init)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := cmaf.ParseSegment(seg, in)
	if err != nil {
		tb.Fatal(err)
	}
	return info
}
