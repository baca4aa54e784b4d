package manifest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const k0 = 897654545 // an epoch index in 2026 with D = 2 s

// videoSegs returns 2 s video segments at 90 kHz for K in [from, to],
// leaving out the K in skip.
func videoSegs(from, to int64, skip ...int64) []VoDSegment {
	var out []VoDSegment
	for k := from; k <= to; k++ {
		if contains(skip, k) {
			continue
		}
		out = append(out, VoDSegment{K: k, EPT: uint64(k) * 180000, Duration: 180000})
	}
	return out
}

// audioSegs returns 2 s AAC segments at 48 kHz as a REaP encoder cuts them:
// each starts at the first 1024-sample frame boundary at or after K*D, so
// durations vary between 96256 and 95232 (constrained variation).
func audioSegs(from, to int64, skip ...int64) []VoDSegment {
	start := func(k int64) uint64 {
		frames := (uint64(k)*96000 + 1023) / 1024
		return frames * 1024
	}
	var out []VoDSegment
	for k := from; k <= to; k++ {
		if contains(skip, k) {
			continue
		}
		out = append(out, VoDSegment{K: k, EPT: start(k), Duration: start(k+1) - start(k)})
	}
	return out
}

func contains(list []int64, k int64) bool {
	for _, v := range list {
		if v == k {
			return true
		}
	}
	return false
}

func videoTrack(rep string, bw int, segs []VoDSegment) VoDTrack {
	return VoDTrack{
		Rep: rep, ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001e", Roles: []string{"main"},
		Bandwidth: bw, Width: 640, Height: 360, FrameRate: "30",
		Timescale: 90000, SegDur: 180000,
		InitPath:     "ch1/" + rep + "/init-0123456789abcdef.cmfv",
		MediaPattern: "ch1/" + rep + "/$Number$.cmfv",
		Segments:     segs,
	}
}

func audioTrack(rep string, segs []VoDSegment) VoDTrack {
	return VoDTrack{
		Rep: rep, ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "en", Roles: []string{"main"},
		Bandwidth: 48000, SampleRate: 48000, Channels: 2,
		Timescale: 48000, SegDur: 96000,
		InitPath:     "ch1/" + rep + "/init-fedcba9876543210.cmfa",
		MediaPattern: "ch1/" + rep + "/$Number$.cmfa",
		Segments:     segs,
	}
}

// textTrack is a subtitle track of format codecs (wvtt, stpp) in fMP4.
func textTrack(rep, codecs, lang string, roles ...string) VoDTrack {
	tr := VoDTrack{Rep: rep, ContentType: "text", MimeType: "application/mp4", Codecs: codecs, Lang: lang, Roles: roles,
		Bandwidth: 1000, Timescale: 1000, SegDur: 2000, InitPath: "ch1/" + rep + "/init-0a0b0c0d0e0f0a0b.mp4", MediaPattern: "ch1/" + rep + "/$Number$.m4s"}
	for k := int64(k0); k <= k0+3; k++ {
		tr.Segments = append(tr.Segments, VoDSegment{K: k, EPT: uint64(k) * 2000, Duration: 2000})
	}
	return tr
}

// metaTrack is a timed-metadata track (DASH-IF ingest: handler meta) with
// sample entry codecs (urim, evte).
func metaTrack(rep, codecs string) VoDTrack {
	tr := textTrack(rep, codecs, "")
	tr.ContentType = "metadata"
	return tr
}

