package export_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// slateDir is the test slate (testdata/slate: SMPTE bars and silence, made
// with the channel asset's settings).
func slateDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "testdata", "slate"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func count(segs []mpdtest.HLSSeg, f func(mpdtest.HLSSeg) bool) int {
	n := 0
	for _, s := range segs {
		if f(s) {
			n++
		}
	}
	return n
}

// TestExportGapModes exports a range with a gap in both tracks (K0+4) and
// a gap in audio only (K0+7) in each mode, as DASH and HLS, and checks the
// Periods (start, presentationTimeOffset, Ks), the HLS tags, that every
// referenced object exists, and what ffmpeg decodes.
func TestExportGapModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+9, k0+4, k0+7)
	e.Offer(t, "a", sim, simulate.VideoRep, k0+7)
	type period struct {
		start time.Duration
		video []int64
		audio []int64
	}
	cases := []struct {
		mode     export.GapMode
		periods  []period
		fillers  int
		omitted  int
		hlsSegs  map[string]int // per rep
		hlsGaps  map[string]int
		hlsDisc  int
		frames   int64 // video segments ffmpeg decodes from the HLS
		dashDec  int64 // video segments ffmpeg decodes from the MPD (0: not single-Period)
		duration time.Duration
	}{
		{mode: export.GapsSignal,
			periods: []period{{0, mpdtest.KRange(k0, k0+9, k0+4), mpdtest.KRange(k0, k0+9, k0+4, k0+7)}},
			hlsSegs: map[string]int{"video": 10, "audio": 10}, hlsGaps: map[string]int{"video": 1, "audio": 2},
			frames: 9, dashDec: 9},
		{mode: export.GapsSplit,
			// The gaps are cut out: each Period starts where the previous ends.
			periods: []period{{0, mpdtest.KRange(k0, k0+3), mpdtest.KRange(k0, k0+3)}, {8 * time.Second, mpdtest.KRange(k0+5, k0+6), mpdtest.KRange(k0+5, k0+6)}, {12 * time.Second, mpdtest.KRange(k0+8, k0+9), mpdtest.KRange(k0+8, k0+9)}},
			omitted: 1, hlsSegs: map[string]int{"video": 8, "audio": 8}, hlsGaps: map[string]int{}, hlsDisc: 2, frames: 8, duration: 16 * time.Second},
		{mode: export.GapsFill,
			periods: []period{{0, mpdtest.KRange(k0, k0+3), mpdtest.KRange(k0, k0+3)}, {8 * time.Second, mpdtest.KRange(k0+4, k0+4), mpdtest.KRange(k0+4, k0+4)},
				{10 * time.Second, mpdtest.KRange(k0+5, k0+6), mpdtest.KRange(k0+5, k0+6)}, {14 * time.Second, mpdtest.KRange(k0+7, k0+7), mpdtest.KRange(k0+7, k0+7)}, {16 * time.Second, mpdtest.KRange(k0+8, k0+9), mpdtest.KRange(k0+8, k0+9)}},
			fillers: 3, hlsSegs: map[string]int{"video": 10, "audio": 10}, hlsGaps: map[string]int{}, hlsDisc: 4, frames: 10},
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			t.Parallel()
			o := export.Options{From: kTime(k0), To: kTime(k0 + 10), Formats: []string{"dash", "hls"}, Gaps: c.mode,
				Out: fileURL(filepath.Join(e.storeDir, "vod", string(c.mode)+".mpd"))}
			if c.mode == export.GapsFill {
				o.Slate = slateDir(t)
			}
			res := e.export(t, o)
			wantDur := c.duration
			if wantDur == 0 {
				wantDur = 20 * time.Second
			}
			if res.Periods != len(c.periods) || res.Fillers != c.fillers || res.Omitted != c.omitted || res.Gaps != 3 || res.Duration != wantDur {
				t.Errorf("result %+v", res)
			}
			if want := filepath.Join(e.storeDir, "vod", string(c.mode)+".m3u8"); res.HLSPath != want {
				t.Errorf("HLS at %s, want %s", res.HLSPath, want)
			}
			m := mpdtest.Read(t, res.MPDPath)
			if len(m.Periods) != len(c.periods) {
				t.Fatalf("%d Periods, want %d", len(m.Periods), len(c.periods))
			}
			for i, w := range c.periods {
				p := m.Periods[i]
				if p.Start != w.start {
					t.Errorf("Period %d starts at %v, want %v", i, p.Start, w.start)
				}
				for rep, ks := range map[string][]int64{simulate.VideoRep: w.video, simulate.AudioRep: w.audio} {
					if got := p.Ks(rep); !mpdtest.EqualKs(got, ks) {
						t.Errorf("Period %d %s: Ks %v, want %v", i, rep, got, ks)
					}
					// presentationTimeOffset: the Period's first K * D * T.
					if want := uint64(min(w.video[0], w.audio[0])) * segDurOf(rep); p.Tracks[rep].PTO != want {
						t.Errorf("Period %d %s: presentationTimeOffset %d, want %d", i, rep, p.Tracks[rep].PTO, want)
					}
					filler := strings.Contains(p.Tracks[rep].Media, "/filler/")
					if filler != (c.mode == export.GapsFill && (i == 1 || (i == 3 && rep == simulate.AudioRep))) {
						t.Errorf("Period %d %s: media %s", i, rep, p.Tracks[rep].Media)
					}
				}
			}
			for _, r := range m.Refs() {
				if _, err := os.Stat(filepath.Join(filepath.Dir(res.MPDPath), filepath.FromSlash(r))); err != nil {
					t.Errorf("referenced object: %v", err)
				}
			}
			hls := mpdtest.ReadHLS(t, res.HLSPath)
			for _, rep := range reps {
				segs := hls[rep]
				gaps := count(segs, func(s mpdtest.HLSSeg) bool { return s.Gap })
				discs := count(segs, func(s mpdtest.HLSSeg) bool { return s.Discontinuity })
				if len(segs) != c.hlsSegs[rep] || gaps != c.hlsGaps[rep] || discs != c.hlsDisc {
					t.Errorf("HLS %s: %d segments, %d gaps, %d discontinuities; want %d, %d, %d", rep, len(segs), gaps, discs, c.hlsSegs[rep], c.hlsGaps[rep], c.hlsDisc)
				}
				for _, s := range segs {
					for _, u := range []string{s.URI, s.Map} {
						if _, err := os.Stat(filepath.Join(e.storeDir, "vod", filepath.FromSlash(u))); err != nil && !(s.Gap && u == s.URI) {
							t.Errorf("HLS %s: %v", rep, err)
						}
					}
				}
			}
			video, audio := testenv.DecodedFrames(t, res.HLSPath)
			if want := int(c.frames * 50); video != want {
				t.Errorf("ffmpeg decoded %d video frames from the HLS, want %d", video, want)
			}
			if want := float64(len(hls["audio"])-c.hlsGaps["audio"]) * 93.75; float64(audio) < want-2 || float64(audio) > want+2 {
				t.Errorf("ffmpeg decoded %d audio frames from the HLS, want %.0f ± 2", audio, want)
			}
			if c.dashDec > 0 {
				if video, _ := testenv.DecodedFrames(t, res.MPDPath); int64(video) != c.dashDec*50 {
					t.Errorf("ffmpeg decoded %d video frames from the MPD, want %d", video, c.dashDec*50)
				}
			}
		})
	}
}

