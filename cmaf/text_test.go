package cmaf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// textInit is a text track's init (timescale 1000) with sample entry wvtt
// or stpp.
func textInit(t *testing.T, entry string) *InitInfo {
	t.Helper()
	init := mp4.CreateEmptyInit()
	media := map[string]string{"wvtt": "text", "stpp": "subtitle"}[entry]
	init.AddEmptyTrack(1000, media, "en")
	var err error
	if entry == "wvtt" {
		err = init.Moov.Trak.SetWvttDescriptor("WEBVTT")
	} else {
		err = init.Moov.Trak.SetStppDescriptor("http://www.w3.org/ns/ttml", "", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := ParseInit(encode(t, init))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// textSample is one sample of a built text segment.
type textSample struct {
	dur  uint32
	cto  int32
	data []byte
}

// textSegment is one fragment of track 1 starting at decode time tfdt.
func textSegment(t *testing.T, tfdt uint64, samples ...textSample) []byte {
	t.Helper()
	frag, err := mp4.CreateFragment(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	dts := tfdt
	for _, s := range samples {
		frag.AddFullSample(mp4.FullSample{Sample: mp4.NewSample(mp4.SyncSampleFlags, s.dur, uint32(len(s.data)), s.cto), DecodeTime: dts, Data: s.data})
		dts += uint64(s.dur)
	}
	return encode(t, frag)
}

func vttc(children ...[]byte) []byte { return box("vttc", children...) }
func payl(text string) []byte        { return box("payl", []byte(text)) }

var vtte = box("vtte")

// ttml is a TTML document whose body holds the given p elements.
func ttml(ps ...string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" ttp:timeBase="media" ttp:frameRate="25"><body><div>` +
		strings.Join(ps, "\n") + `</div></body></tt>`)
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	wvtt, stpp := textInit(t, "wvtt"), textInit(t, "stpp")
	cue := vttc(payl("hello"))
	const k1 = 2000 // tfdt of K=1 at D = 2 s, timescale 1000
	cases := []struct {
		name  string
		init  *InitInfo
		seg   []byte
		kinds []string // of the issues, in order; nil: clean
		want  string   // in the first issue's detail
	}{
		{"wvtt in order", wvtt, textSegment(t, k1, textSample{900, 0, cue}, textSample{100, 0, vtte}, textSample{900, 0, slices.Concat(cue, cue)}, textSample{100, 0, vtte}), nil, ""},
		{"wvtt with vtta and settings", wvtt, textSegment(t, k1, textSample{2000, 0, slices.Concat(vttc(box("iden", []byte("1")), box("sttg", []byte("line:0")), payl("x")), box("vtta", []byte("NOTE")))}), nil, ""},
		{"wvtt zero duration", wvtt, textSegment(t, k1, textSample{0, 0, cue}, textSample{2000, 0, vtte}), []string{TextOrder}, "zero duration"},
		{"wvtt out of order", wvtt, textSegment(t, k1, textSample{1000, 500, cue}, textSample{1000, -600, cue}), []string{TextOrder}, "goes back"},
		{"wvtt overlapping", wvtt, textSegment(t, k1, textSample{1000, 0, cue}, textSample{1000, -400, cue}), []string{TextOrder}, "overlaps sample 1, which ends at 3000"},
		{"wvtt vttc without payl", wvtt, textSegment(t, k1, textSample{2000, 0, vttc(box("sttg", []byte("line:0")))}), []string{TextMalformed}, "0 payl boxes"},
		{"wvtt payl not UTF-8", wvtt, textSegment(t, k1, textSample{2000, 0, vttc(box("payl", []byte{0xff, 0xfe}))}), []string{TextMalformed}, "not UTF-8"},
		{"wvtt truncated payl", wvtt, textSegment(t, k1, textSample{2000, 0, vttc(payl("hello"))[:20]}), []string{TextMalformed}, "size"},
		{"wvtt vtte with payload", wvtt, textSegment(t, k1, textSample{2000, 0, box("vtte", []byte("x"))}), []string{TextMalformed}, "vtte"},
		{"wvtt raw text", wvtt, textSegment(t, k1, textSample{2000, 0, []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")}), []string{TextMalformed}, ""},
		{"wvtt empty sample", wvtt, textSegment(t, k1, textSample{2000, 0, nil}), []string{TextMalformed}, "empty sample"},
		{"stpp media timeline", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="00:00:02.000" end="00:00:02.900">a</p>`, `<p begin="00:00:03.000" end="00:00:04.000">b</p>`)}), nil, ""},
		{"stpp relative, offset times", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="0s" end="900ms">a</p>`, `<p begin="1s" dur="1s"><span begin="0.5s" end="25f">b</span></p>`)}), nil, ""},
		{"stpp frames and ticks", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="00:00:02:00" end="00:00:03:12">a</p>`, `<p begin="75f" end="100t">b</p>`)}), nil, ""},
		{"stpp no cues", stpp, textSegment(t, k1, textSample{2000, 0, ttml()}), nil, ""},
		{"stpp cue after the sample", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="00:00:03.500" end="00:00:04.500">a</p>`)}), []string{TextCueTime}, "[3.500, 4.500) s lies outside the sample's span [2.000, 4.000) s"},
		{"stpp cue before the sample", stpp, textSegment(t, k1+2000, textSample{2000, 0, ttml(`<p begin="00:00:04.000" end="00:00:05.000">a</p>`, `<p begin="00:00:03.000" end="00:00:04.000">b</p>`)}), []string{TextCueTime}, "<p> [3.000, 4.000) s"},
		{"stpp relative cue too long", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="0.5s" end="2.5s">a</p>`)}), []string{TextCueTime}, "[2.500, 4.500)"},
		{"stpp cue ends before it begins", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="00:00:03.000" end="00:00:02.500">a</p>`)}), []string{TextCueTime}, "before it begins"},
		{"stpp not XML", stpp, textSegment(t, k1, textSample{2000, 0, []byte("<tt><body><p>unclosed</body></tt>")}), []string{TextMalformed}, "TTML"},
		{"stpp not TTML", stpp, textSegment(t, k1, textSample{2000, 0, []byte(`<html></html>`)}), []string{TextMalformed}, "want <tt>"},
		{"stpp bad time", stpp, textSegment(t, k1, textSample{2000, 0, ttml(`<p begin="2 seconds" end="3s">a</p>`)}), []string{TextMalformed}, `begin="2 seconds"`},
		{"stpp too deep", stpp, textSegment(t, k1, textSample{2000, 0, []byte(`<tt>` + strings.Repeat("<span>", maxTTMLDepth) + strings.Repeat("</span>", maxTTMLDepth) + `</tt>`)}), []string{TextMalformed}, "deeper"},
		{"stpp second sample overlaps", stpp, textSegment(t, k1, textSample{1000, 0, ttml()}, textSample{1000, -200, ttml()}), []string{TextOrder}, "overlaps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseSegment(c.seg, c.init)
			if err != nil {
				t.Fatal(err)
			}
			got := CheckText(c.seg, c.init, info)
			var kinds []string
			for _, i := range got {
				kinds = append(kinds, i.Kind)
			}
			if !slices.Equal(kinds, c.kinds) {
				t.Fatalf("issues %+v, want kinds %v", got, c.kinds)
			}
			if len(got) > 0 && !strings.Contains(got[0].Detail, c.want) {
				t.Errorf("detail %q, want it to contain %q", got[0].Detail, c.want)
			}
		})
	}
}