func vodCases() []struct {
	name string
	in   VoDInput
} {
	v600 := videoTrack("V600", 600000, videoSegs(k0, k0+8, k0+5))
	v600.InitPath = "ch1/V600/init-00112233445566.cmfv"
	hd := videoTrack("V1080", 5000000, videoSegs(k0, k0+3))
	hd.Timescale, hd.SegDur, hd.Width, hd.Height = 12800, 25600, 1920, 1080
	for i := range hd.Segments {
		hd.Segments[i].EPT = uint64(hd.Segments[i].K) * 25600
		hd.Segments[i].Duration = 25600
	}
	sharedPattern := videoTrack("V300", 300000, videoSegs(k0, k0+3))
	sharedPattern.InitPath = "ch1/V300/init.cmfv"
	sharedPattern2 := videoTrack("V600", 600000, videoSegs(k0, k0+3))
	sharedPattern2.InitPath = "ch1/V600/init.cmfv"
	sv := audioTrack("A48sv", audioSegs(k0, k0+3))
	sv.Lang = "sv"
	newInit := videoTrack("V300", 300000, videoSegs(k0+4, k0+7))
	newInit.InitPath = "ch1/V300/init-aaaaaaaaaaaaaaaa.cmfv"
	startK := int64(k0 - 2)
	return []struct {
		name string
		in   VoDInput
	}{
		{"two_tracks", VoDInput{
			Title: "ch1 2026-06-12 10:00-10:00:10", BaseURL: "https://archive.example.com/vod/",
			Periods: []VoDPeriod{{Tracks: []VoDTrack{
				audioTrack("A48", audioSegs(k0, k0+4)),
				videoTrack("V300", 300000, videoSegs(k0, k0+4)),
			}}},
		}},
		{"gap", VoDInput{
			Title: "gaps", BaseURL: "https://archive.example.com/vod/",
			Periods: []VoDPeriod{{ID: "main", Tracks: []VoDTrack{
				videoTrack("V300", 300000, videoSegs(k0, k0+8, k0+5)),
				v600,
				audioTrack("A48", audioSegs(k0, k0+8, k0+2, k0+3)),
			}}},
		}},
		{"audio_constrained", VoDInput{
			Periods: []VoDPeriod{{Tracks: []VoDTrack{audioTrack("A48", audioSegs(k0, k0+15))}}},
		}},
		{"per_rep_timescale", VoDInput{
			MinBufferTime: 4 * time.Second,
			Periods: []VoDPeriod{{Tracks: []VoDTrack{
				videoTrack("V300", 300000, videoSegs(k0, k0+3)),
				hd,
			}}},
		}},
		{"shared_pattern_and_langs", VoDInput{
			Periods: []VoDPeriod{{Tracks: []VoDTrack{
				sharedPattern, sharedPattern2,
				audioTrack("A48", audioSegs(k0, k0+3)), sv,
			}}},
		}},
		{"multi_period", VoDInput{
			BaseURL: "https://archive.example.com/vod/",
			Periods: []VoDPeriod{
				{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3))}},
				{Tracks: []VoDTrack{newInit, audioTrack("A48", audioSegs(k0+4, k0+7))}},
			},
		}},
		{"contiguous_periods", VoDInput{ // --gaps split: K0+4..5 cut out
			Contiguous: true,
			Periods: []VoDPeriod{
				{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3))}},
				{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0+6, k0+7)), audioTrack("A48", audioSegs(k0+6, k0+7))}},
			},
		}},
		{"subtitles", VoDInput{ // livesim2 timesubsstpp_en/timesubswvtt_de
			Periods: []VoDPeriod{{Tracks: []VoDTrack{
				videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3)),
				textTrack("timestpp-en", "stpp", "en", "subtitle"), textTrack("timewvtt-de", "wvtt", "de", "caption"),
			}}},
		}},
		{"timed_metadata", VoDInput{ // each its own AdaptationSet, contentType application
			Periods: []VoDPeriod{{Tracks: []VoDTrack{
				videoTrack("V300", 300000, videoSegs(k0, k0+3)), metaTrack("meta-urim", "urim"), metaTrack("meta-evte", "evte"),
			}}},
		}},
		{"start_in_gap", VoDInput{
			Periods: []VoDPeriod{{StartK: &startK, Tracks: []VoDTrack{
				videoTrack("V300", 300000, videoSegs(k0, k0+1)),
				audioTrack("A48", audioSegs(k0, k0+1)),
			}}},
		}},
	}
}

func TestBuildVoDGolden(t *testing.T) {
	t.Parallel()
	for _, c := range vodCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := BuildVoD(c.in)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", c.name+".mpd")
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
		})
	}
}

func TestBuildVoDDeterministic(t *testing.T) {
	t.Parallel()
	for _, c := range vodCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, err := BuildVoD(c.in)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				b, err := BuildVoD(c.in)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("two builds differ:\n%s\n----\n%s", a, b)
				}
			}
			if bytes.Contains(a, []byte("publishTime")) || bytes.Contains(a, []byte("availabilityStartTime")) {
				t.Error("static VoD must not carry publishTime/availabilityStartTime")
			}
		})
	}
}

