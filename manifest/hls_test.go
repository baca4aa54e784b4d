package manifest

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"
)

func hlsName(rep string) string { return "x-" + rep + ".m3u8" }

func hlsCases() []struct {
	name string
	in   VoDInput
} {
	sv := audioTrack("A48sv", audioSegs(k0, k0+3))
	sv.Lang = "sv"
	subs := VoDTrack{Rep: "T1", ContentType: "text", MimeType: "application/mp4", Codecs: "wvtt", Lang: "en",
		Bandwidth: 1000, Timescale: 1000, SegDur: 2000, InitPath: "ch1/T1/init-0a0b0c0d0e0f0a0b.mp4", MediaPattern: "ch1/T1/$Number$.m4s"}
	for k := int64(k0); k <= k0+3; k++ {
		subs.Segments = append(subs.Segments, VoDSegment{K: k, EPT: uint64(k) * 2000, Duration: 2000})
	}
	filler := videoTrack("V300", 300000, videoSegs(k0+4, k0+5))
	filler.InitPath, filler.MediaPattern = "ch1/V300/filler/init-5555555555555555.mp4", "ch1/V300/filler/$Number$-6666666666666666.cmfv"
	startK := int64(k0)
	wvttText := textTrack("timewvtt-de", "wvtt", "de", "caption")
	wvttText.HLSTextPattern = "x-timewvtt-de/seg-$Number$.vtt" // as export-vod writes them
	return []struct {
		name string
		in   VoDInput
	}{
		{"hls_two_tracks", VoDInput{BaseURL: "../", Periods: []VoDPeriod{{Tracks: []VoDTrack{
			audioTrack("A48", audioSegs(k0, k0+4)),
			videoTrack("V300", 300000, videoSegs(k0, k0+4)),
		}}}}},
		{"hls_signal_gaps", VoDInput{BaseURL: "https://archive.example.com/vod/", Periods: []VoDPeriod{{StartK: &startK, Tracks: []VoDTrack{
			videoTrack("V300", 300000, withGaps(videoSegs(k0, k0+6), k0+3)),
			audioTrack("A48", withGaps(audioSegs(k0, k0+6), k0, k0+3, k0+4, k0+6)),
		}}}}},
		{"hls_periods", VoDInput{Periods: []VoDPeriod{
			{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3))}},
			{Tracks: []VoDTrack{filler, audioTrack("A48", audioSegs(k0+4, k0+5))}},
			{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0+7, k0+8)), audioTrack("A48", audioSegs(k0+7, k0+8))}},
		}}},
		{"hls_renditions", VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
			subs, sv, audioTrack("A48", audioSegs(k0, k0+3)),
			videoTrack("V600", 600000, videoSegs(k0, k0+3)), videoTrack("V300", 300000, videoSegs(k0, k0+3)),
		}}}}},
		{"hls_subtitles", VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{ // livesim2 timesubsstpp_en/timesubswvtt_de
			videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3)),
			textTrack("timestpp-en", "stpp", "en", "subtitle"), wvttText,
			textTrack("timestpp-sv", "stpp", "sv", "forced-subtitle", "description"),
		}}}}},
		{"hls_timed_metadata", VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{ // left out: HLS has no place for it
			metaTrack("meta-urim", "urim"), videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3)),
		}}}}},
		{"hls_audio_only", VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{audioTrack("A48", audioSegs(k0, k0+2))}}}}},
	}
}

// joinHLS is a golden file's content: every playlist, each after a line
// naming it.
func joinHLS(pls []HLSPlaylist) []byte {
	var b bytes.Buffer
	for _, p := range pls {
		name := p.Name
		if name == "" {
			name = "(multivariant)"
		}
		b.WriteString("### " + name + "\n")
		b.Write(p.Body)
	}
	return b.Bytes()
}

func TestBuildHLSGolden(t *testing.T) {
	t.Parallel()
	for _, c := range hlsCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pls, err := BuildHLS(c.in, hlsName)
			if err != nil {
				t.Fatal(err)
			}
			got := joinHLS(pls)
			path := filepath.Join("testdata", "golden", c.name+".m3u8")
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", path, got)
			}
			for range 3 {
				again, err := BuildHLS(c.in, hlsName)
				if err != nil || !bytes.Equal(joinHLS(again), got) {
					t.Fatalf("a second build differs (%v)", err)
				}
			}
		})
	}
}