// TestCheckTextLivesim2 checks segments as livesim2 v1.9.0 sends them
// (testdata/README.md): clean, and their cues were really looked at.
func TestCheckTextLivesim2(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"timesubs_stpp_en", "timesubs_wvtt_de"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			read := func(f string) []byte {
				b, err := os.ReadFile(filepath.Join("testdata", f))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			init, err := ParseInit(read(name + "_init.mp4"))
			if err != nil {
				t.Fatal(err)
			}
			seg := read(name + "_898227455.m4s")
			info, err := ParseSegment(seg, init)
			if err != nil {
				t.Fatal(err)
			}
			if info.BaseMediaDecodeTime != 898227455*2000 || len(info.TextSamples) == 0 {
				t.Fatalf("tfdt %d, %d text samples", info.BaseMediaDecodeTime, len(info.TextSamples))
			}
			if issues := CheckText(seg, init, info); len(issues) != 0 {
				t.Errorf("issues %+v", issues)
			}
			// The same bytes a second later: every cue is outside.
			if init.SampleEntry == "stpp" {
				late := textSegment(t, info.BaseMediaDecodeTime+2000, textSample{2000, 0, seg[info.TextSamples[0].Offset:]})
				li, err := ParseSegment(late, init)
				if err != nil {
					t.Fatal(err)
				}
				if issues := CheckText(late, init, li); len(issues) != 2 || issues[0].Kind != TextCueTime {
					t.Errorf("shifted: issues %+v, want 2 cue_time", issues)
				}
			}
		})
	}
}