// TestBuildVoDRoundTrip re-parses the output with dash-mpd, checks the
// static shape and that writing it again gives the same bytes.
func TestBuildVoDRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range vodCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := BuildVoD(c.in)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.MPDFromBytes(out)
			if err != nil {
				t.Fatalf("dash-mpd cannot parse the output: %v", err)
			}
			if m.GetType() != "static" || m.Profiles != mpd.PROFILE_LIVE || m.MediaPresentationDuration == nil || m.MinBufferTime == nil {
				t.Errorf("MPD header: type %q profiles %q mpd %v mbt %v", m.GetType(), m.Profiles, m.MediaPresentationDuration, m.MinBufferTime)
			}
			if len(m.Periods) != len(c.in.Periods) {
				t.Errorf("%d Periods, want %d", len(m.Periods), len(c.in.Periods))
			}
			again, err := m.WriteToString("  ", true)
			if err != nil {
				t.Fatal(err)
			}
			if OrderSegmentLists(again)+"\n" != string(out) {
				t.Errorf("round trip changed the MPD:\n%s\n----\n%s", out, again)
			}
		})
	}
}

// TestBuildVoDAddressing reads single-Period outputs back with ParseLive and
// checks that every archived segment of a track without holes is addressed
// by $Number$ = K with its exact EPT and duration, and nothing else is
// listed. (Tracks with holes are SegmentLists: TestBuildVoDSegmentList.)
func TestBuildVoDAddressing(t *testing.T) {
	t.Parallel()
	for _, c := range vodCases() {
		holes := false
		for _, vt := range c.in.Periods[0].Tracks {
			holes = holes || hasHoles(vt.Segments)
		}
		if len(c.in.Periods) != 1 || holes { // ParseLive reads SegmentTemplates only
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := BuildVoD(c.in)
			if err != nil {
				t.Fatal(err)
			}
			l, err := ParseLive(out, "https://archive.example.com/vod/x.mpd")
			if err != nil {
				t.Fatal(err)
			}
			for _, vt := range c.in.Periods[0].Tracks {
				lt := mustTrack(t, l, vt.Rep)
				if lt.Mode != ByNumber || len(lt.Timeline) != len(vt.Segments) {
					t.Fatalf("%s: mode %v, %d timeline entries, want ByNumber and %d", vt.Rep, lt.Mode, len(lt.Timeline), len(vt.Segments))
				}
				if !strings.HasSuffix(lt.InitURL, vt.InitPath) {
					t.Errorf("%s: InitURL %q does not end in %q", vt.Rep, lt.InitURL, vt.InitPath)
				}
				for i, s := range vt.Segments {
					e := lt.Timeline[i]
					if e.Number != s.K || uint64(int64(e.T)+lt.TimeOffset) != s.EPT || e.D != s.Duration {
						t.Errorf("%s segment %d: entry %+v (media time %d), want Number %d EPT %d D %d",
							vt.Rep, i, e, int64(e.T)+lt.TimeOffset, s.K, s.EPT, s.Duration)
					}
					u, err := lt.MediaURL(e.K)
					// With or without the MPD-level BaseURL (a directory URL),
					// the media path resolves under it.
					want := "https://archive.example.com/vod/" + strings.Replace(vt.MediaPattern, "$Number$", itoa(s.K), 1)
					if err != nil || u != want {
						t.Errorf("%s: MediaURL = %q %v, want %q", vt.Rep, u, err, want)
					}
				}
			}
		})
	}
}

func itoa(k int64) string { return strconv.FormatInt(k, 10) }

