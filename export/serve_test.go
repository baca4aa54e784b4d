package export_test

import (
	"testing"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/manifest"
)

// TestLivePeriodStarts checks where the live Periods after the first
// start: where the hole before them begins, the latest over their tracks;
// at their first K when none precedes them.
func TestLivePeriodStarts(t *testing.T) {
	t.Parallel()
	type run struct {
		rep      string
		from, to int64 // segments [from, to]
		gapAt    int64 // a gap entry at this K (0: none)
	}
	for _, tc := range []struct {
		name    string
		periods [][]run
		want    []int64 // StartK of each Period; the first is kept
	}{
		{"a hole in both tracks", [][]run{{{"v", 10, 19, 0}, {"a", 10, 19, 0}}, {{"v", 21, 30, 0}, {"a", 21, 30, 0}}},
			[]int64{10, 20}},
		{"a longer hole in one track", [][]run{{{"v", 10, 17, 0}, {"a", 10, 19, 0}}, {{"v", 21, 30, 0}, {"a", 21, 30, 0}}},
			[]int64{10, 20}},
		{"no hole (a new configuration)", [][]run{{{"v", 10, 19, 0}}, {{"v", 20, 30, 0}}},
			[]int64{10, 20}},
		{"a track new in the Period", [][]run{{{"v", 10, 19, 0}}, {{"v", 22, 30, 0}, {"t", 22, 30, 0}}},
			[]int64{10, 20}},
		{"only tracks new in the Period", [][]run{{{"v", 10, 19, 0}}, {{"t", 25, 30, 0}}},
			[]int64{10, 25}},
		{"a gap entry is not a segment", [][]run{{{"v", 10, 19, 19}}, {{"v", 22, 30, 0}}},
			[]int64{10, 19}},
		{"three Periods", [][]run{{{"v", 10, 12, 0}}, {{"v", 14, 15, 0}}, {{"v", 20, 25, 0}}},
			[]int64{10, 13, 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ps []manifest.VoDPeriod
			for _, p := range tc.periods {
				first := p[0].from
				vp := manifest.VoDPeriod{StartK: &first}
				for _, r := range p {
					tr := manifest.VoDTrack{Rep: r.rep}
					for k := r.from; k <= r.to; k++ {
						tr.Segments = append(tr.Segments, manifest.VoDSegment{K: k, Gap: k == r.gapAt})
					}
					vp.Tracks = append(vp.Tracks, tr)
				}
				ps = append(ps, vp)
			}
			export.LivePeriodStarts(ps)
			for i, vp := range ps {
				if *vp.StartK != tc.want[i] {
					t.Errorf("Period %d starts at K %d, want %d", i, *vp.StartK, tc.want[i])
				}
			}
		})
	}
}
