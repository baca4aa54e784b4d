package simulate

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/mp4ff/mp4"
)

var (
	assetOnce              sync.Once
	videoAsset, audioAsset []byte
	assetErr               error
)

func assets(t *testing.T) (video, audio []byte) {
	t.Helper()
	assetOnce.Do(func() {
		videoAsset, assetErr = os.ReadFile("../testdata/video.cmfv")
		if assetErr == nil {
			audioAsset, assetErr = os.ReadFile("../testdata/audio.cmfa")
		}
	})
	if assetErr != nil {
		t.Fatal(assetErr)
	}
	return videoAsset, audioAsset
}

// testNow is a fixed wall-clock time: epoch second 1772366400, so with D=2s
// the newest available segment is K=886183199.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testNewestK = 886183199

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newServer returns a Server on the assets with opts; Now defaults to testNow.
func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Video, opts.Audio = assets(t)
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

type segInfo struct {
	styp        *mp4.StypBox
	seqNr       uint32
	tfdt        uint64
	tfdtVersion byte
	dur         uint64
	ept         uint64
	samples     []mp4.FullSample
}

// parseSegment decodes a one-fragment media segment with mp4ff.
func parseSegment(t *testing.T, s *Server, rep string, b []byte) segInfo {
	t.Helper()
	initBytes, err := s.Init(rep)
	if err != nil {
		t.Fatal(err)
	}
	init, err := mp4.DecodeFile(bytes.NewReader(initBytes))
	if err != nil {
		t.Fatalf("decode init: %v", err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s segment: %v", rep, err)
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
		t.Fatalf("%s segment: want 1 segment with 1 fragment, got %d segments", rep, len(f.Segments))
	}
	frag := f.Segments[0].Fragments[0]
	fs, err := frag.GetFullSamples(init.Init.Moov.Mvex.Trex)
	if err != nil {
		t.Fatalf("%s samples: %v", rep, err)
	}
	si := segInfo{
		styp:        f.Segments[0].Styp,
		seqNr:       frag.Moof.Mfhd.SequenceNumber,
		tfdt:        frag.Moof.Traf.Tfdt.BaseMediaDecodeTime(),
		tfdtVersion: frag.Moof.Traf.Tfdt.Version,
		samples:     fs,
		ept:         ^uint64(0),
	}
	for _, s := range fs {
		si.dur += uint64(s.Dur)
		si.ept = min(si.ept, uint64(s.PresentationTime()))
	}
	return si
}

func TestMPD(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   Options
		d      time.Duration
		maxSeg time.Duration
	}{
		{name: "default", d: 2 * time.Second, maxSeg: 2006 * time.Millisecond},
		{name: "4s offset", opts: Options{SegmentDuration: 4 * time.Second, ClockOffset: 1500 * time.Millisecond, TimeShiftBuffer: time.Minute},
			d: 4 * time.Second, maxSeg: 4011 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.opts)
			raw, err := s.MPD()
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.MPDFromBytes(raw)
			if err != nil {
				t.Fatalf("dash-mpd cannot parse the MPD: %v\n%s", err, raw)
			}
			wantTSB := cmp(tc.opts.TimeShiftBuffer, DefaultTimeShiftBuffer)
			checks := []struct {
				what      string
				got, want any
			}{
				{"type", m.GetType(), "dynamic"},
				{"availabilityStartTime", string(m.AvailabilityStartTime), "1970-01-01T00:00:00Z"},
				{"publishTime", string(m.PublishTime), testNow.Add(tc.opts.ClockOffset).Format("2006-01-02T15:04:05.999Z07:00")},
				{"minimumUpdatePeriod set", m.MinimumUpdatePeriod != nil, true},
				{"minBufferTime", dur(m.MinBufferTime), tc.d},
				{"timeShiftBufferDepth", dur(m.TimeShiftBufferDepth), wantTSB},
				{"maxSegmentDuration", dur(m.MaxSegmentDuration), tc.maxSeg},
				{"MPD BaseURLs", len(m.BaseURL), 0},
				{"periods", len(m.Periods), 1},
			}
			p := m.Periods[0]
			checks = append(checks, []struct {
				what      string
				got, want any
			}{
				{"period id", p.Id, "P0"},
				{"period start", dur(p.Start), time.Duration(0)},
				{"period BaseURLs", len(p.BaseURLs), 0},
				{"adaptation sets", len(p.AdaptationSets), 2},
			}...)
			for i, as := range p.AdaptationSets {
				st := as.SegmentTemplate
				if st == nil {
					t.Fatalf("AdaptationSet %d has no SegmentTemplate", i)
				}
				if len(as.Representations) != 1 {
					t.Fatalf("AdaptationSet %d: %d Representations", i, len(as.Representations))
				}
				rep := as.Representations[0]
				ts := map[string]uint32{"video": 90000, "audio": 48000}[string(as.ContentType)]
				add := func(what string, got, want any) {
					checks = append(checks, struct {
						what      string
						got, want any
					}{fmt.Sprintf("AS %d %s", i, what), got, want})
				}
				add("BaseURLs", len(as.BaseURLs)+len(rep.BaseURLs), 0)
				add("media", st.Media, MediaTemplate)
				add("initialization", st.Initialization, InitTemplate)
				add("timescale", st.GetTimescale(), ts)
				add("duration", *st.Duration, uint32(tc.d.Seconds()*float64(ts)))
				add("startNumber", *st.StartNumber, uint32(0))
				add("SegmentTimeline", st.SegmentTimeline == nil, true)
				add("Representation SegmentTemplate", rep.SegmentTemplate == nil, true)
				add("segmentAlignment", as.SegmentAlignment, true)
				add("startWithSAP", as.StartWithSAP, uint32(1))
				add("role", len(as.Roles) == 1 && as.Roles[0].Value == "main", true)
				add("bandwidth > 0", rep.Bandwidth > 0, true)
				switch i {
				case 0:
					add("contentType", string(as.ContentType), "video")
					add("mimeType", as.MimeType, "video/mp4")
					add("id", rep.Id, "video")
					add("codecs", rep.Codecs, "avc1.4D401E")
					add("size", [2]uint32{rep.Width, rep.Height}, [2]uint32{640, 360})
					add("frameRate", string(rep.FrameRate), "25")
				case 1:
					add("contentType", string(as.ContentType), "audio")
					add("mimeType", as.MimeType, "audio/mp4")
					add("lang", as.Lang, "und")
					add("id", rep.Id, "audio")
					add("codecs", rep.Codecs, "mp4a.40.2")
					add("audioSamplingRate", *rep.AudioSamplingRate, mpd.UIntVectorType("48000"))
					add("channels", len(rep.AudioChannelConfigurations) == 1 && rep.AudioChannelConfigurations[0].Value == "2", true)
				}
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if t.Failed() {
				t.Logf("MPD:\n%s", raw)
			}
		})
	}
}

