package origin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
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
	Drag       struct {
		URL    string `json:"url"`
		Copied string `json:"copied"`
	} `json:"drag"`
	Catchup struct {
		URL      string    `json:"url"`
		Times    []float64 `json:"times"`
		Duration float64   `json:"duration"`
		Ended    bool      `json:"ended"`
		Errors   []string  `json:"errors"`
	} `json:"catchup"`
	Export       exportShown `json:"export"`
	FailedExport exportShown `json:"failed_export"`
	Errors       []string    `json:"errors"`
}

// exportShown is an export as the page showed it when it ended.
type exportShown struct {
	Job         *exportJobDoc `json:"job"`
	State       string        `json:"state"` // the status element's data-state
	PercentText string        `json:"percent_text"`
	Progress    float64       `json:"progress"`
	Text        string        `json:"text"`
	Percents    []string      `json:"percents"`
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
// in the embedded Shaka Player (its currentTime advances, no error). Then a
// mouse drag over the track selects a range (checkDragPlayExport): its
// catch-up URL plays to its end, and Export writes what export-vod writes
// for it, the page showing the job done at 100 %.
func TestTimelineBrowser(t *testing.T) {
	t.Parallel()
	dir := testenv.PlayerDir(t)
	e := recorded(t)
	exportTo := t.TempDir()
	// The origin's clock runs from liveNow, as a live origin's does.
	t0 := time.Now()
	s, err := origin.New(origin.Config{Store: e.Store, DB: e.DB, ExportTo: "file://" + exportTo,
		Now: func() time.Time { return liveNow.Add(time.Since(t0)) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	clickAt := kTime(k0 + 3).Add(time.Second)
	// The drag is from half a second into K k0+3 to half a second before
	// K k0+7 (the page selects whole seconds: K k0+3..k0+6).
	dragFrom, dragTo := kTime(k0+3).Add(time.Second/2), kTime(k0+7).Add(-time.Second/2)
	// Then a drag over the gap alone, whose export fails.
	failFrom, failTo := kTime(gapK).Add(time.Second/2), kTime(gapK+1).Add(-time.Second/2)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("..", "scripts", "player", "timeline.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", script, "--url", hs.URL+"/", "--channel", channel, "--rep", simulate.VideoRep,
		"--click-at", fmt.Sprint(clickAt.Unix()), "--advance", "2", "--timeout", "60",
		"--drag-from", fmt.Sprintf("%.3f", unixSeconds(dragFrom)), "--drag-to", fmt.Sprintf("%.3f", unixSeconds(dragTo)), "--export", "1",
		"--fail-drag-from", fmt.Sprintf("%.3f", unixSeconds(failFrom)), "--fail-drag-to", fmt.Sprintf("%.3f", unixSeconds(failTo)))
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
		t.Fatalf("Shaka did not play from the click, or the page failed after it: times %v, errors %v (%v)", res.Times, res.Errors, runErr)
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
	checkDragPlayExport(t, e, res, hs.URL, exportTo, dragFrom, dragTo)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// checkDragPlayExport checks the page's selection of the dragged range
// [dragFrom, dragTo) in res (base is the origin's URL, exportTo its
// --export-to directory): its catch-up URL (shown and copied) is the
// range to the second, give or take the second a pixel can round to; it
// played to its end; and its export ended done at 100 % with the MPD and
// playlist export-vod writes for that range, listing its segments. The
// export of a range of the gap alone is shown failed, with its error.
func checkDragPlayExport(t *testing.T, e *archivetest.Env, res pageCheck, base, exportTo string, dragFrom, dragTo time.Time) {
	t.Helper()
	var from, to int64
	if _, err := fmt.Sscanf(res.Drag.URL, base+"/"+channel+"/manifest.mpd?start=%d&end=%d", &from, &to); err != nil ||
		math.Abs(float64(from)-unixSeconds(dragFrom)) > 1 || math.Abs(float64(to)-unixSeconds(dragTo)) > 1 {
		t.Fatalf("drag %v..%v: the page shows catch-up URL %q (%v)", dragFrom.Unix(), dragTo.Unix(), res.Drag.URL, err)
	}
	if res.Drag.Copied != res.Drag.URL {
		t.Errorf("Copy URL copied %q, the page shows %q", res.Drag.Copied, res.Drag.URL)
	}
	c := res.Catchup
	if want := fmt.Sprintf("/%s/manifest.mpd?start=%d&end=%d", channel, from, to); c.URL != want {
		t.Errorf("Play catch-up played %q, want %q", c.URL, want)
	}
	if !c.Ended || len(c.Errors) > 0 || len(c.Times) == 0 || math.Abs(c.Duration-float64(to-from)) > 0.5 || c.Times[len(c.Times)-1] < c.Duration-0.5 {
		t.Fatalf("catch-up of %d s: ended %v at %v of %.2f s, errors %v", to-from, c.Ended, c.Times, c.Duration, c.Errors)
	}
	x := res.Export
	if x.Job == nil || x.Job.State != "done" || x.Job.Percent != 100 || x.PercentText != "100 %" || x.Progress != 100 || !strings.Contains(x.Text, "done") {
		t.Fatalf("export: the page shows %q %q (bar %v, shown on the way %q), job %+v; want done at 100 %%", x.PercentText, x.Text, x.Progress, x.Percents, x.Job)
	}
	t.Logf("dragged %q; catch-up ended at %.2f of %.2f s; export shown %q, then %q", res.Drag.URL, c.Times[len(c.Times)-1], c.Duration, x.Percents, x.Text)
	if dir := filepath.Join(exportTo, fmt.Sprintf("%s-%d-%d", channel, from, to)); x.Job.MPD != filepath.Join(dir, "manifest.mpd") {
		t.Fatalf("export wrote its MPD to %s, want it in %s (--export-to)", x.Job.MPD, dir)
	}
	got := mpdtest.Read(t, x.Job.MPD)
	ks := mpdtest.KRange((from*int64(time.Second))/int64(segD), (to*int64(time.Second)-1)/int64(segD))
	for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
		if len(got.Periods) != 1 || !mpdtest.EqualKs(got.Periods[0].Ks(rep), ks) {
			t.Errorf("exported MPD %s: %s Ks %v, want %v", x.Job.MPD, rep, got.Periods[0].Ks(rep), ks)
		}
	}
	t.Logf("the gap's export shown %q", res.FailedExport.Text)
	if f := res.FailedExport; f.Job == nil || f.Job.State != "failed" || f.State != "failed" || f.Job.Error == "" || !strings.Contains(f.Text, "failed") || !strings.Contains(f.Text, f.Job.Error) {
		t.Errorf("export of the gap alone: the page shows %q (state %q), job %+v; want failed with the job's error", f.Text, f.State, f.Job)
	}
	// What export-vod writes for the range, byte for byte.
	want := t.TempDir()
	o := export.Options{Channel: channel, From: time.Unix(from, 0), To: time.Unix(to, 0), Copy: true, Gaps: export.GapsSignal,
		Formats: []string{export.FormatDASH, export.FormatHLS}, Out: "file://" + want + "/"}
	if _, err := events.VoD(t.Context(), export.Deps{Store: e.Store, DB: e.DB}, o); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"manifest.mpd", "manifest.m3u8"} {
		a, errA := os.ReadFile(filepath.Join(filepath.Dir(x.Job.MPD), name))
		b, errB := os.ReadFile(filepath.Join(want, name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("exported %s differs from export-vod's (%v, %v):\n%s\nwant\n%s", name, errA, errB, a, b)
		}
	}
}
