package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestLiveMemosFollowIndex is a property test of what an origin keeps
// between live builds besides rows: where the window's first Period began
// (its start and id, P<K>) and the HLS numbers counted from the archive's
// first K. Over generated archives, at each of 40 successive builds after
// the index changed below the live window, the held origin's live MPD and
// HLS media playlists are byte for byte a new origin's, with gaps split and
// filled. The changes: prune of the oldest rows (index.DB.RemoveExpired, as
// prune does; also through the run the window's first Period is in, and
// into the window, a retention shorter than the window), late copies into
// old holes before the window (one row, several rows in one bulk insert,
// and the hole both encoders lost, offered through the archive), rows
// deleted below the window or replaced by copies stored elsewhere (as a
// splice does: another media pattern, which ends a Period), and the live
// edge advancing with Ks a track lost.
func TestLiveMemosFollowIndex(t *testing.T) {
	t.Parallel()
	for _, gaps := range []export.GapMode{export.GapsSplit, export.GapsFill} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/%d", gaps, seed), func(t *testing.T) {
				t.Parallel()
				memosFollow(t, gaps, seed)
			})
		}
	}
}

// memosFollow runs TestLiveMemosFollowIndex's steps on one generated
// archive.
func memosFollow(t *testing.T, gaps export.GapMode, seed uint64) {
	e := recorded(t)
	cfg := originConfig()
	cfg.Window = 30 * time.Second
	if gaps == export.GapsFill {
		cfg.Slate, cfg.LiveGaps = testSlate(t), export.GapsFill
	}
	c := &clock{}
	held := newServer(t, e, e.DB, c, cfg)
	g := &memoGen{rowGen: newRowGen(t, e, seed)}
	targets := []string{"/ch1/media-" + simulate.VideoRep + ".m3u8", "/ch1/media-" + simulate.AudioRep + ".m3u8", "/ch1/manifest.mpd"}
	for step := range 40 {
		if step > 0 {
			g.step(t)
		}
		at := kTime(g.edge + 1).Add(origin.DefaultEdgeLag + 300*time.Millisecond)
		sameAsNew(t, held, c, at, targets, func() *origin.Server { return newServer(t, e, e.DB, &clock{at}, cfg) }, fmt.Sprintf("step %d (%s)", step, g.did))
		if g.rng.IntN(3) == 0 { // a build of the second before (its window begins a K lower), after the next one's
			at = at.Add(-time.Second)
			sameAsNew(t, held, c, at, targets, func() *origin.Server { return newServer(t, e, e.DB, &clock{at}, cfg) }, fmt.Sprintf("step %d (%s), a second before", step, g.did))
		}
	}
}

// sameAsNew checks that held, its clock set to at, answers each target as
// a new origin does.
func sameAsNew(t *testing.T, held *origin.Server, c *clock, at time.Time, targets []string, newOrigin func() *origin.Server, what string) {
	t.Helper()
	c.t = at
	fresh := newOrigin()
	for _, target := range targets {
		res, got := get(t, held, http.MethodGet, target, nil)
		fres, want := get(t, fresh, http.MethodGet, target, nil)
		if res.StatusCode != fres.StatusCode || !bytes.Equal(got, want) {
			t.Fatalf("%s: %s: the held origin's %d differs from a new origin's %d:\n%s\n----\n%s", what, target, res.StatusCode, fres.StatusCode, got, want)
		}
	}
}

// memoGen changes an archive's segment rows below the live window (a
// window of 15 Ks), besides advancing its edge.
type memoGen struct {
	*rowGen
	gapFilled bool // gapK, which both encoders lost, was offered again
}

// step advances the live edge by a K (each track loses it now and then)
// and makes one random change below the window, or none.
func (g *memoGen) step(tb testing.TB) {
	g.edge++
	g.did = "new K"
	for _, rep := range archivetest.Reps {
		if g.rng.IntN(5) != 0 {
			g.put(tb, rep, g.edge, "")
		}
	}
	front := g.edge - 14 // the window's first K, about
	switch g.rng.IntN(8) {
	case 0, 1:
		g.prune(tb, g.pruned+g.rng.Int64N(4))
	case 2:
		g.prune(tb, front-3+g.rng.Int64N(6)) // into the window: a retention shorter than it
	case 3:
		g.fillHole(tb, front)
	case 4:
		if n := g.putMissing(tb, max(g.pruned, front-12), front-1); n > 0 {
			g.did = fmt.Sprintf("late copies of the holes in Ks %d-%d in one insert: %d", max(g.pruned, front-12), front-1, n)
		}
	case 5, 6:
		k := g.pruned + g.rng.Int64N(max(front-g.pruned, 1))
		rep := archivetest.Reps[g.rng.IntN(2)]
		if _, ok := g.e.Segment(tb, rep, k); !ok || k >= front {
			break
		}
		if g.rng.IntN(2) == 0 {
			g.del(tb, rep, k)
			g.did = fmt.Sprintf("deleted %s K %d", rep, k)
			break
		}
		g.put(tb, rep, k, fmt.Sprintf("splice-%d/", g.edge))
		g.did = fmt.Sprintf("spliced %s K %d", rep, k)
	}
}

// prune removes every track's rows below K to+1 (index.DB.RemoveExpired,
// prune's step 3), keeping at least the newest K.
func (g *memoGen) prune(tb testing.TB, to int64) {
	to = min(to, g.edge-1)
	if to < g.pruned {
		return
	}
	for _, rep := range archivetest.Reps {
		if _, err := g.e.DB.RemoveExpired(context.Background(), g.e.Track(tb, rep).ID, g.pruned, to); err != nil {
			tb.Fatal(err)
		}
	}
	g.did = fmt.Sprintf("pruned Ks %d-%d", g.pruned, to)
	g.pruned = to + 1
}

// fillHole writes a row a track misses below front: a late copy (gapK's
// through the archive, from a second encoder; a generated K's as a row).
func (g *memoGen) fillHole(tb testing.TB, front int64) {
	if !g.gapFilled && gapK >= g.pruned && gapK < front {
		sim := testenv.NewSim(tb, simulate.Options{})
		for _, rep := range archivetest.Reps {
			g.e.Offer(tb, "b", sim, rep, gapK)
		}
		g.gapFilled, g.did = true, fmt.Sprintf("late copies of K %d from encoder b", gapK)
		return
	}
	for k := max(g.pruned, lastK+1); k < front; k++ {
		for _, rep := range archivetest.Reps {
			if _, ok := g.e.Segment(tb, rep, k); !ok {
				g.put(tb, rep, k, "")
				g.did = fmt.Sprintf("late copy %s K %d", rep, k)
				return
			}
		}
	}
}
