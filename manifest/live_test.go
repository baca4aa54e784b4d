package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseLive(t *testing.T, file, mpdURL string) *Live {
	t.Helper()
	l, err := ParseLive(readTestdata(t, file), mpdURL)
	if err != nil {
		t.Fatalf("ParseLive(%s): %v", file, err)
	}
	return l
}

func mustTrack(t *testing.T, l *Live, rep string) *LiveTrack {
	t.Helper()
	tr, ok := l.Track(rep)
	if !ok {
		t.Fatalf("no track %s", rep)
	}
	return tr
}

// trackWant is the subset of LiveTrack fields a test checks.
type trackWant struct {
	ContentType, MimeType, Codecs, Lang string
	Roles                               []string
	Bandwidth, Width, Height            int
	FrameRate                           string
	SampleRate, Channels                int
	Timescale                           uint32
	SegDur                              uint64
	InitURL                             string
	Mode                                AddressMode
	MediaTemplate                       string
	NumberOffset                        int64
	ATO                                 float64
}

func gotTrack(tr *LiveTrack) trackWant {
	return trackWant{
		ContentType: tr.ContentType, MimeType: tr.MimeType, Codecs: tr.Codecs, Lang: tr.Lang, Roles: tr.Roles,
		Bandwidth: tr.Bandwidth, Width: tr.Width, Height: tr.Height, FrameRate: tr.FrameRate,
		SampleRate: tr.SampleRate, Channels: tr.Channels, Timescale: tr.Timescale, SegDur: tr.SegDur,
		InitURL: tr.InitURL, Mode: tr.Mode, MediaTemplate: tr.MediaTemplate, NumberOffset: tr.NumberOffset,
		ATO: tr.AvailabilityTimeOffset,
	}
}

