package origin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// pageCheck is scripts/player/timeline.mjs's result.
type pageCheck struct {
	OK   bool `json:"ok"`
	View struct {
		From float64 `json:"from"`
		To   float64 `json:"to"`
	} `json:"view"`
	Gaps  []drawnGap `json:"gaps"`
	URL   string     `json:"url"`
	Times []float64  `json:"times"`
	Zoom  struct {
		Day, Minute struct{ From, To float64 }
	} `json:"zoom"`
	MinuteGaps []drawnGap `json:"minute_gaps"`
	Errors     []string   `json:"errors"`
}

// drawnGap is a gap element of the page: its data and its place in the
// timeline, as fractions of its width.
type drawnGap struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	FromK int64   `json:"from_k"`
	Left  float64 `json:"left"`
	Width float64 `json:"width"`
}

// checkGapDrawn checks that gaps are the one gap at gapK, drawn where it is
// in the view [from, to).
func checkGapDrawn(t *testing.T, view string, gaps []drawnGap, from, to float64) {
	t.Helper()
	start := float64(kTime(gapK).Unix())
	if len(gaps) != 1 || gaps[0].FromK != gapK || gaps[0].Start != start {
		t.Fatalf("%s view: gaps %+v, want one at K %d", view, gaps, gapK)
	}
	w := segD.Seconds() / (to - from)
	if g, want := gaps[0], (start-from)/(to-from); math.Abs(g.Left-want) > 0.005 || math.Abs(g.Width-w) > 0.005 {
		t.Errorf("%s view: gap drawn at %.4f width %.4f of the timeline, want %.4f width %.4f", view, g.Left, g.Width, want, w)
	}
}

// TestTimelineBrowser loads the timeline page in headless Chromium: the
// video track shows the known gap (gapK) where it is on the timeline, and a
// click on the track plays a start-over presentation from the clicked time
// in the embedded Shaka Player (its currentTime advances, no error).
func TestTimelineBrowser(t *testing.T) {
	t.Parallel()
	dir := testenv.PlayerDir(t)
	e := recorded(t)
	// The origin's clock runs from liveNow, as a live origin's does.
	t0 := time.Now()
	s, err := origin.New(origin.Config{Store: e.Store, DB: e.DB, Now: func() time.Time { return liveNow.Add(time.Since(t0)) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	clickAt := kTime(k0 + 3).Add(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("..", "scripts", "player", "timeline.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", script, "--url", hs.URL+"/", "--channel", channel, "--rep", simulate.VideoRep,
		"--click-at", fmt.Sprint(clickAt.Unix()), "--advance", "2", "--timeout", "60")
	cmd.Dir = dir
	raw, runErr := cmd.Output()
	var res pageCheck
	line := strings.TrimSpace(string(raw))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("timeline.mjs: no result (%v): %s", runErr, raw)
	}
	from, to := float64(kTime(k0).Unix()), float64(kTime(lastK+1).Unix())
	if res.View.From != from || res.View.To != to {
		t.Errorf("page view %v..%v, want the recording %v..%v", res.View.From, res.View.To, from, to)
	}
	checkGapDrawn(t, "first", res.Gaps, from, to)
	// The start is the clicked time floored to the second, give or take
	// the pixel the click lands on.
	var start int64
	if _, err := fmt.Sscanf(res.URL, "/"+channel+"/manifest.mpd?start=%d", &start); err != nil || math.Abs(float64(start-clickAt.Unix())) > 1 {
		t.Errorf("click played %q, want a start-over from %d", res.URL, clickAt.Unix())
	}
	if !res.OK || len(res.Errors) > 0 || len(res.Times) == 0 {
		t.Fatalf("Shaka did not play from the click: times %v, errors %v (%v)", res.Times, res.Errors, runErr)
	}
	// Media time is epoch seconds: playback began at the clicked time,
	// not at the live edge.
	if got := res.Times[len(res.Times)-1]; got < float64(start) || got > float64(start)+20 {
		t.Errorf("played at %.1f, want from %d on", got, start)
	}
	// Zoomed out to a day and in to a minute about the middle.
	mid := (from + to) / 2
	for _, z := range []struct {
		name     string
		from, to float64
		span     float64
	}{{"day", res.Zoom.Day.From, res.Zoom.Day.To, 86400}, {"minute", res.Zoom.Minute.From, res.Zoom.Minute.To, 60}} {
		if math.Abs(z.to-z.from-z.span) > 0.01 || math.Abs((z.from+z.to)/2-mid) > 0.01 {
			t.Errorf("%s zoom: view %.2f..%.2f, want %v s about %.2f", z.name, z.from, z.to, z.span, mid)
		}
	}
	checkGapDrawn(t, "minute", res.MinuteGaps, res.Zoom.Minute.From, res.Zoom.Minute.To)
}
