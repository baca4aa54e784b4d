package index

import (
	"fmt"
	"testing"
)

// TestStoredSpan: the first and last stored K inside a range, and none for
// a range with no segment (before, between and after the stored runs).
func TestStoredSpan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	present := []int64{10, 11, 12, 20, 21}
	tests := []struct {
		name     string
		from, to int64
		want     Range
		ok       bool
	}{
		{"whole", 0, 100, Range{10, 21}, true},
		{"starts in a hole", 13, 100, Range{20, 21}, true},
		{"ends in a hole", 0, 15, Range{10, 12}, true},
		{"inside a run", 11, 11, Range{11, 11}, true},
		{"in the hole", 13, 19, Range{}, false},
		{"before", 0, 9, Range{}, false},
		{"after", 22, 30, Range{}, false},
	}
	for i, tc := range tests {
		tr := f.trackWith(t, fmt.Sprintf("span%d", i), present)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := f.db.StoredSpan(f.ctx, tr.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || ok != tc.ok {
				t.Errorf("StoredSpan(%d, %d) = %v, %v; want %v, %v", tc.from, tc.to, got, ok, tc.want, tc.ok)
			}
		})
	}
}
