package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2EServePlayersLive records two livesim2 encoders that both lose
// every 10th segment (the same K) with record --serve, its live manifests
// filling the lost K with the test slate (--serve-live-gaps fill), and has
// dash.js, Shaka Player and hls.js play the live manifest.mpd /
// master.m3u8 at rate 1 for livePlayWatch each, then Shaka Player a
// start-over from 2 minutes back (or from the start of the recording, when
// it is shorter). What a viewer sees is checked: no player error, no stall,
// playback advanced by the wall time watched, across a lost K (in DASH the
// media time is seconds since the epoch, so that is checked; hls.js counts
// from its first segment, but any livePlayWatch of the archive holds a lost
// K), and the start-over began at its start.
//
// The same origin's gaps=split presentation (a Period per run, the
// SegmentTimeline showing the gap) is played too: by dash.js started inside
// a lost K, and live, where a player waits out a gap before it jumps it.
func TestE2EServePlayersLive(t *testing.T) {
	// Not parallel: real-time playback on 2 cores next to the package's
	// other end-to-end tests fell behind (dash.js 30.1 s in 36.6 s).
	ctx := t.Context()
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "live"
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	done := make(chan cliResult, 1)
	loss := statuscodePrefix(lossCycle, lossRsq) // K mod 10 == 3 is lost by both
	// The recording (and its origin) lasts until the players are done:
	// --for only bounds it; stopRec ends it cleanly.
	recCtx, stopRec := context.WithCancel(ctx)
	defer stopRec()
	go func() {
		done <- runCLI(recCtx, ar.args("record", "--channel", ch, "--for", "900s", "--serve", addr, "--serve-edge-lag", "4s",
			"--serve-live-gaps", "fill", "--serve-slate", repoSlate(t),
			"--source", "a="+mpdURL(la, loss), "--source", "b="+mpdURL(lb, loss))...)
	}()
	base := "http://" + addr + "/" + ch + "/"
	live := waitFor(t, base+"manifest.mpd", done)
	first := regexp.MustCompile(`startNumber="(\d+)"`).FindStringSubmatch(live) // the first K listed
	if first == nil {
		t.Fatalf("live MPD without a Period:\n%s", live)
	}
	recStart, _ := strconv.ParseInt(first[1], 10, 64)
	recStart *= int64(e2eSegDur / time.Second)
	time.Sleep(10 * time.Second)
	for _, c := range []struct{ player, manifest string }{
		{"dashjs", "manifest.mpd"}, {"shaka", "manifest.mpd"}, {"hlsjs", "master.m3u8"},
	} {
		res := testenv.PlayLive(t, ctx, c.player, base+c.manifest, livePlayWatch)
		checkFilledPlay(t, c.player+" live", res)
		if c.manifest == "manifest.mpd" {
			checkCrossedLoss(t, c.player+" live", res)
		}
	}
	checkStartInLoss(t, ctx, base, recStart)
	res := testenv.PlayLive(t, ctx, "dashjs", base+"manifest.mpd?gaps=split", splitPlayWatch)
	checkSplitPlay(t, "dashjs live gaps=split", res)
	checkCrossedLoss(t, "dashjs live gaps=split", res)
	start := max(recStart+int64(e2eSegDur/time.Second), time.Now().Add(-2*time.Minute).Unix())
	res = testenv.PlayLive(t, ctx, "shaka", base+"manifest.mpd?start="+strconv.FormatInt(start, 10), splitPlayWatch)
	checkFilledPlay(t, "shaka start-over", res)
	checkCrossedLoss(t, "shaka start-over", res)
	if math.Abs(res.StartTime-float64(start)) > 2*e2eSegDur.Seconds() {
		t.Errorf("shaka start-over from %d began at %.2f", start, res.StartTime)
	}
	stopRec()
	if r := <-done; r.code != exitOK {
		t.Fatalf("record --serve: %s", r)
	}
}

