package archive_test

import (
	"bytes"
	"context"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// kTime is the wall-clock start of segment K (D = 2 s).
func kTime(k int64) time.Time { return time.Unix(0, k*int64(segD)).UTC() }

func fileURL(p string) string { return "file://" + filepath.ToSlash(p) }

// fill offers both tracks' segments from..to (inclusive) from sim as source,
// except the Ks in skip.
func (e *env) fill(t *testing.T, source string, sim *simulate.Server, from, to int64, skip ...int64) {
	t.Helper()
	e.offerInits(t, source, sim)
	for k := from; k <= to; k++ {
		skipped := false
		for _, s := range skip {
			skipped = skipped || s == k
		}
		if skipped {
			continue
		}
		for _, rep := range reps {
			e.offer(t, source, sim, rep, k)
		}
	}
}

func (e *env) export(t *testing.T, o archive.ExportOptions) archive.ExportResult {
	t.Helper()
	if o.Channel == "" {
		o.Channel = testChannel
	}
	res, err := e.a.ExportVoD(context.Background(), o)
	if err != nil {
		t.Fatalf("ExportVoD: %v", err)
	}
	return res
}

// mpdSeg is one segment a SegmentTimeline addresses.
type mpdSeg struct {
	K    int64
	T, D uint64
	URL  string // SegmentList: the SegmentURL
}

type mpdTrack struct {
	Rep, Init, Media string // templates as in the MPD
	Timescale        uint32
	PTO              uint64
	Segs             []mpdSeg
}

type mpdPeriod struct {
	ID     string
	Start  time.Duration
	Tracks map[string]mpdTrack
}

type parsedMPD struct {
	BaseURL  string
	Duration time.Duration
	Periods  []mpdPeriod
}

// readMPD parses a written static MPD and expands its SegmentTimelines.
func readMPD(t *testing.T, p string) parsedMPD {
	t.Helper()
	m, err := mpd.ReadFromFile(p)
	if err != nil {
		t.Fatalf("read MPD %s: %v", p, err)
	}
	if m.Type == nil || *m.Type != "static" {
		t.Errorf("MPD type %v; want static", m.Type)
	}
	var out parsedMPD
	if len(m.BaseURL) > 1 {
		t.Errorf("%d MPD BaseURLs", len(m.BaseURL))
	}
	if len(m.BaseURL) == 1 {
		out.BaseURL = string(m.BaseURL[0].Value)
	}
	if m.MediaPresentationDuration != nil {
		out.Duration = time.Duration(*m.MediaPresentationDuration)
	}
	for _, p := range m.Periods {
		if len(p.BaseURLs) > 0 {
			t.Errorf("Period %s has a BaseURL", p.Id)
		}
		mp := mpdPeriod{ID: p.Id, Tracks: map[string]mpdTrack{}}
		if p.Start != nil {
			mp.Start = time.Duration(*p.Start)
		}
		for _, as := range p.AdaptationSets {
			for _, r := range as.Representations {
				if sl := r.SegmentList; sl != nil {
					// A track with holes: explicit URLs, one S per segment.
					if as.SegmentTemplate != nil || r.SegmentTemplate != nil || sl.Initialization == nil || sl.SegmentTimeline == nil || sl.Timescale == nil {
						t.Fatalf("Period %s Representation %s: SegmentList with a SegmentTemplate or incomplete", p.Id, r.Id)
					}
					tr := mpdTrack{Rep: r.Id, Init: string(sl.Initialization.SourceURL), Timescale: *sl.Timescale}
					if sl.PresentationTimeOffset != nil {
						tr.PTO = *sl.PresentationTimeOffset
					}
					if len(sl.SegmentURL) != len(sl.SegmentTimeline.S) {
						t.Fatalf("Representation %s: %d SegmentURLs, %d S", r.Id, len(sl.SegmentURL), len(sl.SegmentTimeline.S))
					}
					tt := uint64(0)
					for i, s := range sl.SegmentTimeline.S {
						if s.T != nil {
							tt = *s.T
						}
						if s.R != 0 || s.N != nil || (i == 0 && s.T == nil) {
							t.Errorf("Representation %s: S[%d] has @r/@n or the first no @t", r.Id, i)
						}
						u := string(sl.SegmentURL[i].Media)
						k, err := strconv.ParseInt(strings.TrimSuffix(path.Base(u), path.Ext(u)), 10, 64)
						if err != nil {
							t.Fatalf("SegmentURL %s: %v", u, err)
						}
						tr.Segs = append(tr.Segs, mpdSeg{K: k, T: tt, D: s.D, URL: u})
						tt += s.D
					}
					mp.Tracks[r.Id] = tr
					continue
				}
				st := mergeTemplates(as.SegmentTemplate, r.SegmentTemplate)
				if st == nil || st.SegmentTimeline == nil || st.Timescale == nil || st.StartNumber == nil {
					t.Fatalf("Period %s Representation %s: incomplete SegmentTemplate", p.Id, r.Id)
				}
				tr := mpdTrack{Rep: r.Id, Init: st.Initialization, Media: st.Media, Timescale: *st.Timescale}
				if st.PresentationTimeOffset != nil {
					tr.PTO = *st.PresentationTimeOffset
				}
				k, tt := int64(*st.StartNumber), uint64(0)
				for i, s := range st.SegmentTimeline.S {
					if s.T != nil {
						tt = *s.T
					} else if i == 0 {
						t.Errorf("Representation %s: first S has no @t", r.Id)
					}
					if s.N != nil {
						k = int64(*s.N)
					}
					for range s.R + 1 {
						tr.Segs = append(tr.Segs, mpdSeg{K: k, T: tt, D: s.D})
						k++
						tt += s.D
					}
				}
				mp.Tracks[r.Id] = tr
			}
		}
		out.Periods = append(out.Periods, mp)
	}
	return out
}

// mergeTemplates applies a Representation's SegmentTemplate over its
// AdaptationSet's.
func mergeTemplates(as, rep *mpd.SegmentTemplateType) *mpd.SegmentTemplateType {
	if as == nil {
		return rep
	}
	st := *as
	if rep == nil {
		return &st
	}
	if rep.Media != "" {
		st.Media = rep.Media
	}
	if rep.Initialization != "" {
		st.Initialization = rep.Initialization
	}
	if rep.Timescale != nil {
		st.Timescale = rep.Timescale
	}
	if rep.StartNumber != nil {
		st.StartNumber = rep.StartNumber
	}
	if rep.PresentationTimeOffset != nil {
		st.PresentationTimeOffset = rep.PresentationTimeOffset
	}
	if rep.SegmentTimeline != nil {
		st.SegmentTimeline = rep.SegmentTimeline
	}
	return &st
}

func expand(tmpl, rep string, k int64) string {
	s := strings.ReplaceAll(tmpl, "$RepresentationID$", rep)
	return strings.ReplaceAll(s, "$Number$", strconv.FormatInt(k, 10))
}

// refs returns the init and media paths the MPD references, relative to
// the MPD's directory (BaseURL applied).
func (m parsedMPD) refs() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = path.Clean(m.BaseURL + p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range m.Periods {
		for _, tr := range p.Tracks {
			add(expand(tr.Init, tr.Rep, 0))
			for _, s := range tr.Segs {
				if s.URL != "" {
					add(s.URL)
					continue
				}
				add(expand(tr.Media, tr.Rep, s.K))
			}
		}
	}
	return out
}

// ks returns the Ks a track of a Period addresses.
func (p mpdPeriod) ks(rep string) []int64 {
	var out []int64
	for _, s := range p.Tracks[rep].Segs {
		out = append(out, s.K)
	}
	return out
}

func kRange(from, to int64, skip ...int64) []int64 {
	var out []int64
	for k := from; k <= to; k++ {
		keep := true
		for _, s := range skip {
			keep = keep && s != k
		}
		if keep {
			out = append(out, k)
		}
	}
	return out
}

func equalKs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkTimeline checks that every addressed segment is the archived one:
// its K, EPT and duration are the index's, and its object exists (relative
// to the MPD's directory dir, through the BaseURL).
func checkTimeline(t *testing.T, e *env, m parsedMPD, dir string) {
	t.Helper()
	for _, p := range m.Periods {
		for rep, tr := range p.Tracks {
			for _, s := range tr.Segs {
				seg, ok := e.segment(t, rep, s.K)
				if !ok {
					t.Errorf("Period %s %s: K %d is not archived", p.ID, rep, s.K)
					continue
				}
				if s.T != seg.EPT || s.D != seg.Duration {
					t.Errorf("Period %s %s K %d: S@t %d S@d %d; archived EPT %d duration %d", p.ID, rep, s.K, s.T, s.D, seg.EPT, seg.Duration)
				}
			}
		}
	}
	for _, r := range m.refs() {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r))); err != nil {
			t.Errorf("referenced object: %v", err)
		}
	}
}

