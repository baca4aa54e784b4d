package cmaf

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// fuzzSeeds returns the init and the fragments of both test files and a few
// synthetic inits and segments. Whole files are left out to keep inputs small.
func fuzzSeeds(f *testing.F) (inits, segs [][]byte) {
	f.Helper()
	for _, name := range []string{"video.cmfv", "audio.cmfa"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		file, err := mp4.DecodeFile(bytes.NewReader(data))
		if err != nil {
			f.Fatal(err)
		}
		inits = append(inits, encode(f, file.Init))
		for _, seg := range file.Segments {
			for _, frag := range seg.Fragments {
				segs = append(segs, encode(f, frag))
			}
		}
	}
	for _, media := range []string{"audio", "text"} {
		init := mp4.CreateEmptyInit()
		init.AddEmptyTrack(48000, media, "en-GB")
		var err error
		if media == "audio" {
			err = init.Moov.Trak.SetAACDescriptor(5, 24000)
		} else {
			err = init.Moov.Trak.SetWvttDescriptor("WEBVTT")
		}
		if err != nil {
			f.Fatal(err)
		}
		inits = append(inits, encode(f, init))
	}
	neg := []int32{0, 7200, -3600, -3600}
	segs = append(segs,
		synth(f, 1, 1, 1_790_000_000*90000, 8, 3600, neg),
		slices.Concat(
			encode(f, mp4.CreateStyp()),
			encode(f, &mp4.EmsgBox{Version: 1, TimeScale: 90000, SchemeIDURI: "urn:scte:scte35:2013:bin"}),
			synth(f, 1, 1, 0, 4, 3600, neg),
			synth(f, 2, 1, 4*3600, 4, 3600, neg)))
	return inits, segs
}

func FuzzParseSegment(f *testing.F) {
	inits, segs := fuzzSeeds(f)
	for _, s := range segs {
		f.Add(s)
	}
	init, err := ParseInit(inits[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []*InitInfo{nil, init} {
			info, err := ParseSegment(data, in)
			if (info == nil) == (err == nil) {
				t.Fatalf("info %v, err %v", info, err)
			}
			if err != nil {
				continue
			}
			if info.Size != len(data) || info.Fragments < 1 || info.SampleCount < info.Fragments {
				t.Fatalf("inconsistent %+v", info)
			}
		}
	})
}

func FuzzParseInit(f *testing.F) {
	inits, segs := fuzzSeeds(f)
	for _, s := range slices.Concat(inits, segs[len(segs)-1:]) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseInit(data)
		if (info == nil) == (err == nil) {
			t.Fatalf("info %v, err %v", info, err)
		}
		if err == nil && (info.Timescale == 0 || info.TrackID == 0 || info.ContentType == "" || len(info.ConfigHash) != 64) {
			t.Fatalf("inconsistent %+v", info)
		}
	})
}

// FuzzCheckText: the cue check of any segment that parses as a text
// track's (livesim2's WebVTT and IMSC1 tracks) returns, without panicking,
// at most MaxTextIssues issues, each with a known kind.
func FuzzCheckText(f *testing.F) {
	var inits []*InitInfo
	for _, name := range []string{"timesubs_stpp_en", "timesubs_wvtt_de"} {
		for _, suffix := range []string{"_init.mp4", "_898227455.m4s"} {
			data, err := os.ReadFile(filepath.Join("testdata", name+suffix))
			if err != nil {
				f.Fatal(err)
			}
			if suffix == "_init.mp4" {
				in, err := ParseInit(data)
				if err != nil {
					f.Fatal(err)
				}
				inits = append(inits, in)
				continue
			}
			f.Add(data)
		}
	}
	kinds := []string{TextOrder, TextAlignment, TextMalformed, TextCueTime}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range inits {
			info, err := ParseSegment(data, in)
			if err != nil {
				continue
			}
			issues := CheckText(data, in, info)
			if len(issues) > MaxTextIssues {
				t.Fatalf("%d issues", len(issues))
			}
			for _, is := range issues {
				if !slices.Contains(kinds, is.Kind) || is.Detail == "" {
					t.Fatalf("issue %+v", is)
				}
			}
		}
	})
}

// FuzzWebVTT: the WebVTT converter returns text or an error, never
// panics, and its text opens with the WEBVTT header.
func FuzzWebVTT(f *testing.F) {
	initData, err := testenv.WebVTTInit(2, 1000, "deu")
	if err != nil {
		f.Fatal(err)
	}
	init, err := ParseInit(initData)
	if err != nil {
		f.Fatal(err)
	}
	for _, samples := range [][]testenv.VTTSample{
		{{Dur: 900, Cues: []testenv.VTTCue{{ID: "a", Settings: "line:0", Text: "x"}}}, {Dur: 100}},
		{{Dur: 500, Cues: []testenv.VTTCue{{Text: "x"}, {Text: "y"}}}, {Dur: 500, Cues: []testenv.VTTCue{{Text: "y"}}}},
	} {
		seg, err := testenv.WebVTTSegment(2, 1, 1_796_454_954_000, samples)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seg)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := WebVTT(data, init)
		if (out == nil) == (err == nil) || (err == nil && !bytes.HasPrefix(out, []byte("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:"))) {
			t.Fatalf("out %q, err %v", out, err)
		}
	})
}
