package export

import (
	"slices"
	"strconv"
	"testing"

	"github.com/reaparchive/reaparchive/index"
)

// TestPlanSplicedRun: segments stored elsewhere than <ch>/<rep>/<K>.<ext>
// (a splice's replacements) get a media pattern and, in every gap mode,
// Periods of their own; a key a $Number$ template cannot address is an
// error.
func TestPlanSplicedRun(t *testing.T) {
	t.Parallel()
	cfg := func(_ int, id int64) (string, error) { return string(rune(id)), nil }
	for _, mode := range []GapMode{GapsSignal, GapsSplit, GapsFill} {
		tracks := planTracks("aaaa.aaa", "aaaaaaaa")
		for ti := range tracks {
			for _, k := range []int64{102, 103, 104, 105} {
				if ti == 0 && k == 104 {
					continue // a gap stays a gap
				}
				if err := tracks[ti].addDir(index.Segment{K: k, Key: "ch/t/splice-00ff00ff00ff00ff/" + strconv.FormatInt(k, 10) + ".m4s"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		pl, err := buildPlan(tracks, mode, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var starts []int64
		for _, p := range pl.periods {
			starts = append(starts, p.startK-100)
			for ti, pt := range p.tracks {
				for _, e := range pt.segs {
					if spliced := e.K >= 102 && e.K <= 105; !e.Gap && !pt.filler && spliced != (pt.dir == 1) {
						t.Errorf("%s: track %d K %d in a Period with dir %d", mode, ti, e.K, pt.dir)
					}
				}
			}
		}
		want := []int64{0, 2, 6}
		if mode == GapsSplit {
			want = []int64{0, 2, 5, 6} // K 104 is left out
		}
		if mode == GapsFill {
			want = []int64{0, 2, 4, 5, 6} // the filler at K 104 is a Period of its own
		}
		if !slices.Equal(starts, want) {
			t.Errorf("%s: Periods start at %v, want %v (%v)", mode, starts, want, describe(pl))
		}
		if tracks[0].dirs[0] != "ch/t/splice-00ff00ff00ff00ff/$Number$.m4s" {
			t.Errorf("pattern %q", tracks[0].dirs[0])
		}
	}
	var x trackSegs
	if err := x.addDir(index.Segment{K: 7, Key: "ch/t/x/8.m4s"}); err == nil {
		t.Errorf("a key that is not its K: no error")
	}
}
