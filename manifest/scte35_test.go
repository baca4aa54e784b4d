package manifest

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// scte35Events are events around a presentation of K k0..k0+7 (D = 2 s):
// one before it (id 1), a closed break (2), a return (3), a command in a
// millisecond timescale (5) and a break still open at the end (4).
func scte35Events() []SCTE35Event {
	at := func(k int64, extra uint64) uint64 { return uint64(k)*180000 + extra }
	return []SCTE35Event{
		{ID: 1, Timescale: 90000, Time: at(k0-1, 90000), Duration: 180000, Cue: CueOut, Message: []byte{0xfc, 0x01}},
		{ID: 2, Timescale: 90000, Time: at(k0, 45000), Duration: 180000, Cue: CueOut, Message: []byte{0xfc, 0x02}},
		{ID: 3, Timescale: 90000, Time: at(k0+5, 0), Cue: CueIn, Message: []byte{0xfc, 0x03}},
		{ID: 5, Timescale: 1000, Time: uint64(k0+6)*2000 + 500, Cue: CueCmd, Message: []byte{0xfc, 0x05}},
		{ID: 4, Timescale: 90000, Time: at(k0+7, 0), Duration: 900000, Cue: CueOut, Message: []byte{0xfc, 0x04}},
	}
}

// scte35Periods are two Periods (new init at k0+4), contiguous or with a
// cut-out gap (K k0+4..k0+5 missing: the second Period starts at k0+6).
func scte35Periods(gap bool) []VoDPeriod {
	second := int64(k0 + 4)
	if gap {
		second = k0 + 6
	}
	newInit := videoTrack("V300", 300000, videoSegs(second, k0+7))
	newInit.InitPath = "ch1/V300/init-aaaaaaaaaaaaaaaa.cmfv"
	return []VoDPeriod{
		{Tracks: []VoDTrack{videoTrack("V300", 300000, videoSegs(k0, k0+3)), audioTrack("A48", audioSegs(k0, k0+3))}},
		{Tracks: []VoDTrack{newInit, audioTrack("A48", audioSegs(second, k0+7))}},
	}
}