// TestExportZeroCopy: an MPD written inside (or beside) the archive's
// directory references the archived objects in place through a relative
// BaseURL.
func TestExportZeroCopy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		out     string // relative to the test dir
		mpd     string // where the MPD lands, relative to the test dir
		baseURL string
		decode  bool
		give    bool // --base-url baseURL: the MPD is outside the store
	}{
		{name: "vod dir in the store", out: "store/vod/day.mpd", mpd: "store/vod/day.mpd", baseURL: "../", decode: true},
		{name: "nested dir in the store", out: "store/vod/2026/04/", mpd: "store/vod/2026/04/manifest.mpd", baseURL: "../../../"},
		{name: "store root", out: "store/all.mpd", mpd: "store/all.mpd", baseURL: ""},
		{name: "beside the store", out: "exports/x.mpd", mpd: "exports/x.mpd", baseURL: "../store/", decode: true, give: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sim := newSim(t, simulate.Options{})
			e.fill(t, "a", sim, k0, k0+3)
			out := fileURL(filepath.Join(e.dir, filepath.FromSlash(tc.out)))
			if strings.HasSuffix(tc.out, "/") {
				out += "/"
			}
			o := archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 4), Out: out}
			if tc.give {
				o.BaseURL = tc.baseURL
			}
			res := e.export(t, o)
			want := filepath.Join(e.dir, filepath.FromSlash(tc.mpd))
			if res.MPDPath != want || res.Segments != 8 || res.Tracks != 2 || res.Periods != 1 || res.Gaps != 0 || res.Copied != 0 || res.Duration != 8*time.Second {
				t.Errorf("result %+v; want MPD at %s, 8 segments", res, want)
			}
			m := readMPD(t, want)
			if m.BaseURL != tc.baseURL {
				t.Errorf("BaseURL %q; want %q", m.BaseURL, tc.baseURL)
			}
			if len(m.Periods) != 1 || m.Duration != 8*time.Second {
				t.Fatalf("%d Periods, duration %v", len(m.Periods), m.Duration)
			}
			for _, rep := range reps {
				if ks := m.Periods[0].ks(rep); !equalKs(ks, kRange(k0, k0+3)) {
					t.Errorf("%s Ks %v", rep, ks)
				}
				if tr := m.Periods[0].Tracks[rep]; tr.PTO != uint64(k0)*segDurOf(rep) {
					t.Errorf("%s presentationTimeOffset %d; want K0*D*T", rep, tr.PTO)
				}
			}
			checkTimeline(t, e, m, filepath.Dir(want))
			if tc.decode {
				video, audio := testenv.DecodedFrames(t, want)
				if video != 4*50 || audio < 4*93 {
					t.Errorf("decoded %d video, %d audio frames; want 200 video", video, audio)
				}
			}
		})
	}
}