// TestBuildHLSStructure decodes every media playlist with hls-m3u8 and
// checks it against the input: one segment per entry with its duration,
// URI, EXT-X-GAP for gap entries, an EXT-X-MAP, EXT-X-PROGRAM-DATE-TIME and
// (after the first) EXT-X-DISCONTINUITY at each Period's first segment,
// VOD with EXT-X-ENDLIST, and a target duration no EXTINF exceeds.
func TestBuildHLSStructure(t *testing.T) {
	t.Parallel()
	for _, c := range hlsCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pls, err := BuildHLS(c.in, hlsName)
			if err != nil {
				t.Fatal(err)
			}
			mvp, typ, err := m3u8.DecodeFrom(bytes.NewReader(pls[0].Body), true)
			if err != nil || typ != m3u8.MASTER {
				t.Fatalf("multivariant playlist: %v, type %v", err, typ)
			}
			mv := mvp.(*m3u8.MasterPlaylist)
			uris := map[string]bool{}
			for _, v := range mv.Variants {
				uris[v.URI] = true
				if v.Bandwidth == 0 || v.Codecs == "" {
					t.Errorf("variant %s: BANDWIDTH %d CODECS %q", v.URI, v.Bandwidth, v.Codecs)
				}
				for _, a := range v.Alternatives {
					uris[a.URI] = true
				}
			}
			for _, p := range pls[1:] {
				if !uris[p.Name] {
					t.Errorf("media playlist %s is not referenced by the multivariant playlist", p.Name)
				}
				mp, typ, err := m3u8.DecodeFrom(bytes.NewReader(p.Body), true)
				if err != nil || typ != m3u8.MEDIA {
					t.Fatalf("%s: %v", p.Name, err)
				}
				pl := mp.(*m3u8.MediaPlaylist)
				if pl.MediaType != m3u8.VOD || !pl.Closed || !strings.Contains(string(p.Body), "#EXT-X-ENDLIST") {
					t.Errorf("%s: not a closed VOD playlist", p.Name)
				}
				var want []VoDSegment
				var firsts []int
				var trs []*VoDTrack
				for pi := range c.in.Periods {
					for ti := range c.in.Periods[pi].Tracks {
						if tr := &c.in.Periods[pi].Tracks[ti]; tr.Rep == p.Rep {
							firsts = append(firsts, len(want))
							for range tr.Segments {
								trs = append(trs, tr)
							}
							want = append(want, tr.Segments...)
						}
					}
				}
				for len(want) > 0 && want[len(want)-1].Gap { // trailing gaps are left out
					want, trs = want[:len(want)-1], trs[:len(trs)-1]
				}
				segs := pl.GetAllSegments()
				if len(segs) != len(want) {
					t.Fatalf("%s: %d segments, want %d", p.Name, len(segs), len(want))
				}
				for i, s := range segs {
					w, tr := want[i], trs[i]
					uri, _ := MediaPath(tr, w.K)
					uri = c.in.BaseURL + uri
					if tr.HLSTextPattern != "" { // WebVTT text files beside the playlist
						uri = strings.ReplaceAll(tr.HLSTextPattern, "$Number$", strconv.FormatInt(w.K, 10))
					}
					if s.URI != uri || s.Gap != w.Gap {
						t.Errorf("%s segment %d: %s gap %v; want %s gap %v", p.Name, i, s.URI, s.Gap, uri, w.Gap)
					}
					// EXTINF is the slot on the epoch grid, D (see BuildHLS).
					if d := float64(tr.SegDur) / float64(tr.Timescale); s.Duration < d-1e-6 || s.Duration > d+1e-6 {
						t.Errorf("%s segment %d: EXTINF %f, want D = %f", p.Name, i, s.Duration, d)
					}
					if s.Duration > float64(pl.TargetDuration)+0.5 {
						t.Errorf("%s: EXTINF %f rounds above the target duration %d", p.Name, s.Duration, pl.TargetDuration)
					}
					first := contains64(firsts, i)
					if first != !s.ProgramDateTime.IsZero() || (first && s.Map == nil && i > 0 && !strings.Contains(string(p.Body), "#EXT-X-MAP") && tr.HLSTextPattern == "") {
						t.Errorf("%s segment %d: PDT %v, map %v; want them at each Period's first segment", p.Name, i, s.ProgramDateTime, s.Map)
					}
					if first {
						if want := time.Unix(w.K*2, 0).UTC(); !s.ProgramDateTime.Equal(want) { // K*D
							t.Errorf("%s segment %d: PDT %v, want %v", p.Name, i, s.ProgramDateTime, want)
						}
					}
					if s.Discontinuity != (first && i > 0) {
						t.Errorf("%s segment %d: discontinuity %v", p.Name, i, s.Discontinuity)
					}
				}
				if n := strings.Count(string(p.Body), "#EXT-X-MAP"); trs[0].HLSTextPattern != "" && n != 0 {
					t.Errorf("%s: %d EXT-X-MAP tags in a playlist of WebVTT text files", p.Name, n)
				} else if trs[0].HLSTextPattern == "" && (n < 1 || n > len(firsts)) {
					t.Errorf("%s: %d EXT-X-MAP tags for %d Periods", p.Name, n, len(firsts))
				}
			}
		})
	}
}

