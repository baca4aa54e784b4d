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
	Gaps []struct {
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		FromK int64   `json:"from_k"`
		Left  float64 `json:"left"`
		Width float64 `json:"width"`
	} `json:"gaps"`
	URL    string    `json:"url"`
	Times  []float64 `json:"times"`
	Errors []string  `json:"errors"`
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
	if len(res.Gaps) != 1 || res.Gaps[0].FromK != gapK || res.Gaps[0].Start != float64(kTime(gapK).Unix()) {
		t.Fatalf("page gaps %+v, want one at K %d", res.Gaps, gapK)
	}
	if g, want := res.Gaps[0], (float64(kTime(gapK).Unix())-from)/(to-from); math.Abs(g.Left-want) > 0.005 || math.Abs(g.Width-2/(to-from)) > 0.005 {
		t.Errorf("gap drawn at %.4f width %.4f of the timeline, want %.4f width %.4f", g.Left, g.Width, want, 2/(to-from))
	}
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
}
