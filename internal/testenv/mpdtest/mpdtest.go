// Package mpdtest reads the static MPDs and HLS playlists an export writes,
// for tests: every Period's tracks with their SegmentTimelines (or
// SegmentLists) expanded to one entry per segment, and every media
// playlist's segments.
package mpdtest

import (
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// Seg is one segment a SegmentTimeline addresses.
type Seg struct {
	K    int64
	T, D uint64
	URL  string // SegmentList: the SegmentURL
}

// Track is a Representation of a Period.
type Track struct {
	Rep, Init, Media string // templates as in the MPD
	Timescale        uint32
	PTO              uint64
	Segs             []Seg
}

// Period is a Period of an MPD.
type Period struct {
	ID     string
	Start  time.Duration
	Tracks map[string]Track
}

// MPD is a static MPD with its SegmentTimelines expanded.
type MPD struct {
	BaseURL  string
	Duration time.Duration
	Periods  []Period
}

// Read parses a written static MPD and expands its SegmentTimelines.
func Read(t testing.TB, p string) MPD {
	t.Helper()
	m, err := mpd.ReadFromFile(p)
	if err != nil {
		t.Fatalf("read MPD %s: %v", p, err)
	}
	if m.Type == nil || *m.Type != "static" {
		t.Errorf("MPD type %v; want static", m.Type)
	}
	var out MPD
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
		mp := Period{ID: p.Id, Tracks: map[string]Track{}}
		if p.Start != nil {
			mp.Start = time.Duration(*p.Start)
		}
		for _, as := range p.AdaptationSets {
			for _, r := range as.Representations {
				if r.SegmentList != nil {
					mp.Tracks[r.Id] = listTrack(t, p.Id, as, r)
				} else {
					mp.Tracks[r.Id] = templateTrack(t, p.Id, as, r)
				}
			}
		}
		out.Periods = append(out.Periods, mp)
	}
	return out
}

// listTrack is a track with holes, addressed by a SegmentList: explicit
// URLs, one S per segment.
func listTrack(t testing.TB, period string, as *mpd.AdaptationSetType, r *mpd.RepresentationType) Track {
	t.Helper()
	sl := r.SegmentList
	if as.SegmentTemplate != nil || r.SegmentTemplate != nil || sl.Initialization == nil || sl.SegmentTimeline == nil || sl.Timescale == nil {
		t.Fatalf("Period %s Representation %s: SegmentList with a SegmentTemplate or incomplete", period, r.Id)
	}
	tr := Track{Rep: r.Id, Init: string(sl.Initialization.SourceURL), Timescale: *sl.Timescale}
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
		tr.Segs = append(tr.Segs, Seg{K: k, T: tt, D: s.D, URL: u})
		tt += s.D
	}
	return tr
}

// templateTrack is a track addressed by a SegmentTemplate with a
// SegmentTimeline, expanded to one entry per segment.
func templateTrack(t testing.TB, period string, as *mpd.AdaptationSetType, r *mpd.RepresentationType) Track {
	t.Helper()
	st := mergeTemplates(as.SegmentTemplate, r.SegmentTemplate)
	if st == nil || st.SegmentTimeline == nil || st.Timescale == nil || st.StartNumber == nil {
		t.Fatalf("Period %s Representation %s: incomplete SegmentTemplate", period, r.Id)
	}
	tr := Track{Rep: r.Id, Init: st.Initialization, Media: st.Media, Timescale: *st.Timescale}
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
			tr.Segs = append(tr.Segs, Seg{K: k, T: tt, D: s.D})
			k++
			tt += s.D
		}
	}
	return tr
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

// Refs returns the init and media paths the MPD references, relative to
// the MPD's directory (BaseURL applied).
func (m MPD) Refs() []string {
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

// Ks returns the Ks a track of a Period addresses.
func (p Period) Ks(rep string) []int64 {
	var out []int64
	for _, s := range p.Tracks[rep].Segs {
		out = append(out, s.K)
	}
	return out
}

// KRange lists the Ks from..to (inclusive) but those in skip.
func KRange(from, to int64, skip ...int64) []int64 {
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

// EqualKs reports whether a and b hold the same Ks in the same order.
func EqualKs(a, b []int64) bool {
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

// CheckTimeline checks that every segment m addresses is the archived one:
// its K, EPT and duration are what archived gives (ok: K is archived), and
// its object exists (relative to the MPD's directory dir, through the
// BaseURL).
func CheckTimeline(t testing.TB, m MPD, dir string, archived func(rep string, k int64) (ept, dur uint64, ok bool)) {
	t.Helper()
	for _, p := range m.Periods {
		for rep, tr := range p.Tracks {
			for _, s := range tr.Segs {
				ept, dur, ok := archived(rep, s.K)
				if !ok {
					t.Errorf("Period %s %s: K %d is not archived", p.ID, rep, s.K)
					continue
				}
				if s.T != ept || s.D != dur {
					t.Errorf("Period %s %s K %d: S@t %d S@d %d; archived EPT %d duration %d", p.ID, rep, s.K, s.T, s.D, ept, dur)
				}
			}
		}
	}
	for _, r := range m.Refs() {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r))); err != nil {
			t.Errorf("referenced object: %v", err)
		}
	}
}