// TestExportOtherStore: a zero-copy export whose MPD is not in the archive's
// store needs --base-url.
func TestExportOtherStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.fill(t, "a", newSim(t, simulate.Options{}), k0, k0+1)
	o := archive.ExportOptions{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2), Out: "mem://"}
	if _, err := e.a.ExportVoD(ctx, o); err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Fatalf("export to mem:// without a base URL: %v; want an error naming --base-url", err)
	}
	o.BaseURL = "https://cdn.example/archive/"
	if _, err := e.a.ExportVoD(ctx, o); err != nil {
		t.Fatalf("with --base-url: %v", err)
	}
	// With a base URL the MPD names it, wherever the MPD is written.
	o.Out = fileURL(filepath.Join(e.dir, "elsewhere", "cdn.mpd"))
	res, err := e.a.ExportVoD(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if m := readMPD(t, res.MPDPath); m.BaseURL != o.BaseURL {
		t.Errorf("BaseURL %q; want %q", m.BaseURL, o.BaseURL)
	}
	// An archive in memory and an MPD on disk do not share a store either.
	mem, err := cloud.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	memArchive := archive.New(mem, e.db, nil)
	o.BaseURL, o.Out = "", fileURL(filepath.Join(e.dir, "x.mpd"))
	if _, err := memArchive.ExportVoD(ctx, o); err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Errorf("mem archive, file out: %v; want an error naming --base-url", err)
	}
}

