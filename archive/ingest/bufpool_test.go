package ingest

import "testing"

// TestBufferClasses: a body gets the smallest size class that holds it
// (two per octave: at most a third of the buffer is waste), and a
// recycled buffer goes to the largest class it fills.
func TestBufferClasses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n        int64
		wantSize int64
	}{
		{1, 4096},
		{4096, 4096},
		{4097, 6144},
		{6144, 6144},
		{6145, 8192},
		{33_000, 49_152},
		{1 << 20, 1 << 20},
		{1_500_000, 1_572_864},
		{2_000_000, 2_097_152},
		{2_097_153, 3_145_728},
	} {
		i, size := classAbove(tc.n)
		if size != tc.wantSize {
			t.Errorf("classAbove(%d) = %d bytes; want %d", tc.n, size, tc.wantSize)
		}
		if j := classBelow(size); j != i {
			t.Errorf("classBelow(%d) = %d; want %d, the class of that size", size, j, i)
		}
		if j := classBelow(size + 1); j != i {
			t.Errorf("classBelow(%d) = %d; want %d: the next class is larger", size+1, j, i)
		}
	}
}
