package export

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
)

// planTracks builds tracks for buildPlan: each string is one track, one
// character per K from k=100: 'a' or 'b' an archived segment with init
// configuration a or b, '.' a missing K, ' ' outside the track.
func planTracks(tracks ...string) []trackSegs {
	var segs []trackSegs
	for ti, s := range tracks {
		x := trackSegs{t: index.Track{Rep: fmt.Sprint("t", ti), Timescale: 1000, SegDur: 2000}}
		for i, c := range s {
			k := int64(100 + i)
			switch c {
			case 'a', 'b':
				x.segs = append(x.segs, expSeg{K: k, EPT: uint64(k) * 2000, Duration: 2000, InitID: int64(c)})
			}
		}
		segs = append(segs, x)
	}
	return segs
}

// describe renders a plan as "start:entries|start:entries" per track, an
// entry being the K offset and its kind (r archived, g gap, f filler).
func describe(pl plan) []string {
	var out []string
	for _, p := range pl.periods {
		s := fmt.Sprint(p.startK-100, ":")
		for ti, pt := range p.tracks {
			if ti > 0 {
				s += "/"
			}
			for _, e := range pt.segs {
				kind := "r"
				switch {
				case e.Gap:
					kind = "g"
				case pt.filler:
					kind = "f"
				}
				s += fmt.Sprint(e.K-100, kind)
			}
		}
		out = append(out, s)
	}
	return out
}

func TestBuildPlan(t *testing.T) {
	t.Parallel()
	cfg := func(_ int, id int64) (string, error) { return string(rune(id)), nil }
	cases := []struct {
		name    string
		tracks  []string
		mode    GapMode
		want    []string
		omitted int
		missing [][]int64
	}{
		{"no gap", []string{"aaa", "aaa"}, GapsSignal, []string{"0:0r1r2r/0r1r2r"}, 0, nil},
		{"signal: gap in both", []string{"a.a", "a.a"}, GapsSignal, []string{"0:0r1g2r/0r1g2r"}, 0, nil},
		{"signal: gap in one", []string{"aaa", "a.a"}, GapsSignal, []string{"0:0r1r2r/0r1g2r"}, 0, nil},
		{"signal: track starting late", []string{"aaa", " aa"}, GapsSignal, []string{"1:1r2r/1r2r"}, 1, nil},
		{"signal: starts at the first K every track has", []string{"aa.a", ".a.a", "a.aa"}, GapsSignal, []string{"3:3r/3r/3r"}, 5, nil},
		{"signal: gap after the common start", []string{"aa.a", ".aaa"}, GapsSignal, []string{"1:1r2g3r/1r2r3r"}, 1, nil},
		{"signal: init change", []string{"aabb", "aaaa"}, GapsSignal, []string{"0:0r1r/0r1r", "2:2r3r/2r3r"}, 0, nil},
		{"signal: init change after a gap", []string{"a.b", "aaa"}, GapsSignal, []string{"0:0r1g/0r1r", "2:2r/2r"}, 0, nil},
		{"split: gap in both", []string{"a..a", "a..a"}, GapsSplit, []string{"0:0r/0r", "3:3r/3r"}, 0, nil},
		{"split: gap in one drops the other", []string{"aaaa", "a.a."}, GapsSplit, []string{"0:0r/0r", "2:2r/2r"}, 2, nil},
		{"split: init change", []string{"aabb", "aaaa"}, GapsSplit, []string{"0:0r1r/0r1r", "2:2r3r/2r3r"}, 0, nil},
		{"split: leading gap", []string{"aaa", " aa"}, GapsSplit, []string{"1:1r2r/1r2r"}, 1, nil},
		{"fill: gap in both", []string{"a..a", "a..a"}, GapsFill, []string{"0:0r/0r", "1:1f2f/1f2f", "3:3r/3r"}, 0, [][]int64{{101, 102}, {101, 102}}},
		{"fill: gap in one", []string{"aaa", "a.a"}, GapsFill, []string{"0:0r/0r", "1:1r/1f", "2:2r/2r"}, 0, [][]int64{nil, {101}}},
		{"fill: staggered", []string{"a.aa", "aa.a"}, GapsFill, []string{"0:0r/0r", "1:1f/1r", "2:2r/2f", "3:3r/3r"}, 0, [][]int64{{101}, {102}}},
		{"fill: init change", []string{"ab", "aa"}, GapsFill, []string{"0:0r/0r", "1:1r/1r"}, 0, [][]int64{nil, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pl, err := buildPlan(planTracks(c.tracks...), c.mode, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(pl); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("plan %q, want %q", got, c.want)
			}
			if pl.omitted != c.omitted {
				t.Errorf("omitted %d, want %d", pl.omitted, c.omitted)
			}
			if c.missing != nil && fmt.Sprint(pl.missing) != fmt.Sprint(c.missing) {
				t.Errorf("fillers for %v, want %v", pl.missing, c.missing)
			}
		})
	}
	if _, err := buildPlan(planTracks("a.a", ".a."), GapsSplit, cfg); err == nil {
		t.Error("split with no complete K: no error")
	}
}