// TestExportCopy: --copy writes every referenced object beside the MPD, and
// the MPD has no BaseURL; the package plays on its own.
func TestExportCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := newSim(t, simulate.Options{})
	e.fill(t, "a", sim, k0, k0+4)
	pkg := filepath.Join(e.dir, "pkg")
	res := e.export(t, archive.ExportOptions{From: kTime(k0 + 1), To: kTime(k0 + 5), Out: fileURL(pkg) + "/", Copy: true})
	mpdPath := filepath.Join(pkg, "manifest.mpd")
	if res.MPDPath != mpdPath || res.Segments != 8 || res.Copied != 8+2 {
		t.Errorf("result %+v; want 8 segments and 2 inits copied to %s", res, mpdPath)
	}
	m := readMPD(t, mpdPath)
	if m.BaseURL != "./" { // the copies are beside it (see ExportVoD for why not none)
		t.Errorf("a --copy MPD has BaseURL %q, want ./", m.BaseURL)
	}
	refs := m.refs()
	if len(refs) != res.Copied {
		t.Errorf("%d referenced objects, %d copied", len(refs), res.Copied)
	}
	for _, r := range refs {
		got, err := os.ReadFile(filepath.Join(pkg, filepath.FromSlash(r)))
		if err != nil {
			t.Errorf("copied object: %v", err)
			continue
		}
		if want := e.get(t, r); !bytes.Equal(got, want) {
			t.Errorf("%s: the copy differs from the archived object", r)
		}
	}
	checkTimeline(t, e, m, pkg)
	// Nothing of the package lives in the archive's store.
	if _, err := os.Stat(filepath.Join(e.storeDir, "manifest.mpd")); err == nil {
		t.Error("MPD written into the archive")
	}
	// --copy to a store of another kind needs no base URL either.
	if r, err := e.a.ExportVoD(ctx, archive.ExportOptions{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 1), Out: "mem://", Copy: true}); err != nil || r.Copied != 4 {
		t.Errorf("export --copy to mem://: %+v, %v", r, err)
	}
	// The copy needs neither the archive nor a base URL: move the archive away.
	if err := os.Rename(e.storeDir, e.storeDir+".moved"); err != nil {
		t.Fatal(err)
	}
	video, audio := testenv.DecodedFrames(t, mpdPath)
	if video != 4*50 {
		t.Errorf("decoded %d video frames; want 4 segments × 50", video)
	}
	var ticks uint64
	for _, s := range m.Periods[0].Tracks[simulate.AudioRep].Segs {
		ticks += s.D
	}
	if want := int(ticks / 1024); audio < want-1 || audio > want+1 {
		t.Errorf("decoded %d audio frames; the segments hold %d", audio, want)
	}
}