func TestCheckTextCapsIssues(t *testing.T) {
	t.Parallel()
	wvtt := textInit(t, "wvtt")
	var samples []textSample
	for range MaxTextIssues + 3 {
		samples = append(samples, textSample{100, 0, []byte("junk")})
	}
	seg := textSegment(t, 2000, samples...)
	info, err := ParseSegment(seg, wvtt)
	if err != nil {
		t.Fatal(err)
	}
	got := CheckText(seg, wvtt, info)
	if len(got) != MaxTextIssues || !strings.Contains(got[len(got)-1].Detail, "and 3 more issues") {
		t.Errorf("got %d issues, last %+v", len(got), got[len(got)-1])
	}
	if CheckText(seg, videoInit(t), info) != nil {
		t.Error("issues for a video track")
	}
}

// TestTextTimingIssues: a text segment's span must be its slot K×D …
// (K+1)×D within GridTolerance (D/100 for one long sample) and must not
// overlap the stored neighbours by that much or more.
func TestTextTimingIssues(t *testing.T) {
	t.Parallel()
	const k, d = 10, 2000 // tolerance 20 ticks
	seg := func(ept, dur uint64) *SegmentInfo {
		return &SegmentInfo{EPT: ept, Duration: dur, SampleDuration: uint32(dur)}
	}
	at := func(t uint64) *uint64 { return &t }
	cases := []struct {
		name               string
		info               *SegmentInfo
		prevEnd, nextStart *uint64
		want               []string
	}{
		{"on the grid", seg(k*d, d), nil, nil, nil},
		{"on the grid between neighbours", seg(k*d, d), at(k * d), at((k + 1) * d), nil},
		{"within tolerance", seg(k*d+19, d-19), at(k*d + 19), nil, nil},
		{"100 ticks late", seg(k*d+100, d), nil, nil, []string{TextAlignment, TextAlignment}},
		{"short", seg(k*d, d-100), nil, nil, []string{TextAlignment}},
		{"overlaps the previous", seg(k*d, d), at(k*d + 100), nil, []string{TextOrder}},
		{"early, overlapping the previous", seg(k*d-100, d), at(k * d), nil, []string{TextAlignment, TextAlignment, TextOrder}},
		{"overlaps the next", seg(k*d, d+100), nil, at((k + 1) * d), []string{TextAlignment, TextOrder}},
		{"a hole before is no overlap", seg(k*d, d), at(k*d - 500), nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var kinds []string
			got := TextTimingIssues(k, d, c.info, c.prevEnd, c.nextStart)
			for _, i := range got {
				kinds = append(kinds, i.Kind)
			}
			if !slices.Equal(kinds, c.want) {
				t.Errorf("issues %+v, want kinds %v", got, c.want)
			}
		})
	}
}
