package archive_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// Timed-metadata test track: Representation "meta", track 3, timescale
// 1000, so its D*T is 2000.
const (
	metaRep     = "meta"
	metaTrackID = 3
	metaTS      = 1000
	metaSegDur  = 2000
)

// metaInit is the init of the timed-metadata track with sample entry entry
// (urim or evte).
func metaInit(tb testing.TB, entry string) []byte {
	tb.Helper()
	b, err := testenv.MetaInit(entry, metaTrackID, metaTS)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// metaSeg is segment K of the timed-metadata track.
func metaSeg(tb testing.TB, entry string, k int64) []byte {
	tb.Helper()
	b, err := testenv.MetaSegment(entry, metaTrackID, uint32(k), uint64(k)*metaSegDur, metaSegDur, []byte("meta "+strconv.FormatInt(k, 10)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// startMetaSource serves sim's I-MPD with a timed-metadata AdaptationSet
// added, the metadata track's init and its segments up to the newest
// complete one, and everything else from sim.
func startMetaSource(t *testing.T, name, entry string, sim *simulate.Server) *simSource {
	t.Helper()
	src := &simSource{name: name, sim: sim, codes: map[int]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch file, isMeta := strings.CutPrefix(r.URL.Path, "/"+metaRep+"/"); {
		case r.URL.Path == "/manifest.mpd":
			body, err := sim.MPD()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Write([]byte(strings.Replace(string(body), "</Period>", testenv.MetaAdaptationSet(metaRep, entry)+"</Period>", 1)))
		case isMeta && file == "init.mp4":
			w.Write(metaInit(t, entry))
		case isMeta:
			k, err := strconv.ParseInt(strings.TrimSuffix(file, ".m4s"), 10, 64)
			if err != nil || k > nowK()-1 {
				http.NotFound(w, r)
				return
			}
			w.Write(metaSeg(t, entry, k))
		default:
			src.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	src.url = srv.URL + "/manifest.mpd"
	return src
}

// TestPullMetadataTrack: a live MPD with a timed-metadata AdaptationSet
// (contentType "application", codecs urim or evte) is recorded from two
// sources like the other tracks: every K once, no gap, no rejected
// delivery, the track described by its init.
func TestPullMetadataTrack(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"urim", "evte"} {
		t.Run(entry, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			a, b := startMetaSource(t, "a", entry, sim), startMetaSource(t, "b", entry, sim)
			if _, _, err := e.pull(t, context.Background(), pull.Options{For: 5 * time.Second, SegmentTimeout: 3 * time.Second}, a, b); err != nil {
				t.Fatal(err)
			}
			rep, err := e.a.Status(context.Background(), testChannel)
			if err != nil {
				t.Fatal(err)
			}
			var meta *archive.TrackStatus
			for i, ts := range rep.Channels[0].Tracks {
				if ts.Rep == metaRep {
					meta = &rep.Channels[0].Tracks[i]
				}
			}
			if meta == nil {
				t.Fatalf("no %s track in the status: %+v", metaRep, rep.Channels[0].Tracks)
			}
			if meta.ContentType != "metadata" || meta.Codecs != entry || meta.Segments < 2 || len(meta.Gaps) != 0 || meta.Segments != meta.Last-meta.First+1 {
				t.Errorf("meta track %+v; want content type metadata, codecs %s, 2 or more segments, no gaps", *meta, entry)
			}
			for _, s := range meta.Sources {
				if s.Rejected != 0 || s.Conflicts != 0 {
					t.Errorf("meta track source %+v", s)
				}
			}
			for k, outcomes := range e.byOutcome(t, metaRep, meta.First, meta.Last) {
				if stored := countOutcome(outcomes, index.Stored); stored != 1 {
					t.Errorf("K %d: outcomes %v; want one stored copy", k, outcomes)
				}
			}
			checkConsistent(t, e)
		})
	}
}

// countOutcome counts the sources whose delivery had outcome o.
func countOutcome(outcomes map[string]index.Outcome, o index.Outcome) int {
	n := 0
	for _, got := range outcomes {
		if got == o {
			n++
		}
	}
	return n
}

// TestExportMetadataHLSOnly: offered from two sources (OfferSegment), the
// timed-metadata track is stored once per K; an HLS-only --copy export
// leaves it out (HLSLeftOut), writes no playlist for it and copies none of
// its objects, while the video is exported as before.
func TestExportMetadataHLSOnly(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"urim", "evte"} {
		t.Run(entry, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			for _, src := range []string{"a", "b"} {
				e.Fill(t, src, sim, k0, k0+2)
				if _, err := e.ch.OfferInit(ctx, src, metaRep, metaInit(t, entry), false); err != nil {
					t.Fatal(err)
				}
				for k := k0; k <= k0+2; k++ {
					if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: src, Rep: metaRep, Data: metaSeg(t, entry, k), ExpectK: k}); err != nil {
						t.Fatalf("%s K %d from %s: %v", metaRep, k, src, err)
					}
				}
			}
			if n := len(e.mediaKeys(t, metaRep)); n != 3 {
				t.Errorf("%d %s objects; want 3", n, metaRep)
			}
			for k, outcomes := range e.byOutcome(t, metaRep, k0, k0+2) {
				if outcomes["a"] != index.Stored || outcomes["b"] != index.Duplicate {
					t.Errorf("%s %d: %v; want a stored, b duplicate", metaRep, k, outcomes)
				}
			}
			dir := t.TempDir()
			res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 3), Out: fileURL(dir) + "/", Copy: true, Formats: []string{export.FormatHLS}})
			if len(res.HLSLeftOut) != 1 || res.HLSLeftOut[0] != metaRep {
				t.Errorf("HLSLeftOut %v; want [%s]", res.HLSLeftOut, metaRep)
			}
			for name, body := range testenv.ReadTree(t, dir).Files {
				if strings.Contains(name, metaRep) || (strings.HasSuffix(name, ".m3u8") && strings.Contains(string(body), metaRep)) {
					t.Errorf("export has %s, which is or names the metadata track", name)
				}
			}
			if res.Copied != 2*(1+3) || res.Segments != 6 || res.Tracks != 2 {
				t.Errorf("copied %d objects, %d segments, %d tracks; want the video's and audio's 8 objects, 6 segments, 2 tracks", res.Copied, res.Segments, res.Tracks)
			}
		})
	}
}

// TestMetadataTrackGaps: a K the timed-metadata track lacks is a gap of
// that track in the status, as for any track.
func TestMetadataTrackGaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.ch.OfferInit(ctx, "a", metaRep, metaInit(t, "evte"), false); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{k0, k0 + 1, k0 + 3} {
		if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: metaRep, Data: metaSeg(t, "evte", k), ExpectK: k}); err != nil {
			t.Fatalf("K %d: %v", k, err)
		}
	}
	rep, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	ts := rep.Channels[0].Tracks
	if len(ts) != 1 || ts[0].Rep != metaRep || ts[0].Segments != 3 || len(ts[0].Gaps) != 1 || ts[0].Gaps[0] != (index.Range{From: k0 + 2, To: k0 + 2}) {
		t.Errorf("status %+v; want %s with 3 segments and the gap K %d", ts, metaRep, k0+2)
	}
}
