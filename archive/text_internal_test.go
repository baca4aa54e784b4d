package archive

import (
	"slices"
	"testing"

	"github.com/reaparchive/reaparchive/archive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// TestTextTimingIssues: a text segment's span must be its slot K×D …
// (K+1)×D within GridTolerance (D/100 for one long sample) and must not
// overlap the stored neighbours beyond it.
func TestTextTimingIssues(t *testing.T) {
	t.Parallel()
	const k, d = 10, 2000 // tolerance 20 ticks
	seg := func(ept, dur uint64) *cmaf.SegmentInfo {
		return &cmaf.SegmentInfo{EPT: ept, Duration: dur, SampleDuration: uint32(dur)}
	}
	row := func(ept, dur uint64) *index.Segment { return &index.Segment{EPT: ept, Duration: dur} }
	cases := []struct {
		name       string
		info       *cmaf.SegmentInfo
		prev, next *index.Segment
		want       []string
	}{
		{"on the grid", seg(k*d, d), nil, nil, nil},
		{"on the grid between neighbours", seg(k*d, d), row((k-1)*d, d), row((k+1)*d, d), nil},
		{"within tolerance", seg(k*d+19, d-19), row((k-1)*d, d+19), nil, nil},
		{"100 ticks late", seg(k*d+100, d), nil, nil, []string{cmaf.TextAlignment, cmaf.TextAlignment}},
		{"short", seg(k*d, d-100), nil, nil, []string{cmaf.TextAlignment}},
		{"overlaps the previous", seg(k*d, d), row((k-1)*d, d+100), nil, []string{cmaf.TextOrder}},
		{"early, overlapping the previous", seg(k*d-100, d), row((k-1)*d, d), nil, []string{cmaf.TextAlignment, cmaf.TextAlignment, cmaf.TextOrder}},
		{"overlaps the next", seg(k*d, d+100), nil, row((k+1)*d, d), []string{cmaf.TextAlignment, cmaf.TextOrder}},
		{"a hole before is no overlap", seg(k*d, d), row((k-1)*d, d-500), nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var kinds []string
			got := textTimingIssues(k, d, c.info, c.prev, c.next)
			for _, i := range got {
				kinds = append(kinds, i.Kind)
			}
			if !slices.Equal(kinds, c.want) {
				t.Errorf("issues %+v, want kinds %v", got, c.want)
			}
		})
	}
}
