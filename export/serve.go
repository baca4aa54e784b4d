package export

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
)

// ErrNoSegments is what Load's error wraps when no track has a segment in
// the range.
var ErrNoSegments = errors.New("no segments")

// Title is the ProgramInformation/Title of the presentation of channel's
// range [from, to).
func Title(channel string, from, to time.Time) string {
	return fmt.Sprintf("%s %s/%s", channel, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
}

// runStep is how many index rows WalkRun reads at a time.
const runStep = 1024

// RunWalk is where the live Period that holds K K of l's tracks (IDs,
// in l's order) begins, per track (WalkRun): what a held walk needs to
// follow the index.
type RunWalk struct {
	K      int64
	IDs    []int64
	Tracks []TrackRun
}

// TrackRun is where a track's part of a live Period begins (Start), what
// bounds it (Edge), and Low, the lowest K whose row the walk read to find
// it (math.MinInt64: it read down to the track's first segment, or found
// none): a change of the track's rows below Low cannot move it.
type TrackRun struct {
	Start, Low int64
	Edge       RunEdge
}

// RunEdge is what bounds a track's part of a live Period below.
type RunEdge int

const (
	// RunReachesFloor: the run goes on at the walk's floor (from WalkRun:
	// in GapsFill, the track has no segment up to K, so fillers run from
	// the presentation's start).
	RunReachesFloor RunEdge = iota
	RunAfter                // a hole, fillers or another configuration precede it
	RunBegins               // the track has no earlier segment
	// RunStale: not known (FollowRun: a change reached the rows the walk
	// read); WalkRun walks the track again.
	RunStale
)

// WalkRun walks back from K k of l to where the live Period that holds it
// begins, per track (Start combines them). mode is the live presentation's
// gap mode:
//   - GapsSplit (k a K every track of l has): where the track's run of
//     segments of one codec configuration and media pattern (buildPlan's
//     rules) begins, or, when a hole precedes that run, where the hole
//     begins (the K after the track's previous segment);
//   - GapsFill: where the track's run of segments begins (a filler run
//     precedes it), or, when the track misses k, where its run of fillers
//     begins (the K after its previous segment).
//
// held, if not nil, is a walk of the same tracks from held.K <= k of
// whose rows at or above each track's Low the index changed none since
// (FollowRun brings it there): then each track's walk stops at
// held.K and, where its run goes on there, is held's (a track RunStale
// there is walked as without held). The result is the walk without held:
// a walk from a K is the walk from a lower K of the same run with the
// same configuration.
//
// A live presentation (the origin's D-MPD) starts its first Period there
// rather than at its window's first K, so that Period keeps its start and
// id while the window slides over it; and in GapsSplit a live Period after
// a hole starts where the hole does (LivePeriodStarts), so a player that
// starts in the hole finds a Period whose first segment is ahead of it.
func (d Deps) WalkRun(ctx context.Context, l *Loaded, k int64, mode GapMode, held *RunWalk) (RunWalk, error) {
	w := RunWalk{K: k, IDs: l.TrackIDs()}
	if held != nil && (held.K > k || !slices.Equal(held.IDs, w.IDs)) {
		held = nil
	}
	w.Tracks = make([]TrackRun, len(l.tracks))
	for ti := range l.tracks {
		floor := int64(0)
		if held != nil && held.Tracks[ti].Edge != RunStale {
			floor = held.K
		}
		if floor == k {
			w.Tracks[ti] = held.Tracks[ti] // the held walk's K: no row to read
			continue
		}
		tr, err := d.trackRunStart(ctx, l, ti, k, floor, mode)
		if err != nil {
			return RunWalk{}, err
		}
		if floor != 0 && tr.Edge == RunReachesFloor {
			tr = held.Tracks[ti]
		}
		w.Tracks[ti] = tr
	}
	return w, nil
}

// Stale is how many of w's tracks are RunStale (to be walked again).
func (w RunWalk) Stale() int {
	n := 0
	for _, tr := range w.Tracks {
		if tr.Edge == RunStale {
			n++
		}
	}
	return n
}

// Start is where the live Period begins: the latest, over the tracks a
// hole, fillers or another configuration precede, of where their part
// begins; when every track's recording begins in the run, the latest of
// those beginnings.
func (w RunWalk) Start() int64 {
	start, begins, anyEdge := int64(0), int64(math.MinInt64), false
	for _, tr := range w.Tracks {
		switch tr.Edge {
		case RunAfter:
			start, anyEdge = max(start, tr.Start), true
		case RunBegins:
			begins = max(begins, tr.Start)
		case RunReachesFloor:
			anyEdge = true
		}
	}
	if !anyEdge {
		start = max(start, begins)
	}
	return start
}

// Unbounded reports whether only the beginning of every track's
// recording bounds the run below: no hole, fillers or other configuration
// precede it on any track. Prune, which deletes the oldest rows, then
// moves where it begins on every pass.
func (w RunWalk) Unbounded() bool {
	for _, tr := range w.Tracks {
		if tr.Edge != RunBegins {
			return false
		}
	}
	return len(w.Tracks) > 0
}

// FollowRun brings w, a walk current to the index change log's seq, to
// the log's head (returned: the seq the result is current to), in one
// query when the log names no change of w's tracks at or below w.K: a
// track's part is kept when no change reaches the rows its walk read,
// moved when prune deleted the oldest rows up to or into the run
// (followPrune), and RunStale, to be walked again, otherwise (a late copy,
// a deletion or a splice in or before the run). The result is nil when
// the log no longer reaches back to seq (every track is to be walked
// again). A nil w gives nil and the head.
func (d Deps) FollowRun(ctx context.Context, w *RunWalk, seq int64) (*RunWalk, int64, error) {
	if w == nil {
		c, err := d.DB.SegmentChangeSpan(ctx, -1, nil, 0)
		return nil, c.Head, err
	}
	c, err := d.DB.SegmentChangeSpan(ctx, seq, w.IDs, w.K)
	if err != nil || !c.Complete {
		return nil, c.Head, err
	}
	if len(c.High) == 0 {
		return w, c.Head, nil
	}
	moved := *w
	moved.Tracks = slices.Clone(w.Tracks)
	if err := d.followPrune(ctx, &moved, c.High); err != nil {
		return nil, c.Head, err
	}
	return &moved, c.Head, nil
}

// followPrune brings w to the index after changes of its tracks' rows at
// or below w.K, of which high names, per track, the highest K (at or
// below w.K): a track whose changes are all below its Low keeps its part;
// one whose changes are all below its first segment, which is at or
// below w.K (prune deleted the oldest rows, up to or into the run), begins
// the run there; any other is RunStale.
//
// This is the walk: the rows the walk read from w.K down to the first
// segment are unchanged, and were of one run of one configuration, and no
// row is below it.
func (d Deps) followPrune(ctx context.Context, w *RunWalk, high map[int64]int64) error {
	for ti, id := range w.IDs {
		h, changed := high[id]
		if !changed || w.Tracks[ti].Edge == RunStale || h < w.Tracks[ti].Low {
			continue
		}
		first, has, err := d.DB.FirstKFrom(ctx, id, math.MinInt64)
		if err != nil {
			return err
		}
		if !has || h >= first || first > w.K {
			w.Tracks[ti] = TrackRun{Edge: RunStale}
			continue
		}
		w.Tracks[ti] = TrackRun{Start: first, Low: math.MinInt64, Edge: RunBegins}
	}
	return nil
}

// trackRunStart is WalkRun for one track, looking no lower than floor:
// where its part of the Period that holds k begins, and what bounds it.
func (d Deps) trackRunStart(ctx context.Context, l *Loaded, ti int, k, floor int64, mode GapMode) (TrackRun, error) {
	x := l.tracks[ti]
	want, next := "", k
	for next >= floor {
		segs, err := d.DB.SegmentsDown(ctx, x.t.ID, next, int(min(runStep, next-floor+1))) // no row below floor
		if err != nil {
			return TrackRun{}, fmt.Errorf("export: %s: %w", x.t.Rep, err)
		}
		switch {
		case len(segs) == 0 && next == k && mode == GapsFill:
			return TrackRun{floor, math.MinInt64, RunReachesFloor}, nil // fillers from the presentation's start
		case len(segs) == 0:
			return TrackRun{next + 1, math.MinInt64, RunBegins}, nil
		}
		for _, g := range segs {
			if g.K != next {
				return TrackRun{holeEdge(g.K, next, k, mode), g.K, RunAfter}, nil
			}
			c, err := d.segmentConfig(ctx, l, x, g)
			if err != nil {
				return TrackRun{}, err
			}
			if want == "" {
				want = c
			} else if c != want {
				return TrackRun{next + 1, g.K, RunAfter}, nil
			}
			if next == floor {
				return TrackRun{floor, floor, RunReachesFloor}, nil
			}
			next--
		}
	}
	return TrackRun{floor, floor, RunReachesFloor}, nil
}

// holeEdge is where a track's part of a live Period begins when the walk
// down from k meets a hole between segment prev and next (next missing):
// in GapsFill the run of segments begins after the hole (next+1), unless k
// is in the hole (the Period is a run of fillers, which begins after prev);
// in GapsSplit the Period begins with the hole.
func holeEdge(prev, next, k int64, mode GapMode) int64 {
	if mode == GapsFill && next != k {
		return next + 1
	}
	return prev + 1
}

// segmentConfig names what buildPlan compares of a segment: the codec
// configuration of its init and, for a splice's replacement, its media
// pattern.
func (d Deps) segmentConfig(ctx context.Context, l *Loaded, x trackSegs, g index.Segment) (string, error) {
	if _, ok := l.configs[g.InitID]; !ok {
		if err := d.loadInit(ctx, l, x.t.Rep, g.InitID); err != nil {
			return "", fmt.Errorf("export: %w", err)
		}
	}
	c := l.configs[g.InitID]
	dir := l.Channel.Name + "/" + x.t.Rep + "/"
	if rest, ok := strings.CutPrefix(g.Key, dir); !ok || strings.Contains(rest, "/") {
		d, name := path.Split(g.Key)
		_, ext, _ := strings.Cut(name, ".")
		c += "\x00" + d + "$Number$." + ext
	}
	return c, nil
}

// LivePeriodStarts sets the StartK of each Period of ps after the first to
// where WalkRun puts it: the latest, over its tracks that an earlier
// Period has, of the K after the track's last segment there (where a hole
// before the Period begins; its first K when there is no hole), or, when
// no earlier Period has any of its tracks, their latest first K; never
// after a track's first K. A player whose
// start (or whose seek) falls in a hole then finds the Period that begins
// there and its first segment ahead (dash.js 5.2 stays at a time past the
// last segment of a Period and never plays).
func LivePeriodStarts(ps []manifest.VoDPeriod) {
	last := map[string]int64{} // rep: its last K in the Periods so far
	for i := range ps {
		after, begins, first := int64(math.MinInt64), int64(math.MinInt64), int64(math.MaxInt64)
		for _, tr := range ps[i].Tracks {
			k0, k1, ok := segKRange(tr.Segments)
			if !ok {
				continue
			}
			first = min(first, k0)
			if prev, ok := last[tr.Rep]; ok {
				after = max(after, prev+1)
			} else {
				begins = max(begins, k0)
			}
			last[tr.Rep] = k1
		}
		if i == 0 || first == math.MaxInt64 {
			continue
		}
		k := after
		if k == math.MinInt64 {
			k = begins
		}
		k = min(k, first)
		ps[i].StartK = &k
	}
}

// segKRange is the first and the last K of segs that are not gap entries.
func segKRange(segs []manifest.VoDSegment) (first, last int64, ok bool) {
	for _, s := range segs {
		if s.Gap {
			continue
		}
		if !ok {
			first, ok = s.K, true
		}
		last = s.LastK()
	}
	return first, last, ok
}

// liveRunsChunk is how many Ks LiveRuns plans at a time (a day of 2-s
// segments).
const liveRunsChunk = 43_200

// FirstCommonK is the first K every track of l has in the index, at or
// after from: where the archive's live presentation of those tracks
// begins. ok is false when there is none.
func (d Deps) FirstCommonK(ctx context.Context, l *Loaded, from int64) (k int64, ok bool, err error) {
	k = from
	for {
		moved := false
		for _, x := range l.tracks {
			f, has, err := d.DB.FirstKFrom(ctx, x.t.ID, k)
			if err != nil || !has {
				return 0, false, err
			}
			if f > k {
				k, moved = f, true
			}
		}
		if !moved {
			return k, true, nil
		}
	}
}

// TrackIDs are the index ids of l's tracks, in l's order: which tracks
// its live Periods are over.
func (l *Loaded) TrackIDs() []int64 {
	ids := make([]int64, len(l.tracks))
	for i, x := range l.tracks {
		ids[i] = x.t.ID
	}
	return ids
}

// KRun is the K range [From, To] of a live Period.
type KRun struct{ From, To int64 }

// LiveRuns is the live Periods of l's tracks over the Ks [fromK, toK], in
// K order, read from the index a chunk at a time: the Periods
// Plan(GapsSplit) of the archive over l's tracks has there (a run of Ks
// every track has, cut where a track's configuration or media pattern
// changes). K fromK-1 is read too: a Period that goes on from before fromK
// is one that begins before it (its From is fromK-1 or less).
func (d Deps) LiveRuns(ctx context.Context, l *Loaded, fromK, toK int64) ([]KRun, error) {
	var out []KRun
	for c := fromK; c <= toK; c += liveRunsChunk {
		runs, err := d.planRuns(ctx, l, c-1, min(c+liveRunsChunk-1, toK))
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if n := len(out); n > 0 && r.From == c-1 && out[n-1].To == c-1 {
				out[n-1].To = r.To // the Period goes on across the chunks
				continue
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// planRuns is the Periods of Plan(GapsSplit) of l's tracks over [fromK,
// toK].
func (d Deps) planRuns(ctx context.Context, l *Loaded, fromK, toK int64) ([]KRun, error) {
	tracks := make([]trackSegs, 0, len(l.tracks))
	for _, x := range l.tracks {
		y, err := d.loadTrackK(ctx, l.Channel, x.t, fromK, toK)
		if err != nil {
			return nil, err
		}
		if len(y.segs) == 0 {
			return nil, nil // no K every track has
		}
		for _, s := range y.segs {
			if _, ok := l.configs[s.InitID]; !ok {
				if err := d.loadInit(ctx, l, x.t.Rep, s.InitID); err != nil {
					return nil, fmt.Errorf("export: %w", err)
				}
			}
		}
		tracks = append(tracks, y)
	}
	pl, err := buildPlan(tracks, GapsSplit, func(_ int, id int64) (string, error) { return l.configs[id], nil })
	var none *NoCommonKError
	if errors.As(err, &none) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	runs := make([]KRun, len(pl.periods))
	for i, p := range pl.periods {
		runs[i] = KRun{From: p.startK, To: p.startK}
		for _, t := range p.tracks {
			if n := len(t.segs); n > 0 {
				runs[i].To = max(runs[i].To, t.segs[n-1].K)
			}
		}
	}
	return runs, nil
}