// TestGapEntryTiming: a gap entry joins its neighbours exactly (audio
// segments are off the K*D grid), or sits on the grid without them.
func TestGapEntryTiming(t *testing.T) {
	t.Parallel()
	x := trackSegs{t: index.Track{SegDur: 96000}, segs: []expSeg{
		{K: 10, EPT: 960256, Duration: 96256}, {K: 12, EPT: 1152256, Duration: 96256}, {K: 15, EPT: 1440000, Duration: 96256},
	}}
	cases := []struct {
		next     int
		k        int64
		ept, dur uint64
	}{
		{1, 11, 960256 + 96256, 1152256 - 960256 - 96256}, // both neighbours
		{2, 13, 1152256 + 96256, 14*96000 - 1152256 - 96256},
		{2, 14, 14 * 96000, 1440000 - 14*96000},
		{0, 9, 9 * 96000, 96000 - 96000 + 960256 - 9*96000},
	}
	for _, c := range cases {
		g := gapEntry(x, c.next, c.k)
		if !g.Gap || g.K != c.k || g.EPT != c.ept || g.Duration != c.dur {
			t.Errorf("gap K=%d: %+v, want EPT %d duration %d", c.k, g, c.ept, c.dur)
		}
	}
}

func TestSplitOut(t *testing.T) {
	t.Parallel()
	const s3 = "endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1"
	cases := []struct{ out, dir, stem, display string }{
		{"file:///a/b/x.mpd", "file:///a/b", "x", "file:///a/b/x.mpd"},
		{"file:///a/b/", "file:///a/b/", "manifest", "file:///a/b/manifest.mpd"},
		{"s3://bkt/vod/day1/x.mpd?" + s3, "s3://bkt?endpoint=http%3A%2F%2F127.0.0.1%3A9000&prefix=vod%2Fday1%2F&region=us-east-1", "x", "s3://bkt/vod/day1/x.mpd"},
		{"s3://bkt/y.m3u8?prefix=a%2F&" + s3, "s3://bkt?prefix=a%2F&" + s3, "y", "s3://bkt/a/y.mpd"},
		{"gs://bkt/vod/?endpoint=http://127.0.0.1:4443", "gs://bkt?endpoint=http%3A%2F%2F127.0.0.1%3A4443&prefix=vod%2F", "manifest", "gs://bkt/vod/manifest.mpd"},
	}
	for _, c := range cases {
		dir, stem, err := splitOut(c.out)
		if err != nil {
			t.Errorf("%s: %v", c.out, err)
			continue
		}
		if dir != c.dir || stem != c.stem {
			t.Errorf("%s: %q, %q; want %q, %q", c.out, dir, stem, c.dir, c.stem)
		}
		if got := displayURL(dir, stem+".mpd"); got != c.display {
			t.Errorf("%s: shown as %s, want %s", c.out, got, c.display)
		}
	}
}

// TestSteadyRunsPlanAlike is a property test of buildPlan's steady runs
// (steadyRun: the Ks at which every track has a segment of its last
// configuration, added at once): over generated tracks (gaps in one or
// all tracks, init changes, a splice's replacements stored elsewhere, a
// track that ends or starts late), in every gap mode, the plan is the one
// the plain K-by-K walk makes.
func TestSteadyRunsPlanAlike(t *testing.T) {
	t.Parallel()
	cfg := func(_ int, id int64) (string, error) { return string(rune(id)), nil }
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 4))
		tracks := genTracks(rng)
		for _, mode := range []GapMode{GapsSignal, GapsSplit, GapsFill} {
			fast := newPlanner(tracks, mode, cfg)
			got, gerr := fast.walk()
			slow := newPlanner(tracks, mode, cfg)
			slow.perK = true
			want, werr := slow.walk()
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d %s: steady runs plan\n%v (%v)\nthe K-by-K walk\n%v (%v)", seed, mode, describe(got), gerr, describe(want), werr)
			}
			checkGridPlan(t, fmt.Sprintf("seed %d %s", seed, mode), tracks, mode, cfg, want, werr)
		}
	}
}

