package export

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/reaparchive/reaparchive/index"
)

// TestHeldRowsRunsAndWindows is a property test of the held rows of a live
// window: over random appends, patches (a late copy, a repair, a
// deletion), slides and cuts, the runs kept step by step are those of the
// rows, and every window handed out keeps the rows it had when it was
// taken (windows share the held rows' array; a change goes to a copy).
func TestHeldRowsRunsAndWindows(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		h := &heldRows{t: index.Track{Rep: "v"}, elsewhere: map[int64]string{}, dir: "ch/v/"}
		next := int64(100)
		type taken struct {
			x    trackSegs
			want []expSeg
		}
		var windows []taken
		for step := range 200 {
			op := rng.IntN(10)
			switch {
			case op < 5: // the encoder's next segment, sometimes after a hole or with a new init
				next += 1 + int64(rng.IntN(8)/7)
				h.add(index.Segment{K: next, EPT: uint64(next) * 2, Duration: 2, Size: 1, InitID: 1 + int64(rng.IntN(20)/19), Key: fmt.Sprintf("ch/v/%d.m4s", next)})
			case op < 7 && len(h.segs) > 0: // a changed row
				k := h.segs[0].K + rng.Int64N(next-h.segs[0].K+1)
				h.patch(k, index.Segment{K: k, EPT: uint64(k) * 2, Duration: 2, Size: 2, InitID: 1 + rng.Int64N(2)}, rng.IntN(3) > 0)
			case op < 8 && len(h.segs) > 0: // the window slid
				h.dropBelow(h.segs[0].K + rng.Int64N(3))
			case op < 9: // the newest rows to be read again
				h.cutAt(max(0, len(h.segs)-rng.IntN(3)))
			default:
				if len(h.segs) == 0 {
					continue
				}
				from := h.segs[0].K + rng.Int64N(3)
				x, err := h.window(from, next)
				if err != nil {
					t.Fatal(err)
				}
				windows = append(windows, taken{x, slices.Clone(x.segs)})
				if !slices.Equal(x.runs, segRuns(x.segs)) {
					t.Fatalf("seed %d step %d: window [%d, %d] has runs %v, its rows %v", seed, step, from, next, x.runs, segRuns(x.segs))
				}
			}
			if got, want := h.runs, segRuns(h.segs); !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d (op %d): held runs %v, the rows' %v", seed, step, op, got, want)
			}
			for i, w := range windows {
				if !slices.Equal(w.x.segs, w.want) {
					t.Fatalf("seed %d step %d (op %d): window %d changed under its holder", seed, step, op, i)
				}
			}
		}
	}
}