// TestExportGap: a segment missing from the archive is a hole in the
// timeline, never a reference to an absent object.
func TestExportGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, "a", newSim(t, simulate.Options{}), k0, k0+6, k0+3, k0+4)
	res := e.export(t, archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 7), Out: fileURL(filepath.Join(e.storeDir, "vod", "gap.mpd"))})
	if res.Gaps != 2 || res.Segments != 10 || res.Periods != 1 {
		t.Errorf("result %+v; want 10 segments, a gap in each of 2 tracks, 1 Period", res)
	}
	m := readMPD(t, res.MPDPath)
	for _, rep := range reps {
		if ks := m.Periods[0].ks(rep); !equalKs(ks, kRange(k0, k0+6, k0+3, k0+4)) {
			t.Errorf("%s addresses Ks %v", rep, ks)
		}
	}
	checkTimeline(t, e, m, filepath.Dir(res.MPDPath))
	// The tracks with a hole are SegmentLists (players ignore S@n), whose
	// S after the hole carries @t.
	raw, err := os.ReadFile(res.MPDPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(raw, []byte("<SegmentList")) != 2 || bytes.Contains(raw, []byte(` n="`)) {
		t.Errorf("want two SegmentLists and no S@n:\n%s", raw)
	}
	// Range that starts and ends in holes of its own.
	res = e.export(t, archive.ExportOptions{From: kTime(k0 + 3), To: kTime(k0 + 5).Add(time.Second), Out: fileURL(filepath.Join(e.storeDir, "vod", "hole.mpd"))})
	if res.Segments != 2 || res.Gaps != 0 {
		t.Errorf("range from a hole: %+v; want K0+5 of both tracks", res)
	}
}

// TestExportInitChange: an init change inside the range starts a new Period.
func TestExportInitChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := newSim(t, simulate.Options{})
	e.fill(t, "a", sim, k0, k0+2)
	orig := mustInit(t, sim, simulate.VideoRep)
	changed := modifiedVideoInit(t, orig)
	if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, changed, false); err != nil {
		t.Fatal(err)
	}
	for k := k0 + 3; k <= k0+5; k++ {
		for _, rep := range reps {
			e.offer(t, "a", sim, rep, k)
		}
	}
	res := e.export(t, archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "restart.mpd"))})
	if res.Periods != 2 || res.Segments != 12 {
		t.Errorf("result %+v; want 2 Periods, 12 segments", res)
	}
	m := readMPD(t, res.MPDPath)
	if len(m.Periods) != 2 {
		t.Fatalf("%d Periods; want 2", len(m.Periods))
	}
	p0, p1 := m.Periods[0], m.Periods[1]
	if p0.Start != 0 || p1.Start != 6*time.Second {
		t.Errorf("Period starts %v, %v; want 0s, 6s", p0.Start, p1.Start)
	}
	for _, rep := range reps {
		if !equalKs(p0.ks(rep), kRange(k0, k0+2)) || !equalKs(p1.ks(rep), kRange(k0+3, k0+5)) {
			t.Errorf("%s: Period Ks %v | %v", rep, p0.ks(rep), p1.ks(rep))
		}
		for i, p := range []mpdPeriod{p0, p1} {
			if want := uint64(k0+3*int64(i)) * segDurOf(rep); p.Tracks[rep].PTO != want {
				t.Errorf("%s Period %d: presentationTimeOffset %d; want %d", rep, i, p.Tracks[rep].PTO, want)
			}
		}
	}
	if a, b := p0.Tracks[simulate.AudioRep].Init, p1.Tracks[simulate.AudioRep].Init; a != b {
		t.Errorf("audio init changed across Periods: %s, %s", a, b)
	}
	oi, ci := sha(orig)[:16], sha(changed)[:16]
	if !strings.Contains(p0.Tracks[simulate.VideoRep].Init, oi) || !strings.Contains(p1.Tracks[simulate.VideoRep].Init, ci) {
		t.Errorf("video inits %s, %s; want init-%s then init-%s", p0.Tracks[simulate.VideoRep].Init, p1.Tracks[simulate.VideoRep].Init, oi, ci)
	}
	checkTimeline(t, e, m, filepath.Dir(res.MPDPath))
	// A range on one side of the change is one Period.
	res = e.export(t, archive.ExportOptions{From: kTime(k0 + 3), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "after.mpd"))})
	if res.Periods != 1 {
		t.Errorf("after the change: %d Periods", res.Periods)
	}
}

