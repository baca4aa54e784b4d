package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2ELivesim2Subtitles records livesim2's
// timesubsstpp_en/timesubswvtt_de channel (IMSC1 in English, WebVTT in
// German, both in fMP4) from two instances, exports it with --format
// dash,hls --copy and checks that the players show cues: the MPD's text
// AdaptationSets keep format, language and role; the multivariant
// playlist gives each format its own SUBTITLES group with the CODECS HLS
// players read (stpp.ttml.im1t, wvtt); Shaka Player (with segment
// prefetch off: see scripts/player/play.mjs) and dash.js show cues of both
// tracks from the MPD, Shaka and hls.js of both from the playlists: the WebVTT rendition is segmented WebVTT text converted from the
// fMP4 segments (hls.js 1.7 reads WebVTT only as text files, not in fMP4:
// video-dev/hls.js#6273). From the playlists, hls.js and Shaka place the
// WebVTT cues where Shaka places them from the MPD (X-TIMESTAMP-MAP).
func TestE2ELivesim2Subtitles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch, prefix = "subs", "timesubsstpp_en/timesubswvtt_de/"
	ar.record(t, ctx, ch, 24*time.Second, "a="+mpdURL(la, prefix), "b="+mpdURL(lb, prefix))
	video := subtitleChannelVideo(t, ar, ch)

	out := filepath.Join(ar.store, "vod", ch+".mpd")
	mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", video.FirstTime, "--to", time.Unix((video.Last+1)*2, 0).UTC().Format(time.RFC3339),
		"--format", "dash,hls", "--copy", "--out", "file://"+filepath.ToSlash(out))...)
	checkSubtitleMPD(t, out)
	mv, err := os.ReadFile(filepath.Join(ar.store, "vod", ch+".m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`TYPE=SUBTITLES,GROUP-ID="subs-stpp",NAME="timestpp-en",LANGUAGE="en"`,
		`TYPE=SUBTITLES,GROUP-ID="subs-wvtt",NAME="timewvtt-de",LANGUAGE="de"`,
		`,stpp.ttml.im1t",`, `,wvtt",`, `SUBTITLES="subs-stpp"`, `SUBTITLES="subs-wvtt"`,
	} {
		if !strings.Contains(string(mv), want) {
			t.Errorf("multivariant playlist without %s:\n%s", want, mv)
		}
	}

	if pl, err := os.ReadFile(filepath.Join(ar.store, "vod", ch+"-timewvtt-de.m3u8")); err != nil || strings.Contains(string(pl), "#EXT-X-MAP") || !strings.Contains(string(pl), ".vtt\n") {
		t.Errorf("WebVTT rendition's playlist (%v), want one of WebVTT text files:\n%s", err, pl)
	}

	cues := map[string][]testenv.PlayerCue{} // by player and manifest: the "de" cues
	for _, c := range []struct{ player, manifest, lang string }{
		{"shaka", ch + ".mpd", "en"}, {"shaka", ch + ".mpd", "de"},
		{"dashjs", ch + ".mpd", "en"}, {"dashjs", ch + ".mpd", "de"},
		{"shaka", ch + ".m3u8", "en"}, {"shaka", ch + ".m3u8", "de"},
		{"hlsjs", ch + ".m3u8", "en"}, {"hlsjs", ch + ".m3u8", "de"},
	} {
		t.Run(c.player+"_"+c.manifest+"_"+c.lang, func(t *testing.T) {
			res := testenv.PlayText(t, ctx, c.player, filepath.Join(ar.store, "vod"), c.manifest, c.lang)
			if c.lang == "de" {
				for _, cue := range res.Cues {
					if cue.Lang == c.lang {
						cues[c.player+" "+c.manifest] = append(cues[c.player+" "+c.manifest], cue)
					}
				}
			}
			shown := 0
			for _, cue := range res.Cues {
				if cue.Shown && cue.Lang == c.lang {
					shown++
				}
			}
			t.Logf("%s %s: %d cues, %d shown; first %+v", c.player, c.manifest, len(res.Cues), shown, res.Cues[:min(len(res.Cues), 3)])
			// Every 2 s segment of a timesubs track has cues; a player
			// polled at 50 ms at 4x speed sees most of them on screen.
			if want := int(video.Last-video.First+1) / 2; shown < want {
				t.Errorf("%s showed %d cues of the %q track from %s, want at least %d (cues %+v)", c.player, shown, c.lang, c.manifest, want, res.Cues)
			}
		})
	}
	for _, hls := range []string{"hlsjs " + ch + ".m3u8", "shaka " + ch + ".m3u8"} {
		sameCueTimes(t, hls, cues[hls], "shaka "+ch+".mpd", cues["shaka "+ch+".mpd"])
	}
}

