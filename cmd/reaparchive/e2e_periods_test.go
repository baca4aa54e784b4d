package main

// End-to-end test of recording a multi-Period live source: livesim2
// periods_N starts a new Period every 3600/N s with the same init.

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2ERecordMultiPeriod records livesim2 periods_180 (a Period every
// 20 s = 10 segments) for 36 s from two instances, one addressing by
// $Number$ and one by $Time$ with a SegmentTimeline, so the recording
// spans at least one Period boundary. Both sources must deliver every K
// (each resolves K against the Period that holds it), the archive has no
// gap, the boundary is no Period in the export (--copy), ffmpeg decodes the DASH
// and the HLS export, and Shaka Player (DASH) and hls.js (HLS) play
// them to the end without a stall.
func TestE2ERecordMultiPeriod(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ch, periodK = "periods", 10 // K per source Period
	a, b := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	ar.record(t, ctx, ch, 36*time.Second, "a="+mpdURL(a, "periods_180/"), "b="+mpdURL(b, "periods_180/segtimeline_1/"))

	st := ar.status(t, ctx, ch)
	video, audio := st.track(t, e2eVideo), st.track(t, e2eAudio)
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: gaps %v, want none", tr.Rep, tr.Gaps)
		}
		if tr.Segments < 16 {
			t.Errorf("%s: %d segments in 36 s, want at least 16", tr.Rep, tr.Segments)
		}
		if tr.First/periodK == tr.Last/periodK {
			t.Errorf("%s: K %d..%d lie in one source Period; want a Period boundary (K mod %d = 0) inside", tr.Rep, tr.First, tr.Last, periodK)
		}
		for _, name := range []string{"a", "b"} {
			s := tr.source(t, name)
			if s.Missing != 0 || s.Rejected != 0 || s.Conflicts != 0 {
				t.Errorf("%s: source %s missed %d, rejected %d, conflicted %d: want every K from both", tr.Rep, name, s.Missing, s.Rejected, s.Conflicts)
			}
			if got := s.Stored + s.Duplicates; got != tr.Segments {
				t.Errorf("%s: source %s delivered %d of %d segments", tr.Rep, name, got, tr.Segments)
			}
		}
	}
	if video.First != audio.First || video.Last != audio.Last {
		t.Errorf("video K %d..%d, audio K %d..%d: want the same range", video.First, video.Last, audio.First, audio.Last)
	}
	if t.Failed() {
		return
	}

	from, to := exportRange(t, video)
	out := filepath.Join(ar.store, "vod", "periods.mpd")
	r := mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--format", "dash,hls",
		"--copy", "--out", "file://"+filepath.ToSlash(out))...)
	t.Logf("export-vod: %s", r.stdout)
	if want := fmt.Sprintf("2 tracks, %d segments, 0 gaps, 1 period", video.Segments+audio.Segments); !strings.Contains(r.stdout, want) {
		t.Errorf("export-vod said %q, want %q (a source Period boundary with the same init is no boundary)", r.stdout, want)
	}
	checkDecodes(t, out, video.Segments)
	checkDecodes(t, strings.TrimSuffix(out, ".mpd")+".m3u8", video.Segments)
	for _, c := range []struct{ player, manifest string }{{"shaka", "vod/periods.mpd"}, {"hlsjs", "vod/periods.m3u8"}} {
		t.Run(c.player, func(t *testing.T) {
			res := testenv.Play(t, ctx, c.player, ar.store, c.manifest)
			want := float64(video.Segments) * e2eSegDur.Seconds()
			if math.Abs(res.Duration-want) > 0.5 {
				t.Errorf("%s played %s: duration %.2f s, want %.0f s", c.player, c.manifest, res.Duration, want)
			}
			checkNoJumpNoStall(t, c.player+" "+c.manifest, res)
		})
	}
}
