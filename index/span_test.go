package index

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
)

// TestGapsSparseSpan: gaps and stats over a few segments spread across a
// huge span of K (a segment from 1970 and one from the year 3000 in the
// same track) are correct and cost what the segments and holes cost: the
// old bucket walk visited every 32 K of the span and did not finish within
// the deadline.
func TestGapsSparseSpan(t *testing.T) {
	t.Parallel()
	const e10 = int64(10_000_000_000)
	tests := []struct {
		name     string
		present  []int64
		from, to int64
		want     []Range
	}{
		{"two far apart", []int64{0, e10}, math.MinInt64, math.MaxInt64, []Range{{1, e10 - 1}}},
		{"runs far apart", []int64{5, 6, 7, e10, e10 + 1, e10 + 3, 2 * e10}, math.MinInt64, math.MaxInt64,
			[]Range{{8, e10 - 1}, {e10 + 2, e10 + 2}, {e10 + 4, 2*e10 - 1}}},
		{"range ends in the far hole", []int64{5, 6, 7, e10}, 6, e10 / 2, []Range{{8, e10 / 2}}},
		{"range starts in the far hole", []int64{5, 6, 7, e10, e10 + 2}, e10 / 2, math.MaxInt64, []Range{{e10 / 2, e10 - 1}, {e10 + 1, e10 + 1}}},
		{"full bucket then far", append(seq(100, 140), 100+e10), math.MinInt64, math.MaxInt64, []Range{{141, 100 + e10 - 1}}},
	}
	f := newFixture(t)
	for i, tc := range tests {
		tr := f.trackWith(t, fmt.Sprintf("span%d", i), tc.present)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
			defer cancel()
			got, err := f.db.Gaps(ctx, tr.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Gaps(%d, %d) = %v; want %v", tc.from, tc.to, got, tc.want)
			}
			st, err := f.db.Stats(ctx, tr.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Gaps, tc.want) {
				t.Fatalf("Stats.Gaps = %v; want %v", st.Gaps, tc.want)
			}
		})
	}
}

// seq is the Ks from..to.
func seq(from, to int64) []int64 {
	var out []int64
	for k := from; k <= to; k++ {
		out = append(out, k)
	}
	return out
}
