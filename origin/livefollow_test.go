package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestLiveRowsFollowChanges is a property test of the live D-MPD an
// origin builds from the rows it holds between builds (export.LiveRows,
// following the index's change log): over generated archives, at each of
// 30 successive builds, after the index changed in generated ways, it is
// byte for byte the MPD a new origin builds from the index alone, with
// gaps split and filled. The changes: the live edge advances with Ks one
// track or both lost, late copies into old gaps (one at a time, and
// several in one bulk insert, which the log has as a K range per track),
// the oldest rows deleted
// (as prune does), rows deleted in the middle, rows replaced by
// copies stored elsewhere (as a splice does), a track that ends. Only the
// two newest Ks are read again on each build (Reread), so every other
// change reaches the held rows through the change log.
func TestLiveRowsFollowChanges(t *testing.T) {
	t.Parallel()
	for _, gaps := range []export.GapMode{export.GapsSplit, export.GapsFill} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/%d", gaps, seed), func(t *testing.T) {
				t.Parallel()
				followChanges(t, gaps, seed)
			})
		}
	}
}

// followChanges runs TestLiveRowsFollowChanges's steps on one generated
// archive.
func followChanges(t *testing.T, gaps export.GapMode, seed uint64) {
	e := recorded(t)
	cfg := originConfig()
	cfg.Window, cfg.Reread = 30*time.Second, 2
	if gaps == export.GapsFill {
		cfg.Slate, cfg.LiveGaps = testSlate(t), export.GapsFill
	}
	c := &clock{}
	held := newServer(t, e, e.DB, c, cfg)
	g := newRowGen(t, e, seed)
	for step := range 30 {
		g.step(t, step)
		c.t = kTime(g.edge + 1).Add(origin.DefaultEdgeLag + 300*time.Millisecond)
		got := mustGet(t, held, "/ch1/manifest.mpd")
		want := mustGet(t, newServer(t, e, e.DB, &clock{c.t}, cfg), "/ch1/manifest.mpd")
		if !bytes.Equal(got, want) {
			t.Fatalf("step %d (%s): the held rows' MPD differs from a new origin's:\n%s\n----\n%s", step, g.did, got, want)
		}
	}
}

// rowGen changes an archive's segment rows at random (the objects are
// not read by a live MPD build).
type rowGen struct {
	e      *archivetest.Env
	rng    *rand.Rand
	tmpl   map[string]index.Segment // per rep: a row to copy
	edge   int64                    // newest K
	ended  string                   // a track no longer recorded
	did    string                   // what the last step changed
	pruned int64                    // the oldest K not pruned
	padK   int64                    // the next K of padding
}

func newRowGen(tb testing.TB, e *archivetest.Env, seed uint64) *rowGen {
	g := &rowGen{e: e, rng: rand.New(rand.NewPCG(seed, 15)), tmpl: map[string]index.Segment{}, edge: lastK, pruned: k0}
	for _, rep := range archivetest.Reps {
		s, ok := e.Segment(tb, rep, k0)
		if !ok {
			tb.Fatalf("no %s K %d", rep, k0)
		}
		g.tmpl[rep] = s
	}
	return g
}

