package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// The timed-metadata track of the push tests: timescale 1000, D*T 2000.
const (
	metaRep    = "meta"
	metaSegDur = 2000
)

// TestIngestMetadataTrack: two encoders push a video track and a
// timed-metadata track (handler meta, sample entry urim or evte; with and
// without an I-MPD announcing it). The metadata track is stored once per
// K like the video (the second copy a duplicate), has no gaps, and the
// DASH export has it as an AdaptationSet of its own (contentType
// application, mimeType application/mp4, codecs of the sample entry) that
// dash-mpd reads back; the HLS export leaves it out and says so.
func TestIngestMetadataTrack(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"urim", "evte"} {
		for _, withMPD := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s I-MPD %v", entry, withMPD), func(t *testing.T) {
				t.Parallel()
				e := start(t, ingest.Options{})
				pushMeta(t, e, entry, withMPD)
				for _, rep := range []string{video, metaRep} {
					if got := kSet(t, e.keys(rep)); !slices.Equal(got, []int64{k0, k0 + 1, k0 + 2}) {
						t.Errorf("%s: stored K %v; want %d..%d", rep, got, k0, k0+2)
					}
					for k := k0; k <= k0+2; k++ {
						if got := e.deliveries(rep, k); got["a"] != index.Stored || got["b"] != index.Duplicate {
							t.Errorf("%s %d: deliveries %v; want a stored, b duplicate", rep, k, got)
						}
					}
				}
				if !bytes.Equal(e.object(metaRep, k0+1), metaSegment(t, entry, k0+1)) {
					t.Errorf("%s %d: stored bytes differ from the pushed ones", metaRep, k0+1)
				}
				checkMetaStatus(t, e, entry)
				checkMetaExport(t, e, entry)
			})
		}
	}
}

func metaSegment(tb testing.TB, entry string, k int64) []byte {
	tb.Helper()
	b, err := testenv.MetaSegment(entry, 3, uint32(k), uint64(k)*metaSegDur, metaSegDur, fmt.Appendf(nil, "meta %d", k))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// pushMeta pushes, from sources a and b, the video and metadata inits and
// segments K0..K0+2 (and before them the I-MPD with the metadata track
// when withMPD).
func pushMeta(t *testing.T, e *tenv, entry string, withMPD bool) {
	t.Helper()
	init, err := testenv.MetaInit(entry, 3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"a", "b"} {
		if withMPD {
			impd, err := sim(t).MPD()
			if err != nil {
				t.Fatal(err)
			}
			e.mustPut("/ingest/"+ch+"/"+src+"/manifest.mpd", []byte(strings.Replace(string(impd), "</Period>", testenv.MetaAdaptationSet(metaRep, entry)+"</Period>", 1)))
		}
		e.mustPut("/ingest/"+ch+"/"+src+"/"+video+"/init.cmfv", initOf(t, video))
		e.mustPut("/ingest/"+ch+"/"+src+"/"+metaRep+"/init.cmfm", init)
		for k := k0; k <= k0+2; k++ {
			e.mustPut(fmt.Sprintf("/ingest/%s/%s/%s/%d.cmfv", ch, src, video, k), segOf(t, video, k))
			e.mustPut(fmt.Sprintf("/ingest/%s/%s/%s/%d.cmfm", ch, src, metaRep, k), metaSegment(t, entry, k))
		}
	}
}

// checkMetaStatus: status shows the metadata track with its codecs, its
// three segments and no gap.
func checkMetaStatus(t *testing.T, e *tenv, entry string) {
	t.Helper()
	rep, err := e.ar.Status(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range rep.Channels[0].Tracks {
		if ts.Rep == metaRep {
			if ts.ContentType != "metadata" || ts.Codecs != entry || ts.Segments != 3 || len(ts.Gaps) != 0 || ts.Duplicates != 3 {
				t.Errorf("status of %s: %+v; want metadata, codecs %s, 3 segments, 3 duplicates, no gaps", metaRep, ts, entry)
			}
			return
		}
	}
	t.Errorf("status has no %s track", metaRep)
}

// checkMetaExport exports K0..K0+2 as DASH and HLS and checks how the
// metadata track appears in each.
func checkMetaExport(t *testing.T, e *tenv, entry string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vod.mpd")
	res, err := export.Deps{Store: e.ar.Store, DB: e.ar.DB}.VoD(context.Background(), export.Options{Channel: ch, From: time.Unix(0, k0*int64(2*time.Second)),
		To: time.Unix(0, (k0+3)*int64(2*time.Second)), Out: "file://" + filepath.ToSlash(out), Copy: true,
		Formats: []string{export.FormatDASH, export.FormatHLS}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromFile(out)
	if err != nil {
		t.Fatalf("dash-mpd reads the export: %v", err)
	}
	var found *mpd.AdaptationSetType
	for _, as := range m.Periods[0].AdaptationSets {
		for _, r := range as.Representations {
			if r.Id == metaRep {
				found = as
			}
		}
	}
	switch {
	case found == nil:
		t.Fatalf("no AdaptationSet holds %s", metaRep)
	case len(found.Representations) != 1 || found.ContentType != "application" || found.MimeType != "application/mp4" ||
		found.Representations[0].Codecs != entry:
		t.Errorf("metadata AdaptationSet: %d Representations, contentType %q, mimeType %q, codecs %q; want 1, application, application/mp4, %s",
			len(found.Representations), found.ContentType, found.MimeType, found.Representations[0].Codecs, entry)
	}
	if !slices.Equal(res.HLSLeftOut, []string{metaRep}) {
		t.Errorf("HLSLeftOut %v; want [%s]", res.HLSLeftOut, metaRep)
	}
	files, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".m3u8") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(filepath.Dir(out), f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f.Name(), metaRep) || strings.Contains(string(body), metaRep) {
			t.Errorf("HLS playlist %s is or names the metadata track:\n%s", f.Name(), body)
		}
	}
}