func TestParseLiveTracks(t *testing.T) {
	t.Parallel()
	const livesimNumber = "http://127.0.0.1:8888/livesim2/testpic_2s/Manifest.mpd"
	const livesimTime = "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/Manifest.mpd"
	cases := []struct {
		name, file, url string
		segDurSeconds   float64
		reps            []string
		want            map[string]trackWant
	}{
		{
			name: "livesim2 $Number$", file: "livesim_number.mpd", url: livesimNumber,
			segDurSeconds: 2, reps: []string{"A48", "V300"},
			want: map[string]trackWant{
				"A48": {ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "en", Roles: []string{"main"},
					Bandwidth: 48000, SampleRate: 48000, Channels: 2, Timescale: 1, SegDur: 2,
					InitURL:       "http://127.0.0.1:8888/livesim2/testpic_2s/A48/init.mp4",
					MediaTemplate: "http://127.0.0.1:8888/livesim2/testpic_2s/A48/$Number$.m4s"},
				"V300": {ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001e", Roles: []string{"main"},
					Bandwidth: 300000, Width: 640, Height: 360, FrameRate: "60/2", Timescale: 1, SegDur: 2,
					InitURL:       "http://127.0.0.1:8888/livesim2/testpic_2s/V300/init.mp4",
					MediaTemplate: "http://127.0.0.1:8888/livesim2/testpic_2s/V300/$Number$.m4s"},
			},
		},
		{
			name: "livesim2 $Time$", file: "livesim_time.mpd", url: livesimTime,
			segDurSeconds: 2, reps: []string{"A48", "V300"},
			want: map[string]trackWant{
				"A48": {ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "en", Roles: []string{"main"},
					Bandwidth: 48000, SampleRate: 48000, Channels: 2, Timescale: 48000, SegDur: 96000, Mode: ByTime,
					InitURL:       "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/A48/init.mp4",
					MediaTemplate: "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/A48/$Time$.m4s"},
				"V300": {ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001e", Roles: []string{"main"},
					Bandwidth: 300000, Width: 640, Height: 360, FrameRate: "60/2", Timescale: 90000, SegDur: 180000, Mode: ByTime,
					InitURL:       "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/V300/init.mp4",
					MediaTemplate: "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/V300/$Time$.m4s"},
			},
		},
		{
			name: "I-MPD with %08d", file: "impd_number.mpd", url: "https://enc1.example.com/ingest/ch1/manifest.mpd",
			segDurSeconds: 2, reps: []string{"V1", "V2", "A1"},
			want: map[string]trackWant{
				"V1": {ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.640028", Bandwidth: 4000000, Width: 1920, Height: 1080,
					FrameRate: "50", Timescale: 90000, SegDur: 180000,
					InitURL:       "https://enc1.example.com/ingest/ch1/V1/init.cmfv",
					MediaTemplate: "https://enc1.example.com/ingest/ch1/V1/$Number%08d$.cmfv"},
				"V2": {ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001f", Bandwidth: 1500000, Width: 1280, Height: 720,
					FrameRate: "50", Timescale: 90000, SegDur: 180000,
					InitURL:       "https://enc1.example.com/ingest/ch1/V2/init.cmfv",
					MediaTemplate: "https://enc1.example.com/ingest/ch1/V2/$Number%08d$.cmfv"},
				"A1": {ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "sv", Roles: []string{"main", "dub"},
					Bandwidth: 128000, SampleRate: 48000, Channels: 6, Timescale: 48000, SegDur: 96000,
					InitURL:       "https://enc1.example.com/ingest/ch1/A1/init.cmfv",
					MediaTemplate: "https://enc1.example.com/ingest/ch1/A1/$Number%08d$.cmfv"},
			},
		},
		{
			name: "startNumber=1, PTO, BaseURL chain, Representation template override", file: "number_pto.mpd",
			url: "https://origin.example.com/mpd/ch1.mpd", segDurSeconds: 2, reps: []string{"V1", "V2", "T1"},
			want: map[string]trackWant{
				"V1": {ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.640028", Bandwidth: 5000000, Width: 1920, Height: 1080,
					FrameRate: "25", Timescale: 90000, SegDur: 180000, NumberOffset: 1 - 852033600,
					InitURL:       "https://cdn.example.com/live/chan1/V1/init.mp4",
					MediaTemplate: "https://cdn.example.com/live/chan1/V1/seg-$Number$.m4s"},
				"V2": {ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001f", Bandwidth: 3000000, Width: 1280, Height: 720,
					FrameRate: "25", Timescale: 90000, SegDur: 180000, NumberOffset: 1 - 852033600, ATO: 1.5,
					InitURL:       "https://cdn.example.com/live/chan1/alt/3000000/i.mp4",
					MediaTemplate: "https://cdn.example.com/live/chan1/alt/3000000/$Number%06d$.m4s"},
				"T1": {ContentType: "text", MimeType: "application/mp4", Codecs: "stpp.ttml.im1t", Lang: "en", Bandwidth: 2000,
					Timescale: 1000, SegDur: 2000, NumberOffset: 1 - 852033600,
					InitURL:       "https://cdn.example.com/live/chan1/sub/T1/init.mp4",
					MediaTemplate: "https://cdn.example.com/live/chan1/sub/T1/$Number$.m4s"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := mustParseLive(t, c.file, c.url)
			if l.SegDurSeconds != c.segDurSeconds {
				t.Errorf("SegDurSeconds = %v, want %v", l.SegDurSeconds, c.segDurSeconds)
			}
			var reps []string
			for _, tr := range l.Tracks {
				reps = append(reps, tr.Rep)
			}
			if !reflect.DeepEqual(reps, c.reps) {
				t.Errorf("reps = %v, want %v", reps, c.reps)
			}
			for rep, want := range c.want {
				got := gotTrack(mustTrack(t, l, rep))
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s:\n got %+v\nwant %+v", rep, got, want)
				}
			}
		})
	}
}

func TestParseLiveHeader(t *testing.T) {
	t.Parallel()
	l := mustParseLive(t, "livesim_number.mpd", "http://127.0.0.1:8888/livesim2/testpic_2s/Manifest.mpd")
	if l.Type != "dynamic" || l.AvailabilityStartUnix != 0 || l.MinimumUpdatePeriod != 2 || l.TimeShiftBufferDepth != 60 {
		t.Errorf("header = %q %v %v %v", l.Type, l.AvailabilityStartUnix, l.MinimumUpdatePeriod, l.TimeShiftBufferDepth)
	}
	if len(l.Raw) == 0 {
		t.Error("Raw not kept")
	}
	l = mustParseLive(t, "number_pto.mpd", "")
	if l.AvailabilityStartUnix != 1704067200 {
		t.Errorf("AvailabilityStartUnix = %v", l.AvailabilityStartUnix)
	}
}

