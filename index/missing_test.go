package index

import (
	"fmt"
	"reflect"
	"testing"
)

func TestLacking(t *testing.T) {
	t.Parallel()
	all := func(ks ...int64) []int64 { return ks }
	tests := []struct {
		name     string
		present  []int64
		from, to int64
		want     []Range
	}{
		{"complete", all(0, 1, 2, 3), 0, 3, nil},
		{"tail after the last", all(0, 1, 2), 0, 5, []Range{{3, 5}}},
		{"hole and tail", all(0, 2), 0, 4, []Range{{1, 1}, {3, 4}}},
		{"hole adjacent to tail merges", all(0, 1, 2), 2, 4, []Range{{3, 4}}},
		{"range starts after the last", all(0, 1), 5, 7, []Range{{5, 7}}},
		{"nothing before the first", all(5, 6), 0, 8, []Range{{7, 8}}},
		{"range ends before the first", all(5, 6), 0, 3, nil},
		{"empty track", nil, 0, 10, nil},
		{"empty range", all(0, 10), 8, 2, nil},
	}
	f := newFixture(t)
	for i, tc := range tests {
		tr := f.trackWith(t, fmt.Sprintf("lack%d", i), tc.present)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.Lacking(f.ctx, tr.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Lacking(%d, %d) = %v; want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}