// TestExportFillers: fill mode stores each filler once, create-only, under
// the layout's filler key, re-timed to its K (tfdt K*D*T for video, the
// epoch frame grid for audio; mfhd sequence number K); the index records
// it; a rerun reuses it and gives the same bytes; the slate's init (another
// codec configuration than the channel's) is the filler Period's init.
func TestExportFillers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+5, k0+2, k0+3)
	o := export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 6), Formats: []string{"dash", "hls"},
		Gaps: export.GapsFill, Slate: slateDir(t), Out: fileURL(filepath.Join(e.storeDir, "vod", "fill.mpd"))}
	res := e.export(t, o)
	if res.Fillers != 4 || res.FillersCreated != 4 || res.Periods != 3 || res.Segments != 8 {
		t.Fatalf("result %+v; want 4 fillers created, 3 Periods, 8 archived segments", res)
	}
	for _, rep := range reps {
		tr := e.Track(t, rep)
		rows, err := e.db.Fillers(ctx, tr.ID, "", 0, 1<<62)
		if err != nil || len(rows) != 0 {
			t.Errorf("fillers of another slate: %v %v", rows, err)
		}
		keys := e.Keys(t, testChannel+"/"+rep+"/"+layout.FillerDir+"/")
		var media []string
		for _, k := range keys {
			o, err := layout.Parse(k)
			if err != nil {
				t.Fatal(err)
			}
			switch o.Kind {
			case layout.KindFiller:
				media = append(media, k)
			case layout.KindFillerInit:
			default:
				t.Errorf("%s in the filler directory is not a filler object", k)
			}
		}
		if len(media) != 2 {
			t.Fatalf("%s: filler objects %v", rep, keys)
		}
		for i, key := range media {
			o, _ := layout.Parse(key)
			k := k0 + 2 + int64(i)
			if o.K != k || o.Ext != "m4s" || len(o.Hash) != layout.HashLen {
				t.Errorf("filler key %s", key)
			}
			rows, err := e.db.Fillers(ctx, tr.ID, o.Hash, k, k)
			if err != nil || len(rows) != 1 || rows[0].Key != key || rows[0].SHA256 != sha(e.Get(t, key)) {
				t.Errorf("index rows for %s: %+v %v", key, rows, err)
			}
			f, err := mp4.DecodeFile(bytes.NewReader(e.Get(t, key)))
			if err != nil || len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
				t.Fatalf("filler %s: %v", key, err)
			}
			moof := f.Segments[0].Fragments[0].Moof
			want := uint64(k) * segDurOf(rep)
			if rep == simulate.AudioRep {
				want = (want + 1023) / 1024 * 1024
			}
			if moof.Traf.Tfdt.BaseMediaDecodeTime() != want || moof.Traf.Tfdt.Version != 1 || moof.Mfhd.SequenceNumber != uint32(k) {
				t.Errorf("filler %s: tfdt %d v%d, sequence %d; want tfdt %d v1, sequence %d", key, moof.Traf.Tfdt.BaseMediaDecodeTime(), moof.Traf.Tfdt.Version, moof.Mfhd.SequenceNumber, want, k)
			}
			if rows[0].EPT != want {
				t.Errorf("filler %s: indexed EPT %d, want %d", key, rows[0].EPT, want)
			}
		}
	}
	m := mpdtest.Read(t, res.MPDPath)
	for _, rep := range reps {
		fi, ai := m.Periods[1].Tracks[rep].Init, m.Periods[0].Tracks[rep].Init
		if !strings.Contains(fi, "/filler/init-") || fi == ai || ai != m.Periods[2].Tracks[rep].Init {
			t.Errorf("%s inits by Period: %s, %s, %s", rep, ai, fi, m.Periods[2].Tracks[rep].Init)
		}
	}
	mpd1, _ := os.ReadFile(res.MPDPath)
	hls1, _ := os.ReadFile(filepath.Join(e.storeDir, "vod", "fill-video.m3u8"))
	// A rerun creates nothing and writes the same bytes.
	res2 := e.export(t, o)
	mpd2, _ := os.ReadFile(res2.MPDPath)
	hls2, _ := os.ReadFile(filepath.Join(e.storeDir, "vod", "fill-video.m3u8"))
	if res2.FillersCreated != 0 || res2.Fillers != 4 || !bytes.Equal(mpd1, mpd2) || !bytes.Equal(hls1, hls2) {
		t.Errorf("rerun: %+v; MPD same %v, HLS same %v", res2, bytes.Equal(mpd1, mpd2), bytes.Equal(hls1, hls2))
	}
	// Fillers do not close the gaps.
	st, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range st.Channels[0].Tracks {
		if len(tr.Gaps) != 1 {
			t.Errorf("%s: gaps %v after fill; want the gap kept", tr.Rep, tr.Gaps)
		}
	}
	// --copy takes the fillers along; the package plays without the archive.
	pkg := filepath.Join(e.dir, "pkg")
	o.Out, o.Copy = fileURL(pkg)+"/", true
	res3 := e.export(t, o)
	if res3.Copied != 8+4+4 {
		t.Errorf("--copy copied %d objects, want 8 segments, 4 fillers, 2 inits and 2 filler inits", res3.Copied)
	}
	if err := os.Rename(e.storeDir, e.storeDir+".moved"); err != nil {
		t.Fatal(err)
	}
	video, _ := testenv.DecodedFrames(t, res3.HLSPath)
	if video != 6*50 {
		t.Errorf("ffmpeg decoded %d video frames from the copied HLS, want 6 segments × 50", video)
	}
}