func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// dur returns an MPD duration rounded to the millisecond (dash-mpd parses
// PT2.006S as 2.005999999s).
func dur(d *mpd.Duration) time.Duration {
	if d == nil {
		return -1
	}
	return time.Duration(*d).Round(time.Millisecond)
}

// TestMPDOnlyPublishTimeChanges: the MPD is a pure function of the options
// and publishTime.
func TestMPDOnlyPublishTimeChanges(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: testNow}
	s := newServer(t, Options{Now: clock.Now})
	a, err := s.MPD()
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(testNow.Add(time.Hour + 1234*time.Millisecond))
	b, err := s.MPD()
	if err != nil {
		t.Fatal(err)
	}
	ra := strings.Replace(string(a), `publishTime="2026-03-01T12:00:00Z"`, "", 1)
	rb := strings.Replace(string(b), `publishTime="2026-03-01T13:00:01.234Z"`, "", 1)
	if ra == string(a) || rb == string(b) || ra != rb {
		t.Errorf("MPDs differ beyond publishTime:\n%s\n%s", a, b)
	}
}

func TestSegmentTiming(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d          time.Duration
		videoCount int
		ks         []int64
	}{
		{2 * time.Second, 50, []int64{0, 1, 2, 3, 4, testNewestK - 3, testNewestK - 2, testNewestK - 1, testNewestK}},
		{4 * time.Second, 100, []int64{0, 1, 2, 443091599, 443091600}},
		{6 * time.Second, 150, []int64{0, 1, 2, 3, 4, 295394400}},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, Options{SegmentDuration: tc.d})
			for _, rep := range []string{VideoRep, AudioRep} {
				ts := map[string]uint64{VideoRep: 90000, AudioRep: 48000}[rep]
				dt := uint64(tc.d.Seconds()) * ts
				var prev *segInfo
				prevK := int64(-2)
				for _, k := range tc.ks {
					b, err := s.Segment(rep, k)
					if err != nil {
						t.Fatal(err)
					}
					si := parseSegment(t, s, rep, b)
					nominal := uint64(k) * dt
					if si.tfdtVersion != 1 {
						t.Errorf("%s %d: tfdt version %d, want 1", rep, k, si.tfdtVersion)
					}
					if si.seqNr != uint32(k) {
						t.Errorf("%s %d: mfhd sequence %d", rep, k, si.seqNr)
					}
					if si.styp == nil || si.styp.MajorBrand() != "msdh" {
						t.Errorf("%s %d: styp %v, want major brand msdh", rep, k, si.styp)
					}
					if !si.samples[0].IsSync() {
						t.Errorf("%s %d: first sample is not a sync sample", rep, k)
					}
					switch rep {
					case VideoRep:
						if si.tfdt != nominal || si.dur != dt || si.ept != nominal || len(si.samples) != tc.videoCount {
							t.Errorf("video %d: tfdt %d dur %d ept %d samples %d; want tfdt=ept=%d dur %d samples %d",
								k, si.tfdt, si.dur, si.ept, len(si.samples), nominal, dt, tc.videoCount)
						}
					case AudioRep:
						if si.tfdt < nominal || si.tfdt >= nominal+1024 {
							t.Errorf("audio %d: tfdt %d not within [%d, %d)", k, si.tfdt, nominal, nominal+1024)
						}
						if si.dur+1024 <= dt || si.dur >= dt+1024 {
							t.Errorf("audio %d: duration %d, want within a frame of %d", k, si.dur, dt)
						}
						if k == prevK+1 && prev.tfdt+prev.dur != si.tfdt {
							t.Errorf("audio %d: tfdt %d, previous ends at %d", k, si.tfdt, prev.tfdt+prev.dur)
						}
					}
					for i := 1; i < len(si.samples); i++ {
						if si.samples[i].DecodeTime != si.samples[i-1].DecodeTime+uint64(si.samples[i-1].Dur) {
							t.Fatalf("%s %d: sample %d decode time gap", rep, k, i)
						}
					}
					prev, prevK = &si, k
				}
			}
		})
	}
}

