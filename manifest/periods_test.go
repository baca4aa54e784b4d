package manifest

import (
	"strings"
	"testing"
)

// TestMultiPeriodMediaURL resolves K on both sides of a Period boundary in
// MPDs saved from livesim2 v1.9.0 periods_N (every one spans a boundary:
// its time-shift window holds two or three Periods), and in an encoder
// restart announced as a new Period whose $Number$ and $Time$ start again.
func TestMultiPeriodMediaURL(t *testing.T) {
	t.Parallel()
	const base = "http://127.0.0.1:8888/livesim2/"
	// P29940832 starts at PT499013H52M = 1796449920 s: K 898224960 with D = 2 s.
	const lastOfP1, firstOfP2 = 898224959, 898224960
	restart := restartMPD()
	cases := []struct {
		name, file, data, url, rep string
		k                          int64
		want                       string // empty: an error is expected
	}{
		{"periods_60 $Number$ before boundary", "livesim_periods60_number.mpd", "", base + "periods_60/testpic_2s/Manifest.mpd", "V300", lastOfP1, base + "periods_60/testpic_2s/V300/898224959.m4s"},
		{"periods_60 $Number$ after boundary", "livesim_periods60_number.mpd", "", base + "periods_60/testpic_2s/Manifest.mpd", "A48", firstOfP2, base + "periods_60/testpic_2s/A48/898224960.m4s"},
		{"periods_60 $Number$ first of window", "livesim_periods60_number.mpd", "", base + "periods_60/testpic_2s/Manifest.mpd", "V300", 898224930, base + "periods_60/testpic_2s/V300/898224930.m4s"},
		{"periods_120 $Number$ middle Period", "livesim_periods120_number.mpd", "", base + "periods_120/testpic_2s/Manifest.mpd", "V300", 898224945, base + "periods_120/testpic_2s/V300/898224945.m4s"},
		{"periods_120 $Number$ last Period", "livesim_periods120_number.mpd", "", base + "periods_120/testpic_2s/Manifest.mpd", "A48", 898224961, base + "periods_120/testpic_2s/A48/898224961.m4s"},
		{"periods_60 $Time$ video before boundary", "livesim_periods60_time.mpd", "", base + "periods_60/segtimeline_1/testpic_2s/Manifest.mpd", "V300", lastOfP1, base + "periods_60/segtimeline_1/testpic_2s/V300/161680492620000.m4s"},
		{"periods_60 $Time$ video after boundary", "livesim_periods60_time.mpd", "", base + "periods_60/segtimeline_1/testpic_2s/Manifest.mpd", "V300", firstOfP2, base + "periods_60/segtimeline_1/testpic_2s/V300/161680492800000.m4s"},
		{"periods_60 $Time$ audio before boundary", "livesim_periods60_time.mpd", "", base + "periods_60/segtimeline_1/testpic_2s/Manifest.mpd", "A48", lastOfP1, base + "periods_60/segtimeline_1/testpic_2s/A48/86229596064768.m4s"},
		{"periods_60 $Time$ audio after boundary", "livesim_periods60_time.mpd", "", base + "periods_60/segtimeline_1/testpic_2s/Manifest.mpd", "A48", firstOfP2, base + "periods_60/segtimeline_1/testpic_2s/A48/86229596160000.m4s"},
		{"periods_60 $Time$ video past the live edge", "livesim_periods60_time.mpd", "", base + "periods_60/segtimeline_1/testpic_2s/Manifest.mpd", "V300", firstOfP2 + 5, ""},
		{"periods_60 timeline $Number$ before boundary", "livesim_periods60_timenr.mpd", "", base + "periods_60/segtimelinenr_1/testpic_2s/Manifest.mpd", "A48", lastOfP1, base + "periods_60/segtimelinenr_1/testpic_2s/A48/898224959.m4s"},
		{"periods_60 timeline $Number$ after boundary", "livesim_periods60_timenr.mpd", "", base + "periods_60/segtimelinenr_1/testpic_2s/Manifest.mpd", "V300", firstOfP2 + 1, base + "periods_60/segtimelinenr_1/testpic_2s/V300/898224961.m4s"},
		// Encoder restart at 100 s (K 50): Number and Time start again in Period r.
		{"restart $Number$ before", "", restart, "https://o/m.mpd", "V", 49, "https://o/V/49.m4s"},
		{"restart $Number$ after", "", restart, "https://o/m.mpd", "V", 50, "https://o/V/1.m4s"},
		{"restart $Number$ later", "", restart, "https://o/m.mpd", "V", 53, "https://o/V/4.m4s"},
		{"restart $Time$ before", "", restart, "https://o/m.mpd", "A", 49, "https://o/A/4704000.m4s"},
		{"restart $Time$ after", "", restart, "https://o/m.mpd", "A", 50, "https://o/A/0.m4s"},
		{"restart $Time$ second", "", restart, "https://o/m.mpd", "A", 51, "https://o/A/96000.m4s"},
		{"Representation only in the first Period", "", restart, "https://o/m.mpd", "T", 50, ""},
		{"Representation only in the first Period, before", "", restart, "https://o/m.mpd", "T", 49, "https://o/T/49.m4s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var l *Live
			if c.file != "" {
				l = mustParseLive(t, c.file, c.url)
			} else {
				var err error
				if l, err = ParseLive([]byte(c.data), c.url); err != nil {
					t.Fatal(err)
				}
			}
			if l.SegDurSeconds != 2 {
				t.Errorf("SegDurSeconds = %v, want 2", l.SegDurSeconds)
			}
			tr := mustTrack(t, l, c.rep)
			got, err := tr.MediaURL(c.k)
			if c.want == "" {
				if err == nil {
					t.Fatalf("MediaURL(%d) = %q, want error", c.k, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("MediaURL(%d): %v", c.k, err)
			}
			if got != c.want {
				t.Errorf("MediaURL(%d) = %q, want %q", c.k, got, c.want)
			}
		})
	}
}

// TestMultiPeriodTracks checks that the same Representation ids in
// consecutive Periods are one track each, that its Periods hold adjacent K
// ranges, and that the init URL is that of the Period holding K.
func TestMultiPeriodTracks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, data string
		reps             []string
		periods          int
		boundaryK        int64
	}{
		{"livesim2 periods_60", "livesim_periods60_time.mpd", "", []string{"A48", "V300"}, 2, 898224960},
		{"livesim2 periods_120", "livesim_periods120_number.mpd", "", []string{"A48", "V300"}, 3, 898224945},
		{"encoder restart", "", restartMPD(), []string{"V", "A", "T"}, 2, 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(c.data)
			if c.file != "" {
				data = readTestdata(t, c.file)
			}
			l, err := ParseLive(data, "https://o/m.mpd")
			if err != nil {
				t.Fatal(err)
			}
			var reps []string
			for _, tr := range l.Tracks {
				reps = append(reps, tr.Rep)
			}
			if strings.Join(reps, ",") != strings.Join(c.reps, ",") {
				t.Fatalf("tracks = %v, want %v", reps, c.reps)
			}
			tr := l.Tracks[0]
			if len(tr.Periods) != c.periods {
				t.Fatalf("%s: %d Periods, want %d", tr.Rep, len(tr.Periods), c.periods)
			}
			if got := tr.Periods[1].FirstK; got != c.boundaryK || tr.Periods[0].EndK != got {
				t.Errorf("boundary: Period 0 ends at %d, Period 1 starts at %d, want %d", tr.Periods[0].EndK, got, c.boundaryK)
			}
			last := tr.Periods[len(tr.Periods)-1]
			if tr.InitURL != last.Track.InitURL || tr.SegDur == 0 {
				t.Errorf("track describes itself as %q SegDur %d, want the last Period's %q", tr.InitURL, tr.SegDur, last.Track.InitURL)
			}
		})
	}
	l, err := ParseLive([]byte(restartMPD()), "https://o/m.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if tt := mustTrack(t, l, "T"); !tt.Holds(49) || tt.Holds(50) || !mustTrack(t, l, "V").Holds(1<<40) {
		t.Errorf("Holds: T 49 %v, T 50 %v, V far ahead %v; want true, false, true", tt.Holds(49), tt.Holds(50), mustTrack(t, l, "V").Holds(1<<40))
	}
	v := mustTrack(t, l, "V")
	if a, b := v.InitURLFor(49), v.InitURLFor(50); a != "https://o/V/init-1.mp4" || b != "https://o/V/init-2.mp4" {
		t.Errorf("InitURLFor(49), (50) = %q, %q", a, b)
	}
}

