package main

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2EServePlayersLive records two livesim2 encoders that both lose
// every 10th segment (the same K) with record --serve, and has dash.js,
// Shaka Player and hls.js play the live manifest.mpd / master.m3u8 at rate
// 1 for livePlayWatch each, then Shaka Player a start-over from 2 minutes
// back (or from the start of the recording, when it is shorter). What a
// viewer sees is checked: no player error, playback advanced by about the
// wall time watched, across a lost K (in DASH the media time is seconds
// since the epoch, so that is checked; hls.js counts from its first
// segment, but any livePlayWatch of the archive holds a lost K), no stall
// longer than the gap itself, and the start-over began at its start; and
// dash.js started inside a lost K plays from the segment after it.
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
		done <- runCLI(recCtx, ar.args("record", "--channel", ch, "--for", "600s", "--serve", addr, "--serve-edge-lag", "4s",
			"--source", "a="+mpdURL(la, loss), "--source", "b="+mpdURL(lb, loss))...)
	}()
	base := "http://" + addr + "/" + ch + "/"
	live := waitFor(t, base+"manifest.mpd", done)
	first := regexp.MustCompile(`<Period id="P(\d+)"`).FindStringSubmatch(live)
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
		dash := c.manifest == "manifest.mpd"
		checkLivePlay(t, c.player+" live", res)
		if dash {
			checkCrossedLoss(t, c.player+" live", res)
		}
	}
	checkStartInLoss(t, ctx, base, recStart)
	start := max(recStart+int64(e2eSegDur/time.Second), time.Now().Add(-2*time.Minute).Unix())
	res := testenv.PlayLive(t, ctx, "shaka", base+"manifest.mpd?start="+strconv.FormatInt(start, 10), livePlayWatch)
	checkLivePlay(t, "shaka start-over", res)
	checkCrossedLoss(t, "shaka start-over", res)
	if math.Abs(res.StartTime-float64(start)) > 2*e2eSegDur.Seconds() {
		t.Errorf("shaka start-over from %d began at %.2f", start, res.StartTime)
	}
	stopRec()
	if r := <-done; r.code != exitOK {
		t.Fatalf("record --serve: %s", r)
	}
}

// checkStartInLoss has dash.js start a live presentation inside the
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
	res := testenv.PlayLive(t, ctx, "dashjs", base+"manifest.mpd#t=posix:"+strconv.FormatFloat(at, 'f', 1, 64), 12*time.Second)
	checkLivePlay(t, "dashjs live from a lost K", res)
	if next := float64((k + 1) * d); res.StartTime < next-0.5 || res.StartTime > next+1 {
		t.Errorf("dashjs live from %.1f (in lost K %d) began playing at %.2f, not where the next segment begins (%.0f)", at, k, res.StartTime, next)
	}
}

// The loss both encoders of TestE2EServePlayersLive have.
const lossCycle, lossRsq = 20, 3

// livePlayWatch is how long each player watches a live presentation: more
// than the loss cycle (20 s), so it crosses a gap.
const livePlayWatch = 36 * time.Second

// checkLivePlay checks what a viewer of a live presentation saw: the media
// time advanced by about the wall time watched (a player that sticks at a
// gap fails it) and playback never stalled longer than the gap (one lost
// segment) and a second (the stall poll, the seek, and Shaka Player's
// gap-jump timer: behind the live edge too, at start-over, it waits out
// about the gap's time before it jumps, 2.0-2.75 s measured). A DASH player
// keeps its distance to the live edge: at a gap it may wait for the gap's
// time to pass (dash.js and Shaka Player do), then jumps it; hls.js leaves
// the gaps out of its media time (HLS discontinuities) and may wait at each
// while seeking over it (not a stall to the harness). Either way the media
// time falls behind the wall clock by at most a gap per lost K in the
// stretch watched, and a second.
func checkLivePlay(t *testing.T, what string, res testenv.PlayResult) {
	t.Helper()
	t.Logf("%s: from %.2f advanced %.2f s in %.2f s; stalls %+v; seeks %+v", what, res.StartTime, res.Advanced, res.Watched, res.Stalls, res.Seeks)
	// At most a gap per lost K in the stretch watched, and a second: hls.js
	// cuts the gaps out of its media time, and dash.js, waiting at a gap,
	// may jump it late (33.3 s in 36.3 s measured, two gaps).
	lost := math.Floor(res.Watched/lossCycle) + 1 // at most, in any stretch that long
	behind := lost*e2eSegDur.Seconds() + 1
	if res.Advanced < res.Watched-behind || res.Advanced > res.Watched+3 {
		t.Errorf("%s: the media time advanced %.2f s in %.2f s of wall clock", what, res.Advanced, res.Watched)
	}
	for _, s := range res.Stalls {
		if s.Wall > e2eSegDur.Seconds()+1 {
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