// TestBuildVoDTiming checks the timing attributes that keep tracks in sync.
func TestBuildVoDTiming(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name              string
		in                VoDInput
		wantDuration      string
		wantStarts        []string
		wantPTO           map[string]uint64 // by Rep, first Period
		wantStartNumber   map[string]uint32
		wantMinBufferTime string
	}{
		{
			name: "audio ends after video: duration is the latest end",
			in: VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
				videoTrack("V", 1, videoSegs(k0, k0+4)), audioTrack("A", audioSegs(k0, k0+4)),
			}}}},
			// audio K0+5 starts at frame ceil((k0+5)*93.75)*1024: 512 ticks (10.67 ms) after the grid
			wantDuration: "PT10.011S", wantStarts: []string{"PT0S"},
			wantPTO:           map[string]uint64{"V": k0 * 180000, "A": k0 * 96000},
			wantStartNumber:   map[string]uint32{"V": k0, "A": k0},
			wantMinBufferTime: "PT2S",
		},
		{
			name: "track starting later keeps the common PTO",
			in: VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
				videoTrack("V", 1, videoSegs(k0, k0+4)), audioTrack("A", audioSegs(k0+2, k0+4)),
			}}}},
			wantDuration: "PT10.011S", wantStarts: []string{"PT0S"},
			wantPTO:           map[string]uint64{"V": k0 * 180000, "A": k0 * 96000},
			wantStartNumber:   map[string]uint32{"V": k0, "A": k0 + 2},
			wantMinBufferTime: "PT2S",
		},
		{
			name: "second Period starts at its first K",
			in: VoDInput{MinBufferTime: 1500 * time.Millisecond, Periods: []VoDPeriod{
				{Tracks: []VoDTrack{videoTrack("V", 1, videoSegs(k0, k0+4))}},
				{Tracks: []VoDTrack{videoTrack("V", 1, videoSegs(k0+6, k0+9))}},
			}},
			wantDuration: "PT20S", wantStarts: []string{"PT0S", "PT12S"},
			wantPTO:           map[string]uint64{"V": k0 * 180000},
			wantStartNumber:   map[string]uint32{"V": k0},
			wantMinBufferTime: "PT1.5S",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := BuildVoD(c.in)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.MPDFromBytes(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.MediaPresentationDuration.String(); got != c.wantDuration {
				t.Errorf("mediaPresentationDuration = %s, want %s", got, c.wantDuration)
			}
			if got := m.MinBufferTime.String(); got != c.wantMinBufferTime {
				t.Errorf("minBufferTime = %s, want %s", got, c.wantMinBufferTime)
			}
			for i, p := range m.Periods {
				if got := p.Start.String(); got != c.wantStarts[i] {
					t.Errorf("Period %d start = %s, want %s", i, got, c.wantStarts[i])
				}
			}
			for _, as := range m.Periods[0].AdaptationSets {
				for _, r := range as.Representations {
					st := r.GetSegmentTemplate()
					pto, sn := uint64(0), uint32(1)
					if st.PresentationTimeOffset != nil {
						pto = *st.PresentationTimeOffset
					}
					if r.SegmentTemplate != nil && r.SegmentTemplate.PresentationTimeOffset == nil && as.SegmentTemplate != nil && as.SegmentTemplate.PresentationTimeOffset != nil {
						pto = *as.SegmentTemplate.PresentationTimeOffset
					}
					if st.StartNumber != nil {
						sn = *st.StartNumber
					}
					if pto != c.wantPTO[r.Id] || sn != c.wantStartNumber[r.Id] {
						t.Errorf("%s: PTO %d startNumber %d, want %d %d", r.Id, pto, sn, c.wantPTO[r.Id], c.wantStartNumber[r.Id])
					}
				}
			}
		})
	}
}