// repoSlate is the repository's test slate, testdata/slate.
func repoSlate(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "slate"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// The loss both encoders of TestE2EServePlayersLive have.
const lossCycle, lossRsq = 20, 3

// livePlayWatch is how long each player watches the live presentation
// (the 60 s: three lost K); splitPlayWatch the other
// presentations (more than the loss cycle, 20 s, so it crosses one).
const livePlayWatch, splitPlayWatch = 60 * time.Second, 36 * time.Second

// checkFilledPlay checks what a viewer of a live presentation whose gaps
// are filled saw: playback never stalled as at a gap (a player that waits
// one out stalls 2.0-2.9 s; under the full suite's load Shaka's stall
// detector once nudged a 1.15 s decoder hiccup mid-segment, so up to 1.5 s
// is let pass), and the media time advanced by the wall
// time watched, to within 4 s: the start-up, and a moment at each Period
// boundary, where the players seek over the 2 frames before the encoder's
// first picture (0.5-0.6 s behind in 25 s and -0.5 to +0.1 s in 60 s on a
// quiet machine, 2.4-3.1 s in 60 s under a load average of 17; what tells
// a stall is the stall check: a player waiting out each of the 3 gaps of 60
// s of gaps=split stalls 2-3 s at each).
func checkFilledPlay(t *testing.T, what string, res testenv.PlayResult) {
	t.Helper()
	t.Logf("%s: from %.2f advanced %.2f s in %.2f s; stalls %+v; seeks %+v", what, res.StartTime, res.Advanced, res.Watched, res.Stalls, res.Seeks)
	if res.Advanced < res.Watched-4 || res.Advanced > res.Watched+3 {
		t.Errorf("%s: the media time advanced %.2f s in %.2f s of wall clock", what, res.Advanced, res.Watched)
	}
	for _, s := range res.Stalls {
		if s.Wall > 1.5 {
			t.Errorf("%s: playback stalled at %.2f for %.2f s", what, s.At, s.Wall)
		}
	}
}

// checkSplitPlay checks what a viewer of a live presentation whose gaps
// are holes between Periods (gaps=split) saw: the media time advanced by
// about the wall time watched (a player that sticks at a gap fails it) and
// playback never stalled longer than the gap (one lost segment) and 1.5 s
// (dash.js waited 3.05 s under the full suite). A DASH player keeps its distance to the live edge, and will not
// jump a gap past the end of its seek range (Shaka Player's
// GapJumpingController, dash.js alike): it waits for the gap's time to pass
// (2.0-2.75 s measured), then jumps it. So the media time falls behind the
// wall clock by at most a gap per lost K in the stretch watched, and a
// second.
func checkSplitPlay(t *testing.T, what string, res testenv.PlayResult) {
	t.Helper()
	t.Logf("%s: from %.2f advanced %.2f s in %.2f s; stalls %+v; seeks %+v", what, res.StartTime, res.Advanced, res.Watched, res.Stalls, res.Seeks)
	lost := math.Floor(res.Watched/lossCycle) + 1 // at most, in any stretch that long
	behind := lost*e2eSegDur.Seconds() + 1
	if res.Advanced < res.Watched-behind || res.Advanced > res.Watched+3 {
		t.Errorf("%s: the media time advanced %.2f s in %.2f s of wall clock", what, res.Advanced, res.Watched)
	}
	for _, s := range res.Stalls {
		if s.Wall > e2eSegDur.Seconds()+1.5 {
			t.Errorf("%s: playback stalled at %.2f for %.2f s", what, s.At, s.Wall)
		}
	}
}

// checkCrossedLoss checks that a DASH player's media time (seconds since
// the epoch) went across a K both encoders lost.
func checkCrossedLoss(t *testing.T, what string, res testenv.PlayResult) {
	t.Helper()
	d := e2eSegDur.Seconds()
	for k := int64(math.Ceil(res.StartTime / d)); float64(k+1)*d <= res.StartTime+res.Advanced; k++ {
		if injectedLoss(k, lossCycle, lossRsq) {
			return
		}
	}
	t.Errorf("%s: played %.2f to %.2f, across no lost K", what, res.StartTime, res.StartTime+res.Advanced)
}

// checkStartInLoss has dash.js start a live gaps=split presentation inside the
// latest lost K at least 10 s old (an MPD anchor, #t=posix:), as a viewer
// whose live start falls there does; it must play from the next segment.
// (With the hole at the end of the Period before, dash.js 5.2.1 stayed at
// that time and never played.)
func checkStartInLoss(t *testing.T, ctx context.Context, base string, recStart int64) {
	t.Helper()
	d := int64(e2eSegDur / time.Second)
	k := (time.Now().Unix() - 10) / d
	for !injectedLoss(k, lossCycle, lossRsq) {
		k--
	}
	if k*d < recStart {
		t.Fatalf("no lost K recorded 10 s ago (the recording began at %d)", recStart)
	}
	at := float64(k*d) + 0.5
	res := testenv.PlayLive(t, ctx, "dashjs", base+"manifest.mpd?gaps=split#t=posix:"+strconv.FormatFloat(at, 'f', 1, 64), 12*time.Second)
	checkSplitPlay(t, "dashjs live gaps=split from a lost K", res)
	if next := float64((k + 1) * d); res.StartTime < next-0.5 || res.StartTime > next+1 {
		t.Errorf("dashjs live from %.1f (in lost K %d) began playing at %.2f, not where the next segment begins (%.0f)", at, k, res.StartTime, next)
	}
}
