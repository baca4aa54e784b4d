package origin_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
)

// TestLivePeriodKeptThroughPrune: prune, which deletes the oldest rows on
// every pass of a recorder with retention, moves the beginning of the
// recording; the first Period of the live MPD, whose run only that
// beginning bounds, stays where it is (the epoch, P0) on a held origin and
// on a new one, while the Period after a hole keeps its K (the hole's)
// until prune deletes everything before it.
func TestLivePeriodKeptThroughPrune(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	c := &clock{liveNow}
	held := newServer(t, e, e.DB, c, originConfig())
	first := regexp.MustCompile(`<Period id="(P\d+)" start="([^"]*)"`)
	periods := func(body []byte) [][]string {
		var out [][]string
		for _, m := range first.FindAllSubmatch(body, -1) {
			out = append(out, []string{string(m[1]), string(m[2])})
		}
		return out
	}
	pruned := k0
	for _, tc := range []struct {
		name  string
		to    int64 // prune through
		first string
	}{
		{"before prune", k0 - 1, "P0"},
		{"the 3 oldest Ks pruned", k0 + 2, "P0"},
		{"pruned up to the hole", gapK - 1, "P0"},
		{"pruned past the hole", gapK + 2, "P0"},
	} {
		for _, rep := range archivetest.Reps {
			if tc.to >= pruned {
				if _, err := e.DB.RemoveExpired(context.Background(), e.Track(t, rep).ID, pruned, tc.to); err != nil {
					t.Fatal(err)
				}
			}
		}
		pruned = max(pruned, tc.to+1)
		c.t = c.t.Add(time.Second)
		got := periods(mustGet(t, held, "/ch1/manifest.mpd"))
		fresh := periods(mustGet(t, newServer(t, e, e.DB, &clock{c.t}, originConfig()), "/ch1/manifest.mpd"))
		if len(got) == 0 || got[0][0] != tc.first || got[0][1] != "PT0S" {
			t.Errorf("%s: Periods %v; want the first %s at PT0S", tc.name, got, tc.first)
		}
		if fmt.Sprint(got) != fmt.Sprint(fresh) {
			t.Errorf("%s: held origin's Periods %v, a new origin's %v", tc.name, got, fresh)
		}
		if tc.to < gapK-1 && (len(got) < 2 || got[1][0] != fmt.Sprint("P", gapK)) {
			t.Errorf("%s: Periods %v; want the second, after the hole, at P%d", tc.name, got, gapK)
		}
	}
}
