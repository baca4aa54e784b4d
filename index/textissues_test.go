package index

import (
	"reflect"
	"testing"
)

// TestTextIssues: a segment's issues round-trip in order, a second
// SetTextIssues of the K replaces them (none: clean), counts are per
// track and the channel listing is by representation and K.
func TestTextIssues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	order := TextIssue{TrackID: f.track.ID, K: 7, Kind: "order", Detail: "sample 2 overlaps"}
	grid := TextIssue{TrackID: f.track.ID, K: 7, Kind: "alignment", Detail: "starts 500 ticks after K×D"}
	late := TextIssue{TrackID: f.track.ID, K: 9, Kind: "cue_time", Detail: "outside"}
	steps := []struct {
		name   string
		k      int64
		set    []TextIssue
		count  int64
		listed []TextIssue
	}{
		{"two issues of K 7", 7, []TextIssue{order, grid}, 2, []TextIssue{order, grid}},
		{"one of K 9", 9, []TextIssue{late}, 3, []TextIssue{order, grid, late}},
		{"K 7 again, one issue", 7, []TextIssue{grid}, 2, []TextIssue{grid, late}},
		{"K 9 clean", 9, nil, 1, []TextIssue{grid}},
	}
	for _, s := range steps {
		if err := f.db.SetTextIssues(f.ctx, f.track.ID, s.k, s.set); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		n, err := f.db.TextIssueCount(f.ctx, f.track.ID)
		if err != nil || n != s.count {
			t.Errorf("%s: count %d, %v; want %d", s.name, n, err, s.count)
		}
		got, err := f.db.TextIssues(f.ctx, f.ch.ID)
		want := make([]TextIssue, len(s.listed))
		for i, is := range s.listed {
			is.Rep = "v1"
			want[i] = is
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: TextIssues = %+v, %v; want %+v", s.name, got, err, want)
		}
	}
}