// step advances the live edge by a K (each track loses it now and then)
// and makes one random change below the edge.
func (g *rowGen) step(tb testing.TB, step int) {
	g.edge++
	g.did = ""
	if step == 20 && g.rng.IntN(2) == 0 {
		g.ended = simulate.AudioRep
	}
	for _, rep := range archivetest.Reps {
		if rep != g.ended && g.rng.IntN(6) != 0 {
			g.put(tb, rep, g.edge, "")
		}
	}
	front := g.edge - 15 // the window's first K, about
	k := front + 2 + g.rng.Int64N(10)
	rep := archivetest.Reps[g.rng.IntN(2)]
	switch g.rng.IntN(6) {
	case 0:
		if _, ok := g.e.Segment(tb, rep, k); !ok {
			g.put(tb, rep, k, "")
			g.did = fmt.Sprintf("late copy %s K %d", rep, k)
		}
	case 1:
		for _, r := range archivetest.Reps {
			g.del(tb, r, g.pruned)
		}
		g.did = fmt.Sprintf("pruned K %d", g.pruned)
		g.pruned++
	case 2:
		g.del(tb, rep, k)
		g.did = fmt.Sprintf("deleted %s K %d", rep, k)
	case 3:
		if _, ok := g.e.Segment(tb, rep, k); ok {
			g.put(tb, rep, k, fmt.Sprintf("splice-%016x/", step))
			g.did = fmt.Sprintf("spliced %s K %d", rep, k)
		}
	case 4:
		g.did = fmt.Sprintf("late copies of Ks %d-%d in one insert: %d", k, k+5, g.putMissing(tb, k, k+5))
	}
}

// putMissing writes the rows every track misses in [from, to] with one
// bulk InsertSegments (as reindex writes; it logs a K range per track),
// and says how many.
func (g *rowGen) putMissing(tb testing.TB, from, to int64) int {
	var segs []index.Segment
	for _, rep := range archivetest.Reps {
		for k := max(from, lastK+1); k <= to; k++ { // generated Ks only: their times follow the template's, not the recording's
			if _, ok := g.e.Segment(tb, rep, k); !ok && rep != g.ended {
				segs = append(segs, g.row(rep, k, ""))
			}
		}
	}
	n := len(segs)
	if err := g.e.DB.InsertSegments(context.Background(), append(segs, g.padding(tb, 300)...), false); err != nil {
		tb.Fatal(err)
	}
	return n
}

// padding are n new rows of a track of another channel: with them an
// insert is a bulk one (more rows than index's bulkLogRows, 256), which
// logs the Ks it wrote as a range per track, not a change per row.
func (g *rowGen) padding(tb testing.TB, n int) []index.Segment {
	ctx := context.Background()
	ch, err := g.e.DB.EnsureChannel(ctx, "padding")
	if err != nil {
		tb.Fatal(err)
	}
	t, err := g.e.DB.UpsertTrack(ctx, index.Track{ChannelID: ch.ID, Rep: "pad", ContentType: "video", Timescale: 1, SegDur: 2, Ext: "m4s"})
	if err != nil {
		tb.Fatal(err)
	}
	segs := make([]index.Segment, n)
	for i := range segs {
		s := g.tmpl[simulate.VideoRep]
		s.TrackID, s.K, s.EPT = t.ID, g.padK, uint64(g.padK)*2
		s.Key = fmt.Sprintf("padding/pad/%d.m4s", g.padK)
		segs[i] = s
		g.padK++
	}
	return segs
}

// put writes the row of rep's K, at <ch>/<rep>/<dir><K>.<ext>.
func (g *rowGen) put(tb testing.TB, rep string, k int64, dir string) {
	if err := g.e.DB.InsertSegments(context.Background(), []index.Segment{g.row(rep, k, dir)}, true); err != nil {
		tb.Fatal(err)
	}
}

// row is the row of rep's K at <ch>/<rep>/<dir><K>.<ext>.
func (g *rowGen) row(rep string, k int64, dir string) index.Segment {
	s := g.tmpl[rep]
	s.EPT += uint64(k-s.K) * s.Duration
	s.Key = strings.Replace(s.Key, fmt.Sprintf("/%d.", s.K), fmt.Sprintf("/%s%d.", dir, k), 1)
	s.K = k
	return s
}

// del deletes the row of rep's K, if any.
func (g *rowGen) del(tb testing.TB, rep string, k int64) {
	if _, ok := g.e.Segment(tb, rep, k); !ok {
		return
	}
	if err := g.e.DB.DeleteSegment(context.Background(), g.e.Track(tb, rep).ID, k); err != nil {
		tb.Fatal(err)
	}
}
