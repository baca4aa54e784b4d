package archive_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/cmaf"
	"github.com/reaparchive/reaparchive/archive/reconcile"
)

// livesimK is the K of the livesim2 text segments in cmaf/testdata.
const livesimK = 898227455

// livesimText is the init and segment livesimK of a livesim2 text track
// (cmaf/testdata/README.md): name timesubs_stpp_en or timesubs_wvtt_de.
func livesimText(tb testing.TB, name string) (init, seg []byte) {
	tb.Helper()
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join("cmaf", "testdata", f))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	return read(name + "_init.mp4"), read(name + "_898227455.m4s")
}

// textFragment is a text segment of track 1: samples of the given
// durations and payloads from decode time tfdt.
func textFragment(tb testing.TB, tfdt uint64, durs []uint32, payloads ...[]byte) []byte {
	tb.Helper()
	frag, err := mp4.CreateFragment(1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	for i, p := range payloads {
		frag.AddFullSample(mp4.FullSample{Sample: mp4.NewSample(mp4.SyncSampleFlags, durs[i], uint32(len(p)), 0), DecodeTime: tfdt, Data: p})
		tfdt += uint64(durs[i])
	}
	var buf bytes.Buffer
	if err := frag.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func cueBox(typ string, body ...[]byte) []byte {
	b := slices.Concat(body...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(8+len(b))), append([]byte(typ), b...)...)
}

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
	const d = 2000 // D in the text tracks' timescale 1000
	wvttInit, wvttSeg := livesimText(t, "timesubs_wvtt_de")
	stppInit, stppSeg := livesimText(t, "timesubs_stpp_en")
	for rep, init := range map[string][]byte{"timewvtt-de": wvttInit, "timestpp-en": stppInit} {
		if _, err := e.ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
	}
	// The TTML document of livesimK, one segment late: its cues (on the
	// media timeline) are outside the sample.
	stppInfo := mustParse(t, stppSeg, stppInit)
	ttml := stppSeg[stppInfo.TextSamples[0].Offset:]
	noPayl := cueBox("vttc", cueBox("sttg", []byte("line:0")))
	segs := []struct {
		rep  string
		k    int64
		data []byte
	}{
		{"timewvtt-de", livesimK, wvttSeg},
		{"timewvtt-de", livesimK + 1, textFragment(t, (livesimK+1)*d, []uint32{1000, 1000}, noPayl, cueBox("vtte"))},
		// 100 ticks early: off the grid and overlapping K+1.
		{"timewvtt-de", livesimK + 2, textFragment(t, (livesimK+2)*d-100, []uint32{d}, cueBox("vtte"))},
		{"timestpp-en", livesimK, stppSeg},
		{"timestpp-en", livesimK + 1, textFragment(t, (livesimK+1)*d, []uint32{d}, ttml)},
	}
	for _, s := range segs {
		res, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: s.rep, Data: s.data, ExpectK: s.k})
		if err != nil {
			t.Fatalf("%s K %d: %v", s.rep, s.k, err)
		}
		if got := e.get(t, res.Key); !bytes.Equal(got, s.data) {
			t.Errorf("%s K %d: stored %d bytes, not the %d sent", s.rep, s.k, len(got), len(s.data))
		}
	}
	st, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, tr := range st.Channels[0].Tracks {
		if tr.TextIssues == nil {
			t.Fatalf("%s: no text_issues", tr.Rep)
		}
		counts[tr.Rep] = *tr.TextIssues
		if tr.Segments != 3 && tr.Rep == "timewvtt-de" || tr.Segments != 2 && tr.Rep == "timestpp-en" {
			t.Errorf("%s: %d segments stored", tr.Rep, tr.Segments)
		}
	}
	if want := map[string]int64{"timewvtt-de": 4, "timestpp-en": 2}; !maps.Equal(counts, want) {
		t.Errorf("status text issues %v, want %v", counts, want)
	}
	rep, err := reconcile.Verify(ctx, e.store, e.db, reconcile.VerifyOptions{Options: reconcile.Options{Channel: testChannel, Workers: 2}})
	if err != nil {
		t.Fatal(err)
	}
	type found struct {
		rep, detailKind string
		k               int64
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
		{"timestpp-en", cmaf.TextCueTime, livesimK + 1}, {"timestpp-en", cmaf.TextCueTime, livesimK + 1},
		{"timewvtt-de", cmaf.TextMalformed, livesimK + 1},
		{"timewvtt-de", cmaf.TextAlignment, livesimK + 2}, {"timewvtt-de", cmaf.TextAlignment, livesimK + 2}, {"timewvtt-de", cmaf.TextOrder, livesimK + 2},
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
