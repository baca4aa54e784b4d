package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/repair"
)

// TestPrintFillersAndEnd: status prints a track's encoder fillers (slat),
// per source too, and its clean end (lmsg); gaps marks filler-only K.
func TestPrintFillersAndEnd(t *testing.T) {
	t.Parallel()
	ended := int64(12)
	cases := []struct {
		name  string
		print func(a *app)
		want  []string
	}{
		{"status", func(a *app) {
			printStatus(a, archive.StatusReport{Channels: []archive.ChannelStatus{{Name: "news", Tracks: []archive.TrackStatus{{
				Rep: "V300", ContentType: "video", First: 10, Last: 12, Segments: 3, Fillers: 1, Ended: &ended, EndedTime: "2026-04-12T00:00:26Z",
				Sources: []archive.SourceStatus{{Name: "a", Stored: 3, Fillers: 1}}}}}}})
		}, []string{
			"  fillers V300: 1 K stored only as an encoder filler (slat)\n",
			"  V300 ended at K 12, 2026-04-12T00:00:26Z (lmsg)\n",
			"  source a V300: stored 3, duplicates 0 (0 bit-identical), conflicts 0, missing 0, rejected 0, fillers 1\n",
		}},
		{"status, started again after lmsg", func(a *app) {
			printStatus(a, archive.StatusReport{Channels: []archive.ChannelStatus{{Name: "news", Tracks: []archive.TrackStatus{{
				Rep: "V300", ContentType: "video", First: 10, Last: 20, Segments: 11, Ended: &ended, EndedTime: "2026-04-12T00:00:26Z"}}}}})
		}, []string{"  V300 ended at K 12, 2026-04-12T00:00:26Z (lmsg); recording went on to K 20\n"}},
		{"gaps", func(a *app) {
			t0 := time.Date(2026, 4, 12, 0, 0, 22, 0, time.UTC)
			printGaps(a, []string{"news"}, map[string]bool{}, []repair.Gap{{Channel: "news", Rep: "V300", Kind: repair.KindFiller,
				From: 11, To: 11, Segments: 1, FromTime: t0, ToTime: t0.Add(2 * time.Second), Duration: 2 * time.Second}})
		}, []string{"11 (filler)", "1 of them stored only as an encoder filler (slat)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			c.print(&app{stdout: &out, stderr: &out})
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output\n%s\nlacks %q", out.String(), w)
				}
			}
		})
	}
}