// TestAudioContiguous: consecutive audio segments abut, for a run longer
// than the asset's loop, and the frames repeat with the asset's period.
func TestAudioContiguous(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	const k0 = testNewestK - 20
	var end uint64
	var frames [][]byte
	for k := int64(k0); k <= testNewestK; k++ {
		b, err := s.Segment(AudioRep, k)
		if err != nil {
			t.Fatal(err)
		}
		si := parseSegment(t, s, AudioRep, b)
		if k > k0 && si.tfdt != end {
			t.Fatalf("audio %d: tfdt %d, previous segment ends at %d", k, si.tfdt, end)
		}
		end = si.tfdt + si.dur
		for _, fs := range si.samples {
			frames = append(frames, fs.Data)
		}
	}
	const n = 376 // frames in the asset
	for i := n; i < len(frames); i++ {
		if !bytes.Equal(frames[i], frames[i-n]) {
			t.Fatalf("frame %d differs from frame %d: the asset does not loop every %d frames", i, i-n, n)
		}
	}
}

// TestDecodeContinuity: init + six consecutive segments decode with ffmpeg
// without errors and with every frame.
func TestDecodeContinuity(t *testing.T) {
	t.Parallel()
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatalf("ffprobe (ffmpeg) is a test dependency: %v", err)
	}
	for _, tc := range []struct {
		rep     string
		variant int
	}{{VideoRep, 0}, {AudioRep, 0}, {VideoRep, 1}, {AudioRep, 1}} {
		rep := tc.rep
		t.Run(fmt.Sprintf("%s variant %d", rep, tc.variant), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, Options{Variant: tc.variant})
			buf, err := s.Init(rep)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			// Across a loop boundary of the asset (K mod 4 == 0 at the third).
			for k := int64(testNewestK - 5); k <= testNewestK; k++ {
				b, err := s.Segment(rep, k)
				if err != nil {
					t.Fatal(err)
				}
				want += len(parseSegment(t, s, rep, b).samples)
				buf = append(buf, b...)
			}
			file := filepath.Join(t.TempDir(), rep+".mp4")
			if err := os.WriteFile(file, buf, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(ffprobe, "-v", "error", "-count_frames", "-show_entries",
				"stream=nb_read_frames", "-of", "csv=p=0", file)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
			}
			got, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil || got != want {
				t.Fatalf("ffprobe decoded %q frames, want %d", out, want)
			}
		})
	}
}