// TestBuildVoDSCTE35EventStream: each Period gets one EventStream
// (urn:scte:scte35:2014:xml+bin) with the events that start in it, at
// their presentation time (Period@start + (presentationTime −
// presentationTimeOffset) / timescale), with the break duration, or no
// duration when the break is still open at the end, and the message in
// Signal/Binary; an event before the presentation is left out.
func TestBuildVoDSCTE35EventStream(t *testing.T) {
	t.Parallel()
	type want struct {
		period int
		at     float64 // seconds into the presentation
		dur    float64 // seconds; 0: no @duration
	}
	cases := []struct {
		name       string
		contiguous bool
		gap        bool
		want       map[uint64]want
	}{
		{"periods", false, false, map[uint64]want{2: {0, 0.5, 2}, 3: {1, 10, 0}, 5: {1, 12.5, 0}, 4: {1, 14, 0}}},
		// --gaps split: K k0+4..5 are cut out, the second Period starts at
		// 8 s; the return in the cut-out gap is at its start.
		{"contiguous", true, true, map[uint64]want{2: {0, 0.5, 2}, 3: {1, 8, 0}, 5: {1, 8.5, 0}, 4: {1, 10, 0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			evs := scte35Events()
			out, err := BuildVoD(VoDInput{Periods: scte35Periods(c.gap), Contiguous: c.contiguous, SCTE35: evs})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `<Signal xmlns="http://www.scte.org/schemas/35/2016">`) {
				t.Errorf("no Signal in the SCTE 35 2016 namespace:\n%s", out)
			}
			m, err := mpd.ReadFromString(string(out))
			if err != nil {
				t.Fatal(err)
			}
			msgs := map[uint64][]byte{}
			for _, e := range evs {
				msgs[uint64(e.ID)] = e.Message
			}
			got := map[uint64]want{}
			for pi, p := range m.Periods {
				if len(p.EventStreams) > 1 {
					t.Errorf("Period %d: %d EventStreams, want at most 1", pi, len(p.EventStreams))
				}
				for _, es := range p.EventStreams {
					if es.SchemeIdUri != SCTE35EventScheme {
						t.Errorf("schemeIdUri %q", es.SchemeIdUri)
					}
					ts := float64(*es.Timescale)
					for _, e := range es.Events {
						if e.Signal == nil || e.Signal.Binary == nil {
							t.Fatalf("Event %d: no Signal/Binary", *e.Id)
						}
						if b, _ := base64.StdEncoding.DecodeString(e.Signal.Binary.Value); !bytes.Equal(b, msgs[*e.Id]) {
							t.Errorf("Event %d: Binary %q, want base64 of % x", *e.Id, e.Signal.Binary.Value, msgs[*e.Id])
						}
						start := float64(*p.Start) / 1e9
						got[*e.Id] = want{pi, start + float64(int64(e.PresentationTime)-int64(es.PresentationTimeOffset))/ts, float64(e.Duration) / ts}
					}
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("events %v, want %v", got, c.want)
			}
			for id, w := range c.want {
				if g, ok := got[id]; !ok || g.period != w.period || abs(g.at-w.at) > 1e-3 || abs(g.dur-w.dur) > 1e-3 {
					t.Errorf("event %d: %+v, want %+v\n%s", id, g, w, out)
				}
			}
		})
	}
}

func abs(x float64) float64 { return max(x, -x) }

// TestBuildHLSDateRange: the media playlists carry an EXT-X-DATERANGE per
// event in the presentation, before the segment holding its start, with
// START-DATE on the epoch timeline, DURATION for a closed break,
// PLANNED-DURATION alone for one still open at the end, and the message in
// hex in SCTE35-OUT, -IN or -CMD; and EXT-X-PROGRAM-DATE-TIME after each
// discontinuity.
func TestBuildHLSDateRange(t *testing.T) {
	t.Parallel()
	evs := scte35Events()
	pls, err := BuildHLS(VoDInput{Periods: scte35Periods(false), SCTE35: evs}, hlsName)
	if err != nil {
		t.Fatal(err)
	}
	start := func(k int64, ms int) string {
		return epochTime(uint64(k)*2000+uint64(ms), 1000).Format("2006-01-02T15:04:05.999Z07:00")
	}
	cases := []struct {
		id, attrs, before string // before: the URI of the segment that follows
	}{
		{"scte35-2", `START-DATE="` + start(k0, 500) + `",DURATION=2.000000,SCTE35-OUT=0xfc02`, "ch1/V300/897654545.cmfv"},
		{"scte35-3", `START-DATE="` + start(k0+5, 0) + `",SCTE35-IN=0xfc03`, "ch1/V300/897654550.cmfv"},
		{"scte35-5", `START-DATE="` + start(k0+6, 500) + `",SCTE35-CMD=0xfc05`, "ch1/V300/897654551.cmfv"},
		{"scte35-4", `START-DATE="` + start(k0+7, 0) + `",PLANNED-DURATION=10.000000,SCTE35-OUT=0xfc04`, "ch1/V300/897654552.cmfv"},
	}
	var video string
	for _, p := range pls {
		if p.Rep == "V300" {
			video = string(p.Body)
		}
		if p.Rep == "A48" && strings.Count(string(p.Body), "#EXT-X-DATERANGE") != len(cases) {
			t.Errorf("audio playlist: want %d EXT-X-DATERANGE:\n%s", len(cases), p.Body)
		}
	}
	if strings.Contains(video, "scte35-1") {
		t.Errorf("the event before the presentation is signalled:\n%s", video)
	}
	if n := strings.Count(video, "#EXT-X-DATERANGE"); n != len(cases) {
		t.Errorf("%d EXT-X-DATERANGE, want %d:\n%s", n, len(cases), video)
	}
	if n := strings.Count(video, "#EXT-X-PROGRAM-DATE-TIME"); n != 2 {
		t.Errorf("%d EXT-X-PROGRAM-DATE-TIME, want 2 (first segment, discontinuity):\n%s", n, video)
	}
	lines := strings.Split(video, "\n")
	for _, c := range cases {
		tag := `#EXT-X-DATERANGE:ID="` + c.id + `",` + c.attrs
		i := indexOf(lines, tag)
		if i < 0 {
			t.Errorf("no %s in\n%s", tag, video)
			continue
		}
		for i++; i < len(lines) && strings.HasPrefix(lines[i], "#"); i++ {
		}
		if i == len(lines) || lines[i] != c.before {
			t.Errorf("%s: not before segment %s\n%s", c.id, c.before, video)
		}
	}
}

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}

// TestSCTE35Golden: the EventStream and EXT-X-DATERANGE output, byte for
// byte (run with -update to accept a change).
func TestSCTE35Golden(t *testing.T) {
	t.Parallel()
	in := VoDInput{Periods: scte35Periods(false), SCTE35: scte35Events()}
	mpdOut, err := BuildVoD(in)
	if err != nil {
		t.Fatal(err)
	}
	pls, err := BuildHLS(in, hlsName)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"scte35.mpd": mpdOut, "hls_scte35.m3u8": joinHLS(pls)} {
		path := filepath.Join("testdata", "golden", name)
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
	}
}
