package export

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
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

// runStep is how many index rows RunStart reads at a time.
const runStep = 1024

// RunStart walks back from K k of l to where the live Period that holds
// it begins, looking no lower than floor, the latest over the tracks of
// where each track's part of that Period begins. mode is the live
// presentation's gap mode:
//   - GapsSplit (k a K every track of l has): where the track's run of
//     segments of one codec configuration and media pattern (buildPlan's
//     rules) begins, or, when a hole precedes that run, where the hole
//     begins (the K after the track's previous segment);
//   - GapsFill: where the track's run of segments begins (a filler run
//     precedes it), or, when the track misses k, where its run of fillers
//     begins (the K after its previous segment).
//
// reached says the walk got to floor without finding the beginning: the
// Period began at or before floor.
//
// A live presentation (the origin's D-MPD) starts its first Period there
// rather than at its window's first K, so that Period keeps its start and
// id while the window slides over it; and in GapsSplit a live Period after
// a hole starts where the hole does (LivePeriodStarts), so a player that
// starts in the hole finds a Period whose first segment is ahead of it.
func (d Deps) RunStart(ctx context.Context, l *Loaded, k, floor int64, mode GapMode) (start int64, reached bool, err error) {
	start = floor
	begins, anyEdge := int64(math.MinInt64), false
	for ti := range l.tracks {
		s, edge, err := d.trackRunStart(ctx, l, ti, k, start, mode)
		if err != nil {
			return 0, false, err
		}
		switch edge {
		case runAfter:
			start, anyEdge = max(start, s), true
		case runBegins:
			begins = max(begins, s)
		case runReachesFloor:
			anyEdge = true
		}
	}
	if !anyEdge { // every track's recording begins in this run
		start = max(start, begins)
	}
	return start, start == floor, nil
}

// runEdge is what bounds a track's run below.
type runEdge int

const (
	runReachesFloor runEdge = iota // the run goes on at floor
	runAfter                       // a hole, fillers or another configuration precede it
	runBegins                      // the track has no earlier segment
)

// trackRunStart is RunStart for one track: where its part of the Period
// that holds k begins, and what bounds it.
func (d Deps) trackRunStart(ctx context.Context, l *Loaded, ti int, k, floor int64, mode GapMode) (int64, runEdge, error) {
	x := l.tracks[ti]
	want, next := "", k
	for next >= floor {
		segs, err := d.DB.SegmentsDown(ctx, x.t.ID, next, runStep)
		if err != nil {
			return 0, 0, fmt.Errorf("export: %s: %w", x.t.Rep, err)
		}
		switch {
		case len(segs) == 0 && next == k && mode == GapsFill:
			return floor, runReachesFloor, nil // fillers from the presentation's start
		case len(segs) == 0:
			return next + 1, runBegins, nil
		}
		for _, g := range segs {
			if g.K != next {
				return holeEdge(g.K, next, k, mode), runAfter, nil
			}
			c, err := d.segmentConfig(ctx, l, x, g)
			if err != nil {
				return 0, 0, err
			}
			if want == "" {
				want = c
			} else if c != want {
				return next + 1, runAfter, nil
			}
			if next == floor {
				return floor, runReachesFloor, nil
			}
			next--
		}
	}
	return floor, runReachesFloor, nil
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
// where RunStart puts it: the latest, over its tracks that an earlier
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
		last = s.K
	}
	return first, last, ok
}