func TestInit(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s1 := newServer(t, Options{Variant: 3})
	for _, rep := range []string{VideoRep, AudioRep} {
		b, err := s.Init(rep)
		if err != nil {
			t.Fatal(err)
		}
		f, err := mp4.DecodeFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		moov := f.Init.Moov
		if moov.Mvex == nil || moov.Mvex.Trex == nil || moov.Mvex.Mehd != nil {
			t.Errorf("%s: want mvex with trex and no mehd", rep)
		}
		if moov.Trak.Edts != nil || moov.Mvhd.Duration != 0 || moov.Trak.Mdia.Mdhd.Duration != 0 {
			t.Errorf("%s: want no edts and zero durations", rep)
		}
		if b1, _ := s1.Init(rep); !bytes.Equal(b, b1) {
			t.Errorf("%s: init differs between variants", rep)
		}
	}
	if _, err := s.Init("text"); err == nil {
		t.Error("Init(text): no error")
	}
	if _, err := s.Segment("text", 1); err == nil {
		t.Error("Segment(text, 1): no error")
	}
	if _, err := s.Segment(VideoRep, -1); err == nil {
		t.Error("Segment(video, -1): no error")
	}
}

func TestVariant(t *testing.T) {
	t.Parallel()
	s0 := newServer(t, Options{})
	s1 := newServer(t, Options{Variant: 1})
	for _, rep := range []string{VideoRep, AudioRep} {
		for _, k := range []int64{testNewestK - 1, testNewestK} {
			b0, _ := s0.Segment(rep, k)
			b1, err := s1.Segment(rep, k)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(b0, b1) {
				t.Errorf("%s %d: variant 1 is bit-identical to variant 0", rep, k)
			}
			i0, i1 := parseSegment(t, s0, rep, b0), parseSegment(t, s1, rep, b1)
			if i0.tfdt != i1.tfdt || i0.dur != i1.dur || i0.ept != i1.ept || len(i0.samples) != len(i1.samples) {
				t.Errorf("%s %d: timing differs: %d+%d vs %d+%d", rep, k, i0.tfdt, i0.dur, i1.tfdt, i1.dur)
			}
			for i := range i0.samples {
				a, b := i0.samples[i], i1.samples[i]
				if a.Sample != b.Sample || a.DecodeTime != b.DecodeTime || !bytes.Equal(a.Data, b.Data) {
					t.Fatalf("%s %d: sample %d differs", rep, k, i)
				}
			}
		}
	}
}