func TestMediaURL(t *testing.T) {
	t.Parallel()
	const livesimNumber = "http://127.0.0.1:8888/livesim2/testpic_2s/Manifest.mpd"
	const livesimTime = "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/Manifest.mpd"
	cases := []struct {
		name, file, url, rep string
		k                    int64
		want                 string // empty: an error is expected
	}{
		{"livesim number video", "livesim_number.mpd", livesimNumber, "V300", 897432, "http://127.0.0.1:8888/livesim2/testpic_2s/V300/897432.m4s"},
		{"livesim number audio", "livesim_number.mpd", livesimNumber, "A48", 0, "http://127.0.0.1:8888/livesim2/testpic_2s/A48/0.m4s"},
		{"livesim time video first", "livesim_time.mpd", livesimTime, "V300", 897654545, "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/V300/161577818100000.m4s"},
		{"livesim time video last", "livesim_time.mpd", livesimTime, "V300", 897654575, "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/V300/161577823500000.m4s"},
		{"livesim time video after end", "livesim_time.mpd", livesimTime, "V300", 897654576, ""},
		{"livesim time video before start", "livesim_time.mpd", livesimTime, "V300", 897654544, ""},
		{"livesim time audio first", "livesim_time.mpd", livesimTime, "A48", 897654545, "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/A48/86174836320256.m4s"},
		{"livesim time audio third (after 2x96256)", "livesim_time.mpd", livesimTime, "A48", 897654547, "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/A48/86174836512768.m4s"},
		{"I-MPD %08d padded", "impd_number.mpd", "https://enc/ch1/m.mpd", "V2", 12, "https://enc/ch1/V2/00000012.cmfv"},
		{"I-MPD %08d wider than width", "impd_number.mpd", "https://enc/ch1/m.mpd", "A1", 897654545, "https://enc/ch1/A1/897654545.cmfv"},
		{"startNumber=1 PTO: first segment", "number_pto.mpd", "https://o/m.mpd", "V1", 852033600, "https://cdn.example.com/live/chan1/V1/seg-1.m4s"},
		{"startNumber=1 PTO: %06d Bandwidth", "number_pto.mpd", "https://o/m.mpd", "V2", 852033609, "https://cdn.example.com/live/chan1/alt/3000000/000010.m4s"},
		{"startNumber=1 PTO: before start", "number_pto.mpd", "https://o/m.mpd", "V1", 852033598, ""},
		{"$Time$ with PTO and Period@start", "time_pto.mpd", "https://o/x/m.mpd", "V", 852033606, "https://o/x/v/90180000.m4s"},
		{"$Time$ after hole", "time_pto.mpd", "https://o/x/m.mpd", "V", 852033610, "https://o/x/v/90900000.m4s"},
		{"$Time$ in hole", "time_pto.mpd", "https://o/x/m.mpd", "V", 852033609, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr := mustTrack(t, mustParseLive(t, c.file, c.url), c.rep)
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

func TestLivesimTimeline(t *testing.T) {
	t.Parallel()
	l := mustParseLive(t, "livesim_time.mpd", "http://127.0.0.1:8888/livesim2/segtimeline_1/testpic_2s/Manifest.mpd")
	v := mustTrack(t, l, "V300")
	if len(v.Timeline) != 31 {
		t.Fatalf("video entries = %d, want 31", len(v.Timeline))
	}
	for i, e := range v.Timeline {
		wantT := uint64(161577818100000 + 180000*i)
		if e.T != wantT || e.D != 180000 || e.K != 897654545+int64(i) || e.K*180000 != int64(e.T) {
			t.Errorf("video entry %d = %+v", i, e)
		}
	}
	a := mustTrack(t, l, "A48")
	ds := []uint64{96256, 96256, 95232, 96256, 96256, 96256, 95232, 96256, 96256, 96256, 95232}
	if len(a.Timeline) != len(ds) {
		t.Fatalf("audio entries = %d, want %d", len(a.Timeline), len(ds))
	}
	tt := uint64(86174836320256)
	for i, e := range a.Timeline {
		wantK := int64((tt + 48000) / 96000) // round(t/96000)
		if e.T != tt || e.D != ds[i] || e.K != wantK || e.K != 897654545+int64(i) {
			t.Errorf("audio entry %d = %+v, want T=%d D=%d K=%d", i, e, tt, ds[i], wantK)
		}
		got, ok := a.EntryFor(e.K)
		if !ok || got != e {
			t.Errorf("EntryFor(%d) = %+v %v", e.K, got, ok)
		}
		tt += ds[i]
	}
	if a.OpenEnded || v.OpenEnded || a.TimeOffset != 0 || v.TimeOffset != 0 {
		t.Errorf("OpenEnded %v %v TimeOffset %d %d", a.OpenEnded, v.OpenEnded, a.TimeOffset, v.TimeOffset)
	}
}

// liveMPD builds a one-Period dynamic MPD around the given Period body.
func liveMPD(ast, periodAttrs, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" availabilityStartTime="` + ast + `" minBufferTime="PT2S">
  <Period id="p" start="PT0S"` + periodAttrs + `>` + body + `</Period>
</MPD>`
}

const videoAS = `<AdaptationSet id="3" contentType="video" mimeType="video/mp4">%s<Representation id="V" bandwidth="1000">%s</Representation></AdaptationSet>`

func videoMPD(asInner, repInner string) string {
	return liveMPD("1970-01-01T00:00:00Z", "", strings.Replace(strings.Replace(videoAS, "%s", asInner, 1), "%s", repInner, 1))
}

func TestParseLiveTimelines(t *testing.T) {
	t.Parallel()
	type entry struct {
		T      uint64
		D      uint64
		K      int64
		Number int64
	}
	cases := []struct {
		name      string
		mpd       string
		segDur    uint64
		openEnded bool
		entries   []entry
		offset    int64
	}{
		{
			name: "$Number$ with timeline, startNumber default 1",
			mpd: videoMPD(`<SegmentTemplate media="$Number$.m4s" timescale="10"><SegmentTimeline>
				<S t="100" d="20" r="2"/></SegmentTimeline></SegmentTemplate>`, ""),
			segDur:  20,
			entries: []entry{{100, 20, 5, 1}, {120, 20, 6, 2}, {140, 20, 7, 3}},
			offset:  -4,
		},
		{
			name: "S@n after a hole, startNumber 5",
			mpd: videoMPD(`<SegmentTemplate media="$Number$.m4s" timescale="10" startNumber="5"><SegmentTimeline>
				<S t="100" d="20" r="1"/><S t="160" n="8" d="20"/></SegmentTimeline></SegmentTemplate>`, ""),
			segDur:  20,
			entries: []entry{{100, 20, 5, 5}, {120, 20, 6, 6}, {160, 20, 8, 8}},
			offset:  0,
		},
		{
			name: "hole without S@n numbers positionally",
			mpd: videoMPD(`<SegmentTemplate media="$Number$.m4s" timescale="10" startNumber="5"><SegmentTimeline>
				<S t="100" d="20" r="1"/><S t="160" d="20"/></SegmentTimeline></SegmentTemplate>`, ""),
			segDur:  20,
			entries: []entry{{100, 20, 5, 5}, {120, 20, 6, 6}, {160, 20, 8, 7}},
			offset:  -1,
		},
		{
			name: "r=-1 up to the next S@t",
			mpd: videoMPD(`<SegmentTemplate media="$Time$.m4s" timescale="10"><SegmentTimeline>
				<S t="100" d="20" r="-1"/><S t="160" d="20"/></SegmentTimeline></SegmentTemplate>`, ""),
			segDur:  20,
			entries: []entry{{100, 20, 5, 1}, {120, 20, 6, 2}, {140, 20, 7, 3}, {160, 20, 8, 4}},
		},
		{
			name: "r=-1 up to the Period end",
			mpd: liveMPD("1970-01-01T00:00:00Z", ` duration="PT16S"`, strings.Replace(strings.Replace(videoAS, "%s",
				`<SegmentTemplate media="$Time$.m4s" timescale="10"><SegmentTimeline><S t="100" d="20" r="-1"/></SegmentTimeline></SegmentTemplate>`, 1), "%s", "", 1)),
			segDur:  20,
			entries: []entry{{100, 20, 5, 1}, {120, 20, 6, 2}, {140, 20, 7, 3}},
		},
		{
			name: "r=-1 open ended",
			mpd: videoMPD(`<SegmentTemplate media="$Time$.m4s" timescale="10"><SegmentTimeline>
				<S t="100" d="20" r="-1"/></SegmentTimeline></SegmentTemplate>`, ""),
			segDur: 20, openEnded: true,
			entries: []entry{{100, 20, 5, 1}},
		},
		{
			name: "Representation template overrides AdaptationSet template",
			mpd: videoMPD(`<SegmentTemplate media="$Number$.m4s" duration="4" startNumber="0"/>`,
				`<SegmentTemplate media="r/$Time$.m4s" timescale="10"><SegmentTimeline><S t="100" d="20"/></SegmentTimeline></SegmentTemplate>`),
			segDur:  20,
			entries: []entry{{100, 20, 5, 0}},
		},
		{
			name: "empty SegmentTimeline (allowed in an I-MPD)",
			mpd: videoMPD(`<SegmentTemplate media="$RepresentationID$/$Time$.m4s" initialization="$RepresentationID$/init.mp4" timescale="90000"><SegmentTimeline/></SegmentTemplate>`,
				""),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLive([]byte(c.mpd), "http://h/a/m.mpd")
			if err != nil {
				t.Fatal(err)
			}
			tr := mustTrack(t, l, "V")
			var got []entry
			for _, e := range tr.Timeline {
				got = append(got, entry{e.T, e.D, e.K, e.Number})
			}
			if tr.SegDur != c.segDur || tr.OpenEnded != c.openEnded || !reflect.DeepEqual(got, c.entries) {
				t.Errorf("SegDur %d OpenEnded %v entries %+v;\nwant %d %v %+v", tr.SegDur, tr.OpenEnded, got, c.segDur, c.openEnded, c.entries)
			}
			if tr.Mode == ByNumber && tr.NumberOffset != c.offset {
				t.Errorf("NumberOffset = %d, want %d", tr.NumberOffset, c.offset)
			}
		})
	}
}

func TestEntryForOpenEnded(t *testing.T) {
	t.Parallel()
	l, err := ParseLive([]byte(videoMPD(`<SegmentTemplate media="$Time$.m4s" timescale="90000"><SegmentTimeline>
		<S t="161577818100000" d="180000" r="-1"/></SegmentTimeline></SegmentTemplate>`, "")), "http://h/m.mpd")
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTrack(t, l, "V")
	e, ok := tr.EntryFor(897654545 + 10)
	if !ok || e.T != 161577818100000+1800000 || e.D != 180000 {
		t.Errorf("EntryFor = %+v %v", e, ok)
	}
	if _, ok := tr.EntryFor(897654544); ok {
		t.Error("EntryFor before the first entry should fail")
	}
	u, err := tr.MediaURL(897654546)
	if err != nil || u != "http://h/161577818280000.m4s" {
		t.Errorf("MediaURL = %q, %v", u, err)
	}
}

func TestParseLiveErrors(t *testing.T) {
	t.Parallel()
	tmpl := `<SegmentTemplate media="$RepresentationID$/$Number$.m4s" duration="2" startNumber="0"/>`
	cases := []struct {
		name    string
		data    string
		wantErr []string // substrings
	}{
		{"non-aligned AST", string(readTestdata(t, "unaligned_ast.mpd")), []string{"AdaptationSet 1 Representation A48", "not aligned"}},
		{"malformed XML", string(readTestdata(t, "malformed.mpd")), []string{"malformed MPD XML"}},
		{"not XML at all", "this is not an MPD", []string{"malformed MPD XML"}},
		{"wrong root element", `<?xml version="1.0"?><Playlist/>`, []string{"malformed MPD XML"}},
		// dash-mpd v0.16.0 loops forever on a raw '>' in character data (issue 10 item 3).
		{"raw > in character data (6-byte hang)", ">\n    ", []string{"malformed MPD XML", "unescaped '>' in character data at byte 0"}},
		{"raw > in element text", `<MPD type="static">a>b</MPD>`, []string{"unescaped '>' in character data at byte 20"}},
		{"raw > after the root", videoMPD(tmpl, "") + "\n>", []string{"unescaped '>' in character data"}},
		{"no root element", "<!-- nothing -->", []string{"no root element"}},
		{"too deep", strings.Repeat("<a>", maxMPDDepth+1) + strings.Repeat("</a>", maxMPDDepth+1), []string{"nests deeper than 64 levels"}},
		{"too large", "<MPD>" + strings.Repeat(" ", MaxMPDSize) + "</MPD>", []string{"over the 16777216 byte limit"}},
		{"Periods out of order", strings.Replace(videoMPD(tmpl, ""), "</Period>", `</Period><Period id="q" start="PT0S"/>`, 1),
			[]string{"Period q starts at 0s, not after the Period before it"}},
		{"Period without start after one without duration", strings.Replace(videoMPD(tmpl, ""), "</Period>", `</Period><Period id="q"/>`, 1),
			[]string{"Period q has no @start and the Period before it no @duration"}},
		{"second Period's error names it", strings.Replace(videoMPD(tmpl, ""), "</Period>", `</Period><Period id="q" start="PT100S">`+
			strings.Replace(strings.Replace(videoAS, "%s", "", 1), "%s", "", 1)+`</Period>`, 1),
			[]string{"Period q: AdaptationSet 3 Representation V: no SegmentTemplate"}},
		{"no Period", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z"/>`, []string{"no Period"}},
		{"dynamic without AST", strings.Replace(videoMPD(tmpl, ""), ` availabilityStartTime="1970-01-01T00:00:00Z"`, "", 1), []string{"without availabilityStartTime"}},
		{"bad AST", strings.Replace(videoMPD(tmpl, ""), `1970-01-01T00:00:00Z`, "yesterday", 1), []string{"availabilityStartTime", "yesterday"}},
		{"no SegmentTemplate", videoMPD("", ""), []string{"AdaptationSet 3 Representation V: no SegmentTemplate"}},
		{"no SegmentTemplate, AdaptationSet without id", strings.Replace(videoMPD("", ""), ` id="3"`, "", 1), []string{"AdaptationSet #1 Representation V: no SegmentTemplate"}},
		{"SegmentBase", videoMPD("", `<BaseURL>v.mp4</BaseURL><SegmentBase indexRange="800-1000"/>`), []string{"Representation V", "SegmentBase", "not supported"}},
		{"SegmentList", videoMPD(`<SegmentList duration="2"><SegmentURL media="a.m4s"/></SegmentList>`, ""), []string{"Representation V", "SegmentList", "not supported"}},
		{"neither $Number$ nor $Time$", videoMPD(`<SegmentTemplate media="$RepresentationID$/seg.m4s" duration="2"/>`, ""), []string{"Representation V", "neither $Number$ nor $Time$"}},
		{"both $Number$ and $Time$", videoMPD(`<SegmentTemplate media="$Number$-$Time$.m4s" duration="2"/>`, ""), []string{"both $Number$ and $Time$"}},
		{"unknown identifier", videoMPD(`<SegmentTemplate media="$Numbr$.m4s" duration="2"/>`, ""), []string{"unknown identifier $Numbr$"}},
		{"bad format tag", videoMPD(`<SegmentTemplate media="$Number%5x$.m4s" duration="2"/>`, ""), []string{"format tag"}},
		{"$Time$ without timeline", videoMPD(`<SegmentTemplate media="$Time$.m4s" duration="2"/>`, ""), []string{"$Time$ addressing needs a SegmentTimeline"}},
		{"no duration and no timeline", videoMPD(`<SegmentTemplate media="$Number$.m4s"/>`, ""), []string{"neither @duration nor a SegmentTimeline"}},
		{"no media", videoMPD(`<SegmentTemplate initialization="i.mp4" duration="2"/>`, ""), []string{"no @media"}},
		{"$Number$ in initialization", videoMPD(`<SegmentTemplate media="$Number$.m4s" initialization="$Number$.mp4" duration="2"/>`, ""), []string{"initialization template"}},
		{"duplicate Representation id", strings.Replace(videoMPD(tmpl, ""), "</AdaptationSet>", `</AdaptationSet><AdaptationSet id="4" mimeType="video/mp4">`+tmpl+`<Representation id="V" bandwidth="1"/></AdaptationSet>`, 1),
			[]string{"AdaptationSet 4 Representation V: duplicate Representation id"}},
		{"timeline before epoch", videoMPD(`<SegmentTemplate media="$Time$.m4s" timescale="10" presentationTimeOffset="1000"><SegmentTimeline><S t="100" d="20"/></SegmentTimeline></SegmentTemplate>`, ""),
			[]string{"before the epoch"}},
		{"overlapping S@t", videoMPD(`<SegmentTemplate media="$Time$.m4s" timescale="10"><SegmentTimeline><S t="100" d="20" r="1"/><S t="130" d="20"/></SegmentTimeline></SegmentTemplate>`, ""),
			[]string{"overlaps"}},
		{"r=-1 followed by S without t", videoMPD(`<SegmentTemplate media="$Time$.m4s" timescale="10"><SegmentTimeline><S t="100" d="20" r="-1"/><S d="20"/></SegmentTimeline></SegmentTemplate>`, ""),
			[]string{"r=-1 is followed by an S without @t"}},
		{"AST not a whole tick", strings.Replace(videoMPD(`<SegmentTemplate media="$Number$.m4s" duration="2"/>`, ""), "00:00:00Z", "00:00:00.5Z", 1),
			[]string{"not a whole number of ticks"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLive([]byte(c.data), "http://h/m.mpd")
			if err == nil {
				t.Fatalf("ParseLive succeeded (%d tracks), want error", len(l.Tracks))
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseLiveStaticWithoutAST(t *testing.T) {
	t.Parallel()
	data := strings.Replace(strings.Replace(videoMPD(`<SegmentTemplate media="$Number$.m4s" timescale="10" startNumber="3"><SegmentTimeline><S t="40" d="20" r="1"/></SegmentTimeline></SegmentTemplate>`, ""),
		` availabilityStartTime="1970-01-01T00:00:00Z"`, "", 1), `type="dynamic"`, `type="static"`, 1)
	l, err := ParseLive([]byte(data), "")
	if err != nil {
		t.Fatal(err)
	}
	tr := mustTrack(t, l, "V")
	if u, err := tr.MediaURL(3); err != nil || u != "4.m4s" {
		t.Errorf("MediaURL(3) = %q %v (relative URL expected without an MPD URL)", u, err)
	}
}

func TestParseLiveSegDurSnapping(t *testing.T) {
	t.Parallel()
	video := `<AdaptationSet id="1" contentType="video" mimeType="video/mp4"><SegmentTemplate media="$RepresentationID$/$Time$.m4s" timescale="90000">
		<SegmentTimeline><S t="161577818100000" d="180000" r="2"/></SegmentTimeline></SegmentTemplate><Representation id="V" bandwidth="1"/></AdaptationSet>`
	audio := func(timeline string) string {
		return `<AdaptationSet id="2" contentType="audio" mimeType="audio/mp4"><SegmentTemplate media="$RepresentationID$/$Time$.m4s" timescale="48000">
		<SegmentTimeline>` + timeline + `</SegmentTimeline></SegmentTemplate><Representation id="A" bandwidth="1"/></AdaptationSet>`
	}
	cases := []struct {
		name    string
		body    string
		wantD   float64
		wantSeg uint64 // of track A
		wantK   []int64
	}{
		{"one long audio segment snaps to the video D", video + audio(`<S t="86174836320256" d="96256"/>`), 2, 96000, []int64{897654545}},
		{"two audio segments", video + audio(`<S t="86174836320256" d="96256"/><S d="96256"/>`), 2, 96000, []int64{897654545, 897654546}},
		{"audio first: D from video anyway", audio(`<S t="86174836320256" d="96256"/>`) + video, 2, 96000, []int64{897654545}},
		{"4 s audio keeps its own duration", video + audio(`<S t="86174836224000" d="192000" r="1"/>`), 2, 192000, []int64{448827272, 448827273}},
		{"audio alone: mean rounded to ms", audio(`<S t="86174836320256" d="96256" r="1"/><S d="95232"/>`), 2.0, 96000, []int64{897654545, 897654546, 897654547}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLive([]byte(liveMPD("1970-01-01T00:00:00Z", "", c.body)), "http://h/m.mpd")
			if err != nil {
				t.Fatal(err)
			}
			a := mustTrack(t, l, "A")
			var ks []int64
			for _, e := range a.Timeline {
				ks = append(ks, e.K)
			}
			if l.SegDurSeconds != c.wantD || a.SegDur != c.wantSeg || !reflect.DeepEqual(ks, c.wantK) {
				t.Errorf("D %v SegDur %d K %v, want %v %d %v", l.SegDurSeconds, a.SegDur, ks, c.wantD, c.wantSeg, c.wantK)
			}
		})
	}
}