// sameCueTimes checks that every cue a player held from one
// presentation starts (within 0.1 s) where the reference's cue with the
// same text does (the timesubs cues' texts are unique: the wall-clock
// second and K).
func sameCueTimes(t *testing.T, name string, got []testenv.PlayerCue, refName string, ref []testenv.PlayerCue) {
	t.Helper()
	if len(got) == 0 || len(ref) == 0 {
		t.Errorf("%s has %d WebVTT cues, %s %d; want some in both", name, len(got), refName, len(ref))
		return
	}
	for _, c := range got {
		i := slices.IndexFunc(ref, func(r testenv.PlayerCue) bool { return r.Text == c.Text })
		switch {
		case i < 0:
			t.Errorf("%s cue at %.3f s %q: %s has no cue with that text", name, c.Start, c.Text, refName)
		case math.Abs(c.Start-ref[i].Start) > 0.1:
			t.Errorf("%s cue %q at %.3f s; %s has it at %.3f s", name, c.Text, c.Start, refName, ref[i].Start)
		}
	}
}

// subtitleChannelVideo reads status --json of the subtitle channel and
// returns its video track after checking that all four tracks are there,
// the video has no gap and the text tracks no cue issue.
func subtitleChannelVideo(t *testing.T, ar *e2eArchive, ch string) jsonTrack {
	t.Helper()
	r := mustCLI(t, t.Context(), ar.args("status", "--json", "--channel", ch)...)
	var st jsonStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Channels) != 1 {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	var reps []string
	var video jsonTrack
	for _, tr := range st.Channels[0].Tracks {
		reps = append(reps, tr.Rep)
		if tr.Rep == e2eVideo {
			video = tr
		}
		// livesim2's cues are in order and on the grid: the recorder's
		// cue check finds nothing in them.
		if strings.HasPrefix(tr.Rep, "time") && (tr.TextIssues == nil || *tr.TextIssues != 0) {
			t.Errorf("%s: text_issues %v, want 0", tr.Rep, tr.TextIssues)
		}
	}
	slices.Sort(reps)
	if strings.Join(reps, ",") != "A48,V300,timestpp-en,timewvtt-de" || len(video.Gaps) != 0 {
		t.Fatalf("status: tracks %v, video gaps %v; want A48, V300 and the two text tracks, no gap\n%s", reps, video.Gaps, r.stdout)
	}
	return video
}

// checkSubtitleMPD checks the exported MPD's text AdaptationSets: fMP4
// (application/mp4), contentType text, the source's codecs and language,
// a subtitle Role.
func checkSubtitleMPD(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // lang: mimeType codecs roles
	for _, p := range m.Periods {
		for _, as := range p.AdaptationSets {
			if as.ContentType != "text" {
				continue
			}
			desc := as.MimeType
			for _, rep := range as.Representations {
				desc += " " + rep.Codecs
			}
			for _, r := range as.Roles {
				desc += " " + r.Value
			}
			got[as.Lang] = desc
		}
	}
	want := map[string]string{"en": "application/mp4 stpp subtitle", "de": "application/mp4 wvtt subtitle"}
	if len(got) != len(want) || got["en"] != want["en"] || got["de"] != want["de"] {
		t.Errorf("text AdaptationSets %v, want %v\n%s", got, want, data)
	}
}