func TestTimingSkew(t *testing.T) {
	t.Parallel()
	s0 := newServer(t, Options{})
	s := newServer(t, Options{TimingSkew: 900})
	for _, rep := range []string{VideoRep, AudioRep} {
		b0, _ := s0.Segment(rep, testNewestK)
		b, err := s.Segment(rep, testNewestK)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := parseSegment(t, s, rep, b).tfdt, parseSegment(t, s0, rep, b0).tfdt+900; got != want {
			t.Errorf("%s: tfdt %d, want %d", rep, got, want)
		}
	}
	neg := newServer(t, Options{TimingSkew: -1})
	if _, err := neg.Segment(VideoRep, 0); err == nil {
		t.Error("negative tfdt: no error")
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	opts := Options{Variant: 2, TimingSkew: 7}
	a, b := newServer(t, opts), newServer(t, opts)
	for _, rep := range []string{VideoRep, AudioRep} {
		ia, _ := a.Init(rep)
		ib, _ := b.Init(rep)
		if !bytes.Equal(ia, ib) {
			t.Errorf("%s init differs between servers", rep)
		}
		for k := int64(testNewestK - 8); k <= testNewestK; k++ {
			sa, _ := a.Segment(rep, k)
			sb, _ := b.Segment(rep, k)
			if !bytes.Equal(sa, sb) || len(sa) == 0 {
				t.Errorf("%s %d differs between servers", rep, k)
			}
		}
	}
	ma, _ := a.MPD()
	mb, _ := b.MPD()
	if !bytes.Equal(ma, mb) {
		t.Error("MPD differs between servers")
	}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	drop, err := ParseDrop(fmt.Sprintf("k:%d;rep:audio:k:%d", testNewestK-3, testNewestK-4))
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{Drop: drop, TimeShiftBuffer: time.Minute})
	srv := httptest.NewServer(s)
	defer srv.Close()
	seg := func(rep string, k int64) []byte {
		b, err := s.Segment(rep, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	initV, _ := s.Init(VideoRep)
	initA, _ := s.Init(AudioRep)
	const oldest = testNewestK - 29 // 60 s time-shift buffer, D = 2 s
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
		body         []byte
	}{
		{"GET", "/manifest.mpd", 200, "application/dash+xml", nil},
		{"HEAD", "/manifest.mpd", 200, "application/dash+xml", nil},
		{"GET", "/video/init.mp4", 200, "video/mp4", initV},
		{"GET", "/video/init.cmfv", 200, "video/mp4", initV},
		{"HEAD", "/video/init.cmfv", 200, "video/mp4", initV},
		{"GET", "/audio/init.mp4", 200, "audio/mp4", initA},
		{"GET", "/audio/init.cmfa", 200, "audio/mp4", initA},
		{"GET", fmt.Sprintf("/video/%d.m4s", testNewestK), 200, "video/mp4", seg(VideoRep, testNewestK)},
		{"GET", fmt.Sprintf("/video/%d.cmfv", testNewestK), 200, "video/mp4", seg(VideoRep, testNewestK)},
		{"HEAD", fmt.Sprintf("/video/%d.m4s", testNewestK), 200, "video/mp4", seg(VideoRep, testNewestK)},
		{"GET", fmt.Sprintf("/audio/%d.m4s", testNewestK), 200, "audio/mp4", seg(AudioRep, testNewestK)},
		{"GET", fmt.Sprintf("/audio/%d.cmfa", testNewestK), 200, "audio/mp4", seg(AudioRep, testNewestK)},
		{"GET", fmt.Sprintf("/video/%d.m4s", oldest), 200, "video/mp4", seg(VideoRep, oldest)},
		// Not yet available, out of the time-shift buffer.
		{"GET", fmt.Sprintf("/video/%d.m4s", testNewestK+1), 404, "", nil},
		{"GET", fmt.Sprintf("/audio/%d.m4s", testNewestK+1), 404, "", nil},
		{"GET", fmt.Sprintf("/video/%d.m4s", oldest-1), 404, "", nil},
		{"GET", "/video/0.m4s", 404, "", nil},
		// Dropped: K-3 everywhere, K-4 audio only.
		{"GET", fmt.Sprintf("/video/%d.m4s", testNewestK-3), 404, "", nil},
		{"GET", fmt.Sprintf("/audio/%d.m4s", testNewestK-3), 404, "", nil},
		{"GET", fmt.Sprintf("/audio/%d.m4s", testNewestK-4), 404, "", nil},
		{"GET", fmt.Sprintf("/video/%d.m4s", testNewestK-4), 200, "video/mp4", seg(VideoRep, testNewestK-4)},
		{"GET", fmt.Sprintf("/audio/%d.m4s", testNewestK-2), 200, "audio/mp4", seg(AudioRep, testNewestK-2)},
		// Unknown paths.
		{"GET", "/", 404, "", nil},
		{"GET", "/manifest.mpd/x", 404, "", nil},
		{"GET", "/text/init.mp4", 404, "", nil},
		{"GET", "/video/init.cmfa", 404, "", nil},
		{"GET", "/video/init.m4s", 404, "", nil},
		{"GET", fmt.Sprintf("/video/%d.mp4", testNewestK), 404, "", nil},
		{"GET", fmt.Sprintf("/video/%d.cmfa", testNewestK), 404, "", nil},
		{"GET", fmt.Sprintf("/video/0%d.m4s", testNewestK), 404, "", nil},
		{"GET", fmt.Sprintf("/video/+%d.m4s", testNewestK), 404, "", nil},
		{"GET", "/video/-1.m4s", 404, "", nil},
		{"GET", "/video/x.m4s", 404, "", nil},
		{"GET", "/video/99999999999999999999.m4s", 404, "", nil},
		{"POST", "/manifest.mpd", 405, "", nil},
		{"PUT", "/video/init.mp4", 405, "", nil},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if tc.method == "HEAD" {
				if len(body) != 0 {
					t.Errorf("HEAD returned %d body bytes", len(body))
				}
				if tc.body != nil && resp.ContentLength != int64(len(tc.body)) {
					t.Errorf("HEAD Content-Length %d, want %d", resp.ContentLength, len(tc.body))
				}
				return
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body differs from the Server method's bytes (%d vs %d bytes)", len(body), len(tc.body))
			}
		})
	}
}

