package export_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// WebVTT test track: Representation "subs-de", track 4, timescale 1000.
const (
	vttRep     = "subs-de"
	vttTrackID = 4
)

// vttSeg is segment K of the WebVTT track (testenv.KWebVTTSegment).
func vttSeg(tb testing.TB, k int64, bad bool) []byte {
	tb.Helper()
	return testenv.KWebVTTSegment(tb, vttTrackID, k, bad)
}

// offerWebVTT stores the WebVTT track's init and its segments from..to
// from source src; segment bad (if in range) is malformed.
func (e *env) offerWebVTT(t *testing.T, src string, from, to, bad int64) {
	t.Helper()
	ctx := context.Background()
	init, err := testenv.WebVTTInit(vttTrackID, 1000, "deu")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ch.OfferInit(ctx, src, vttRep, init, false); err != nil {
		t.Fatal(err)
	}
	for k := from; k <= to; k++ {
		if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: src, Rep: vttRep, Data: vttSeg(t, k, k == bad), ExpectK: k}); err != nil {
			t.Fatalf("%s K %d: %v", vttRep, k, err)
		}
	}
}

// TestExportWebVTTForHLS: an HLS export presents a wvtt track as segmented
// WebVTT text: its media playlist has no EXT-X-MAP and lists
// <stem>-<rep>/seg-<K>.vtt, each written beside the playlists with the
// converted segment (cmaf.WebVTT), with and without --copy. The MPD keeps
// the fMP4 track; an HLS-only --copy export copies none of its objects.
func TestExportWebVTTForHLS(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		copy    bool
		formats []string
	}{
		{"zero copy, dash and hls", false, []string{export.FormatDASH, export.FormatHLS}},
		{"copy, dash and hls", true, []string{export.FormatDASH, export.FormatHLS}},
		{"copy, hls only", true, []string{export.FormatHLS}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			e.Fill(t, "a", sim, k0, k0+2)
			e.offerWebVTT(t, "a", k0, k0+2, -1)
			dir := filepath.Join(e.storeDir, "vod")
			res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 3), Out: fileURL(filepath.Join(dir, "day.mpd")), Copy: c.copy, Formats: c.formats})
			if res.HLSText != 3 {
				t.Errorf("HLSText %d; want 3", res.HLSText)
			}
			pl, err := os.ReadFile(filepath.Join(dir, "day-"+vttRep+".m3u8"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(pl), "#EXT-X-MAP") || strings.Contains(string(pl), ".m4s") {
				t.Errorf("WebVTT media playlist refers to fMP4:\n%s", pl)
			}
			init, err := cmaf.ParseInit(e.Get(t, e.InitKeys(t, vttRep)[0]))
			if err != nil {
				t.Fatal(err)
			}
			for k := k0; k <= k0+2; k++ {
				name := "day-" + vttRep + "/seg-" + strconv.FormatInt(k, 10) + ".vtt"
				if !strings.Contains(string(pl), "\n"+name+"\n") {
					t.Errorf("playlist does not list %s:\n%s", name, pl)
				}
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
				if err != nil {
					t.Fatal(err)
				}
				want, err := cmaf.WebVTT(e.Get(t, mediaKey(vttRep, k)), init)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) || !strings.Contains(string(got), "\nk"+strconv.FormatInt(k, 10)+"\n00:00:00.000 --> 00:00:01.000\nsegment ") {
					t.Errorf("%s:\n%s\nwant\n%s", name, got, want)
				}
			}
			mpd, mpdErr := os.ReadFile(filepath.Join(dir, "day.mpd"))
			if dash := len(c.formats) == 2; dash && (mpdErr != nil || !strings.Contains(string(mpd), `codecs="wvtt"`) || !strings.Contains(string(mpd), vttRep+"/$Number$.m4s")) {
				t.Errorf("MPD (%v) without the fMP4 WebVTT track:\n%s", mpdErr, mpd)
			}
			_, statErr := os.Stat(filepath.Join(dir, testChannel, vttRep))
			if copied := statErr == nil; copied != (c.copy && len(c.formats) == 2) {
				t.Errorf("fMP4 WebVTT objects copied: %v; want them only in a --copy export with DASH", copied)
			}
		})
	}
}

// TestExportWebVTTMalformed: a stored wvtt segment the converter cannot
// read fails the HLS export with an error naming the segment's key, and
// the export writes nothing.
func TestExportWebVTTMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+2)
	e.offerWebVTT(t, "a", k0, k0+2, k0+1)
	dir := filepath.Join(e.storeDir, "vod")
	_, err := e.x.VoD(context.Background(), export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 3),
		Out: fileURL(filepath.Join(dir, "day.mpd")), Formats: []string{export.FormatDASH, export.FormatHLS}})
	if err == nil || !strings.Contains(err.Error(), mediaKey(vttRep, k0+1)) || !strings.Contains(err.Error(), "vttc without payl") {
		t.Errorf("error %v; want one naming %s and its vttc without payl", err, mediaKey(vttRep, k0+1))
	}
	if files := testenv.ReadTree(t, dir).Files; len(files) != 0 {
		t.Errorf("a failed export wrote %d files", len(files))
	}
}
