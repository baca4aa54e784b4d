package reconcile_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/reconcile"
)

func allTextIssues(t testing.TB, db *index.DB) []index.TextIssue {
	t.Helper()
	ch, err := db.Channel(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	issues, err := db.TextIssues(context.Background(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range issues {
		issues[i].TrackID = 0 // differs between indexes; Rep names the track
	}
	return issues
}

// TestReindexTextIssues: reindex into an empty index reads the segments of
// text tracks and finds the cue issues the recorder found: malformed cues,
// off the grid, overlapping the segment before, TTML cues outside their
// sample; livesim2's own segments stay clean.
func TestReindexTextIssues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := archivetest.Open(t, testenv.Store("file").URL(t), filepath.Join(t.TempDir(), "recorder.db"), channel, 2*time.Second)
	st, db, ch := r.Store, r.DB, r.Channel
	const d, k = 2000, testenv.LivesimTextK
	wvttInit, wvttSeg := testenv.LivesimText(t, "timesubs_wvtt_de")
	stppInit, stppSeg := testenv.LivesimText(t, "timesubs_stpp_en")
	for rep, init := range map[string][]byte{"timewvtt-de": wvttInit, "timestpp-en": stppInit} {
		if _, err := ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
	}
	// The TTML document of K, one segment late: its cues are outside.
	in, err := cmaf.ParseInit(stppInit)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cmaf.ParseSegment(stppSeg, in)
	if err != nil {
		t.Fatal(err)
	}
	ttml := stppSeg[info.TextSamples[0].Offset:]
	segs := []struct {
		rep  string
		k    int64
		data []byte
	}{
		{"timewvtt-de", k, wvttSeg},
		{"timewvtt-de", k + 1, testenv.TextSegment(t, (k+1)*d, []uint32{d}, testenv.Box("vttc"))},
		{"timewvtt-de", k + 2, testenv.TextSegment(t, (k+2)*d-100, []uint32{d}, testenv.Box("vtte"))},
		{"timestpp-en", k, stppSeg},
		{"timestpp-en", k + 1, testenv.TextSegment(t, (k+1)*d, []uint32{d}, ttml)},
	}
	for _, s := range segs {
		if _, err := ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: s.rep, Data: s.data, ExpectK: s.k}); err != nil {
			t.Fatalf("%s K %d: %v", s.rep, s.k, err)
		}
	}
	want := allTextIssues(t, db)
	if len(want) != 6 {
		t.Fatalf("recorder found %d text issues, want 6: %+v", len(want), want)
	}
	// In batches of one row, the overlap of K+2 with K+1 is found only
	// if K+1's row is in the index before K+2's cues are checked.
	for _, batch := range []int{0, 1} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			t.Parallel()
			fresh := openIndex(t, filepath.Join(t.TempDir(), "fresh.db"))
			opts := reconcile.Options{Workers: 2}
			if batch > 0 {
				opts = reconcile.WithBatchSize(opts, batch)
			}
			res, err := reconcile.Reindex(ctx, st, fresh, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Channels[0]; got.BodiesRead != 5 || got.TextIssues != 6 || len(got.Problems) != 0 {
				t.Errorf("bodies read %d, text issues %d, problems %v; want 5, 6, none", got.BodiesRead, got.TextIssues, got.Problems)
			}
			if got := allTextIssues(t, fresh); !reflect.DeepEqual(got, want) {
				t.Errorf("text issues\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