// TestExportRange: every segment overlapping [from, to) is exported.
func TestExportRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, "a", newSim(t, simulate.Options{}), k0, k0+9)
	ms := time.Millisecond
	cases := []struct {
		name     string
		from, to time.Time
		first    int64
		last     int64
	}{
		{"whole segments", kTime(k0 + 2), kTime(k0 + 5), k0 + 2, k0 + 4},
		{"partial ends", kTime(k0 + 2).Add(time.Second), kTime(k0 + 5).Add(ms), k0 + 2, k0 + 5},
		{"last ns of a segment", kTime(k0 + 3).Add(-1), kTime(k0 + 3), k0 + 2, k0 + 2},
		{"first ns of a segment", kTime(k0 + 3), kTime(k0 + 3).Add(1), k0 + 3, k0 + 3},
		{"wider than the archive", kTime(k0 - 100), kTime(k0 + 100), k0, k0 + 9},
		{"clipped at the start", kTime(k0 - 1), kTime(k0 + 1), k0, k0},
		{"clipped at the end", kTime(k0 + 9).Add(1500 * ms), kTime(k0 + 12), k0 + 9, k0 + 9},
		{"non-UTC times", kTime(k0 + 4).In(time.FixedZone("X", 5*3600+1800)), kTime(k0 + 6).In(time.FixedZone("Y", -7*3600)), k0 + 4, k0 + 5},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := fileURL(filepath.Join(e.storeDir, "vod", "r"+strconv.Itoa(i)+".mpd"))
			res := e.export(t, archive.ExportOptions{From: tc.from, To: tc.to, Out: out})
			n := tc.last - tc.first + 1
			if res.Segments != int(2*n) || res.Duration != time.Duration(n)*segD {
				t.Errorf("result %+v; want %d segments per track, %v", res, n, time.Duration(n)*segD)
			}
			m := readMPD(t, res.MPDPath)
			for _, rep := range reps {
				if ks := m.Periods[0].ks(rep); !equalKs(ks, kRange(tc.first, tc.last)) {
					t.Errorf("%s Ks %v; want %d..%d", rep, ks, tc.first, tc.last)
				}
			}
			checkTimeline(t, e, m, filepath.Dir(res.MPDPath))
		})
	}
}

// TestExportDeterministic: the same archive and range give the same bytes,
// whatever Archive value or time zone is used.
func TestExportDeterministic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sim := newSim(t, simulate.Options{})
	e.fill(t, "a", sim, k0, k0+5, k0+2)
	e.fill(t, "b", newSim(t, simulate.Options{Variant: 1}), k0+2, k0+2)
	vod := filepath.Join(e.storeDir, "vod")
	r1 := e.export(t, archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(vod, "one.mpd"))})
	a2 := archive.New(e.store, e.db, nil)
	r2, err := a2.ExportVoD(context.Background(), archive.ExportOptions{Channel: testChannel,
		From: kTime(k0).In(time.FixedZone("Z", 3600)), To: kTime(k0 + 6).Local(), Out: fileURL(filepath.Join(vod, "two.mpd"))})
	if err != nil {
		t.Fatal(err)
	}
	b1, err1 := os.ReadFile(r1.MPDPath)
	b2, err2 := os.ReadFile(r2.MPDPath)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("two exports differ:\n%s\n---\n%s", b1, b2)
	}
	// Re-exporting over the same name rewrites the same bytes.
	r3 := e.export(t, archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(r1.MPDPath)})
	if b3, _ := os.ReadFile(r3.MPDPath); !bytes.Equal(b1, b3) {
		t.Error("re-export differs")
	}
	for _, s := range []string{"publishTime", "availabilityStartTime"} {
		if bytes.Contains(b1, []byte(s)) {
			t.Errorf("static MPD carries %s", s)
		}
	}
}

// TestExportErrors: empty ranges, ranges without segments, unknown channels
// and bad --out values are errors that say so.
func TestExportErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, "a", newSim(t, simulate.Options{}), k0, k0+2)
	out := fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))
	cases := []struct {
		name string
		o    archive.ExportOptions
		want string
	}{
		{"empty range", archive.ExportOptions{Channel: testChannel, From: kTime(k0 + 1), To: kTime(k0 + 1), Out: out}, "empty range"},
		{"reversed range", archive.ExportOptions{Channel: testChannel, From: kTime(k0 + 2), To: kTime(k0), Out: out}, "empty range"},
		{"zero range", archive.ExportOptions{Channel: testChannel, Out: out}, "empty range"},
		{"range without segments", archive.ExportOptions{Channel: testChannel, From: kTime(k0 + 10), To: kTime(k0 + 20), Out: out}, "no segments"},
		{"range before the archive", archive.ExportOptions{Channel: testChannel, From: kTime(k0 - 5), To: kTime(k0), Out: out}, "no segments"},
		{"unknown channel", archive.ExportOptions{Channel: "nope", From: kTime(k0), To: kTime(k0 + 2), Out: out}, "nope"},
		{"no out", archive.ExportOptions{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2)}, "--out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.a.ExportVoD(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.storeDir, "vod", "x.mpd")); err == nil {
		t.Error("a failed export wrote its MPD")
	}
}