// checkGridPlan checks the plan on the K*D grid (GridPlan), by steady runs
// and K by K: the same runs either way, and once its runs are written out
// one entry per K, the plan want (plain, K by K) with its archived
// segments moved onto the grid.
func checkGridPlan(t *testing.T, name string, tracks []trackSegs, mode GapMode, cfg func(int, int64) (string, error), want plan, werr error) {
	t.Helper()
	fast := newPlanner(tracks, mode, cfg)
	fast.grid = true
	got, gerr := fast.walk()
	slow := newPlanner(tracks, mode, cfg)
	slow.grid, slow.perK = true, true
	perK, perr := slow.walk()
	if fmt.Sprint(gerr) != fmt.Sprint(perr) || !reflect.DeepEqual(got, perK) {
		t.Fatalf("%s: grid plan by steady runs\n%v (%v)\nK by K\n%v (%v)", name, describe(got), gerr, describe(perK), perr)
	}
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("%s: grid plan fails with %v, the plain one with %v", name, gerr, werr)
	}
	if gerr != nil {
		return
	}
	for _, p := range got.periods {
		for _, pt := range p.tracks {
			for i := 1; i < len(pt.segs) && !pt.filler; i++ {
				if a, b := pt.segs[i-1], pt.segs[i]; !a.Gap && !b.Gap && a.LastK()+1 == b.K {
					t.Fatalf("%s: grid plan has K %d-%d and K %d on as two entries, not one run", name, a.K, a.LastK(), b.K)
				}
			}
		}
	}
	if got, want := writtenOut(got), onGrid(want, tracks); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: grid plan written out\n%+v\nplain plan on the grid\n%+v", name, got.periods, want.periods)
	}
}

// writtenOut is pl with one entry per K (manifest.ExpandSegments).
func writtenOut(pl plan) plan {
	pl.periods = slices.Clone(pl.periods)
	for pi := range pl.periods {
		p := &pl.periods[pi]
		p.tracks = slices.Clone(p.tracks)
		for ti := range p.tracks {
			p.tracks[ti].segs = manifest.ExpandSegments(p.tracks[ti].segs)
		}
	}
	return pl
}

// onGrid is pl with each archived segment at K*D, lasting D.
func onGrid(pl plan, tracks []trackSegs) plan {
	pl.periods = slices.Clone(pl.periods)
	for pi := range pl.periods {
		p := &pl.periods[pi]
		p.tracks = slices.Clone(p.tracks)
		for ti := range p.tracks {
			pt := &p.tracks[ti]
			if pt.filler || pt.segs == nil {
				continue
			}
			d := tracks[pt.ti].t.SegDur
			pt.segs = slices.Clone(pt.segs)
			for i, e := range pt.segs {
				if !e.Gap {
					pt.segs[i] = manifest.VoDSegment{K: e.K, EPT: uint64(e.K) * d, Duration: d}
				}
			}
		}
	}
	return pl
}

// genTracks generates 1 to 4 tracks of up to 60 Ks from K 100.
func genTracks(rng *rand.Rand) []trackSegs {
	n := 1 + rng.IntN(4)
	lost := map[int64]bool{} // Ks every track lost
	for range rng.IntN(4) {
		lost[100+rng.Int64N(60)] = true
	}
	var out []trackSegs
	for ti := range n {
		x := trackSegs{t: index.Track{Rep: fmt.Sprint("t", ti), Timescale: 1000, SegDur: 2000}}
		first, last := int64(100+rng.IntN(5)), int64(155+rng.IntN(5))
		if rng.IntN(4) == 0 {
			last = 120 + rng.Int64N(30) // a track that ended
		}
		init := int64('a')
		for k := first; k <= last; k++ {
			if lost[k] || rng.IntN(12) == 0 {
				continue
			}
			if rng.IntN(20) == 0 {
				init = 'a' + rng.Int64N(3)
			}
			ept, dur := uint64(k)*2000, uint64(2000)
			if ti%2 == 1 { // audio: whole frames of 21 ticks, from the first at or after K*D
				ept = (uint64(k)*2000 + 20) / 21 * 21
				dur = (uint64(k+1)*2000+20)/21*21 - ept
			}
			x.segs = append(x.segs, expSeg{K: k, EPT: ept, Duration: dur, InitID: init})
			if rng.IntN(15) == 0 {
				x.addDir(index.Segment{K: k, Key: fmt.Sprintf("ch/%s/splice-%d/%d.m4s", x.t.Rep, rng.IntN(2), k)}) //nolint:errcheck // a valid key
			}
		}
		if len(x.segs) > 0 {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return genTracks(rng)
	}
	return out
}
