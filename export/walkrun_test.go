package export_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestWalkRunFollowsIndex is a property test of a held walk back to where
// the live Period of a window's first K began: over generated archives,
// after each of 60 generated changes of the index, WalkRun from the walk
// held since the last step, brought to the index by FollowRun (per track
// kept, moved after a prune, or walked again), is per track the walk a new
// origin does
// (WalkRun without one): its start, its edge and the lowest K it read,
// with gaps split and filled. The changes: the live edge advances (each
// track loses a K now and then), prune removes the oldest rows (index
// RemoveExpired) a few at a time or up to near the edge (a retention
// shorter than the run and than the window), late copies fill holes,
// a row is written before a track's first (a copy of a pruned K), rows
// are deleted, and rows are replaced by copies stored elsewhere (another
// media pattern, which ends a run).
func TestWalkRunFollowsIndex(t *testing.T) {
	t.Parallel()
	for _, mode := range []export.GapMode{export.GapsSplit, export.GapsFill} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/%d", mode, seed), func(t *testing.T) {
				t.Parallel()
				walkFollows(t, mode, seed)
			})
		}
	}
}

// walkFollows runs TestWalkRunFollowsIndex's steps on one generated
// archive.
func walkFollows(t *testing.T, mode export.GapMode, seed uint64) {
	ctx := context.Background()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+9)
	g := &walkGen{e: e, rng: rand.New(rand.NewPCG(seed, 16)), tmpl: map[string]index.Segment{}, edge: k0 + 9, pruned: k0}
	for _, rep := range reps {
		g.tmpl[rep], _ = e.Segment(t, rep, k0)
	}
	var held *export.RunWalk
	var seq int64
	for step := range 60 {
		g.step(t, step)
		k := g.edge - 2 - g.rng.Int64N(4) // the window's first K, about
		l, err := e.x.Load(ctx, testChannel, kTime(k), kTime(g.edge+1))
		if errors.Is(err, export.ErrNoSegments) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		prev := held
		if held, seq, err = e.x.FollowRun(ctx, held, seq); err != nil {
			t.Fatal(err)
		}
		if prev != nil && (held == nil || held.Stale() > 0) && g.onlyPrunes && g.firstsAtOrBelow(t, prev) {
			t.Fatalf("step %d (%s): the walk from K %d is to be walked again after prune only: %+v", step, g.did, prev.K, held)
		}
		g.onlyPrunes = true
		got, err := e.x.WalkRun(ctx, l, k, mode, held)
		if err != nil {
			t.Fatal(err)
		}
		want, err := e.x.WalkRun(ctx, l, k, mode, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d (%s), K %d: the held walk is %+v, a new one %+v", step, g.did, k, got, want)
		}
		held = &got
	}
}

// walkGen changes an archive's segment rows at random.
type walkGen struct {
	e      *env
	rng    *rand.Rand
	tmpl   map[string]index.Segment // per rep: a row to copy
	edge   int64                    // newest K
	pruned int64                    // the oldest K not pruned
	did    string                   // what the last step changed
	// onlyPrunes says the rows changed since it was set were pruned, or
	// above the last walk's K (new Ks).
	onlyPrunes bool
}

// firstsAtOrBelow says every track of w has its first segment at or
// below w.K, and none below the oldest K not pruned (a copy of a pruned
// K): a prune deleted a prefix of each track and left it a part of the
// run.
func (g *walkGen) firstsAtOrBelow(tb testing.TB, w *export.RunWalk) bool {
	for _, id := range w.IDs {
		first, ok, err := g.e.db.FirstKFrom(context.Background(), id, math.MinInt64)
		if err != nil {
			tb.Fatal(err)
		}
		if !ok || first > w.K || first < g.pruned {
			return false
		}
	}
	return true
}

// step advances the live edge by a K and makes one random change.
func (g *walkGen) step(tb testing.TB, step int) {
	g.edge++
	for _, rep := range reps {
		if g.rng.IntN(6) != 0 {
			g.put(tb, rep, g.edge, "")
		}
	}
	rep := reps[g.rng.IntN(len(reps))]
	k := g.pruned + g.rng.Int64N(g.edge-g.pruned+1)
	_, has := g.e.Segment(tb, rep, k)
	g.did = "new K"
	op := g.rng.IntN(7)
	g.onlyPrunes = g.onlyPrunes && op <= 1
	switch op {
	case 0:
		g.prune(tb, g.pruned+g.rng.Int64N(3))
	case 1:
		g.prune(tb, g.edge-1-g.rng.Int64N(6))
	case 2:
		if !has {
			g.put(tb, rep, k, "")
			g.did = fmt.Sprintf("late copy %s K %d", rep, k)
		}
	case 3:
		if g.pruned > k0 {
			g.put(tb, rep, g.pruned-1, "")
			g.did = fmt.Sprintf("copy of pruned %s K %d", rep, g.pruned-1)
		}
	case 4:
		if has && k < g.edge {
			if err := g.e.db.DeleteSegment(context.Background(), g.e.Track(tb, rep).ID, k); err != nil {
				tb.Fatal(err)
			}
			g.did = fmt.Sprintf("deleted %s K %d", rep, k)
		}
	case 5:
		if has {
			g.put(tb, rep, k, fmt.Sprintf("splice-%d/", step))
			g.did = fmt.Sprintf("spliced %s K %d", rep, k)
		}
	}
}

// prune removes every track's rows of K g.pruned to to, leaving the
// newest K.
func (g *walkGen) prune(tb testing.TB, to int64) {
	to = min(to, g.edge-1)
	if to < g.pruned {
		return
	}
	for _, rep := range reps {
		if _, err := g.e.db.RemoveExpired(context.Background(), g.e.Track(tb, rep).ID, g.pruned, to); err != nil {
			tb.Fatal(err)
		}
	}
	g.did = fmt.Sprintf("pruned Ks %d-%d", g.pruned, to)
	g.pruned = to + 1
}

// put writes (or replaces) the row of rep's K, at <ch>/<rep>/<dir><K>.<ext>.
func (g *walkGen) put(tb testing.TB, rep string, k int64, dir string) {
	s := g.tmpl[rep]
	s.EPT += uint64(k-s.K) * s.Duration
	s.Key = strings.Replace(s.Key, fmt.Sprintf("/%d.", s.K), fmt.Sprintf("/%s%d.", dir, k), 1)
	s.K = k
	if err := g.e.db.InsertSegments(context.Background(), []index.Segment{s}, true); err != nil {
		tb.Fatal(err)
	}
}

// TestWalkRunHeldReadsNothing checks that a walk from the K of a held walk
// of the same tracks is the held one, read from no index (Deps without
// one): an origin whose window's first K did not move reads no row for
// where its first Period began.
func TestWalkRunHeldReadsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+5, k0+2)
	l, err := e.x.Load(ctx, testChannel, kTime(k0+4), kTime(k0+6))
	if err != nil {
		t.Fatal(err)
	}
	for mode, start := range map[export.GapMode]int64{export.GapsSplit: k0 + 2, export.GapsFill: k0 + 3} { // split: with the hole; fill: after it
		w, err := e.x.WalkRun(ctx, l, k0+4, mode, nil)
		if err != nil {
			t.Fatal(err)
		}
		if w.Start() != start {
			t.Errorf("%s: the run of K %d began at %d, want %d", mode, k0+4, w.Start(), start)
		}
		again, err := export.Deps{}.WalkRun(ctx, l, k0+4, mode, &w)
		if err != nil || !reflect.DeepEqual(again, w) {
			t.Errorf("%s: from the held walk: %+v, %v; want %+v", mode, again, err, w)
		}
	}
}
