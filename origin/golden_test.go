package origin_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/reaparchive/reaparchive/simulate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compares the manifests of the live, start-over and catch-up
// presentations of the recorded archive with testdata/golden (go test
// -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	start, end := kTime(k0+3).Unix(), kTime(k0+16).Unix()
	so := fmt.Sprintf("~start=%d", start)
	cu := fmt.Sprintf("~start=%d~end=%d", start, end)
	for _, tc := range []struct{ file, target string }{
		{"live.mpd", "/ch1/manifest.mpd"},
		{"startover.mpd", fmt.Sprintf("/ch1/manifest.mpd?start=%d", start)},
		{"catchup.mpd", fmt.Sprintf("/ch1/manifest.mpd?start=%d&end=%d", start, end)},
		{"catchup-split.mpd", fmt.Sprintf("/ch1/manifest.mpd?start=%d&end=%d&gaps=split", start, end)},
		{"live-master.m3u8", "/ch1/master.m3u8"},
		{"live-video.m3u8", "/ch1/media-" + simulate.VideoRep + ".m3u8"},
		{"startover-audio.m3u8", "/ch1/media-" + simulate.AudioRep + so + ".m3u8"},
		{"catchup-master.m3u8", fmt.Sprintf("/ch1/master.m3u8?start=%d&end=%d", start, end)},
		{"catchup-video.m3u8", "/ch1/media-" + simulate.VideoRep + cu + ".m3u8"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := mustGet(t, s, tc.target)
			file := filepath.Join("testdata", "golden", tc.file)
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test -run TestGolden -update writes it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("GET %s differs from %s (go test -run TestGolden -update rewrites it):\n%s", tc.target, file, got)
			}
		})
	}
}