// TestExportCompatibleInitsOnePeriod: redundant encoders whose init
// segments differ in bytes but not in codec configuration (equal stsd:
// "compatible" in LAYOUT.md) do not split the export into Periods.
func TestExportCompatibleInitsOnePeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := newSim(t, simulate.Options{})
	e.offerInits(t, "a", sim)
	for _, rep := range reps {
		other := withCreationTime(t, mustInit(t, sim, rep), 3_900_000_000)
		if _, err := e.ch.OfferInit(ctx, "b", rep, other, true); err != nil {
			t.Fatal(err)
		}
	}
	for k := k0; k < k0+6; k++ {
		src := []string{"a", "b"}[k%2]
		for _, rep := range reps {
			e.offer(t, src, sim, rep, k)
		}
	}
	res := e.export(t, archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))})
	if res.Periods != 1 {
		t.Errorf("%d Periods for 6 segments alternating between two compatible inits; want 1", res.Periods)
	}
}

// TestExportCopyIntoArchiveRoot: --copy with --out at the archive's root
// must not rewrite archive objects (they are immutable and carry the reap-*
// attributes a reindex reads).
func TestExportCopyIntoArchiveRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.fill(t, "a", newSim(t, simulate.Options{}), k0, k0+1)
	key := mediaKey(simulate.VideoRep, k0)
	before, err := e.store.Attributes(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.a.ExportVoD(ctx, archive.ExportOptions{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2), Copy: true, Out: fileURL(filepath.Join(e.storeDir, "copy.mpd"))})
	after, aerr := e.store.Attributes(ctx, key)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if after.Meta[layout.MetaSHA256] != before.Meta[layout.MetaSHA256] || !after.ModTime.Equal(before.ModTime) {
		t.Errorf("export --copy into the archive root (err %v) rewrote %s: attributes %v -> %v", err, key, before.Meta, after.Meta)
	}
}

// TestExportTrackIDChangeNewPeriod: an encoder restart whose init has the
// same codec configuration but another track_ID is a new init version for
// the recorder, so the export starts a new Period there (requirement 53):
// segments must decode with the init whose track_ID they carry.
func TestExportTrackIDChangeNewPeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := newSim(t, simulate.Options{})
	e.offerInits(t, "a", sim)
	for k := k0; k < k0+3; k++ {
		e.offer(t, "a", sim, simulate.VideoRep, k)
	}
	init2 := withTrackID(t, mustInit(t, sim, simulate.VideoRep), 7)
	res, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, init2, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed {
		t.Fatal("OfferInit of an init with another track_ID: not a change")
	}
	for k := k0 + 3; k < k0+6; k++ {
		seg := withTrackID(t, mustSeg(t, sim, simulate.VideoRep, k), 7)
		if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.VideoRep, Data: seg, ExpectK: k}); err != nil {
			t.Fatalf("K=%d: %v", k, err)
		}
	}
	out := filepath.Join(e.storeDir, "vod", "x.mpd")
	ex := e.export(t, archive.ExportOptions{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(out)})
	if ex.Periods != 2 {
		t.Errorf("%d Periods across a track_ID change; want 2", ex.Periods)
	}
}

// withTrackID rewrites the track_ID of an init segment (tkhd, trex) or of
// a media segment (tfhd).
func withTrackID(tb testing.TB, data []byte, id uint32) []byte {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	if f.Init != nil {
		f.Init.Moov.Trak.Tkhd.TrackID = id
		f.Init.Moov.Mvex.Trex.TrackID = id
	}
	for _, s := range f.Segments {
		for _, fr := range s.Fragments {
			fr.Moof.Traf.Tfhd.TrackID = id
		}
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