// TestBuildHLSSubtitles checks the multivariant playlist of text tracks:
// each text format is a SUBTITLES group of its own, named by one variant
// per video track whose CODECS has the format as HLS players need it
// (stpp.ttml.im1t for IMSC1, wvtt), and each rendition keeps the track's
// language and roles.
func TestBuildHLSSubtitles(t *testing.T) {
	t.Parallel()
	base := []VoDTrack{videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3))}
	type rendition struct{ group, lang, chars string }
	for _, c := range []struct {
		name     string
		text     []VoDTrack
		variants map[string]string // SUBTITLES group: CODECS
		subs     map[string]rendition
	}{
		{"stpp and wvtt", []VoDTrack{textTrack("S", "stpp", "en", "subtitle"), textTrack("W", "wvtt", "de", "caption")},
			map[string]string{"subs-stpp": "avc1.64001e,mp4a.40.2,stpp.ttml.im1t", "subs-wvtt": "avc1.64001e,mp4a.40.2,wvtt"},
			map[string]rendition{"S": {"subs-stpp", "en", ""}, "W": {"subs-wvtt", "de", "public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"}}},
		{"stpp only", []VoDTrack{textTrack("S", "stpp", "en"), textTrack("S2", "stpp.ttml.im1t", "sv", "description")},
			map[string]string{"subs": "avc1.64001e,mp4a.40.2,stpp.ttml.im1t"},
			map[string]rendition{"S": {"subs", "en", ""}, "S2": {"subs", "sv", "public.accessibility.describes-video"}}},
		{"no text", nil, map[string]string{"": "avc1.64001e,mp4a.40.2"}, map[string]rendition{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := VoDInput{Periods: []VoDPeriod{{Tracks: append(slices.Clone(base), c.text...)}}}
			pls, err := BuildHLS(in, hlsName)
			if err != nil {
				t.Fatal(err)
			}
			mvp, _, err := m3u8.DecodeFrom(bytes.NewReader(pls[0].Body), true)
			if err != nil {
				t.Fatal(err)
			}
			variants := map[string]string{}
			subs := map[string]rendition{}
			for _, v := range mvp.(*m3u8.MasterPlaylist).Variants {
				variants[v.Subtitles] = v.Codecs
				for _, a := range v.Alternatives {
					if a.Type == "SUBTITLES" {
						subs[a.Name] = rendition{a.GroupId, a.Language, a.Characteristics}
					}
				}
			}
			if !maps.Equal(variants, c.variants) {
				t.Errorf("variants (SUBTITLES: CODECS) %v, want %v", variants, c.variants)
			}
			if !maps.Equal(subs, c.subs) {
				t.Errorf("subtitle renditions %v, want %v", subs, c.subs)
			}
		})
	}
}

func contains64(list []int, i int) bool {
	for _, v := range list {
		if v == i {
			return true
		}
	}
	return false
}

func TestEpochTime(t *testing.T) {
	t.Parallel()
	if got, want := epochTime(uint64(k0)*96000+256, 48000), time.Unix(k0*2, 5333333).UTC(); !got.Equal(want) {
		t.Errorf("epochTime = %v, want %v", got, want)
	}
}

func TestBuildHLSErrors(t *testing.T) {
	t.Parallel()
	ok := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{videoTrack("V", 1, videoSegs(k0, k0+2))}}}}
	if _, err := BuildHLS(VoDInput{}, hlsName); err == nil {
		t.Error("no Period: no error")
	}
	if _, err := BuildHLS(ok, func(string) string { return "a/b.m3u8" }); err == nil || !strings.Contains(err.Error(), "file name") {
		t.Errorf("media playlist name with a slash: %v", err)
	}
	two := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{videoTrack("V", 1, videoSegs(k0, k0+2)), videoTrack("W", 1, videoSegs(k0, k0+2))}}}}
	if _, err := BuildHLS(two, func(string) string { return "same.m3u8" }); err == nil || !strings.Contains(err.Error(), "unique") {
		t.Errorf("two media playlists with one name: %v", err)
	}
	bad := ok
	bad.Periods = []VoDPeriod{{Tracks: []VoDTrack{videoTrack("V", 1, nil)}}}
	if _, err := BuildHLS(bad, hlsName); err == nil || !strings.Contains(err.Error(), "no segments") {
		t.Errorf("a track without segments: %v", err)
	}
}
