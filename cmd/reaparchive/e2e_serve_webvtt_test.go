package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2EServeWebVTTLive records livesim2's timesubswvtt_de channel (WebVTT
// in fMP4) from two instances with record --serve, and plays the origin's
// live HLS with the German subtitles selected in hls.js: the WebVTT
// rendition lists the origin's WebVTT text files (hls.js 1.7 reads WebVTT
// only as text, not in fMP4), and hls.js shows their cues.
func TestE2EServeWebVTTLive(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch, prefix = "subs", "timesubswvtt_de/"
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	done := make(chan cliResult, 1)
	recCtx, stopRec := context.WithCancel(ctx)
	defer stopRec()
	go func() {
		done <- runCLI(recCtx, ar.args("record", "--channel", ch, "--for", "600s", "--serve", addr, "--serve-edge-lag", "4s",
			"--source", "a="+mpdURL(la, prefix), "--source", "b="+mpdURL(lb, prefix))...)
	}()
	base := "http://" + addr + "/" + ch + "/"
	mv := waitFor(t, base+"master.m3u8", done)
	if !strings.Contains(mv, `TYPE=SUBTITLES`) || !strings.Contains(mv, `LANGUAGE="de"`) {
		t.Fatalf("multivariant playlist without the German subtitles:\n%s", mv)
	}
	time.Sleep(10 * time.Second)
	if pl := waitFor(t, base+"media-timewvtt-de.m3u8", done); strings.Contains(pl, "#EXT-X-MAP") || !strings.Contains(pl, "_vtt-timewvtt-de/seg-") {
		t.Errorf("the WebVTT rendition's playlist does not list WebVTT text files:\n%s", pl)
	}
	res := testenv.PlayLiveText(t, ctx, "hlsjs", base+"master.m3u8", "de", 16*time.Second)
	shown := 0
	for _, c := range res.Cues {
		if c.Lang == "de" && c.Shown {
			shown++
		}
	}
	if shown == 0 {
		t.Errorf("hls.js showed no German cue of the live HLS; cues %+v", res.Cues)
	}
	stopRec()
	if r := <-done; r.code != exitOK {
		t.Fatalf("record --serve: %s", r)
	}
}
