package cmaf

import (
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestWebVTT converts built fMP4 WebVTT segments to WebVTT text: the
// X-TIMESTAMP-MAP maps the segment's tfdt (in 90 kHz, modulo 2^33) to
// LOCAL 0, cue times are relative to it in the track's timescale, iden and
// sttg become the cue's identifier and settings, a vtte sample is no cue,
// a cue that continues over contiguous samples is one cue, and malformed
// samples are errors.
func TestWebVTT(t *testing.T) {
	t.Parallel()
	type S = testenv.VTTSample
	type C = testenv.VTTCue
	hello := []C{{Text: "hello"}}
	const epochMS = 1_796_454_954_000 // 2026-12-05T07:15:54Z in ms
	cases := []struct {
		name      string
		timescale uint32
		dt        uint64
		samples   []S
		want      string // the file, or a substring of the error
		wantErr   bool
	}{
		{name: "id and settings", timescale: 1000, dt: 2000, samples: []S{
			{Dur: 900, Cues: []C{{ID: "c1", Settings: "line:0 align:start", Text: "first\nline two"}}}, {Dur: 1100},
		}, want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:180000,LOCAL:00:00:00.000\n\nc1\n00:00:00.000 --> 00:00:00.900 line:0 align:start\nfirst\nline two\n"},
		{name: "vtte only", timescale: 1000, dt: 0, samples: []S{{Dur: 2000}},
			want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n"},
		{name: "epoch time wraps at 2^33", timescale: 1000, dt: epochMS, samples: []S{{Dur: 900, Cues: hello}, {Dur: 100}},
			want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:" + "1196969376" + ",LOCAL:00:00:00.000\n\n00:00:00.000 --> 00:00:00.900\nhello\n"},
		{name: "cue over two samples merged", timescale: 1000, dt: 4000, samples: []S{
			{Dur: 500}, {Dur: 500, Cues: hello}, {Dur: 700, Cues: []C{{Text: "hello"}, {ID: "x", Text: "other"}}}, {Dur: 300, Cues: []C{{ID: "x", Text: "other"}}},
		}, want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:360000,LOCAL:00:00:00.000\n\n00:00:00.500 --> 00:00:01.700\nhello\n\nx\n00:00:01.000 --> 00:00:02.000\nother\n"},
		{name: "changed text is a new cue", timescale: 1000, dt: 0, samples: []S{{Dur: 1000, Cues: hello}, {Dur: 1000, Cues: []C{{Text: "bye"}}}},
			want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:00.000 --> 00:00:01.000\nhello\n\n00:00:01.000 --> 00:00:02.000\nbye\n"},
		{name: "timescale 90000 and 1/3 s", timescale: 90000, dt: 90000 * 3600, samples: []S{{Dur: 30000}, {Dur: 30000, Cues: hello}, {Dur: 120000}},
			want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:324000000,LOCAL:00:00:00.000\n\n00:00:00.333 --> 00:00:00.667\nhello\n"},
		{name: "timescale 48000, 2 h into the segment", timescale: 48000, dt: 48000, samples: []S{{Dur: 48000 * 7200}, {Dur: 24, Cues: hello}},
			want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n\n02:00:00.000 --> 02:00:00.001\nhello\n"},
		{name: "arrow in text escaped", timescale: 1000, dt: 0, samples: []S{{Dur: 1000, Cues: []C{{Text: "a --> b"}}}},
			want: "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:00.000 --> 00:00:01.000\na --&gt; b\n"},
		{name: "empty line in text", timescale: 1000, dt: 0, samples: []S{{Dur: 1000, Cues: []C{{Text: "a\n\nb"}}}},
			want: "sample 1 (decode time 0): cue text", wantErr: true},
		{name: "line break in id", timescale: 1000, dt: 0, samples: []S{{Dur: 1000, Cues: []C{{ID: "a\nb", Text: "t"}}}},
			want: "cue identifier", wantErr: true},
		{name: "vttc without payl", timescale: 1000, dt: 1000, samples: []S{{Dur: 1000}, {Dur: 1000, Raw: []byte{0, 0, 0, 8, 'v', 't', 't', 'c'}}},
			want: "sample 2 (decode time 2000): vttc without payl", wantErr: true},
		{name: "sample data not boxes", timescale: 1000, dt: 0, samples: []S{{Dur: 1000, Raw: []byte{0, 0, 1, 0, 'v', 't', 't', 'c', 1}}},
			want: "sample 1 (decode time 0): ", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			initData, err := testenv.WebVTTInit(2, c.timescale, "deu")
			if err != nil {
				t.Fatal(err)
			}
			init, err := ParseInit(initData)
			if err != nil {
				t.Fatal(err)
			}
			seg, err := testenv.WebVTTSegment(2, 1, c.dt, c.samples)
			if err != nil {
				t.Fatal(err)
			}
			got, err := WebVTT(seg, init)
			switch {
			case c.wantErr && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, output %q; want an error with %q", err, got, c.want)
			case !c.wantErr && err != nil:
				t.Errorf("error %v", err)
			case !c.wantErr && string(got) != c.want:
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestWebVTTNotWebVTT: the converter refuses a segment that is not one of
// an fMP4 WebVTT track, or not a media segment.
func TestWebVTTNotWebVTT(t *testing.T) {
	t.Parallel()
	wvttInit, err := testenv.WebVTTInit(2, 1000, "deu")
	if err != nil {
		t.Fatal(err)
	}
	wvtt, err := ParseInit(wvttInit)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := testenv.WebVTTSegment(2, 1, 0, []testenv.VTTSample{{Dur: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	other := *wvtt
	other.SampleEntry = "stpp"
	cases := []struct {
		name string
		data []byte
		init *InitInfo
		want string
	}{
		{"stpp track", seg, &other, `sample entry is "stpp"`},
		{"no init", seg, nil, "no init timescale"},
		{"init bytes", wvttInit, wvtt, "an init segment?"},
		{"truncated", seg[:len(seg)-3], wvtt, ""},
		{"other track", seg, &InitInfo{TrackID: 3, Timescale: 1000, SampleEntry: "wvtt"}, "tfhd track_ID 2, want 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got, err := WebVTT(c.data, c.init); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q, error %v; want an error with %q", got, err, c.want)
			}
		})
	}
}
