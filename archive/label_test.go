package archive_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestExportLabel: the Label a source's MPD gives a track (as the pull
// recorder and the ingest server describe it, through TrackMetaOf) is kept
// in the index and comes out as the AdaptationSet's Label of the DASH
// export and the rendition's NAME of the HLS export.
func TestExportLabel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+2)
	lt := manifest.LiveTrack{Rep: simulate.AudioRep, ContentType: "audio", MimeType: "audio/mp4", Lang: "en", Label: "English stereo"}
	if err := e.ch.DescribeTrack(ctx, archive.TrackMetaOf(&lt)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(e.dir, "vod", "day.mpd")
	e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 3), Out: fileURL(out), Formats: []string{export.FormatDASH, export.FormatHLS}, Copy: true})

	m, err := mpd.ReadFromFile(out)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, as := range m.Periods[0].AdaptationSets {
		for _, l := range as.Labels {
			labels[string(as.ContentType)] += l.Value
		}
	}
	if labels["audio"] != "English stereo" || labels["video"] != "" {
		t.Errorf("AdaptationSet labels %v, want audio English stereo, video none", labels)
	}
	mv, err := os.ReadFile(strings.TrimSuffix(out, ".mpd") + ".m3u8")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mv), `TYPE=AUDIO,GROUP-ID="audio",NAME="English stereo",LANGUAGE="en"`) {
		t.Errorf("multivariant playlist without the audio rendition named English stereo:\n%s", mv)
	}
}
