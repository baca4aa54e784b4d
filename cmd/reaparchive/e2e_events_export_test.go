package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/manifest"
)

// TestE2ELivesim2SCTE35Players records livesim2's scte35_2 channel from two
// instances, exports it with --format dash,hls --copy (--events both), and
// plays the export: Shaka Player reports a timeline region for each
// SCTE-35 EventStream Event, dash.js fires each when playback reaches it,
// and hls.js reads each EXT-X-DATERANGE, every one at the splice time that
// `events` lists (relative to the start of the presentation).
func TestE2ELivesim2SCTE35Players(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "ads"
	// 48 s: the range holds an announcement (every 30 s) whose splice, 7 s
	// later, is still inside it.
	ar.record(t, ctx, ch, 48*time.Second, "a="+mpdURL(la, "scte35_2/"), "b="+mpdURL(lb, "scte35_2/"))
	video := ar.status(t, ctx, ch).track(t, e2eVideo)
	if len(video.Gaps) != 0 {
		t.Fatalf("video gaps %v: the expected splices assume every segment", video.Gaps)
	}
	start, end := video.First*2, (video.Last+1)*2
	var want []int64 // splice times (Unix s) inside the range
	for _, sit := range livesimSplices(video.First, video.Last) {
		if sit < end {
			want = append(want, sit)
		}
	}
	if len(want) == 0 {
		t.Fatalf("video K %d..%d holds no splice: the recording is too short for the test", video.First, video.Last)
	}
	r := mustCLI(t, ctx, ar.args("events", "--channel", ch)...)
	for _, sit := range want {
		if !strings.Contains(r.stdout, time.Unix(sit, 0).UTC().Format(time.RFC3339)) {
			t.Errorf("events does not list the splice at %d:\n%s", sit, r.stdout)
		}
	}
	out := filepath.Join(ar.store, "vod", "ads.mpd")
	mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", video.FirstTime, "--to", time.Unix(end, 0).UTC().Format(time.RFC3339),
		"--format", "dash,hls", "--copy", "--out", "file://"+filepath.ToSlash(out))...)
	if pl, err := os.ReadFile(filepath.Join(ar.store, "vod", "ads-"+e2eVideo+".m3u8")); err != nil || !strings.Contains(string(pl), "#EXT-X-DATERANGE") {
		t.Fatalf("video playlist without EXT-X-DATERANGE (%v):\n%s", err, pl)
	}

	cases := []struct {
		player, manifest, kind, scheme string
		id                             func(sit int64) string
		fired                          bool // reported when playback reaches it (at ≈ start)
	}{
		{"shaka", "ads.mpd", "region", manifest.SCTE35EventScheme, func(sit int64) string { return fmt.Sprint(sit) }, false},
		{"dashjs", "ads.mpd", "dashjs", manifest.SCTE35EventScheme, func(sit int64) string { return fmt.Sprint(sit) }, true},
		{"hlsjs", "ads.m3u8", "daterange", "SCTE35-OUT", func(sit int64) string { return fmt.Sprintf("scte35-%d", sit) }, false},
	}
	for _, c := range cases {
		t.Run(c.player, func(t *testing.T) {
			res := testenv.Play(t, ctx, c.player, filepath.Join(ar.store, "vod"), c.manifest)
			t.Logf("%s events: %+v", c.player, res.Events)
			var ids []string
			for _, e := range res.Events {
				if e.Kind != c.kind || e.Scheme != c.scheme {
					continue
				}
				ids = append(ids, e.ID)
				var sit int64
				for _, s := range want {
					if c.id(s) == e.ID {
						sit = s
					}
				}
				at := float64(sit - start)
				switch {
				case sit == 0:
					t.Errorf("%s reported event %s, not one of the splices %v", c.player, e.ID, want)
				case math.Abs(e.Start-at) > 0.01:
					t.Errorf("%s: event %s at %.3f s, want %.3f s (splice %d, presentation start %d)", c.player, e.ID, e.Start, at, sit, start)
				case c.fired && (e.At < at-0.1 || e.At > at+2):
					t.Errorf("%s: event %s fired at media time %.3f s, want about %.3f s", c.player, e.ID, e.At, at)
				}
			}
			var wantIDs []string
			for _, sit := range want {
				wantIDs = append(wantIDs, c.id(sit))
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("%s reported SCTE-35 events %v, want %v", c.player, ids, wantIDs)
			}
		})
	}
}