// restartMPD is a two-Period MPD: an encoder restarted at 100 s announces
// Period r whose $Number$ starts at 1 and whose $Time$ starts at 0 (PTO 0),
// with a new init; Representation T is gone after the restart.
func restartMPD() string {
	period := func(id, start, initSuffix, startNumber, pto, s string, withT bool) string {
		p := `<Period id="` + id + `" start="` + start + `">
  <AdaptationSet id="1" contentType="video" mimeType="video/mp4">
    <SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="$RepresentationID$/init-` + initSuffix + `.mp4" duration="2" startNumber="` + startNumber + `"/>
    <Representation id="V" bandwidth="1000" codecs="avc1.64001e"/>
  </AdaptationSet>
  <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4">
    <SegmentTemplate media="$RepresentationID$/$Time$.m4s" initialization="$RepresentationID$/init-` + initSuffix + `.mp4" timescale="48000" presentationTimeOffset="` + pto + `">
      <SegmentTimeline>` + s + `</SegmentTimeline>
    </SegmentTemplate>
    <Representation id="A" bandwidth="64000" codecs="mp4a.40.2"/>
  </AdaptationSet>`
		if withT {
			p += `
  <AdaptationSet id="3" contentType="text" mimeType="application/mp4">
    <SegmentTemplate media="$RepresentationID$/$Number$.m4s" duration="2" startNumber="0"/>
    <Representation id="T" bandwidth="1000" codecs="wvtt"/>
  </AdaptationSet>`
		}
		return p + "\n</Period>\n"
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" minBufferTime="PT2S" timeShiftBufferDepth="PT60S">
` + period("p", "PT0S", "1", "0", "0", `<S t="4512000" d="96000" r="2"/>`, true) +
		period("r", "PT100S", "2", "1", "0", `<S t="0" d="96000" r="3"/>`, false) + `</MPD>`
}