func TestBuildVoDTimelineShape(t *testing.T) {
	t.Parallel()
	type s struct {
		t, n *uint64
		d    uint64
		r    int
	}
	p := func(v uint64) *uint64 { return &v }
	cases := []struct {
		name string
		segs []VoDSegment
		want []s
	}{
		{"contiguous run", videoSegs(10, 14), []s{{t: p(1800000), d: 180000, r: 4}}},
		{"hole: S@t jump and S@n", videoSegs(10, 14, 12), []s{{t: p(1800000), d: 180000, r: 1}, {t: p(13 * 180000), n: p(13), d: 180000, r: 1}}},
		{"two holes", videoSegs(10, 16, 11, 14), []s{{t: p(1800000), d: 180000}, {t: p(12 * 180000), n: p(12), d: 180000, r: 1}, {t: p(15 * 180000), n: p(15), d: 180000, r: 1}}},
		{"constrained audio", audioSegs(8, 13), []s{{t: p(768000), d: 96256, r: 2}, {d: 95232}, {d: 96256, r: 1}}},
		{"timing jump without a missing K: S@t only", []VoDSegment{{K: 1, EPT: 100, Duration: 100}, {K: 2, EPT: 210, Duration: 100}},
			[]s{{t: p(100), d: 100}, {t: p(210), d: 100}}},
		{"duration change", []VoDSegment{{K: 1, EPT: 100, Duration: 100}, {K: 2, EPT: 200, Duration: 90}, {K: 3, EPT: 290, Duration: 90}},
			[]s{{t: p(100), d: 100}, {d: 90, r: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := buildTimeline(c.segs)
			if len(got) != len(c.want) {
				t.Fatalf("%d S, want %d", len(got), len(c.want))
			}
			eq := func(a, b *uint64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
			for i, w := range c.want {
				g := got[i]
				if !eq(g.T, w.t) || !eq(g.N, w.n) || g.D != w.d || g.R != w.r {
					t.Errorf("S[%d] = t %v n %v d %d r %d, want t %v n %v d %d r %d", i, deref(g.T), deref(g.N), g.D, g.R, deref(w.t), deref(w.n), w.d, w.r)
				}
			}
		})
	}
}

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestBuildVoDErrors(t *testing.T) {
	t.Parallel()
	ok := func() VoDTrack { return videoTrack("V", 1, videoSegs(k0, k0+2)) }
	mod := func(f func(*VoDTrack)) VoDInput {
		tr := ok()
		f(&tr)
		return VoDInput{Periods: []VoDPeriod{{ID: "x", Tracks: []VoDTrack{tr}}}}
	}
	badStart := int64(k0)
	cases := []struct {
		name string
		in   VoDInput
		want string
	}{
		{"no Period", VoDInput{}, "no Period"},
		{"no tracks", VoDInput{Periods: []VoDPeriod{{ID: "x"}}}, "Period x: no tracks"},
		{"no segments", mod(func(tr *VoDTrack) { tr.Segments = nil }), `Period x track "V": no segments`},
		{"zero timescale", mod(func(tr *VoDTrack) { tr.Timescale = 0 }), "Timescale is 0"},
		{"zero SegDur", mod(func(tr *VoDTrack) { tr.SegDur = 0 }), "SegDur is 0"},
		{"no InitPath", mod(func(tr *VoDTrack) { tr.InitPath = "" }), "no InitPath"},
		{"no $Number$", mod(func(tr *VoDTrack) { tr.MediaPattern = "ch1/V/seg.cmfv" }), "must contain $Number$"},
		{"$Time$", mod(func(tr *VoDTrack) { tr.MediaPattern = "ch1/V/$Time$-$Number$.cmfv" }), "neither $Time$"},
		{"unordered K", mod(func(tr *VoDTrack) { tr.Segments[1].K = k0 }), "not ordered by K"},
		{"overlap", mod(func(tr *VoDTrack) { tr.Segments[1].EPT-- }), "overlaps"},
		{"zero duration", mod(func(tr *VoDTrack) { tr.Segments[2].Duration = 0 }), "zero duration"},
		{"empty Rep", mod(func(tr *VoDTrack) { tr.Rep = "" }), "empty Rep"},
		{"K too large for startNumber", mod(func(tr *VoDTrack) {
			for i := range tr.Segments {
				tr.Segments[i].K += 1 << 32
			}
		}), "startNumber"},
		{"duplicate Rep", VoDInput{Periods: []VoDPeriod{{ID: "x", Tracks: []VoDTrack{ok(), ok()}}}}, `duplicate Rep "V"`},
		{"Periods not increasing", VoDInput{Periods: []VoDPeriod{{ID: "a", Tracks: []VoDTrack{ok()}}, {ID: "b", Tracks: []VoDTrack{ok()}}}}, "Period b starts at"},
		{"StartK with different grids", VoDInput{Periods: []VoDPeriod{{ID: "x", StartK: &badStart, Tracks: []VoDTrack{
			ok(), func() VoDTrack { tr := videoTrack("W", 1, videoSegs(k0, k0+1)); tr.SegDur = 90000; return tr }(),
		}}}}, "different SegDur/Timescale"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := BuildVoD(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// withGaps marks the segments at ks as signalled gaps.
func withGaps(segs []VoDSegment, ks ...int64) []VoDSegment {
	out := append([]VoDSegment(nil), segs...)
	for i := range out {
		if contains(ks, out[i].K) {
			out[i].Gap = true
		}
	}
	return out
}

// TestBuildVoDSegmentList: a track with holes is addressed by a SegmentList
// (one S per segment, S@t after each hole, one SegmentURL per segment
// naming its K), since players ignore S@n; its AdaptationSet carries no
// SegmentTemplate it would inherit; tracks without holes keep $Number$.
func TestBuildVoDSegmentList(t *testing.T) {
	t.Parallel()
	in := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
		videoTrack("V300", 300000, videoSegs(k0, k0+6, k0+2, k0+3)),
		videoTrack("V600", 600000, videoSegs(k0, k0+6)),
		audioTrack("A48", audioSegs(k0, k0+6)),
	}}}}
	out, err := BuildVoD(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.MPDFromBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, as := range m.Periods[0].AdaptationSets {
		for _, r := range as.Representations {
			if r.Id != "V300" {
				if r.SegmentList != nil || (r.SegmentTemplate == nil && as.SegmentTemplate == nil) {
					t.Errorf("%s: want a SegmentTemplate", r.Id)
				}
				continue
			}
			if as.SegmentTemplate != nil || r.SegmentTemplate != nil {
				t.Errorf("V300 inherits a SegmentTemplate")
			}
			sl := r.SegmentList
			if sl == nil || sl.Initialization == nil || sl.SegmentTimeline == nil {
				t.Fatalf("V300: no SegmentList with Initialization and SegmentTimeline")
			}
			if string(sl.Initialization.SourceURL) != "ch1/V300/init-0123456789abcdef.cmfv" || *sl.Timescale != 90000 || *sl.PresentationTimeOffset != uint64(k0)*180000 {
				t.Errorf("V300 SegmentList %+v", sl.SegmentBaseType)
			}
			want := kList(k0, k0+6, k0+2, k0+3)
			if len(sl.SegmentURL) != len(want) || len(sl.SegmentTimeline.S) != len(want) {
				t.Fatalf("V300: %d SegmentURLs, %d S; want %d", len(sl.SegmentURL), len(sl.SegmentTimeline.S), len(want))
			}
			tt := uint64(0)
			for i, k := range want {
				s := sl.SegmentTimeline.S[i]
				if s.R != 0 || s.N != nil {
					t.Errorf("S[%d] has @r %d / @n", i, s.R)
				}
				if s.T != nil {
					tt = *s.T
				}
				if tt != uint64(k)*180000 || s.D != 180000 {
					t.Errorf("S[%d] at %d d %d; want K=%d at %d", i, tt, s.D, k, uint64(k)*180000)
				}
				tt += s.D
				if u := string(sl.SegmentURL[i].Media); u != "ch1/V300/"+itoa(k)+".cmfv" {
					t.Errorf("SegmentURL[%d] %s; want K=%d", i, u, k)
				}
			}
		}
	}
	// Schema order: Initialization, SegmentTimeline, SegmentURL.
	s := string(out)
	list := s[strings.Index(s, "<SegmentList"):strings.Index(s, "</SegmentList>")]
	ini, tl, url := strings.Index(list, "<Initialization"), strings.Index(list, "<SegmentTimeline>"), strings.Index(list, "<SegmentURL")
	if !(ini >= 0 && ini < tl && tl < url && !strings.Contains(list[url:], "<S ")) {
		t.Errorf("SegmentList children out of order:\n%s", list)
	}
}

func kList(from, to int64, skip ...int64) []int64 {
	var out []int64
	for k := from; k <= to; k++ {
		if !contains(skip, k) {
			out = append(out, k)
		}
	}
	return out
}

// TestBuildVoDGapEntries: gap entries are holes in DASH: the same MPD as
// leaving the Ks out, except that leading gap entries move the Period
// start; a track with nothing but gap entries is left out of the Period.
func TestBuildVoDGapEntries(t *testing.T) {
	t.Parallel()
	holes := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
		videoTrack("V300", 300000, videoSegs(k0, k0+8, k0+5)),
		audioTrack("A48", audioSegs(k0, k0+8, k0+2, k0+3)),
	}}}}
	gaps := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
		videoTrack("V300", 300000, withGaps(videoSegs(k0, k0+8), k0+5)),
		audioTrack("A48", withGaps(audioSegs(k0, k0+8), k0+2, k0+3)),
	}}}}
	a, err := BuildVoD(holes)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildVoD(gaps)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("gap entries differ from holes:\n%s\n---\n%s", a, b)
	}
	only := VoDInput{Periods: []VoDPeriod{{Tracks: []VoDTrack{
		videoTrack("V300", 300000, videoSegs(k0, k0+1)),
		audioTrack("A48", withGaps(audioSegs(k0, k0+1), k0, k0+1)),
	}}}}
	out, err := BuildVoD(only)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(`id="A48"`)) {
		t.Errorf("a track of gap entries only is in the MPD:\n%s", out)
	}
	only.Periods[0].Tracks = only.Periods[0].Tracks[1:]
	if _, err := BuildVoD(only); err == nil || !strings.Contains(err.Error(), "every segment is a gap") {
		t.Errorf("a Period of gap entries only: %v", err)
	}
}