// TestExportGapErrors: bad option combinations and slates are errors that
// say what is wrong.
func TestExportGapErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+3, k0+1)
	videoOnly := filepath.Join(e.dir, "slate-video")
	twoVideos := filepath.Join(e.dir, "slate-two")
	for _, d := range []string{videoOnly, twoVideos} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	v, err := os.ReadFile(filepath.Join(slateDir(t), "video.cmfv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(videoOnly, "video.cmfv"), filepath.Join(twoVideos, "a.cmfv"), filepath.Join(twoVideos, "b.mp4")} {
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))
	base := export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 4), Out: out}
	with := func(f func(*export.Options)) export.Options { o := base; f(&o); return o }
	cases := []struct {
		name string
		o    export.Options
		want string
	}{
		{"fill without slate", with(func(o *export.Options) { o.Gaps = export.GapsFill }), "needs a slate"},
		{"slate without fill", with(func(o *export.Options) { o.Slate = slateDir(t) }), "only used with gap mode fill"},
		{"unknown mode", with(func(o *export.Options) { o.Gaps = "skip" }), `unknown gap mode "skip"`},
		{"unknown format", with(func(o *export.Options) { o.Formats = []string{"smooth"} }), `unknown format "smooth"`},
		{"empty slate", with(func(o *export.Options) { o.Gaps, o.Slate = export.GapsFill, e.dir+"/nothing" }), "no track files"},
		{"slate without audio", with(func(o *export.Options) { o.Gaps, o.Slate = export.GapsFill, videoOnly }), "no audio track"},
		{"slate with two video tracks", with(func(o *export.Options) { o.Gaps, o.Slate = export.GapsFill, twoVideos }), "two video tracks"},
	}
	if err := os.MkdirAll(e.dir+"/nothing", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.x.VoD(context.Background(), c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v; want one saying %q", err, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.storeDir, "vod", "x.mpd")); err == nil {
		t.Error("a failed export wrote its MPD")
	}
}