// TestMPDURLs resolves the MPD's templates against the server like a client.
func TestMPDURLs(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	raw, _ := s.MPD()
	m, err := mpd.MPDFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, as := range m.Periods[0].AdaptationSets {
		id := as.Representations[0].Id
		st := as.SegmentTemplate
		for _, path := range []string{
			strings.ReplaceAll(st.Initialization, "$RepresentationID$", id),
			strings.NewReplacer("$RepresentationID$", id, "$Number$", strconv.Itoa(testNewestK)).Replace(st.Media),
		} {
			resp, err := http.Get(srv.URL + "/" + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != as.MimeType {
				t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	}
}

func status(t *testing.T, s *Server, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

func TestAvailabilityEdge(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	s := newServer(t, Options{Now: clock.Now})
	k := int64(testNewestK + 1)
	path := fmt.Sprintf("/video/%d.m4s", k)
	for _, tc := range []struct {
		at   time.Time
		want int
	}{
		{time.Unix((k+1)*2, 0).Add(-time.Nanosecond), 404},
		{time.Unix((k+1)*2, 0), 200},
		{time.Unix(k*2, 0).Add(5 * time.Minute), 200}, // K*D == now - TSB
		{time.Unix(k*2, 0).Add(5*time.Minute + 1), 404},
	} {
		clock.Set(tc.at)
		if got := status(t, s, path); got != tc.want {
			t.Errorf("at %v: %d, want %d", tc.at.UTC(), got, tc.want)
		}
	}
}

func TestClockOffset(t *testing.T) {
	t.Parallel()
	early := newServer(t, Options{ClockOffset: 2 * time.Second})
	late := newServer(t, Options{ClockOffset: -100 * time.Millisecond})
	for _, tc := range []struct {
		s    *Server
		k    int64
		want int
	}{
		{early, testNewestK + 1, 200},
		{early, testNewestK + 2, 404},
		{late, testNewestK, 404},
		{late, testNewestK - 1, 200},
	} {
		if got := status(t, tc.s, fmt.Sprintf("/audio/%d.m4s", tc.k)); got != tc.want {
			t.Errorf("offset %v K=%d: %d, want %d", tc.s.opts.ClockOffset, tc.k, got, tc.want)
		}
	}
}

func TestDown(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: testNow}
	down, err := ParseIntervals("10s-20s,30s-31s")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{Now: clock.Now, Down: down})
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{
		{0, 200},
		{9999 * time.Millisecond, 200},
		{10 * time.Second, 503},
		{15 * time.Second, 503},
		{20 * time.Second, 200},
		{30500 * time.Millisecond, 503},
		{31 * time.Second, 200},
	} {
		clock.Set(testNow.Add(tc.after))
		for _, path := range []string{"/manifest.mpd", "/video/init.mp4", fmt.Sprintf("/audio/%d.m4s", testNewestK), "/nothing"} {
			want := tc.want
			if want == 200 && path == "/nothing" {
				want = 404
			}
			if got := status(t, s, path); got != want {
				t.Errorf("%v after start, %s: %d, want %d", tc.after, path, got, want)
			}
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	video, audio := assets(t)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no video", Options{Audio: audio}, "video and an audio asset are required"},
		{"no audio", Options{Video: video}, "video and an audio asset are required"},
		{"swapped", Options{Video: audio, Audio: video}, `handler type "soun", want "vide"`},
		{"garbage", Options{Video: []byte("not an mp4 file at all"), Audio: audio}, "video asset"},
		{"1s", Options{Video: video, Audio: audio, SegmentDuration: time.Second}, "segment duration 1s does not fit the video asset"},
		{"2.5s", Options{Video: video, Audio: audio, SegmentDuration: 2500 * time.Millisecond}, "not the start of a sync sample"},
		{"odd ticks", Options{Video: video, Audio: audio, SegmentDuration: 2*time.Second + 1}, "not a whole number of video ticks"},
		{"negative D", Options{Video: video, Audio: audio, SegmentDuration: -time.Second}, "out of range"},
		{"huge D", Options{Video: video, Audio: audio, SegmentDuration: 2 * time.Hour}, "out of range"},
		{"short TSB", Options{Video: video, Audio: audio, TimeShiftBuffer: time.Second}, "time-shift buffer 1s is shorter"},
		{"negative variant", Options{Video: video, Audio: audio, Variant: -1}, "negative variant"},
		{"bad down", Options{Video: video, Audio: audio, Down: []Interval{{From: 5 * time.Second, To: time.Second}}}, "bad down interval"},
		{"negative tracks", Options{Video: video, Audio: audio, VideoTracks: -1}, "-1 video and 0 audio tracks"},
		{"too many tracks", Options{Video: video, Audio: audio, AudioTracks: 65}, "want 0 (one) to 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCleanInit: an edit list, mehd and durations in the asset's init are
// removed; trex is kept.
func TestCleanInit(t *testing.T) {
	t.Parallel()
	video, _ := assets(t)
	f, err := mp4.DecodeFile(bytes.NewReader(video))
	if err != nil {
		t.Fatal(err)
	}
	moov := f.Init.Moov
	edts := &mp4.EdtsBox{}
	edts.AddChild(&mp4.ElstBox{Entries: []mp4.ElstEntry{{SegmentDuration: 720000, MediaTime: 3600, MediaRateInteger: 1}}})
	moov.Trak.AddChild(edts)
	moov.Mvex.AddChild(&mp4.MehdBox{FragmentDuration: 8000})
	moov.Mvhd.Duration = 8000
	moov.Trak.Mdia.Mdhd.Duration = 720000
	moov.Trak.Tkhd.Duration = 8000
	b, err := cleanInit(f.Init)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m := g.Init.Moov
	if m.Trak.Edts != nil || m.Mvex.Mehd != nil || m.Mvex.Trex == nil ||
		m.Mvhd.Duration != 0 || m.Trak.Mdia.Mdhd.Duration != 0 || m.Trak.Tkhd.Duration != 0 {
		t.Errorf("init not cleaned: edts %v mehd %v trex %v durations %d %d %d", m.Trak.Edts, m.Mvex.Mehd, m.Mvex.Trex,
			m.Mvhd.Duration, m.Trak.Mdia.Mdhd.Duration, m.Trak.Tkhd.Duration)
	}
}

// TestTracks: VideoTracks and AudioTracks serve that many Representations,
// each in its own AdaptationSet of the I-MPD and over HTTP, with the init
// and media segments of the first of their kind; 0 means one.
func TestTracks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		video, audio int
		wantReps     []string
		absentPath   string
	}{
		{"default", 0, 0, []string{"video", "audio"}, "/video2/init.mp4"},
		{"one each", 1, 1, []string{"video", "audio"}, "/audio2/init.mp4"},
		{"4+4", 4, 4, []string{"video", "video2", "video3", "video4", "audio", "audio2", "audio3", "audio4"}, "/video5/init.mp4"},
		{"3+1", 3, 1, []string{"video", "video2", "video3", "audio"}, "/audio2/init.mp4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, Options{VideoTracks: tc.video, AudioTracks: tc.audio})
			body, err := s.MPD()
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.ReadFromString(string(body))
			if err != nil {
				t.Fatal(err)
			}
			var reps []string
			for _, as := range m.Periods[0].AdaptationSets {
				if len(as.Representations) != 1 {
					t.Errorf("AdaptationSet %v has %d Representations, want 1", as.Id, len(as.Representations))
				}
				for _, r := range as.Representations {
					reps = append(reps, r.Id)
				}
			}
			if fmt.Sprint(reps) != fmt.Sprint(tc.wantReps) {
				t.Errorf("MPD Representations %v, want %v", reps, tc.wantReps)
			}
			for _, rep := range tc.wantReps {
				kind := strings.TrimRight(rep, "0123456789")
				checkSameBytes(t, s, rep, kind)
				if code := status(t, s, fmt.Sprintf("/%s/%d.m4s", rep, testNewestK)); code != http.StatusOK {
					t.Errorf("GET /%s/%d.m4s: %d, want 200", rep, testNewestK, code)
				}
			}
			if code := status(t, s, tc.absentPath); code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", tc.absentPath, code)
			}
		})
	}
}

// checkSameBytes checks that rep serves the init and media segments of the
// first track of its kind.
func checkSameBytes(t *testing.T, s *Server, rep, kind string) {
	t.Helper()
	for _, get := range []func(string) ([]byte, error){s.Init, func(r string) ([]byte, error) { return s.Segment(r, testNewestK) }} {
		got, err := get(rep)
		if err != nil {
			t.Fatalf("%s: %v", rep, err)
		}
		want, err := get(kind)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s serves other bytes than %s", rep, kind)
		}
	}
}
